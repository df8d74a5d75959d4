"""Filled in by the teams work."""

from ninja import Router

router = Router(tags=["resources"])
