"""Households (住户): create and update, home visits (走访), and who may read the roll.

The roll of households and residents is personal data even when masked (it says where the
elderly living alone and the disabled live), so it is read through `visible_households` /
`visible_residents`: the user's scope narrowed to the regions where they hold
`Capability.VIEW_RESIDENTS`. Station staff and grid workers have it; a leader, a liaison or
an enterprise officer does not.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.community.models import Building, Household, HouseholdVisit, Resident
from frontline.core.errors import InvalidInput
from frontline.core.models import Person, Region, RegionLevel
from frontline.core.roles import ROLE_CAPABILITIES, Capability, can
from frontline.core.scoping import active_assignments, scope_paths, subtree_q
from frontline.core.services.validation import Cleaner, require

# --- who reads the roll ---------------------------------------------------------------------


def roll_paths(user) -> list[str] | None:
    """Region paths where the user may read the resident roll (None: everywhere)."""
    paths = scope_paths(user)
    if paths is None:
        return None
    if not paths:
        return []
    allowed = [
        assignment.region.path
        for assignment in active_assignments(user)
        if Capability.VIEW_RESIDENTS in ROLE_CAPABILITIES.get(assignment.role, ())
    ]
    # The intersection of two sets of subtrees: the deeper path of each nested pair.
    kept = {p for p in paths if any(p.startswith(a) for a in allowed)}
    kept |= {a for a in allowed if any(a.startswith(p) for p in paths)}
    return sorted(kept)


def _roll(queryset, user):
    paths = roll_paths(user)
    if paths is None:
        return queryset.all()
    if not paths:
        return queryset.none()
    return queryset.filter(subtree_q("region__path", paths))


def may_read_roll(user) -> bool:
    """Whether the user may open the roll at all (the list pages answer 403 otherwise)."""
    return can(user, Capability.VIEW_RESIDENTS)


def visible_households(user):
    return _roll(Household.objects.visible_to(user), user)


def visible_residents(user):
    return _roll(Resident.objects.visible_to(user), user)


def visible_visits(user):
    return _roll(HouseholdVisit.objects.visible_to(user), user)


# --- checks shared with the residents and the import ---------------------------------------


def check_grid(cleaner: Cleaner, region: Region | None, field: str = "region") -> None:
    if region is not None and region.level != RegionLevel.GRID:
        cleaner.fail(field, _("住户须登记在网格上"))


def check_local_person(cleaner: Cleaner, person: Person | None, region: Region, field: str):
    """A 十户长 or a 包保责任人 belongs to the household's village: a person of the grid or
    of a sibling grid, or of the village, township or county above it."""
    if person is None:
        return
    village = region.path.rsplit("/", 2)[0] + "/" if region.parent_id else region.path
    local = region.path.startswith(person.region.path) or person.region.path.startswith(village)
    if not local:
        cleaner.fail(field, _("人员不在本住户所在村社区或其上级区划"))


def check_building(cleaner: Cleaner, building: Building | None, region: Region | None) -> None:
    if building is not None and region is not None and building.region_id != region.pk:
        cleaner.fail("building", _("楼栋不在该网格内"))


def clean_household(cleaner: Cleaner, data: dict) -> dict:
    cleaned = dict(data)
    if "address" in data:
        cleaned["address"] = cleaner.text(data["address"], "address", required=True, max_length=200)
    if "notes" in data:
        cleaned["notes"] = cleaner.text(data["notes"], "notes", required=False, max_length=2000)
    for flag in ("dilapidated", "low_lying", "geohazard"):
        if flag in data:
            cleaned[flag] = bool(data[flag])
    for axis, limit in (("lon", 180), ("lat", 90)):
        value = data.get(axis)
        if value is not None and not -limit <= value <= limit:
            cleaner.fail(axis, _("坐标超出范围"))
    if ("lon" in data or "lat" in data) and (data.get("lon") is None) != (data.get("lat") is None):
        cleaner.fail("lat", _("经度和纬度需同时填写"))
    return cleaned


def _save_household(household: Household) -> Household:
    try:
        with transaction.atomic():
            household.save()
    except IntegrityError:
        message = _("本网格已有相同门牌地址的住户")
        raise InvalidInput(message, details={"address": message}) from None
    return household


# --- households ------------------------------------------------------------------------------


@transaction.atomic
def create_household(
    *,
    actor,
    region: Region,
    address: str,
    building: Building | None = None,
    lon: float | None = None,
    lat: float | None = None,
    group_leader: Person | None = None,
    dilapidated: bool = False,
    low_lying: bool = False,
    geohazard: bool = False,
    notes: str = "",
) -> Household:
    require(actor, Capability.EDIT, region)
    require(actor, Capability.VIEW_RESIDENTS, region)
    cleaner = Cleaner()
    data = clean_household(
        cleaner,
        {
            "address": address,
            "lon": lon,
            "lat": lat,
            "dilapidated": dilapidated,
            "low_lying": low_lying,
            "geohazard": geohazard,
            "notes": notes,
        },
    )
    check_grid(cleaner, region)
    check_building(cleaner, building, region)
    check_local_person(cleaner, group_leader, region, "group_leader")
    cleaner.done()
    if data["lon"] is None and building is not None and building.lon is not None:
        data["lon"], data["lat"] = building.lon, building.lat
    household = Household(region=region, building=building, group_leader=group_leader, **data)
    return _save_household(household)


HOUSEHOLD_FIELDS = {
    "address",
    "building",
    "lon",
    "lat",
    "group_leader",
    "dilapidated",
    "low_lying",
    "geohazard",
    "notes",
}


@transaction.atomic
def update_household(*, actor, household: Household, **changes) -> Household:
    """Change the given fields. A household does not change grid: residents who move go to
    another household (`move_resident`)."""
    require(actor, Capability.EDIT, household.region)
    require(actor, Capability.VIEW_RESIDENTS, household.region)
    unknown = set(changes) - HOUSEHOLD_FIELDS
    if unknown:
        raise InvalidInput(_("不能修改这些字段"), details={f: _("不可修改") for f in unknown})
    cleaner = Cleaner()
    located = {"lon": household.lon, "lat": household.lat, **changes}
    data = clean_household(cleaner, located)
    if "building" in changes:
        check_building(cleaner, changes["building"], household.region)
    if "group_leader" in changes:
        check_local_person(cleaner, changes["group_leader"], household.region, "group_leader")
    cleaner.done()
    for field in changes:
        setattr(household, field, data[field])
    return _save_household(household)


@transaction.atomic
def record_visit(
    *,
    actor,
    household: Household,
    resident: Resident | None = None,
    at: datetime | None = None,
    note: str = "",
) -> HouseholdVisit:
    """A home visit; the resident visited (or, for a visit of the whole household, every
    resident) gets `last_visited_at`."""
    require(actor, Capability.EDIT, household.region)
    require(actor, Capability.VIEW_RESIDENTS, household.region)
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=False, max_length=2000)
    now = timezone.now()
    at = at or now
    if timezone.is_naive(at):  # a local time without offset: the station's time zone
        at = timezone.make_aware(at)
    if at > now + timedelta(minutes=5):
        cleaner.fail("at", _("走访时间不能晚于现在"))
    if resident is not None and resident.household_id != household.pk:
        cleaner.fail("resident", _("该居民不属于此住户"))
    cleaner.done()
    visit = HouseholdVisit.objects.create(
        household=household,
        resident=resident,
        region=household.region,
        at=at,
        visitor=actor,
        note=note,
    )
    residents = Resident.objects.filter(household=household)
    if resident is not None:
        residents = residents.filter(pk=resident.pk)
    # A visit entered late never moves the date back.
    residents.filter(last_visited_at__isnull=True).update(last_visited_at=at)
    residents.filter(last_visited_at__lt=at).update(last_visited_at=at)
    return visit
