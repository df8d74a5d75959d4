"""API tokens: `fl_<prefix>_<secret>`. Only the SHA-256 of the whole token is stored; the
prefix finds the row without scanning."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.utils import timezone

TOKEN_PREFIX = "fl_"


def new_token() -> tuple[str, str, str]:
    """Return (token, key_prefix, token_hash)."""
    key_prefix = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}{key_prefix}_{secrets.token_urlsafe(32)}"
    return token, key_prefix, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def authenticate_bearer(token: str):
    """The user behind a valid token, scoped to the token's assignment; None otherwise."""
    from frontline.core.models import ApiToken

    if not token.startswith(TOKEN_PREFIX) or token.count("_") < 2:
        return None
    key_prefix = token[len(TOKEN_PREFIX) :].split("_", 1)[0]
    record = (
        ApiToken.objects.select_related("assignment__user", "assignment__region")
        .filter(key_prefix=key_prefix)
        .first()
    )
    if record is None or not hmac.compare_digest(record.token_hash, hash_token(token)):
        return None
    now = timezone.now()
    user = record.assignment.user
    if not record.is_usable(now) or not user.is_active:
        return None
    # Touch at most once a minute: a busy integration must not write on every call.
    if record.last_used_at is None or (now - record.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
    user._frontline_token = record
    user._frontline_assignments = [record.assignment]
    return user
