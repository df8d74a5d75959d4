"""Builders for the resources tests (and for other apps' tests that need a depot, a team or
a shelter). They write rows directly; the services have their own tests."""

from __future__ import annotations

import itertools

from frontline.core.models import Person, Region
from frontline.resources.models import (
    Depot,
    DepotKind,
    Equipment,
    EquipmentKind,
    Expert,
    ExpertField,
    RescueTeam,
    Shelter,
    ShelterClass,
    ShelterLevel,
    SupplyCategory,
    SupplyItem,
    TeamKind,
    TeamMember,
    capacity_for_area,
    pack_capabilities,
)

_serial = itertools.count(1)

# Inside the world's township (core.testing.build_world): [120.35, 120.45] × [29.95, 30.05].
TOWNSHIP_LON, TOWNSHIP_LAT = 120.40, 30.00


def make_item(
    code: str | None = None, name: str | None = None, unit: str = "件", **kw
) -> SupplyItem:
    """An item under a small class 101 01 (created on first use) unless `category` is given."""
    n = next(_serial)
    code = code or f"19999{n % 100:02d}"
    if "category" not in kw:
        top, _ = SupplyCategory.objects.get_or_create(code=code[0], defaults={"name": "大类"})
        middle, _ = SupplyCategory.objects.get_or_create(
            code=code[:3], defaults={"name": "中类", "parent": top}
        )
        kw["category"], _ = SupplyCategory.objects.get_or_create(
            code=code[:5], defaults={"name": "小类", "parent": middle}
        )
    return SupplyItem.objects.create(code=code, name=name or f"物资{n}", unit=unit, **kw)


def make_depot(region: Region, kind: str = DepotKind.RELIEF, name: str | None = None, **kw):
    kw.setdefault("lon", TOWNSHIP_LON)
    kw.setdefault("lat", TOWNSHIP_LAT)
    return Depot.objects.create(
        region=region, kind=kind, name=name or f"{region.name}物资库{next(_serial)}", **kw
    )


def make_team(region: Region, kind: str = TeamKind.RESCUE_SQUAD, capabilities=(), **kw):
    kw.setdefault("lon", TOWNSHIP_LON)
    kw.setdefault("lat", TOWNSHIP_LAT)
    kw.setdefault("name", f"{region.name}救援队{next(_serial)}")
    return RescueTeam.objects.create(
        region=region, kind=kind, capabilities=pack_capabilities(capabilities), **kw
    )


def make_member(team: RescueTeam, person: Person | None = None, **kw) -> TeamMember:
    if person is None:
        person = Person.objects.create(region=team.region, name=f"队员{next(_serial)}")
    return TeamMember.objects.create(team=team, person=person, **kw)


def make_equipment(region: Region, kind: str = EquipmentKind.PUMP, capabilities=(), **kw):
    kw.setdefault("lon", TOWNSHIP_LON)
    kw.setdefault("lat", TOWNSHIP_LAT)
    kw.setdefault("name", f"装备{next(_serial)}")
    return Equipment.objects.create(
        region=region, kind=kind, capabilities=pack_capabilities(capabilities), **kw
    )


def make_shelter(region: Region, area_m2: float = 1500.0, **kw) -> Shelter:
    kw.setdefault("lon", TOWNSHIP_LON)
    kw.setdefault("lat", TOWNSHIP_LAT)
    kw.setdefault("name", f"{region.name}避难场所{next(_serial)}")
    kw.setdefault("shelter_class", ShelterClass.CLASS_III)
    kw.setdefault("level", ShelterLevel.TOWNSHIP)
    kw.setdefault("capacity", capacity_for_area(area_m2))
    return Shelter.objects.create(region=region, usable_area_m2=area_m2, **kw)


def make_expert(region: Region, field: str = ExpertField.HAZMAT, **kw) -> Expert:
    person = kw.pop("person", None) or Person.objects.create(
        region=region, name=f"专家{next(_serial)}", mobile="13800138000"
    )
    return Expert.objects.create(region=region, person=person, field=field, **kw)
