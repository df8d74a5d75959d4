"""The resources app's part of /api/v1, one router per subject."""

from ninja import Router

router = Router()
router.add_router("", "frontline.resources.api.stock.router")
router.add_router("", "frontline.resources.api.teams.router")
router.add_router("", "frontline.resources.api.shelters.router")
router.add_router("", "frontline.resources.api.search.router")
