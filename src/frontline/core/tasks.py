"""Background work of the core, found by Huey's autodiscovery of `tasks` modules."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from frontline.core import tasks_supervision  # noqa: F401  (registers its sweep)
from frontline.core.maintenance import refresh_planner_statistics
from frontline.core.services import delivery
from frontline.core.worker import sweep


@db_task()
def deliver_notification(notification_id: int):
    """Queued right after the commit that created the notification: most messages go out
    within a second; the sweep catches whatever this misses."""
    return delivery.deliver_notification(notification_id)


@db_task()
def deliver_notifications(notification_ids: list[int]):
    """All the notifications one transaction queued, delivered in one job."""
    return [delivery.deliver_notification(pk) for pk in notification_ids]


@sweep("deliver_due_notifications", minutes=1)
def deliver_due_notifications():
    return delivery.deliver_due_notifications()


@sweep("refresh_planner_statistics", minutes=60)
def planner_statistics():
    return refresh_planner_statistics()
