"""Depots (应急物资储备库): registering and editing them, the storage places inside them and
the minimum levels (最低储备量) below which the keeper must restock.

Every write needs MANAGE_RESOURCES over the depot's region, is one transaction and leaves a
row on the depot's timeline (`record_event`). The stock itself only moves through
`services/stock.py`; this module never touches a quantity.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from frontline.core.errors import DomainError
from frontline.core.geo import outside_china
from frontline.core.models import Person, Region, RegionLevel
from frontline.core.roles import Capability
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.services.objects import _unknown_fields, clean_location, clean_number
from frontline.resources.models import (
    Depot,
    DepotKind,
    DepotStatus,
    StockLot,
    StockMinimum,
    StorageLocation,
    SupplyItem,
)
from frontline.resources.services import stock
from frontline.resources.services.events import record_event

# A depot is kept by the county bureau, a township station or a community station.
DEPOT_LEVELS = (RegionLevel.COUNTY, RegionLevel.TOWNSHIP, RegionLevel.VILLAGE)
MAX_AREA_M2 = 1_000_000.0
MAX_CAPACITY_M3 = 10_000_000.0

DEPOT_FIELDS = {
    "region",
    "name",
    "kind",
    "address",
    "lon",
    "lat",
    "keeper",
    "area_m2",
    "capacity_m3",
    "status",
    "notes",
}


# --- checks ----------------------------------------------------------------------------------


def clean_depot(cleaner: Cleaner, data: dict) -> dict:
    """Check the given depot fields (only those present); the spreadsheet import uses it
    row by row."""
    cleaned = dict(data)
    if "name" in data:
        cleaned["name"] = cleaner.text(data["name"], "name", required=True, max_length=120)
    if "kind" in data:
        cleaned["kind"] = cleaner.choice(data["kind"], "kind", DepotKind)
    if "status" in data:
        cleaned["status"] = cleaner.choice(data["status"], "status", DepotStatus)
    if "address" in data:
        cleaned["address"] = cleaner.text(
            data["address"], "address", required=False, max_length=200
        )
    if "notes" in data:
        cleaned["notes"] = cleaner.text(data["notes"], "notes", required=False, max_length=2000)
    if "area_m2" in data:
        cleaned["area_m2"] = clean_number(
            cleaner, data["area_m2"], "area_m2", minimum=0, maximum=MAX_AREA_M2
        )
    if "capacity_m3" in data:
        cleaned["capacity_m3"] = clean_number(
            cleaner, data["capacity_m3"], "capacity_m3", minimum=0, maximum=MAX_CAPACITY_M3
        )
    if "lon" in data or "lat" in data:
        clean_location(cleaner, cleaned)
        lon, lat = cleaned.get("lon"), cleaned.get("lat")
        if not {"lon", "lat"} & set(cleaner.details):
            # The map, the nearby search and the dispatch distances all need the point.
            if lon is None:
                cleaner.fail("lon", _("请填写储备库的经纬度"))
            elif outside_china(lon, lat):
                cleaner.fail("lon", _("坐标不在中国境内，请检查经纬度是否填反"))
    return cleaned


def check_depot_region(cleaner: Cleaner, region: Region | None) -> None:
    if region is not None and region.level not in DEPOT_LEVELS:
        cleaner.fail("region", _("储备库应登记到区县、乡镇街道或村（社区）"))


def check_keeper(cleaner: Cleaner, keeper: Person | None, region: Region | None) -> None:
    """The keeper works in the depot's subtree: above it (a county clerk keeping a township
    depot) or below it."""
    if keeper is None or region is None:
        return
    path = keeper.region.path
    if not (region.path.startswith(path) or path.startswith(region.path)):
        cleaner.fail("keeper", _("保管人不在储备库所属区划之内"))


def _check_unique_name(cleaner: Cleaner, region: Region | None, name: str, exclude=None) -> None:
    if region is None or not name or "name" in cleaner.details:
        return
    taken = Depot.objects.filter(region=region, name=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        cleaner.fail("name", _("该区划内已有同名储备库"))


# --- depots ----------------------------------------------------------------------------------


@transaction.atomic
def create_depot(
    *,
    actor,
    region: Region,
    name: str,
    kind: str,
    lon: float | None,
    lat: float | None,
    address: str = "",
    keeper: Person | None = None,
    area_m2: float | None = None,
    capacity_m3: float | None = None,
    status: str = DepotStatus.IN_USE,
    notes: str = "",
) -> Depot:
    require(actor, Capability.MANAGE_RESOURCES, region)
    cleaner = Cleaner()
    data = clean_depot(
        cleaner,
        {
            "name": name,
            "kind": kind,
            "lon": lon,
            "lat": lat,
            "address": address,
            "area_m2": area_m2,
            "capacity_m3": capacity_m3,
            "status": status,
            "notes": notes,
        },
    )
    check_depot_region(cleaner, region)
    check_keeper(cleaner, keeper, region)
    _check_unique_name(cleaner, region, data["name"])
    cleaner.done()
    depot = Depot.objects.create(region=region, keeper=keeper, **data)
    record_event(depot, actor=actor, kind="created", to_state=depot.status)
    return depot


@transaction.atomic
def update_depot(*, actor, depot: Depot, **changes) -> Depot:
    """Change the given fields. Moving a depot to another region needs the right over both;
    a suspended depot keeps its stock but receives nothing until it is back in use."""
    require(actor, Capability.MANAGE_RESOURCES, depot.region)
    _unknown_fields(changes, DEPOT_FIELDS)
    depot = Depot.objects.select_for_update(of=("self",)).select_related("region").get(pk=depot.pk)
    region = changes.pop("region", depot.region)
    moved = region.pk != depot.region_id
    if moved:
        require(actor, Capability.MANAGE_RESOURCES, region)
    keeper = changes.pop("keeper", depot.keeper)
    if {"lon", "lat"} & set(changes):
        # The pair is checked together: a new longitude alone keeps the stored latitude.
        changes = {"lon": depot.lon, "lat": depot.lat, **changes}
    cleaner = Cleaner()
    data = clean_depot(cleaner, changes)
    if moved:
        check_depot_region(cleaner, region)
    check_keeper(cleaner, keeper, region)
    _check_unique_name(cleaner, region, data.get("name", depot.name), exclude=depot)
    cleaner.done()
    before = depot.status
    changed = [name for name, value in data.items() if getattr(depot, name) != value]
    if moved:
        changed.append("region")
    if (keeper.pk if keeper else None) != depot.keeper_id:
        changed.append("keeper")
    if not changed:
        return depot
    for name, value in data.items():
        setattr(depot, name, value)
    depot.region, depot.keeper = region, keeper
    depot.save()
    kind = "status_changed" if "status" in changed else "updated"
    record_event(
        depot,
        actor=actor,
        kind=kind,
        from_state=before if kind == "status_changed" else "",
        to_state=depot.status if kind == "status_changed" else "",
        fields=sorted(changed),
    )
    return depot


# --- storage locations -----------------------------------------------------------------------


def _clean_location_fields(code, name) -> tuple[str, str]:
    cleaner = Cleaner()
    code = cleaner.text(code, "code", required=True, max_length=32)
    name = cleaner.text(name, "name", required=False, max_length=60)
    cleaner.done()
    return code, name


def _check_free_code(depot: Depot, code: str, exclude: StorageLocation | None = None) -> None:
    taken = StorageLocation.objects.filter(depot=depot, code=code)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        cleaner = Cleaner()
        cleaner.fail("code", _("该储备库已有此库位编号"))
        cleaner.done()


@transaction.atomic
def add_location(*, actor, depot: Depot, code: str, name: str = "") -> StorageLocation:
    require(actor, Capability.MANAGE_RESOURCES, depot.region)
    code, name = _clean_location_fields(code, name)
    _check_free_code(depot, code)
    location = StorageLocation.objects.create(depot=depot, code=code, name=name)
    record_event(depot, actor=actor, kind="location_added", note=code, location=location.pk)
    return location


@transaction.atomic
def update_location(
    *, actor, location: StorageLocation, code: str, name: str = ""
) -> StorageLocation:
    depot = location.depot
    require(actor, Capability.MANAGE_RESOURCES, depot.region)
    code, name = _clean_location_fields(code, name)
    _check_free_code(depot, code, exclude=location)
    before = location.code
    location.code, location.name = code, name
    location.save(update_fields=["code", "name"])
    note = f"{before} → {code}" if before != code else code
    record_event(depot, actor=actor, kind="location_changed", note=note, location=location.pk)
    return location


@transaction.atomic
def remove_location(*, actor, location: StorageLocation) -> None:
    """Only an empty place goes: deleting one that holds goods would leave its lots without a
    place (the foreign key is SET_NULL) and the keeper searching the shelves."""
    depot = location.depot
    require(actor, Capability.MANAGE_RESOURCES, depot.region)
    if StockLot.objects.filter(location=location, quantity__gt=0).exists():
        raise DomainError(
            _("库位 %(code)s 上还有物资，请先移库或出库") % {"code": location.code},
            code="location_in_use",
        )
    code = location.code
    location.delete()
    record_event(depot, actor=actor, kind="location_removed", note=code)


# --- minimum levels --------------------------------------------------------------------------


@transaction.atomic
def set_minimum(*, actor, depot: Depot, item: SupplyItem, minimum) -> StockMinimum:
    """Set (or change) the minimum level of an item in a depot. The low-stock check runs at
    once, so a minimum set above what is in stock raises the alert now, not at the next
    movement."""
    require(actor, Capability.MANAGE_RESOURCES, depot.region)
    cleaner = Cleaner()
    value = clean_number(
        cleaner, minimum, "minimum", minimum=1, maximum=stock.MAX_QUANTITY, integer=True
    )
    if value is None and "minimum" not in cleaner.details:
        cleaner.fail("minimum", _("此字段为必填项"))
    cleaner.done()
    row, created = StockMinimum.objects.get_or_create(
        depot=depot, item=item, defaults={"minimum": value}
    )
    before = None if created else row.minimum
    if not created and row.minimum != value:
        row.minimum = value
        # A new level is a new question: the next check decides afresh whether it is low.
        row.low_since = None
        row.save(update_fields=["minimum", "low_since"])
    if created or before != value:
        record_event(
            depot,
            actor=actor,
            kind="minimum_set",
            note=f"{item.code} {item.name}",
            item=item.pk,
            before=before,
            minimum=value,
        )
        stock._after_movement(depot, {item.pk})
    row.refresh_from_db()
    return row


@transaction.atomic
def remove_minimum(*, actor, minimum: StockMinimum) -> None:
    depot = minimum.depot
    require(actor, Capability.MANAGE_RESOURCES, depot.region)
    item = minimum.item
    value = minimum.minimum
    minimum.delete()
    record_event(
        depot,
        actor=actor,
        kind="minimum_removed",
        note=f"{item.code} {item.name}",
        item=item.pk,
        before=value,
    )
