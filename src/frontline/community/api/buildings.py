"""/api/v1 of community buildings."""

from ninja import Router

router = Router(tags=["community"])
