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
