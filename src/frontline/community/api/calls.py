"""/api/v1 of community calls."""

from ninja import Router

router = Router(tags=["community"])
