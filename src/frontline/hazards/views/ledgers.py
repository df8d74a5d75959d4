"""Ledger pages (隐患清单, 整改清单, 责任清单) with filters and XLSX export, the quarterly
statistics table and the hazard dashboard with its charts. All scoped."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from frontline.core.errors import InvalidInput
from frontline.core.models import Region
from frontline.core.views.common import scoped_object_or_404
from frontline.hazards import services
from frontline.hazards.models import HazardLevel, HazardSource, HazardState
from frontline.hazards.services import ledgers
from frontline.hazards.services import statistics as quarterly
from frontline.hazards.services.ledgers import LedgerFilters

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE_SIZE = 50


class _CountedRows:
    """Lets Django's Paginator page through a ledger without loading it: the count is one
    query, and only the requested slice is read."""

    def __init__(self, user, kind, filters):
        self.user, self.kind, self.filters = user, kind, filters

    def count(self) -> int:
        return ledgers.ledger_count(self.user, self.kind, filters=self.filters)

    def __getitem__(self, window: slice):
        return list(
            services.ledger_rows(
                self.user, self.kind, filters=self.filters, start=window.start, stop=window.stop
            )
        )


def _kind(kind: str) -> str:
    if kind not in ledgers.LEDGER_TITLES:
        raise Http404
    return kind


def _filters(request) -> tuple[LedgerFilters, dict]:
    """The filters of the query string; a region outside the scope is a 404."""
    try:
        filters = LedgerFilters.from_mapping(request.GET)
    except InvalidInput:
        filters = LedgerFilters()
    region = None
    if filters.region:
        region = scoped_object_or_404(request.user, Region.objects, code=filters.region)
    return filters, {"region": region}


def _xlsx(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@login_required
def ledger(request, kind: str):
    kind = _kind(kind)
    filters, extra = _filters(request)
    page = Paginator(_CountedRows(request.user, kind, filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "kind": kind,
        "title": ledgers.LEDGER_TITLES[kind],
        "kinds": list(ledgers.LEDGER_TITLES.items()),
        "headers": ledgers.headers(kind),
        "page": page,
        "filters": filters,
        "region": extra["region"],
        "states": HazardState.choices,
        "levels": HazardLevel.choices,
        "sources": HazardSource.choices,
        "hazard_filters": kind != ledgers.RESPONSIBILITIES,
        "query": request.GET.urlencode(),
    }
    return render(request, "hazards/ledgers/ledger.html", context)


@login_required
def ledger_export(request, kind: str):
    kind = _kind(kind)
    filters, _extra = _filters(request)
    content = services.ledger_xlsx(request.user, kind, filters=filters)
    return _xlsx(content, ledgers.ledger_filename(kind))


def _quarter(request) -> tuple[int, int]:
    try:
        year, quarter = int(request.GET["year"]), int(request.GET["quarter"])
        quarterly.quarter_bounds(year, quarter)
    except (KeyError, ValueError, InvalidInput):
        return quarterly.previous_quarter()
    return year, quarter


@login_required
def statistics(request):
    year, quarter = _quarter(request)
    stats = services.quarterly_statistics(request.user, year, quarter)
    rows = [row for row in stats.rows if row.code or row.found or row.closed or row.due]
    chart_data = {
        "labels": [row.name for row in rows],
        "series": [
            _series(_("发现"), [row.found for row in rows], "#1f5fbf"),
            _series(_("核销"), [row.closed for row in rows], "#2e8b57"),
            _series(_("逾期"), [row.overdue for row in rows], "#c0392b"),
            {
                **_series(_("按期整改率（%）"), [row.on_time_rate for row in rows], "#e69500"),
                "type": "line",
                "percent": True,
            },
        ],
    }
    current_year = quarterly.current_quarter()[0]
    context = {
        "stats": stats,
        "rows": rows,
        "chart_data": chart_data,
        "years": range(current_year, current_year - 5, -1),
        "quarters": (1, 2, 3, 4),
    }
    return render(request, "hazards/ledgers/statistics.html", context)


@login_required
def statistics_export(request):
    year, quarter = _quarter(request)
    stats = services.quarterly_statistics(request.user, year, quarter)
    return _xlsx(quarterly.statistics_xlsx(stats), f"{_('隐患统计')}-{year}Q{quarter}.xlsx")


@login_required
def dashboard(request):
    numbers = services.dashboard_numbers(request.user)
    townships = numbers["by_township"]
    chart_data = {
        "labels": [row["name"] for row in townships],
        "series": [
            _series(_("本年发现"), [row["found"] for row in townships], "#1f5fbf"),
            _series(_("本年核销"), [row["closed"] for row in townships], "#2e8b57"),
            _series(_("逾期未整改"), [row["overdue"] for row in townships], "#c0392b"),
        ],
    }
    context = {"numbers": numbers, "chart": chart_data, "chart_data": chart_data}
    return render(request, "hazards/ledgers/dashboard.html", context)


def _series(name, values, color) -> dict:
    return {"name": str(name), "values": values, "color": color}
