"""What a team or a piece of equipment can do (救援能力), shared by teams, equipment and the
"nearest available with capability X" search.

Stored as the codes wrapped in commas (",hazmat,water_rescue,") so that one `contains`
lookup finds a capability on SQLite and PostgreSQL alike, and kept in a fixed order so that
equal sets are equal strings.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.utils.translation import gettext_lazy as _


class Capability(models.TextChoices):
    FIREFIGHTING = "firefighting", _("灭火")
    WATER_RESCUE = "water_rescue", _("水上救援")
    HIGH_ANGLE = "high_angle", _("高空/绳索救援")
    HAZMAT = "hazmat", _("危化品处置")
    COLLAPSE = "collapse", _("建筑坍塌搜救")
    TRAFFIC = "traffic", _("交通事故救援")
    FOREST_FIRE = "forest_fire", _("森林灭火")
    DRAINAGE = "drainage", _("排涝")
    LIGHTING = "lighting", _("应急照明")
    POWER = "power", _("应急供电")
    MEDICAL = "medical", _("医疗救护")
    COMMUNICATION = "communication", _("应急通信")
    TRANSPORT = "transport", _("人员物资运输")
    EARTHWORK = "earthwork", _("工程抢险")


CAPABILITY_ORDER = {value: index for index, value in enumerate(Capability.values)}


def pack_capabilities(values: Iterable[str]) -> str:
    """`["water_rescue", "firefighting"]` → ",firefighting,water_rescue," (unknown codes
    are the caller's to refuse before)."""
    known = sorted({v for v in values if v in CAPABILITY_ORDER}, key=CAPABILITY_ORDER.get)
    return f",{','.join(known)}," if known else ""


def unpack_capabilities(stored: str) -> list[str]:
    return [value for value in (stored or "").split(",") if value]


def capability_q(value: str, field: str = "capabilities") -> models.Q:
    return models.Q(**{f"{field}__contains": f",{value},"})


def capability_bits(stored: str) -> int:
    """The set as a bit mask, for the in-memory spatial index."""
    bits = 0
    for value in unpack_capabilities(stored):
        index = CAPABILITY_ORDER.get(value)
        if index is not None:
            bits |= 1 << index
    return bits
