from __future__ import annotations

import enum


class Outcome(enum.Enum):
    SENT = "sent"  # handed to a gateway that reports no receipt (SMS, e-mail)
    DELIVERED = "delivered"  # the receiver confirmed (in-app, webhook 2xx)


class TemporaryFailure(Exception):
    """Worth another try later."""


class PermanentFailure(Exception):
    """Retrying cannot help; the notification is marked failed at once."""


class Adapter:
    def send(self, notification) -> Outcome:  # pragma: no cover - interface
        raise NotImplementedError
