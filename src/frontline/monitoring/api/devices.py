"""Devices for people: list with latest values, detail with open alarms, the time series of
the last day, registration (the token is shown once) and token rotation.

A device outside the user's scope is a 404; bad input a 422 with field messages; a user
without the right to edit in the device's region a 403.
"""

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.pagination import paginate

from frontline.community.models import Building, Household
from frontline.core.errors import InvalidInput
from frontline.core.geo import to_wgs84
from frontline.core.models import Region
from frontline.core.pagination import Pages
from frontline.core.schemas import ObjectId
from frontline.hazards.models import Enterprise, Place
from frontline.monitoring import queries
from frontline.monitoring.kinds import metric_of
from frontline.monitoring.models import Device
from frontline.monitoring.schemas import (
    DeviceCreated,
    DeviceDetail,
    DeviceFilter,
    DeviceIn,
    DeviceOut,
    ObservationQuery,
    ObservationsOut,
    TokenOut,
)
from frontline.monitoring.services.devices import TOKEN_PREFIX, register_device, rotate_device_token

router = Router(tags=["monitoring"])


def _device_or_404(request, device_id: int) -> Device:
    device = (
        Device.objects.visible_to(request.user)
        .select_related(*queries.DEVICE_RELATED)
        .filter(pk=device_id)
        .first()
    )
    if device is None:
        raise Http404
    return device


def _detail(request, device_id: int) -> Device:
    device = (
        queries.devices_for(request.user)
        .prefetch_related(queries.open_alarms_prefetch())
        .filter(pk=device_id)
        .first()
    )
    if device is None:
        raise Http404
    return device


@router.get(
    "/devices",
    response=list[DeviceOut],
    summary="监测设备列表（可按类型、状态、区划、企业、场所、关键字筛选；含各指标最新值）",
)
@paginate(Pages)
def list_devices(request, filters: Query[DeviceFilter]):
    return filters.filter(queries.devices_for(request.user)).order_by("region__code", "code")


@router.get(
    "/devices/{device_id}", response=DeviceDetail, summary="设备详情（含最新值、未消除告警）"
)
def device_detail(request, device_id: ObjectId):
    return _detail(request, device_id)


@router.get(
    "/devices/{device_id}/observations",
    response=ObservationsOut,
    summary="设备监测数据（缺省最近 24 小时；超过 limit 点时均匀抽稀）",
)
def observations(request, device_id: ObjectId, query: Query[ObservationQuery]):
    device = _device_or_404(request, device_id)
    if query.metric and metric_of(device.kind, query.metric) is None:
        raise InvalidInput(
            _("输入有误，请检查标注的字段"), details={"metric": _("该设备没有此指标")}
        )
    since, until = queries.default_window(query.since, query.until)
    if since >= until:
        raise InvalidInput(
            _("输入有误，请检查标注的字段"), details={"since": _("开始时间应早于结束时间")}
        )
    series = queries.series_of(
        device, metric=query.metric, since=since, until=until, limit=query.limit
    )
    return {"device_id": device.pk, "since": since, "until": until, "series": series}


def _visible(model, request, pk, field: str):
    if pk is None:
        return None
    found = model.objects.visible_to(request.user).filter(pk=pk).first()
    if found is None:
        raise InvalidInput(
            _("输入有误，请检查标注的字段"), details={field: _("不存在或不在您的管辖范围内")}
        )
    return found


@router.post(
    "/devices",
    response={201: DeviceCreated},
    summary="登记设备（返回设备令牌，只显示这一次）",
)
def register(request, payload: DeviceIn):
    region = Region.objects.visible_to(request.user).filter(code=payload.region_code).first()
    if region is None:
        raise InvalidInput(
            _("区划不存在"), details={"region_code": _("区划不存在或不在管辖范围内")}
        )
    lon, lat = payload.lon, payload.lat
    if lon is not None and lat is not None:
        lon, lat = to_wgs84(lon, lat, payload.coord_system)
    device, token = register_device(
        actor=request.user,
        region=region,
        code=payload.code,
        name=payload.name,
        kind=payload.kind,
        enterprise=_visible(Enterprise, request, payload.enterprise_id, "enterprise_id"),
        place=_visible(Place, request, payload.place_id, "place_id"),
        building=_visible(Building, request, payload.building_id, "building_id"),
        household=_visible(Household, request, payload.household_id, "household_id"),
        location=payload.location,
        lon=lon,
        lat=lat,
        attributes=payload.attributes,
        offline_after_minutes=payload.offline_after_minutes,
    )
    return Status(201, {"device": _detail(request, device.pk), "token": token})


@router.post(
    "/devices/{device_id}/rotate-token",
    response=TokenOut,
    summary="更换设备令牌（新令牌只显示这一次，旧令牌立即失效）",
)
def rotate_token(request, device_id: ObjectId):
    token = rotate_device_token(actor=request.user, device=_device_or_404(request, device_id))
    return {"token": token, "token_prefix": token[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + 8]}
