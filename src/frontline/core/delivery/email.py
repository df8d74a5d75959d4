from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage

from frontline.core.delivery.base import Adapter, Outcome, PermanentFailure, TemporaryFailure


class EmailAdapter(Adapter):
    """Through Django's configured mail backend (SMTP in production, console in the demo)."""

    def send(self, notification) -> Outcome:
        if not notification.address:
            raise PermanentFailure("no e-mail address")
        body = notification.body
        if notification.link:
            body = f"{body}\n\n{getattr(settings, 'FRONTLINE_BASE_URL', '')}{notification.link}"
        message = EmailMessage(subject=notification.subject, body=body, to=[notification.address])
        try:
            message.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"recipient refused: {exc}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from None
        return Outcome.SENT
