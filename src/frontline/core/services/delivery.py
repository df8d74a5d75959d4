"""Delivery of queued notifications: claim, send through the channel adapter, record.

The row is claimed with a conditional UPDATE (healthchecks' pattern), so any number of
workers can run the same sweep; a worker that dies after claiming leaves the claim to expire
and the next sweep sends the message. The adapter call happens outside any transaction:
a slow gateway never holds a database lock.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from frontline.core.delivery import PermanentFailure, TemporaryFailure, adapter_for
from frontline.core.delivery.base import Outcome
from frontline.core.models import Channel, Notification, NotificationStatus

logger = logging.getLogger(__name__)

# Seconds to wait after the 1st, 2nd, … failed attempt; after the last, the row is failed.
BACKOFF_SECONDS = (30, 120, 600, 1800, 7200)
CLAIM_SECONDS = 120


def max_attempts() -> int:
    return len(BACKOFF_SECONDS) + 1


def _claimable(now: datetime) -> Q:
    return Q(status=NotificationStatus.QUEUED, next_attempt_at__lte=now) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )


def _claim(notification_id: int, now: datetime) -> bool:
    claimed = Notification.objects.filter(_claimable(now), pk=notification_id).update(
        claimed_until=now + timedelta(seconds=CLAIM_SECONDS)
    )
    return claimed == 1


def quiet_hours_end(notification: Notification, now: datetime) -> datetime | None:
    """When a non-urgent SMS falls in the quiet hours, the time it may go out; else None.

    Only SMS wakes people up; in-app, webhook and e-mail messages wait silently anyway.
    Alarms and other urgent messages are never held back.
    """
    window = getattr(settings, "NOTIFY_QUIET_HOURS", "")
    if not window or notification.urgent or notification.channel != Channel.SMS:
        return None
    start_text, end_text = window.split("-")
    start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
    local = timezone.localtime(now)
    clock = local.time()
    inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not inside:
        return None
    end_day = local.date() if clock < end else local.date() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(end_day, end), local.tzinfo)


def deliver_notification(notification_id: int, *, now: datetime | None = None) -> str | None:
    """Try to deliver one notification. Returns its new status, or None when it was not due
    or another worker holds it."""
    now = now or timezone.now()
    if not _claim(notification_id, now):
        return None
    notification = Notification.objects.select_related("endpoint", "related_type").get(
        pk=notification_id
    )
    held_until = quiet_hours_end(notification, now)
    if held_until is not None:
        Notification.objects.filter(pk=notification.pk).update(
            next_attempt_at=held_until, claimed_until=None
        )
        return NotificationStatus.QUEUED
    try:
        outcome = adapter_for(notification.channel).send(notification)
    except PermanentFailure as exc:
        return _record_failure(notification, str(exc), now=now, permanent=True)
    except TemporaryFailure as exc:
        return _record_failure(notification, str(exc), now=now, permanent=False)
    except Exception as exc:  # a bug in an adapter must not lose the message
        logger.exception(
            "adapter %s crashed on notification %s", notification.channel, notification.pk
        )
        return _record_failure(
            notification, f"{type(exc).__name__}: {exc}", now=now, permanent=False
        )
    return _record_success(notification, outcome, now=now)


def _record_success(notification: Notification, outcome: Outcome, *, now: datetime) -> str:
    status = (
        NotificationStatus.DELIVERED if outcome is Outcome.DELIVERED else NotificationStatus.SENT
    )
    Notification.objects.filter(pk=notification.pk).update(
        status=status,
        attempts=notification.attempts + 1,
        sent_at=now,
        delivered_at=now if status == NotificationStatus.DELIVERED else None,
        last_error="",
        claimed_until=None,
    )
    return status


def _record_failure(
    notification: Notification, error: str, *, now: datetime, permanent: bool
) -> str:
    attempts = notification.attempts + 1
    if permanent or attempts >= max_attempts():
        status = NotificationStatus.FAILED
        next_attempt_at = notification.next_attempt_at
        logger.warning("notification %s failed for good: %s", notification.pk, error)
    else:
        status = NotificationStatus.QUEUED
        next_attempt_at = now + timedelta(seconds=BACKOFF_SECONDS[attempts - 1])
    Notification.objects.filter(pk=notification.pk).update(
        status=status,
        attempts=attempts,
        last_error=error[:2000],
        next_attempt_at=next_attempt_at,
        claimed_until=None,
    )
    return status


def deliver_due_notifications(*, now: datetime | None = None, limit: int = 500) -> int:
    """The sweep: every queued notification that is due, including ones a dead worker had
    claimed. Returns how many were attempted."""
    now = now or timezone.now()
    due = list(
        Notification.objects.filter(_claimable(now))
        .order_by("-urgent", "next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    attempted = 0
    for notification_id in due:
        if deliver_notification(notification_id, now=now) is not None:
            attempted += 1
    return attempted
