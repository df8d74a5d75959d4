"""The GB/T 26875.3 gateway over real TCP sockets, a real asyncio server in a thread.

Most tests use a recording sink; the last ones go through the real ingest service into the
database. One gateway serves the whole protocol part of the module, so the final test also
proves it still serves after everything the earlier tests threw at it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime

import pytest

from frontline.monitoring.gb26875.frames import (
    CHINA,
    MAX_DATA,
    Command,
    Frame,
    FrameReader,
    code_address,
    encode_frame,
    encode_time,
)
from frontline.monitoring.gb26875.gateway import BackgroundGateway, Gateway
from frontline.monitoring.gb26875.units import (
    ComponentStatus,
    DeviceStatus,
    encode_unit,
)
from frontline.monitoring.readings import IngestResult

CENTRE = bytes(6)


class RecordingSink:
    """Stands in for ingest: records every call; can be held, or made to fail for a device."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls: list[list] = []
        self.seen: list[list[str]] = []
        self.hold = threading.Event()
        self.hold.set()
        self.fail_device: str | None = None

    def __call__(self, readings, *, source):
        assert source == "gb26875"
        self.hold.wait(10)
        if self.fail_device and any(r.device == self.fail_device for r in readings):
            raise RuntimeError("the database is on fire")
        with self.lock:
            self.calls.append(list(readings))
        return IngestResult(stored=len(readings))

    def mark_seen(self, device_codes, at=None):
        with self.lock:
            self.seen.append(list(device_codes))
        return len(self.seen[-1])

    def readings(self):
        with self.lock:
            return [r for call in self.calls for r in call]

    def seen_devices(self):
        with self.lock:
            return {code for call in self.seen for code in call}

    def reset(self):
        with self.lock:
            self.calls.clear()
            self.seen.clear()
        self.hold.set()
        self.fail_device = None


@pytest.fixture(scope="module")
def sink():
    return RecordingSink()


@pytest.fixture(scope="module")
def running(sink):
    gateway = Gateway(sink=sink, seen=sink.mark_seen, idle_seconds=5, window=0.005)
    with BackgroundGateway(gateway) as background:
        yield background


@pytest.fixture
def gateway(running, sink):
    sink.reset()
    return running


def now_time() -> bytes:
    return encode_time(datetime.now(CHINA))


def fire_frame(device: int, serial: int, *, zone: int = 1, position: int = 1) -> bytes:
    component = ComponentStatus(1, 1, 40, zone, position, 0x0003, "1号楼烟感", None)
    return send_data(device, serial, encode_unit([component]))


def send_data(device: int, serial: int, data: bytes = b"", command: int = 2, version=(1, 0)):
    frame = Frame(
        serial=serial,
        command=command,
        source=code_address(device),
        destination=CENTRE,
        data=data,
        version=version,
        time=now_time(),
    )
    return encode_frame(frame)


class Device:
    """A transmission device on a real socket."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.reader = FrameReader()
        self.replies: list[Frame] = []

    def send(self, raw: bytes) -> None:
        self.sock.sendall(raw)

    def expect(self, count: int = 1, timeout: float = 5.0) -> list[Frame]:
        deadline = time.monotonic() + timeout
        while len(self.replies) < count:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(4096)
            assert chunk, "the gateway closed the connection"
            self.replies += [e for e in self.reader.feed(chunk) if isinstance(e, Frame)]
        answered, self.replies = self.replies[:count], self.replies[count:]
        return answered

    def silent(self, seconds: float = 0.3) -> bool:
        self.sock.settimeout(seconds)
        try:
            return self.sock.recv(4096) == b""  # closed counts as silent
        except TimeoutError:
            return True

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def connect(gateway):
    made: list[Device] = []

    def make() -> Device:
        made.append(Device(gateway.port))
        return made[-1]

    yield make
    for device in made:
        device.close()


# --- confirm -----------------------------------------------------------------------------


def test_fire_frame_is_confirmed_with_its_serial_after_the_sink(connect, sink):
    device = connect()
    device.send(fire_frame(123456, serial=0x1234, zone=3, position=17))
    [answer] = device.expect()
    assert (answer.command, answer.serial) == (Command.CONFIRM, 0x1234)
    assert answer.destination == code_address(123456) and answer.source == CENTRE
    readings = {r.metric: r for r in sink.readings()}
    assert readings["fire"].value == 1 and readings["fire"].device == "123456"
    assert (readings["fire"].detail["zone"], readings["fire"].detail["position"]) == (3, 17)


def test_no_confirm_before_the_sink_returns(connect, sink):
    sink.hold.clear()
    device = connect()
    device.send(fire_frame(5, serial=77))
    assert device.silent(0.4), "confirmed before the readings were committed"
    sink.hold.set()
    [answer] = device.expect()
    assert (answer.command, answer.serial) == (Command.CONFIRM, 77)


def test_heartbeats_mark_the_device_seen(connect, sink):
    device = connect()
    device.send(send_data(42, serial=1))
    device.send(send_data(43, 2, encode_unit([DeviceStatus(0x01, None)])))
    answers = device.expect(2)
    assert [(a.command, a.serial) for a in answers] == [(3, 1), (3, 2)]
    assert {"42", "43"} <= sink.seen_devices()
    assert sink.readings() == []


def test_frames_split_byte_by_byte_and_concatenated(connect, sink):
    device = connect()
    stream = fire_frame(7, 10) + fire_frame(7, 11, position=2) + send_data(7, 12)
    for byte in stream[:40]:
        device.send(bytes([byte]))
        time.sleep(0.001)
    device.send(stream[40:])
    assert [(a.command, a.serial) for a in device.expect(3)] == [(3, 10), (3, 11), (3, 12)]


# --- deny --------------------------------------------------------------------------------


def _bad_checksum() -> bytes:
    raw = bytearray(fire_frame(9, 501))
    raw[-3] ^= 0x5A
    return bytes(raw)


def _too_long() -> bytes:
    raw = bytearray(send_data(9, 502))
    raw[24:26] = (MAX_DATA + 1).to_bytes(2, "little")
    return bytes(raw) + b"\x00" * (MAX_DATA + 1)


BAD_FRAMES = {
    "checksum": (_bad_checksum, 501),
    "length": (_too_long, 502),
    "unknown command": (lambda: send_data(9, 503, command=9), 503),
    "bad start": (lambda: b"@!" + send_data(9, 504)[2:], 504),
    "bad end": (lambda: send_data(9, 505)[:-2] + b"#!", 505),
    "unknown data unit": (lambda: send_data(9, 506, b"\x63\x01\x00"), 506),
    "wrong unit size": (lambda: send_data(9, 507, b"\x02\x01" + b"\x00" * 10), 507),
    "unknown major version": (
        lambda: send_data(9, 508, b"\x15\x01\x01" + bytes(6), version=(2, 0)),
        508,
    ),
    "control from a device": (lambda: send_data(9, 509, command=1), 509),
}


@pytest.mark.parametrize("case", list(BAD_FRAMES))
def test_nonconforming_frames_are_denied_and_the_connection_goes_on(case, connect, sink, caplog):
    build, serial = BAD_FRAMES[case]
    device = connect()
    with caplog.at_level(logging.WARNING, logger="frontline.monitoring.gb26875"):
        device.send(build())
        [answer] = device.expect()
        device.send(fire_frame(9, 600))
        [after] = device.expect()
    assert (answer.command, answer.serial) == (Command.DENY, serial)
    assert (after.command, after.serial) == (Command.CONFIRM, 600)
    assert any("deny 127.0.0.1:" in m and f"serial={serial}" in m for m in caplog.messages)
    assert [r.value for r in sink.readings() if r.metric == "fire"] == [1]  # only frame 600


def test_garbage_between_frames(connect):
    device = connect()
    device.send(b"\xff\xfeHELLO" + fire_frame(11, 1) + b"\x00" * 50 + b"@#@" + fire_frame(11, 2))
    device.send(b"##junk##" + send_data(11, 3))
    assert [(a.command, a.serial) for a in device.expect(3)] == [(3, 1), (3, 2), (3, 3)]


def test_truncated_frame_then_close_is_logged_and_harmless(connect, gateway, caplog):
    device = connect()
    with caplog.at_level(logging.INFO, logger="frontline.monitoring.gb26875"):
        device.send(fire_frame(12, 99)[:35])
        time.sleep(0.1)
        device.close()
        deadline = time.monotonic() + 5
        while not any("reason=truncated" in m for m in caplog.messages):
            assert time.monotonic() < deadline, caplog.messages
            time.sleep(0.02)
    other = connect()
    other.send(fire_frame(13, 1))
    assert other.expect()[0].command == Command.CONFIRM


def test_a_peer_flooding_broken_frames_is_hung_up_on_and_others_are_served(connect):
    abuser, neighbour = connect(), connect()
    abuser.send(b"@" * 20000)
    abuser.sock.settimeout(5)
    received = b""
    while chunk := abuser.sock.recv(65536):
        received += chunk
    assert 0 < len(FrameReader().feed(received)) <= 32  # some denies, then the hang-up
    neighbour.send(fire_frame(14, 1))
    assert neighbour.expect()[0].command == Command.CONFIRM


def test_a_frame_the_sink_cannot_commit_is_not_confirmed_and_others_are(connect, sink):
    sink.fail_device = "66"
    failing, healthy = connect(), connect()
    failing.send(fire_frame(66, 1))
    healthy.send(fire_frame(67, 1))
    assert healthy.expect()[0].command == Command.CONFIRM
    assert failing.silent(0.5)
    assert {r.device for r in sink.readings()} == {"67"}


def test_idle_connections_are_closed():
    sink = RecordingSink()
    gateway = Gateway(sink=sink, seen=sink.mark_seen, idle_seconds=0.3)
    with BackgroundGateway(gateway) as background:
        device = Device(background.port)
        device.sock.settimeout(3)
        started = time.monotonic()
        assert device.sock.recv(10) == b""
        assert time.monotonic() - started < 2
        device.close()


def test_a_vendor_layout_is_decoded_by_its_version(connect, sink):
    compact = b"\x02\x01" + b"\x01\x01\x28\x05\x00\x09\x00\x03\x00" + bytes(6)
    device = connect()
    device.send(send_data(21, 1, compact, version=(1, 0x80)))
    device.send(send_data(21, 2, compact))  # the same bytes claimed as standard: denied
    assert [(a.command, a.serial) for a in device.expect(2)] == [(3, 1), (6, 2)]
    fire = {r.metric: r for r in sink.readings()}["fire"]
    assert (fire.value, fire.detail["zone"], fire.detail["position"]) == (1, 5, 9)


def test_device_status_clears_on_the_same_connection(connect, sink):
    device = connect()
    device.send(send_data(22, 1, encode_unit([DeviceStatus(0x05, None)])))  # fault
    device.expect()
    device.send(send_data(22, 2, encode_unit([DeviceStatus(0x01, None)])))  # normal again
    device.expect()
    device.send(send_data(22, 3, encode_unit([DeviceStatus(0x01, None)])))  # and again
    device.expect()
    faults = [r.value for r in sink.readings() if r.metric == "fault"]
    assert faults == [1, 0], "the second normal status is a heartbeat, not a reading"
    assert "22" in sink.seen_devices()


def test_the_command_serves_and_stops_on_ctrl_c(tmp_path):
    port = _free_port()
    env = {**os.environ, "FRONTLINE_VAR": str(tmp_path), "GB26875_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "frontline.cli", "gb26875-gateway", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        device = _connect_when_up(port, process)
        raw = bytearray(send_data(30, 4711))
        raw[-3] ^= 0xFF  # a bad checksum: denied without touching the database
        device.send(bytes(raw))
        assert [(a.command, a.serial) for a in device.expect()] == [(Command.DENY, 4711)]
        device.close()
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert f"listening on 127.0.0.1:{port}" in output
    assert "gb26875 connect 127.0.0.1:" in output and "reason=checksum" in output
    assert "stopped: 0 confirmed, 1 denied" in output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _connect_when_up(port: int, process) -> Device:
    deadline = time.monotonic() + 20
    while True:
        try:
            return Device(port)
        except OSError:
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.1)


# --- many at once ------------------------------------------------------------------------


async def _device_round(port: int, number: int) -> tuple[int, int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(fire_frame(10_000 + number, serial=number))
        await writer.drain()
        frames = FrameReader()
        while True:
            chunk = await asyncio.wait_for(reader.read(4096), 10)
            assert chunk, f"device {number}: connection closed"
            events = frames.feed(chunk)
            if events:
                return events[0].command, events[0].serial
    finally:
        writer.close()


def test_250_devices_at_once_all_confirmed_in_few_transactions(gateway, sink):
    async def everyone():
        return await asyncio.gather(*(_device_round(gateway.port, n) for n in range(250)))

    answers = asyncio.run(everyone())
    assert answers == [(Command.CONFIRM, n) for n in range(250)]
    fire = {r.device for r in sink.readings() if r.metric == "fire" and r.value == 1}
    assert fire == {str(10_000 + n) for n in range(250)}
    assert len(sink.calls) < 60, f"{len(sink.calls)} sink calls for 250 frames: not batched"


def test_the_gateway_still_serves_after_all_of_that(connect):
    device = connect()
    device.send(send_data(1, 4242))
    assert [(a.command, a.serial) for a in device.expect()] == [(Command.CONFIRM, 4242)]


# --- through the real ingest service into the database -----------------------------------


@pytest.fixture
def real_gateway(transactional_db):
    """The gateway with its default sink: the real ingest service, on its own thread.

    These tests commit for real (the sink's thread has its own connection), so the database
    is flushed after each one, default rules included: put them back, and drop the rule
    book that ingest keeps in memory."""
    from frontline.monitoring.default_rules import DEFAULT_RULES
    from frontline.monitoring.models import Rule
    from frontline.monitoring.services.rules import forget_rules

    if not Rule.objects.exists():
        Rule.objects.bulk_create(Rule(**fields) for fields in DEFAULT_RULES)
    forget_rules()
    with BackgroundGateway(Gateway(idle_seconds=5)) as background:
        yield background
    forget_rules()


@pytest.mark.django_db(transaction=True)
def test_fire_frame_goes_through_ingest_to_an_observation_and_an_alarm(world, real_gateway):
    from frontline.monitoring.models import Alarm, Observation
    from frontline.monitoring.testing import make_device

    controller, _token = make_device(world.village, "fire_controller", code="123456")
    device = Device(real_gateway.port)
    try:
        device.send(fire_frame(123456, serial=31, zone=3, position=17))
        [answer] = device.expect()
    finally:
        device.close()
    assert (answer.command, answer.serial) == (Command.CONFIRM, 31)
    # Confirmed means committed: the rows are there the moment the confirm is.
    fire = Observation.objects.get(device=controller, metric="fire")
    assert fire.value == 1
    alarm = Alarm.objects.get(device=controller, alarm_type="fire")
    assert (alarm.detail.get("zone"), alarm.detail.get("position")) == (3, 17)
    assert alarm.detail.get("description") == "1号楼烟感"


@pytest.mark.django_db(transaction=True)
def test_heartbeat_marks_the_device_online_and_unknown_devices_are_still_answered(
    world, real_gateway
):
    from frontline.monitoring.models import Device as DeviceRow
    from frontline.monitoring.models import DeviceStatus as Status
    from frontline.monitoring.models import Observation
    from frontline.monitoring.testing import make_device

    controller, _token = make_device(world.village, "fire_controller", code="777")
    device = Device(real_gateway.port)
    try:
        device.send(send_data(777, serial=1))
        device.send(fire_frame(888, serial=2))  # never registered: refused by ingest, logged
        answers = device.expect(2)
    finally:
        device.close()
    assert [(a.command, a.serial) for a in answers] == [(3, 1), (3, 2)]
    controller = DeviceRow.objects.get(pk=controller.pk)
    assert controller.status == Status.ONLINE and controller.last_seen_at is not None
    assert not Observation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_fire_from_a_device_whose_clock_says_2000_is_not_lost(world, real_gateway):
    from frontline.monitoring.models import Alarm, Observation
    from frontline.monitoring.testing import make_device

    controller, _token = make_device(world.village, "fire_controller", code="2000")
    stale = datetime(2000, 1, 1, 0, 0, 5, tzinfo=CHINA)
    component = ComponentStatus(1, 1, 40, 2, 8, 0x0003, "地下车库烟感", stale)
    frame = Frame(9, 2, code_address(2000), CENTRE, encode_unit([component]), (1, 0), bytes(6))
    device = Device(real_gateway.port)
    try:
        device.send(encode_frame(frame))
        [answer] = device.expect()
    finally:
        device.close()
    assert (answer.command, answer.serial) == (Command.CONFIRM, 9)
    fire = Observation.objects.get(device=controller, metric="fire")
    assert fire.value == 1 and fire.at.year >= 2026
    alarm = Alarm.objects.get(device=controller, alarm_type="fire")
    assert alarm.detail["device_time"].startswith("2000-01-01")
