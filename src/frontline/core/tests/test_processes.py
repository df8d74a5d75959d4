"""The supervisor behind `frontline demo`: one child dies, every child stops."""

import sys
import time

from rich.console import Console

from frontline.core.processes import ProcessGroup, web_command


def test_group_stops_everyone_when_one_child_exits():
    group = ProcessGroup(Console(quiet=True), stop_timeout=5)
    group.add("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    group.add(
        "crasher", [sys.executable, "-c", "import time; time.sleep(0.5); raise SystemExit(3)"]
    )
    started = time.monotonic()
    assert group.run() == 3
    assert time.monotonic() - started < 10
    assert all(child.poll() is not None for child in group.children.values())


def test_web_command_runs_uvicorn_on_the_asgi_app():
    command = web_command(host="127.0.0.1", port=8123, workers=2)
    assert command[1:4] == ["-m", "uvicorn", "frontline.asgi:application"]
    assert command[command.index("--port") + 1] == "8123"
    assert command[command.index("--workers") + 1] == "2"
