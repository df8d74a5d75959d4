"""Builders for the hazards tests (and for other apps' tests that need a hazard)."""

from __future__ import annotations

import itertools

from frontline.hazards import services
from frontline.hazards.codes import make_credit_code
from frontline.hazards.models import Enterprise, HazardSource, Industry, Place, PlaceCategory

_serial = itertools.count(1)


def credit_code(seed: int) -> str:
    """A valid 18-character unified social credit code built from a number."""
    return make_credit_code("330621", seed)


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
