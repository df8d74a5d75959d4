from __future__ import annotations

from frontline.core.delivery.base import Adapter, Outcome, PermanentFailure


class InAppAdapter(Adapter):
    """The inbox reads the outbox table itself: delivering is only confirming the row has
    someone to read it."""

    def send(self, notification) -> Outcome:
        if notification.recipient_id is None:
            raise PermanentFailure("in-app notification without a recipient account")
        return Outcome.DELIVERED
