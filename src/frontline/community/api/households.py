"""/api/v1 of community households."""

from ninja import Router

router = Router(tags=["community"])
