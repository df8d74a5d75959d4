"""How readings are stored: keyed by (device, metric, time), time as integer microseconds,
and the batch's alarms written together."""

import importlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontline.core.models import Notification
from frontline.monitoring.models import (
    Alarm,
    AlarmEvent,
    AlarmState,
    Device,
    LatestValue,
    Observation,
)
from frontline.monitoring.models.instants import from_micros, to_micros
from frontline.monitoring.queries import series_of
from frontline.monitoring.readings import Reading
from frontline.monitoring.services import alarms as alarm_services
from frontline.monitoring.services.devices import device_info
from frontline.monitoring.services.ingest import ingest_readings
from frontline.monitoring.services.rules import RAISE, rule_book
from frontline.monitoring.testing import make_device

pytestmark = pytest.mark.django_db

migration = importlib.import_module("frontline.monitoring.migrations.0004_readings_keyed_by_time")


def test_micros_are_exact_both_ways():
    for moment in (
        datetime(2026, 11, 28, 10, 0, 0, 1, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, 999_999, tzinfo=ZoneInfo("Asia/Shanghai")),
        datetime(1969, 7, 20, 20, 17, 40, tzinfo=UTC),
    ):
        assert from_micros(to_micros(moment)) == moment
    assert to_micros(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)) == 1_000_000


def test_the_tables_are_their_keys():
    if connection.vendor == "sqlite":
        for table in ("monitoring_observation", "monitoring_latestvalue"):
            with connection.cursor() as cursor:
                cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [table])
                (sql,) = cursor.fetchone()
            # A migration that rebuilt the table through Django would drop this.
            assert sql.rstrip().endswith("WITHOUT ROWID"), sql
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "monitoring_observation")
    keys = [c["columns"] for c in constraints.values() if c["primary_key"]]
    assert keys == [["device_id", "metric", "at"]]


def test_readings_come_back_as_they_went_in(world):
    make_device(world.village, code="ct", kind="cable_temperature")
    moment = timezone.now().replace(microsecond=123_456) - timedelta(minutes=5)
    ingest_readings(
        [
            Reading("ct", "cable_temperature", 41.5, moment),
            Reading("ct", "cable_temperature", 42.5, moment + timedelta(microseconds=1)),
        ],
        source="test",
    )
    assert list(Observation.objects.order_by("at").values_list("at", "value")) == [
        (moment, 41.5),
        (moment + timedelta(microseconds=1), 42.5),
    ]
    assert LatestValue.objects.get().at == moment + timedelta(microseconds=1)
    device = Device.objects.get(code="ct")
    (series,) = series_of(
        device, metric="cable_temperature", since=moment, until=moment + timedelta(seconds=1)
    )
    assert [value for _at, value in series["points"]] == [41.5, 42.5]
    assert Observation.objects.filter(at__gt=moment).count() == 1


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-11-28 10:00:00", datetime(2026, 11, 28, 10, tzinfo=UTC)),
        ("2026-11-28 10:00:00.000007", datetime(2026, 11, 28, 10, 0, 0, 7, tzinfo=UTC)),
        ("1999-12-31 23:59:59.999999", datetime(1999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
    ],
)
def test_the_migration_converts_stored_times_exactly(text, expected):
    """Migration 0004 turns the times Django stored before into microseconds, in SQL."""
    # Without parameters, as the migration runs it: the SQL keeps its own "%s".
    if connection.vendor == "sqlite":
        sql = f"SELECT {migration.SQLITE_MICROS} FROM (SELECT '{text}' AS at)"
    else:
        sql = f"SELECT {migration.POSTGRES_MICROS} FROM (SELECT '{text}+00'::timestamptz AS at) t"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        (micros,) = cursor.fetchone()
    assert micros == to_micros(expected)


# --- alarms of a batch -------------------------------------------------------------------------


def test_a_storm_costs_no_more_statements_for_twelve_alarms_than_for_four(world):
    codes = [f"rc{i}" for i in range(10)]
    for code in codes:
        make_device(world.village, code=code)
    moment = timezone.now() - timedelta(minutes=1)

    def storm(devices, offset):
        at = moment + timedelta(seconds=offset)
        return [Reading(code, "residual_current", 520, at) for code in devices]

    ingest_readings(storm(codes[:2], 0), source="test")  # rules and devices cached
    with CaptureQueriesContext(connection) as small:
        ingest_readings(storm(codes[2:4], 1), source="test")
    with CaptureQueriesContext(connection) as large:
        ingest_readings(storm(codes[4:], 2), source="test")
    # 520 mA raises the warning (300) and the alarm (500); "three times" needs more readings.
    raised = Alarm.objects.filter(state=AlarmState.ACTIVE).count()
    assert raised == 2 * len(codes)
    assert len(large) <= len(small), [q["sql"][:80] for q in large.captured_queries]
    assert Notification.objects.filter(kind="alarm_raised").count() >= raised


def test_an_alarm_raised_meanwhile_by_another_process_takes_the_repeat(world):
    """Two ingest processes see the same fire at once: the one that commits second finds
    the partial unique constraint and repeats the other's alarm instead of failing."""
    make_device(world.village, code="rc")
    info = device_info("rc")
    rule = next(r for r in rule_book().for_reading(info.id, info.kind, "residual_current")
                if r.alarm_type == "residual_current_alarm")  # fmt: skip
    now = timezone.now()
    signal = alarm_services.Signal(RAISE, rule, info, now, 520.0, None)
    alarm_services.apply_signals([signal], now=now, source="test")
    first = Alarm.objects.get()
    # The second process had not seen it: its batch raises a new one.
    batch = alarm_services._Batch("test")
    batch.raise_(alarm_services.Signal(RAISE, rule, info, now + timedelta(seconds=1), 530.0, None))
    batch.write()
    assert Alarm.objects.count() == 1
    first.refresh_from_db()
    assert first.count == 2 and first.value == 530.0
    assert AlarmEvent.objects.filter(alarm=first, kind="raised").count() == 1


def test_deleting_a_device_deletes_its_readings(world):
    """No foreign key in the database: Django's cascade does it."""
    device, _token = make_device(world.village, code="ct", kind="cable_temperature")
    make_device(world.village, code="other", kind="cable_temperature")
    moment = timezone.now() - timedelta(minutes=1)
    ingest_readings([Reading(code, "cable_temperature", 40, moment) for code in ("ct", "other")],
                    source="test")  # fmt: skip
    device.delete()
    assert list(Observation.objects.values_list("device__code", flat=True)) == ["other"]
    assert list(LatestValue.objects.values_list("device__code", flat=True)) == ["other"]


def test_a_batch_partly_stored_keeps_what_is_new(world):
    """On PostgreSQL the COPY meets the stored reading and the batch goes in again as an
    INSERT … ON CONFLICT; on SQLite that INSERT is the only way. Either way: the new
    readings are stored, the old one counted as a duplicate."""
    make_device(world.village, code="ct", kind="cable_temperature")
    moment = timezone.now() - timedelta(minutes=5)
    readings = [Reading("ct", "cable_temperature", 40 + i, moment + timedelta(seconds=i))
                for i in range(3)]  # fmt: skip
    ingest_readings(readings[1:2], source="test")
    result = ingest_readings(readings, source="test")
    assert (result.stored, result.duplicates) == (2, 1)
    assert sorted(Observation.objects.values_list("value", flat=True)) == [40, 41, 42]


def test_the_migration_moves_rule_states_to_the_latest_values(world):
    """Migration 0004 moves each former RuleState row to the latest value of its rule's
    metric, under the rule's id."""
    from frontline.monitoring.models import Rule

    make_device(world.village, code="ct", kind="cable_temperature")
    moment = timezone.now() - timedelta(minutes=1)
    ingest_readings([Reading("ct", "cable_temperature", 40, moment)], source="test")
    rule = Rule.objects.get(kind="cable_temperature", alarm_type="cable_anomaly", device=None)
    device = Device.objects.get(code="ct")
    sqlite = connection.vendor == "sqlite"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE monitoring_rulestate (rule_id bigint, device_id bigint, state "
            + ("text)" if sqlite else "jsonb)")
        )
        cursor.execute(
            "INSERT INTO monitoring_rulestate VALUES (%s, %s, %s)",
            [rule.pk, device.pk, '{"n": 3, "mean": 40.5}'],
        )
        cursor.execute(migration.SQLITE_STATES if sqlite else migration.POSTGRES_STATES)
        cursor.execute("DROP TABLE monitoring_rulestate")
    latest = LatestValue.objects.get(device=device, metric="cable_temperature")
    assert latest.rule_states == {str(rule.pk): {"n": 3, "mean": 40.5}}


def test_integer_times_read_at_once_as_parse_time_reads_them(world):
    """Validation reads whole epoch milliseconds and seconds itself (MQTT and HTTP send
    them); it must agree with `parse_time`, which reads every other form."""
    from frontline.monitoring.services.ingest import parse_time, validate

    make_device(world.village, code="ct", kind="cable_temperature")
    now = timezone.now()
    stamps = [
        int(now.timestamp() * 1000) - 1,  # milliseconds
        int(now.timestamp()) - 7,  # seconds
        int((now - timedelta(days=3)).timestamp() * 1000) + 999,
    ]
    readings = [Reading("ct", "cable_temperature", 40, stamp) for stamp in stamps]
    valid, errors, _repeats = validate(readings, now)
    assert errors == []
    assert [item.at for item in valid] == [parse_time(stamp, now) for stamp in stamps]
    assert [item.micros for item in valid] == [to_micros(item.at) for item in valid]
    # Out of the window, or too large to be a time: refused with the reason, not raised.
    far = [
        Reading("ct", "cable_temperature", 40, 10**30),
        Reading("ct", "cable_temperature", 40, 5),
    ]
    _valid, errors, _repeats = validate(far, now)
    assert [error.code for error in errors] == ["bad_time", "time_too_old"]
