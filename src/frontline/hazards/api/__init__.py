"""The hazards app's part of /api/v1, one router per subject."""

from ninja import Router

router = Router()
router.add_router("", "frontline.hazards.api.objects.router")
router.add_router("", "frontline.hazards.api.hazards.router")
router.add_router("", "frontline.hazards.api.inspections.router")
router.add_router("", "frontline.hazards.api.ledgers.router")
