"""A small supervisor: run the platform's processes side by side, stop them all together.

`frontline demo` runs the web server and, as the apps add them, the worker and simulators.
When one child dies, or on Ctrl-C / SIGTERM, every child is stopped, so nothing is left
running in the background.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def web_command(*, host: str, port: int, workers: int = 1) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "frontline.asgi:application",
        "--host",
        host,
        "--port",
        str(port),
        "--no-server-header",
        "--lifespan",
        "off",
        "--proxy-headers",
    ]
    if workers > 1:
        command += ["--workers", str(workers)]
    return command


def simulator_command(*, transport: str, base_url: str) -> list[str]:
    """The telemetry simulator of the demo devices (`frontline simulate`). It waits, rather
    than exits, when there are no demo devices, so it never stops the others."""
    return [
        sys.executable,
        "-m",
        "frontline",
        "simulate",
        "--transport",
        transport,
        "--base-url",
        base_url,
        "--wait",
    ]


class ProcessGroup:
    def __init__(self, console, stop_timeout: float = 10.0):
        self.console = console
        self.stop_timeout = stop_timeout
        self.commands: list[tuple[str, list[str]]] = []
        self.children: dict[str, subprocess.Popen] = {}
        self._stopping = False

    def add(self, name: str, command: list[str]) -> None:
        self.commands.append((name, command))

    def run(self) -> int:
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            for name, command in self.commands:
                self.children[name] = subprocess.Popen(command, env=os.environ.copy())
            return self._watch()
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum, frame) -> None:
        self._stopping = True

    def _watch(self) -> int:
        while not self._stopping:
            for name, child in self.children.items():
                code = child.poll()
                if code is not None:
                    self.console.print(f"[red]{name} exited with {code}; stopping the others[/red]")
                    return code or 1
            time.sleep(0.3)
        return 0

    def stop(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        deadline = time.monotonic() + self.stop_timeout
        for child in self.children.values():
            remaining = max(deadline - time.monotonic(), 0.1)
            try:
                child.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
