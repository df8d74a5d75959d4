"""What is available near a point: teams and equipment with a capability, and depots holding
enough of an item. Reads only; every answer is limited to the user's scope.

Units come from the in-memory index (`search_index`) and are then confirmed in the database
in one query (status, scope, position), so a stale index can only cost a result, never show
one the user may not see or that cannot go. Supplies are one grouped query over the lots of
the depots near the point. See docs/resources-search.md for the design and the figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from frontline.core.errors import InvalidInput
from frontline.core.geo import COORDINATE_SYSTEMS, to_wgs84
from frontline.core.scoping import scope_paths
from frontline.resources.models import (
    Capability,
    Depot,
    DepotKind,
    DepotStatus,
    DutyShift,
    Equipment,
    EquipmentKind,
    EquipmentStatus,
    Expert,
    ExpertAvailability,
    RescueTeam,
    Shelter,
    ShelterClass,
    ShelterStatus,
    StockLot,
    StockMinimum,
    SupplyCategory,
    SupplyItem,
    TeamKind,
    TeamStatus,
    capability_bits,
    capability_q,
    unpack_capabilities,
)
from frontline.resources.services.search_index import (
    EARTH_RADIUS_KM,
    bearing_deg,
    compiled_rows,
    get_index,
    haversine_km,
)
from frontline.resources.services.teams_duty import available_teams

MAX_RADIUS_KM = 500.0
MAX_LIMIT = 50
DEFAULT_LIMIT = 10
# Candidates asked of the index beyond `limit`, so that a few the database no longer
# confirms (changed by a bulk update the index has not seen) do not shorten the answer.
SLACK = 5
ROUNDS = 3
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180.0


# --- input ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    lon: float
    lat: float
    radius_km: float


def clean_point(lon, lat, radius_km, coord_system: str = "wgs84") -> Point:
    """A search centre in WGS-84 and a radius, or a 422 naming every wrong field. NaN and
    infinities are refused like any number out of range."""
    details: dict[str, str] = {}

    def number(value, name: str, low: float, high: float, message) -> float | None:
        try:
            number = float(value)
        except (TypeError, ValueError):
            details[name] = _("应为数字")
            return None
        if not math.isfinite(number) or not low <= number <= high:
            details[name] = str(message)
            return None
        return number

    lon_ok = number(lon, "lon", -180.0, 180.0, _("经度应在 -180~180 之间"))
    lat_ok = number(lat, "lat", -90.0, 90.0, _("纬度应在 -90~90 之间"))
    radius = number(
        radius_km,
        "radius_km",
        -math.inf,
        MAX_RADIUS_KM,
        _("搜索半径应大于 0 且不超过 %(max)d 公里") % {"max": MAX_RADIUS_KM},
    )
    if radius is not None and radius <= 0:
        details["radius_km"] = _("搜索半径应大于 0 且不超过 %(max)d 公里") % {"max": MAX_RADIUS_KM}
    if coord_system not in COORDINATE_SYSTEMS:
        details["coord_system"] = _("坐标系应为 wgs84、gcj02 或 bd09")
    if details:
        raise InvalidInput(_("输入有误，请检查标注的字段"), details=details)
    wgs_lon, wgs_lat = to_wgs84(lon_ok, lat_ok, coord_system)
    return Point(wgs_lon, wgs_lat, radius)


def clean_capability(value: str | None) -> str:
    """'' (any capability) or a known capability code."""
    value = (value or "").strip()
    if value and value not in Capability.values:
        raise InvalidInput(
            _("输入有误，请检查标注的字段"), details={"capability": _("未知的救援能力")}
        )
    return value


def clean_limit(value) -> int:
    try:
        limit = int(value) if value not in (None, "") else DEFAULT_LIMIT
    except (TypeError, ValueError):
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(
            _("输入有误，请检查标注的字段"),
            details={"limit": _("返回条数应在 1~%(max)d 之间") % {"max": MAX_LIMIT}},
        )
    return limit


# --- shared annotations ---------------------------------------------------------------------


def on_duty(shifts, now: datetime):
    """Shifts covering `now` of members available and still in the team: the rule of
    `teams_duty.with_readiness`, grouped here by team kind for the overview."""
    return shifts.filter(
        starts_at__lte=now,
        ends_at__gt=now,
        member__left_on__isnull=True,
        member__is_available=True,
    )


def below_minimum(minimums):
    """The minimums whose depot holds less of the item than the minimum, counting every lot
    as the low-stock alert does."""
    on_hand = (
        StockLot.objects.filter(depot=OuterRef("depot"), item=OuterRef("item"))
        .order_by()
        .values("depot")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return minimums.annotate(
        on_hand=Coalesce(Subquery(on_hand, output_field=IntegerField()), 0)
    ).filter(on_hand__lt=F("minimum"))


def near_expiry_q(prefix: str = "", today: date | None = None) -> Q:
    """Lots in stock expiring within their item's warning period, or expired (the sweep's
    rule). The warning periods in use are read once (a handful of distinct values), so the
    condition stays a plain date comparison on both databases."""
    today = today or timezone.localdate()
    periods = SupplyItem.objects.order_by().values_list("expiry_warning_days", flat=True).distinct()
    rule = Q(pk__in=[])
    for days in periods:
        rule |= Q(
            **{
                f"{prefix}item__expiry_warning_days": days,
                f"{prefix}expiry_date__lte": today + timedelta(days=days),
            }
        )
    return Q(**{f"{prefix}quantity__gt": 0, f"{prefix}expiry_date__isnull": False}) & rule


_url_bases: dict[str, str] = {}


def object_url(url_name: str, pk: int) -> str:
    """The detail page of an object. The base is resolved once per process: map layers and
    result lists make thousands of links, and `reverse` costs a few microseconds each."""
    base = _url_bases.get(url_name)
    if base is None:
        base = reverse(url_name, args=[0])[:-2]
        _url_bases[url_name] = base
    return f"{base}{pk}/"


DIRECTIONS = (
    N_("北"),
    N_("东北"),
    N_("东"),
    N_("东南"),
    N_("南"),
    N_("西南"),
    N_("西"),
    N_("西北"),
)


def direction(bearing: float) -> str:
    """The eight-point compass direction of a bearing, in words."""
    return _(DIRECTIONS[int((bearing + 22.5) // 45) % 8])


# --- units ----------------------------------------------------------------------------------


@dataclass
class NearbyUnit:
    kind: str
    id: int
    name: str
    type: str
    type_label: str
    status: str
    status_label: str
    region_name: str
    lon: float
    lat: float
    distance_km: float
    bearing_deg: float
    direction: str
    capabilities: list[str]
    url: str
    ready_now: int | None = None
    min_on_duty: int | None = None
    response_minutes: int | None = None
    duty_phone: str = ""
    team_name: str = ""


@dataclass
class NearbyAnswer:
    point: Point
    kind: str
    capability: str
    limit: int
    results: list = field(default_factory=list)
    index_size: int = 0


def nearby_units(
    *,
    user,
    point: Point,
    kind: str = "team",
    capability: str = "",
    limit: int = DEFAULT_LIMIT,
) -> NearbyAnswer:
    """The `limit` nearest teams (or equipment) that can go now, with `capability`, within
    the radius and the user's scope, nearest first, with distance (km) and bearing.

    The index proposes candidates (status, capability and scope as it last saw them); one
    query confirms them: equipment 可用; teams 待命 and keeping their people-on-duty rule
    (`teams_duty.available_teams`). Two queries in all, unless the database refuses so many
    candidates that more must be asked for (a few teams short of people): then one more
    confirmation per round, at most `ROUNDS`.
    """
    if kind not in ("team", "equipment"):
        raise InvalidInput(
            _("输入有误，请检查标注的字段"), details={"kind": _("应为 team 或 equipment")}
        )
    answer = NearbyAnswer(point=point, kind=kind, capability=capability, limit=limit)
    paths = scope_paths(user)
    if paths == []:
        return answer
    index = get_index(kind)
    answer.index_size = len(index)
    bits = capability_bits(f",{capability},") if capability else 0
    found: dict[int, tuple] = {}
    checked: set[int] = set()
    want = limit + SLACK
    for _round in range(ROUNDS):
        picked = index.nearest(
            point.lon, point.lat, point.radius_km, bits=bits, paths=paths, want=want
        )
        ids = [int(index.ids[position]) for position, _chord in picked]
        fresh = [pk for pk in ids if pk not in checked]
        checked.update(fresh)
        for row in _confirmed(user, kind, fresh, capability) if fresh else ():
            distance = haversine_km(point.lon, point.lat, row["lon"], row["lat"])
            if distance <= point.radius_km:  # else moved by an update the index missed
                found[row["id"]] = (distance, row["id"], row)
        if len(found) >= limit or len(picked) < want:
            break
        want *= 4
    labels = _labels()
    for distance, _pk, row in sorted(found.values(), key=lambda item: item[:2])[:limit]:
        answer.results.append(_unit(kind, row, point, distance, labels))
    return answer


_TEAM_FIELDS = (
    "id", "name", "kind", "status", "lon", "lat", "capabilities", "region__name",
    "ready_now", "min_on_duty", "response_minutes", "duty_phone",
)  # fmt: skip
_EQUIPMENT_FIELDS = (
    "id", "name", "plate_no", "kind", "status", "lon", "lat", "capabilities", "region__name",
    "team__name",
)  # fmt: skip


def confirm_queryset(user, kind: str, ids: list[int], capability: str, now=None):
    """The candidates among `ids` that can go at `now`, in the user's scope, as plain rows
    (model instances, and the region row with its boundary, would cost more than the
    search itself)."""
    if kind == "team":
        queryset = available_teams(user, capability or None, now)
        fields = _TEAM_FIELDS
    else:
        queryset = Equipment.objects.visible_to(user).filter(status=EquipmentStatus.AVAILABLE)
        if capability:
            queryset = queryset.filter(capability_q(capability))
        fields = _EQUIPMENT_FIELDS
    return queryset.filter(pk__in=ids).order_by().values(*fields)


def _confirmed(user, kind: str, ids: list[int], capability: str) -> list[dict]:
    """`confirm_queryset`, compiled once per kind, capability and scope (see
    `search_index.compiled_rows`): the SQL is the same, the milliseconds of building it are
    spent once."""
    paths = scope_paths(user)
    key = (kind, capability, None if paths is None else tuple(sorted(paths)))
    return compiled_rows(
        key,
        lambda ids, now: confirm_queryset(user, kind, ids, capability, now),
        ids,
        uses_now=kind == "team",
    )


def _labels() -> dict:
    return {
        "team": dict(TeamKind.choices),
        "equipment": dict(EquipmentKind.choices),
        "team_status": dict(TeamStatus.choices),
        "equipment_status": dict(EquipmentStatus.choices),
    }


def _unit(kind: str, row: dict, point: Point, distance: float, labels: dict) -> NearbyUnit:
    bearing = bearing_deg(point.lon, point.lat, row["lon"], row["lat"])
    unit = NearbyUnit(
        kind=kind,
        id=row["id"],
        name=row["name"] if kind == "team" else (row["plate_no"] or row["name"]),
        type=row["kind"],
        type_label=str(labels[kind].get(row["kind"], row["kind"])),
        status=row["status"],
        status_label=str(labels[f"{kind}_status"].get(row["status"], row["status"])),
        region_name=row["region__name"],
        lon=row["lon"],
        lat=row["lat"],
        distance_km=round(distance, 3),
        bearing_deg=round(bearing, 1),
        direction=direction(bearing),
        capabilities=unpack_capabilities(row["capabilities"]),
        url="",
    )
    if kind == "team":
        unit.url = object_url("team_detail", row["id"])
        unit.ready_now = row["ready_now"]
        unit.min_on_duty = row["min_on_duty"]
        unit.response_minutes = row["response_minutes"]
        unit.duty_phone = row["duty_phone"]
    else:
        unit.url = object_url("equipment_detail", row["id"])
        unit.team_name = row["team__name"] or ""
    return unit


# --- supplies -------------------------------------------------------------------------------


@dataclass
class SupplyLine:
    code: str
    name: str
    unit: str
    quantity: int


@dataclass
class NearbyDepot:
    id: int
    name: str
    kind: str
    kind_label: str
    region_name: str
    address: str
    lon: float
    lat: float
    distance_km: float
    bearing_deg: float
    direction: str
    quantity: int
    items: list[SupplyLine]
    url: str


@dataclass
class SuppliesAnswer:
    point: Point
    code: str
    name: str
    min_quantity: int
    results: list[NearbyDepot] = field(default_factory=list)


def resolve_supply(code: str | None) -> tuple[Q, str, str]:
    """An item code (7 digits) or a catalogue class (1, 3 or 5 digits) → the lots' filter,
    the code and its name; a 422 for anything else."""
    code = (code or "").strip()
    if code.isdigit() and len(code) == 7:
        item = SupplyItem.objects.filter(code=code).only("code", "name").first()
        if item is not None:
            return Q(item_id=item.pk), item.code, item.name
    elif code.isdigit() and len(code) in (1, 3, 5):
        category = SupplyCategory.objects.filter(code=code).only("code", "name").first()
        if category is not None:
            return Q(item__code__startswith=code), category.code, category.name
    raise InvalidInput(
        _("输入有误，请检查标注的字段"),
        details={"item": _("物资编码或分类代码不存在（7 位物资编码，或 1、3、5 位分类代码）")},
    )


def clean_min_quantity(value) -> int:
    try:
        quantity = int(value) if value not in (None, "") else 1
    except (TypeError, ValueError):
        quantity = 0
    if not 1 <= quantity <= 10_000_000:
        raise InvalidInput(
            _("输入有误，请检查标注的字段"),
            details={"min_quantity": _("数量应为 1 以上的整数")},
        )
    return quantity


def nearby_supplies(
    *, user, point: Point, item: str, min_quantity: int = 1, limit: int = 20
) -> SuppliesAnswer:
    """Depots in scope within the radius holding at least `min_quantity` of the item (or of
    the items of a class, added up: a class such as 帐篷 groups like items), nearest first,
    with the quantity on hand in lots that have not expired. One grouped query, after a
    bounding-box prefilter on the depots' coordinates; the exact distance is haversine."""
    lots_filter, code, name = resolve_supply(item)
    answer = SuppliesAnswer(point=point, code=code, name=name, min_quantity=min_quantity)
    today = timezone.localdate()
    dlat = point.radius_km / KM_PER_DEGREE
    cos_lat = max(math.cos(math.radians(point.lat)), 1e-6)
    dlon = min(180.0, point.radius_km / (KM_PER_DEGREE * cos_lat))
    rows = (
        StockLot.objects.visible_to(user)
        .filter(lots_filter, quantity__gt=0, depot__status=DepotStatus.IN_USE)
        .filter(Q(expiry_date__isnull=True) | Q(expiry_date__gte=today))
        .filter(
            depot__lat__gte=point.lat - dlat,
            depot__lat__lte=point.lat + dlat,
            depot__lon__gte=point.lon - dlon,
            depot__lon__lte=point.lon + dlon,
        )
        .order_by()
        .values(
            "depot_id",
            "depot__name",
            "depot__kind",
            "depot__lon",
            "depot__lat",
            "depot__address",
            "depot__region__name",
            "item__code",
            "item__name",
            "item__unit",
        )
        .annotate(on_hand=Sum("quantity"))
    )
    depots: dict[int, dict] = {}
    for row in rows:
        depot = depots.setdefault(row["depot_id"], {"row": row, "lines": []})
        depot["lines"].append(
            SupplyLine(row["item__code"], row["item__name"], row["item__unit"], row["on_hand"])
        )
    kind_labels = {k: str(v) for k, v in DepotKind.choices}
    found = []
    for depot_id, depot in depots.items():
        row = depot["row"]
        total = sum(line.quantity for line in depot["lines"])
        if total < min_quantity:
            continue
        distance = haversine_km(point.lon, point.lat, row["depot__lon"], row["depot__lat"])
        if distance > point.radius_km:
            continue
        bearing = bearing_deg(point.lon, point.lat, row["depot__lon"], row["depot__lat"])
        found.append(
            NearbyDepot(
                id=depot_id,
                name=row["depot__name"],
                kind=row["depot__kind"],
                kind_label=kind_labels.get(row["depot__kind"], row["depot__kind"]),
                region_name=row["depot__region__name"],
                address=row["depot__address"],
                lon=row["depot__lon"],
                lat=row["depot__lat"],
                distance_km=round(distance, 3),
                bearing_deg=round(bearing, 1),
                direction=direction(bearing),
                quantity=total,
                items=sorted(depot["lines"], key=lambda line: line.code),
                url=object_url("depot_detail", depot_id),
            )
        )
    found.sort(key=lambda depot: (depot.distance_km, depot.id))
    answer.results = found[:limit]
    return answer


# --- the overview page ----------------------------------------------------------------------

OPEN_SHELTERS_SHOWN = 20
DEPOTS_SHOWN = 15


def _grouped(queryset, field: str, **aggregates) -> dict:
    """field value → its aggregates, in one GROUP BY."""
    aggregates = aggregates or {"n": Count("id")}
    rows = queryset.order_by().values(field).annotate(**aggregates)
    return {row.pop(field): row for row in rows}


def overview(user) -> dict:
    """Counts of the user's scope for /resources/: a fixed number of grouped queries, however
    many rows there are."""
    now = timezone.now()
    by_kind = _grouped(Depot.objects.visible_to(user).filter(status=DepotStatus.IN_USE), "kind")
    depots = [
        {"kind": value, "label": label, "count": by_kind.get(value, {}).get("n", 0)}
        for value, label in DepotKind.choices
    ]
    team_rows = _grouped(
        RescueTeam.objects.visible_to(user),
        "kind",
        n=Count("id"),
        available=Count("id", filter=Q(status=TeamStatus.AVAILABLE)),
    )
    ready = _grouped(
        on_duty(DutyShift.objects.visible_to(user), now),
        "team__kind",
        n=Count("member", distinct=True),
    )
    teams = [
        {
            "kind": value,
            "label": label,
            "count": team_rows.get(value, {}).get("n", 0),
            "available": team_rows.get(value, {}).get("available", 0),
            "ready": ready.get(value, {}).get("n", 0),
        }
        for value, label in TeamKind.choices
    ]
    by_status = _grouped(Equipment.objects.visible_to(user), "status")
    equipment = [
        {"status": value, "label": label, "count": by_status.get(value, {}).get("n", 0)}
        for value, label in EquipmentStatus.choices
    ]
    open_states = [ShelterStatus.OPEN, ShelterStatus.FULL]
    by_class = _grouped(
        Shelter.objects.visible_to(user),
        "shelter_class",
        count=Count("id"),
        open=Count("id", filter=Q(status__in=open_states)),
        capacity=Coalesce(Sum("capacity"), 0),
        occupancy=Coalesce(Sum("occupancy"), 0),
    )
    empty = {"count": 0, "open": 0, "capacity": 0, "occupancy": 0}
    shelters = [
        {"class": value, "label": label, **by_class.get(value, empty)}
        for value, label in ShelterClass.choices
    ]
    open_shelters = list(
        Shelter.objects.visible_to(user)
        .filter(status__in=open_states)
        .order_by("-occupancy", "id")
        .values("id", "name", "capacity", "occupancy")[:OPEN_SHELTERS_SHOWN]
    )
    experts = _grouped(Expert.objects.visible_to(user), "availability")
    near_expiry = list(
        StockLot.objects.visible_to(user)
        .filter(near_expiry_q())
        .order_by()
        .values("depot_id", "depot__name")
        .annotate(n=Count("id"))
        .order_by("-n", "depot__name")
    )

    def total(rows, key="count"):
        return sum(row[key] for row in rows)

    return {
        "depots": depots,
        "depot_total": total(depots),
        "teams": teams,
        "team_total": total(teams),
        "team_available": total(teams, "available"),
        "ready_total": total(teams, "ready"),
        "equipment": equipment,
        "equipment_total": total(equipment),
        "equipment_available": by_status.get(EquipmentStatus.AVAILABLE, {}).get("n", 0),
        "shelters": shelters,
        "shelter_total": total(shelters),
        "shelter_open": total(shelters, "open"),
        "capacity_total": total(shelters, "capacity"),
        "occupancy_total": total(shelters, "occupancy"),
        "open_shelters": open_shelters,
        "expert_total": sum(row["n"] for row in experts.values()),
        "expert_available": experts.get(ExpertAvailability.AVAILABLE, {}).get("n", 0),
        "near_expiry": near_expiry[:DEPOTS_SHOWN],
        "near_expiry_total": total(near_expiry, "n"),
        "near_expiry_depots": len(near_expiry),
        "below_minimum": below_minimum(StockMinimum.objects.visible_to(user)).count(),
    }
