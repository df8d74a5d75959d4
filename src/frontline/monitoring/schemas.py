"""Schemas of the people's monitoring API: devices, observations, alarms and rules.

(The devices' own telemetry door has its schemas in api/telemetry.py.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.db.models import Q
from ninja import Field, FilterLookup, FilterSchema, Schema

from frontline.core.schemas import ObjectId, region_subtree_q
from frontline.core.schemas_tasks import actor_name
from frontline.monitoring.kinds import DeviceKind, metric_of
from frontline.monitoring.models import (
    OPEN_ALARM_STATES,
    AlarmSeverity,
    AlarmState,
    Condition,
    DeviceStatus,
    Operator,
)
from frontline.monitoring.services.alarms import link

# --- devices -----------------------------------------------------------------------------------


class LatestValueOut(Schema):
    metric: str
    label: str = Field(description="指标名称")
    unit: str
    value: float
    at: datetime


def latest_values(device) -> list[dict]:
    """The prefetched latest values of a device, in the order of its kind's metrics."""
    rows = []
    for row in device.latest.all():
        metric = metric_of(device.kind, row.metric)
        rows.append(
            {
                "metric": row.metric,
                "label": str(metric.label) if metric else row.metric,
                "unit": str(metric.unit) if metric else "",
                "value": row.value,
                "at": row.at,
            }
        )
    return sorted(rows, key=lambda r: r["metric"])


class DeviceOut(Schema):
    id: int
    code: str = Field(description="设备编码（MQTT 主题中的编号、GB/T 26875.3 地址）")
    name: str
    kind: DeviceKind
    kind_label: str = Field(alias="get_kind_display")
    status: DeviceStatus
    status_label: str = Field(alias="get_status_display")
    is_active: bool
    region_id: int
    region_code: str = Field(alias="region.code")
    region_name: str = Field(alias="region.name")
    enterprise_id: int | None
    enterprise_name: str | None = Field(None, alias="enterprise.name")
    place_id: int | None
    place_name: str | None = Field(None, alias="place.name")
    building_id: int | None
    building_name: str | None = Field(None, alias="building.name")
    household_id: int | None
    location: str
    lon: float | None
    lat: float | None
    attributes: dict
    offline_after_minutes: int
    last_seen_at: datetime | None
    token_prefix: str = Field(description="令牌前缀，便于核对；令牌本身只在登记和更换时显示一次")
    latest: list[LatestValueOut] = Field(description="各指标的最新值")

    @staticmethod
    def resolve_latest(obj) -> list[dict]:
        return latest_values(obj)


class AlarmOut(Schema):
    id: int
    title: str
    message: str = Field(description="现场提示（企业端提示语）")
    alarm_type: str
    severity: AlarmSeverity
    severity_label: str = Field(alias="get_severity_display")
    state: AlarmState
    state_label: str = Field(alias="get_state_display")
    value: float | None
    count: int
    first_at: datetime
    last_at: datetime
    raised_at: datetime
    acknowledged_at: datetime | None
    cleared_at: datetime | None
    device_id: int
    device_code: str = Field(alias="device.code")
    device_name: str = Field(alias="device.name")
    device_kind: str = Field(alias="device.kind")
    region_id: int
    region_code: str = Field(alias="region.code")
    region_name: str = Field(alias="region.name")
    enterprise_id: int | None
    enterprise_name: str | None = Field(None, alias="enterprise.name")
    place_id: int | None
    place_name: str | None = Field(None, alias="place.name")
    hazard_id: int | None = Field(description="转为隐患后的隐患编号（id）")
    supervised_task_id: int | None
    url: str = Field(description="告警页面")

    @staticmethod
    def resolve_url(obj) -> str:
        return link(obj)


class DeviceDetail(DeviceOut):
    open_alarms: list[AlarmOut] = Field(description="未消除的告警，新的在前")


class DeviceIn(Schema):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100)
    kind: DeviceKind
    region_code: str = Field(min_length=6, max_length=15, description="所属区划代码")
    enterprise_id: ObjectId | None = None
    place_id: ObjectId | None = None
    building_id: ObjectId | None = None
    household_id: ObjectId | None = Field(None, description="住户编号（含楼栋）")
    location: str = Field("", max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    coord_system: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    attributes: dict[str, float] = Field(
        default_factory=dict, description='规则使用的设备参数，如 {"occupancy_limit": 30}'
    )
    offline_after_minutes: int | None = Field(None, ge=1, le=7 * 24 * 60)


class DeviceCreated(Schema):
    device: DeviceDetail
    token: str = Field(description="设备令牌（只显示这一次，请抄录到设备上）")


class TokenOut(Schema):
    token: str = Field(description="新的设备令牌（只显示这一次），旧令牌立即失效")
    token_prefix: str


class DeviceFilter(FilterSchema):
    kind: DeviceKind | None = None
    status: DeviceStatus | None = None
    region: str | None = Field(None, description="区划代码（含下级）")
    enterprise: ObjectId | None = Field(None, description="企业编号")
    place: ObjectId | None = Field(None, description="场所编号")
    active: bool | None = Field(None, description="true：启用中的设备")
    q: Annotated[
        str | None,
        FilterLookup(["code__icontains", "name__icontains", "location__icontains"]),
    ] = Field(None, max_length=100, description="编码、名称或安装位置包含")

    def filter_region(self, value):
        return region_subtree_q(value)

    def filter_enterprise(self, value):
        return Q() if value is None else Q(enterprise_id=value)

    def filter_place(self, value):
        return Q() if value is None else Q(place_id=value)

    def filter_active(self, value):
        return Q() if value is None else Q(is_active=value)


class ObservationQuery(Schema):
    metric: str | None = Field(None, max_length=32, description="指标；缺省为设备的全部指标")
    since: datetime | None = Field(None, description="起（缺省：24 小时前）")
    until: datetime | None = Field(None, description="止（缺省：现在）")
    limit: int = Field(5000, ge=10, le=5000, description="每个指标最多返回的点数")


class SeriesOut(Schema):
    metric: str
    label: str
    unit: str
    total: int = Field(description="时间段内的数据条数")
    downsampled: bool = Field(description="超过 limit 时按时间均匀抽稀（每段保留最高和最低点）")
    points: list[tuple[datetime, float]] = Field(description="[时间, 数值]，先早后晚")


class ObservationsOut(Schema):
    device_id: int
    since: datetime
    until: datetime
    series: list[SeriesOut]


# --- alarms ------------------------------------------------------------------------------------


class AlarmEventOut(Schema):
    id: int
    at: datetime
    kind: str
    from_state: str
    to_state: str
    note: str
    actor_id: int | None
    actor_name: str | None = None
    data: dict

    @staticmethod
    def resolve_actor_name(obj) -> str | None:
        return actor_name(obj.actor)


class AlarmDetail(AlarmOut):
    detail: dict = Field(description="附加信息（如 GB/T 26875.3 部件地址）")
    hazard_number: str | None = None
    timeline: list[AlarmEventOut] = Field(description="事件时间线，先早后晚")

    @staticmethod
    def resolve_hazard_number(obj) -> str | None:
        return obj.hazard.number if obj.hazard_id and obj.hazard else None


class AlarmFilter(FilterSchema):
    state: Literal["open", "active", "acknowledged", "cleared", "all"] = Field(
        "open", description="open（缺省）：未消除；active：未确认；all：全部"
    )
    severity: AlarmSeverity | None = None
    kind: DeviceKind | None = Field(None, description="设备类型")
    region: str | None = Field(None, description="区划代码（含下级）")
    since: datetime | None = Field(None, description="最近发生时间不早于")
    device: ObjectId | None = Field(None, description="设备编号")

    def filter_state(self, value):
        if value == "open":
            return Q(state__in=OPEN_ALARM_STATES)
        if value == "all":
            return Q()
        return Q(state=value)

    def filter_kind(self, value):
        return Q() if value is None else Q(device__kind=value)

    def filter_region(self, value):
        return region_subtree_q(value)

    def filter_since(self, value):
        return Q() if value is None else Q(last_at__gte=value)

    def filter_device(self, value):
        return Q() if value is None else Q(device_id=value)


class SeverityCount(Schema):
    severity: AlarmSeverity
    label: str
    count: int


class AlarmSummary(Schema):
    open: int = Field(description="未消除的告警数")
    active: int = Field(description="其中未确认")
    by_severity: list[SeverityCount] = Field(description="按级别（紧急在前）")


class NoteIn(Schema):
    note: str = Field("", max_length=2000)


class HazardRef(Schema):
    hazard_id: int
    hazard_number: str
    url: str


# --- rules -------------------------------------------------------------------------------------


class RuleOut(Schema):
    id: int
    name: str
    kind: DeviceKind
    kind_label: str = Field(alias="get_kind_display")
    is_default: bool = Field(description="true：该类设备的默认规则；false：单台设备的专用规则")
    device_id: int | None
    device_code: str | None = Field(None, alias="device.code")
    device_name: str | None = Field(None, alias="device.name")
    alarm_type: str
    metric: str
    condition: Condition
    condition_label: str = Field(alias="get_condition_display")
    operator: Operator
    threshold: float | None
    threshold_attribute: str = Field(description="阈值取设备参数（如 occupancy_limit）")
    clear_threshold: float | None
    duration_seconds: int
    repeat_count: int
    window_seconds: int
    z_score: float | None
    severity: AlarmSeverity
    severity_label: str = Field(alias="get_severity_display")
    auto_clear: bool
    message: str
    enabled: bool
    updated_at: datetime

    editable: bool = Field(False, description="当前用户可否修改此规则")

    @staticmethod
    def resolve_is_default(obj) -> bool:
        return obj.device_id is None

    @staticmethod
    def resolve_editable(obj, context) -> bool:
        from frontline.monitoring.services.rule_editing import can_edit_rule

        request = (context or {}).get("request")
        return bool(request is not None and can_edit_rule(request.user, obj))


class RuleChangeIn(Schema):
    """Only the fields sent are changed."""

    threshold: float | None = None
    clear_threshold: float | None = Field(None, description="恢复阈值；null：同报警阈值")
    duration_seconds: int | None = Field(None, ge=0)
    repeat_count: int | None = Field(None, ge=0)
    window_seconds: int | None = Field(None, ge=0)
    z_score: float | None = None
    operator: Operator | None = None
    severity: AlarmSeverity | None = None
    message: str | None = Field(None, max_length=200)
    enabled: bool | None = None
    auto_clear: bool | None = None


class OverrideIn(RuleChangeIn):
    device_id: ObjectId
    alarm_type: str = Field(min_length=1, max_length=40)


class RuleFilter(FilterSchema):
    kind: DeviceKind | None = None
    device: ObjectId | None = Field(None, description="设备编号：该设备的专用规则")
    scope: Literal["all", "default", "override"] = "all"

    def filter_device(self, value):
        return Q() if value is None else Q(device_id=value)

    def filter_scope(self, value):
        if value == "default":
            return Q(device__isnull=True)
        if value == "override":
            return Q(device__isnull=False)
        return Q()
