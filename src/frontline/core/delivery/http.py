"""The HTTP call shared by the webhook and SMS-gateway adapters."""

from __future__ import annotations

import requests
from django.conf import settings

from frontline.core.delivery.base import PermanentFailure, TemporaryFailure

# Statuses where the receiver asks us to come back later.
_RETRYABLE = {408, 425, 429}


def post(url: str, *, body: bytes, headers: dict[str, str]) -> requests.Response:
    timeout = getattr(settings, "NOTIFY_HTTP_TIMEOUT", 10)
    try:
        response = requests.post(url, data=body, headers=headers, timeout=timeout)
    except requests.Timeout:
        raise TemporaryFailure(f"timed out after {timeout} s: {url}") from None
    except requests.RequestException as exc:
        raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from None
    if 200 <= response.status_code < 300:
        return response
    snippet = response.text[:200].replace("\n", " ")
    message = f"HTTP {response.status_code} from {url}: {snippet}"
    if response.status_code >= 500 or response.status_code in _RETRYABLE:
        raise TemporaryFailure(message)
    raise PermanentFailure(message)
