"""The one ingest service every door calls: HTTP, MQTT, the GB/T 26875.3 gateway, video.

For a batch at a time, in one transaction: validate each reading (a bad one is reported by
its position and refused; the good ones in the same batch are kept), store observations once
per (device, metric, time), move the latest values forward, mark the devices seen, run the
rules in time order and raise, repeat or clear alarms. Notifications are queued in the same
transaction and delivered after commit.

Hot path: readings go into the database as multi-row INSERTs with ON CONFLICT (no model
instances), and rule state is read and written once per batch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.core.errors import InvalidInput
from frontline.monitoring.kinds import metric_of
from frontline.monitoring.models import Device, DeviceStatus
from frontline.monitoring.models.instants import from_micros, to_micros
from frontline.monitoring.readings import IngestResult, Reading, ReadingError
from frontline.monitoring.services import alarms
from frontline.monitoring.services.devices import (
    DeviceInfo,
    devices_by_code,
    not_seen_lately,
    remember_seen,
)
from frontline.monitoring.services.rules import evaluate, quiet, rule_book

MAX_BATCH = 20_000
_SEEN_RESOLUTION = timedelta(seconds=30)


class Valid:
    """A reading that passed validation. `micros` is its time as stored (microseconds since
    the epoch); `at`, the same as an aware datetime, is made only where it is read (rules that
    fire, fault readings): most readings arrive as epoch milliseconds and never need it."""

    __slots__ = ("_at", "detail", "device", "metric", "micros", "value")

    def __init__(self, device, metric, at, value, detail, micros=0):
        self.device: DeviceInfo = device
        self.metric: str = metric
        self._at: datetime | None = at
        self.value: float = value
        self.detail: dict | None = detail
        self.micros: int = micros

    @property
    def at(self) -> datetime:
        if self._at is None:
            self._at = from_micros(self.micros)
        return self._at


def _max_age() -> timedelta:
    return timedelta(days=getattr(settings, "MONITORING_MAX_AGE_DAYS", 30))


def _max_skew() -> timedelta:
    return timedelta(seconds=getattr(settings, "MONITORING_MAX_SKEW_SECONDS", 300))


def parse_time(raw, now: datetime) -> datetime | None:
    """An aware datetime from what a door received; None when it cannot be read.

    Numbers are epoch seconds, or milliseconds when they are that large (ThingsBoard and
    most gateways send milliseconds). A time without zone is China time."""
    if raw is None:
        return now
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, bool):
        return None
    elif isinstance(raw, int | float):
        if not math.isfinite(raw):
            return None
        seconds = raw / 1000 if abs(raw) >= 100_000_000_000 else raw
        try:
            value = datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(raw, str):
        try:
            value = datetime.fromisoformat(raw.strip())
        except ValueError:
            return None
    else:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return value


def _number(raw) -> float | None:
    if isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, int | float) and math.isfinite(raw):
        return float(raw)
    return None


def validate(
    readings: Sequence[Reading], now: datetime, only_device: str | None = None
) -> tuple[list[Valid], list[ReadingError], int]:
    """The valid readings (each (device, metric, time) once), the refused ones with their
    reasons, and how many valid readings repeated one earlier in the batch.

    The loop takes the common case (a known device, a number in range, an aware datetime or
    whole epoch milliseconds or seconds) with a few dictionary lookups and integer
    comparisons: it runs for every reading. Anything else goes through `_check`, which says
    exactly what is wrong."""
    devices = devices_by_code().get
    window = (now - _max_age(), now + _max_skew())
    oldest, newest = to_micros(window[0]), to_micros(window[1])
    limits_of: dict[tuple[str, str], tuple[float, float] | None] = {}
    limits_get = limits_of.get
    valid: list[Valid] = []
    errors: list[ReadingError] = []
    seen: set[tuple[int, str, int]] = set()
    remember = seen.add
    repeats = 0
    for index, reading in enumerate(readings):
        item = None
        device, metric, value, at = (
            devices(reading.device), reading.metric, reading.value, reading.at)  # fmt: skip
        kind = type(value)
        if (
            device is not None
            and (kind is float or kind is int)
            and device.is_active
            and (only_device is None or reading.device == only_device)
        ):
            key = (device.kind, metric)
            limits = limits_get(key, False)
            if limits is False:
                spec = metric_of(*key)
                limits = limits_of[key] = (spec.low, spec.high) if spec else None
            # The common times, read as `parse_time` reads them: whole epoch milliseconds
            # or seconds (what MQTT and HTTP send), or an aware datetime.
            kind = type(at)
            if kind is int:
                micros = at * 1000 if abs(at) >= 100_000_000_000 else at * 1_000_000
                at = None
            elif kind is datetime and at.tzinfo is not None:
                micros = to_micros(at)
            else:
                micros = None
            if (
                micros is not None
                and limits
                and limits[0] <= value <= limits[1]
                and oldest <= micros <= newest
            ):
                item = Valid(device, metric, at, float(value), reading.detail, micros)
        if item is None:
            item = _check(index, reading, devices_by_code(), only_device, now, window)
            if isinstance(item, ReadingError):
                errors.append(item)
                continue
            item.micros = to_micros(item.at)
        before = len(seen)
        remember((item.device.id, item.metric, item.micros))
        if len(seen) == before:
            repeats += 1
            continue
        valid.append(item)
    return valid, errors, repeats


def _check(index, reading, devices, only_device, now, window) -> Valid | ReadingError:
    code, metric = str(reading.device or ""), str(reading.metric or "")

    def refuse(error_code: str, message) -> ReadingError:
        return ReadingError(index, error_code, str(message), code, metric)

    device = devices.get(code)
    if device is None or not device.is_active:
        return refuse("unknown_device", _("未登记或已停用的设备：%(code)s") % {"code": code})
    if only_device is not None and code != only_device:
        return refuse("wrong_device", _("令牌只能上报本设备的数据"))
    spec = metric_of(device.kind, metric)
    if spec is None:
        return refuse("unknown_metric", _("该类设备没有指标“%(metric)s”") % {"metric": metric})
    value = _number(reading.value)
    if value is None:
        return refuse("not_a_number", _("数值应为有限的数字"))
    if not spec.low <= value <= spec.high:
        return refuse(
            "out_of_range",
            _("数值 %(value)s 超出量程 %(low)s～%(high)s")
            % {"value": f"{value:g}", "low": f"{spec.low:g}", "high": f"{spec.high:g}"},
        )
    at = parse_time(reading.at, now)
    if at is None:
        return refuse("bad_time", _("时间格式不正确，应为毫秒时间戳或 ISO 8601"))
    if at > window[1]:
        return refuse("time_in_future", _("时间晚于当前时间，请校准设备时钟"))
    if at < window[0]:
        return refuse(
            "time_too_old", _("时间早于 %(days)d 天前，不再接收") % {"days": _max_age().days}
        )
    return Valid(device, metric, at, value, reading.detail)


def ingest_readings(
    readings: Sequence[Reading],
    *,
    source: str,
    now: datetime | None = None,
    only_device: str | None = None,
) -> IngestResult:
    """Validate, store and evaluate a batch. `only_device`: the door authenticated one
    device (the HTTP token) and readings of any other device are refused."""
    if len(readings) > MAX_BATCH:
        raise InvalidInput(
            _("一批最多 %(n)d 条读数") % {"n": MAX_BATCH}, details={"readings": len(readings)}
        )
    now = now or timezone.now()
    valid, errors, repeats = validate(readings, now, only_device)
    result = IngestResult(errors=errors)
    if not valid:
        return result
    with transaction.atomic():
        result.stored = _store_observations(valid)
        result.duplicates = len(valid) + repeats - result.stored
        latest = _latest_of(valid)
        _mark_seen_and_faults(valid, now)
        # Rules read each reading once and in order: only what is newer than the latest
        # value before this batch (a redelivered or late reading changes nothing).
        fresh = [v for v in valid if v.micros > latest.get((v.device.id, v.metric), _NEVER)[0]]
        signals, memory = _run_rules(fresh, latest)
        _move_latest(valid, latest, memory)
        counts = alarms.apply_signals(signals, now=now, source=source)
    result.alarms_raised = counts["raised"]
    result.alarms_repeated = counts["repeated"]
    result.alarms_cleared = counts["cleared"]
    return result


def _write_rows(table: str, columns: tuple[str, ...], pg_types: tuple[str, ...], rows, tail: str):
    """INSERT … ON CONFLICT of many rows at once; returns the rows written.

    SQLite prepares one statement and steps it per row; PostgreSQL gets one statement over
    arrays (`unnest`), so neither parses thousands of placeholders per batch."""
    if not rows:
        return 0
    names = ", ".join(columns)
    if connection.vendor == "postgresql":
        return _write_arrays(table, names, pg_types, rows, tail)
    marks = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}) {tail}", rows)
        return cursor.rowcount


def _write_arrays(table: str, names: str, pg_types: tuple[str, ...], rows, tail: str) -> int:
    """PostgreSQL: the columns as arrays through a server-side bound cursor. Django's own
    cursor binds on the client, quoting every array element into the SQL text."""
    import psycopg

    connection.ensure_connection()
    # %b: the arrays travel in binary, which spares the server parsing thousands of numbers.
    arrays = ", ".join(f"%b::{kind}[]" for kind in pg_types)
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) {tail}",
            [list(column) for column in zip(*rows, strict=True)],
        )
        return cursor.rowcount


_READING_COLUMNS = ("device_id", "metric", "at", "value")
_READING_TYPES = ("bigint", "text", "bigint", "float8")


def _store_observations(valid: list[Valid]) -> int:
    rows = [(v.device.id, v.metric, v.micros, v.value) for v in valid]
    if connection.vendor == "postgresql":
        copied = _copy_new_observations(rows)
        if copied is not None:
            return copied
    return _write_rows(
        "monitoring_observation",
        _READING_COLUMNS,
        _READING_TYPES,
        rows,
        "ON CONFLICT (device_id, metric, at) DO NOTHING",
    )


def _copy_new_observations(rows: list[tuple]) -> int | None:
    """PostgreSQL: COPY the rows, three times faster than any INSERT, when none of them is
    stored yet, which is every batch but a redelivered one. A reading already there stops
    the COPY at the key; the savepoint undoes it and None sends the batch to the
    INSERT … ON CONFLICT, which skips what is stored."""
    import psycopg

    connection.ensure_connection()
    try:
        with transaction.atomic(), psycopg.Cursor(connection.connection) as cursor:
            columns = ", ".join(_READING_COLUMNS)
            with cursor.copy(
                f"COPY monitoring_observation ({columns}) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["int8", "text", "int8", "float8"])
                for row in rows:
                    copy.write_row(row)
    except psycopg.errors.UniqueViolation:
        return None
    return len(rows)


def _in(column: str, values) -> tuple[str, list]:
    """`column IN (…)` for a raw query over thousands of ids: Django's ORM spends
    milliseconds preparing such a lookup, once per batch on the hot path."""
    values = list(values)
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    return f"{column} IN ({','.join(['%s'] * len(values))})", values


_NEVER = (-1, None)


def _latest_of(valid: list[Valid]) -> dict[tuple[int, str], tuple[int, str]]:
    """For each (device, metric) of the batch already known: the latest time (microseconds)
    and what its rules remember (JSON text, decoded only where rules run)."""
    devices, device_params = _in("device_id", {v.device.id for v in valid})
    metrics, metric_params = _in("metric", {v.metric for v in valid})
    states = "rule_states::text" if connection.vendor == "postgresql" else "rule_states"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT device_id, metric, at, {states} FROM monitoring_latestvalue "
            f"WHERE {devices} AND {metrics}",
            device_params + metric_params,
        )
        rows = cursor.fetchall()
    return {(device, metric): (at, memory) for device, metric, at, memory in rows}


_LATEST_COLUMNS = (*_READING_COLUMNS, "rule_states")
_LATEST_TYPES = (*_READING_TYPES, "jsonb")


def _move_latest(valid: list[Valid], latest: dict, memory: dict[tuple[int, str], str]) -> None:
    """The newest reading of each (device, metric), with what its rules now remember."""
    newest: dict[tuple[int, str], Valid] = {}
    for item in valid:
        key = (item.device.id, item.metric)
        if key not in newest or item.micros > newest[key].micros:
            newest[key] = item
    rows = []
    for key, v in newest.items():
        remembered = memory.get(key) or latest.get(key, _NEVER)[1] or "{}"
        rows.append((v.device.id, v.metric, v.micros, v.value, remembered))
    # Only forward: a late reading never replaces a newer latest value. The rules' memory
    # changes only with readings newer than the latest, so it moves with it.
    _write_rows(
        "monitoring_latestvalue",
        _LATEST_COLUMNS,
        _LATEST_TYPES,
        rows,
        "ON CONFLICT (device_id, metric) DO UPDATE SET at = excluded.at, value = excluded.value, "
        "rule_states = excluded.rule_states WHERE excluded.at > monitoring_latestvalue.at",
    )


def _mark_seen_and_faults(valid: list[Valid], now: datetime) -> None:
    device_ids = {item.device.id for item in valid}
    fault: dict[int, tuple[datetime, bool]] = {}
    for item in valid:
        if item.metric == "fault":
            known = fault.get(item.device.id)
            if known is None or item.at > known[0]:
                fault[item.device.id] = (item.at, item.value >= 1)
    mark_seen_ids(device_ids, now, faulty={pk for pk, (_at, on) in fault.items() if on},
                  repaired={pk for pk, (_at, on) in fault.items() if not on})  # fmt: skip


def mark_seen_ids(
    device_ids: set[int],
    now: datetime,
    *,
    faulty: set[int] = frozenset(),
    repaired: set[int] = frozenset(),
) -> None:
    """Devices heard from now: online (or in fault while they report one). A device back
    from offline clears its offline alarm."""
    # Last seen to within half a minute is enough for the offline sweep, and spares a
    # write per device per batch when readings stream in.
    device_ids = not_seen_lately(device_ids, now - _SEEN_RESOLUTION, faulty | repaired)
    if not device_ids:
        return
    adapt = connection.ops.adapt_datetimefield_value
    ids, id_params = _in("id", device_ids)
    watched, watched_params = _in("id", (faulty | repaired) or [0])
    stale, moment = adapt(now - _SEEN_RESOLUTION), adapt(now)
    online = DeviceStatus.ONLINE.value
    # One statement: refresh who is stale, and return who may change status (not online,
    # or reporting a fault or its repair) along with them.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE monitoring_device SET last_seen_at = CASE WHEN last_seen_at IS NULL "
            "OR last_seen_at < %s THEN %s ELSE last_seen_at END "
            f"WHERE {ids} AND (last_seen_at IS NULL OR last_seen_at < %s OR status <> %s "
            f"OR {watched}) RETURNING id, status, last_seen_at = %s",
            [stale, moment, *id_params, stale, online, *watched_params, moment],
        )
        changes = cursor.fetchall()
    back_online = []
    moves: dict[str, list[int]] = {}
    refreshed = []
    for pk, status, seen_now in changes:
        wanted = status
        if pk in faulty:
            wanted = DeviceStatus.FAULT
        elif pk in repaired or status == DeviceStatus.OFFLINE:
            wanted = DeviceStatus.ONLINE
        if wanted != status:
            moves.setdefault(wanted, []).append(pk)
            if status == DeviceStatus.OFFLINE:
                back_online.append(pk)
        if wanted == DeviceStatus.ONLINE and seen_now:
            refreshed.append(pk)
    remember_seen(refreshed, now)
    for wanted, pks in moves.items():
        Device.objects.filter(pk__in=pks).update(status=wanted, status_changed_at=now)
    if back_online:
        alarms.clear_offline(back_online, now)


def mark_seen(device_codes: Iterable[str], at: datetime | None = None) -> int:
    """A heartbeat: the devices are alive, with no reading to store. Returns how many of
    the codes are registered active devices."""
    now = at or timezone.now()
    devices = devices_by_code()
    ids = {devices[c].id for c in device_codes if c in devices and devices[c].is_active}
    if ids:
        with transaction.atomic():
            mark_seen_ids(ids, now)
    return len(ids)


def _run_rules(
    valid: list[Valid], latest: dict
) -> tuple[list[alarms.Signal], dict[tuple[int, str], str]]:
    """Each (device, metric)'s readings through its rules, in time order. A rule's state
    belongs to one device, so the series of different devices do not wait for each other;
    the signals come back in time order for the alarms. Also returns, as JSON, what the
    rules of each series remember now, where that changed."""
    book = rule_book()
    series: dict[tuple[int, str], list[Valid]] = {}
    for item in sorted(valid, key=_micros):
        key = (item.device.id, item.metric)
        if key in series:
            series[key].append(item)
        else:
            series[key] = [item]
    signals: list[alarms.Signal] = []
    memory: dict[tuple[int, str], str] = {}
    for key, items in series.items():
        device = items[0].device
        rules = book.for_reading(device.id, device.kind, key[1])
        if not rules:
            continue
        raw = latest.get(key, _NEVER)[1]
        before = orjson.loads(raw) if raw and raw != "{}" else {}
        after = {}
        for rule in rules:
            # The rules replace what they remember (lists included) rather than change it
            # in place, so the copy taken here still holds the state before the batch.
            state = dict(before.get(str(rule.id)) or {})
            for item in items:
                if quiet(rule, state, item.value, device.attributes):
                    continue
                outcome = evaluate(rule, state, item.micros / 1e6, item.value, device.attributes)
                if outcome is not None:
                    signals.append(alarms.Signal(outcome, rule, device, item.at, item.value,
                                                 item.detail))  # fmt: skip
            if state:
                after[str(rule.id)] = state
        # Only the rules that apply now are kept: a deleted or replaced rule's memory goes.
        if after != before:
            memory[key] = orjson.dumps(after).decode()
    signals.sort(key=_signal_time)
    return signals, memory


def _micros(item: Valid) -> int:
    return item.micros


def _signal_time(signal: alarms.Signal) -> datetime:
    return signal.at
