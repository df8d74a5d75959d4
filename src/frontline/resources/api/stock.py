"""Filled in by the stock work."""

from ninja import Router

router = Router(tags=["resources"])
