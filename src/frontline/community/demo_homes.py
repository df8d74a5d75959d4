"""Demo data of the homes: the home township (柯岩街道) lived in street by street.

Every grid of the home township gets its buildings (一楼一档), its households and about
30,000 residents in all, with the shares of vulnerable people a suburban Zhejiang township
has (see SHARES), one-to-one helpers and household group leaders (十户长). Every grid of the
district gets its public safety facilities, some of them overdue for a check; every grid
worker gets their posts; the home township's grids get patrol plans and a month of patrol
runs with check-ins (a few flagged), findings and gaps.

Written in bulk, like the other apps' demo parts: a system job creating fresh data.
Encrypted fields are encrypted on insert by their field, as the services would.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.db import connection
from django.utils import timezone
from shapely.geometry import Point

from frontline.community.models import (
    Building,
    BuildingStructure,
    BuildingUse,
    EbikeCharging,
    GridPost,
    GridRole,
    Household,
    HouseholdVisit,
    Mobility,
    Relation,
    Resident,
)
from frontline.community.models import VulnerableCategory as V
from frontline.core.bulk import insert_rows
from frontline.core.crypto import encryptor, keyed_digest
from frontline.core.demo.names import MobileNumbers, person_name
from frontline.core.demo.people import HOME_TOWNSHIP
from frontline.core.models import Person, RegionLevel, RoleAssignment
from frontline.core.roles import Role
from frontline.core.services.validation import id_check_digit

RESIDENTS_TARGET = 30_000
TODAY_YEAR = 2026

# Shares among residents (Zhejiang suburban township; 七普 and the disability survey give the
# orders of magnitude). Living alone is decided per household, aged 80+ by the birth year.
SHARES = {
    V.DISABLED: 0.045,
    V.CHRONIC_ILLNESS: 0.03,  # registered for attention: severe, not every patient
    V.BEDRIDDEN: 0.006,
    V.MEDICAL_DEVICE: 0.002,
}
PREGNANT_SHARE = 0.03  # of women aged 20–40
LEFT_BEHIND_SHARE = 0.08  # of children in villages whose parents work away
ELDERLY_ALONE_HOUSEHOLDS = 0.07


def point_in(polygon, rng) -> tuple[float, float]:
    minx, miny, maxx, maxy = polygon.bounds
    for _ in range(50):
        lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if polygon.contains(Point(lon, lat)):
            return round(lon, 6), round(lat, 6)
    point = polygon.representative_point()
    return round(point.x, 6), round(point.y, 6)


def home_grids(regions) -> list:
    return sorted(
        (
            r
            for r in regions.values()
            if r.level == RegionLevel.GRID and r.code.startswith(HOME_TOWNSHIP)
        ),
        key=lambda r: r.code,
    )


# --- buildings, households, residents ------------------------------------------------------


def _buildings_for(grid, polygon, is_community: bool, households: int, rng) -> list[Building]:
    """Apartment blocks in a community, one self-built house per household in a village."""
    buildings = []
    village = grid.parent.name if grid.parent is not None else ""
    if is_community:
        left, number = households, 0
        while left > 0:
            number += 1
            floors = rng.choice([6, 6, 7, 11, 12, 18])
            units = rng.choice([2, 3, 4])
            dwellings = min(left, floors * units * 2)
            left -= dwellings
            lon, lat = point_in(polygon, rng)
            high = floors >= 11
            buildings.append(
                Building(
                    region=grid,
                    name=f"{grid.name[-4:]}{number}幢",
                    address=f"{village}{rng.randint(1, 300)}号{number}幢",
                    lon=lon,
                    lat=lat,
                    use=BuildingUse.RESIDENTIAL if rng.random() < 0.9 else BuildingUse.MIXED,
                    structure=BuildingStructure.REINFORCED_CONCRETE
                    if high
                    else BuildingStructure.BRICK_CONCRETE,
                    floors_above=floors,
                    floors_below=1 if high else 0,
                    height_m=round(floors * 2.9, 1),
                    year_built=rng.randint(1995, 2022),
                    floor_area=round(dwellings * rng.uniform(75, 120), 1),
                    dwelling_units=floors * units * 2,
                    hydrants=floors * units if high else 0,
                    extinguishers=floors * units * 2,
                    smoke_alarms=rng.randint(0, floors * units * 2),
                    has_sprinklers=high and rng.random() < 0.5,
                    has_fire_alarm_system=high,
                    exits=units,
                    stairs=units,
                    ebike_charging=rng.choices(list(EbikeCharging.values), weights=[6, 3, 2, 1, 1])[
                        0
                    ],
                    responsible_name=person_name(rng),
                    responsible_phone="",
                )
            )
            buildings[-1]._units = units  # for door numbers, not stored
        return buildings
    for number in range(1, households + 1):
        lon, lat = point_in(polygon, rng)
        buildings.append(
            Building(
                region=grid,
                name=f"{village}{grid.code[-3:]}-{number}号",
                address=f"{village}{grid.code[-2:]}组{number}号",
                lon=lon,
                lat=lat,
                use=BuildingUse.SELF_BUILT,
                structure=rng.choices(
                    [BuildingStructure.BRICK_CONCRETE, BuildingStructure.BRICK_WOOD],
                    weights=[8, 2],
                )[0],
                floors_above=rng.choice([2, 3, 3, 4]),
                year_built=rng.randint(1980, 2020),
                floor_area=round(rng.uniform(120, 400), 1),
                dwelling_units=1,
                extinguishers=rng.choice([0, 1, 2]),
                smoke_alarms=rng.choice([0, 0, 1, 2]),
                ebike_charging=rng.choices(list(EbikeCharging.values), weights=[2, 2, 6, 2, 1])[0],
                responsible_name="",
            )
        )
    return buildings


class IdNumbers:
    """Unique, valid 18-digit ID numbers of people born in the county."""

    def __init__(self, county_code: str, rng):
        self.prefix = county_code[:6]
        self.rng = rng
        self.used: set[str] = set()

    def next(self, born: date, female: bool) -> str:
        while True:
            serial = self.rng.randrange(0, 500) * 2 + (0 if female else 1)
            body = f"{self.prefix}{born:%Y%m%d}{serial:03d}"
            if body not in self.used:
                self.used.add(body)
                return body + id_check_digit(body)


def _household_members(rng, alone_elderly: bool) -> list[tuple[str, int, bool]]:
    """(relation, birth year, female) of each member."""
    if alone_elderly:
        return [(Relation.HEAD, TODAY_YEAR - rng.randint(66, 94), rng.random() < 0.6)]
    head_age = rng.randint(24, 82)
    female = rng.random() < 0.35
    members = [(Relation.HEAD, TODAY_YEAR - head_age, female)]
    if head_age > 22 and rng.random() < 0.8:
        members.append(
            (Relation.SPOUSE, TODAY_YEAR - max(20, head_age + rng.randint(-4, 3)), not female)
        )
    if 24 <= head_age <= 60:
        for _ in range(rng.choices([0, 1, 2], weights=[3, 5, 2])[0]):
            members.append(
                (
                    Relation.CHILD,
                    TODAY_YEAR - rng.randint(0, max(0, head_age - 22)),
                    rng.random() < 0.5,
                )
            )
    if head_age < 55 and rng.random() < 0.25:
        members.append(
            (
                Relation.PARENT,
                TODAY_YEAR - min(95, head_age + rng.randint(24, 32)),
                rng.random() < 0.5,
            )
        )
    if head_age >= 55 and rng.random() < 0.2:
        members.append((Relation.GRANDCHILD, TODAY_YEAR - rng.randint(1, 15), rng.random() < 0.5))
    return members


def _categories(rng, birth_year: int, female: bool, alone: bool, in_village: bool) -> list[str]:
    age = TODAY_YEAR - birth_year
    found = []
    if alone and age >= 60:
        found.append(V.ELDERLY_ALONE)
    if age >= 80:
        found.append(V.AGED_80)
    for category, share in SHARES.items():
        weight = 3 if age >= 65 and category != V.DISABLED else 1
        if rng.random() < share * weight * (0.6 if age < 50 else 1):
            found.append(category)
    if female and 20 <= age <= 40 and rng.random() < PREGNANT_SHARE:
        found.append(V.PREGNANT)
    if in_village and age < 16 and rng.random() < LEFT_BEHIND_SHARE:
        found.append(V.LEFT_BEHIND_CHILD)
    return found


def _mobility(rng, categories: list[str]) -> str:
    if V.BEDRIDDEN in categories:
        return Mobility.STRETCHER
    if V.DISABLED in categories or V.AGED_80 in categories:
        return Mobility.NEEDS_HELP if rng.random() < 0.5 else Mobility.WALKS
    return Mobility.WALKS if categories else ""


HEALTH_NOTES = {
    V.CHRONIC_ILLNESS: ["高血压、糖尿病，规律服药", "慢阻肺，需备吸入剂", "冠心病，随身带药"],
    V.MEDICAL_DEVICE: ["家用制氧机，停电需转移", "居家腹膜透析，停电需保障"],
    V.DISABLED: ["肢体残疾二级", "视力残疾一级", "听力残疾三级", "智力残疾二级"],
    V.BEDRIDDEN: ["长期卧床，需两人搬运"],
}


def generate_residents(ctx) -> None:
    regions, plans, rng = ctx.state["regions"], ctx.state["plans"], ctx.rng
    grids = home_grids(regions)
    if not grids:
        return
    helpers_by_village = _village_people(regions)
    per_grid = max(1, round(RESIDENTS_TARGET / 2.43 / len(grids)))
    mobiles = MobileNumbers(rng)
    ids = IdNumbers(HOME_TOWNSHIP, rng)
    all_buildings, all_households, leaders = [], [], []
    for index, grid in enumerate(grids):
        is_community = grid.parent.name.endswith("社区")
        count = rng.randint(int(per_grid * 0.8), int(per_grid * 1.2))
        buildings = _buildings_for(grid, plans[grid.code].polygon, is_community, count, rng)
        households = _households_for(grid, buildings, count, is_community, rng)
        all_buildings += buildings
        all_households += households
        leaders += _group_leaders(grid, households, mobiles, rng)
        ctx.report(index + 1, len(grids) * 2)
    Building.objects.bulk_create(all_buildings, batch_size=1000)
    Person.objects.bulk_create([leader for leader, _ in leaders], batch_size=1000)
    started = timezone.localdate() - timedelta(days=365)
    GridPost.objects.bulk_create(
        [
            GridPost(
                region=leader.region, person=leader, role=GridRole.GROUP_LEADER, started_on=started
            )
            for leader, _ in leaders
        ],
        batch_size=1000,
    )
    for leader, group in leaders:
        for household in group:
            household.group_leader = leader
    Household.objects.bulk_create(all_households, batch_size=1000)
    workers = grid_workers(regions)
    rows, visits = _resident_rows(all_households, helpers_by_village, workers, mobiles, ids, rng)
    insert_rows(Resident, RESIDENT_COLUMNS, rows)
    ctx.report(len(grids) * 2, len(grids) * 2)
    ctx.count("buildings", len(all_buildings))
    ctx.count("households", len(all_households))
    ctx.count("residents", len(rows))
    ctx.count("residents.vulnerable", sum(row[10] for row in rows))
    ctx.state["buildings"] = all_buildings
    ctx.count("household_visits", _write_visits(visits))
    ctx.count("devices.in_homes", _bind_smoke_alarms(all_households, rng))


RESIDENT_COLUMNS = (
    "household_id", "region_id", "name", "gender", "birth_year", "relation", "id_number",
    "id_digest", "phone", "phone_tail", "is_vulnerable", "categories", "health_notes",
    "mobility", "helper_id", "backup_helper_id", "last_visited_at", "created_at", "updated_at",
)  # fmt: skip


def _resident_rows(households, helpers_by_village, workers, mobiles, ids, rng):
    """The residents as rows for `insert_rows` (encrypted here, as the field would), and the
    home visits of the vulnerable ones: most were visited by their grid worker within the
    last six weeks; a few wait longer, and they head the grid worker's list of visits."""
    seal, adapt = encryptor(), connection.ops.adapt_datetimefield_value
    now = timezone.now()
    rows, visits = [], []
    for household in households:
        alone = getattr(household, "_alone", False)
        village_people = helpers_by_village.get(household.region.parent_id, [])
        for relation, born, female in household._members:
            categories = _categories(rng, born, female, alone, not household._community)
            id_number = ids.next(date(born, rng.randint(1, 12), rng.randint(1, 28)), female)
            digest = keyed_digest(id_number)
            helper = rng.choice(village_people) if categories and village_people else None
            notes = "；".join(rng.choice(HEALTH_NOTES[c]) for c in categories if c in HEALTH_NOTES)
            phone = mobiles.next() if 16 <= TODAY_YEAR - born <= 85 else ""
            visited = None
            if categories and rng.random() < 0.85:
                visited = now - timedelta(days=rng.randint(1, 45), hours=rng.randint(0, 8))
                worker = workers.get(household.region)
                visits.append((digest, household, visited, worker[1] if worker else None))
            rows.append(
                (
                    household.pk, household.region_id, person_name(rng),
                    "female" if female else "male", born, relation, seal(id_number), digest,
                    seal(phone), phone[-4:], bool(categories), seal(",".join(categories)),
                    seal(notes), _mobility(rng, categories), helper.pk if helper else None,
                    household.group_leader_id if categories else None,
                    adapt(visited) if visited else None, adapt(now), adapt(now),
                )
            )  # fmt: skip
    return rows, visits


def _write_visits(visits) -> int:
    resident_ids = {}
    digests = [digest for digest, *_ in visits]
    for start in range(0, len(digests), 900):
        chunk = digests[start : start + 900]
        resident_ids.update(
            Resident.objects.filter(id_digest__in=chunk).values_list("id_digest", "pk")
        )
    HouseholdVisit.objects.bulk_create(
        [
            HouseholdVisit(
                household=household,
                resident_id=resident_ids[digest],
                region=household.region,
                at=at,
                visitor=visitor,
                note=VISIT_NOTES[resident_ids[digest] % len(VISIT_NOTES)],
            )
            for digest, household, at, visitor in visits
        ],
        batch_size=1000,
    )
    return len(visits)


def grid_workers(regions) -> dict:
    """grid → (person, user) of the grid worker assigned to it."""
    grid_ids = {r.pk: r for r in regions.values() if r.level == RegionLevel.GRID}
    workers = {}
    assignments = RoleAssignment.objects.filter(
        role=Role.GRID_WORKER, region_id__in=list(grid_ids), revoked_at__isnull=True
    ).select_related("user__person")
    for assignment in assignments:
        person = getattr(assignment.user, "person", None)
        if person is not None:
            workers[grid_ids[assignment.region_id]] = (person, assignment.user)
    return workers


VISIT_NOTES = [
    "身体状况良好，已检查燃气阀门",
    "已更换烟感电池，讲解火灾逃生方法",
    "提醒雨天减少外出，留下网格员电话",
    "家中电线老化，已联系电工",
    "生活用品充足，无特殊需求",
]


def _bind_smoke_alarms(households: list[Household], rng) -> int:
    """The monitoring demo put a wireless smoke alarm in the homes of elderly people living
    alone of every village; in the home township those homes now exist, so each alarm is
    bound to one, and its alarms reach the helpers of the person who lives there."""
    from frontline.monitoring.kinds import DeviceKind
    from frontline.monitoring.models import Device

    alone_by_village = defaultdict(list)
    for household in households:
        if getattr(household, "_alone", False):
            alone_by_village[household.region.parent_id].append(household)
    devices = list(
        Device.objects.filter(
            kind=DeviceKind.SMOKE,
            region_id__in=list(alone_by_village),
            enterprise__isnull=True,
            place__isnull=True,
        )
    )
    for device in devices:
        home = rng.choice(alone_by_village[device.region_id])
        device.household, device.building = home, home.building
        device.location = home.address
        device.lon, device.lat = home.lon, home.lat
    Device.objects.bulk_update(devices, ["household", "building", "location", "lon", "lat"])
    return len(devices)


def _households_for(grid, buildings, count: int, is_community: bool, rng) -> list[Household]:
    households = []
    if is_community:
        doors = [
            (building, f"{building.name}{unit}单元{floor}0{door}室")
            for building in buildings
            for unit in range(1, building._units + 1)
            for floor in range(1, building.floors_above + 1)
            for door in (1, 2)
        ]
        doors = doors[:count]
    else:
        doors = [(building, building.address) for building in buildings[:count]]
    low_lying = rng.random() < 0.3  # some grids lie by the river
    for building, address in doors:
        alone = rng.random() < ELDERLY_ALONE_HOUSEHOLDS
        household = Household(
            region=grid,
            building=building,
            address=address,
            lon=building.lon,
            lat=building.lat,
            dilapidated=not is_community and building.year_built < 1990 and rng.random() < 0.2,
            low_lying=low_lying and rng.random() < 0.25,
            geohazard=not is_community and rng.random() < 0.01,
        )
        household._alone = alone
        household._community = is_community
        household._members = _household_members(rng, alone)
        households.append(household)
    return households


def _group_leaders(grid, households, mobiles, rng) -> list[tuple[Person, list[Household]]]:
    """One 十户长 per ten neighbouring households, a resident of the first of them."""
    leaders = []
    for start in range(0, len(households), 10):
        group = households[start : start + 10]
        mobile = mobiles.next()
        leader = Person(
            name=person_name(rng),
            region=grid,
            position="十户长",
            mobile=mobile,
            mobile_tail=mobile[-4:],
        )
        leaders.append((leader, group))
    return leaders


def _village_people(regions) -> dict[int, list[Person]]:
    """People of each village committee of the home township: the cadres who take on the
    one-to-one care of vulnerable neighbours (包保责任人)."""
    villages = [
        r.pk
        for r in regions.values()
        if r.level == RegionLevel.VILLAGE and r.code.startswith(HOME_TOWNSHIP)
    ]
    people = defaultdict(list)
    for person in Person.objects.filter(region_id__in=villages).only("id", "region_id"):
        people[person.region_id].append(person)
    return people
