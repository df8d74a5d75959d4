"""The sweep of public safety facilities, registered with the worker.

Imported by `frontline.community.tasks` (Huey's autodiscovery finds `tasks` modules only).
It runs every hour; the service announces each facility's overdue check once per due day
(see `notify_overdue_facility_checks`), so the hourly runs after the first find nothing to
say, and a facility that falls due overnight is announced within the hour.
"""

from __future__ import annotations

from frontline.community.services import facilities
from frontline.core.worker import sweep


@sweep("notify_overdue_facility_checks", minutes=60)
def notify_overdue_facility_checks():
    return facilities.notify_overdue_facility_checks()
