"""The device import page: upload → row-by-row report → (valid rows) → tokens, once.

Like the enterprise import: a file with errors is kept for this session only, so the user
can import its valid rows with one button. After an import, the new devices' tokens are
offered as an XLSX download, once: the file is deleted when it is fetched, and only the
tokens' hashes stay in the database.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from frontline.core.roles import Capability, can
from frontline.core.views.common import forbidden
from frontline.core.views.imports import PendingUpload, handle_import
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
    tokens = PendingUpload(request, TOKENS)
    if download == "tokens":
        path = tokens.path()
        if path is None:
            messages.error(request, _("令牌文件已下载或已失效；如需新令牌，请在设备页重置令牌"))
            return redirect("device_import")
        content = path.read_bytes()
        tokens.forget()  # once
        return _xlsx(content, "device-tokens")

    page = handle_import(request, PENDING, import_devices, DeviceImportForm, "device_import")
    if isinstance(page, HttpResponse):
        return page
    form, report, status = page.form, page.report, page.status
    if report is not None and report.imported and report.tokens:
        tokens.keep(tokens_workbook(report.tokens))
    context = {
        "form": form,
        "report": report,
        "required": [COLUMNS[name] for name in REQUIRED],
        "optional": [title for name, title in COLUMNS.items() if name not in REQUIRED],
    }
    return render(request, "monitoring/import.html", context, status=status)
