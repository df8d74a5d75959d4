"""SMS through an HTTP gateway, configured by URL and a body template.

Operators' gateways differ; most take a POST with the number and the text. The template is a
JSON document in which `{phone}` and `{text}` are replaced by JSON-escaped values, e.g.

    SMS_GATEWAY_URL=https://sms.internal/api/send
    SMS_GATEWAY_TEMPLATE={"mobile": "{phone}", "content": "{text}", "sign": "基层应急"}
    SMS_GATEWAY_TOKEN=…            (sent as `Authorization: Bearer …` when set)
"""

from __future__ import annotations

import json

from django.conf import settings

from frontline.core.delivery.base import Adapter, Outcome, PermanentFailure
from frontline.core.delivery.http import post

DEFAULT_TEMPLATE = '{"phone": "{phone}", "text": "{text}"}'


def render_body(template: str, *, phone: str, text: str) -> bytes:
    # json.dumps()[1:-1] escapes quotes, backslashes and control characters inside a string.
    escaped_phone = json.dumps(phone, ensure_ascii=False)[1:-1]
    escaped_text = json.dumps(text, ensure_ascii=False)[1:-1]
    body = template.replace("{phone}", escaped_phone).replace("{text}", escaped_text)
    json.loads(body)  # a broken template must fail here, not at the gateway
    return body.encode("utf-8")


def sms_text(notification) -> str:
    prefix = getattr(settings, "SMS_SIGNATURE", "【基层应急】")
    text = (
        notification.subject
        if not notification.body
        else f"{notification.subject}：{notification.body}"
    )
    return f"{prefix}{text}"[:300]


class SmsGatewayAdapter(Adapter):
    def send(self, notification) -> Outcome:
        url = getattr(settings, "SMS_GATEWAY_URL", "")
        if not url:
            raise PermanentFailure("SMS gateway not configured (SMS_GATEWAY_URL)")
        if not notification.address:
            raise PermanentFailure("no mobile number")
        template = getattr(settings, "SMS_GATEWAY_TEMPLATE", "") or DEFAULT_TEMPLATE
        try:
            body = render_body(template, phone=notification.address, text=sms_text(notification))
        except ValueError as exc:
            raise PermanentFailure(f"SMS_GATEWAY_TEMPLATE is not valid JSON: {exc}") from None
        headers = {"Content-Type": "application/json; charset=utf-8"}
        token = getattr(settings, "SMS_GATEWAY_TOKEN", "")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        post(url, body=body, headers=headers)
        return Outcome.SENT
