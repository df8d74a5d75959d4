"""Channel adapters: one interface, one module per channel.

An adapter takes a Notification and either returns (delivered or merely handed over) or
raises: `TemporaryFailure` (retry later: time-outs, 5xx, 429) or `PermanentFailure` (retrying
cannot help: no address, a 4xx refusal, a channel not configured).
"""

from __future__ import annotations

from frontline.core.delivery.base import Adapter, Outcome, PermanentFailure, TemporaryFailure


def adapter_for(channel: str) -> Adapter:
    from frontline.core.delivery.email import EmailAdapter
    from frontline.core.delivery.in_app import InAppAdapter
    from frontline.core.delivery.sms import SmsGatewayAdapter
    from frontline.core.delivery.webhook import WebhookAdapter

    adapters = {
        "in_app": InAppAdapter,
        "webhook": WebhookAdapter,
        "sms": SmsGatewayAdapter,
        "email": EmailAdapter,
    }
    if channel not in adapters:
        raise PermanentFailure(f"unknown channel {channel!r}")
    return adapters[channel]()


__all__ = ["Adapter", "Outcome", "PermanentFailure", "TemporaryFailure", "adapter_for"]
