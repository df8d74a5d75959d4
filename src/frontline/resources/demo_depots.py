"""Demo depots: the four depots (四库) of every township station, in the station's compound or
next to it, and the county's own depots; each with its keeper and its storage places."""

from __future__ import annotations

from frontline.core.models import OrganizationKind
from frontline.resources.demo_common import (
    NewPeople,
    Units,
    address,
    centre,
    counties,
    is_town,
    near,
    townships_of,
)
from frontline.resources.models import FOUR_DEPOTS, Depot, DepotKind, StorageLocation

# Written in Chinese on purpose: these are the depots' names as painted on the door, not UI
# strings (the kind's label is translated where it is shown).
DEPOT_NAMES = {
    DepotKind.PRODUCTION_SAFETY: "安全生产救援器材库",
    DepotKind.FLOOD: "防汛防台抗旱物资库",
    DepotKind.FOREST_FIRE: "森林防火物资库",
    DepotKind.RELIEF: "救灾物资库",
}
# The county's depots: (kind, name after the county's, index of the township it stands in
# (-1: the first town, in the forested south), floor area m²).
COUNTY_DEPOTS = [
    (DepotKind.COMPREHENSIVE, "应急物资储备中心", 1, (2400, 3600)),
    (DepotKind.FLOOD, "防汛防台物资仓库", 4, (900, 1500)),
    (DepotKind.RELIEF, "救灾物资储备库", 2, (800, 1400)),
    (DepotKind.FOREST_FIRE, "森林消防物资储备库", -1, (400, 800)),
]
# Storage places (库位) by depot kind: (code, what is kept there).
SHELVES = [
    ("A-01", "A区1号货架"),
    ("A-02", "A区2号货架"),
    ("B-01", "B区1号货架"),
    ("B-02", "B区2号货架"),
]
EXTRA_PLACES = {
    DepotKind.PRODUCTION_SAFETY: [("C-01", "呼吸器充气及存放柜"), ("C-02", "防护服存放柜")],
    DepotKind.FLOOD: [
        ("D-01", "地堆区（编织袋、土工布）"),
        ("D-02", "室外堆场（砂石、木桩）"),
        ("E-01", "舟艇及排水设备区"),
    ],
    DepotKind.FOREST_FIRE: [("C-01", "扑火机具架"), ("C-02", "油料隔离间")],
    DepotKind.RELIEF: [("D-01", "帐篷被褥区"), ("F-01", "食品饮用水区（防潮垫仓）")],
    DepotKind.COMPREHENSIVE: [
        ("C-01", "个体防护区"),
        ("D-01", "地堆区"),
        ("D-02", "室外堆场"),
        ("E-01", "装备及车辆区"),
        ("F-01", "食品饮用水区"),
        ("F-02", "帐篷被褥区"),
    ],
}


def generate_depots(ctx) -> None:
    rng = ctx.rng
    depots: list[Depot] = []
    for county in counties(ctx):
        townships = townships_of(ctx, county)
        units = Units([county.pk] + [t.pk for t in townships], people_of={OrganizationKind.STATION})
        depots += _county_depots(county, townships, units, rng)
        for township in townships:
            depots += _township_depots(township, units, rng)
        ctx.report(len(depots), len(depots))
    Depot.objects.bulk_create(depots, batch_size=500)
    locations = [
        StorageLocation(depot=depot, code=code, name=name)
        for depot in depots
        for code, name in _places(depot, rng)
    ]
    StorageLocation.objects.bulk_create(locations, batch_size=1000)
    ctx.count("depots", len(depots))
    # The county depots' keepers are new people (see _county_depots).
    ctx.count("people.resources", sum(1 for depot in depots if depot.region.level == "county"))
    ctx.count("storage_locations", len(locations))


def _township_depots(township, units: Units, rng) -> list[Depot]:
    station = units.first(OrganizationKind.STATION, township)
    lon, lat = (station.lon, station.lat) if station and station.lon else centre(township)
    staff = units.station_staff(township)
    # Keepers are the station's staff, not its chief: one of them may keep two depots.
    keepers = [p for p in staff if p.position in {"工作人员", "副站长", "副所长"}] or staff
    base = address(township, rng, "（应急管理站物资仓库）")
    depots = []
    town = is_town(township)
    for index, kind in enumerate(FOUR_DEPOTS):
        dlon, dlat = near(lon, lat, rng, 150)
        area = rng.randint(60, 160) * (1.5 if kind == DepotKind.FLOOD else 1)
        if kind == DepotKind.FOREST_FIRE:
            area *= 1.3 if town else 0.5
        depots.append(
            Depot(
                region=township,
                name=f"{township.name}{DEPOT_NAMES[kind]}",
                kind=kind,
                address=f"{base}{index + 1}号库",
                lon=dlon,
                lat=dlat,
                keeper=keepers[index % len(keepers)] if keepers else None,
                area_m2=round(area),
                capacity_m3=round(area * rng.uniform(3.0, 4.2)),
                notes="四库统一设在应急管理站院内，钥匙由保管人和值班室各持一把。"
                if index == 0 and rng.random() < 0.3
                else "",
            )
        )
    return depots


def _county_depots(county, townships, units: Units, rng) -> list[Depot]:
    bureau = units.first(OrganizationKind.BUREAU, county)
    towns = [t for t in townships if is_town(t)] or townships
    keepers = NewPeople(rng)
    depots = []
    for kind, name, where, (low, high) in COUNTY_DEPOTS:
        if not townships:
            break
        township = towns[0] if where == -1 else townships[min(where, len(townships) - 1)]
        lon, lat = near(*centre(township), rng, 900)
        keeper = keepers.add(county, bureau, "仓库管理员")
        area = rng.randint(low, high)
        depots.append(
            Depot(
                region=county,
                name=f"{county.name}{name}",
                kind=kind,
                address=address(township, rng, f"（{county.name}{name}）"),
                lon=lon,
                lat=lat,
                keeper=keeper,
                area_m2=area,
                capacity_m3=round(area * rng.uniform(5.0, 7.0)),
                notes="区级储备，统一调拨到各乡镇街道。" if kind == DepotKind.COMPREHENSIVE else "",
            )
        )
    keepers.save()
    return depots


def _places(depot: Depot, rng) -> list[tuple[str, str]]:
    shelves = SHELVES if depot.kind == DepotKind.COMPREHENSIVE else SHELVES[: rng.randint(2, 4)]
    return list(shelves) + EXTRA_PLACES.get(depot.kind, [])
