"""Filled in by the search work."""

from ninja import Router

router = Router(tags=["resources"])
