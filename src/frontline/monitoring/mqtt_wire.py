"""A paho-mqtt client that reads what the broker sends in bulk and passes telemetry on lean.

paho keeps the session: connecting, subscribing, keep-alive, reconnecting, acknowledgements,
every packet other than an incoming telemetry PUBLISH. What it costs per incoming message is
the reason for this class. For each PUBLISH, stock paho makes three or four `recv()` calls
(one byte of command, one per byte of length, then the body) after a `select()`, builds an
MQTT v5 `Properties` object, an `MQTTMessage` and an `MQTTMessageInfo` (with a lock and a
condition of its own), and walks its topic matcher: about 90 µs of the 118 µs that
`mqtt-ingest` spent on a message, measured with py-spy on the MQTT benchmark.

`BulkReadClient.loop_read` instead takes whatever the socket holds (up to `READ_SIZE` bytes)
in one call and cuts it into packets itself. A PUBLISH at QoS 0 or 1 with a topic goes
straight to `on_publish(topic, payload, mid, qos)` with its properties skipped (the ingest
reads none). Every other packet, and a PUBLISH this reader does not take (QoS 2, a topic
alias, a topic that is not UTF-8, a malformed one), is handed to paho's own handler exactly
as paho's reader would have handed it. Manual acknowledgement stays with paho's caller.

This relies on five private members of paho-mqtt 2.x (`_sock`, `_sock_recv`, `_in_packet`,
`_packet_handle`, `_loop_rc_handle`, with the keep-alive clock): `supports_bulk_read` checks
they are there, and where they are not, the subscriber uses the stock client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion

log = logging.getLogger("frontline.monitoring.mqtt")

# One recv() takes this much: at about 130 bytes a telemetry message, some 500 messages.
READ_SIZE = 64 * 1024
PUBLISH = 0x30

OnPublish = Callable[[str, bytes, int, int], None]

_PRIVATE_MEMBERS = (
    "_sock",
    "_sock_recv",
    "_in_packet",
    "_packet_handle",
    "_loop_rc_handle",
    "_msgtime_mutex",
    "_last_bytes_received",
    "_protocol",
)


def _fresh_in_packet() -> dict:
    # The shape paho's own reader leaves `_in_packet` in between packets.
    return {
        "command": 0,
        "have_remaining": 0,
        "remaining_count": [],
        "remaining_mult": 1,
        "remaining_length": 0,
        "packet": bytearray(b""),
        "to_process": 0,
        "pos": 0,
    }


class MalformedFrame(ValueError):
    """A length longer than MQTT's four bytes: the stream cannot be resynchronised."""


def read_varint(buffer: bytes | bytearray, position: int, end: int) -> tuple[int, int] | None:
    """MQTT's variable byte integer at `position`: (value, position after it), or None when
    it runs past `end`. More than four bytes raises MalformedFrame."""
    value = 0
    shift = 0
    while True:
        if position >= end:
            return None
        byte = buffer[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
        if shift > 21:
            raise MalformedFrame("variable byte integer longer than four bytes")


def split_packet(buffer: bytes | bytearray, start: int) -> tuple[int, int, int] | None:
    """(first byte, body start, body end) of the packet at `start`, or None while the buffer
    does not hold all of it yet."""
    found = read_varint(buffer, start + 1, len(buffer))
    if found is None:
        return None
    length, body = found
    if body + length > len(buffer):
        return None
    return buffer[start], body, body + length


def read_publish(
    buffer: bytes | bytearray, first: int, start: int, end: int, *, v5: bool
) -> tuple[str, bytes, int, int] | None:
    """(topic, payload, packet id, QoS) of a PUBLISH body at QoS 0 or 1 with a UTF-8 topic;
    None for anything this reader leaves to paho."""
    qos = (first >> 1) & 3
    if qos == 2 or end - start < 2:
        return None
    topic_end = start + 2 + ((buffer[start] << 8) | buffer[start + 1])
    if topic_end == start + 2 or topic_end > end:
        return None  # a topic alias, or a length past the packet
    try:
        topic = bytes(buffer[start + 2 : topic_end]).decode("utf-8")
    except UnicodeDecodeError:
        return None
    position = topic_end
    mid = 0
    if qos:
        if position + 2 > end:
            return None
        mid = (buffer[position] << 8) | buffer[position + 1]
        position += 2
    if v5:
        try:
            found = read_varint(buffer, position, end)
        except MalformedFrame:
            return None
        if found is None or found[0] + found[1] > end:
            return None
        position = found[0] + found[1]
    return topic, bytes(buffer[position:end]), mid, qos


def supports_bulk_read() -> bool:
    probe = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    present = all(hasattr(probe, name) for name in _PRIVATE_MEMBERS)
    return present and hasattr(mqtt, "time_func")


class BulkReadClient(mqtt.Client):
    """paho's client with `loop_read` replaced: see the module's docstring."""

    def __init__(self, *args, on_publish: OnPublish, **kwargs):
        super().__init__(*args, **kwargs)
        self._on_publish_received = on_publish
        self._bulk_buffer = bytearray()
        self._bulk_socket = None

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        sock = self._sock
        if sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        if sock is not self._bulk_socket:
            # A new connection: what was left of the old one's stream means nothing now.
            self._bulk_socket = sock
            self._bulk_buffer = bytearray()
        try:
            data = self._sock_recv(READ_SIZE)
        except BlockingIOError:
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        except OSError as err:
            self._easy_log(mqtt.MQTT_LOG_ERR, "failed to receive on socket: %s", err)
            return self._loop_rc_handle(MQTTErrorCode.MQTT_ERR_CONN_LOST)
        if not data:
            return self._loop_rc_handle(MQTTErrorCode.MQTT_ERR_CONN_LOST)
        with self._msgtime_mutex:
            self._last_bytes_received = mqtt.time_func()
        buffer = self._bulk_buffer
        buffer += data
        rc = self._read_packets(sock, buffer)
        if rc:
            return self._loop_rc_handle(rc)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _read_packets(self, sock, buffer: bytearray) -> MQTTErrorCode:
        v5 = self._protocol == MQTTProtocolVersion.MQTTv5
        deliver = self._on_publish_received
        position = 0
        rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        try:
            while True:
                packet = split_packet(buffer, position)
                if packet is None:
                    break
                first, start, end = packet
                position = end
                if first & 0xF0 == PUBLISH:
                    message = read_publish(buffer, first, start, end, v5=v5)
                    if message is not None:
                        deliver(*message)
                        continue
                rc = self._handle_with_paho(first, buffer, start, end)
                if rc or self._sock is not sock:
                    break
        except MalformedFrame as err:
            self._easy_log(mqtt.MQTT_LOG_ERR, "malformed packet from the broker: %s", err)
            rc = MQTTErrorCode.MQTT_ERR_PROTOCOL
        del buffer[:position]
        return rc

    def _handle_with_paho(self, first: int, buffer: bytearray, start: int, end: int):
        self._in_packet = _fresh_in_packet()
        self._in_packet.update(
            command=first,
            have_remaining=1,
            remaining_length=end - start,
            packet=bytearray(buffer[start:end]),
        )
        try:
            return self._packet_handle()
        except mqtt.MalformedPacket as exc:
            self._easy_log(mqtt.MQTT_LOG_DEBUG, "Received malformed packet: %s", exc)
            return MQTTErrorCode.MQTT_ERR_PROTOCOL
        finally:
            self._in_packet = _fresh_in_packet()
