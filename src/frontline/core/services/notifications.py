"""Queue notifications in the caller's transaction; the worker delivers them after commit.

    services.notify_users(users, kind="task_overdue", subject=..., body=..., related=task)

writes one in-app row per user (plus SMS when the kind asks for it and the person has a
mobile), and one row per active webhook endpoint that takes this kind. Delivery is scheduled
with `transaction.on_commit`, so a rolled-back change never sends anything.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.core.errors import DomainError
from frontline.core.models import (
    Channel,
    Notification,
    NotificationStatus,
    Person,
    WebhookEndpoint,
)


def _related_fields(related) -> dict:
    if related is None:
        return {}
    return {
        "related_type": ContentType.objects.get_for_model(related),
        "related_id": str(related.pk),
    }


def queue_notification(
    *,
    channel: str,
    kind: str,
    subject: str,
    body: str = "",
    recipient=None,
    recipient_person: Person | None = None,
    endpoint: WebhookEndpoint | None = None,
    address: str = "",
    link: str = "",
    related=None,
    urgent: bool = False,
) -> Notification:
    """One outbox row. Prefer `notify_users`; this is the primitive it and tests use."""
    notification = _outbox_row(
        channel=channel,
        kind=kind,
        subject=subject,
        body=body,
        recipient=recipient,
        recipient_person=recipient_person,
        endpoint=endpoint,
        address=address,
        link=link,
        related=related,
        urgent=urgent,
    )
    notification.save()
    _deliver_after_commit(notification.pk)
    return notification


def _outbox_row(*, channel: str, kind: str, subject: str, related=None, link: str = "", **fields):
    if channel not in Channel.values:
        raise DomainError(_("未知的通知渠道"), code="unknown_channel")
    return Notification(
        channel=channel,
        kind=kind[:60],
        subject=subject[:200],
        link=link[:300],
        next_attempt_at=timezone.now(),
        **fields,
        **_related_fields(related),
    )


# Notifications queued in one transaction go to the worker as one job after the commit: an
# alarm storm or a bulk escalation queues hundreds, and a job each would cost a write to the
# queue each. Ids of a transaction that rolled back may linger in the buffer; delivery claims
# rows with a conditional UPDATE, so a missing row is skipped.
_pending = threading.local()


def _deliver_after_commit(notification_id: int) -> None:
    buffer = getattr(_pending, "ids", None)
    if buffer is None:
        buffer = _pending.ids = []
    buffer.append(notification_id)
    hooks = getattr(transaction.get_connection(), "run_on_commit", [])
    if not any(hook[1] is _schedule_delivery for hook in hooks):
        transaction.on_commit(_schedule_delivery)


def _schedule_delivery() -> None:
    from frontline.core.tasks import deliver_notifications

    ids, _pending.ids = getattr(_pending, "ids", None) or [], []
    if ids:
        deliver_notifications(ids)


def notify_users(
    users: Iterable,
    *,
    kind: str,
    subject: str,
    body: str = "",
    link: str = "",
    related=None,
    urgent: bool = False,
    sms: bool = False,
    webhooks: bool = True,
) -> list[Notification]:
    """In-app notification for each user; SMS too when `sms` and the person has a mobile;
    and one webhook push per active endpoint that takes this kind."""
    outbox = Outbox()
    outbox.notify_users(users, kind=kind, subject=subject, body=body, link=link,
                        related=related, urgent=urgent, sms=sms, webhooks=webhooks)  # fmt: skip
    return outbox.send()


class Outbox:
    """Notifications of many events gathered and written in one INSERT: an alarm or an
    escalation notifies a whole station, and an alarm storm raises dozens at once. People
    and webhook endpoints are read once per outbox, not once per event."""

    def __init__(self) -> None:
        self.rows: list[Notification] = []
        self._persons: dict[int, Person | None] = {}
        self._endpoints: list[WebhookEndpoint] | None = None

    def add(self, **fields) -> None:
        """One row, with the fields of `queue_notification`."""
        self.rows.append(_outbox_row(**fields))

    def notify_users(self, users: Iterable, *, sms: bool = False, webhooks: bool = True,
                     **common) -> None:  # fmt: skip
        recipients = {u.pk: u for u in users if u is not None}
        persons = self._persons_of(recipients) if sms else {}
        for user in recipients.values():
            self.add(channel=Channel.IN_APP, recipient=user, **common)
            person = persons.get(user.pk)
            if sms and person is not None and person.mobile:
                self.add(channel=Channel.SMS, recipient=user, recipient_person=person,
                         address=person.mobile, **common)  # fmt: skip
            if sms and user.email:
                self.add(channel=Channel.EMAIL, recipient=user, address=user.email, **common)
        if webhooks:
            for endpoint in self._active_endpoints():
                if not endpoint.kinds or common["kind"] in endpoint.kinds:
                    self.add(channel=Channel.WEBHOOK, endpoint=endpoint, address=endpoint.url,
                             **common)  # fmt: skip

    def send(self) -> list[Notification]:
        """Write the rows and schedule their delivery after the commit."""
        rows, self.rows = self.rows, []
        Notification.objects.bulk_create(rows)
        for row in rows:
            _deliver_after_commit(row.pk)
        return rows

    def _persons_of(self, recipients: dict) -> dict:
        missing = [pk for pk in recipients if pk not in self._persons]
        if missing:
            found = {p.user_id: p for p in Person.objects.filter(user_id__in=missing)}
            for pk in missing:
                self._persons[pk] = found.get(pk)
        return {pk: self._persons[pk] for pk in recipients}

    def _active_endpoints(self) -> list[WebhookEndpoint]:
        if self._endpoints is None:
            self._endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
        return self._endpoints


@transaction.atomic
def mark_read(*, actor, notification: Notification) -> Notification:
    if notification.recipient_id != actor.pk:
        raise DomainError(_("只能标记自己的消息"), code="not_recipient")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.status = NotificationStatus.READ
        notification.save(update_fields=["read_at", "status"])
    return notification


@transaction.atomic
def mark_all_read(*, actor) -> int:
    now = timezone.now()
    return Notification.objects.filter(
        recipient=actor, channel=Channel.IN_APP, read_at__isnull=True
    ).update(read_at=now, status=NotificationStatus.READ)
