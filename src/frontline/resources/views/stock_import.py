"""Upload pages of the depot register and of the stock ledger, and the register's export.

Both answer with a row-by-row report (row number, column, Chinese message). The register
keeps a file with errors for the session so its valid rows can be imported with one button;
the stock ledger is all or nothing (see `services/importing_stock.py` for why), so its page
only ever offers to upload a corrected file."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from frontline.core.errors import DomainError, PermissionDenied
from frontline.core.roles import Capability, can
from frontline.core.views.common import forbidden
from frontline.core.views.imports import handle_import
from frontline.resources.forms_stock import ImportForm
from frontline.resources.services import importing_stock, importing_stock_depots
from frontline.resources.views.depots import filtered_depots, no_manage
from frontline.resources.views.stock_ledger import xlsx_response

TEMPLATES = "resources/"
SHOWN_ERRORS = 500
_SESSION_KEY = "resources_depot_import"


@login_required
def depot_export(request):
    depots = filtered_depots(request)[0]
    content = importing_stock_depots.export_depots(actor=request.user, queryset=depots)
    return xlsx_response(content, "depots")


def _render(request, template: str, form, report, status: int, **extra):
    context = {
        "form": form,
        "report": report,
        "errors": report.errors[:SHOWN_ERRORS] if report else [],
        "more_errors": max(0, len(report.errors) - SHOWN_ERRORS) if report else 0,
        **extra,
    }
    return render(request, TEMPLATES + template, context, status=status)


@login_required
def depot_import(request):
    if not can(request.user, Capability.MANAGE_RESOURCES):
        return no_manage(request)
    page = handle_import(
        request, _SESSION_KEY, importing_stock_depots.import_depots, ImportForm, "depot_import"
    )
    if isinstance(page, HttpResponse):
        return page
    form, report, status = page.form, page.report, page.status
    return _render(
        request,
        "import_depots.html",
        form,
        report,
        status,
        columns=importing_stock_depots.DEPOT_COLUMNS,
    )


@login_required
def stock_import(request):
    if not can(request.user, Capability.MANAGE_RESOURCES):
        return no_manage(request)
    report, form, status = None, ImportForm(), 200
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                report = importing_stock.import_stock_ledger(
                    actor=request.user, file=form.cleaned_data["file"]
                )
            except PermissionDenied as exc:
                return forbidden(request, exc.message)
            except DomainError as exc:
                form.add_error("file", str(exc.details.get("file", exc.message)))
                status = 422
            else:
                status = 200 if report.imported or not report.errors else 422
        else:
            status = 422
    columns = {
        name: header
        for name, header in importing_stock.STOCK_COLUMNS.items()
        if name not in importing_stock.IGNORED_ON_IMPORT
    }
    return _render(
        request,
        "import_stock.html",
        form,
        report,
        status,
        columns=columns,
        required=[importing_stock.STOCK_COLUMNS[n] for n in importing_stock.REQUIRED_COLUMNS],
    )
