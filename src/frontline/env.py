"""Typed readers for environment variables.

Every setting that comes from the environment goes through one of these helpers, so a wrong
value stops the process at start-up with a message that names the variable, instead of
surfacing later as a confusing error deep inside a request.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path


class ConfigurationError(RuntimeError):
    """An environment variable is missing or malformed."""


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str | None = None) -> str:
    value = _raw(name)
    if value is None:
        if default is None:
            raise ConfigurationError(f"{name} is required but not set")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {number}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = _raw(name) or default
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def kept_secret(name: str, path: Path, *, generate) -> str:
    """Read a secret from the environment, or from a file under var/ that is created once.

    The demo needs zero configuration yet must keep the same key across restarts, or every
    session and every encrypted field would be lost on the next start.
    """
    value = _raw(name)
    if value is not None:
        return value
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = generate()
    # Create with owner-only permissions before writing the secret.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    return value


def new_secret_key() -> str:
    return secrets.token_urlsafe(50)


def new_data_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")
