"""`frontline mqtt-ingest` as a real process on a real database: SIGKILL in the middle of a
stream, restart, and every published reading is stored exactly once."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip(
    "frontline.monitoring.services.ingest",
    reason="the ingest service (frontline.monitoring.services.ingest) is not written yet",
)

READINGS = 20_000
KILLS = 2
RESTART = b"\n=== restart after SIGKILL ===\n"
SETUP = """
from frontline.core.testing import build_world
from frontline.monitoring.services.devices import register_device
world = build_world()
_device, token = register_device(
    actor=world.same, region=world.village, code="RC-1", name="剩余电流", kind="residual_current"
)
print(token)
"""
CHECK = """
from frontline.monitoring.models import Observation
import json
rows = list(Observation.objects.filter(device__code="RC-1").values_list("at", flat=True))
print(json.dumps([len(rows), len(set(rows)), sorted(round(at.timestamp() * 1000) for at in rows)]))
"""


def django_env(var: Path, **extra) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="frontline.settings",
        FRONTLINE_VAR=str(var),
        DATABASE_URL=f"sqlite:///{var / 'db.sqlite3'}",
        LOG_LEVEL="INFO",
        **extra,
    )
    return env


def frontline(*args: str) -> list[str]:
    return [sys.executable, "-m", "frontline.cli", *args]


def run_django(code: str, env: dict) -> str:
    script = "import django\ndjango.setup()\n" + code
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


@pytest.fixture
def spawned():
    """Processes the test started: none may outlive it, even when an assertion fails."""
    processes: list[subprocess.Popen] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(5)


def start_ingest(env: dict, log_path: Path, spawned: list) -> subprocess.Popen:
    log = log_path.open("ab")
    process = subprocess.Popen(
        frontline("mqtt-ingest", "--stats-seconds", "1"), env=env, stdout=log, stderr=log
    )
    spawned.append(process)
    deadline = time.monotonic() + 20
    while b"connected to" not in log_path.read_bytes().rsplit(RESTART, 1)[-1]:
        assert process.poll() is None, log_path.read_text()[-2000:]
        assert time.monotonic() < deadline, "mqtt-ingest did not connect"
        time.sleep(0.05)
    return process


def stored(database: Path) -> int:
    with sqlite3.connect(database, timeout=10) as db:
        return db.execute("SELECT count(*) FROM monitoring_observation").fetchone()[0]


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_sigkill_mid_stream_then_restart_stores_every_reading_once(
    private_mqtt_url, unique, publisher_for, tmp_path, spawned
):
    env = django_env(
        tmp_path,
        MQTT_URL=private_mqtt_url,
        MQTT_TOPIC_PREFIX=unique,
        MQTT_CLIENT_ID=f"{unique}-ingest",
    )
    migrated = subprocess.run(frontline("migrate", "-v0"), env=env, capture_output=True)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    token = run_django(SETUP, env).splitlines()[-1]
    database = tmp_path / "db.sqlite3"
    log_path = tmp_path / "ingest.log"

    start_ms = int(time.time() * 1000) - 60_000
    expected = [start_ms + i for i in range(READINGS)]
    messages = [
        (
            f"{unique}/RC-1/telemetry",
            json.dumps({"token": token, "ts": ts, "values": {"residual_current": i % 200}}),
        )
        for i, ts in enumerate(expected)
    ]
    # The session must exist before the stream starts: the broker keeps messages only for
    # subscriptions it knows.
    process, kills = start_ingest(env, log_path, spawned), []
    publisher = publisher_for(private_mqtt_url)
    publishing = threading.Thread(target=publisher.publish, args=(messages, 3000), daemon=True)
    publishing.start()

    # Several kills at moments unrelated to the commits, so one of them is bound to land
    # while a batch is being written (as well as between a commit and its PUBACKs).
    for round_ in range(KILLS):
        target = (round_ + 1) * READINGS // (KILLS + 2)
        assert wait_until(lambda n=target: stored(database) >= n, 30), "the stream stalled"
        time.sleep(random.uniform(0, 0.05))
        process.send_signal(signal.SIGKILL)
        process.wait(5)
        kills.append(stored(database))
        with log_path.open("ab") as log:
            log.write(RESTART)
        process = start_ingest(env, log_path, spawned)
    publishing.join(30)
    assert not publishing.is_alive()
    assert kills[-1] < READINGS, f"the last kill came after the end of the stream: {kills}"

    assert wait_until(lambda: stored(database) >= READINGS, 30), (
        f"{stored(database)} of {READINGS} stored"
    )
    time.sleep(0.5)  # anything still arriving would be a double
    count, distinct, times = json.loads(run_django(CHECK, env).splitlines()[-1])
    assert (count, distinct) == (READINGS, READINGS)
    assert times == expected

    process.send_signal(signal.SIGTERM)
    assert process.wait(15) == 0
    assert "mqtt-ingest stopped" in log_path.read_text()
