"""Domain errors. The API maps them to `{"code", "message", "details"}` bodies."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A rule of the field forbids this change (HTTP 409)."""

    status = 409
    code = "conflict"

    def __init__(self, message=None, *, code: str | None = None, details=None):
        self.message = message or _("操作与当前状态冲突")
        if code:
            self.code = code
        self.details = details or {}
        super().__init__(str(self.message))


class InvalidInput(DomainError):
    """Input that parses but breaks a rule (HTTP 422), with field-level details."""

    status = 422
    code = "validation_error"


class PermissionDenied(DomainError):
    """The user sees the object but may not change it (HTTP 403)."""

    status = 403
    code = "permission_denied"
