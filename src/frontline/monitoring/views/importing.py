"""The device import page: upload → row-by-row report → (valid rows) → tokens, once.

Like the enterprise import: a file with errors is kept for this session only, so the user
can import its valid rows with one button. After an import, the new devices' tokens are
offered as an XLSX download, once: the file is deleted when it is fetched, and only the
tokens' hashes stay in the database.
"""

from __future__ import annotations

import io
import secrets
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from frontline.core.errors import DomainError, PermissionDenied
from frontline.core.roles import Capability, can
from frontline.core.views.common import forbidden
from frontline.monitoring.services.importing import (
    COLUMNS,
    REQUIRED,
    XLSX_CONTENT_TYPE,
    import_devices,
    template_workbook,
    tokens_workbook,
)

PENDING = "monitoring_import_pending"  # the uploaded file with errors
TOKENS = "monitoring_import_tokens"  # the tokens of the last import, until downloaded


class DeviceImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("设备清单（XLSX）"),
        widget=forms.ClearableFileInput(attrs={"accept": f".xlsx,{XLSX_CONTENT_TYPE}"}),
    )


def _folder() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _stored(request, key: str) -> Path | None:
    name = request.session.get(key, "")
    if not name or not name.isalnum():
        return None
    path = _folder() / f"{name}.xlsx"
    return path if path.exists() else None


def _store(request, key: str, content: bytes) -> None:
    _forget(request, key)
    name = secrets.token_hex(16)
    (_folder() / f"{name}.xlsx").write_bytes(content)
    request.session[key] = name


def _forget(request, key: str) -> None:
    path = _stored(request, key)
    if path is not None:
        path.unlink(missing_ok=True)
    request.session.pop(key, None)


def _xlsx(content: bytes, stem: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    name = f"{stem}-{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = (
        f"attachment; filename=\"{stem}.xlsx\"; filename*=UTF-8''{name}"
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
def device_import(request):
    if not can(request.user, Capability.EDIT):
        return forbidden(request, _("您没有录入和修改业务数据的权限"))
    download = request.GET.get("download")
    if download == "template":
        return _xlsx(template_workbook(), "device-template")
    if download == "tokens":
        path = _stored(request, TOKENS)
        if path is None:
            messages.error(request, _("令牌文件已下载或已失效；如需新令牌，请在设备页重置令牌"))
            return redirect("device_import")
        content = path.read_bytes()
        _forget(request, TOKENS)  # once
        return _xlsx(content, "device-tokens")

    report, status, form = None, 200, DeviceImportForm()
    if request.method == "POST" and request.POST.get("action") == "valid_rows":
        path = _stored(request, PENDING)
        if path is None:
            messages.error(request, _("待导入的文件已失效，请重新上传"))
            return redirect("device_import")
        try:
            with path.open("rb") as handle:
                report = import_devices(actor=request.user, file=handle, valid_rows_only=True)
        except DomainError as exc:
            messages.error(request, str(exc.message))
            return redirect("device_import")
        finally:
            _forget(request, PENDING)
    elif request.method == "POST":
        form = DeviceImportForm(request.POST, request.FILES)
        if form.is_valid():
            _forget(request, PENDING)
            data = form.cleaned_data["file"].read()
            try:
                report = import_devices(actor=request.user, file=io.BytesIO(data))
            except PermissionDenied as exc:
                return forbidden(request, exc.message)
            except DomainError as exc:
                form.add_error("file", str(exc.details.get("file", exc.message)))
                status = 422
            else:
                if not report.imported and report.valid_rows:
                    _store(request, PENDING, data)
        else:
            status = 422
    if report is not None and report.imported and report.tokens:
        _store(request, TOKENS, tokens_workbook(report.tokens))
    context = {
        "form": form,
        "report": report,
        "required": [COLUMNS[name] for name in REQUIRED],
        "optional": [title for name, title in COLUMNS.items() if name not in REQUIRED],
    }
    return render(request, "monitoring/import.html", context, status=status)
