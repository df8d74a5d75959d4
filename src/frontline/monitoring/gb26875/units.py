"""Data units of GB/T 26875.3-2011 sent up by a transmission device, as plain dataclasses.

A data unit is: type byte, object count byte, then `count` objects of a fixed size per type,
each ending with its own 6-byte time. Only the layouts are here; what they mean to Frontline
(metrics, alarms) is decided in `mapping.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .frames import decode_time

# Types sent up by a transmission device (GB/T 26875.3-2011, 8.2).
SYSTEM_STATUS = 1
COMPONENT_STATUS = 2
COMPONENT_ANALOG = 3
SYSTEM_OPERATION = 4
DEVICE_STATUS = 21
DEVICE_OPERATION = 24
DECODED_TYPES = frozenset(
    {
        SYSTEM_STATUS,
        COMPONENT_STATUS,
        COMPONENT_ANALOG,
        SYSTEM_OPERATION,
        DEVICE_STATUS,
        DEVICE_OPERATION,
    }
)
# Standard upward types Frontline has no use for (versions, configurations, clocks): the
# frame conforms, so it is confirmed, and the content is only logged.
IGNORED_TYPES = frozenset({5, 6, 7, 8, 25, 26, 28})

DESCRIPTION_SIZE = 31

# Status bits of systems (type 1) and components (type 2).
STATUS_BITS = {
    0: "normal",
    1: "fire",
    2: "fault",
    3: "disabled",
    4: "supervisory",
    5: "started",
    6: "feedback",
    7: "delay",
    8: "main_power_fault",
    9: "backup_power_fault",
    10: "bus_fault",
    11: "manual",
    12: "config_changed",
    13: "reset",
}
# Status bits of the transmission device itself (type 21).
DEVICE_STATUS_BITS = {
    0: "normal",
    1: "fire",
    2: "fault",
    3: "main_power_fault",
    4: "backup_power_fault",
    5: "channel_fault",  # link to the monitoring centre
    6: "line_fault",  # link to the fire alarm controller
}
# Operation bits of a fire system (type 4) and of the transmission device (type 24).
OPERATION_BITS = {
    0: "reset",
    1: "silence",
    2: "manual_alarm",
    3: "alarm_cleared",
    4: "self_test",
    5: "confirm",
    6: "test",
}
DEVICE_OPERATION_BITS = {
    0: "reset",
    1: "silence",
    2: "manual_alarm",
    3: "alarm_cleared",
    4: "self_test",
    5: "duty_check_answered",  # 查岗应答
    6: "test",
}


@dataclass(frozen=True)
class AnalogType:
    code: int
    name: str
    unit: str
    scale: float


# The analog types Frontline reads; any other type (vendor-defined 128-255 included) is
# kept as its raw value, with no unit guessed.
ANALOG_TYPES = {
    a.code: a
    for a in (
        AnalogType(3, "temperature", "℃", 0.1),
        AnalogType(4, "pressure", "MPa", 0.1),
        AnalogType(6, "gas", "%LEL", 0.1),
        AnalogType(8, "voltage", "V", 0.1),
        AnalogType(9, "current", "A", 0.1),
    )
}


class UnitError(ValueError):
    """A data unit whose layout does not match its type (wrong size, unknown type)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def flags(value: int, names: dict[int, str]) -> frozenset[str]:
    return frozenset(name for bit, name in names.items() if value >> bit & 1)


@dataclass(frozen=True)
class SystemStatus:
    system_type: int
    system_address: int
    status: int
    at: datetime | None

    @property
    def flags(self) -> frozenset[str]:
        return flags(self.status, STATUS_BITS)


@dataclass(frozen=True)
class ComponentStatus:
    system_type: int
    system_address: int
    component_type: int
    zone: int  # the component address: zone (回路) u16, then position (点位) u16
    position: int
    status: int
    description: str
    at: datetime | None

    @property
    def flags(self) -> frozenset[str]:
        return flags(self.status, STATUS_BITS)


@dataclass(frozen=True)
class ComponentAnalog:
    system_type: int
    system_address: int
    component_type: int
    zone: int
    position: int
    analog_type: int
    raw: int  # the signed 16-bit value as sent
    at: datetime | None

    @property
    def kind(self) -> AnalogType | None:
        return ANALOG_TYPES.get(self.analog_type)

    @property
    def value(self) -> float | None:
        """The value in its unit; None for types without a known scale (vendor-defined
        128-255 and the rest), kept as `raw`."""
        kind = self.kind
        return None if kind is None else round(self.raw * kind.scale, 4)


@dataclass(frozen=True)
class SystemOperation:
    system_type: int
    system_address: int
    operation: int
    operator: int
    at: datetime | None

    @property
    def flags(self) -> frozenset[str]:
        return flags(self.operation, OPERATION_BITS)


@dataclass(frozen=True)
class DeviceStatus:
    status: int
    at: datetime | None

    @property
    def flags(self) -> frozenset[str]:
        return flags(self.status, DEVICE_STATUS_BITS)

    @property
    def is_normal(self) -> bool:
        # Bit 0 set and nothing else: the device is monitoring and reports no condition.
        return self.status == 0x01 or self.status == 0x00


@dataclass(frozen=True)
class DeviceOperation:
    operation: int
    operator: int
    at: datetime | None

    @property
    def flags(self) -> frozenset[str]:
        return flags(self.operation, DEVICE_OPERATION_BITS)


InfoObject = (
    SystemStatus
    | ComponentStatus
    | ComponentAnalog
    | SystemOperation
    | DeviceStatus
    | DeviceOperation
)


@dataclass(frozen=True)
class DataUnit:
    type: int
    objects: tuple = field(default=())


def _u16(raw: bytes, at: int) -> int:
    return int.from_bytes(raw[at : at + 2], "little")


def _description(raw: bytes) -> str:
    # GB 18030 text padded with NULs (or spaces) to 31 bytes; a vendor that sends bytes
    # that are not GB 18030 still gets its frame confirmed, with U+FFFD in the text.
    return raw.split(b"\x00", 1)[0].decode("gb18030", errors="replace").strip()


def system_status(raw: bytes) -> SystemStatus:
    return SystemStatus(raw[0], raw[1], _u16(raw, 2), decode_time(raw[4:10]))


def component_status(raw: bytes) -> ComponentStatus:
    return ComponentStatus(
        system_type=raw[0],
        system_address=raw[1],
        component_type=raw[2],
        zone=_u16(raw, 3),
        position=_u16(raw, 5),
        status=_u16(raw, 7),
        description=_description(raw[9:40]),
        at=decode_time(raw[40:46]),
    )


def component_analog(raw: bytes) -> ComponentAnalog:
    return ComponentAnalog(
        system_type=raw[0],
        system_address=raw[1],
        component_type=raw[2],
        zone=_u16(raw, 3),
        position=_u16(raw, 5),
        analog_type=raw[7],
        raw=int.from_bytes(raw[8:10], "little", signed=True),
        at=decode_time(raw[10:16]),
    )


def system_operation(raw: bytes) -> SystemOperation:
    return SystemOperation(raw[0], raw[1], raw[2], raw[3], decode_time(raw[4:10]))


def device_status(raw: bytes) -> DeviceStatus:
    return DeviceStatus(raw[0], decode_time(raw[1:7]))


def device_operation(raw: bytes) -> DeviceOperation:
    return DeviceOperation(raw[0], raw[1], decode_time(raw[2:8]))


# type -> (object size in bytes, decoder of one object)
STANDARD_LAYOUTS = {
    SYSTEM_STATUS: (10, system_status),
    COMPONENT_STATUS: (46, component_status),
    COMPONENT_ANALOG: (16, component_analog),
    SYSTEM_OPERATION: (10, system_operation),
    DEVICE_STATUS: (7, device_status),
    DEVICE_OPERATION: (8, device_operation),
}


def decode_unit(data: bytes, layouts: dict = STANDARD_LAYOUTS) -> DataUnit:
    """The data unit of a send-data frame. Raises UnitError when the bytes do not fit."""
    if len(data) < 2:
        raise UnitError("short", f"data unit of {len(data)} bytes has no type and count")
    unit_type, count = data[0], data[1]
    if unit_type in IGNORED_TYPES:
        return DataUnit(unit_type)
    if unit_type not in layouts:
        raise UnitError("unknown_type", f"data unit type {unit_type} is not supported")
    size, decode = layouts[unit_type]
    body = data[2:]
    if count == 0 or len(body) != count * size:
        raise UnitError(
            "size",
            f"type {unit_type}: {count} objects of {size} bytes, but {len(body)} bytes follow",
        )
    return DataUnit(unit_type, tuple(decode(body[i * size : (i + 1) * size]) for i in range(count)))


# Encoders: used by tests, the benchmark and the simulator to speak as a device would.


def _time(at: datetime | None) -> bytes:
    from .frames import encode_time

    return encode_time(at) if at is not None else b"\x00" * 6


def encode_description(text: str) -> bytes:
    raw = text.encode("gb18030")[:DESCRIPTION_SIZE]
    return raw.ljust(DESCRIPTION_SIZE, b"\x00")


def encode_object(obj: InfoObject) -> bytes:
    if isinstance(obj, SystemStatus):
        return (
            bytes((obj.system_type, obj.system_address))
            + obj.status.to_bytes(2, "little")
            + _time(obj.at)
        )
    if isinstance(obj, ComponentStatus):
        return (
            bytes((obj.system_type, obj.system_address, obj.component_type))
            + obj.zone.to_bytes(2, "little")
            + obj.position.to_bytes(2, "little")
            + obj.status.to_bytes(2, "little")
            + encode_description(obj.description)
            + _time(obj.at)
        )
    if isinstance(obj, ComponentAnalog):
        return (
            bytes((obj.system_type, obj.system_address, obj.component_type))
            + obj.zone.to_bytes(2, "little")
            + obj.position.to_bytes(2, "little")
            + bytes((obj.analog_type,))
            + obj.raw.to_bytes(2, "little", signed=True)
            + _time(obj.at)
        )
    if isinstance(obj, SystemOperation):
        head = bytes((obj.system_type, obj.system_address, obj.operation, obj.operator))
        return head + _time(obj.at)
    if isinstance(obj, DeviceStatus):
        return bytes((obj.status,)) + _time(obj.at)
    if isinstance(obj, DeviceOperation):
        return bytes((obj.operation, obj.operator)) + _time(obj.at)
    raise TypeError(f"not a GB/T 26875.3 information object: {obj!r}")


_TYPE_OF = {
    SystemStatus: SYSTEM_STATUS,
    ComponentStatus: COMPONENT_STATUS,
    ComponentAnalog: COMPONENT_ANALOG,
    SystemOperation: SYSTEM_OPERATION,
    DeviceStatus: DEVICE_STATUS,
    DeviceOperation: DEVICE_OPERATION,
}


def encode_unit(objects: list[InfoObject] | tuple[InfoObject, ...]) -> bytes:
    """One data unit from objects of one type (the standard allows one type per unit)."""
    types = {_TYPE_OF[type(obj)] for obj in objects}
    if len(types) != 1 or not 0 < len(objects) <= 255:
        raise ValueError("a data unit holds 1-255 objects of one type")
    return bytes((types.pop(), len(objects))) + b"".join(encode_object(o) for o in objects)
