"""The paho-mqtt session of `frontline mqtt-ingest`: MQTT v5, QoS 1, a persistent session,
manual acknowledgement, feeding a `Batcher` (frontline.monitoring.mqtt) in its own thread.

Why that stores every reading exactly once: docs/mqtt.md.
"""

from __future__ import annotations

import logging
import queue
import struct
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

from frontline.monitoring.mqtt import (
    TOPIC_SUFFIX,
    AuthenticateFn,
    Batcher,
    IngestFn,
    Message,
    Stats,
)

log = logging.getLogger("frontline.monitoring.mqtt")

# The largest Receive Maximum MQTT v5 allows: the broker may have this many unacknowledged
# messages in flight to us, which is what lets a batch of thousands wait for one commit.
RECEIVE_MAXIMUM = 65535
# How long the broker keeps the session (subscription and undelivered messages) while no
# ingest process is connected: a week covers a long weekend of a station's server being down.
SESSION_EXPIRY_SECONDS = 7 * 24 * 3600
_PUBACK = struct.Struct("!BBH")


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None


def parse_url(url: str) -> BrokerAddress:
    parsed = urlparse(url)
    if parsed.scheme not in ("mqtt", "mqtts") or not parsed.hostname:
        raise ValueError(f"MQTT_URL must look like mqtt://host:1883 or mqtts://host:8883: {url!r}")
    tls = parsed.scheme == "mqtts"
    return BrokerAddress(
        host=parsed.hostname,
        port=parsed.port or (8883 if tls else 1883),
        tls=tls,
        username=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
    )


def subscription_topic(prefix: str, shared: str | None = None) -> str:
    topic = f"{prefix}/+/{TOPIC_SUFFIX}"
    return f"$share/{shared}/{topic}" if shared else topic


class Subscriber:
    """A persistent MQTT v5 session feeding a `Batcher` in its own thread."""

    def __init__(
        self,
        *,
        url: str,
        client_id: str,
        prefix: str = "frontline",
        shared: str | None = None,
        batch_size: int = 2000,
        batch_ms: int = 50,
        ingest: IngestFn | None = None,
        authenticate: AuthenticateFn | None = None,
        bulk_read: bool = True,
    ):
        if not client_id:
            raise ValueError("a persistent session needs a fixed client id")
        self.address = parse_url(url)
        self.client_id = client_id
        self.topic = subscription_topic(prefix, shared)
        self.inbox: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self.stats = Stats()
        self.batcher = Batcher(
            self.inbox,
            ack=self._ack,
            prefix=prefix,
            batch_size=batch_size,
            batch_ms=batch_ms,
            ingest=ingest,
            authenticate=authenticate,
            stats=self.stats,
        )
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self._disconnected = threading.Event()
        self._stop = threading.Event()
        self._generation = 0
        self._thread: threading.Thread | None = None
        self.bulk_read = bulk_read
        self.client = self._make_client()

    def _make_client(self) -> Any:
        import paho.mqtt.client as mqtt

        from frontline.monitoring.mqtt_wire import BulkReadClient, supports_bulk_read

        options = dict(client_id=self.client_id, protocol=mqtt.MQTTv5, manual_ack=True)
        if self.bulk_read and supports_bulk_read():
            client = BulkReadClient(
                mqtt.CallbackAPIVersion.VERSION2, on_publish=self._on_publish, **options
            )
        else:
            if self.bulk_read:
                log.warning("this paho-mqtt lacks what the bulk reader needs; reading as paho")
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, **options)
        client.max_inflight_messages_set(RECEIVE_MAXIMUM)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        if self.address.username:
            client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            client.tls_set()
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_disconnect = self._on_disconnect
        return client

    def _connect_properties(self) -> Any:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
        properties.ReceiveMaximum = RECEIVE_MAXIMUM
        return properties

    # -- paho callbacks (network thread) --

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("MQTT broker refused the connection: %s", reason_code)
            return
        self._generation += 1
        log.info(
            "connected to %s:%s as %s (session present: %s)",
            self.address.host,
            self.address.port,
            self.client_id,
            flags.session_present,
        )
        self.connected.set()
        client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        failed = [code for code in reason_codes if code.is_failure]
        if failed:
            log.error("subscription to %s refused: %s", self.topic, failed)
            return
        self.subscribed.set()

    def _on_message(self, client, userdata, msg) -> None:
        self.inbox.put(Message(msg.topic, msg.payload, msg.mid, msg.qos, self._generation))

    def _on_publish(self, topic: str, payload: bytes, mid: int, qos: int) -> None:
        # The bulk reader's telemetry; paho's on_message still gets what it leaves to paho.
        self.inbox.put(Message(topic, payload, mid, qos, self._generation))

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        self._disconnected.set()
        if not self._stop.is_set():
            log.warning("disconnected from the MQTT broker (%s), reconnecting", reason_code)

    def _ack(self, batch: list[Message]) -> None:
        # After a reconnect the broker resends what was unacknowledged with the same packet
        # ids; an ack for a message of the old connection could then acknowledge a *newer*
        # message that reuses the id. The redelivered copy is acked instead (as a duplicate).
        generation = self._generation
        mids = [m.mid for m in batch if m.qos == 1 and m.generation == generation]
        if not mids:
            return
        queue_packet = getattr(self.client, "_packet_queue", None)
        if queue_packet is None:
            for mid in mids:
                self.client.ack(mid, 1)
            return
        # client.ack() queues one PUBACK at a time, each waking paho's network thread
        # through its socket pair and costing it a send() of four bytes; a batch of 2,000
        # would take as many turns of the GIL. All PUBACKs of a batch go out as one write
        # instead (paho's own queue, so they stay in order with anything else it sends;
        # the public ack() remains the fallback). The short form (packet id only) means
        # "success" in MQTT v3.1.1 and v5 alike.
        packets = b"".join(_PUBACK.pack(0x40, 2, mid) for mid in mids)
        queue_packet(0x40, packets, 0, 0)

    # -- life cycle --

    def start(self, timeout: float = 10.0) -> None:
        self.client.connect_async(
            self.address.host,
            self.address.port,
            keepalive=30,
            clean_start=False,
            properties=self._connect_properties(),
        )
        self.client.loop_start()
        self._thread = threading.Thread(
            target=self.batcher.run, args=(self._stop,), name="mqtt-ingest", daemon=True
        )
        self._thread.start()
        if not self.subscribed.wait(timeout):
            log.warning("not subscribed after %.0f s; paho keeps retrying", timeout)

    def backlog(self) -> int:
        return self.inbox.qsize()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand (commit and ack), then leave the session to the broker:
        what was received but not committed is redelivered to the next process."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.connected.is_set():
            self._disconnected.clear()
            # DISCONNECT goes out after the acks already queued in paho's out queue.
            self.client.disconnect()
            self._disconnected.wait(timeout)
        self.client.loop_stop()
