"""Builders for the hazards tests (and for other apps' tests that need a hazard)."""

from __future__ import annotations

import itertools

from frontline.hazards import services
from frontline.hazards.models import Enterprise, HazardSource, Industry, Place, PlaceCategory

_serial = itertools.count(1)
_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CODE_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def credit_code(seed: int) -> str:
    """A valid 18-character unified social credit code (GB 32100) built from a number."""
    body = f"91330621MA{seed:07d}"[:17]
    body = body[:8] + "".join(ch if ch in _CODE_CHARS else "0" for ch in body[8:])
    total = sum(_CODE_CHARS.index(ch) * w for ch, w in zip(body, _CODE_WEIGHTS, strict=True))
    return body + _CODE_CHARS[(31 - total % 31) % 31]


def make_enterprise(region, name: str | None = None, **kw) -> Enterprise:
    number = next(_serial)
    return Enterprise.objects.create(
        region=region,
        name=name or f"企业{number}",
        credit_code=kw.pop("credit_code", credit_code(number)),
        industry=kw.pop("industry", Industry.TEXTILES),
        **kw,
    )


def make_place(region, name: str | None = None, **kw) -> Place:
    return Place.objects.create(
        region=region,
        name=name or f"场所{next(_serial)}",
        category=kw.pop("category", PlaceCategory.SMALL_SHOP),
        **kw,
    )


def make_hazard(region, actor=None, **kw):
    return services.report_hazard(
        actor=actor,
        region=region,
        title=kw.pop("title", "消防通道堵塞"),
        source=kw.pop("source", HazardSource.PATROL),
        **kw,
    )
