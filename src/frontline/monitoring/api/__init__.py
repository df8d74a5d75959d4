"""The monitoring app's part of /api/v1, one router per subject."""

from ninja import Router

router = Router()
router.add_router("", "frontline.monitoring.api.telemetry.router")
router.add_router("", "frontline.monitoring.api.devices.router")
router.add_router("", "frontline.monitoring.api.alarms.router")
router.add_router("", "frontline.monitoring.api.rules.router")
router.add_router("", "frontline.monitoring.api.summary.router")
router.add_router("", "frontline.monitoring.api.importing.router")
