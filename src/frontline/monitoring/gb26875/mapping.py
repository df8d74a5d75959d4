"""Data units to `Reading`s: what a GB/T 26875.3 message means to Frontline.

Every reading belongs to the transmission device (the frame's source address) because that is
the device a station registers; which system or component spoke is kept in `detail`, where
the alarm it raises shows it. See docs/gb26875.md for the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from frontline.monitoring.readings import Reading

from . import units
from .units import (
    ComponentAnalog,
    ComponentStatus,
    DataUnit,
    DeviceOperation,
    DeviceStatus,
    SystemOperation,
    SystemStatus,
)

# Analog types that are metrics of a fire alarm transmission device; the others (gas,
# voltage, current, vendor-defined 128-255, …) are skipped and only logged, because the
# device kind `fire_controller` has no such metric and ingest would refuse them.
ANALOG_METRICS = {3: "temperature", 4: "pressure"}
BOOLEAN_METRICS = ("fire", "fault", "power_fault")


@dataclass
class Mapped:
    readings: list[Reading] = field(default_factory=list)
    heartbeat: bool = False  # the device is alive; nothing to store
    skipped: list[str] = field(default_factory=list)  # what was received but not mapped


def _at(obj_at: datetime | None, frame_at: datetime | None) -> datetime | None:
    # The object's own time is when it happened; the frame time is when it was sent.
    return obj_at or frame_at


def _status_values(flag_set: frozenset[str]) -> dict[str, int]:
    return {
        "fire": int("fire" in flag_set),
        "fault": int("fault" in flag_set),
        "power_fault": int(bool(flag_set & {"main_power_fault", "backup_power_fault"})),
    }


def _booleans(device: str, values: dict[str, int], at, detail: dict) -> list[Reading]:
    return [Reading(device, metric, values[metric], at, dict(detail)) for metric in values]


def _component_detail(obj: ComponentStatus | ComponentAnalog) -> dict:
    return {
        "system_type": obj.system_type,
        "system_address": obj.system_address,
        "component_type": obj.component_type,
        "zone": obj.zone,
        "position": obj.position,
    }


def system_status(device: str, obj: SystemStatus, frame_at) -> list[Reading]:
    detail = {
        "system_type": obj.system_type,
        "system_address": obj.system_address,
        "status": obj.status,
        "flags": sorted(obj.flags),
    }
    return _booleans(device, _status_values(obj.flags), _at(obj.at, frame_at), detail)


def component_status(device: str, obj: ComponentStatus, frame_at) -> list[Reading]:
    detail = {
        **_component_detail(obj),
        "description": obj.description,
        "status": obj.status,
        "flags": sorted(obj.flags),
    }
    return _booleans(device, _status_values(obj.flags), _at(obj.at, frame_at), detail)


def component_analog(device: str, obj: ComponentAnalog, frame_at, mapped: Mapped) -> None:
    metric = ANALOG_METRICS.get(obj.analog_type)
    if metric is None:
        mapped.skipped.append(f"analog type {obj.analog_type} raw={obj.raw}")
        return
    detail = {**_component_detail(obj), "analog_type": obj.analog_type}
    mapped.readings.append(Reading(device, metric, obj.value, _at(obj.at, frame_at), detail))


def device_status(device: str, obj: DeviceStatus, frame_at) -> list[Reading]:
    detail = {"device_status": obj.status, "flags": sorted(obj.flags)}
    return _booleans(device, _status_values(obj.flags), _at(obj.at, frame_at), detail)


def operation(
    device: str, obj: SystemOperation | DeviceOperation, frame_at, mapped: Mapped
) -> None:
    # A manual alarm at the panel is a fire alarm; a reset or "alarm cleared" is how a
    # controller ends its fire alarms. The other operations (silence, self test, …) have no
    # metric and are only logged.
    detail: dict = {
        "operation": obj.operation,
        "operator": obj.operator,
        "flags": sorted(obj.flags),
    }
    if isinstance(obj, SystemOperation):
        detail = {"system_type": obj.system_type, "system_address": obj.system_address, **detail}
    at = _at(obj.at, frame_at)
    if "manual_alarm" in obj.flags:
        mapped.readings.append(Reading(device, "fire", 1, at, detail))
    elif obj.flags & {"reset", "alarm_cleared"}:
        mapped.readings.append(Reading(device, "fire", 0, at, detail))
    else:
        mapped.skipped.append(f"operation {obj.operation:#04x} {sorted(obj.flags)}")


def _collapse(readings: list[Reading]) -> list[Reading]:
    """One reading per (device, metric, time): ingest stores one observation per key, so
    the alarming one wins (largest value, e.g. the component in fire among several
    components that report in the same second); for measurements the first is kept."""
    kept: dict[tuple, Reading] = {}
    for reading in readings:
        key = (reading.device, reading.metric, reading.at)
        current = kept.get(key)
        if current is None or (reading.metric in BOOLEAN_METRICS and reading.value > current.value):
            kept[key] = reading
    return list(kept.values())


def map_unit(
    device: str,
    unit: DataUnit,
    frame_at: datetime | None,
    *,
    device_was_abnormal: bool = False,
) -> Mapped:
    """Readings of one data unit of the transmission device `device`.

    `device_was_abnormal`: the previous type-21 status on this connection had a condition,
    so a normal one now must clear it rather than count as a mere heartbeat.
    """
    mapped = Mapped()
    if unit.type in units.IGNORED_TYPES:
        mapped.skipped.append(f"data unit type {unit.type}")
        return mapped
    for obj in unit.objects:
        if isinstance(obj, SystemStatus):
            mapped.readings += system_status(device, obj, frame_at)
        elif isinstance(obj, ComponentStatus):
            mapped.readings += component_status(device, obj, frame_at)
        elif isinstance(obj, ComponentAnalog):
            component_analog(device, obj, frame_at, mapped)
        elif isinstance(obj, DeviceStatus):
            if obj.is_normal and not device_was_abnormal:
                mapped.heartbeat = True
            else:
                mapped.readings += device_status(device, obj, frame_at)
        elif isinstance(obj, SystemOperation | DeviceOperation):
            operation(device, obj, frame_at, mapped)
    mapped.readings = _collapse(mapped.readings)
    return mapped


def device_abnormal(unit: DataUnit, previous: bool) -> bool:
    """Whether the transmission device is in a condition after this unit (type 21 only)."""
    statuses = [obj for obj in unit.objects if isinstance(obj, DeviceStatus)]
    if not statuses:
        return previous
    return not statuses[-1].is_normal


def distrust_clock(
    readings: list[Reading], now: datetime, *, max_skew: timedelta, max_age: timedelta
) -> int:
    """Readings whose device time ingest would refuse (a clock reset to 2000, a clock in the
    future) take the time of receipt instead, keeping the device's time in `detail`.

    A fire alarm from a device with a wrong clock is still a fire alarm; the frame is
    confirmed, so refusing the reading would lose it for good. Returns how many changed.
    """
    changed = 0
    for reading in readings:
        at = reading.at
        if isinstance(at, datetime) and now - max_age <= at <= now + max_skew:
            continue
        reading.detail = {**(reading.detail or {}), "device_time": _iso(at)}
        reading.at = now
        changed += 1
    return changed


def _iso(at) -> str:
    return at.isoformat() if isinstance(at, datetime) else ""
