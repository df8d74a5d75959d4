"""The map's layer registry, and the two layers of the core: region boundaries and
organizations.

An app declares a layer once, usually in its `AppConfig.ready()`:

    register_layer(MapLayer(
        key="hazards",
        name=gettext_lazy("隐患"),
        kind="points",
        queryset=lambda user, bbox, params: in_bbox(
            Hazard.objects.visible_to(user).filter(status="open"), bbox),
        feature=lambda hazard, params: point_feature(
            hazard.lon, hazard.lat, params, name=hazard.title, url=f"/hazards/{hazard.pk}/",
            popup=params.popup("hazards/map/hazard_popup.html", hazard=hazard)),
        style={"color": "#b42318", "glyph": "隐"},
        cluster=True,
    ))

and it appears in the layer switcher of every user who may see it. The map asks
`/api/v1/map/layers/<key>?bbox=…&zoom=…` for the features in view; see docs/map.md.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import shapely
from django.conf import settings
from django.db.models import QuerySet
from django.template.loader import get_template
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from frontline.core.geo import coords_wgs84_to_gcj02, parse_boundary, wgs84_to_gcj02
from frontline.core.models import Organization, OrganizationKind, Region, RegionLevel
from frontline.core.models.regions import LEVEL_ORDER
from frontline.core.roles import can
from frontline.core.scoping import scope_paths

Bbox = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat (WGS-84)

DEFAULT_MAX_FEATURES = 5000


def max_features() -> int:
    return int(getattr(settings, "MAP_MAX_FEATURES", DEFAULT_MAX_FEATURES))


@dataclass
class LayerParams:
    """What one request for a layer's features asked for."""

    zoom: int = 12
    crs: Literal["wgs84", "gcj02"] = "wgs84"
    limit: int = DEFAULT_MAX_FEATURES
    query: dict[str, str] = field(default_factory=dict)
    user: Any = None
    # Per-request scratch space for layers (labels translated once, and the like).
    memo: dict = field(default_factory=dict, repr=False)
    _templates: dict = field(default_factory=dict, repr=False)

    def popup(self, template_name: str, **context) -> str:
        """Render a small popup template (autoescaped); templates are looked up once per
        request."""
        template = self._templates.get(template_name)
        if template is None:
            template = self._templates[template_name] = get_template(template_name)
        return template.render(context)


@dataclass(frozen=True)
class MapLayer:
    """One layer of the map.

    `queryset(user, bbox, params)` returns the rows in view, already scoped with
    `visible_to(user)`; `feature(row, params)` turns one row into a GeoJSON Feature (or None
    to skip it). A QuerySet is cut at the feature cap by the registry; a layer that returns
    a list must respect `params.limit + 1` itself.
    """

    key: str
    name: Any
    kind: Literal["points", "polygons"]
    queryset: Callable[[Any, Bbox | None, LayerParams], Iterable]
    feature: Callable[[Any, LayerParams], dict | None]
    # color, glyph (one character drawn in the pin), radius, weight, fill…; polygon layers
    # may style per level under "levels", point layers per kind under "kinds".
    style: dict = field(default_factory=dict)
    cluster: bool = False
    min_zoom: int = 0
    default_on: bool = True
    capability: str | None = None
    order: int = 100
    # Legend rows: {"label", "color", "glyph"?, "shape": "pin"|"line"|"area"}.
    legend: tuple[dict, ...] = ()
    # True when `feature` already answers in params.crs (the registry converts otherwise).
    handles_crs: bool = False

    def describe(self) -> dict:
        return {
            "key": self.key,
            "name": str(self.name),
            "kind": self.kind,
            "style": self.style,
            "cluster": self.cluster,
            "min_zoom": self.min_zoom,
            "default_on": self.default_on,
            "legend": [{**row, "label": str(row.get("label", ""))} for row in self.legend],
        }


_registry: dict[str, MapLayer] = {}
_registry_lock = threading.Lock()


def register_layer(layer: MapLayer) -> MapLayer:
    """Add (or replace, by key) a layer."""
    with _registry_lock:
        _registry[layer.key] = layer
    return layer


def unregister_layer(key: str) -> None:
    with _registry_lock:
        _registry.pop(key, None)


def all_layers() -> list[MapLayer]:
    return sorted(_registry.values(), key=lambda layer: (layer.order, layer.key))


def layers_for(user) -> list[MapLayer]:
    """The layers this user may see, in switcher order."""
    if user is None or not user.is_authenticated:
        return []
    return [
        layer for layer in all_layers() if layer.capability is None or can(user, layer.capability)
    ]


def layer_for(user, key: str) -> MapLayer | None:
    return next((layer for layer in layers_for(user) if layer.key == key), None)


# --- building feature collections -----------------------------------------------------------


def feature_collection(layer: MapLayer, user, bbox: Bbox | None, params: LayerParams) -> dict:
    params.user = user
    rows = layer.queryset(user, bbox, params)
    if isinstance(rows, QuerySet):
        rows = rows[: params.limit + 1]
    features: list[dict] = []
    truncated = False
    for row in rows:
        if len(features) >= params.limit:
            truncated = True
            break
        feature = layer.feature(row, params)
        if feature is None:
            continue
        if params.crs != "wgs84" and not layer.handles_crs:
            feature["geometry"] = geometry_to_crs(feature["geometry"], params.crs)
        features.append(feature)
    return {
        "type": "FeatureCollection",
        "features": features,
        "properties": {
            "layer": layer.key,
            "count": len(features),
            "truncated": truncated,
            "limit": params.limit,
            "zoom": params.zoom,
            "crs": params.crs,
        },
    }


def in_bbox(queryset, bbox: Bbox | None, lon: str = "lon", lat: str = "lat"):
    """Rows whose point lies in the box (plain column comparisons: any index helps)."""
    queryset = queryset.filter(**{f"{lon}__isnull": False, f"{lat}__isnull": False})
    if bbox is None:
        return queryset
    min_lon, min_lat, max_lon, max_lat = bbox
    return queryset.filter(
        **{
            f"{lon}__gte": min_lon,
            f"{lon}__lte": max_lon,
            f"{lat}__gte": min_lat,
            f"{lat}__lte": max_lat,
        }
    )


def overlapping_bbox(queryset, bbox: Bbox | None):
    """Rows whose stored bounding box (min_lon … max_lat columns) overlaps the box."""
    queryset = queryset.filter(min_lon__isnull=False)
    if bbox is None:
        return queryset
    min_lon, min_lat, max_lon, max_lat = bbox
    return queryset.filter(
        min_lon__lte=max_lon, max_lon__gte=min_lon, min_lat__lte=max_lat, max_lat__gte=min_lat
    )


def point_feature(lon: float, lat: float, params: LayerParams | None = None, **properties) -> dict:
    """A GeoJSON Point feature in WGS-84 (the registry converts it when GCJ-02 is asked)."""
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
        "properties": properties,
    }


def geometry_to_crs(geometry: dict, crs: str) -> dict:
    """A GeoJSON geometry (WGS-84) in `crs`; only "wgs84" and "gcj02" are map systems."""
    if crs == "wgs84" or geometry is None:
        return geometry
    if crs != "gcj02":
        raise ValueError(f"unsupported map coordinate system {crs!r}")
    if geometry["type"] == "Point":
        lon, lat = geometry["coordinates"][:2]
        glon, glat = wgs84_to_gcj02(lon, lat)
        return {"type": "Point", "coordinates": [round(glon, 6), round(glat, 6)]}
    converted = shapely.transform(shapely.geometry.shape(geometry), coords_wgs84_to_gcj02)
    return _geojson(converted)


def _round6(coords: np.ndarray) -> np.ndarray:
    return np.round(coords, 6)


def _geojson(geometry) -> dict:
    import json

    return json.loads(shapely.to_geojson(shapely.transform(geometry, _round6)))


# --- the regions layer ----------------------------------------------------------------------

# Which level fills the map at a zoom: townships at county view, villages closer, grids
# closest (the demo district is ≈30 km across: zoom 11 shows it whole).
ZOOM_LEVELS: tuple[tuple[int, RegionLevel], ...] = (
    (14, RegionLevel.GRID),
    (12, RegionLevel.VILLAGE),
    (0, RegionLevel.TOWNSHIP),
)


def level_for_zoom(zoom: int) -> RegionLevel:
    for threshold, level in ZOOM_LEVELS:
        if zoom >= threshold:
            return level
    return RegionLevel.TOWNSHIP


def tolerance_for_zoom(zoom: int) -> float:
    """Half a screen pixel in degrees at this zoom; no simplification at street level."""
    if zoom >= 17:
        return 0.0
    return 360.0 / (256 * 2**zoom) / 2


class _GeometryCache:
    """Simplified (and optionally GCJ-02 shifted) boundaries, keyed by region, its last
    change, the tolerance and the coordinate system. An edit changes `updated_at`, so stale
    entries are never served; the oldest are dropped past `size`."""

    def __init__(self, size: int = 30_000):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


geometry_cache = _GeometryCache()
# Rendered region popups, keyed by region, its last change and the language.
popup_cache = _GeometryCache()


def simplified_boundary(boundary: dict, tolerance: float, crs: str) -> dict | None:
    try:
        geometry = parse_boundary(boundary)
    except ValueError:
        return None
    if tolerance > 0:
        geometry = shapely.simplify(geometry, tolerance, preserve_topology=True)
    if crs == "gcj02":
        geometry = shapely.transform(geometry, coords_wgs84_to_gcj02)
    return _geojson(geometry)


_REGION_FIELDS = (
    "id",
    "path",
    "code",
    "name",
    "level",
    "depth",
    "updated_at",
    "centroid_lon",
    "centroid_lat",
    "population",
)


def region_rows(user, bbox: Bbox | None, params: LayerParams) -> list[dict]:
    """Regions of the scope at the levels this zoom shows, coarse first, with their
    simplified boundary. Two queries at most: the rows, then the boundaries not cached."""
    target = LEVEL_ORDER.index(level_for_zoom(params.zoom))
    levels = [level.value for level in LEVEL_ORDER[: target + 1]]
    paths = scope_paths(user)
    visible = Region.objects.visible_to(user)
    # The roots of the scope always show, even when finer than the zoom's level (a grid
    # worker sees their grid at county zoom).
    wanted = visible.filter(level__in=levels)
    if paths:
        wanted = visible.filter(level__in=levels) | visible.filter(path__in=paths)
    rows = list(
        overlapping_bbox(wanted, bbox)
        .order_by("depth", "code")
        .values(*_REGION_FIELDS)[: params.limit + 1]
    )
    tolerance = tolerance_for_zoom(params.zoom)
    missing: dict[int, tuple] = {}
    for row in rows:
        key = (row["id"], row["updated_at"], tolerance, params.crs)
        row["geometry"] = geometry_cache.get(key)
        if row["geometry"] is None:
            missing[row["id"]] = key
    if missing:
        boundaries = Region.objects.filter(pk__in=list(missing)).values_list("id", "boundary")
        simplified = {}
        for region_id, boundary in boundaries.iterator(chunk_size=500):
            geometry = simplified_boundary(boundary, tolerance, params.crs) if boundary else None
            if geometry is not None:
                geometry_cache.put(missing[region_id], geometry)
                simplified[region_id] = geometry
        for row in rows:
            if row["geometry"] is None:
                row["geometry"] = simplified.get(row["id"])
    finest = max((LEVEL_ORDER.index(RegionLevel(row["level"])) for row in rows), default=0)
    roots = set(paths or ())
    for row in rows:
        finest_here = LEVEL_ORDER.index(RegionLevel(row["level"])) == finest
        row["role"] = "area" if finest_here else "outline"
        row["scope_root"] = row["path"] in roots
    return rows


_LEVEL_LABELS = dict(RegionLevel.choices)


def region_feature(row: dict, params: LayerParams) -> dict | None:
    if row["geometry"] is None:
        return None
    label_point = None
    if row["centroid_lon"] is not None:
        lon, lat = row["centroid_lon"], row["centroid_lat"]
        if params.crs == "gcj02":
            lon, lat = wgs84_to_gcj02(lon, lat)
        label_point = [round(lon, 6), round(lat, 6)]
    memo = params.memo
    if "region_url" not in memo:
        memo["region_url"] = reverse("region_detail", args=["0"])[:-2]
        memo["level_labels"] = {key: str(label) for key, label in _LEVEL_LABELS.items()}
    url = f"{memo['region_url']}{row['code']}/"
    level_label = memo["level_labels"].get(row["level"], row["level"])
    return {
        "type": "Feature",
        "id": row["code"],
        "geometry": row["geometry"],
        "properties": {
            "name": row["name"],
            "code": row["code"],
            "level": row["level"],
            "level_label": level_label,
            "role": row["role"],
            "scope_root": row["scope_root"],
            "label_point": label_point,
            "url": url,
            "popup": region_popup(row, level_label, url, params),
        },
    }


def region_popup(row: dict, level_label: str, url: str, params: LayerParams) -> str:
    key = (row["id"], row["updated_at"], get_language())
    popup = popup_cache.get(key)
    if popup is None:
        popup = params.popup(
            "core/map/region_popup.html", region=row, level_label=level_label, url=url
        )
        popup_cache.put(key, popup)
    return popup


REGION_STYLE = {
    "color": "#0f3d7a",
    "levels": {
        "province": {"color": "#0f3d7a", "weight": 3.5},
        "city": {"color": "#0f3d7a", "weight": 3.5},
        "county": {"color": "#0f3d7a", "weight": 3},
        "township": {"color": "#1f5fbf", "weight": 2},
        "village": {"color": "#4f7cc4", "weight": 1.2},
        "grid": {"color": "#7d95bd", "weight": 0.8, "dashArray": "3 3"},
    },
    # Fill colours for the areas of the finest level shown, chosen by code.
    "palette": ["#dbe7f7", "#e3f1e0", "#fbecd6", "#efe2f4", "#dff1f1", "#f7e1e1", "#eef0d8"],
}

REGIONS = MapLayer(
    key="regions",
    name=_("行政区划边界"),
    kind="polygons",
    queryset=region_rows,
    feature=region_feature,
    style=REGION_STYLE,
    default_on=True,
    order=0,
    handles_crs=True,
    legend=(
        {"label": _("区县"), "color": "#0f3d7a", "shape": "line", "weight": 3},
        {"label": _("乡镇街道"), "color": "#1f5fbf", "shape": "line", "weight": 2},
        {"label": _("村社区"), "color": "#4f7cc4", "shape": "line", "weight": 1.2},
        {"label": _("网格"), "color": "#7d95bd", "shape": "line", "weight": 1, "dash": True},
    ),
)


# --- the organizations layer ----------------------------------------------------------------

# One character in a coloured pin per kind: readable on any PC (no emoji font needed).
ORGANIZATION_KINDS: dict[str, dict] = {
    OrganizationKind.BUREAU: {"glyph": "局", "color": "#0f3d7a"},
    OrganizationKind.STATION: {"glyph": "站", "color": "#1f5fbf"},
    OrganizationKind.COMMUNITY_STATION: {"glyph": "社", "color": "#3b82c4"},
    OrganizationKind.GOVERNMENT: {"glyph": "政", "color": "#5b6676"},
    OrganizationKind.VILLAGE_COMMITTEE: {"glyph": "村", "color": "#7a8699"},
    OrganizationKind.FIRE_BRIGADE: {"glyph": "消", "color": "#c62828"},
    OrganizationKind.FULLTIME_FIRE_TEAM: {"glyph": "专", "color": "#e0592a"},
    OrganizationKind.MICRO_FIRE_STATION: {"glyph": "微", "color": "#ef8a17"},
    OrganizationKind.RESCUE_SQUAD: {"glyph": "救", "color": "#1a7f37"},
    OrganizationKind.DEPARTMENT: {"glyph": "部", "color": "#6b5ca5"},
    OrganizationKind.SOCIAL_RESCUE: {"glyph": "援", "color": "#2e9d8f"},
    OrganizationKind.EXPERT_GROUP: {"glyph": "家", "color": "#8a6d3b"},
    OrganizationKind.ENTERPRISE: {"glyph": "企", "color": "#86712f"},
}


def organization_rows(user, bbox: Bbox | None, params: LayerParams):
    queryset = in_bbox(Organization.objects.visible_to(user), bbox).select_related("region")
    kinds = [k for k in params.query.get("kind", "").split(",") if k in OrganizationKind.values]
    if kinds:
        queryset = queryset.filter(kind__in=kinds)
    return queryset.only(
        "id", "name", "kind", "lon", "lat", "duty_phone", "address", "region__name"
    ).order_by("id")


def organization_feature(organization: Organization, params: LayerParams) -> dict:
    kind = ORGANIZATION_KINDS.get(organization.kind, {"glyph": "单", "color": "#5b6676"})
    # get_kind_display() rebuilds the choices on every call: translate them once per request.
    labels = params.memo.get("kind_labels")
    if labels is None:
        labels = params.memo["kind_labels"] = {k: str(v) for k, v in OrganizationKind.choices}
        params.memo["url"] = reverse("organization_detail", args=[0])[:-2]
    kind_label = labels.get(organization.kind, organization.kind)
    url = f"{params.memo['url']}{organization.pk}/"
    return point_feature(
        organization.lon,
        organization.lat,
        params,
        id=organization.pk,
        name=organization.name,
        kind=organization.kind,
        kind_label=kind_label,
        glyph=kind["glyph"],
        color=kind["color"],
        url=url,
        popup=params.popup(
            "core/map/organization_popup.html",
            organization=organization,
            kind_label=kind_label,
            url=url,
        ),
    )


ORGANIZATIONS = MapLayer(
    key="organizations",
    name=_("应急组织与队伍"),
    kind="points",
    queryset=organization_rows,
    feature=organization_feature,
    style={
        "color": "#1f5fbf",
        "radius": 13,
        "kinds": {str(k): v for k, v in ORGANIZATION_KINDS.items()},
    },
    cluster=True,
    default_on=True,
    order=10,
    legend=tuple(
        {
            "label": label,
            "color": ORGANIZATION_KINDS[value]["color"],
            "glyph": ORGANIZATION_KINDS[value]["glyph"],
            "shape": "pin",
        }
        for value, label in OrganizationKind.choices
    ),
)

register_layer(REGIONS)
register_layer(ORGANIZATIONS)


# --- the initial view -----------------------------------------------------------------------


def scope_bbox(user) -> Bbox | None:
    """The bounding box of the user's scope (of its root regions)."""
    from django.db.models import Max, Min

    paths = scope_paths(user)
    if paths is None:
        roots = Region.objects.filter(parent__isnull=True)
    elif not paths:
        return None
    else:
        roots = Region.objects.filter(path__in=paths)
    box = roots.filter(min_lon__isnull=False).aggregate(
        a=Min("min_lon"), b=Min("min_lat"), c=Max("max_lon"), d=Max("max_lat")
    )
    if box["a"] is None:
        box = (
            Region.objects.visible_to(user)
            .filter(min_lon__isnull=False)
            .aggregate(a=Min("min_lon"), b=Min("min_lat"), c=Max("max_lon"), d=Max("max_lat"))
        )
    if box["a"] is None:
        return None
    return (box["a"], box["b"], box["c"], box["d"])


# --- base tiles -----------------------------------------------------------------------------

TILE_PROVIDERS = ("none", "osm", "tianditu", "amap")
_TIANDITU = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}"
)


def tile_config() -> dict:
    """Base tiles from the settings (MAP_TILES, TIANDITU_KEY, MAP_TILE_URL).

    "none" (the default: stations often have no internet) draws boundaries on a plain
    background. Tianditu serves Web Mercator on CGCS2000 ≈ WGS-84 (no shift); AMap tiles are
    GCJ-02, so the map then asks for its overlays in GCJ-02. MAP_TILE_URL replaces the
    provider's public address with an intranet mirror (an XYZ template); set on its own it
    is a WGS-84 tile server.
    """
    provider = getattr(settings, "MAP_TILES", "none") or "none"
    custom_url = getattr(settings, "MAP_TILE_URL", "") or ""
    key = getattr(settings, "TIANDITU_KEY", "") or ""
    layers: list[dict] = []
    warning = ""
    crs = "wgs84"
    if provider == "none" and custom_url:
        provider = "custom"
        layers = [{"url": custom_url, "subdomains": "abc", "max_zoom": 18, "attribution": ""}]
    elif provider == "osm":
        layers = [
            {
                "url": custom_url or "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                "subdomains": "abc",
                "max_zoom": 19,
                "attribution": "© OpenStreetMap",
            }
        ]
    elif provider == "tianditu":
        if custom_url:
            layers = [{"url": custom_url, "subdomains": "01234567", "max_zoom": 18}]
        elif key:
            layers = [
                {
                    "url": _TIANDITU.format(
                        layer=name, key=key, s="{s}", z="{z}", x="{x}", y="{y}"
                    ),
                    "subdomains": "01234567",
                    "max_zoom": 18,
                    "attribution": "© 天地图" if name == "vec" else "",
                }
                for name in ("vec", "cva")
            ]
        else:
            provider = "none"
            warning = str(_("已选择天地图底图但未配置密钥（TIANDITU_KEY），地图以无底图方式显示。"))
    elif provider == "amap":
        crs = "gcj02"
        layers = [
            {
                "url": custom_url
                or "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
                "subdomains": "1234",
                "max_zoom": 18,
                "attribution": "© 高德地图",
            }
        ]
    elif provider not in TILE_PROVIDERS:
        warning = str(_("底图设置无法识别，地图以无底图方式显示。"))
        provider = "none"
    for layer in layers:
        layer.setdefault("attribution", "")
    return {"provider": provider, "crs": crs, "layers": layers, "warning": warning}


def map_config(user) -> dict:
    tiles = tile_config()
    bbox = scope_bbox(user)
    if bbox is not None and tiles["crs"] == "gcj02":
        low = wgs84_to_gcj02(bbox[0], bbox[1])
        high = wgs84_to_gcj02(bbox[2], bbox[3])
        bbox = (low[0], low[1], high[0], high[1])
    return {
        "tiles": tiles,
        "bbox": list(bbox) if bbox else None,
        "min_zoom": 3,
        "max_zoom": 19,
        "max_features": max_features(),
    }
