"""Map layers of the community's places: buildings (一楼一档), pins coloured by use with
unsafe e-bike charging marked, and public safety facilities, pins coloured by status with an
overdue check in red. Registered when imported (by the app's `ready()`)."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from frontline.community.models import (
    Building,
    BuildingUse,
    EbikeCharging,
    FacilityKind,
    FacilityStatus,
    SafetyFacility,
)
from frontline.community.models.buildings import UNSAFE_CHARGING
from frontline.core.maps import Bbox, LayerParams, MapLayer, in_bbox, point_feature, register_layer


def _labels(params: LayerParams, choices) -> dict[str, str]:
    """value → label of a TextChoices, translated once per request."""
    key = f"labels_{choices.__name__}"
    if key not in params.memo:
        params.memo[key] = {value: str(label) for value, label in choices.choices}
    return params.memo[key]


def _url(params: LayerParams, url_name: str, pk: int) -> str:
    key = f"url_{url_name}"
    if key not in params.memo:
        params.memo[key] = reverse(url_name, args=[0])[:-2]
    return f"{params.memo[key]}{pk}/"


# --- buildings ------------------------------------------------------------------------------

USE_COLOURS = {
    BuildingUse.RESIDENTIAL: "#1f6fd1",
    BuildingUse.SELF_BUILT: "#5b8def",
    BuildingUse.MIXED: "#7a4fd1",
    BuildingUse.COMMERCIAL: "#c2570c",
    BuildingUse.OFFICE: "#0f766e",
    BuildingUse.INDUSTRIAL: "#6b4f2a",
    BuildingUse.WAREHOUSE: "#a16207",
    BuildingUse.PUBLIC: "#15803d",
    BuildingUse.OTHER: "#8a94a6",
}
BUILDING_GLYPH = "楼"
# Residents charging indoors or on flying leads: the pin says "电" in the warning colour,
# whatever the building's use.
UNSAFE_GLYPH = "电"
UNSAFE_COLOUR = "#d92d20"


def building_rows(user, bbox: Bbox | None, params: LayerParams):
    queryset = in_bbox(Building.objects.visible_to(user), bbox).select_related("region")
    uses = [u for u in params.query.get("use", "").split(",") if u in BuildingUse.values]
    if uses:
        queryset = queryset.filter(use__in=uses)
    if params.query.get("unsafe_charging") == "1":
        queryset = queryset.filter(ebike_charging__in=UNSAFE_CHARGING)
    return queryset.only(
        "id", "name", "use", "floors_above", "ebike_charging", "lon", "lat", "address",
        "region__name",
    ).order_by("id")  # fmt: skip


def building_feature(building: Building, params: LayerParams) -> dict:
    url = _url(params, "building_detail", building.pk)
    use_label = _labels(params, BuildingUse).get(building.use, building.use)
    unsafe = building.charging_is_unsafe
    return point_feature(
        building.lon,
        building.lat,
        params,
        id=building.pk,
        name=building.name,
        kind=building.use,
        kind_label=use_label,
        unsafe_charging=unsafe,
        glyph=UNSAFE_GLYPH if unsafe else BUILDING_GLYPH,
        color=UNSAFE_COLOUR if unsafe else USE_COLOURS.get(building.use, "#8a94a6"),
        url=url,
        popup=params.popup(
            "community/buildings/map_popup.html",
            obj=building,
            use_label=use_label,
            unsafe=unsafe,
            charging_label=_labels(params, EbikeCharging).get(building.ebike_charging, ""),
            url=url,
        ),
    )


BUILDINGS = MapLayer(
    key="community.buildings",
    name=_("楼栋（一楼一档）"),
    kind="points",
    queryset=building_rows,
    feature=building_feature,
    style={"color": USE_COLOURS[BuildingUse.RESIDENTIAL], "glyph": BUILDING_GLYPH, "radius": 10},
    cluster=True,
    min_zoom=12,
    default_on=False,
    order=40,
    legend=(
        *(
            {"label": label, "color": USE_COLOURS[value], "glyph": BUILDING_GLYPH, "shape": "pin"}
            for value, label in BuildingUse.choices
        ),
        {
            "label": _("电动车违规充电"),
            "color": UNSAFE_COLOUR,
            "glyph": UNSAFE_GLYPH,
            "shape": "pin",
        },
    ),
)

# --- facilities -----------------------------------------------------------------------------

STATUS_COLOURS = {
    FacilityStatus.NORMAL: "#15803d",
    FacilityStatus.FAULTY: "#f08c00",
    FacilityStatus.MISSING: "#7a4fd1",
    FacilityStatus.RETIRED: "#8a94a6",
}
OVERDUE_COLOUR = "#d92d20"
KIND_GLYPHS = {
    FacilityKind.HYDRANT: "栓",
    FacilityKind.EXTINGUISHER_POINT: "灭",
    FacilityKind.AED: "A",
    FacilityKind.MICRO_FIRE_STATION: "微",
    FacilityKind.LOUDSPEAKER: "广",
    FacilityKind.SHELTER_SIGN: "避",
    FacilityKind.WATER_SOURCE: "水",
    FacilityKind.OTHER: "设",
}


def facility_rows(user, bbox: Bbox | None, params: LayerParams):
    """Facilities in service (retired ones only when `?status=retired` asks for them)."""
    queryset = in_bbox(SafetyFacility.objects.visible_to(user), bbox).select_related("region")
    kinds = [k for k in params.query.get("kind", "").split(",") if k in FacilityKind.values]
    if kinds:
        queryset = queryset.filter(kind__in=kinds)
    statuses = [s for s in params.query.get("status", "").split(",") if s in FacilityStatus.values]
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    else:
        queryset = queryset.exclude(status=FacilityStatus.RETIRED)
    if params.query.get("overdue") == "1":
        queryset = queryset.filter(next_check_due__lt=timezone.localdate())
    return queryset.only(
        "id", "name", "kind", "status", "next_check_due", "lon", "lat", "address",
        "region__name",
    ).order_by("id")  # fmt: skip


def facility_feature(facility: SafetyFacility, params: LayerParams) -> dict:
    today = params.memo.setdefault("today", timezone.localdate())
    url = _url(params, "facility_detail", facility.pk)
    overdue = facility.is_overdue(today)
    kind_label = _labels(params, FacilityKind).get(facility.kind, facility.kind)
    status_label = _labels(params, FacilityStatus).get(facility.status, facility.status)
    return point_feature(
        facility.lon,
        facility.lat,
        params,
        id=facility.pk,
        name=facility.name,
        kind=facility.kind,
        kind_label=kind_label,
        status=facility.status,
        overdue=overdue,
        glyph=KIND_GLYPHS.get(facility.kind, "设"),
        color=OVERDUE_COLOUR if overdue else STATUS_COLOURS.get(facility.status, "#8a94a6"),
        url=url,
        popup=params.popup(
            "community/facilities/map_popup.html",
            obj=facility,
            kind_label=kind_label,
            status_label=status_label,
            overdue=overdue,
            url=url,
        ),
    )


FACILITIES = MapLayer(
    key="community.facilities",
    name=_("公共安全设施"),
    kind="points",
    queryset=facility_rows,
    feature=facility_feature,
    style={
        "color": STATUS_COLOURS[FacilityStatus.NORMAL],
        "glyph": "设",
        "radius": 10,
        "kinds": {kind: {"glyph": glyph} for kind, glyph in KIND_GLYPHS.items()},
    },
    cluster=True,
    min_zoom=12,
    default_on=False,
    order=41,
    legend=(
        {"label": _("完好"), "color": STATUS_COLOURS[FacilityStatus.NORMAL], "shape": "pin"},
        {"label": _("损坏待修"), "color": STATUS_COLOURS[FacilityStatus.FAULTY], "shape": "pin"},
        {"label": _("缺失"), "color": STATUS_COLOURS[FacilityStatus.MISSING], "shape": "pin"},
        {"label": _("检查逾期"), "color": OVERDUE_COLOUR, "shape": "pin"},
    ),
)

register_layer(BUILDINGS)
register_layer(FACILITIES)
