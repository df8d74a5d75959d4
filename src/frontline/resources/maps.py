"""Map layers of the emergency resources: depots (by kind, red when lots are near expiry or
items below their minimum), teams (by kind, coloured by status, with the people ready now),
equipment bases (one pin per base, coloured by what can go) and shelters (by class, coloured
by occupancy, full ones red). Registered when imported (by the app's `ready()`).

Each layer costs a constant number of queries whatever the rows: the counts a popup shows
are subqueries or one grouped query, never a query per pin.
"""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from frontline.core.maps import Bbox, LayerParams, MapLayer, in_bbox, point_feature, register_layer
from frontline.resources.models import (
    Capability,
    Depot,
    DepotKind,
    DepotStatus,
    Equipment,
    EquipmentKind,
    EquipmentStatus,
    RescueTeam,
    Shelter,
    ShelterClass,
    ShelterLevel,
    ShelterStatus,
    StockLot,
    StockMinimum,
    TeamKind,
    TeamStatus,
    unpack_capabilities,
)
from frontline.resources.services.search import (
    below_minimum,
    near_expiry_q,
    object_url,
)
from frontline.resources.services.teams_duty import with_readiness

WARNING = "#d92d20"
MUTED = "#8a94a6"


def _labels(params: LayerParams, choices) -> dict[str, str]:
    """value → label of a TextChoices, translated once per request."""
    key = f"labels_{choices.__name__}"
    if key not in params.memo:
        params.memo[key] = {value: str(label) for value, label in choices.choices}
    return params.memo[key]


def _choices(params: LayerParams, name: str, choices) -> list[str]:
    return [v for v in params.query.get(name, "").split(",") if v in choices.values]


def _count(queryset) -> Coalesce:
    """A per-row count from a correlated subquery (0 when none)."""
    counted = queryset.order_by().values("depot").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


# --- depots ---------------------------------------------------------------------------------

DEPOT_KINDS = {
    DepotKind.PRODUCTION_SAFETY: {"glyph": "安", "color": "#c2570c"},
    DepotKind.FLOOD: {"glyph": "汛", "color": "#1f6fd1"},
    DepotKind.FOREST_FIRE: {"glyph": "林", "color": "#15803d"},
    DepotKind.RELIEF: {"glyph": "灾", "color": "#7a4fd1"},
    DepotKind.COMPREHENSIVE: {"glyph": "综", "color": "#0f766e"},
}


def depot_rows(user, bbox: Bbox | None, params: LayerParams):
    """Depots in use, with how many lots are near expiry (or expired) and how many items are
    below their minimum (against every lot, as the low-stock alert counts)."""
    queryset = in_bbox(Depot.objects.visible_to(user), bbox).filter(status=DepotStatus.IN_USE)
    kinds = _choices(params, "kind", DepotKind)
    if kinds:
        queryset = queryset.filter(kind__in=kinds)
    queryset = queryset.annotate(
        near_expiry=_count(StockLot.objects.filter(near_expiry_q(), depot=OuterRef("pk"))),
        below_minimum=_count(below_minimum(StockMinimum.objects.filter(depot=OuterRef("pk")))),
    )
    if params.query.get("alert") == "1":
        queryset = queryset.filter(Q(near_expiry__gt=0) | Q(below_minimum__gt=0))
    return (
        queryset.select_related("region")
        .only("id", "name", "kind", "lon", "lat", "address", "region__name")
        .order_by("id")
    )


def depot_feature(depot, params: LayerParams) -> dict:
    url = object_url("depot_detail", depot.pk)
    kind = DEPOT_KINDS.get(depot.kind, {"glyph": "库", "color": MUTED})
    kind_label = _labels(params, DepotKind).get(depot.kind, depot.kind)
    alert = bool(depot.near_expiry or depot.below_minimum)
    return point_feature(
        depot.lon,
        depot.lat,
        params,
        id=depot.pk,
        name=depot.name,
        kind=depot.kind,
        kind_label=kind_label,
        near_expiry=depot.near_expiry,
        below_minimum=depot.below_minimum,
        alert=alert,
        glyph=kind["glyph"],
        color=WARNING if alert else kind["color"],
        url=url,
        popup=params.popup(
            "resources/search_popup_depot.html", obj=depot, kind_label=kind_label, url=url
        ),
    )


DEPOTS = MapLayer(
    key="resources.depots",
    name=_("应急物资储备库"),
    kind="points",
    queryset=depot_rows,
    feature=depot_feature,
    style={
        "color": "#7a4fd1",
        "glyph": "库",
        "radius": 11,
        "kinds": {str(k): v for k, v in DEPOT_KINDS.items()},
    },
    cluster=True,
    default_on=False,
    order=50,
    legend=(
        *(
            {
                "label": label,
                "color": DEPOT_KINDS[value]["color"],
                "glyph": DEPOT_KINDS[value]["glyph"],
                "shape": "pin",
            }
            for value, label in DepotKind.choices
        ),
        {"label": _("有临期物资或低于最低储备"), "color": WARNING, "shape": "pin"},
    ),
)


# --- teams ----------------------------------------------------------------------------------

TEAM_GLYPHS = {
    TeamKind.FIRE_BRIGADE: "消",
    TeamKind.FULLTIME_FIRE: "专",
    TeamKind.MICRO_FIRE_STATION: "微",
    TeamKind.RESCUE_SQUAD: "救",
    TeamKind.MILITIA: "民",
    TeamKind.SOCIAL: "社",
    TeamKind.VOLUNTEER: "志",
    TeamKind.EXPERT: "家",
}
TEAM_COLOURS = {
    TeamStatus.AVAILABLE: "#15803d",
    TeamStatus.DEPLOYED: "#1f6fd1",
    TeamStatus.RESTING: "#f08c00",
    TeamStatus.UNAVAILABLE: MUTED,
}


def team_rows(user, bbox: Bbox | None, params: LayerParams):
    queryset = in_bbox(RescueTeam.objects.visible_to(user), bbox)
    kinds = _choices(params, "kind", TeamKind)
    if kinds:
        queryset = queryset.filter(kind__in=kinds)
    statuses = _choices(params, "status", TeamStatus)
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    capability = params.query.get("capability", "")
    if capability in Capability.values:
        queryset = queryset.filter(capabilities__contains=f",{capability},")
    return (
        with_readiness(queryset)
        .select_related("region")
        .only(
            "id", "name", "kind", "status", "lon", "lat", "address", "duty_phone",
            "capabilities", "min_on_duty", "response_minutes", "region__name",
        )
        .order_by("id")
    )  # fmt: skip


def team_feature(team, params: LayerParams) -> dict:
    url = object_url("team_detail", team.pk)
    kind_label = _labels(params, TeamKind).get(team.kind, team.kind)
    status_label = _labels(params, TeamStatus).get(team.status, team.status)
    capability_labels = _labels(params, Capability)
    short = bool(team.min_on_duty and team.ready_now < team.min_on_duty)
    return point_feature(
        team.lon,
        team.lat,
        params,
        id=team.pk,
        name=team.name,
        kind=team.kind,
        kind_label=kind_label,
        status=team.status,
        status_label=status_label,
        ready_now=team.ready_now,
        understaffed=short,
        glyph=TEAM_GLYPHS.get(team.kind, "队"),
        color=TEAM_COLOURS.get(team.status, MUTED),
        url=url,
        popup=params.popup(
            "resources/search_popup_team.html",
            obj=team,
            kind_label=kind_label,
            status_label=status_label,
            understaffed=short,
            capabilities=[
                capability_labels.get(c, c) for c in unpack_capabilities(team.capabilities)
            ],
            url=url,
        ),
    )


TEAMS = MapLayer(
    key="resources.teams",
    name=_("救援队伍（按状态）"),
    kind="points",
    queryset=team_rows,
    feature=team_feature,
    style={
        "color": TEAM_COLOURS[TeamStatus.AVAILABLE],
        "glyph": "队",
        "radius": 11,
        "kinds": {str(kind): {"glyph": glyph} for kind, glyph in TEAM_GLYPHS.items()},
    },
    cluster=True,
    default_on=False,
    order=51,
    legend=tuple(
        {"label": label, "color": TEAM_COLOURS[value], "glyph": "队", "shape": "pin"}
        for value, label in TeamStatus.choices
    ),
)


# --- equipment bases ------------------------------------------------------------------------

BASE_COLOURS = {"ready": "#15803d", "busy": "#1f6fd1", "down": MUTED}
BASE_GLYPH = "装"


def equipment_base_rows(user, bbox: Bbox | None, params: LayerParams) -> list[dict]:
    """One row per base (the team, the depot, or the spot where equipment is parked), with
    counts by kind and status: one grouped query."""
    queryset = in_bbox(Equipment.objects.visible_to(user), bbox)
    kinds = _choices(params, "kind", EquipmentKind)
    if kinds:
        queryset = queryset.filter(kind__in=kinds)
    capability = params.query.get("capability", "")
    if capability in Capability.values:
        queryset = queryset.filter(capabilities__contains=f",{capability},")
    rows = (
        queryset.order_by()
        .values(
            "lon", "lat", "team_id", "team__name", "depot_id", "depot__name", "base_address",
            "region__name", "kind", "status",
        )
        .annotate(n=Count("id"))
    )  # fmt: skip
    bases: dict[tuple, dict] = {}
    for row in rows:
        key = (row["lon"], row["lat"], row["team_id"], row["depot_id"])
        base = bases.get(key)
        if base is None:
            base = bases[key] = {
                "lon": row["lon"],
                "lat": row["lat"],
                "team_id": row["team_id"],
                "depot_id": row["depot_id"],
                "name": row["team__name"] or row["depot__name"] or row["base_address"] or "",
                "region_name": row["region__name"],
                "counts": {},
                "kinds": {},
            }
        base["counts"][row["status"]] = base["counts"].get(row["status"], 0) + row["n"]
        kind = base["kinds"].setdefault(row["kind"], {"total": 0, "available": 0})
        kind["total"] += row["n"]
        if row["status"] == EquipmentStatus.AVAILABLE:
            kind["available"] += row["n"]
    result = list(bases.values())
    wanted = _choices(params, "status", EquipmentStatus)
    if wanted:
        result = [b for b in result if any(b["counts"].get(s) for s in wanted)]
    result.sort(key=lambda b: (b["lon"], b["lat"]))
    return result[: params.limit + 1]


def base_state(base: dict) -> str:
    counts = base["counts"]
    if counts.get(EquipmentStatus.AVAILABLE):
        return "ready"
    if counts.get(EquipmentStatus.IN_USE):
        return "busy"
    return "down"


def equipment_base_feature(base: dict, params: LayerParams) -> dict:
    if base["team_id"]:
        url = object_url("team_detail", base["team_id"])
    elif base["depot_id"]:
        url = object_url("depot_detail", base["depot_id"])
    else:
        url = ""
    kind_labels = _labels(params, EquipmentKind)
    status_labels = _labels(params, EquipmentStatus)
    state = base_state(base)
    return point_feature(
        base["lon"],
        base["lat"],
        params,
        name=base["name"],
        state=state,
        counts=base["counts"],
        total=sum(base["counts"].values()),
        available=base["counts"].get(EquipmentStatus.AVAILABLE, 0),
        glyph=BASE_GLYPH,
        color=BASE_COLOURS[state],
        url=url,
        popup=params.popup(
            "resources/search_popup_equipment.html",
            base=base,
            kinds=sorted(
                ((kind_labels.get(k, k), v) for k, v in base["kinds"].items()),
                key=lambda pair: pair[0],
            ),
            statuses=[
                (status_labels[s], base["counts"][s])
                for s in EquipmentStatus.values
                if base["counts"].get(s)
            ],
            url=url,
        ),
    )


EQUIPMENT = MapLayer(
    key="resources.equipment",
    name=_("装备存放点（按状态）"),
    kind="points",
    queryset=equipment_base_rows,
    feature=equipment_base_feature,
    style={"color": BASE_COLOURS["ready"], "glyph": BASE_GLYPH, "radius": 10},
    cluster=True,
    default_on=False,
    order=52,
    legend=tuple(
        {"label": label, "color": BASE_COLOURS[state], "glyph": BASE_GLYPH, "shape": "pin"}
        for state, label in (
            ("ready", _("有可用装备")),
            ("busy", _("装备均在使用中")),
            ("down", _("装备维修或故障")),
        )
    ),
)


# --- shelters -------------------------------------------------------------------------------

SHELTER_GLYPHS = {
    ShelterClass.CLASS_I: "Ⅰ",
    ShelterClass.CLASS_II: "Ⅱ",
    ShelterClass.CLASS_III: "Ⅲ",
}
SHELTER_COLOURS = {"closed": MUTED, "open": "#15803d", "busy": "#f08c00", "full": WARNING}
# Share of the capacity from which an open shelter shows as filling up.
BUSY_SHARE = 0.8


def shelter_state(shelter) -> str:
    if shelter.status == ShelterStatus.FULL or (
        shelter.capacity and shelter.occupancy >= shelter.capacity
    ):
        return "full"
    if shelter.status == ShelterStatus.CLOSED:
        return "closed"
    if shelter.capacity and shelter.occupancy >= BUSY_SHARE * shelter.capacity:
        return "busy"
    return "open"


def shelter_rows(user, bbox: Bbox | None, params: LayerParams):
    queryset = in_bbox(Shelter.objects.visible_to(user), bbox)
    classes = _choices(params, "class", ShelterClass)
    if classes:
        queryset = queryset.filter(shelter_class__in=classes)
    statuses = _choices(params, "status", ShelterStatus)
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    return (
        queryset.select_related("region")
        .only(
            "id", "name", "shelter_class", "level", "status", "capacity", "occupancy",
            "usable_area_m2", "lon", "lat", "address", "region__name",
        )
        .order_by("id")
    )  # fmt: skip


def shelter_feature(shelter, params: LayerParams) -> dict:
    url = object_url("shelter_detail", shelter.pk)
    state = shelter_state(shelter)
    class_label = _labels(params, ShelterClass).get(shelter.shelter_class, "")
    return point_feature(
        shelter.lon,
        shelter.lat,
        params,
        id=shelter.pk,
        name=shelter.name,
        kind=shelter.shelter_class,
        kind_label=class_label,
        status=shelter.status,
        state=state,
        full=state == "full",
        capacity=shelter.capacity,
        occupancy=shelter.occupancy,
        percent=shelter.occupancy_percent,
        glyph=SHELTER_GLYPHS.get(shelter.shelter_class, "避"),
        color=SHELTER_COLOURS[state],
        url=url,
        popup=params.popup(
            "resources/search_popup_shelter.html",
            obj=shelter,
            class_label=class_label,
            level_label=_labels(params, ShelterLevel).get(shelter.level, ""),
            status_label=_labels(params, ShelterStatus).get(shelter.status, ""),
            state=state,
            remaining=max(0, shelter.capacity - shelter.occupancy),
            url=url,
        ),
    )


SHELTERS = MapLayer(
    key="resources.shelters",
    name=_("应急避难场所（安置情况）"),
    kind="points",
    queryset=shelter_rows,
    feature=shelter_feature,
    style={
        "color": SHELTER_COLOURS["open"],
        "glyph": "避",
        "radius": 11,
        "kinds": {str(kind): {"glyph": glyph} for kind, glyph in SHELTER_GLYPHS.items()},
    },
    cluster=True,
    default_on=False,
    order=53,
    legend=tuple(
        {"label": label, "color": SHELTER_COLOURS[state], "glyph": "避", "shape": "pin"}
        for state, label in (
            ("closed", _("未启用")),
            ("open", _("已开放，有空位")),
            ("busy", _("安置人数达八成")),
            ("full", _("已满员")),
        )
    ),
)

register_layer(DEPOTS)
register_layer(TEAMS)
register_layer(EQUIPMENT)
register_layer(SHELTERS)
