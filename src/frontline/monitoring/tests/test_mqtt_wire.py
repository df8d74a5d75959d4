"""The bulk reader of incoming MQTT packets: packet framing, PUBLISH decoding, a stream cut
at any point over a real socket pair, and the subscriber on a real Mosquitto with either
reader."""

from __future__ import annotations

import json
import socket
import struct

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from frontline.monitoring.mqtt_wire import (
    BulkReadClient,
    MalformedFrame,
    read_publish,
    split_packet,
    supports_bulk_read,
)
from frontline.monitoring.tests.conftest import RecordingIngest

PINGRESP = b"\xd0\x00"


def remaining_length(length: int) -> bytes:
    out = bytearray()
    while True:
        byte, length = length & 0x7F, length >> 7
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


def publish_packet(
    topic: str | bytes,
    payload: bytes,
    *,
    qos: int = 1,
    mid: int = 1,
    properties: bytes | None = b"\x00",
    dup: bool = False,
    retain: bool = False,
) -> bytes:
    """A PUBLISH as a broker sends it; `properties=None` for MQTT 3.1.1."""
    name = topic.encode() if isinstance(topic, str) else topic
    body = struct.pack("!H", len(name)) + name
    if qos:
        body += struct.pack("!H", mid)
    if properties is not None:
        body += properties
    body += payload
    first = 0x30 | (dup << 3) | (qos << 1) | retain
    return bytes([first]) + remaining_length(len(body)) + body


def user_properties() -> bytes:
    properties = Properties(PacketTypes.PUBLISH)
    properties.UserProperty = [("vendor", "某厂"), ("firmware", "2.1")]
    properties.MessageExpiryInterval = 60
    properties.ContentType = "application/json"
    return properties.pack()


def decode(packet: bytes, *, v5: bool = True):
    first, start, end = split_packet(packet, 0)
    assert end == len(packet)
    return read_publish(packet, first, start, end, v5=v5)


def test_installed_paho_has_what_the_bulk_reader_needs():
    # Otherwise the subscriber silently falls back to paho's reader, five times slower.
    assert supports_bulk_read()


def test_publish_at_qos_1_with_properties():
    packet = publish_packet("fl/D1/telemetry", b'{"v":1}', mid=513, properties=user_properties())
    assert decode(packet) == ("fl/D1/telemetry", b'{"v":1}', 513, 1)


def test_publish_at_qos_0_has_no_packet_id():
    packet = publish_packet("fl/D1/telemetry", b"x", qos=0)
    assert decode(packet) == ("fl/D1/telemetry", b"x", 0, 0)


def test_mqtt_3_publish_has_no_properties():
    packet = publish_packet("fl/D1/telemetry", b"\x00\x01", properties=None, mid=7)
    assert decode(packet, v5=False) == ("fl/D1/telemetry", b"\x00\x01", 7, 1)


@pytest.mark.parametrize(
    "packet",
    [
        publish_packet("fl/D1/telemetry", b"x", qos=2),  # QoS 2 needs paho's PUBREC/PUBREL
        publish_packet(b"", b"x", properties=b"\x03\x23\x00\x01"),  # a topic alias
        publish_packet(b"fl/\xff/telemetry", b"x"),  # a topic that is not UTF-8
        publish_packet("fl/D1/telemetry", b"", properties=b"\x7f"),  # properties past the end
    ],
    ids=["qos2", "alias", "not-utf8", "properties-past-end"],
)
def test_what_the_reader_leaves_to_paho(packet):
    assert decode(packet) is None


def test_truncated_publish_is_left_to_paho():
    # A body too short for its topic length: paho's decoder reports it as malformed.
    body = b"\x00\x20fl"
    packet = bytes([0x32]) + remaining_length(len(body)) + body
    assert decode(packet) is None


@pytest.mark.parametrize("size", [0, 127, 128, 16_383, 16_384, 300_000])
def test_lengths_of_one_to_three_bytes(size):
    packet = publish_packet("t/D/telemetry", b"p" * size)
    assert decode(packet)[1] == b"p" * size
    # Every proper prefix is incomplete, not an error.
    for cut in {0, 1, 2, 3, len(packet) // 2, len(packet) - 1}:
        assert split_packet(packet[:cut], 0) is None


def test_a_length_of_five_bytes_is_malformed():
    with pytest.raises(MalformedFrame):
        split_packet(b"\x30\xff\xff\xff\xff\x01", 0)


class SocketPairClient:
    """A BulkReadClient reading one end of a socket pair, as if it were the broker's."""

    def __init__(self):
        self.delivered: list[tuple] = []
        self.client = BulkReadClient(
            mqtt.CallbackAPIVersion.VERSION2,
            protocol=mqtt.MQTTv5,
            on_publish=lambda *message: self.delivered.append(message),
        )
        self.client.on_message = lambda client, userdata, msg: self.delivered.append(
            ("paho", msg.topic, msg.payload, msg.mid, msg.qos)
        )
        self.broker, ours = socket.socketpair()
        ours.setblocking(False)
        self.client._sock = ours

    def feed(self, chunk: bytes) -> None:
        """Send `chunk` as the broker would and read until the socket is drained (in pieces a
        socket pair's buffer holds, since nobody reads while this thread sends)."""
        for start in range(0, len(chunk), 16_384):
            self.broker.sendall(chunk[start : start + 16_384])
            while self._socket_has_data():
                assert self.client.loop_read() == mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

    def _socket_has_data(self) -> bool:
        try:
            return bool(self.client._sock.recv(1, socket.MSG_PEEK))
        except BlockingIOError:
            return False

    def close(self):
        self.broker.close()
        self.client._sock.close()


messages = st.tuples(
    st.text(alphabet="abcD0-_/", min_size=1, max_size=40),
    st.binary(max_size=3000),
    st.integers(min_value=0, max_value=1),
    st.integers(min_value=1, max_value=65535),
    st.booleans(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batch=st.lists(messages, min_size=1, max_size=40),
    pings=st.sets(st.integers(min_value=0, max_value=40), max_size=5),
    cuts=st.lists(st.integers(min_value=1, max_value=5000), max_size=30),
)
def test_a_stream_cut_anywhere_delivers_every_message_once_in_order(batch, pings, cuts):
    stream = bytearray()
    expected = []
    for index, (topic, payload, qos, mid, with_properties) in enumerate(batch):
        if index in pings:
            stream += PINGRESP  # handled by paho, between telemetry
        properties = user_properties() if with_properties else b"\x00"
        stream += publish_packet(topic, payload, qos=qos, mid=mid, properties=properties)
        expected.append((topic, payload, mid if qos else 0, qos))
    reader = SocketPairClient()
    try:
        position = 0
        for cut in cuts:
            reader.feed(bytes(stream[position : position + cut]))
            position += cut
        reader.feed(bytes(stream[position:]))
        assert reader.delivered == expected
        assert reader.client._bulk_buffer == b""
    finally:
        reader.close()


def test_qos_2_goes_through_paho_between_telemetry():
    reader = SocketPairClient()
    try:
        reader.feed(
            publish_packet("t/A/telemetry", b"1", mid=1)
            + publish_packet("t/B/telemetry", b"2", qos=2, mid=2)
            + publish_packet("t/C/telemetry", b"3", mid=3)
        )
        # paho holds a QoS 2 message until PUBREL; the telemetry around it passes.
        assert reader.delivered == [("t/A/telemetry", b"1", 1, 1), ("t/C/telemetry", b"3", 3, 1)]
        assert 2 in reader.client._in_messages
    finally:
        reader.close()


def test_a_closed_connection_is_reported_lost():
    reader = SocketPairClient()
    reader.broker.close()
    reader.client._state = mqtt._ConnectionState.MQTT_CS_CONNECTED
    assert reader.client.loop_read() == mqtt.MQTTErrorCode.MQTT_ERR_CONN_LOST
    assert reader.client._sock is None  # paho closed it


@pytest.mark.parametrize("bulk_read", [True, False], ids=["bulk", "paho"])
def test_large_and_decorated_messages_through_mosquitto(
    mqtt_url, unique, publisher_for, subscribers_with_reader, bulk_read
):
    """Payloads from a few bytes to 40 KB, some with MQTT v5 properties: what the broker
    sends crosses the reader's 64 KiB reads at every kind of boundary."""
    recording = RecordingIngest()
    subscriber = subscribers_with_reader(mqtt_url, f"{unique}-w", unique, recording, bulk_read)
    assert isinstance(subscriber.client, BulkReadClient) is bulk_read
    publisher = publisher_for(mqtt_url)
    properties = Properties(PacketTypes.PUBLISH)
    properties.UserProperty = [("vendor", "某厂")]
    expected = {}
    for i in range(400):
        note = "x" * ((i * 7919) % 40_000)
        payload = json.dumps({"token": "tk", "ts": 1_767_225_600_000 + i, "values": {"v": i}})
        payload = payload[:-1] + f', "note": "{note}"}}'
        topic = f"{unique}/D{i % 7}/telemetry"
        info = publisher.client.publish(
            topic, payload, qos=1, properties=properties if i % 3 == 0 else None
        )
        info.wait_for_publish(timeout=10)
        expected[(f"D{i % 7}", "v", 1_767_225_600_000 + i)] = i
    assert recording.wait_for(400, timeout=20), f"only {len(recording.stored)} of 400 arrived"
    assert recording.stored == expected
    assert subscriber.stats.rejected == 0


@pytest.fixture
def subscribers_with_reader(subscribers):
    def start(url, client_id, prefix, ingest, bulk_read):
        return subscribers(url, client_id, prefix, ingest, bulk_read=bulk_read)

    return start
