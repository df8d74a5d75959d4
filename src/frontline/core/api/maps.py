"""Map endpoints: the layers a user may see, their features in a box, the map's set-up.

No `from __future__ import annotations` here: ninja reads the annotations at import time.
"""

import json
import math
from typing import Literal

from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from frontline.core.errors import InvalidInput
from frontline.core.geo import gcj02_to_wgs84
from frontline.core.maps import (
    Bbox,
    LayerParams,
    feature_collection,
    layer_for,
    layers_for,
    map_config,
    max_features,
)

router = Router(tags=["map"])

# A GCJ-02 box is turned back into WGS-84 corner by corner; the offset changes slowly, and
# this margin (≈1 km) covers what the corners alone would miss.
_GCJ_MARGIN = 0.01


class LegendRow(Schema):
    label: str
    color: str
    shape: str = "pin"
    glyph: str | None = None
    weight: float | None = None
    dash: bool | None = None


class LayerOut(Schema):
    key: str
    name: str
    kind: Literal["points", "polygons"]
    style: dict
    cluster: bool
    min_zoom: int
    default_on: bool
    legend: list[LegendRow]


class TileLayerOut(Schema):
    url: str
    subdomains: str = ""
    max_zoom: int = 18
    attribution: str = ""


class TilesOut(Schema):
    provider: str
    crs: Literal["wgs84", "gcj02"]
    layers: list[TileLayerOut]
    warning: str = ""


class MapConfigOut(Schema):
    tiles: TilesOut
    bbox: list[float] | None = Field(None, description="用户辖区范围 [西, 南, 东, 北]，底图坐标系")
    min_zoom: int
    max_zoom: int
    max_features: int


def parse_bbox(raw: str | None, crs: str) -> Bbox | None:
    """`minlon,minlat,maxlon,maxlat` → a WGS-84 box; a clear 422 otherwise."""
    if raw is None or raw.strip() == "":
        return None
    hint = _("应为“西经度,南纬度,东经度,北纬度”四个数，例如 120.40,30.00,120.60,30.20")
    parts = raw.split(",")
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        numbers = []
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise InvalidInput(_("范围参数 bbox 格式不正确"), details={"bbox": hint})
    min_lon, min_lat, max_lon, max_lat = numbers
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise InvalidInput(
            _("范围参数 bbox 超出经纬度范围"), details={"bbox": _("经度应在 -180~180 之间")}
        )
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        raise InvalidInput(
            _("范围参数 bbox 超出经纬度范围"), details={"bbox": _("纬度应在 -90~90 之间")}
        )
    if min_lon > max_lon or min_lat > max_lat:
        raise InvalidInput(
            _("范围参数 bbox 格式不正确"), details={"bbox": _("西南角应在东北角的西南方")}
        )
    if crs == "gcj02":
        min_lon, min_lat = gcj02_to_wgs84(min_lon, min_lat)
        max_lon, max_lat = gcj02_to_wgs84(max_lon, max_lat)
        min_lon, min_lat = min_lon - _GCJ_MARGIN, min_lat - _GCJ_MARGIN
        max_lon, max_lat = max_lon + _GCJ_MARGIN, max_lat + _GCJ_MARGIN
    return (min_lon, min_lat, max_lon, max_lat)


class LayerQuery(Schema):
    bbox: str | None = Field(
        None, description="范围：西经度,南纬度,东经度,北纬度（与 crs 同一坐标系）；不填为整个辖区"
    )
    zoom: int = Field(12, ge=0, le=22, description="地图缩放级别，决定边界的层级和简化程度")
    crs: Literal["wgs84", "gcj02"] = Field(
        "wgs84", description="返回坐标的坐标系；高德底图用 gcj02"
    )


@router.get("/map/layers", response=list[LayerOut], summary="当前用户可见的地图图层")
def list_layers(request):
    return [layer.describe() for layer in layers_for(request.user)]


@router.get("/map/config", response=MapConfigOut, summary="地图底图设置和初始范围")
def get_config(request):
    return map_config(request.user)


@router.get(
    "/map/layers/{key}",
    summary="图层要素（GeoJSON FeatureCollection，按范围和辖区过滤）",
    description=(
        "按 bbox 和用户辖区筛选的 GeoJSON 要素集合。要素数超过上限时只返回前一部分，"
        "并在集合的 properties.truncated 中标明。"
    ),
)
def layer_features(request, key: str, filters: Query[LayerQuery]):
    layer = layer_for(request.user, key)
    if layer is None:
        raise Http404
    bbox = parse_bbox(filters.bbox, filters.crs)
    extra = {
        name: value for name, value in request.GET.items() if name not in {"bbox", "zoom", "crs"}
    }
    params = LayerParams(zoom=filters.zoom, crs=filters.crs, limit=max_features(), query=extra)
    collection = feature_collection(layer, request.user, bbox, params)
    body = json.dumps(collection, ensure_ascii=False, separators=(",", ":"), default=str)
    return HttpResponse(body, content_type="application/geo+json; charset=utf-8")
