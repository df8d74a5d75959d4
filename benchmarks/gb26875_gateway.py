"""1,000 fire alarm transmission devices on the GB/T 26875.3 gateway at once.

    .venv/bin/python benchmarks/gb26875_gateway.py [--devices 1000] [--seconds 20]
        [--heartbeat 5] [--storm]

Registers N `fire_controller` devices in a fresh SQLite database, starts the real
`frontline gb26875-gateway` command in its own process (real ingest service, real rules and
alarms), opens N TCP connections from this process and, for `seconds`:

- every device sends a heartbeat (empty data unit) every `heartbeat` seconds, phases spread;
- every device sends one fire frame (type 2, component in fire) at a random moment;
- `--storm` adds a last phase where every device sends a second fire frame (another
  component) at the same instant: the worst case, one alarm per device in one burst.

It measures, per frame, the time from the last byte sent to the confirm (command 3, same
serial) and reports p50 / p95 / p99 / max and confirmed frames per second, then checks the
database: one fire observation and one fire alarm per device.

Target (issue): every fire frame confirmed within 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from _common import fresh_django, machine

TARGET_SECONDS = 1.0
FIRST_CODE = 330_603_000_000
KINDS = ("heartbeat", "fire", "storm", "flood")


def raise_open_files(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


def register(count: int) -> float:
    from frontline.core.testing import build_world
    from frontline.monitoring.testing import make_device

    started = time.perf_counter()
    world = build_world()
    for i in range(count):
        make_device(world.village, "fire_controller", code=str(FIRST_CODE + i))
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gateway(port: int, log_path: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "frontline.cli", "gb26875-gateway", "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")}
    process = subprocess.Popen(
        command, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"the gateway exited: see {log_path}") from None
            time.sleep(0.1)
    raise SystemExit("the gateway did not start within 30 s")


class Device:
    """One transmission device: sends frames, matches confirms to serials."""

    def __init__(self, code: int):
        from frontline.monitoring.gb26875.frames import code_address

        self.address = code_address(code)
        self.serial = 0
        self.sent: dict[int, tuple[float, str]] = {}
        self.latencies: list[tuple[str, float]] = []
        self.denied = 0
        self.flood_start = 0.0
        self.flood_done = 0.0

    def frame(self, kind: str) -> tuple[int, bytes]:
        from frontline.monitoring.gb26875.frames import CHINA, Frame, encode_frame, encode_time
        from frontline.monitoring.gb26875.units import ComponentStatus, encode_unit

        self.serial = (self.serial + 1) % 0x10000
        data = b""
        if kind in ("fire", "storm"):
            position = 1 if kind == "fire" else 2
            component = ComponentStatus(1, 1, 40, 1, position, 0x0003, "1号楼2层烟感", None)
            data = encode_unit([component])
        now = datetime.now(CHINA)
        frame = Frame(self.serial, 2, self.address, bytes(6), data, (1, 0), encode_time(now))
        return self.serial, encode_frame(frame)

    async def run(self, host: str, port: int, plan: list[tuple[float, str]], start: float):
        from frontline.monitoring.gb26875.frames import Command, FrameReader

        reader, writer = await asyncio.open_connection(host, port)
        frames = FrameReader()

        async def listen():
            while chunk := await reader.read(4096):
                received = time.perf_counter()
                for event in frames.feed(chunk):
                    sent = self.sent.pop(getattr(event, "serial", -1), None)
                    if sent is None:
                        continue
                    if event.command == Command.CONFIRM:
                        self.latencies.append((sent[1], received - sent[0]))
                        if sent[1] == "flood":
                            self.flood_done = received
                    else:
                        self.denied += 1

        listener = asyncio.create_task(listen())
        for at, kind in plan:
            await asyncio.sleep(max(0.0, start + at - time.perf_counter()))
            serial, raw = self.frame(kind)
            if kind == "flood" and not self.flood_start:
                self.flood_start = time.perf_counter()
            writer.write(raw)
            self.sent[serial] = (time.perf_counter(), kind)
        deadline = time.perf_counter() + 60
        while self.sent and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        listener.cancel()
        writer.close()


def plans(args, rng: random.Random) -> list[list[tuple[float, str]]]:
    """Each device's frames: heartbeats with spread phases; fire frames from distinct devices
    at `fire_rate` a second (each raises a new alarm); then, with --storm, every device at
    once."""
    count, seconds, heartbeat = args.devices, args.seconds, args.heartbeat
    result = []
    for _ in range(count):
        phase = rng.uniform(0, heartbeat)
        result.append(
            [(phase + k * heartbeat, "heartbeat") for k in range(int(seconds / heartbeat))]
        )
    fires = min(count, int(args.fire_rate * (seconds - 2)))
    for index, device in enumerate(rng.sample(range(count), fires)):
        result[device].append((1 + index / args.fire_rate, "fire"))
    if args.storm:
        for plan in result:
            plan.append((seconds + 1.0, "storm"))
    for plan in result:  # back to back, without waiting for confirms: the door's capacity
        plan += [(seconds + 3.0 + 0.0001 * k, "flood") for k in range(args.flood)]
    return [sorted(plan) for plan in result]


async def drive(devices, plans_, port) -> float:
    start = time.perf_counter() + 2.0  # all connections open before the first frame
    await asyncio.gather(
        *(d.run("127.0.0.1", port, plan, start) for d, plan in zip(devices, plans_, strict=True))
    )
    return time.perf_counter() - start


def percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return (
        f"p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, "
        f"p99 {q[98] * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--heartbeat", type=float, default=5)
    parser.add_argument("--fire-rate", type=float, default=10, help="new fire alarms a second")
    parser.add_argument("--storm", action="store_true", help="every device fires at once")
    parser.add_argument("--flood", type=int, default=0, help="heartbeats per device, pipelined")
    parser.add_argument("--seed", type=int, default=26875)
    args = parser.parse_args()

    raise_open_files(2 * args.devices + 256)
    var_dir = fresh_django("gb26875")
    print(f"machine: {machine()}; sink: REAL ingest service, SQLite at {var_dir}")
    seconds = register(args.devices)
    print(f"registered {args.devices} fire_controller devices in {seconds:.1f} s")

    port = free_port()
    log_path = var_dir / "gateway.log"
    gateway = start_gateway(port, log_path)
    try:
        devices = [Device(FIRST_CODE + i) for i in range(args.devices)]
        rng = random.Random(args.seed)
        schedule = plans(args, rng)
        elapsed = asyncio.run(drive(devices, schedule, port))
    finally:
        gateway.send_signal(signal.SIGINT)
        gateway.wait(30)
    return report(args, devices, schedule, elapsed, log_path)


def report(args, devices, schedule, elapsed: float, log_path: Path) -> int:
    from frontline.monitoring.models import Alarm, Observation

    latencies = [item for d in devices for item in d.latencies]
    expected = sum(len(plan) for plan in schedule)
    unanswered = sum(len(d.sent) for d in devices)
    denied = sum(d.denied for d in devices)
    by_kind: dict[str, list[float]] = {}
    for kind, latency in latencies:
        by_kind.setdefault(kind, []).append(latency)
    planned = {kind: sum(k == kind for plan in schedule for _at, k in plan) for kind in KINDS}
    print(f"{args.devices} connections, {expected} frames in {elapsed:.1f} s")
    if planned["flood"]:
        flood_seconds = max(d.flood_done for d in devices) - min(d.flood_start for d in devices)
        print(f"flood: {planned['flood']} pipelined heartbeats confirmed in {flood_seconds:.2f} s "
              f"= {planned['flood'] / flood_seconds:.0f} frames/s")  # fmt: skip
    print(f"confirmed {len(latencies)} ({len(latencies) / elapsed:.0f} frames/s), "
          f"denied {denied}, unanswered {unanswered}")  # fmt: skip
    for kind in KINDS:
        if planned[kind]:
            got = by_kind.get(kind, [])
            print(f"  {kind:<9} {len(got):>5}/{planned[kind]:<5} confirmed: {percentiles(got)}")
    fire_devices = {d for d, plan in enumerate(schedule) if any(k == "fire" for _a, k in plan)}
    observations = Observation.objects.filter(metric="fire", value=1).count()
    alarms = Alarm.objects.filter(alarm_type="fire").count()
    print(f"database: {observations} fire observations, {alarms} fire alarms")
    print(f"gateway log: {log_path}")
    steady = by_kind.get("fire", [])
    ok = (
        unanswered == 0
        and denied == 0
        and len(steady) == planned["fire"]
        and max(steady, default=0) <= TARGET_SECONDS
        and observations == planned["fire"] + planned["storm"]
        and alarms == (args.devices if args.storm else len(fire_devices))
    )
    print(f"target: every fire frame confirmed within {TARGET_SECONDS:.0f} s "
          f"(steady phase) -> {'met' if ok else 'MISSED'}")  # fmt: skip
    if planned["storm"]:
        storm = by_kind.get("storm", [])
        print(f"storm (every device at once, stress figure): max {max(storm, default=0):.2f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
