"""`frontline demo` end to end: a real process, a real port, a real login, Ctrl-C stops all.

This is what `make demo` runs after installing; the test gives it an empty data folder, as on
a fresh clone.
"""

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

FRONTLINE = Path(sys.executable).parent / "frontline"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def login(opener, base: str, username: str, password: str) -> str:
    page = opener.open(f"{base}/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(f"{base}/login/", data=body, headers={"Referer": base})
    return opener.open(request).read().decode()


def api_post(opener, base: str, path: str, body: dict) -> dict:
    token = next(c.value for c in opener.cookiejar if c.name == "csrftoken")
    request = urllib.request.Request(
        f"{base}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-CSRFToken": token, "Referer": base},
    )
    return json.loads(opener.open(request).read())


def assert_worker_delivers(base: str, *, assignee: dict) -> None:
    """The station chief assigns a task to the grid worker through the web server; the
    notification it queues is delivered by the worker process, not by the request."""
    chief = new_opener()
    login(chief, base, "chief", "frontline-demo")
    grid = assignee["assignments"][0]["region"]["code"]
    due = (datetime.now(UTC) + timedelta(hours=4)).isoformat()
    task = api_post(
        chief,
        base,
        "/api/v1/tasks",
        {
            "title": "清理楼道堆放物",
            "region_code": grid,
            "due_at": due,
            "assignee_person_id": assignee["person_id"],
        },
    )
    grid_worker = new_opener()
    login(grid_worker, base, "grid", "frontline-demo")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        inbox = json.loads(grid_worker.open(f"{base}/api/v1/notifications").read())
        statuses = [
            n["status"] for n in inbox["items"] if task["number"] in n["subject"] + n["body"]
        ]
        if statuses == ["delivered"]:
            return
        time.sleep(0.5)
    raise AssertionError(f"the worker did not deliver the task notification: {inbox}")


def new_opener():
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.cookiejar = jar
    return opener


@pytest.mark.skipif(not FRONTLINE.exists(), reason="the frontline console script is not installed")
def test_demo_serves_a_seeded_login_protected_platform(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "FRONTLINE_VAR": str(tmp_path), "DATABASE_URL": ""}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    process = subprocess.Popen(
        [str(FRONTLINE), "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(f"{base}/login/", 150)
        opener = new_opener()
        with opener.open(f"{base}/static/vendor/leaflet/leaflet.js") as response:
            assert response.status == 200
        with opener.open(f"{base}/") as response:
            assert response.url.startswith(f"{base}/login/")  # login-protected
        home = login(opener, base, "grid", "frontline-demo")
        assert "演示数据" in home
        me = json.loads(opener.open(f"{base}/api/v1/me").read())
        assert me["assignments"][0]["role"] == "grid_worker"
        assert_worker_delivers(base, assignee=me)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert f"http://127.0.0.1:{port}/" in output
    for username in ("county", "chief", "duty", "grid"):
        assert username in output
    assert "deliver_due_notifications" in output  # the worker ran beside the web server
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
