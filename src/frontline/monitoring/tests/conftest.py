"""Fixtures for the MQTT door: a real Mosquitto, a publisher and a recording ingest."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from urllib.parse import urlparse

import pytest

from frontline.monitoring.readings import IngestResult

REQUIRE = "FRONTLINE_REQUIRE_MQTT"


@pytest.fixture(autouse=True)
def _default_rules_present(request, django_db_blocker):
    # A transactional test (live server, gateway, broker) ends with a flush that empties
    # every table, including the default rules migration 0002 wrote; the tests after it
    # expect them, as a real installation has them.
    uses_db = {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db and request.node.get_closest_marker("django_db") is None:
        return
    from frontline.monitoring.default_rules import ensure_default_rules

    with django_db_blocker.unblock():
        ensure_default_rules()


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"Mosquitto is required ({REQUIRE}=1) but {reason}")
    pytest.skip(reason)


@pytest.fixture
def mqtt_url() -> str:
    """The broker of the test machines; skipped with a reason where none runs, unless CI
    demands it (FRONTLINE_REQUIRE_MQTT=1)."""
    url = os.environ.get("TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
    parsed = urlparse(url)
    if not _port_open(parsed.hostname, parsed.port or 1883):
        _unavailable(f"no MQTT broker at {url} (start mosquitto to run this test)")
    return url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def private_mqtt_url(tmp_path_factory):
    """A Mosquitto of our own, configured as docs/mqtt.md recommends for production.

    The crash test needs it: the stock configuration keeps at most 1,000 messages for a
    session whose client is away (`max_queued_messages`), counting those it had in flight,
    so a broker with defaults drops part of a fast stream while mqtt-ingest restarts, and
    the test would measure the broker's setting instead of our code."""
    binary = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None
    )
    if binary is None:
        _unavailable("the mosquitto binary is not installed (apt-get install mosquitto)")
    port = _free_port()
    directory = tmp_path_factory.mktemp("mosquitto")
    config = directory / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 0\nmax_inflight_messages 0\n"
    )
    process = subprocess.Popen(
        [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 5
        while not _port_open("127.0.0.1", port):
            if time.monotonic() > deadline or process.poll() is not None:
                _unavailable(f"mosquitto did not start on port {port}")
            time.sleep(0.05)
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(5)


@pytest.fixture
def unique() -> str:
    """A fresh name for topics and client ids, so tests on one broker do not meet."""
    return f"t{uuid.uuid4().hex[:10]}"


class Publisher:
    """A paho client publishing at QoS 1 and waiting for every PUBACK."""

    def __init__(self, url: str):
        import paho.mqtt.client as mqtt

        parsed = urlparse(url)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.connect(parsed.hostname, parsed.port or 1883)
        self.client.loop_start()

    def publish(self, items, per_second: float | None = None) -> None:
        """Publish (topic, payload) pairs, optionally paced, and wait until the broker has
        every one of them."""
        infos = []
        started = time.monotonic()
        for index, (topic, payload) in enumerate(items):
            infos.append(self.client.publish(topic, payload, qos=1))
            if per_second:
                ahead = index / per_second - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        for info in infos:
            info.wait_for_publish(timeout=30)
            assert info.is_published(), "the broker did not acknowledge a publish"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher_for():
    made: list[Publisher] = []

    def make(url: str) -> Publisher:
        made.append(Publisher(url))
        return made[-1]

    yield make
    for publisher in made:
        publisher.close()


class RecordingIngest:
    """Stands in for the ingest service: keeps every reading once per (device, metric, at),
    as the real one does, and records the size of each call."""

    def __init__(self, *, block: threading.Event | None = None):
        self.lock = threading.Lock()
        self.stored: dict[tuple, object] = {}
        self.calls: list[int] = []
        self.block = block

    def __call__(self, readings, *, source):
        assert source == "mqtt"
        if self.block is not None:
            self.block.wait()
        result = IngestResult()
        with self.lock:
            self.calls.append(len(readings))
            for reading in readings:
                key = (reading.device, reading.metric, reading.at)
                if key in self.stored:
                    result.duplicates += 1
                else:
                    self.stored[key] = reading.value
                    result.stored += 1
        return result

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.stored) >= count:
                return True
            time.sleep(0.02)
        return len(self.stored) >= count


@pytest.fixture
def recording():
    return RecordingIngest()


def clear_session(url: str, client_id: str) -> None:
    """End a persistent session so the broker forgets it (and its queued messages)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    parsed = urlparse(url)
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
    )
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 0
    client.connect(parsed.hostname, parsed.port or 1883, clean_start=True, properties=properties)
    client.loop(timeout=0.5)  # the CONNACK: the broker has dropped the old session
    client.disconnect()


def allow_all(code, token):
    return token == "tk"


@pytest.fixture
def subscribers():
    """Start subscribers (any token "tk" is good); stop them and forget their sessions at the
    end of the test."""
    from frontline.monitoring.mqtt_subscriber import Subscriber

    started: list[Subscriber] = []

    def start(url, client_id, prefix, ingest, **options):
        subscriber = Subscriber(
            url=url,
            client_id=client_id,
            prefix=prefix,
            ingest=ingest,
            authenticate=allow_all,
            **options,
        )
        subscriber.start()
        assert subscriber.subscribed.wait(5), "no SUBACK from the broker"
        started.append(subscriber)
        return subscriber

    yield start
    for subscriber in started:
        subscriber.stop()
        clear_session(
            f"mqtt://{subscriber.address.host}:{subscriber.address.port}", subscriber.client_id
        )
