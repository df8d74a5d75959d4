"""The core's part of /api/v1, one router per subject."""

from ninja import Router

from frontline.core.api import directory, notifications

router = Router()
router.add_router("", directory.router)
router.add_router("", notifications.router)
router.add_router("", "frontline.core.api.maps.router")
router.add_router("", "frontline.core.api.tasks.router")
router.add_router("", "frontline.core.api.attachments.router")
