from frontline.monitoring.models.alarms import (
    OPEN_ALARM_STATES,
    Alarm,
    AlarmEvent,
    AlarmState,
)
from frontline.monitoring.models.devices import Device, DeviceStatus, LatestValue, Observation
from frontline.monitoring.models.rules import (
    SEVERITY_RANK,
    AlarmSeverity,
    Condition,
    Operator,
    Rule,
)

__all__ = [
    "OPEN_ALARM_STATES",
    "SEVERITY_RANK",
    "Alarm",
    "AlarmEvent",
    "AlarmSeverity",
    "AlarmState",
    "Condition",
    "Device",
    "DeviceStatus",
    "LatestValue",
    "Observation",
    "Operator",
    "Rule",
]
