"""Webhook: an HTTP POST of JSON, signed with HMAC-SHA256.

Receivers verify `X-Frontline-Signature: sha256=<hex>` computed over
`<X-Frontline-Timestamp>.<raw body>` with the endpoint's secret, reject timestamps older than
a few minutes (replay), and use `X-Frontline-Delivery` to drop duplicates: a retry after a
lost answer sends the same delivery id again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from frontline.core.delivery.base import Adapter, Outcome, PermanentFailure
from frontline.core.delivery.http import post


def signature(secret: str, timestamp: str, body: bytes) -> str:
    message = timestamp.encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def payload(notification) -> dict:
    related = None
    if notification.related_type_id:
        related = {
            "type": f"{notification.related_type.app_label}.{notification.related_type.model}",
            "id": notification.related_id,
        }
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "subject": notification.subject,
        "body": notification.body,
        "link": notification.link,
        "urgent": notification.urgent,
        "related": related,
        "created_at": notification.created_at.isoformat(),
    }


class WebhookAdapter(Adapter):
    def send(self, notification) -> Outcome:
        endpoint = notification.endpoint
        if endpoint is None or not endpoint.is_active:
            raise PermanentFailure("webhook endpoint missing or disabled")
        body = json.dumps(payload(notification), ensure_ascii=False).encode("utf-8")
        timestamp = str(int(time.time()))
        post(
            endpoint.url,
            body=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Frontline-Webhook/1",
                "X-Frontline-Event": notification.kind,
                "X-Frontline-Delivery": str(notification.pk),
                "X-Frontline-Timestamp": timestamp,
                "X-Frontline-Signature": signature(endpoint.secret, timestamp, body),
            },
        )
        return Outcome.DELIVERED
