"""Alarms: raised, repeated and cleared by the rules; acknowledged, cleared, commented on and
turned into hazards by people.

One open alarm per (device, alarm type): a partial unique constraint holds it even when two
ingest processes raise the same alarm at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.core.errors import DomainError
from frontline.core.models import Channel, RoleAssignment
from frontline.core.roles import Capability, Role
from frontline.core.services.notifications import Outbox
from frontline.core.services.people import nearest_station
from frontline.core.services.supervision import assign_task
from frontline.core.services.validation import Cleaner, require
from frontline.monitoring.kinds import metric_of
from frontline.monitoring.models import (
    OPEN_ALARM_STATES,
    SEVERITY_RANK,
    Alarm,
    AlarmEvent,
    AlarmSeverity,
    AlarmState,
    Condition,
    Device,
    DeviceStatus,
)
from frontline.monitoring.services.devices import DeviceInfo
from frontline.monitoring.services.rules import CLEAR, RAISE, RuleSpec

# Fire alarms and critical alarms are chased as supervised tasks: someone must report on
# site. The window is short on purpose ("1 minute to respond, 3 to arrive, 5 to act").
TASK_ALARM_TYPES = {"fire", "smoke", "heat"}
TASK_MINUTES = 30


@dataclass(slots=True)
class Signal:
    outcome: str  # RAISE or CLEAR
    rule: RuleSpec
    device: DeviceInfo
    at: datetime
    value: float
    detail: dict | None


def apply_signals(signals: list[Signal], *, now: datetime, source: str) -> dict[str, int]:
    """Apply the rules' verdicts of one batch in time order. Runs inside ingest's
    transaction.

    The verdicts are first played on alarm objects in memory; then the batch is written at
    once: new alarms in one INSERT, changed ones in one UPDATE, their events in one INSERT,
    their notifications in one more. An alarm storm costs a handful of statements instead of
    a handful per alarm."""
    counts = {"raised": 0, "repeated": 0, "cleared": 0}
    if not signals:
        return counts
    keys = {(s.device.id, s.rule.alarm_type) for s in signals}
    open_alarms = {
        (alarm.device_id, alarm.alarm_type): alarm
        for alarm in Alarm.objects.filter(
            device_id__in={device for device, _type in keys}, state__in=OPEN_ALARM_STATES
        )
        if (alarm.device_id, alarm.alarm_type) in keys
    }
    batch = _Batch(source)
    for signal in signals:
        key = (signal.device.id, signal.rule.alarm_type)
        alarm = open_alarms.get(key)
        if signal.outcome == RAISE:
            if alarm is None:
                open_alarms[key] = batch.raise_(signal)
                counts["raised"] += 1
            else:
                _repeat(alarm, signal)
                batch.changed(alarm)
                counts["repeated"] += 1
        elif signal.outcome == CLEAR and alarm is not None and signal.rule.auto_clear:
            note = _("已恢复正常（%(value)s）") % {"value": _fmt(signal)}
            batch.clear(alarm, signal.at, note)
            del open_alarms[key]
            counts["cleared"] += 1
    batch.write()
    return counts


class _Batch:
    """The alarms one ingest batch raised, repeated and cleared, written together."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.raised: list[tuple[Alarm, Signal]] = []
        self.updated: dict[int, Alarm] = {}
        self.events: list[AlarmEvent] = []

    def raise_(self, signal: Signal) -> Alarm:
        alarm = Alarm(
            device_id=signal.device.id,
            alarm_type=signal.rule.alarm_type,
            rule_id=signal.rule.id,
            severity=signal.rule.severity,
            message=signal.rule.message,
            value=signal.value,
            detail=signal.detail or {},
            first_at=signal.at,
            last_at=signal.at,
        )
        self.raised.append((alarm, signal))
        self.events.append(_event_row(alarm, None, "raised", to_state=AlarmState.ACTIVE,
                                      source=self.source))  # fmt: skip
        return alarm

    def changed(self, alarm: Alarm) -> None:
        if alarm.pk is not None:
            self.updated[alarm.pk] = alarm

    def clear(self, alarm: Alarm, at: datetime, note: str) -> None:
        from_state = alarm.state
        alarm.state = AlarmState.CLEARED
        alarm.cleared_at = at
        self.changed(alarm)
        self.events.append(_event_row(alarm, None, "cleared", from_state=from_state,
                                      to_state=alarm.state, note=note))  # fmt: skip

    def write(self) -> None:
        raised = self._insert_raised()
        _update_alarms(self.updated.values())
        AlarmEvent.objects.bulk_create(
            [event for event in self.events if event.alarm.pk is not None]
        )
        if raised:
            _announce_all(raised)

    def _insert_raised(self) -> list[tuple[Alarm, Device]]:
        """The new alarms with their devices. Another process may have raised the same
        alarm a moment ago (the partial unique constraint says so): then that one takes
        this one's readings as repeats."""
        if not self.raised:
            return []
        devices = Device.objects.select_related("region", "enterprise", "place").in_bulk(
            {alarm.device_id for alarm, _signal in self.raised}
        )
        for alarm, signal in self.raised:
            device = devices[alarm.device_id]
            alarm.title = _title(signal, device.name)[:200]
            alarm.region, alarm.enterprise, alarm.place = (
                device.region, device.enterprise, device.place)  # fmt: skip
        for event in self.events:
            if event.kind == "raised" and not event.note:
                event.note = event.alarm.title
        alarms = [alarm for alarm, _signal in self.raised]
        try:
            with transaction.atomic():
                Alarm.objects.bulk_create(alarms)
        except IntegrityError:
            alarms = [alarm for alarm in alarms if self._insert_one(alarm)]
        return [(alarm, devices[alarm.device_id]) for alarm in alarms]

    def _insert_one(self, alarm: Alarm) -> bool:
        alarm.pk = None
        try:
            with transaction.atomic():
                alarm.save()
            return True
        except IntegrityError:
            existing = Alarm.objects.get(
                device_id=alarm.device_id, alarm_type=alarm.alarm_type,
                state__in=OPEN_ALARM_STATES,
            )  # fmt: skip
            existing.count += alarm.count
            existing.last_at = max(existing.last_at, alarm.last_at)
            existing.value = alarm.value
            if SEVERITY_RANK[alarm.severity] > SEVERITY_RANK[existing.severity]:
                existing.severity = alarm.severity
            self.changed(existing)
            alarm.pk = None  # its events are dropped: they belong to an alarm not written
            return False


_ALARM_CHANGES = ("count", "last_at", "value", "severity", "state", "cleared_at")


def _update_alarms(alarms) -> None:
    """One UPDATE statement for every changed alarm (Django's bulk_update builds a CASE
    expression per field and row, which costs more than the ingest of the readings)."""
    alarms = list(alarms)
    if not alarms:
        return
    fields = [Alarm._meta.get_field(name) for name in _ALARM_CHANGES]
    rows = [
        [field.get_db_prep_save(getattr(alarm, field.attname), connection) for field in fields]
        + [alarm.pk]
        for alarm in alarms
    ]
    sets = ", ".join(f"{field.column} = %s" for field in fields)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {Alarm._meta.db_table} SET {sets} WHERE id = %s", rows)


def _fmt(signal: Signal) -> str:
    metric = metric_of(signal.device.kind, signal.rule.metric)
    unit = metric.unit if metric else ""
    return f"{signal.value:g}{unit}"


def _title(signal: Signal, device_name: str) -> str:
    if signal.rule.condition == "video":
        return _("%(device)s：%(rule)s") % {"device": device_name, "rule": signal.rule.name}
    if signal.rule.condition == Condition.OFFLINE:
        return _("%(device)s：%(rule)s（%(minutes)d 分钟无数据）") % {
            "device": device_name,
            "rule": signal.rule.name,
            "minutes": signal.value,
        }
    metric = metric_of(signal.device.kind, signal.rule.metric)
    if metric is not None and metric.boolean:
        # 火警, 烟雾报警: the name says it all; "（1）" would only puzzle.
        return _("%(device)s：%(rule)s") % {"device": device_name, "rule": signal.rule.name}
    return _("%(device)s：%(rule)s（%(value)s）") % {
        "device": device_name,
        "rule": signal.rule.name,
        "value": _fmt(signal),
    }


def _repeat(alarm: Alarm, signal: Signal) -> None:
    alarm.count += 1
    alarm.last_at = max(alarm.last_at, signal.at)
    alarm.value = signal.value
    if SEVERITY_RANK[signal.rule.severity] > SEVERITY_RANK[alarm.severity]:
        alarm.severity = signal.rule.severity


def _event_row(alarm: Alarm, actor, kind: str, *, from_state="", to_state="", note="", **data):
    return AlarmEvent(
        alarm=alarm,
        actor=actor if getattr(actor, "pk", None) else None,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        note=note,
        data=data,
    )


def _event(alarm: Alarm, actor, kind: str, **fields) -> AlarmEvent:
    event = _event_row(alarm, actor, kind, **fields)
    event.save()
    return event


def link(alarm: Alarm) -> str:
    try:
        return reverse("alarm_detail", args=[alarm.pk])
    except NoReverseMatch:
        return ""


# --- who hears of an alarm -------------------------------------------------------------------


STATION_ROLES = (Role.STATION_CHIEF, Role.STATION_STAFF)


def responsible_users(regions) -> dict[int, list]:
    """For each region (by id): the station (duty officers) of its township and the grid
    workers of its village and grid, that is everyone holding those roles on the region or
    a region above it. One query for all the regions of a batch."""
    paths = {region.pk: [code for code in region.path.split("/") if code] for region in regions}
    holders: dict[str, set[int]] = {}
    for code, user_id in RoleAssignment.objects.filter(
        region__code__in={code for codes in paths.values() for code in codes},
        role__in=(*STATION_ROLES, Role.GRID_WORKER),
        revoked_at__isnull=True,
        user__is_active=True,
    ).values_list("region__code", "user_id"):
        holders.setdefault(code, set()).add(user_id)
    users = get_user_model().objects.in_bulk(
        {user_id for ids in holders.values() for user_id in ids}
    )
    audience = {}
    for pk, codes in paths.items():
        ids = set().union(*(holders.get(code, ()) for code in codes))
        audience[pk] = [users[user_id] for user_id in sorted(ids)]
    return audience


def _announce_all(raised: list[tuple[Alarm, Device]]) -> None:
    """Tell the responsible people of each new alarm, in one outbox for the batch."""
    outbox = Outbox()
    audience = responsible_users({device.region for _alarm, device in raised})
    helpers = household_helpers({device.household_id for _alarm, device in raised})
    for alarm, device in raised:
        _announce(outbox, alarm, device, audience[device.region_id])
        if device.household_id is not None:
            _tell_helpers(outbox, alarm, device, helpers.get(device.household_id, []))
    outbox.send()


def household_helpers(household_ids) -> dict[int, list]:
    """The one-to-one helpers (包保责任人, first and backup) of the vulnerable people of each
    household: the neighbours who go first when the smoke alarm of an elderly person living
    alone goes off. One query for the batch."""
    from frontline.community.models import Resident

    wanted = [pk for pk in household_ids if pk is not None]
    if not wanted:
        return {}
    found: dict[int, list] = {}
    residents = Resident.objects.filter(household_id__in=wanted, is_vulnerable=True).select_related(
        "helper__user", "backup_helper__user"
    )
    for resident in residents:
        people = found.setdefault(resident.household_id, [])
        for person in (resident.helper, resident.backup_helper):
            if person is not None and all(person.pk != known.pk for known in people):
                people.append(person)
    return found


def _tell_helpers(outbox: Outbox, alarm: Alarm, device: Device, helpers: list) -> None:
    """Helpers with an account get the alarm in the platform; every helper with a mobile
    gets an SMS when the alarm is urgent, because they may be the nearest one awake."""
    if not helpers:
        return
    urgent = alarm.severity in (AlarmSeverity.CRITICAL, AlarmSeverity.MAJOR)
    body = _("您包保的住户 %(where)s 的%(device)s报警：%(title)s，请立即上门查看。") % {
        "where": device.location or device.name,
        "device": device.name,
        "title": alarm.title,
    }
    users = [person.user for person in helpers if person.user is not None]
    if users:
        outbox.notify_users(
            users,
            kind="alarm_helper",
            subject=_("包保住户报警：%(title)s") % {"title": alarm.title},
            body=body,
            link=link(alarm),
            related=alarm,
            urgent=urgent,
        )
    if not urgent:
        return
    for person in helpers:
        if person.mobile:
            outbox.add(
                channel=Channel.SMS,
                kind="alarm_helper",
                subject=alarm.title,
                body=body,
                address=person.mobile,
                related=alarm,
                urgent=True,
            )


def _announce(outbox: Outbox, alarm: Alarm, device: Device, users: list) -> None:
    urgent = alarm.severity in (AlarmSeverity.CRITICAL, AlarmSeverity.MAJOR)
    body = _("设备 %(device)s（%(code)s），位置：%(where)s，时间 %(at)s。") % {
        "device": device.name,
        "code": device.code,
        "where": device.location or device.region.name,
        "at": timezone.localtime(alarm.first_at).strftime("%Y-%m-%d %H:%M:%S"),
    }
    outbox.notify_users(
        users,
        kind="alarm_raised",
        subject=_("监测告警：%(title)s") % {"title": alarm.title},
        body=body,
        link=link(alarm),
        related=alarm,
        urgent=urgent,
        sms=alarm.severity == AlarmSeverity.CRITICAL,
    )
    officer_phone = device.enterprise.safety_officer_phone if device.enterprise else ""
    if officer_phone and urgent:
        # The enterprise's safety officer has no account, only a phone: an SMS.
        outbox.add(
            channel=Channel.SMS,
            kind="alarm_raised",
            subject=alarm.message or alarm.title,
            body=body,
            address=officer_phone,
            related=alarm,
            urgent=True,
        )
    if alarm.alarm_type in TASK_ALARM_TYPES or alarm.severity == AlarmSeverity.CRITICAL:
        _open_task(alarm, device, body)


def _open_task(alarm: Alarm, device: Device, body: str) -> None:
    station = nearest_station(device.region)
    if station is None:
        _event(alarm, None, "no_station", note=_("未找到负责的应急管理站，未下达督办任务"))
        return
    task = assign_task(
        actor=None,
        title=(_("核查告警：%(title)s") % {"title": alarm.title})[:200],
        region=device.region,
        due_at=timezone.now() + timedelta(minutes=TASK_MINUTES),
        respond_by=timezone.now() + timedelta(minutes=1),
        assignee_organization=station,
        description=body,
        priority="critical",
        subject=alarm,
    )
    Alarm.objects.filter(pk=alarm.pk).update(supervised_task=task)
    alarm.supervised_task = task
    _event(alarm, None, "task_opened", note=task.number, task_id=task.pk)


# --- clearing ----------------------------------------------------------------------------------


def _clear(alarm: Alarm, actor, at: datetime, note: str) -> None:
    from_state = alarm.state
    alarm.state = AlarmState.CLEARED
    alarm.cleared_at = at
    alarm.save(update_fields=["state", "cleared_at"])
    _event(alarm, actor, "cleared", from_state=from_state, to_state=alarm.state, note=note)


def clear_offline(device_ids: list[int], now: datetime) -> None:
    for alarm in Alarm.objects.filter(
        device_id__in=device_ids, alarm_type="offline", state__in=OPEN_ALARM_STATES
    ):
        _clear(alarm, None, now, _("设备恢复上报"))


# --- what people do --------------------------------------------------------------------------


def _locked(alarm: Alarm) -> Alarm:
    fresh = Alarm.objects.select_for_update().get(pk=alarm.pk)
    for field in Alarm._meta.concrete_fields:
        setattr(alarm, field.attname, getattr(fresh, field.attname))
    return alarm


def _note(note: str | None, *, required: bool) -> str:
    cleaner = Cleaner()
    text = cleaner.text(note, "note", required=required, max_length=2000)
    cleaner.done()
    return text


@transaction.atomic
def acknowledge_alarm(*, actor, alarm: Alarm, note: str = "") -> Alarm:
    """确认: someone has seen the alarm and takes it on."""
    require(actor, Capability.EDIT, alarm.region)
    note = _note(note, required=False)
    _locked(alarm)
    if alarm.state != AlarmState.ACTIVE:
        raise DomainError(
            _("告警当前为「%(state)s」，不能确认") % {"state": alarm.get_state_display()},
            code="illegal_transition",
        )
    alarm.state = AlarmState.ACKNOWLEDGED
    alarm.acknowledged_at = timezone.now()
    alarm.acknowledged_by = actor if getattr(actor, "pk", None) else None
    alarm.save(update_fields=["state", "acknowledged_at", "acknowledged_by"])
    _event(alarm, actor, "acknowledged", from_state=AlarmState.ACTIVE, to_state=alarm.state,
           note=note)  # fmt: skip
    return alarm


@transaction.atomic
def clear_alarm(*, actor, alarm: Alarm, note: str) -> Alarm:
    """消除: the cause was checked and dealt with. The note says what was found."""
    require(actor, Capability.EDIT, alarm.region)
    note = _note(note, required=True)
    _locked(alarm)
    if alarm.state == AlarmState.CLEARED:
        raise DomainError(_("告警已消除"), code="illegal_transition")
    _clear(alarm, actor, timezone.now(), note)
    return alarm


@transaction.atomic
def comment_alarm(*, actor, alarm: Alarm, note: str) -> AlarmEvent:
    require(actor, Capability.EDIT, alarm.region)
    note = _note(note, required=True)
    return _event(alarm, actor, "commented", note=note)


@transaction.atomic
def alarm_to_hazard(*, actor, alarm: Alarm):
    """A repeated fault (or any alarm worth a rectification) becomes a hazard in 发现, with
    the alarm's history in its description. Once per alarm."""
    from frontline.hazards.models import HazardSource
    from frontline.hazards.services import report_hazard

    require(actor, Capability.EDIT, alarm.region)
    _locked(alarm)
    if alarm.hazard_id is not None:
        raise DomainError(_("该告警已转为隐患"), code="already_converted")
    device = alarm.device
    description = _(
        "由监测告警转入：%(title)s。设备 %(code)s，首次 %(first)s，最近 %(last)s，共 %(count)d 次。"
    ) % {
        "title": alarm.title,
        "code": device.code,
        "first": timezone.localtime(alarm.first_at).strftime("%Y-%m-%d %H:%M"),
        "last": timezone.localtime(alarm.last_at).strftime("%Y-%m-%d %H:%M"),
        "count": alarm.count,
    }
    hazard = report_hazard(
        actor=actor,
        region=alarm.region,
        title=(_("设备告警：%(title)s") % {"title": alarm.title})[:200],
        source=HazardSource.SENSOR,
        description=description,
        enterprise=alarm.enterprise,
        place=alarm.place,
        lon=device.lon,
        lat=device.lat,
    )
    alarm.hazard = hazard
    alarm.save(update_fields=["hazard"])
    _event(alarm, actor, "hazard_created", note=hazard.number, hazard_id=hazard.pk)
    return hazard


# --- the offline sweep -------------------------------------------------------------------------


def detect_offline(now: datetime | None = None) -> dict[str, int]:
    """Devices silent for longer than their `offline_after_minutes` go offline, and raise
    the offline alarm of their kind. Run by the worker every minute; each device is claimed
    with a conditional UPDATE, so two workers never raise it twice."""
    from frontline.monitoring.services.devices import device_info, forget_seen
    from frontline.monitoring.services.rules import rule_book

    now = now or timezone.now()
    counts = {"offline": 0, "alarms": 0}
    candidates = Device.objects.filter(
        is_active=True, last_seen_at__lt=now - timedelta(minutes=1)
    ).exclude(status=DeviceStatus.OFFLINE)
    book = rule_book()
    for pk, code, kind, last_seen, minutes in candidates.values_list(
        "pk", "code", "kind", "last_seen_at", "offline_after_minutes"
    ):
        if last_seen > now - timedelta(minutes=minutes):
            continue
        with transaction.atomic():
            claimed = (
                Device.objects.filter(pk=pk, last_seen_at=last_seen)
                .exclude(status=DeviceStatus.OFFLINE)
                .update(status=DeviceStatus.OFFLINE, status_changed_at=now)
            )
            if not claimed:
                continue
            forget_seen([pk])
            counts["offline"] += 1
            rule = book.offline.get(kind)
            info = device_info(code)
            if rule is None or info is None:
                continue
            silent_minutes = (now - last_seen).total_seconds() // 60
            signal = Signal(RAISE, rule, info, now, silent_minutes, {"last_seen": str(last_seen)})
            apply_signals([signal], now=now, source="offline")
            counts["alarms"] += 1
    return counts


# --- video events ------------------------------------------------------------------------------


@transaction.atomic
def record_video_event(
    *,
    device: DeviceInfo,
    event_type: str,
    at: datetime,
    snapshot=None,
    detail: dict | None = None,
) -> Alarm:
    """A camera AI platform saw something: an alarm of type `video_<event>` on the camera
    (a repeat while one is open), with the snapshot stored as evidence on the alarm."""
    from frontline.core.services.attachments import attach_file
    from frontline.monitoring.kinds import VIDEO_SEVERITY, VideoEvent

    label = VideoEvent(event_type).label
    rule = RuleSpec(
        id=None, name=str(label), kind=device.kind, device_id=device.id,
        alarm_type=f"video_{event_type}", metric="", condition="video", operator="",
        threshold=None, threshold_attribute="", clear_threshold=None, duration_seconds=0,
        repeat_count=0, window_seconds=0, z_score=None, severity=VIDEO_SEVERITY[event_type],
        auto_clear=False, message="",
    )  # fmt: skip
    apply_signals([Signal(RAISE, rule, device, at, 1.0, detail)], now=at, source="video")
    alarm = Alarm.objects.get(
        device_id=device.id, alarm_type=rule.alarm_type, state__in=OPEN_ALARM_STATES
    )
    if snapshot is not None:
        evidence = attach_file(
            actor=None,
            owner=alarm,
            uploaded_file=snapshot,
            note=_("抓拍：%(event)s") % {"event": label},
        )
        _event(alarm, None, "evidence", note=str(label), attachment_id=evidence.pk)
    return alarm
