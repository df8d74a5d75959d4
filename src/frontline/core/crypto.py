"""Personal data at rest: AES-GCM encryption and the masks shown by default."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

_PREFIX = "v1:"


@lru_cache(maxsize=4)
def _cipher(key_text: str) -> AESGCM:
    try:
        key = base64.urlsafe_b64decode(key_text.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ImproperlyConfigured("FRONTLINE_DATA_KEY must be url-safe base64") from None
    if len(key) != 32:
        raise ImproperlyConfigured("FRONTLINE_DATA_KEY must decode to 32 bytes (AES-256)")
    return AESGCM(key)


def encrypt(plain: str) -> str:
    nonce = os.urandom(12)
    sealed = _cipher(settings.FRONTLINE_DATA_KEY).encrypt(nonce, plain.encode("utf-8"), None)
    return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def encryptor() -> Callable[[str], str]:
    """`encrypt` for many values in a row (a bulk import): the cipher is looked up once, and
    an empty value stays empty like in `EncryptedTextField`."""
    seal = _cipher(settings.FRONTLINE_DATA_KEY).encrypt
    encode = base64.urlsafe_b64encode
    random = os.urandom

    def encrypt_one(plain: str) -> str:
        if not plain:
            return plain
        nonce = random(12)
        return _PREFIX + encode(nonce + seal(nonce, plain.encode("utf-8"), None)).decode("ascii")

    return encrypt_one


def decrypt(token: str) -> str:
    if not token.startswith(_PREFIX):
        raise ValueError("not an encrypted value")
    raw = base64.urlsafe_b64decode(token[len(_PREFIX) :].encode("ascii"))
    plain = _cipher(settings.FRONTLINE_DATA_KEY).decrypt(raw[:12], raw[12:], None)
    return plain.decode("utf-8")


class EncryptedTextField(models.TextField):
    """Text stored encrypted; Python code sees the clear value.

    Encrypted values cannot be searched or sorted by the database; fields that need lookup
    keep a separate, non-sensitive column.
    """

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)


@lru_cache(maxsize=4)
def _digest_key(key_text: str) -> bytes:
    # A key of its own, derived from the data key, so a digest never reveals the AES key
    # and the AES key never serves two purposes.
    return hmac.new(key_text.encode("ascii"), b"frontline-digest-v1", hashlib.sha256).digest()


def keyed_digest(value: str, *, purpose: str = "id_number") -> str:
    """HMAC-SHA256 of an already normalised value (64 hex characters), keyed from
    `FRONTLINE_DATA_KEY`: finds equal values (duplicate ID numbers) without decrypting rows,
    and cannot be reversed by hashing every possible ID number without the key."""
    key = _digest_key(settings.FRONTLINE_DATA_KEY)
    message = f"{purpose}:{value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def mask_phone(value: str | None) -> str:
    if not value:
        return ""
    digits = value.strip()
    if len(digits) >= 11:
        return digits[:3] + "****" + digits[-4:]
    if len(digits) > 4:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * len(digits)


def mask_id_number(value: str | None) -> str:
    if not value:
        return ""
    text = value.strip()
    if len(text) <= 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


def mask_name(value: str | None) -> str:
    if not value:
        return ""
    text = value.strip()
    return text[0] + "*" * max(len(text) - 1, 1)


def audit_mask(value: str) -> str:
    """What the change log keeps of an encrypted field: that it changed, not to what."""
    return "[加密]" if value not in (None, "", "None") else ""
