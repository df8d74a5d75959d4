"""The ledgers (隐患清单, 整改清单, 责任清单) as pages of rows and as XLSX, the quarterly
statistics and the dashboard numbers: all limited to what the user may see."""

from datetime import date
from urllib.parse import quote

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema

from frontline.hazards import services
from frontline.hazards.schemas_inspections import DashboardOut, LedgerPage, QuarterlyOut
from frontline.hazards.services import ledgers, statistics
from frontline.hazards.services.ledgers import LedgerFilters

router = Router(tags=["ledgers"])

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class LedgerQuery(Schema):
    region: str = Field("", max_length=15, description="区划代码（含下级）")
    state: str = ""
    level: str = ""
    source: str = ""
    q: str = Field("", max_length=100)
    found_from: date | None = None
    found_to: date | None = None
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=500)


class QuarterQuery(Schema):
    year: int | None = Field(None, ge=2000, le=2100)
    quarter: int | None = Field(None, ge=1, le=4)


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def _filters(query: LedgerQuery) -> LedgerFilters:
    return LedgerFilters.from_mapping(query.dict())


@router.get(
    "/ledgers/{kind}",
    response=LedgerPage,
    summary="台账（hazards 隐患清单 / rectifications 整改清单 / responsibilities 责任清单）",
)
def ledger_page(request, kind: str, query: Query[LedgerQuery]):
    filters = _filters(query)
    start = (query.page - 1) * query.page_size
    rows = services.ledger_rows(
        request.user, kind, filters=filters, start=start, stop=start + query.page_size
    )
    cells = [[_json(value) for value in row] for row in rows]
    return {
        "kind": kind,
        "title": str(ledgers.LEDGER_TITLES[kind]),
        "headers": ledgers.headers(kind),
        "rows": cells,
        "count": ledgers.ledger_count(request.user, kind, filters=filters),
        "page": query.page,
        "page_size": query.page_size,
    }


def _json(value):
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ", timespec="minutes")
    return value


@router.get("/ledgers/{kind}/xlsx", summary="导出台账（XLSX）")
def ledger_export(request, kind: str, query: Query[LedgerQuery]):
    filters = _filters(query)
    content = services.ledger_xlsx(request.user, kind, filters=filters)
    return xlsx_response(content, ledgers.ledger_filename(kind))


def _quarter(query: QuarterQuery) -> tuple[int, int]:
    if query.year is None or query.quarter is None:
        return statistics.previous_quarter()
    return query.year, query.quarter


def _statistics_out(stats) -> dict:
    return {
        "year": stats.year,
        "quarter": stats.quarter,
        "starts": stats.starts,
        "ends": stats.ends,
        "due_on": stats.due_on,
        "rows": [row.as_dict() for row in stats.rows],
        "total": stats.total.as_dict(),
    }


@router.get(
    "/statistics/quarterly",
    response=QuarterlyOut,
    summary="季度隐患统计（按乡镇街道；缺省为上一季度，次季度 15 日前报送）",
)
def quarterly(request, query: Query[QuarterQuery]):
    year, quarter = _quarter(query)
    return _statistics_out(services.quarterly_statistics(request.user, year, quarter))


@router.get("/statistics/quarterly/xlsx", summary="导出季度隐患统计（XLSX）")
def quarterly_export(request, query: Query[QuarterQuery]):
    year, quarter = _quarter(query)
    stats = services.quarterly_statistics(request.user, year, quarter)
    return xlsx_response(statistics.statistics_xlsx(stats), f"隐患统计-{year}Q{quarter}.xlsx")


@router.get("/statistics/dashboard", response=DashboardOut, summary="隐患看板数字")
def dashboard(request):
    return services.dashboard_numbers(request.user)
