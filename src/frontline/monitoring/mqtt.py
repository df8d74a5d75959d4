"""The MQTT door: telemetry from `<prefix>/<device code>/telemetry` into the ingest service.

Three pieces, each usable alone:

- `parse_message` turns a topic and a JSON payload into the device's token and `Reading`s;
- `Batcher` takes received messages from a queue, authenticates and ingests them a batch at
  a time, and acknowledges every message of a batch only after the batch is committed;
- `Subscriber` (frontline.monitoring.mqtt_subscriber) wires a paho-mqtt client (MQTT v5,
  QoS 1, persistent session, manual acknowledgement) to a `Batcher` in its own thread.

Why that stores every reading exactly once (redelivery of what was not acknowledged, plus an
ingest that stores a reading once per device, metric and time): docs/mqtt.md.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from frontline.monitoring.readings import IngestResult, Reading

log = logging.getLogger("frontline.monitoring.mqtt")

SOURCE = "mqtt"
TOPIC_SUFFIX = "telemetry"
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_READINGS_PER_MESSAGE = 1000
# The most readings one call of the ingest service accepts (its MAX_BATCH).
MAX_READINGS_PER_CALL = 20_000
# Rejections are logged one by one up to this many per stats interval, then only counted:
# one misconfigured device sending every second must not drown the log.
REJECTION_LOG_LIMIT = 20
COLLECT_POLL_SECONDS = 0.005

IngestFn = Callable[..., IngestResult]
AuthenticateFn = Callable[[str, str], bool]
AckFn = Callable[[list["Message"]], None]


class PayloadError(ValueError):
    """A message that no redelivery can fix: it is counted, logged and acknowledged."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------------------
# Parsing


def device_of(topic: str, prefix: str) -> str:
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != prefix or parts[2] != TOPIC_SUFFIX:
        raise PayloadError("bad_topic", f"topic {topic!r} is not {prefix}/<device>/telemetry")
    if not parts[1] or len(parts[1]) > 64:
        raise PayloadError("bad_topic", f"topic {topic!r} has no valid device code")
    return parts[1]


def _decode(payload: bytes) -> dict:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError("too_large", f"payload of {len(payload)} bytes")
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        raise PayloadError("not_json", "payload is not JSON") from None
    if not isinstance(body, dict):
        raise PayloadError("not_object", "payload is not a JSON object")
    return body


def _token_of(body: dict) -> str:
    token = body.get("token")
    if not isinstance(token, str) or not token:
        raise PayloadError("no_token", "payload has no token")
    return token


def _values_of(entry: dict) -> dict:
    values = entry.get("values")
    if not isinstance(values, dict) or not values:
        raise PayloadError("no_values", "values must be a non-empty object")
    return values


def _entries_of(body: dict) -> list[dict]:
    if "readings" not in body:
        return [body]
    entries = body["readings"]
    if not isinstance(entries, list) or not entries:
        raise PayloadError("no_readings", "readings must be a non-empty list")
    if len(entries) > MAX_READINGS_PER_MESSAGE:
        raise PayloadError("too_many", f"more than {MAX_READINGS_PER_MESSAGE} readings")
    if not all(isinstance(entry, dict) for entry in entries):
        raise PayloadError("bad_reading", "every reading must be an object")
    return entries


def parse_payload(device: str, payload: bytes) -> tuple[str, list[Reading]]:
    """The token and the readings of one message. Values and times are passed on as sent:
    the ingest service validates them, the same way for every door."""
    body = _decode(payload)
    token = _token_of(body)
    default_ts = body.get("ts")
    readings = []
    for entry in _entries_of(body):
        at = entry.get("ts", default_ts)
        for metric, value in _values_of(entry).items():
            readings.append(Reading(device=device, metric=metric, value=value, at=at))
    return token, readings


def parse_message(topic: str, payload: bytes, prefix: str) -> tuple[str, str, list[Reading]]:
    device = device_of(topic, prefix)
    token, readings = parse_payload(device, payload)
    return device, token, readings


# ---------------------------------------------------------------------------------------
# Batching


@dataclass(slots=True)
class Message:
    """What the network thread hands to the ingest thread."""

    topic: str
    payload: bytes
    mid: int = 0
    qos: int = 1
    # Which connection delivered it: an acknowledgement is only valid on that connection.
    generation: int = 0
    received: float = field(default_factory=time.monotonic)


@dataclass
class Stats:
    messages: int = 0  # acknowledged, whatever became of them
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0  # messages dropped before ingest (topic, JSON, token)
    reading_errors: int = 0  # readings the ingest service refused
    failed: int = 0  # messages the ingest service raised on, isolated and dropped
    alarms_raised: int = 0
    batches: int = 0
    reasons: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _last_messages: int = 0
    _last_time: float = field(default_factory=time.monotonic)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)

    def reject(self, reason: str) -> None:
        with self._lock:
            self.rejected += 1
            self.reasons[reason] += 1

    def line(self, backlog: int = 0) -> str:
        """The stats line, with messages per second since the previous line."""
        with self._lock:  # the ingest thread may be adding a rejection reason meanwhile
            now = time.monotonic()
            rate = (self.messages - self._last_messages) / max(now - self._last_time, 1e-9)
            self._last_messages, self._last_time = self.messages, now
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.reasons.items()))
            return (
                f"{rate:.0f} msg/s, messages {self.messages}, stored {self.stored}, "
                f"duplicates {self.duplicates}, rejected {self.rejected}"
                f"{f' ({reasons})' if reasons else ''}, reading errors {self.reading_errors}, "
                f"failed {self.failed}, alarms {self.alarms_raised}, batches {self.batches}, "
                f"backlog {backlog}"
            )


def _default_ingest(readings: list[Reading], *, source: str) -> IngestResult:
    from frontline.monitoring.services.ingest import ingest_readings

    return ingest_readings(readings, source=source)


def _default_authenticate(code: str, token: str) -> bool:
    from frontline.monitoring.services.devices import authenticate_device

    return authenticate_device(code, token)


def _is_transient(exc: Exception) -> bool:
    """A database that is down, locked or restarting: retrying the same batch will work."""
    from django.db import InterfaceError, OperationalError

    return isinstance(exc, OperationalError | InterfaceError)


class Batcher:
    """Collects messages from `inbox`, ingests each batch in one call, then acks it."""

    def __init__(
        self,
        inbox: queue.SimpleQueue,
        *,
        ack: AckFn,
        prefix: str = "frontline",
        batch_size: int = 2000,
        batch_ms: int = 50,
        ingest: IngestFn | None = None,
        authenticate: AuthenticateFn | None = None,
        stats: Stats | None = None,
        retry_seconds: float = 0.5,
        max_readings: int = MAX_READINGS_PER_CALL,
        own_connection: bool = True,
    ):
        self.inbox = inbox
        self.ack = ack
        self.prefix = prefix
        self.batch_size = batch_size
        self.batch_seconds = batch_ms / 1000
        self.ingest = ingest or _default_ingest
        self.authenticate = authenticate or _default_authenticate
        self.stats = stats or Stats()
        self.retry_seconds = retry_seconds
        self.max_readings = max_readings
        # The thread running `run` owns its Django connection; False leaves connections
        # alone (unit tests call `process` on the test's own thread).
        self.own_connection = own_connection
        self._logged_rejections = 0
        # Django closes a connection older than CONN_MAX_AGE only when asked; a long-lived
        # thread asks between batches, but not more than once a second (CONN_MAX_AGE=0
        # would otherwise mean a new connection for every 50 ms batch).
        self._connection_checked = 0.0

    # -- collecting --

    def collect(self, stop: threading.Event, idle_wait: float = 0.2) -> list[Message]:
        """Up to batch_size messages, or whatever arrived within batch_ms of the first."""
        try:
            first = self.inbox.get(timeout=idle_wait)
        except queue.Empty:
            return []
        # The window starts when the first message arrived: one that waited in the queue
        # while the previous batch was committed has waited long enough. The queue is
        # polled rather than read message by message, so the network thread is not
        # interrupted by this thread waking up for each message (both need the GIL).
        deadline = first.received + self.batch_seconds
        while self.inbox.qsize() < self.batch_size - 1 and not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            stop.wait(min(remaining, COLLECT_POLL_SECONDS))
        batch = [first]
        while len(batch) < self.batch_size:
            try:
                batch.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    # -- processing --

    def _note_rejection(self, message: Message, error: PayloadError) -> None:
        self.stats.reject(error.code)
        if self._logged_rejections < REJECTION_LOG_LIMIT:
            self._logged_rejections += 1
            log.warning("dropped message on %s: %s", message.topic, error)

    def _readings_of(self, batch: list[Message]) -> list[list[Reading]]:
        """The accepted readings of each message (none for a rejected one)."""
        known: dict[tuple[str, str], bool] = {}
        per_message: list[list[Reading]] = []
        for message in batch:
            try:
                device, token, readings = parse_message(message.topic, message.payload, self.prefix)
                key = (device, token)
                if key not in known:
                    known[key] = bool(self.authenticate(device, token))
                if not known[key]:
                    raise PayloadError("bad_token", f"device {device!r}: unknown or bad token")
            except PayloadError as error:
                self._note_rejection(message, error)
                readings = []
            per_message.append(readings)
        return per_message

    def _groups(self, batch: list[Message], per_message: list[list[Reading]]):
        """Messages with their readings, cut at message boundaries into calls of at most
        `max_readings` readings (the ingest service refuses larger batches)."""
        group: list[tuple[Message, list[Reading]]] = []
        size = 0
        for message, readings in zip(batch, per_message, strict=True):
            if not readings:
                continue
            if group and size + len(readings) > self.max_readings:
                yield group
                group, size = [], 0
            group.append((message, readings))
            size += len(readings)
        if group:
            yield group

    def _count(self, result: IngestResult) -> None:
        self.stats.add(
            stored=result.stored,
            duplicates=result.duplicates,
            reading_errors=len(result.errors),
            alarms_raised=result.alarms_raised,
        )
        for error in result.errors[:3]:
            log.warning("refused reading %s.%s: %s", error.device, error.metric, error.code)

    def _ingest_until_done(self, readings: list[Reading], stop: threading.Event) -> bool:
        """Ingest, retrying while the database is unavailable. False when stopping first;
        raises what is not transient."""
        delay = self.retry_seconds
        while True:
            try:
                self._count(self.ingest(readings, source=SOURCE))
                return True
            except Exception as exc:
                if not _is_transient(exc):
                    raise
                log.warning("ingest failed (%s), retrying in %.1f s", exc, delay)
                self._refresh_connection(force=True)
            if stop.wait(delay):
                return False
            delay = min(delay * 2, 10.0)

    def _ingest_one_by_one(self, group, stop: threading.Event) -> bool:
        # A batch the service raised on for a reason other than the database: find the
        # message(s) that cause it so the rest is stored and the pipeline is not blocked
        # by one poisonous message redelivered forever.
        for message, readings in group:
            try:
                if not self._ingest_until_done(readings, stop):
                    return False
            except Exception:
                log.exception("ingest raised on message from %s, dropped", message.topic)
                self._refresh_connection(force=True)
                self.stats.add(failed=1)
        return True

    def _ingest_group(self, group, stop: threading.Event) -> bool:
        readings = [reading for _message, message_readings in group for reading in message_readings]
        try:
            return self._ingest_until_done(readings, stop)
        except Exception:
            log.exception("ingest raised on a batch of %d messages", len(group))
            self._refresh_connection(force=True)
            return self._ingest_one_by_one(group, stop)

    def process(self, batch: list[Message], stop: threading.Event | None = None) -> bool:
        """Ingest one batch and ack it. False when stopped before the batch was committed:
        then nothing is acked and the broker redelivers it to the next session."""
        stop = stop or threading.Event()
        self._check_connection()
        per_message = self._readings_of(batch)
        for group in self._groups(batch, per_message):
            if not self._ingest_group(group, stop):
                return False
        self.ack(batch)
        self.stats.add(messages=len(batch), batches=1)
        return True

    def _check_connection(self) -> None:
        now = time.monotonic()
        if now - self._connection_checked >= 1.0:
            self._connection_checked = now
            self._refresh_connection()

    def _refresh_connection(self, force: bool = False) -> None:
        """Drop the connection after an error (force), or when CONN_MAX_AGE says so."""
        from django.db import close_old_connections, connection

        if self.own_connection:
            if force:
                connection.close()
            close_old_connections()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            batch = self.collect(stop)
            if batch and not self._process_until_done(batch, stop):
                break
        self._refresh_connection(force=True)

    def _process_until_done(self, batch: list[Message], stop: threading.Event) -> bool:
        # What fails outside the ingest call (authentication reading the device table while
        # the database restarts, a bug) must not end this thread: paho would go on receiving
        # and nothing would ever be acknowledged again. The batch is kept and retried.
        while not stop.is_set():
            try:
                return self.process(batch, stop)
            except Exception:
                log.exception("a batch of %d messages failed, retrying", len(batch))
                self._refresh_connection(force=True)
                stop.wait(self.retry_seconds)
        return False

    def reset_log_budget(self) -> None:
        self._logged_rejections = 0
