"""The community app's part of /api/v1, one router per subject."""

from ninja import Router

router = Router()
router.add_router("", "frontline.community.api.buildings.router")
router.add_router("", "frontline.community.api.households.router")
router.add_router("", "frontline.community.api.patrols.router")
router.add_router("", "frontline.community.api.calls.router")
