"""Shelters (应急避难场所): registration, the capacity rule, opening and closing, and the
status that follows the occupancy.

Capacity follows the living area (`capacity_for_area`, 1.5 m² per person). A capacity given
above what the area holds is refused unless a reason is stated; then it is stored with the
reason and an event, so the timeline shows who overrode the rule and why.

The occupancy itself is written only by the check-in and check-out services
(`services/evacuees.py`) with conditional UPDATEs; `settle_status` turns an open shelter
into a full one when the last place is taken and back when one frees up, with an event each
time. A shelter with people inside cannot be closed: they are checked out (or moved) first.
"""

from __future__ import annotations

from collections import Counter

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.core.errors import DomainError
from frontline.core.geo import outside_china
from frontline.core.models import Person, Region
from frontline.core.roles import Capability
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.services.objects import _unknown_fields, clean_location, clean_number
from frontline.resources.models import (
    Evacuee,
    EvacueeNeed,
    IssuePurpose,
    LedgerEntry,
    MovementKind,
    Shelter,
    ShelterClass,
    ShelterFacility,
    ShelterLevel,
    ShelterStatus,
    capacity_for_area,
)
from frontline.resources.services.events import record_event

# A shelter larger than a few square kilometres of living area is a typo.
MAX_AREA_M2 = 5_000_000
MAX_CAPACITY = 1_000_000

SHELTER_FIELDS = {
    "region",
    "name",
    "shelter_class",
    "level",
    "address",
    "lon",
    "lat",
    "usable_area_m2",
    "capacity",
    "capacity_reason",
    "facilities",
    "manager",
    "notes",
}

FACILITY_ORDER = {value: index for index, value in enumerate(ShelterFacility.values)}

# Age thresholds of the needs summary: 60 and over count as elderly (老年人权益保障法), under
# 14 as children (the statistics' 0–14), whether or not the registrar ticked the need.
ELDERLY_AGE = 60
CHILD_AGE = 14


def pack_facilities(values) -> str:
    """Known facility codes in a fixed order, comma separated ("water,power")."""
    known = sorted({v for v in values or () if v in FACILITY_ORDER}, key=FACILITY_ORDER.get)
    return ",".join(known)


# --- checks ----------------------------------------------------------------------------------


def clean_shelter(cleaner: Cleaner, data: dict) -> dict:
    """Check the given shelter fields (only those present). The spreadsheet import uses it
    row by row; `check_capacity` adds the rule between area and capacity."""
    cleaned = dict(data)
    if "name" in data:
        cleaned["name"] = cleaner.text(data["name"], "name", required=True, max_length=120)
    if "shelter_class" in data:
        cleaned["shelter_class"] = cleaner.choice(
            data["shelter_class"], "shelter_class", ShelterClass
        )
    if "level" in data:
        cleaned["level"] = cleaner.choice(data["level"], "level", ShelterLevel)
    if "address" in data:
        cleaned["address"] = cleaner.text(
            data["address"], "address", required=False, max_length=200
        )
    if "notes" in data:
        cleaned["notes"] = cleaner.text(data["notes"], "notes", required=False, max_length=2000)
    if "capacity_reason" in data:
        cleaned["capacity_reason"] = cleaner.text(
            data["capacity_reason"], "capacity_reason", required=False, max_length=200
        )
    if "usable_area_m2" in data:
        area = clean_number(
            cleaner, data["usable_area_m2"], "usable_area_m2", minimum=0, maximum=MAX_AREA_M2
        )
        if area is None and "usable_area_m2" not in cleaner.details:
            cleaner.fail("usable_area_m2", _("此字段为必填项"))
        elif area is not None and area <= 0:
            cleaner.fail("usable_area_m2", _("有效避难面积应大于 0"))
        cleaned["usable_area_m2"] = area
    if "capacity" in data:
        cleaned["capacity"] = clean_number(
            cleaner, data["capacity"], "capacity", minimum=0, maximum=MAX_CAPACITY, integer=True
        )
    if "facilities" in data:
        values = data["facilities"]
        if isinstance(values, str):
            values = [v for v in values.split(",") if v]
        unknown = [v for v in values or () if v not in FACILITY_ORDER]
        if unknown:
            cleaner.fail("facilities", _("未知的配套设施：%(v)s") % {"v": "、".join(unknown)})
        cleaned["facilities"] = pack_facilities(values)
    if "lon" in data or "lat" in data:
        clean_location(cleaner, cleaned)
        lon, lat = cleaned.get("lon"), cleaned.get("lat")
        clean = not {"lon", "lat"} & set(cleaner.details)
        if clean and lon is None and lat is None:
            cleaner.fail("lon", _("请填写避难场所的经纬度"))
        elif clean and lon is not None and lat is not None and outside_china(lon, lat):
            cleaner.fail("lon", _("坐标不在中国境内，请检查经纬度是否填反"))
    return cleaned


def check_capacity(cleaner: Cleaner, area, capacity, reason: str) -> tuple[int | None, str]:
    """The capacity to store and its reason. None derives it from the area; above the area
    rule it needs a reason; within the rule a reason is not kept (there is nothing to
    justify)."""
    if area is None or "usable_area_m2" in cleaner.details or "capacity" in cleaner.details:
        return capacity, reason
    allowed = capacity_for_area(area)
    if capacity is None:
        return allowed, ""
    if capacity <= allowed:
        return capacity, ""
    if not reason:
        cleaner.fail(
            "capacity",
            _(
                "容纳人数 %(n)d 超过面积标准：有效避难面积 %(area)s 平方米按人均 1.5 平方米"
                "最多容纳 %(allowed)d 人；确需超出请填写理由"
            )
            % {"n": capacity, "area": _area(area), "allowed": allowed},
        )
    return capacity, reason


def _area(area: float) -> str:
    return str(int(area)) if float(area).is_integer() else f"{area:.1f}"


def check_manager(cleaner: Cleaner, region: Region | None, manager: Person | None) -> None:
    """The manager belongs to the shelter's region, a place inside it, or a region above it
    (a township official may run a village school's shelter)."""
    if manager is None or region is None:
        return
    other = manager.region.path
    if not (other.startswith(region.path) or region.path.startswith(other)):
        cleaner.fail("manager", _("管理人不在避难场所所属区划之内"))


# --- create and update -----------------------------------------------------------------------


@transaction.atomic
def create_shelter(
    *,
    actor,
    region: Region,
    name: str,
    shelter_class: str,
    level: str,
    lon: float | None,
    lat: float | None,
    usable_area_m2: float | None,
    capacity: int | None = None,
    capacity_reason: str = "",
    facilities=(),
    manager: Person | None = None,
    address: str = "",
    notes: str = "",
) -> Shelter:
    """Register a shelter (closed until it is opened). Without a capacity, the area rule
    gives it; above the rule only with `capacity_reason`."""
    require(actor, Capability.MANAGE_RESOURCES, region)
    cleaner = Cleaner()
    data = clean_shelter(
        cleaner,
        {
            "name": name,
            "shelter_class": shelter_class,
            "level": level,
            "lon": lon,
            "lat": lat,
            "usable_area_m2": usable_area_m2,
            "capacity": capacity,
            "capacity_reason": capacity_reason,
            "facilities": facilities,
            "address": address,
            "notes": notes,
        },
    )
    data["capacity"], data["capacity_reason"] = check_capacity(
        cleaner, data["usable_area_m2"], data["capacity"], data["capacity_reason"]
    )
    check_manager(cleaner, region, manager)
    _check_name_free(cleaner, region, data["name"])
    cleaner.done()
    shelter = Shelter.objects.create(region=region, manager=manager, **data)
    record_event(shelter, actor=actor, kind="created", to_state=shelter.status)
    _record_override(shelter, actor)
    return shelter


def _check_name_free(cleaner: Cleaner, region: Region, name: str, exclude: int | None = None):
    if "name" in cleaner.details or not name:
        return
    taken = Shelter.objects.filter(region=region, name=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        cleaner.fail("name", _("该区划已有同名避难场所"))


def _record_override(shelter: Shelter, actor, *, before: tuple | None = None) -> None:
    """An event when the capacity stands above the area rule with a reason (new, or changed)."""
    if not shelter.capacity_reason:
        return
    if before == (shelter.capacity, shelter.capacity_reason, shelter.usable_area_m2):
        return
    record_event(
        shelter,
        actor=actor,
        kind="capacity_override",
        note=shelter.capacity_reason,
        capacity=shelter.capacity,
        area_capacity=shelter.area_capacity,
        usable_area_m2=shelter.usable_area_m2,
    )


@transaction.atomic
def update_shelter(*, actor, shelter: Shelter, **changes) -> Shelter:
    """Change the given fields. A new area re-derives the capacity unless a capacity is given
    too; the capacity rule is checked against the result; the capacity cannot drop below the
    people inside. The status follows a new capacity (an open shelter may become full)."""
    require(actor, Capability.MANAGE_RESOURCES, shelter.region)
    _unknown_fields(changes, SHELTER_FIELDS)
    shelter = (
        Shelter.objects.select_for_update(of=("self",))
        .select_related("region", "manager__region")
        .get(pk=shelter.pk)
    )
    region = changes.pop("region", shelter.region)
    if region.pk != shelter.region_id:
        require(actor, Capability.MANAGE_RESOURCES, region)
    manager = changes.pop("manager", shelter.manager)
    cleaner = Cleaner()
    data = clean_shelter(cleaner, changes)
    area = data.get("usable_area_m2", shelter.usable_area_m2)
    if "capacity" in data:
        capacity = data["capacity"]
    elif "usable_area_m2" in data:
        capacity = None  # the area changed: derive again, unless the reason still holds
        if shelter.capacity_reason and "capacity_reason" not in data:
            capacity = shelter.capacity
    else:
        capacity = shelter.capacity
    reason = data.get("capacity_reason", shelter.capacity_reason)
    data["capacity"], data["capacity_reason"] = check_capacity(cleaner, area, capacity, reason)
    if (
        "capacity" not in cleaner.details
        and data["capacity"] is not None
        and data["capacity"] < shelter.occupancy
    ):
        cleaner.fail(
            "capacity",
            _("容纳人数不能少于当前安置人数 %(n)d 人") % {"n": shelter.occupancy},
        )
    check_manager(cleaner, region, manager)
    _check_name_free(cleaner, region, data.get("name", shelter.name), exclude=shelter.pk)
    cleaner.done()
    before = (shelter.capacity, shelter.capacity_reason, shelter.usable_area_m2)
    changed = sorted(name for name, value in data.items() if getattr(shelter, name) != value)
    for name, value in data.items():
        setattr(shelter, name, value)
    if region.pk != shelter.region_id:
        changed.append("region")
    if (manager.pk if manager else None) != shelter.manager_id:
        changed.append("manager")
    shelter.region, shelter.manager = region, manager
    shelter.save()
    if changed:
        record_event(shelter, actor=actor, kind="updated", fields=changed)
    _record_override(shelter, actor, before=before)
    settle_status(shelter, actor=actor)
    return shelter


# --- opening, closing, and the status that follows the occupancy -----------------------------


@transaction.atomic
def open_shelter(*, actor, shelter: Shelter, note: str = "") -> Shelter:
    """Open a closed shelter for people (启用). Full at once if it has no free place."""
    require(actor, Capability.MANAGE_RESOURCES, shelter.region)
    note = _note(note)
    now = timezone.now()
    changed = Shelter.objects.filter(pk=shelter.pk, status=ShelterStatus.CLOSED).update(
        status=ShelterStatus.OPEN, opened_at=now, updated_at=now
    )
    if not changed:
        raise DomainError(_("避难场所已经开放"), code="shelter_already_open")
    record_event(
        shelter,
        actor=actor,
        kind="opened",
        from_state=ShelterStatus.CLOSED,
        to_state=ShelterStatus.OPEN,
        note=note,
    )
    shelter.refresh_from_db()
    settle_status(shelter, actor=actor)
    return shelter


@transaction.atomic
def close_shelter(*, actor, shelter: Shelter, note: str = "") -> Shelter:
    """Close an open (or full) shelter. Refused while anyone is registered as present: they
    leave or are moved first, so no one disappears from the register."""
    require(actor, Capability.MANAGE_RESOURCES, shelter.region)
    note = _note(note)
    current = Shelter.objects.select_for_update().get(pk=shelter.pk)
    if current.status == ShelterStatus.CLOSED:
        raise DomainError(_("避难场所已经关闭"), code="shelter_already_closed")
    if current.occupancy > 0:
        raise DomainError(
            _("场所内仍有 %(n)d 名安置人员，请先办理离开或转移登记后再关闭")
            % {"n": current.occupancy},
            code="shelter_not_empty",
            details={"occupancy": current.occupancy},
        )
    Shelter.objects.filter(pk=shelter.pk).update(
        status=ShelterStatus.CLOSED, updated_at=timezone.now()
    )
    record_event(
        shelter,
        actor=actor,
        kind="closed",
        from_state=current.status,
        to_state=ShelterStatus.CLOSED,
        note=note,
    )
    shelter.refresh_from_db()
    return shelter


def _note(note: str) -> str:
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=False, max_length=2000)
    cleaner.done()
    return note


def settle_status(shelter: Shelter, *, actor) -> str:
    """Open ↔ full after the occupancy or the capacity changed, in the caller's
    transaction. Both moves are conditional UPDATEs, so of two check-ins that fill the last
    places only one records the move."""
    now = timezone.now()
    filled = Shelter.objects.filter(
        pk=shelter.pk, status=ShelterStatus.OPEN, occupancy__gte=F("capacity")
    ).update(status=ShelterStatus.FULL, updated_at=now)
    if filled:
        record_event(
            shelter,
            actor=actor,
            kind="full",
            from_state=ShelterStatus.OPEN,
            to_state=ShelterStatus.FULL,
            note=_("安置人数已达容纳人数，自动转为已满员"),
        )
    freed = Shelter.objects.filter(
        pk=shelter.pk, status=ShelterStatus.FULL, occupancy__lt=F("capacity")
    ).update(status=ShelterStatus.OPEN, updated_at=now)
    if freed:
        record_event(
            shelter,
            actor=actor,
            kind="reopened",
            from_state=ShelterStatus.FULL,
            to_state=ShelterStatus.OPEN,
            note=_("有空余床位，自动恢复为已开放"),
        )
    status, occupancy = (
        Shelter.objects.filter(pk=shelter.pk).values_list("status", "occupancy").get()
    )
    shelter.status, shelter.occupancy = status, occupancy
    return status


# --- what the pages read ---------------------------------------------------------------------


def needs_summary(shelter: Shelter) -> dict[str, int]:
    """Counts of the people present by need, for the shelter's page and API: one query.
    Needs are encrypted, so they are decrypted here (a few thousand rows at most); the ages
    count too (60 and over: elderly; under 14: children) whether the need was ticked or not.
    Aggregates only: no one is named."""
    counts: Counter = Counter()
    total = 0
    rows = Evacuee.objects.filter(shelter=shelter, checked_out_at__isnull=True).values_list(
        "age", "needs"
    )
    for age, needs in rows:
        total += 1
        tags = set((needs or "").split(",")) - {""}
        if age is not None and age >= ELDERLY_AGE:
            tags.add(EvacueeNeed.ELDERLY)
        if age is not None and age < CHILD_AGE:
            tags.add(EvacueeNeed.CHILD)
        counts.update(tags)
    summary = {need: counts.get(need, 0) for need in EvacueeNeed.values}
    summary["total"] = total
    return summary


def handouts(shelter: Shelter, limit: int = 100) -> list[LedgerEntry]:
    """The lines of the stock issued to the shelter (出库 with purpose shelter), newest first:
    the shelter page lists them; the ledger is written by services/stock.py."""
    return list(
        LedgerEntry.objects.filter(
            movement__shelter=shelter,
            movement__kind=MovementKind.ISSUE,
            movement__purpose=IssuePurpose.SHELTER,
        )
        .select_related("movement__depot", "item")
        .order_by("-at", "-id")[:limit]
    )


def handout_totals(shelter: Shelter) -> list[dict]:
    """Per item, how much was handed to the shelter in all: one grouped query."""
    rows = (
        LedgerEntry.objects.filter(
            movement__shelter=shelter,
            movement__kind=MovementKind.ISSUE,
            movement__purpose=IssuePurpose.SHELTER,
        )
        .order_by()
        .values("item__code", "item__name", "item__unit")
        .annotate(quantity=-Sum("delta"))
        .order_by("item__code")
    )
    return [
        {
            "code": r["item__code"],
            "name": r["item__name"],
            "unit": r["item__unit"],
            "quantity": r["quantity"],
        }
        for r in rows
    ]


def free_places(shelter: Shelter) -> int:
    return max(0, shelter.capacity - shelter.occupancy)
