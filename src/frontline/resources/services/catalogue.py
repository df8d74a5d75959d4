"""The supplies catalogue (GB/T 38565-2020): seeding and lookups by code."""

from __future__ import annotations

from frontline.resources import catalogue_data
from frontline.resources.models import SupplyCategory, SupplyItem


def seed_catalogue() -> int:
    """Add the missing classes and working-set items (idempotent)."""
    return catalogue_data.seed_catalogue(SupplyCategory, SupplyItem)


def item_by_code(code: str) -> SupplyItem | None:
    return SupplyItem.objects.filter(code=(code or "").strip()).select_related("category").first()
