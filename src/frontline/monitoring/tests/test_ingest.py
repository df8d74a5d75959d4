"""The ingest service: validation, exactly-once storage, latest values, device status."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from frontline.core.errors import InvalidInput
from frontline.monitoring.models import Device, DeviceStatus, LatestValue, Observation
from frontline.monitoring.readings import Reading
from frontline.monitoring.services.ingest import MAX_BATCH, ingest_readings, mark_seen
from frontline.monitoring.testing import make_device

pytestmark = pytest.mark.django_db


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_a_batch_is_stored_once_and_moves_the_latest_value(world):
    device, _token = make_device(world.village, code="rc-1")
    now = timezone.now()
    batch = [Reading("rc-1", "residual_current", 120 + i, ms(now - timedelta(seconds=10 - i)))
             for i in range(5)]  # fmt: skip
    result = ingest_readings(batch, source="test")
    assert (result.stored, result.duplicates, result.errors) == (5, 0, [])
    again = ingest_readings(batch + batch[:2], source="test")  # redelivered, and doubled
    assert (again.stored, again.duplicates) == (0, 7)
    assert Observation.objects.filter(device=device).count() == 5
    latest = LatestValue.objects.get(device=device, metric="residual_current")
    assert latest.value == 124
    # A late reading is stored but does not replace a newer latest value.
    late = ingest_readings([Reading("rc-1", "residual_current", 999, ms(now - timedelta(hours=1)))],
                           source="test")  # fmt: skip
    assert late.stored == 1
    latest.refresh_from_db()
    assert latest.value == 124
    device.refresh_from_db()
    assert device.status == DeviceStatus.ONLINE and device.last_seen_at is not None


def test_bad_readings_are_refused_one_by_one_and_good_ones_kept(world):
    make_device(world.village, code="rc-2")
    now = timezone.now()
    batch = [
        Reading("rc-2", "residual_current", 100, ms(now)),  # good
        Reading("rc-2", "residual_current", float("nan"), ms(now)),
        Reading("rc-2", "residual_current", float("inf"), ms(now)),
        Reading("rc-2", "residual_current", "120", ms(now)),
        Reading("nobody", "residual_current", 1, ms(now)),
        Reading("rc-2", "humidity", 50, ms(now)),
        Reading("rc-2", "residual_current", 1, ms(now + timedelta(hours=1))),
        Reading("rc-2", "residual_current", 1, ms(now - timedelta(days=400))),
        Reading("rc-2", "residual_current", 1, "yesterday"),
        Reading("rc-2", "residual_current", -5, ms(now)),
        Reading("rc-2", "residual_current", 101, (now - timedelta(seconds=1)).isoformat()),
    ]
    result = ingest_readings(batch, source="test")
    codes = {error.index: error.code for error in result.errors}
    assert codes == {
        1: "not_a_number",
        2: "not_a_number",
        3: "not_a_number",
        4: "unknown_device",
        5: "unknown_metric",
        6: "time_in_future",
        7: "time_too_old",
        8: "bad_time",
        9: "out_of_range",
    }
    assert all(error.message for error in result.errors)
    assert result.stored == 2
    assert sorted(Observation.objects.values_list("value", flat=True)) == [100, 101]


def test_oversized_batch_is_refused_whole(world):
    make_device(world.village, code="rc-3")
    with pytest.raises(InvalidInput):
        ingest_readings([Reading("rc-3", "residual_current", 1)] * (MAX_BATCH + 1), source="t")
    assert not Observation.objects.exists()


def test_a_token_limits_readings_to_its_device(world):
    make_device(world.village, code="rc-4")
    make_device(world.village, code="rc-5")
    result = ingest_readings(
        [Reading("rc-4", "residual_current", 1), Reading("rc-5", "residual_current", 1)],
        source="http",
        only_device="rc-4",
    )
    assert result.stored == 1 and result.errors[0].code == "wrong_device"


def test_times_in_every_accepted_shape(world):
    make_device(world.village, code="rc-6")
    moment = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    now = moment + timedelta(minutes=1)
    shapes = [ms(moment), moment.timestamp(), "2026-11-28T16:00:00+08:00", moment]
    result = ingest_readings(
        [Reading("rc-6", "residual_current", i, at) for i, at in enumerate(shapes)],
        source="t",
        now=now,
    )
    # Four spellings of one instant: one observation.
    assert (result.stored, result.duplicates) == (1, 3)
    assert Observation.objects.get().at == moment


def test_heartbeat_marks_devices_seen_and_fault_readings_set_the_status(world):
    device, _ = make_device(world.village, code="sm-1", kind="smoke")
    assert mark_seen(["sm-1", "unknown"]) == 1
    device.refresh_from_db()
    assert device.status == DeviceStatus.ONLINE
    ingest_readings([Reading("sm-1", "fault", 1)], source="t")
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.FAULT
    ingest_readings([Reading("sm-1", "fault", 0)], source="t")
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.ONLINE


def _device_writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith("UPDATE monitoring_device SET last")]


def test_a_device_seen_lately_costs_no_statement_until_half_a_minute_passes(
    world, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from frontline.monitoring.services.alarms import detect_offline

    device, _ = make_device(world.village, code="rc-seen")
    now = timezone.now()

    def reading(moment, value=100):
        return [Reading("rc-seen", "residual_current", value, moment)]

    with django_capture_on_commit_callbacks(execute=True):
        ingest_readings(reading(now), source="t", now=now)
    first_seen = Device.objects.get(pk=device.pk).last_seen_at
    assert first_seen == now
    with CaptureQueriesContext(connection) as queries:
        ingest_readings(
            reading(now + timedelta(seconds=20)), source="t", now=now + timedelta(seconds=20)
        )
    assert _device_writes(queries.captured_queries) == []
    # Half a minute later the time is written again.
    later = now + timedelta(seconds=31)
    with (
        django_capture_on_commit_callbacks(execute=True),
        CaptureQueriesContext(connection) as queries,
    ):
        ingest_readings(reading(later), source="t", now=later)
    assert len(_device_writes(queries.captured_queries)) == 1
    assert Device.objects.get(pk=device.pk).last_seen_at == later
    # Silent long enough to go offline: the next reading brings it back online at once.
    silent = later + timedelta(hours=2)
    detect_offline(silent)
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.OFFLINE
    back = silent + timedelta(seconds=5)
    ingest_readings(reading(back), source="t", now=back)
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.ONLINE


def test_a_rolled_back_batch_leaves_no_memory_of_the_device_seen(world):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    make_device(world.village, code="rc-undone")
    now = timezone.now()
    with pytest.raises(RuntimeError), transaction.atomic():
        ingest_readings([Reading("rc-undone", "residual_current", 1, now)], source="t", now=now)
        raise RuntimeError("the caller's transaction fails after ingest")
    with CaptureQueriesContext(connection) as queries:
        ingest_readings([Reading("rc-undone", "residual_current", 2, now)], source="t", now=now)
    assert len(_device_writes(queries.captured_queries)) == 1
