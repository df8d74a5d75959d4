"""The MQTT mechanics against a real Mosquitto, with a recording ingest: subscribe, batch,
ack after commit, the persistent session, shared subscriptions."""

from __future__ import annotations

import json
import threading
import time

from frontline.monitoring.tests.conftest import RecordingIngest


def payloads(prefix: str, count: int, devices: int = 5, start: int = 0):
    for i in range(start, start + count):
        topic = f"{prefix}/D{i % devices}/telemetry"
        yield topic, json.dumps({"token": "tk", "ts": 1_767_225_600_000 + i, "values": {"v": i}})


def test_published_readings_are_batched_ingested_and_acked(
    mqtt_url, unique, publisher_for, subscribers, recording
):
    subscriber = subscribers(mqtt_url, f"{unique}-a", unique, recording, batch_ms=50)
    # Paced: a stock Mosquitto drops what a slow reader leaves over 1,000 queued messages.
    publisher_for(mqtt_url).publish(payloads(unique, 3000), per_second=10_000)
    assert recording.wait_for(3000), f"only {len(recording.stored)} of 3000 arrived"
    assert sorted(recording.stored.values()) == list(range(3000))
    assert len(recording.calls) < 3000 / 5, "messages were not batched"
    # Every message was acknowledged: the same session, resumed, gets nothing again.
    time.sleep(0.2)
    subscriber.stop()
    again = RecordingIngest()
    subscribers(mqtt_url, f"{unique}-a", unique, again)
    time.sleep(0.5)
    assert again.calls == []
    assert subscriber.stats.messages == 3000 and subscriber.stats.stored == 3000


def test_bad_messages_are_dropped_and_acked(mqtt_url, unique, publisher_for, subscribers):
    recording = RecordingIngest()
    subscriber = subscribers(mqtt_url, f"{unique}-b", unique, recording)
    publisher = publisher_for(mqtt_url)
    publisher.publish(
        [
            (f"{unique}/D1/telemetry", b"not json"),
            (f"{unique}/D1/telemetry", json.dumps({"token": "bad", "values": {"v": 1}})),
            (f"{unique}/D1/telemetry", json.dumps({"token": "tk", "ts": 1, "values": {"v": 1}})),
        ]
    )
    assert recording.wait_for(1)
    deadline = time.monotonic() + 5
    while subscriber.stats.messages < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert subscriber.stats.rejected == 2 and subscriber.stats.messages == 3
    subscriber.stop()
    again = RecordingIngest()
    resumed = subscribers(mqtt_url, f"{unique}-b", unique, again)
    time.sleep(0.5)
    assert resumed.stats.messages == 0, "a dropped message was not acknowledged"


def test_what_was_received_but_not_committed_comes_back_after_a_restart(
    mqtt_url, unique, publisher_for, subscribers
):
    # The ingest hangs (a database that never answers): nothing may be acked.
    hung = RecordingIngest(block=threading.Event())
    first = subscribers(mqtt_url, f"{unique}-c", unique, hung)
    publisher_for(mqtt_url).publish(payloads(unique, 200))
    time.sleep(0.3)
    first._stop.set()  # what SIGKILL leaves: the session with unacknowledged messages
    first.client.loop_stop()
    first.client._sock_close()
    first.connected.clear()
    second = RecordingIngest()
    subscribers(mqtt_url, f"{unique}-c", unique, second)
    assert second.wait_for(200), f"only {len(second.stored)} of 200 came back"
    hung.block.set()


def test_the_persistent_session_keeps_what_is_published_while_away(
    mqtt_url, unique, publisher_for, subscribers, recording
):
    subscriber = subscribers(mqtt_url, f"{unique}-d", unique, recording)
    publisher = publisher_for(mqtt_url)
    publisher.publish(payloads(unique, 100))
    assert recording.wait_for(100)
    subscriber.stop()
    # Fewer than the 1,000 messages Mosquitto keeps by default for an absent client.
    publisher.publish(payloads(unique, 500, start=100))
    subscribers(mqtt_url, f"{unique}-d", unique, recording)
    assert recording.wait_for(600), f"only {len(recording.stored)} of 600 arrived"
    assert sorted(recording.stored.values()) == list(range(600))


def test_a_shared_subscription_splits_the_stream_without_loss_or_doubles(
    mqtt_url, unique, publisher_for, subscribers
):
    one, two = RecordingIngest(), RecordingIngest()
    subscribers(mqtt_url, f"{unique}-s1", unique, one, shared=unique)
    subscribers(mqtt_url, f"{unique}-s2", unique, two, shared=unique)
    publisher_for(mqtt_url).publish(payloads(unique, 2000, devices=20), per_second=10_000)
    deadline = time.monotonic() + 10
    while len(one.stored) + len(two.stored) < 2000 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert one.stored and two.stored, "one subscriber got everything"
    assert not one.stored.keys() & two.stored.keys(), "a message went to both"
    assert sorted([*one.stored.values(), *two.stored.values()]) == list(range(2000))
