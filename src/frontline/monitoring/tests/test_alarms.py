"""Alarms through the ingest service: raise, repeat, clear; people's actions; offline."""

from datetime import timedelta

import pytest
from django.utils import timezone

from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.models import Channel, Notification, SupervisedTask
from frontline.core.testing import make_organization
from frontline.hazards.models import Hazard, HazardSource
from frontline.hazards.testing import make_enterprise
from frontline.monitoring.models import (
    Alarm,
    AlarmSeverity,
    AlarmState,
    Device,
    DeviceStatus,
    LatestValue,
    Rule,
)
from frontline.monitoring.readings import Reading
from frontline.monitoring.services import alarms as alarm_services
from frontline.monitoring.services.ingest import ingest_readings
from frontline.monitoring.services.rules import forget_rules
from frontline.monitoring.testing import make_device

pytestmark = pytest.mark.django_db


def feed(code, metric, values, start=None, step=timedelta(seconds=10)):
    start = start or timezone.now() - step * len(values)
    return ingest_readings(
        [Reading(code, metric, v, start + i * step) for i, v in enumerate(values)], source="test"
    )


def test_residual_current_warns_then_alarms_then_clears_with_hysteresis(world):
    make_device(world.village, code="rc")
    result = feed("rc", "residual_current", [100, 320, 330, 520, 510])
    # Warning (≥300), alarm (≥500) and "three times within an hour" (the third, 520).
    assert result.alarms_raised == 3 and result.alarms_repeated == 5
    assert Alarm.objects.get(alarm_type="residual_current_repeat").count == 2
    warning = Alarm.objects.get(alarm_type="residual_current_warning")
    alarm = Alarm.objects.get(alarm_type="residual_current_alarm")
    assert warning.severity == AlarmSeverity.MINOR and warning.count == 4
    assert alarm.severity == AlarmSeverity.MAJOR and alarm.count == 2 and alarm.value == 510
    assert alarm.region == world.village and alarm.state == AlarmState.ACTIVE
    assert [e.kind for e in alarm.events.all()] == ["raised"]
    # 450: under the alarm's 500 but above its clear threshold (400): nothing clears.
    assert feed("rc", "residual_current", [450]).alarms_cleared == 0
    cleared = feed("rc", "residual_current", [260, 240])
    assert cleared.alarms_cleared == 3
    assert not Alarm.objects.filter(state__in=["active", "acknowledged"]).exists()
    # Raised again later: a new alarm, the old one stays in the history.
    feed("rc", "residual_current", [600])
    assert Alarm.objects.filter(alarm_type="residual_current_alarm").count() == 2


def test_raise_notifies_the_station_and_grid_and_the_enterprise_officer(world):
    enterprise = make_enterprise(world.village, safety_officer_phone="13812345678")
    make_device(world.grid, code="occ", kind="occupancy", enterprise=enterprise,
                attributes={"occupancy_limit": 30})  # fmt: skip
    station = make_organization(world.township, name="柯岩街道应急管理站")
    feed("occ", "occupancy", [28, 31])
    alarm = Alarm.objects.get()
    assert (
        alarm.severity == AlarmSeverity.CRITICAL and alarm.message == "工房已超员，请人员迅速离开!"
    )
    assert alarm.enterprise == enterprise
    recipients = set(
        Notification.objects.filter(kind="alarm_raised", channel=Channel.IN_APP).values_list(
            "recipient__username", flat=True
        )
    )
    assert {"same", "gridworker"} <= recipients and "sibling" not in recipients
    sms = Notification.objects.filter(channel=Channel.SMS, address="13812345678").get()
    assert sms.subject == "工房已超员，请人员迅速离开!"
    task = SupervisedTask.objects.get()
    assert alarm.events.filter(kind="task_opened").exists()
    assert task.assignee_organization == station and Alarm.objects.get().supervised_task == task


def test_fire_alarm_stays_until_a_person_clears_it(world):
    make_device(world.village, code="ctrl", kind="fire_controller")
    feed("ctrl", "fire", [1, 0, 0])
    alarm = Alarm.objects.get(alarm_type="fire")
    assert alarm.state == AlarmState.ACTIVE  # the controller's reset does not clear it
    with pytest.raises(InvalidInput):
        alarm_services.clear_alarm(actor=world.same, alarm=alarm, note="")
    with pytest.raises(PermissionDenied):
        alarm_services.acknowledge_alarm(actor=world.sibling, alarm=alarm)
    alarm_services.acknowledge_alarm(actor=world.same, alarm=alarm, note="已派人")
    with pytest.raises(DomainError):
        alarm_services.acknowledge_alarm(actor=world.same, alarm=alarm)
    alarm_services.comment_alarm(actor=world.same, alarm=alarm, note="现场为误报，烟感受潮")
    alarm_services.clear_alarm(actor=world.same, alarm=alarm, note="误报，已更换探测器")
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.CLEARED and alarm.acknowledged_by == world.same
    assert [e.kind for e in alarm.events.all()] == [
        "raised", "no_station", "acknowledged", "commented", "cleared",
    ]  # fmt: skip
    # With no open alarm, the next fire reading raises a new one.
    feed("ctrl", "fire", [1])
    assert Alarm.objects.filter(state=AlarmState.ACTIVE, alarm_type="fire").count() == 1


def test_redelivered_and_late_readings_do_not_move_the_rules(world):
    make_device(world.village, code="rc-late")
    now = timezone.now()
    first = [Reading("rc-late", "residual_current", 320, now - timedelta(seconds=10))]
    assert ingest_readings(first, source="t").alarms_raised == 1
    # The same reading again (a redelivery after a crash) is not a second breach.
    assert ingest_readings(first, source="t").alarms_repeated == 0
    # An older reading, normal, arriving late, does not clear the alarm of a newer one.
    late = [Reading("rc-late", "residual_current", 100, now - timedelta(minutes=5))]
    assert ingest_readings(late, source="t").alarms_cleared == 0
    assert Alarm.objects.get(alarm_type="residual_current_warning").count == 1


def test_a_device_rule_overrides_the_default(world):
    device, _ = make_device(world.village, code="rc-o")
    Rule.objects.create(
        name="本设备剩余电流报警", kind=device.kind, device=device,
        alarm_type="residual_current_alarm", metric="residual_current", condition="threshold",
        threshold=200, severity=AlarmSeverity.CRITICAL,
    )  # fmt: skip
    forget_rules()
    feed("rc-o", "residual_current", [210])
    alarm = Alarm.objects.get(alarm_type="residual_current_alarm")
    assert alarm.severity == AlarmSeverity.CRITICAL


def test_rule_state_survives_a_restart(world):
    make_device(world.village, code="hp", kind="hydrant_pressure")
    start = timezone.now() - timedelta(minutes=10)
    feed("hp", "pressure", [0.05, 0.05, 0.05], start=start, step=timedelta(minutes=1))
    assert not Alarm.objects.exists()
    memory = LatestValue.objects.get(device__code="hp", metric="pressure").rule_states
    assert any("since" in state for state in memory.values()), memory
    forget_rules()  # a new process: nothing in memory, everything from the database
    feed("hp", "pressure", [0.05, 0.05, 0.05], start=start + timedelta(minutes=3),
         step=timedelta(minutes=1))  # fmt: skip
    assert Alarm.objects.get().alarm_type == "low_pressure"


def test_repeated_fault_becomes_a_hazard_once(world):
    make_device(world.village, code="sm", kind="smoke", location="3号楼2单元")
    feed("sm", "fault", [1, 0, 1, 0, 1])
    alarm = Alarm.objects.get(alarm_type="fault", state=AlarmState.ACTIVE)
    hazard = alarm_services.alarm_to_hazard(actor=world.same, alarm=alarm)
    assert hazard.source == HazardSource.SENSOR and hazard.region == world.village
    assert "设备告警" in hazard.title and "sm" in hazard.description
    with pytest.raises(DomainError):
        alarm_services.alarm_to_hazard(actor=world.same, alarm=alarm)
    assert Hazard.objects.count() == 1


def test_offline_sweep_raises_once_and_data_brings_the_device_back(world):
    device, _ = make_device(world.village, code="wl", kind="water_level",
                            offline_after_minutes=30)  # fmt: skip
    feed("wl", "water_level", [1.0])
    later = timezone.now() + timedelta(minutes=31)
    assert alarm_services.detect_offline(later) == {"offline": 1, "alarms": 1}
    assert alarm_services.detect_offline(later) == {"offline": 0, "alarms": 0}
    alarm = Alarm.objects.get(alarm_type="offline")
    assert "分钟无数据" in alarm.title
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.OFFLINE
    feed("wl", "water_level", [1.1])
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.CLEARED
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.ONLINE


def test_alarms_follow_the_scope(world):
    from frontline.core.testing import assert_queryset_matrix

    make_device(world.village, code="gas", kind="combustible_gas")
    feed("gas", "gas", [30])
    assert_queryset_matrix(Alarm.objects, Alarm.objects.get(), world)


def test_the_offline_sweep_runs_every_minute():
    import frontline.monitoring.tasks  # noqa: F401
    from frontline.core.worker import SWEEPS

    assert SWEEPS["detect_offline_devices"].minutes == 1


def test_open_alarms_are_counted_up_the_tree_and_by_owner(world):
    from frontline.monitoring.services.counts import open_alarm_counts

    enterprise = make_enterprise(world.village, name="印染一厂")
    make_device(world.grid, code="c1", kind="combustible_gas", enterprise=enterprise)
    make_device(world.village, code="c2", kind="combustible_gas")
    make_device(world.sibling_township, code="c3", kind="combustible_gas")
    for code in ("c1", "c2", "c3"):
        feed(code, "gas", [40])
    mine = open_alarm_counts(world.same)
    assert mine["total"] == 2 and mine["by_severity"] == {"critical": 2}
    assert mine["by_township"] == [{"code": world.township.code, "name": "柯岩街道", "count": 2}]
    assert mine["by_village"][0]["count"] == 2
    assert mine["by_enterprise"] == [{"id": enterprise.pk, "name": "印染一厂", "count": 1}]
    assert open_alarm_counts(world.parent)["total"] == 3
    assert open_alarm_counts(world.outsider)["total"] == 0
