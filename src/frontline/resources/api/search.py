"""/api/v1 of the nearby search: teams or equipment with a capability, and depots holding
enough of a supply, near a point, within the user's scope.

Coordinates may be sent in GCJ-02 or BD-09 (`coord_system`), as phones and AMap report them;
the answer's positions are in the same system, so a client can put them on its own map.
Bad numbers (NaN, out of range, a radius ≤ 0 or > 500 km), an unknown capability or item:
422 with the field named.

No `from __future__ import annotations` here: ninja reads the annotations at import time.
"""

from typing import Literal

from ninja import Field, Query, Router, Schema

from frontline.core.geo import from_wgs84
from frontline.resources.services import search as services

router = Router(tags=["resources"])

CoordSystem = Literal["wgs84", "gcj02", "bd09"]


class PointQuery(Schema):
    lon: float = Field(description="中心点经度")
    lat: float = Field(description="中心点纬度")
    radius_km: float = Field(10.0, description="搜索半径（公里），大于 0，最大 500")
    coord_system: CoordSystem = Field("wgs84", description="坐标系：wgs84、gcj02 或 bd09")


class NearbyQuery(PointQuery):
    kind: Literal["team", "equipment"] = Field("team", description="team 队伍；equipment 装备")
    capability: str = Field("", max_length=32, description="救援能力代码，不填为任意能力")
    limit: int = Field(services.DEFAULT_LIMIT, description="返回条数，1~50")


class SuppliesQuery(PointQuery):
    item: str = Field(max_length=7, description="7 位物资编码，或 1、3、5 位分类代码")
    min_quantity: int = Field(1, description="至少需要的数量（未过期批次合计）")
    limit: int = Field(20, description="返回储备库数，1~50")


class OriginOut(Schema):
    lon: float
    lat: float
    radius_km: float
    coord_system: str


class UnitOut(Schema):
    kind: str = Field(description="team 或 equipment")
    id: int
    name: str
    type: str = Field(description="队伍类型或装备类型")
    type_label: str
    status: str
    status_label: str
    region_name: str
    lon: float = Field(description="经度（与请求同一坐标系）")
    lat: float = Field(description="纬度（与请求同一坐标系）")
    distance_km: float = Field(description="直线距离（公里，大圆距离）")
    bearing_deg: float = Field(description="方位角，正北为 0，顺时针")
    direction: str = Field(description="方位，如 东北")
    capabilities: list[str]
    url: str
    ready_now: int | None = Field(None, description="队伍当前在岗人数")
    min_on_duty: int | None = None
    response_minutes: int | None = None
    duty_phone: str = ""
    team_name: str = Field("", description="装备配属的队伍")


class NearbyOut(Schema):
    origin: OriginOut
    kind: str
    capability: str
    limit: int
    results: list[UnitOut]


class SupplyLineOut(Schema):
    code: str
    name: str
    unit: str
    quantity: int


class DepotOut(Schema):
    id: int
    name: str
    kind: str
    kind_label: str
    region_name: str
    address: str
    lon: float = Field(description="经度（与请求同一坐标系）")
    lat: float = Field(description="纬度（与请求同一坐标系）")
    distance_km: float
    bearing_deg: float
    direction: str
    quantity: int = Field(description="未过期批次的合计库存")
    items: list[SupplyLineOut]
    url: str


class SuppliesOut(Schema):
    origin: OriginOut
    item: str
    item_name: str
    min_quantity: int
    results: list[DepotOut]


def _origin(query: PointQuery) -> OriginOut:
    return OriginOut(
        lon=query.lon, lat=query.lat, radius_km=query.radius_km, coord_system=query.coord_system
    )


def _placed(rows: list, system: str) -> list:
    """Positions back in the caller's coordinate system."""
    if system != "wgs84":
        for row in rows:
            row.lon, row.lat = (round(v, 6) for v in from_wgs84(row.lon, row.lat, system))
    return rows


@router.get(
    "/resources/nearby",
    response=NearbyOut,
    summary="附近可用的救援队伍或装备（按救援能力，近的在前）",
)
def nearby(request, query: Query[NearbyQuery]):
    point = services.clean_point(query.lon, query.lat, query.radius_km, query.coord_system)
    answer = services.nearby_units(
        user=request.user,
        point=point,
        kind=query.kind,
        capability=services.clean_capability(query.capability),
        limit=services.clean_limit(query.limit),
    )
    return NearbyOut(
        origin=_origin(query),
        kind=answer.kind,
        capability=answer.capability,
        limit=answer.limit,
        results=[UnitOut(**vars(row)) for row in _placed(answer.results, query.coord_system)],
    )


@router.get(
    "/resources/nearby-supplies",
    response=SuppliesOut,
    summary="附近储有某种物资的储备库（不计过期批次，近的在前）",
)
def nearby_supplies(request, query: Query[SuppliesQuery]):
    point = services.clean_point(query.lon, query.lat, query.radius_km, query.coord_system)
    answer = services.nearby_supplies(
        user=request.user,
        point=point,
        item=query.item,
        min_quantity=services.clean_min_quantity(query.min_quantity),
        limit=services.clean_limit(query.limit),
    )
    results = []
    for depot in _placed(answer.results, query.coord_system):
        data = vars(depot) | {"items": [SupplyLineOut(**vars(line)) for line in depot.items]}
        results.append(DepotOut(**data))
    return SuppliesOut(
        origin=_origin(query),
        item=answer.code,
        item_name=answer.name,
        min_quantity=answer.min_quantity,
        results=results,
    )
