"""Per-vendor layouts of the data unit, chosen by the frame's protocol version.

Manufacturers of transmission devices reuse GB/T 26875.3 framing with private layouts and
mark them, when they mark them at all, in the user byte of the version (the second version
byte). A layout is registered here under (major, user); any other user byte with major
version 1 is read as the standard. A frame whose layout is unknown (another major version)
or whose bytes do not fit the layout is denied by the gateway, never guessed at.

Adding a vendor: write the object decoders, build a `Layout`, and `register` it under the
version its devices send, with a test that decodes bytes captured from such a device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .frames import decode_time
from .units import (
    COMPONENT_STATUS,
    STANDARD_LAYOUTS,
    ComponentStatus,
    DataUnit,
    UnitError,
    decode_unit,
)

STANDARD_MAJOR = 1


@dataclass(frozen=True)
class Layout:
    name: str
    # data-unit type -> (object size, decoder of one object's bytes)
    objects: dict[int, tuple[int, Callable]] = field(default_factory=dict)

    def decode(self, data: bytes) -> DataUnit:
        return decode_unit(data, self.objects)


STANDARD = Layout("GB/T 26875.3-2011", dict(STANDARD_LAYOUTS))

_REGISTRY: dict[tuple[int, int], Layout] = {}


def register(major: int, user: int, layout: Layout) -> None:
    _REGISTRY[(major, user)] = layout


def layout_for(version: tuple[int, int]) -> Layout:
    """The layout of a frame with this version; UnitError if no layout is known for it."""
    if version in _REGISTRY:
        return _REGISTRY[version]
    if version[0] == STANDARD_MAJOR:
        return STANDARD
    raise UnitError("version", f"no layout for protocol version {version[0]}.{version[1]}")


def decode(version: tuple[int, int], data: bytes) -> DataUnit:
    return layout_for(version).decode(data)


# --- Example variant: "compact component status" (user version byte 0x80) -----------------
#
# Transmission devices wired to controllers without a text display send type 2 objects
# without the 31-byte description: system type, system address, component type, component
# address (zone u16, position u16), status u16, time: 15 bytes instead of 46. Other types
# keep the standard layout. The description is left empty; zone and position still say
# where the component is. Kept as the worked example of a vendor layout.

COMPACT_USER_VERSION = 0x80


def compact_component_status(raw: bytes) -> ComponentStatus:
    return ComponentStatus(
        system_type=raw[0],
        system_address=raw[1],
        component_type=raw[2],
        zone=int.from_bytes(raw[3:5], "little"),
        position=int.from_bytes(raw[5:7], "little"),
        status=int.from_bytes(raw[7:9], "little"),
        description="",
        at=decode_time(raw[9:15]),
    )


COMPACT = Layout(
    "compact component status (user version 0x80)",
    {**STANDARD_LAYOUTS, COMPONENT_STATUS: (15, compact_component_status)},
)
register(STANDARD_MAJOR, COMPACT_USER_VERSION, COMPACT)
