"""Buildings (一楼一档): create and update a building's file.

Every function is keyword-only, takes `actor=`, checks `Capability.EDIT` for the building's
grid (and for the new one when it moves), reports every wrong field at once and runs in one
transaction. The generic change log records each save (the responsible person's phone is
encrypted at rest and masked in the log). The clear view of that phone is
`core.services.reveal_personal_field`, logged like every other.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.community.models import Building, BuildingStructure, BuildingUse, EbikeCharging
from frontline.core.errors import InvalidInput
from frontline.core.geo import outside_china
from frontline.core.models import Region, RegionLevel
from frontline.core.roles import Capability
from frontline.core.services.attachments import sync_attachment_region
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.services.objects import (
    _unknown_fields,
    clean_bool,
    clean_location,
    clean_number,
)

# Where a building (and a public safety facility) is filed: the grid, or the village when it
# has no grids.
PLACE_LEVELS = (RegionLevel.VILLAGE, RegionLevel.GRID)

BUILDING_FIELDS = {
    "region",
    "name",
    "address",
    "lon",
    "lat",
    "use",
    "structure",
    "floors_above",
    "floors_below",
    "height_m",
    "year_built",
    "floor_area",
    "dwelling_units",
    "hydrants",
    "extinguishers",
    "smoke_alarms",
    "has_sprinklers",
    "has_fire_alarm_system",
    "exits",
    "stairs",
    "ebike_charging",
    "responsible_name",
    "responsible_phone",
    "notes",
}

# Whole numbers: field → (minimum, maximum, value when left empty; None = required).
_COUNTS = {
    "floors_above": (1, 200, None),
    "floors_below": (0, 20, 0),
    "dwelling_units": (0, 100_000, 0),
    "hydrants": (0, 32_767, 0),
    "extinguishers": (0, 32_767, 0),
    "smoke_alarms": (0, 32_767, 0),
    "exits": (1, 100, 1),
    "stairs": (0, 100, 1),
}
OLDEST_YEAR = 1000


def clean_place_location(cleaner: Cleaner, data: dict) -> None:
    """WGS-84 lon/lat, both or neither, inside China (a swapped pair or a GCJ-02 point from
    abroad lands far outside)."""
    clean_location(cleaner, data)
    lon, lat = data.get("lon"), data.get("lat")
    if lon is None or lat is None or {"lon", "lat"} & set(cleaner.details):
        return
    if outside_china(lon, lat):
        cleaner.fail("lon", _("坐标不在中国境内，请检查经纬度是否填反"))


def check_place_region(cleaner: Cleaner, region: Region | None) -> None:
    if region is not None and region.level not in PLACE_LEVELS:
        cleaner.fail("region", _("应登记到村（社区）或网格"))


def clean_building(cleaner: Cleaner, data: dict) -> dict:
    """Check the given building fields (only those present). The spreadsheet import uses it
    row by row; `check_building` adds the rules between fields."""
    cleaned = dict(data)
    if "name" in data:
        cleaned["name"] = cleaner.text(data["name"], "name", required=True, max_length=120)
    if "address" in data:
        cleaned["address"] = cleaner.text(data["address"], "address", required=True, max_length=200)
    if "use" in data:
        cleaned["use"] = cleaner.choice(data["use"], "use", BuildingUse)
    if "structure" in data:
        cleaned["structure"] = cleaner.choice(data["structure"], "structure", BuildingStructure)
    for field, (minimum, maximum, empty) in _COUNTS.items():
        if field not in data:
            continue
        number = clean_number(
            cleaner, data[field], field, minimum=minimum, maximum=maximum, integer=True
        )
        if number is None and field not in cleaner.details:
            if empty is None:
                cleaner.fail(field, _("此字段为必填项"))
            number = empty
        cleaned[field] = number
    if "height_m" in data:
        cleaned["height_m"] = clean_number(
            cleaner, data["height_m"], "height_m", minimum=1, maximum=1000
        )
    if "floor_area" in data:
        cleaned["floor_area"] = clean_number(
            cleaner, data["floor_area"], "floor_area", minimum=1, maximum=10_000_000
        )
    if "year_built" in data:
        year = clean_number(
            cleaner, data["year_built"], "year_built", minimum=OLDEST_YEAR, integer=True
        )
        if year is not None and year > timezone.localdate().year:
            cleaner.fail("year_built", _("建成年份不能晚于今年"))
        cleaned["year_built"] = year
    for field in ("has_sprinklers", "has_fire_alarm_system"):
        if field in data:
            cleaned[field] = clean_bool(cleaner, data[field], field)
    if "ebike_charging" in data:
        value = (data["ebike_charging"] or "").strip()
        if value and value not in EbikeCharging.values:
            cleaner.fail("ebike_charging", _("请选择"))
        cleaned["ebike_charging"] = value
    if "responsible_name" in data:
        cleaned["responsible_name"] = cleaner.text(
            data["responsible_name"], "responsible_name", required=False, max_length=50
        )
    if "responsible_phone" in data:
        cleaned["responsible_phone"] = cleaner.phone(data["responsible_phone"], "responsible_phone")
    if "notes" in data:
        cleaned["notes"] = cleaner.text(data["notes"], "notes", required=False, max_length=2000)
    clean_place_location(cleaner, cleaned)
    return cleaned


def check_building(cleaner: Cleaner, building: dict) -> None:
    """Rules between fields, on the building as it would be saved (stored values merged with
    the changes)."""
    floors, stairs = building.get("floors_above"), building.get("stairs")
    if (
        isinstance(floors, int)
        and isinstance(stairs, int)
        and floors > 1
        and stairs == 0
        and "stairs" not in cleaner.details
    ):
        cleaner.fail("stairs", _("两层及以上的楼栋至少应有 1 部疏散楼梯"))


def _check_name_free(cleaner: Cleaner, region: Region, name: str, pk: int | None) -> None:
    if "name" in cleaner.details or "region" in cleaner.details:
        return
    taken = Building.objects.filter(region=region, name=name)
    if pk is not None:
        taken = taken.exclude(pk=pk)
    if taken.exists():
        cleaner.fail("name", _("该网格内已有同名楼栋"))


def _save(building: Building) -> Building:
    try:
        with transaction.atomic():
            building.save()
    except IntegrityError:  # a concurrent save took the name between the check and the write
        raise InvalidInput(
            _("输入有误，请检查标注的字段"), details={"name": _("该网格内已有同名楼栋")}
        ) from None
    return building


@transaction.atomic
def create_building(
    *,
    actor,
    region: Region,
    name: str,
    address: str,
    use: str,
    structure: str,
    floors_above: int = 1,
    **details,
) -> Building:
    """A new building file. `details` are the other fields of BUILDING_FIELDS."""
    require(actor, Capability.EDIT, region)
    _unknown_fields(details, BUILDING_FIELDS - {"region"})
    cleaner = Cleaner()
    data = clean_building(
        cleaner,
        {
            "name": name,
            "address": address,
            "use": use,
            "structure": structure,
            "floors_above": floors_above,
            **details,
        },
    )
    check_place_region(cleaner, region)
    check_building(cleaner, {"stairs": 1, **data})
    _check_name_free(cleaner, region, data["name"], None)
    cleaner.done()
    return _save(Building(region=region, **data))


@transaction.atomic
def update_building(*, actor, building: Building, **changes) -> Building:
    """Change the given fields; a field left out keeps its value. Moving to another grid needs
    the edit capability there too, and the building's photos follow it."""
    require(actor, Capability.EDIT, building.region)
    _unknown_fields(changes, BUILDING_FIELDS)
    region = changes.pop("region", building.region)
    moved = region.pk != building.region_id
    if moved:
        require(actor, Capability.EDIT, region)
    cleaner = Cleaner()
    # A coordinate is always checked together with the other one, changed or stored.
    data = clean_building(cleaner, {"lon": building.lon, "lat": building.lat, **changes})
    if moved:
        check_place_region(cleaner, region)
    stored = {f: getattr(building, f) for f in ("floors_above", "stairs")}
    check_building(cleaner, stored | data)
    if moved or "name" in changes:
        _check_name_free(cleaner, region, data.get("name", building.name), building.pk)
    cleaner.done()
    for field, value in data.items():
        setattr(building, field, value)
    building.region = region
    _save(building)
    if moved:
        sync_attachment_region(building)
    return building
