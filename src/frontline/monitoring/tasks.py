"""Background work of the monitoring app, found by Huey's autodiscovery of `tasks` modules."""

from __future__ import annotations

from frontline.core.worker import sweep
from frontline.monitoring.services import alarms


@sweep("detect_offline_devices", minutes=1)
def detect_offline_devices():
    return alarms.detect_offline()
