"""The MQTT door without a broker: payloads, and the batcher's ack-after-commit rules."""

from __future__ import annotations

import json
import queue
import threading
import time

import pytest
from django.db import OperationalError

from frontline.monitoring.mqtt import (
    Batcher,
    Message,
    PayloadError,
    parse_message,
)
from frontline.monitoring.mqtt_subscriber import parse_url, subscription_topic
from frontline.monitoring.readings import IngestResult


def body(**fields) -> bytes:
    return json.dumps(fields).encode()


def test_single_reading_payload():
    device, token, readings = parse_message(
        "frontline/RC-001/telemetry",
        body(token="tk", ts=1767225600000, values={"residual_current": 320, "fault": 0}),
        "frontline",
    )
    assert (device, token) == ("RC-001", "tk")
    assert [(r.device, r.metric, r.value, r.at) for r in readings] == [
        ("RC-001", "residual_current", 320, 1767225600000),
        ("RC-001", "fault", 0, 1767225600000),
    ]


def test_several_readings_each_with_its_time_or_the_message_time():
    _device, _token, readings = parse_message(
        "frontline/TH-9/telemetry",
        body(
            token="tk",
            ts="2026-01-01T08:00:00+08:00",
            readings=[
                {"ts": "2026-01-01T08:00:00+08:00", "values": {"temperature": 21.5}},
                {"values": {"humidity": 40}},
                {"ts": 1767225660000, "values": {"temperature": 21.7}},
            ],
        ),
        "frontline",
    )
    assert [(r.metric, r.value, r.at) for r in readings] == [
        ("temperature", 21.5, "2026-01-01T08:00:00+08:00"),
        ("humidity", 40, "2026-01-01T08:00:00+08:00"),
        ("temperature", 21.7, 1767225660000),
    ]


def test_values_are_handed_on_for_the_ingest_service_to_judge():
    # One place validates values for every door: the door does not refuse "abc" itself.
    _d, _t, readings = parse_message(
        "frontline/S1/telemetry", body(token="tk", values={"smoke": "abc"}), "frontline"
    )
    assert readings[0].value == "abc" and readings[0].at is None


@pytest.mark.parametrize(
    ("topic", "payload", "code"),
    [
        ("frontline/S1/telemetry", b"not json", "not_json"),
        ("frontline/S1/telemetry", b"\xff\xfe", "not_json"),
        ("frontline/S1/telemetry", b"[1, 2]", "not_object"),
        ("frontline/S1/telemetry", body(values={"smoke": 1}), "no_token"),
        ("frontline/S1/telemetry", body(token="", values={"smoke": 1}), "no_token"),
        ("frontline/S1/telemetry", body(token=7, values={"smoke": 1}), "no_token"),
        ("frontline/S1/telemetry", body(token="tk"), "no_values"),
        ("frontline/S1/telemetry", body(token="tk", values={}), "no_values"),
        ("frontline/S1/telemetry", body(token="tk", values=[1]), "no_values"),
        ("frontline/S1/telemetry", body(token="tk", readings=[]), "no_readings"),
        ("frontline/S1/telemetry", body(token="tk", readings=[1]), "bad_reading"),
        ("frontline/S1/telemetry", body(token="tk", readings=[{"ts": 1}]), "no_values"),
        ("frontline/S1/telemetry", b"x" * (300 * 1024), "too_large"),
        ("frontline/S1/status", body(token="tk", values={"smoke": 1}), "bad_topic"),
        ("other/S1/telemetry", body(token="tk", values={"smoke": 1}), "bad_topic"),
        ("frontline//telemetry", body(token="tk", values={"smoke": 1}), "bad_topic"),
        ("frontline/a/b/telemetry", body(token="tk", values={"smoke": 1}), "bad_topic"),
    ],
)
def test_bad_messages_are_refused_with_a_reason(topic, payload, code):
    with pytest.raises(PayloadError) as caught:
        parse_message(topic, payload, "frontline")
    assert caught.value.code == code


def test_urls_and_topics():
    assert parse_url("mqtt://127.0.0.1:1883").port == 1883
    secure = parse_url("mqtts://ingest:s%40cret@broker.example")
    assert (secure.tls, secure.port, secure.username, secure.password) == (
        True,
        8883,
        "ingest",
        "s@cret",
    )
    with pytest.raises(ValueError):
        parse_url("http://broker")
    assert subscription_topic("frontline") == "frontline/+/telemetry"
    assert subscription_topic("frontline", "ingest") == "$share/ingest/frontline/+/telemetry"


# ---- the batcher, with a recording ingest ----------------------------------------------


def make_batcher(recording, acked, **options):
    inbox = queue.SimpleQueue()
    options.setdefault("authenticate", lambda code, token: token == f"tk-{code}")
    batcher = Batcher(
        inbox,
        ack=acked.extend,
        ingest=recording,
        retry_seconds=0.01,
        own_connection=False,
        **options,
    )
    return inbox, batcher


def message(device: str, ts: int, mid: int, token: str | None = None) -> Message:
    payload = body(token=token or f"tk-{device}", ts=ts, values={"smoke": ts % 2})
    return Message(f"frontline/{device}/telemetry", payload, mid=mid)


def test_a_batch_is_ingested_in_one_call_then_every_message_is_acked(recording):
    acked: list[Message] = []
    inbox, batcher = make_batcher(recording, acked, batch_size=100, batch_ms=1000)
    for mid in range(1, 251):
        inbox.put(message(f"S{mid % 3}", mid, mid))
    stop = threading.Event()
    sizes = []
    while len(acked) < 250:
        batch = batcher.collect(stop)
        sizes.append(len(batch))
        assert batcher.process(batch, stop)
    assert sizes == [100, 100, 50]
    assert recording.calls == [100, 100, 50]
    assert [m.mid for m in acked] == list(range(1, 251))
    assert batcher.stats.stored == 250 and batcher.stats.messages == 250


def test_collect_returns_what_arrived_within_the_window(recording):
    acked: list[Message] = []
    inbox, batcher = make_batcher(recording, acked, batch_size=1000, batch_ms=30)
    inbox.put(message("S1", 1, 1))
    inbox.put(message("S1", 2, 2))
    assert len(batcher.collect(threading.Event())) == 2
    assert batcher.collect(threading.Event(), idle_wait=0.01) == []


def test_rejected_messages_are_acked_and_counted_not_ingested(recording):
    acked: list[Message] = []
    _inbox, batcher = make_batcher(recording, acked)
    batch = [
        message("S1", 1, 1),
        message("S1", 2, 2, token="wrong"),
        Message("frontline/S1/telemetry", b"{", mid=3),
        Message("elsewhere/S1/telemetry", body(token="tk-S1", values={"smoke": 1}), mid=4),
    ]
    assert batcher.process(batch)
    assert len(recording.stored) == 1
    assert [m.mid for m in acked] == [1, 2, 3, 4]
    assert batcher.stats.rejected == 3
    assert dict(batcher.stats.reasons) == {"bad_token": 1, "not_json": 1, "bad_topic": 1}


def test_authentication_is_asked_once_per_device_and_token_in_a_batch(recording):
    asked = []

    def authenticate(code, token):
        asked.append(code)
        return True

    acked: list[Message] = []
    _inbox, batcher = make_batcher(recording, acked, authenticate=authenticate)
    assert batcher.process([message("S1", ts, ts) for ts in range(50)])
    assert asked == ["S1"]


def test_nothing_is_acked_while_the_database_is_down(recording):
    failures = {"left": 3}

    def flaky(readings, *, source):
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("database is locked")
        return recording(readings, source=source)

    acked: list[Message] = []
    _inbox, batcher = make_batcher(flaky, acked)
    assert batcher.process([message("S1", 1, 1), message("S1", 2, 2)])
    assert failures["left"] == 0 and len(acked) == 2 and len(recording.stored) == 2


def test_stopping_during_an_outage_leaves_the_batch_unacked():
    def down(readings, *, source):
        raise OperationalError("connection refused")

    acked: list[Message] = []
    _inbox, batcher = make_batcher(down, acked)
    stop = threading.Event()
    threading.Timer(0.1, stop.set).start()
    assert not batcher.process([message("S1", 1, 1)], stop)
    assert acked == []


def test_a_poisonous_message_does_not_block_the_others(recording):
    def picky(readings, *, source):
        if any(r.device == "BAD" for r in readings):
            raise ValueError("a bug in the service")
        return recording(readings, source=source)

    acked: list[Message] = []
    _inbox, batcher = make_batcher(picky, acked)
    assert batcher.process([message("S1", 1, 1), message("BAD", 2, 2), message("S2", 3, 3)])
    assert sorted(key[0] for key in recording.stored) == ["S1", "S2"]
    assert len(acked) == 3 and batcher.stats.failed == 1


def test_errors_and_alarms_of_the_ingest_result_are_counted():
    def result(readings, *, source):
        return IngestResult(stored=1, duplicates=1, alarms_raised=1)

    acked: list[Message] = []
    _inbox, batcher = make_batcher(result, acked)
    batcher.process([message("S1", 1, 1)])
    stats = batcher.stats
    assert (stats.stored, stats.duplicates, stats.alarms_raised) == (1, 1, 1)
    assert "stored 1, duplicates 1" in stats.line()


def test_large_batches_are_cut_at_message_boundaries_for_the_service(recording):
    acked: list[Message] = []
    _inbox, batcher = make_batcher(recording, acked, max_readings=5)
    three = [
        Message(
            f"frontline/S{i}/telemetry",
            body(token=f"tk-S{i}", ts=1, values={"a": 1, "b": 2, "c": 3}),
            mid=i,
        )
        for i in range(3)
    ]
    assert batcher.process(three)
    assert recording.calls == [3, 3, 3]
    assert len(acked) == 3


def test_acks_go_out_in_one_write_and_only_on_the_connection_that_delivered():
    from frontline.monitoring.mqtt_subscriber import Subscriber

    subscriber = Subscriber(url="mqtt://127.0.0.1:1", client_id="unit", prefix="frontline")
    written = []
    subscriber.client._packet_queue = lambda command, packet, mid, qos: written.append(packet)
    subscriber._generation = 2
    subscriber._ack(
        [
            Message("t", b"", mid=1, generation=2),
            Message("t", b"", mid=2, generation=1),  # came before the reconnect
            Message("t", b"", mid=258, generation=2),
            Message("t", b"", mid=3, qos=0, generation=2),  # QoS 0 has nothing to ack
        ]
    )
    assert written == [b"\x40\x02\x00\x01" + b"\x40\x02\x01\x02"]


def test_the_ingest_thread_survives_a_failure_outside_the_ingest_call(recording):
    calls = {"n": 0}

    def authenticate(code, token):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("no such table: monitoring_device")
        return True

    acked: list[Message] = []
    inbox, batcher = make_batcher(recording, acked, authenticate=authenticate, batch_ms=1)
    stop = threading.Event()
    thread = threading.Thread(target=batcher.run, args=(stop,))
    thread.start()
    inbox.put(message("S1", 1, 1))
    try:
        deadline = time.monotonic() + 5
        while not acked and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [m.mid for m in acked] == [1] and len(recording.stored) == 1
    finally:
        stop.set()
        thread.join(5)
