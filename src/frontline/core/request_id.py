"""A request id for every request, carried into logs, audit entries and events."""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

_current: ContextVar[str | None] = ContextVar("frontline_request_id", default=None)
_ACCEPTED = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def new_request_id(incoming: str | None = None) -> str:
    # Accept an id from the reverse proxy only when it looks like one, so a client cannot
    # write arbitrary text into the audit log.
    if incoming and _ACCEPTED.match(incoming):
        return incoming
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return _current.get()


def bind(request_id: str | None):
    return _current.set(request_id)


def unbind(token) -> None:
    _current.reset(token)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get() or "-"
        return True
