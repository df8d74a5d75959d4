"""The rules every device of a kind starts with (DOMAIN.md, "Monitoring and alarms").

Written to the database by migration 0002; a station admin may then change them, or give one
device its own rule of the same alarm type. Names and messages are Chinese data, like the
seeded checklists: they are what the station sees, and the station may rewrite them.
"""

from __future__ import annotations

from frontline.monitoring.kinds import DeviceKind as K
from frontline.monitoring.models.rules import AlarmSeverity as S
from frontline.monitoring.models.rules import Condition as C


def _rule(kind, alarm_type, name, metric, condition, severity, **kw) -> dict:
    return {
        "kind": kind,
        "alarm_type": alarm_type,
        "name": name,
        "metric": metric,
        "condition": condition,
        "severity": severity,
        **kw,
    }


def _fault(kind) -> dict:
    return _rule(kind, "fault", "设备故障", "fault", C.THRESHOLD, S.MINOR, threshold=1)


def _offline(kind) -> dict:
    return _rule(kind, "offline", "设备离线", "", C.OFFLINE, S.WARNING)


DEFAULT_RULES: list[dict] = [
    # Fire: a person clears a fire alarm after checking the scene, never the sensor.
    _rule(K.SMOKE, "smoke", "烟雾报警", "smoke", C.THRESHOLD, S.CRITICAL, threshold=1,
          auto_clear=False, message="烟雾报警，请立即查看现场！"),
    _rule(K.SMOKE, "low_battery", "电池电量低", "battery", C.THRESHOLD, S.WARNING,
          operator="lt", threshold=20, clear_threshold=30),
    _rule(K.HEAT, "heat", "温度超限（定温）", "temperature", C.THRESHOLD, S.CRITICAL,
          threshold=57, auto_clear=False),
    # A rate-of-rise heat detector: 10 ℃ a minute, whatever the temperature.
    _rule(K.HEAT, "heat_rise", "温升过快（差温）", "temperature", C.RATE, S.MAJOR,
          threshold=10, window_seconds=60, clear_threshold=3),
    _rule(K.HEAT, "fire", "火警", "fire", C.THRESHOLD, S.CRITICAL, threshold=1,
          auto_clear=False),
    _rule(K.FIRE_CONTROLLER, "fire", "火警", "fire", C.THRESHOLD, S.CRITICAL, threshold=1,
          auto_clear=False, message="火灾报警，请立即查看现场并组织疏散！"),
    _rule(K.FIRE_CONTROLLER, "power_fault", "主备电故障", "power_fault", C.THRESHOLD,
          S.MAJOR, threshold=1),
    # Electrical fire monitoring (GB 50116): warn at 300 mA, alarm at 500 mA.
    _rule(K.RESIDUAL_CURRENT, "residual_current_warning", "剩余电流预警", "residual_current",
          C.THRESHOLD, S.MINOR, threshold=300, clear_threshold=250),
    _rule(K.RESIDUAL_CURRENT, "residual_current_alarm", "剩余电流报警", "residual_current",
          C.THRESHOLD, S.MAJOR, threshold=500, clear_threshold=400,
          message="电气线路剩余电流超限，请立即检查用电设备！"),
    _rule(K.RESIDUAL_CURRENT, "residual_current_repeat", "剩余电流反复超限",
          "residual_current", C.REPEAT, S.MAJOR, threshold=300, repeat_count=3,
          window_seconds=3600, clear_threshold=250),
    _rule(K.CABLE_TEMPERATURE, "cable_overheat", "线缆温度超限", "cable_temperature",
          C.THRESHOLD, S.MAJOR, threshold=70, clear_threshold=60),
    _rule(K.CABLE_TEMPERATURE, "cable_anomaly", "线缆温度异常（偏离自身历史）",
          "cable_temperature", C.ANOMALY, S.MINOR, z_score=4, clear_threshold=2),
    # Hydrant pressure below 0.1 MPa for five minutes: not a momentary dip while flushing.
    _rule(K.HYDRANT_PRESSURE, "low_pressure", "消火栓水压不足", "pressure", C.DURATION,
          S.MAJOR, operator="lt", threshold=0.1, clear_threshold=0.15, duration_seconds=300),
    _rule(K.WATER_LEVEL, "water_level_high", "水位超警戒", "water_level", C.THRESHOLD,
          S.MAJOR, threshold_attribute="warning_level"),
    # 短时强降水: 20 mm in an hour (China Meteorological Administration).
    _rule(K.RAIN_GAUGE, "heavy_rain", "短时强降水", "rainfall", C.THRESHOLD, S.MAJOR,
          threshold=20, clear_threshold=10),
    # The fireworks workshop: more people than approved is an accident waiting to happen.
    # Cleared by a person: a critical alarm must not vanish from the console because the
    # head count fell before anyone looked.
    _rule(K.OCCUPANCY, "overcrowded", "超员", "occupancy", C.THRESHOLD, S.CRITICAL,
          operator="gt", threshold_attribute="occupancy_limit", auto_clear=False,
          message="工房已超员，请人员迅速离开!"),
    _rule(K.TEMPERATURE_HUMIDITY, "temperature_high", "温度超限", "temperature",
          C.THRESHOLD, S.MAJOR, threshold_attribute="temperature_limit"),
    _rule(K.TEMPERATURE_HUMIDITY, "humidity_low", "湿度过低", "humidity", C.DURATION,
          S.MINOR, operator="lt", threshold_attribute="humidity_min", duration_seconds=600),
    _rule(K.TEMPERATURE_HUMIDITY, "temperature_anomaly", "温度异常（偏离自身历史）",
          "temperature", C.ANOMALY, S.MINOR, z_score=4, clear_threshold=2),
    # Combustible gas: the low alarm of GB 15322 detectors, 25 %LEL.
    _rule(K.COMBUSTIBLE_GAS, "gas_leak", "可燃气体浓度超限", "gas", C.THRESHOLD,
          S.CRITICAL, threshold=25, clear_threshold=10,
          message="可燃气体泄漏，请立即关闭气源、开窗通风，严禁明火！"),
    _rule(K.GROUND_DISPLACEMENT, "displacement_rate", "地表位移加速", "displacement",
          C.RATE, S.MAJOR, threshold=5, window_seconds=3600, clear_threshold=2),
] + [_fault(kind) for kind in K] + [_offline(kind) for kind in K]  # fmt: skip


def ensure_default_rules(rule_model=None) -> int:
    """Create the default rules that are missing (by kind and alarm type); returns how many.
    Used by migration 0002 and by tests after a flush emptied the table."""
    if rule_model is None:
        from frontline.monitoring.models import Rule as rule_model
    present = set(rule_model.objects.filter(device__isnull=True).values_list("kind", "alarm_type"))
    missing = [
        rule_model(**fields)
        for fields in DEFAULT_RULES
        if (fields["kind"], fields["alarm_type"]) not in present
    ]
    rule_model.objects.bulk_create(missing)
    return len(missing)
