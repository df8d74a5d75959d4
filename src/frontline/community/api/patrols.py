"""/api/v1 of community patrols."""

from ninja import Router

router = Router(tags=["community"])
