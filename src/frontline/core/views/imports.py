"""The XLSX import page every register shares: upload → row-by-row report, and a file with
errors kept for this session so that its valid rows can be imported with one button,
without choosing the file again."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from frontline.core.errors import DomainError, PermissionDenied
from frontline.core.views.common import forbidden


def _folder() -> Path:
    return Path(settings.VAR_DIR) / "imports"


class PendingUpload:
    """A file kept for the session under `session_key`: the upload of an import with
    errors, or what a page hands out once (the device tokens)."""

    def __init__(self, request, session_key: str):
        self.request = request
        self.session_key = session_key

    def path(self) -> Path | None:
        token = self.request.session.get(self.session_key, "")
        if not token or not token.isalnum():
            return None
        path = _folder() / f"{token}.xlsx"
        return path if path.exists() else None

    def keep(self, data: bytes) -> None:
        self.forget()
        _folder().mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(16)
        (_folder() / f"{token}.xlsx").write_bytes(data)
        self.request.session[self.session_key] = token

    def forget(self) -> None:
        path = self.path()
        if path is not None:
            path.unlink(missing_ok=True)
        self.request.session.pop(self.session_key, None)


@dataclass
class ImportOutcome:
    """What the page shows: the upload form, the report of the last import, the status."""

    form: Any
    report: Any = None
    status: int = 200


def handle_import(
    request,
    session_key: str,
    service: Callable[..., Any],
    make_form: Callable[..., Any],
    again: str,
) -> ImportOutcome | HttpResponse:
    """Run one request of an import page.

    `service(actor=…, file=…, valid_rows_only=…)` imports a file and returns its report;
    `make_form(data, files)` builds the upload form (unbound without arguments); `again` is
    the URL name "import the valid rows" sends the user back to when the kept file is gone.
    The caller renders the outcome with its own template; a response (a redirect, a 403)
    is returned as it is."""

    def run_import(file, *, valid_rows_only: bool):
        return service(actor=request.user, file=file, valid_rows_only=valid_rows_only)

    pending = PendingUpload(request, session_key)
    if request.method == "POST" and request.POST.get("action") == "valid_rows":
        return _import_kept(request, pending, run_import, make_form, again)
    if request.method != "POST":
        return ImportOutcome(form=make_form())
    form = make_form(request.POST, request.FILES)
    if not form.is_valid():
        return ImportOutcome(form=form, status=422)
    pending.forget()
    data = form.cleaned_data["file"].read()
    try:
        report = run_import(io.BytesIO(data), valid_rows_only=False)
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    except DomainError as exc:
        form.add_error("file", str(exc.details.get("file", exc.message)))
        return ImportOutcome(form=form, status=422)
    if not report.imported and report.valid_rows:
        pending.keep(data)
    return ImportOutcome(form=form, report=report)


def _import_kept(request, pending: PendingUpload, run_import, make_form, again):
    path = pending.path()
    if path is None:
        messages.error(request, _("待导入的文件已失效，请重新上传"))
        return redirect(again)
    try:
        with path.open("rb") as handle:
            report = run_import(handle, valid_rows_only=True)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect(again)
    finally:
        pending.forget()
    return ImportOutcome(form=make_form(), report=report)
