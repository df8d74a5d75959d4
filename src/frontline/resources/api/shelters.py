"""Filled in by the shelters work."""

from ninja import Router

router = Router(tags=["resources"])
