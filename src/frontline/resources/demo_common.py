"""What the resources demo steps share: which counties and townships get resources, the units
and people the core demo left, positions near a unit, and local times.

The steps read the core's organizations and people back from the database (one query each)
rather than from `ctx.state`, so a test can run them on a small hand-made world too.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, time

from django.core.management.color import no_style
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from frontline.core.bulk import insert_rows
from frontline.core.crypto import encryptor
from frontline.core.demo.names import MobileNumbers, person_name
from frontline.core.models import Organization, OrganizationKind, Person, Region, RegionLevel

# Province scale is for benchmarks: only the first city's counties get resources there, so
# the step stays a few seconds per county instead of minutes.
MAX_COUNTIES = 10


def counties(ctx) -> list[Region]:
    regions = ctx.state["regions"].values()
    found = sorted((r for r in regions if r.level == RegionLevel.COUNTY), key=lambda r: r.code)
    return found[:MAX_COUNTIES]


def _children(ctx) -> dict[int, list[Region]]:
    """parent id → children sorted by code, indexed once per seeding (in ctx.state)."""
    index = ctx.state.get("resources.children")
    if index is None:
        index = defaultdict(list)
        for region in sorted(ctx.state["regions"].values(), key=lambda r: r.code):
            if region.parent_id is not None:
                index[region.parent_id].append(region)
        ctx.state["resources.children"] = index
    return index


def townships_of(ctx, county: Region) -> list[Region]:
    return [r for r in _children(ctx).get(county.pk, []) if r.level == RegionLevel.TOWNSHIP]


def villages_of(ctx, township: Region) -> list[Region]:
    return [r for r in _children(ctx).get(township.pk, []) if r.level == RegionLevel.VILLAGE]


def is_town(region: Region) -> bool:
    """Towns (镇, codes 100–199) lie in the hilly south: forests, slopes, reservoirs."""
    return region.name.endswith(("镇", "乡"))


class Units:
    """The core demo's organizations of a set of regions by kind, and their people."""

    def __init__(
        self, region_ids: list[int], people_of: set[str] | None = None, *, users: bool = True
    ):
        self.by_kind: dict[str, list[Organization]] = defaultdict(list)
        self._by_place: dict[tuple[str, int], list[Organization]] = defaultdict(list)
        for org in Organization.objects.filter(region_id__in=region_ids).order_by("pk"):
            self.by_kind[org.kind].append(org)
            self._by_place[(org.kind, org.region_id)].append(org)
        self.people: dict[int, list[Person]] = defaultdict(list)
        org_ids = [
            org.pk
            for kind, orgs in self.by_kind.items()
            if people_of is None or kind in people_of
            for org in orgs
        ]
        # Without the encrypted fields: decrypting two thousand mobiles nobody reads here
        # would cost more than the rest of the query.
        people = (
            Person.objects.filter(organization_id__in=org_ids)
            .only("id", "name", "organization_id", "region_id", "position", "user")
            .order_by("pk")
        )
        if users:
            people = people.select_related("user")
        for person in people.iterator(chunk_size=2000):
            self.people[person.organization_id].append(person)

    def of(self, kind: str, region: Region | None = None) -> list[Organization]:
        if region is None:
            return self.by_kind.get(kind, [])
        return self._by_place.get((kind, region.pk), [])

    def first(self, kind: str, region: Region) -> Organization | None:
        found = self.of(kind, region)
        return found[0] if found else None

    def station_staff(self, township: Region) -> list[Person]:
        """Station people with a station role, chief first."""
        station = self.first(OrganizationKind.STATION, township)
        return list(self.people.get(station.pk, [])) if station else []


def db_time(value: datetime):
    """A time as `core.bulk.insert_rows` takes it: SQLite wants the adapted text."""
    if connection.vendor == "sqlite":
        return connection.ops.adapt_datetimefield_value(value)
    return value


class NewPeople:
    """People the core demo does not have (members of micro fire stations in every village,
    volunteers, keepers of the county depots, more experts), with a plausible name and a
    mobile number, written in one bulk insert; the mobile is encrypted by its field."""

    def __init__(self, rng):
        self.rng = rng
        self.mobiles = MobileNumbers(rng)
        self.rows: list[Person] = []

    def add(self, region: Region, organization: Organization | None, position: str) -> Person:
        mobile = self.mobiles.next()
        person = Person(
            name=person_name(self.rng),
            organization=organization,
            region=region,
            position=position,
            mobile=mobile,
            mobile_tail=mobile[-4:],
        )
        self.rows.append(person)
        return person

    def save(self) -> int:
        seal, now = encryptor(), db_time(timezone.now())
        insert_with_ids(
            Person,
            ("name", "organization_id", "region_id", "position", "mobile", "mobile_tail",
             "office_phone", "id_number", "created_at", "updated_at"),
            self.rows,
            lambda p: (p.name, p.organization.pk if p.organization else None, p.region.pk,
                       p.position, seal(p.mobile), p.mobile_tail, "", "", now, now),
        )  # fmt: skip
        return len(self.rows)


def near(lon: float, lat: float, rng, metres: float) -> tuple[float, float]:
    """A point within `metres` of (lon, lat): depots beside the station, a team's yard."""
    distance = rng.uniform(metres * 0.2, metres)
    angle = rng.uniform(0, 2 * math.pi)
    dlon = distance * math.cos(angle) / (111_320 * math.cos(math.radians(lat)))
    dlat = distance * math.sin(angle) / 110_540
    return round(lon + dlon, 6), round(lat + dlat, 6)


def centre(region: Region) -> tuple[float, float]:
    return region.centroid_lon or 120.46, region.centroid_lat or 30.08


def local_at(day: date, hour: int, minute: int = 0) -> datetime:
    """An aware time at a wall-clock hour in Asia/Shanghai (the current time zone)."""
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def working_time(day: date, rng) -> datetime:
    """Office hours, when a keeper books receipts and stocktakes."""
    return local_at(day, rng.choice([8, 9, 9, 10, 10, 11, 14, 14, 15, 16]), rng.randrange(60))


def any_time(day: date, rng) -> datetime:
    return local_at(day, rng.randrange(24), rng.randrange(60))


ROADS = ["人民路", "中兴大道", "鉴湖路", "笛扬路", "柯华路", "群贤路", "湖中路", "兴越路"]


def address(township: Region, rng, what: str = "") -> str:
    return f"{township.name}{rng.choice(ROADS)}{rng.randint(1, 399)}号{what}"


def insert_with_ids(model, columns: tuple[str, ...], records: list, row) -> None:
    """Rows with ids chosen here (after the highest one), so the ledger entries can point
    at them without reading anything back; PostgreSQL's sequence is moved past them after,
    as loaddata does. The demo seeds an empty database in one transaction: nobody else is
    inserting these rows meanwhile (and if someone were, the insert would fail, not mix)."""
    start = (model.objects.aggregate(last=Max("pk"))["last"] or 0) + 1
    for offset, record in enumerate(records):
        record.pk = start + offset
    insert_rows(model, ("id", *columns), [(record.pk, *row(record)) for record in records])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [model]):
                cursor.execute(sql)
