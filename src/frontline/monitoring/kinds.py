"""Device kinds and their metrics: what a device of each kind measures, in which unit.

Kept in code, not in a table: a metric's meaning is fixed by the protocols and the rules
written for it, and a station never invents one. Rules (thresholds) live in the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeviceKind(models.TextChoices):
    SMOKE = "smoke", _("独立式烟感")
    HEAT = "heat", _("感温探测器")
    FIRE_CONTROLLER = "fire_controller", _("火灾报警控制器（用户信息传输装置）")
    RESIDUAL_CURRENT = "residual_current", _("剩余电流监测")
    CABLE_TEMPERATURE = "cable_temperature", _("线缆温度监测")
    HYDRANT_PRESSURE = "hydrant_pressure", _("消火栓水压")
    WATER_LEVEL = "water_level", _("水位计")
    RAIN_GAUGE = "rain_gauge", _("雨量计")
    OCCUPANCY = "occupancy", _("人数计数器")
    TEMPERATURE_HUMIDITY = "temperature_humidity", _("温湿度")
    COMBUSTIBLE_GAS = "combustible_gas", _("可燃气体")
    GROUND_DISPLACEMENT = "ground_displacement", _("地表位移")
    CAMERA = "camera", _("视频监控")


@dataclass(frozen=True)
class Metric:
    code: str
    label: str
    unit: str
    low: float  # the sensor's physical range: a value outside it is a faulty reading
    high: float
    boolean: bool = False  # 0 = normal, 1 = the condition (smoke, fire, fault)


def _m(code, label, unit, low, high, boolean=False) -> Metric:
    return Metric(code, label, unit, low, high, boolean)


SMOKE = _m("smoke", _("烟雾报警"), "", 0, 1, True)
FIRE = _m("fire", _("火警"), "", 0, 1, True)
FAULT = _m("fault", _("故障"), "", 0, 1, True)
POWER_FAULT = _m("power_fault", _("电源故障"), "", 0, 1, True)
BATTERY = _m("battery", _("电池电量"), "%", 0, 100)
TEMPERATURE = _m("temperature", _("温度"), "℃", -50, 1000)
HUMIDITY = _m("humidity", _("湿度"), "%RH", 0, 100)
PRESSURE = _m("pressure", _("压力"), "MPa", -0.1, 10)

METRICS: dict[str, tuple[Metric, ...]] = {
    DeviceKind.SMOKE: (SMOKE, FAULT, BATTERY),
    DeviceKind.HEAT: (TEMPERATURE, FIRE, FAULT),
    DeviceKind.FIRE_CONTROLLER: (FIRE, FAULT, POWER_FAULT, TEMPERATURE, PRESSURE),
    DeviceKind.RESIDUAL_CURRENT: (
        _m("residual_current", _("剩余电流"), "mA", 0, 10000),
        FAULT,
    ),
    DeviceKind.CABLE_TEMPERATURE: (
        _m("cable_temperature", _("线缆温度"), "℃", -50, 300),
        FAULT,
    ),
    DeviceKind.HYDRANT_PRESSURE: (PRESSURE, FAULT),
    DeviceKind.WATER_LEVEL: (_m("water_level", _("水位"), "m", -100, 1000), FAULT),
    DeviceKind.RAIN_GAUGE: (_m("rainfall", _("小时雨量"), "mm", 0, 500), FAULT),
    DeviceKind.OCCUPANCY: (_m("occupancy", _("在场人数"), _("人"), 0, 100000), FAULT),
    DeviceKind.TEMPERATURE_HUMIDITY: (TEMPERATURE, HUMIDITY, FAULT),
    DeviceKind.COMBUSTIBLE_GAS: (_m("gas", _("可燃气体浓度"), "%LEL", 0, 100), FAULT),
    DeviceKind.GROUND_DISPLACEMENT: (
        _m("displacement", _("累计位移"), "mm", -10000, 10000),
        FAULT,
    ),
    DeviceKind.CAMERA: (FAULT,),
}

_BY_KIND = {kind: {m.code: m for m in metrics} for kind, metrics in METRICS.items()}


def metric_of(kind: str, code: str) -> Metric | None:
    return _BY_KIND.get(kind, {}).get(code)


def metrics_of(kind: str) -> tuple[Metric, ...]:
    return METRICS.get(kind, ())


class VideoEvent(models.TextChoices):
    """What a camera AI platform reports (POST /api/v1/video-events)."""

    FIRE_SMOKE = "fire_smoke", _("烟火识别")
    FIRE_LANE_BLOCKED = "fire_lane_blocked", _("消防通道占用")
    EBIKE_INDOOR = "ebike_indoor", _("电动车入户或进电梯")
    CROWD = "crowd", _("人员聚集")
    INTRUSION = "intrusion", _("区域入侵")
    NO_PROTECTIVE_GEAR = "no_protective_gear", _("未佩戴防护用品")
    WATERLOGGING = "waterlogging", _("积水")


# Severity of each video event's alarm (values of monitoring.models.AlarmSeverity).
VIDEO_SEVERITY = {
    VideoEvent.FIRE_SMOKE: "critical",
    VideoEvent.FIRE_LANE_BLOCKED: "major",
    VideoEvent.EBIKE_INDOOR: "major",
    VideoEvent.CROWD: "major",
    VideoEvent.INTRUSION: "minor",
    VideoEvent.NO_PROTECTIVE_GEAR: "minor",
    VideoEvent.WATERLOGGING: "major",
}
