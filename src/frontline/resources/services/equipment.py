"""Equipment and vehicles (装备与车辆): the file, the status, and inspections and
maintenance that move the next due dates.

A piece of equipment belongs to a team, a depot, or neither (a station's own pump). Its home
base is the team's or the depot's position unless it says otherwise. Due dates are stored
(`next_inspection_due`, `next_maintenance_due`) and set when a check is recorded, never
recomputed by a cron, so lists and the daily sweep filter on them directly.

Equipment is always saved through `save()`: the nearby-search index watches MAX(updated_at).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from frontline.core.errors import DomainError, InvalidInput
from frontline.core.models import Region
from frontline.core.roles import Capability as Can
from frontline.core.services.notifications import Outbox
from frontline.core.services.validation import Cleaner, require
from frontline.resources.models import (
    VEHICLE_KINDS,
    Depot,
    Equipment,
    EquipmentKind,
    EquipmentStatus,
    RescueTeam,
    ResourceEvent,
)
from frontline.resources.services.events import record_event
from frontline.resources.services.teams import (
    changed_fields,
    clean_capabilities,
    clean_position,
    related,
)

S = EquipmentStatus
# Which status may follow which. Equipment under repair or broken goes back to service
# (available) before it can be sent out; nothing goes from a status to itself.
TRANSITIONS: dict[str, set[str]] = {
    S.AVAILABLE: {S.IN_USE, S.MAINTENANCE, S.OUT_OF_ORDER},
    S.IN_USE: {S.AVAILABLE, S.MAINTENANCE, S.OUT_OF_ORDER},
    S.MAINTENANCE: {S.AVAILABLE, S.OUT_OF_ORDER},
    S.OUT_OF_ORDER: {S.MAINTENANCE, S.AVAILABLE},
}

INSPECTION = "inspection"
MAINTENANCE = "maintenance"
CHECK_KINDS = {
    INSPECTION: gettext_lazy("检验"),
    MAINTENANCE: gettext_lazy("保养"),
}
# The next due date when the recorder does not give one: vehicles and pressure equipment
# are inspected yearly; maintenance every half year. Local practice varies: a date given
# with the record wins.
DEFAULT_INTERVAL_DAYS = {INSPECTION: 365, MAINTENANCE: 180}
MAX_INTERVAL_DAYS = 3650
# Due "soon" in lists and the sweep.
DUE_SOON_DAYS = 7

EQUIPMENT_FIELDS = {
    "name",
    "kind",
    "model",
    "serial_no",
    "plate_no",
    "capabilities",
    "team",
    "depot",
    "base_address",
    "lon",
    "lat",
    "next_inspection_due",
    "next_maintenance_due",
    "notes",
}


def clean_equipment(cleaner: Cleaner, data: dict) -> dict:
    """Check the given equipment fields (only those present)."""
    cleaned = dict(data)
    texts = {
        "name": (120, True),
        "model": (80, False),
        "serial_no": (60, False),
        "plate_no": (16, False),
        "base_address": (200, False),
        "notes": (2000, False),
    }
    for name, (length, required) in texts.items():
        if name in data:
            cleaned[name] = cleaner.text(data[name], name, required=required, max_length=length)
    if "plate_no" in cleaned:
        cleaned["plate_no"] = cleaned["plate_no"].upper().replace(" ", "")
    if "kind" in data:
        cleaned["kind"] = cleaner.choice(data["kind"], "kind", EquipmentKind)
    if "capabilities" in data:
        cleaned["capabilities"] = clean_capabilities(cleaner, data["capabilities"])
    for name in ("next_inspection_due", "next_maintenance_due"):
        if name in data and data[name] is not None and not isinstance(data[name], date):
            cleaner.fail(name, _("日期格式不正确"))
    clean_position(cleaner, cleaned)
    return cleaned


def _check_home(cleaner: Cleaner, region: Region, team, depot) -> None:
    if team is not None and depot is not None:
        cleaner.fail("depot", _("装备只能配属一支队伍或存放于一个仓库，不能同时选择"))
    if team is not None and not related(region, team.region):
        cleaner.fail("team", _("队伍不在装备所属区划之内"))
    if depot is not None and not related(region, depot.region):
        cleaner.fail("depot", _("仓库不在装备所属区划之内"))


def _home_position(data: dict, team: RescueTeam | None, depot: Depot | None) -> None:
    """Fill the base position from the team or depot when none is given."""
    home = team or depot
    if home is None:
        return
    if data.get("lon") is None and data.get("lat") is None:
        data["lon"], data["lat"] = home.lon, home.lat
    if not data.get("base_address"):
        data["base_address"] = home.address


@transaction.atomic
def create_equipment(
    *,
    actor,
    name: str,
    kind: str,
    region: Region | None = None,
    team: RescueTeam | None = None,
    depot: Depot | None = None,
    model: str = "",
    serial_no: str = "",
    plate_no: str = "",
    capabilities=(),
    base_address: str = "",
    lon: float | None = None,
    lat: float | None = None,
    next_inspection_due: date | None = None,
    next_maintenance_due: date | None = None,
    notes: str = "",
) -> Equipment:
    """Register a piece of equipment, available. Its region defaults to the team's or the
    depot's, and so does its base position."""
    region = region or (team.region if team else depot.region if depot else None)
    if region is None:
        message = _("请选择所属区划，或配属队伍/存放仓库")
        raise InvalidInput(message, details={"region": message})
    require(actor, Can.MANAGE_RESOURCES, region)
    cleaner = Cleaner()
    data = {
        "name": name,
        "kind": kind,
        "model": model,
        "serial_no": serial_no,
        "plate_no": plate_no,
        "capabilities": capabilities,
        "base_address": base_address,
        "lon": lon,
        "lat": lat,
        "next_inspection_due": next_inspection_due,
        "next_maintenance_due": next_maintenance_due,
        "notes": notes,
    }
    _home_position(data, team, depot)
    data = clean_equipment(cleaner, data)
    if data["lon"] is None and not {"lon", "lat"} & set(cleaner.details):
        cleaner.fail("lon", _("请填写停放地点的经纬度，或选择配属队伍/存放仓库"))
    _check_home(cleaner, region, team, depot)
    _check_plate(cleaner, data)
    cleaner.done()
    equipment = Equipment(
        region=region, team=team, depot=depot, status=EquipmentStatus.AVAILABLE, **data
    )
    equipment.save()
    record_event(equipment, actor=actor, kind="created", to_state=equipment.status)
    return equipment


# Kinds that may carry a number plate: road vehicles, and machinery and boats that are
# registered. A plate on a pump is a typo in the wrong column.
PLATE_KINDS = {*VEHICLE_KINDS, EquipmentKind.EXCAVATOR, EquipmentKind.BOAT, EquipmentKind.OTHER}


def _check_plate(cleaner: Cleaner, data: dict) -> None:
    if data.get("plate_no") and data.get("kind") and data["kind"] not in PLATE_KINDS:
        cleaner.fail("plate_no", _("该类型的装备没有车牌号，请填写出厂编号"))


@transaction.atomic
def update_equipment(*, actor, equipment: Equipment, **changes) -> Equipment:
    """Change the given fields. A new team or depot without a new position moves the
    equipment to its new home. Status has its own service."""
    require(actor, Can.MANAGE_RESOURCES, equipment.region)
    unknown = set(changes) - EQUIPMENT_FIELDS
    if unknown:
        raise InvalidInput(_("不能修改这些字段"), details={f: _("不可修改") for f in unknown})
    team = changes.pop("team", equipment.team)
    depot = changes.pop("depot", equipment.depot)
    rehomed = team != equipment.team or depot != equipment.depot
    if rehomed and "lon" not in changes and "lat" not in changes:
        changes["lon"] = changes["lat"] = None
        changes.setdefault("base_address", "")
    if rehomed:
        _home_position(changes, team, depot)
    cleaner = Cleaner()
    data = clean_equipment(
        cleaner, {"lon": equipment.lon, "lat": equipment.lat, "kind": equipment.kind, **changes}
    )
    if data.get("lon") is None and not {"lon", "lat"} & set(cleaner.details):
        cleaner.fail("lon", _("请填写停放地点的经纬度"))
    _check_home(cleaner, equipment.region, team, depot)
    _check_plate(cleaner, {"plate_no": equipment.plate_no, **data})
    cleaner.done()
    changed = changed_fields(equipment, data)
    if rehomed:
        changed = sorted({*changed, "team", "depot"})
    for name, value in data.items():
        setattr(equipment, name, value)
    equipment.team, equipment.depot = team, depot
    equipment.save()
    if changed:
        record_event(equipment, actor=actor, kind="updated", fields=changed)
    return equipment


@transaction.atomic
def set_equipment_status(*, actor, equipment: Equipment, status: str, note: str = "") -> Equipment:
    """可用 / 使用中 / 维修保养 / 故障停用, following TRANSITIONS. Taking equipment out of
    service (maintenance, out of order) needs a note saying why."""
    require(actor, Can.MANAGE_RESOURCES, equipment.region)
    cleaner = Cleaner()
    cleaner.choice(status, "status", EquipmentStatus)
    note = cleaner.text(note, "note", required=False, max_length=500)
    if status == S.OUT_OF_ORDER and not note:
        cleaner.fail("note", _("请说明故障情况"))
    cleaner.done()
    equipment = Equipment.objects.select_for_update().get(pk=equipment.pk)
    current = equipment.status
    if status not in TRANSITIONS.get(current, set()):
        labels = dict(EquipmentStatus.choices)
        raise DomainError(
            _("装备当前为“%(from)s”，不能直接改为“%(to)s”")
            % {"from": labels.get(current, current), "to": labels.get(status, status)},
            code="illegal_transition",
        )
    equipment.status = status
    equipment.save()
    record_event(
        equipment, actor=actor, kind="status", from_state=current, to_state=status, note=note
    )
    return equipment


@transaction.atomic
def record_check(
    *,
    actor,
    equipment: Equipment,
    kind: str,
    done_on: date | None = None,
    next_due: date | None = None,
    note: str = "",
) -> Equipment:
    """An inspection (检验) or maintenance (保养) done: the next due date moves to the date
    given, or one default interval after the day it was done."""
    require(actor, Can.MANAGE_RESOURCES, equipment.region)
    cleaner = Cleaner()
    today = timezone.localdate()
    if kind not in CHECK_KINDS:
        cleaner.fail("kind", _("请选择检验或保养"))
    done_on = done_on or today
    if not isinstance(done_on, date):
        cleaner.fail("done_on", _("日期格式不正确"))
    elif done_on > today:
        cleaner.fail("done_on", _("完成日期不能晚于今天"))
    if next_due is not None:
        if not isinstance(next_due, date):
            cleaner.fail("next_due", _("日期格式不正确"))
        elif isinstance(done_on, date) and next_due <= done_on:
            cleaner.fail("next_due", _("下次到期日须晚于完成日期"))
        elif isinstance(done_on, date) and next_due > done_on + timedelta(days=MAX_INTERVAL_DAYS):
            cleaner.fail("next_due", _("下次到期日不能晚于十年之后"))
    note = cleaner.text(note, "note", required=False, max_length=500)
    cleaner.done()
    if next_due is None:
        next_due = done_on + timedelta(days=DEFAULT_INTERVAL_DAYS[kind])
    equipment = Equipment.objects.select_for_update().get(pk=equipment.pk)
    field_name = f"next_{kind}_due"
    previous = getattr(equipment, field_name)
    setattr(equipment, field_name, next_due)
    equipment.save()
    record_event(
        equipment,
        actor=actor,
        kind="inspected" if kind == INSPECTION else "maintained",
        from_state=previous.isoformat() if previous else "",
        to_state=next_due.isoformat(),
        note=note,
        done_on=done_on.isoformat(),
    )
    return equipment


def due_state(equipment: Equipment, today: date | None = None) -> dict[str, str]:
    """kind → "overdue" / "soon" for the checks past due or due within DUE_SOON_DAYS."""
    today = today or timezone.localdate()
    soon = today + timedelta(days=DUE_SOON_DAYS)
    states = {}
    for kind in (INSPECTION, MAINTENANCE):
        due = getattr(equipment, f"next_{kind}_due")
        if due is None:
            continue
        if due < today:
            states[kind] = "overdue"
        elif due <= soon:
            states[kind] = "soon"
    return states


# --- the daily sweep -------------------------------------------------------------------------

DUE_TOLD_KIND = {INSPECTION: "inspection_due_told", MAINTENANCE: "maintenance_due_told"}
DUE_NOTIFICATION_KIND = "equipment_check_due"


def _told_dues(equipment_ids: list[int]) -> set[tuple[int, str, str]]:
    """(equipment id, event kind, due date) already told: the sweep's memory is the
    equipment's own timeline, one event per due date told (no extra column needed)."""
    told = set()
    for start in range(0, len(equipment_ids), 900):
        rows = ResourceEvent.objects.filter(
            subject="equipment",
            object_id__in=equipment_ids[start : start + 900],
            kind__in=DUE_TOLD_KIND.values(),
        ).values_list("object_id", "kind", "to_state")
        told.update(rows)
    return told


def notify_equipment_due(today: date | None = None) -> dict:
    """Tell the people of each depot, team or station once about every inspection or
    maintenance due within DUE_SOON_DAYS or overdue (equipment out of order included: it
    must be inspected before it goes back). Once per due date: recording the check moves
    the date, and the next one is told when it comes close. Returns counts."""
    from frontline.resources.services.teams import unit_people

    today = today or timezone.localdate()
    horizon = today + timedelta(days=DUE_SOON_DAYS)
    candidates = list(
        Equipment.objects.filter(
            Q(next_inspection_due__lte=horizon) | Q(next_maintenance_due__lte=horizon)
        )
        .select_related("region", "team__region", "team__leader__user", "depot__region")
        .select_related("depot__keeper__user")
        .order_by("pk")
    )
    told = _told_dues([e.pk for e in candidates])
    groups: dict[tuple, list[tuple[Equipment, str, date]]] = {}
    for equipment in candidates:
        for kind in (INSPECTION, MAINTENANCE):
            due = getattr(equipment, f"next_{kind}_due")
            if due is None or due > horizon:
                continue
            if (equipment.pk, DUE_TOLD_KIND[kind], due.isoformat()) in told:
                continue
            if equipment.depot_id:
                home = ("depot", equipment.depot_id)
            elif equipment.team_id:
                home = ("team", equipment.team_id)
            else:
                home = ("region", equipment.region_id)
            groups.setdefault(home, []).append((equipment, kind, due))
    if not groups:
        return {"equipment": 0, "notifications": 0}
    from frontline.resources.services.stock import responsible_users

    outbox = Outbox()
    told_now = notifications = 0
    with transaction.atomic():
        for lines in groups.values():
            first = lines[0][0]
            if first.depot_id:
                users, place = responsible_users(first.depot), first.depot.name
            elif first.team_id:
                users, place = unit_people(first.team.region, [first.team.leader]), first.team.name
            else:
                users, place = unit_people(first.region), first.region.name
            if not users:
                # Nobody to tell yet: left untold, so a keeper appointed later still hears.
                continue
            texts = [_due_line(equipment, kind, due, today) for equipment, kind, due in lines]
            for (equipment, kind, due), text in zip(lines, texts, strict=True):
                record_event(
                    equipment,
                    actor=None,
                    kind=DUE_TOLD_KIND[kind],
                    to_state=due.isoformat(),
                    note=text,
                    told=len(users),
                )
            told_now += len(lines)
            notifications += 1
            outbox.notify_users(
                users,
                kind=DUE_NOTIFICATION_KIND,
                subject=_("%(place)s 有 %(n)d 项装备检验/保养到期")
                % {"place": place, "n": len(lines)},
                body="\n".join(texts),
                link=reverse("equipment_list") + "?due=1",
                related=first.depot or first.team or first,
                webhooks=False,
            )
        outbox.send()
    return {"equipment": told_now, "notifications": notifications}


def _due_line(equipment: Equipment, kind: str, due: date, today: date) -> str:
    late = (today - due).days
    state = _("已逾期 %(n)d 天") % {"n": late} if late > 0 else _("即将到期")
    return _("%(name)s %(kind)s%(state)s，到期日 %(due)s") % {
        "name": str(equipment),
        "kind": CHECK_KINDS[kind],
        "state": state,
        "due": due.isoformat(),
    }
