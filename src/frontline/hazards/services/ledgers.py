"""The three ledgers (隐患清单, 整改清单, 责任清单), their XLSX export, the quarterly statistics
table and the dashboard numbers. Everything is read through `visible_to(user)`.

The ledgers are built from `values_list` rows, so 100,000 hazards export without building
100,000 model instances; XLSX files are written with openpyxl's write-only mode.
"""

from __future__ import annotations

import io
import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from frontline.core.errors import InvalidInput
from frontline.core.models import Region, RegionLevel
from frontline.hazards.models import (
    Enterprise,
    Hazard,
    HazardLevel,
    HazardSource,
    HazardState,
    Industry,
    Place,
    PlaceCategory,
    RiskColour,
    RiskPoint,
)
from frontline.hazards.models.hazards import OPEN_HAZARD_STATES

HAZARDS = "hazards"
RECTIFICATIONS = "rectifications"
RESPONSIBILITIES = "responsibilities"

LEDGER_TITLES = {
    HAZARDS: gettext_lazy("隐患清单"),
    RECTIFICATIONS: gettext_lazy("整改清单"),
    RESPONSIBILITIES: gettext_lazy("责任清单"),
}

RECTIFICATION_STATES = (
    HazardState.RECTIFYING,
    HazardState.PENDING_VERIFICATION,
    HazardState.CLOSED,
)

_HEADERS = {
    HAZARDS: (
        gettext_lazy("隐患编号"),
        gettext_lazy("所属区划"),
        gettext_lazy("检查对象"),
        gettext_lazy("隐患描述"),
        gettext_lazy("隐患等级"),
        gettext_lazy("来源"),
        gettext_lazy("发现时间"),
        gettext_lazy("状态"),
        gettext_lazy("整改期限"),
        gettext_lazy("整改责任人"),
        gettext_lazy("是否逾期"),
    ),
    RECTIFICATIONS: (
        gettext_lazy("隐患编号"),
        gettext_lazy("所属区划"),
        gettext_lazy("检查对象"),
        gettext_lazy("隐患描述"),
        gettext_lazy("隐患等级"),
        gettext_lazy("整改责任人"),
        gettext_lazy("整改期限"),
        gettext_lazy("整改完成时间"),
        gettext_lazy("核销时间"),
        gettext_lazy("状态"),
        gettext_lazy("是否按期整改"),
    ),
    RESPONSIBILITIES: (
        gettext_lazy("对象类型"),
        gettext_lazy("对象名称"),
        gettext_lazy("所属区划"),
        gettext_lazy("风险等级"),
        gettext_lazy("风险点"),
        gettext_lazy("风险点等级"),
        gettext_lazy("风险点责任人"),
        gettext_lazy("责任部门"),
        gettext_lazy("在办隐患数"),
        gettext_lazy("隐患整改责任人"),
    ),
}

# Widths in characters for the XLSX columns (Chinese characters count about two).
_WIDTHS = {
    HAZARDS: (26, 14, 24, 40, 10, 12, 18, 10, 18, 12, 10),
    RECTIFICATIONS: (26, 14, 24, 40, 10, 12, 18, 18, 18, 10, 14),
    RESPONSIBILITIES: (10, 28, 14, 16, 28, 16, 12, 16, 12, 24),
}

DATETIME_FORMAT = "%Y-%m-%d %H:%M"


def headers(kind: str) -> list[str]:
    return [str(h) for h in _HEADERS[kind]]


@dataclass
class LedgerFilters:
    """What the ledger pages and the API filter on; all optional."""

    region: str = ""  # region code: its subtree
    state: str = ""
    level: str = ""
    source: str = ""
    q: str = ""  # number or description contains
    found_from: date | None = None
    found_to: date | None = None

    @classmethod
    def from_mapping(cls, data) -> LedgerFilters:
        cleaned: dict = {}
        details: dict[str, str] = {}
        for name in ("region", "state", "level", "source", "q"):
            cleaned[name] = (data.get(name) or "").strip()
        for name, choices in (
            ("state", HazardState),
            ("level", HazardLevel),
            ("source", HazardSource),
        ):
            if cleaned[name] and cleaned[name] not in choices.values:
                details[name] = _("不在可选值之内")
        for name in ("found_from", "found_to"):
            value = data.get(name) or ""
            if isinstance(value, date):
                cleaned[name] = value
            elif value:
                try:
                    cleaned[name] = date.fromisoformat(str(value))
                except ValueError:
                    details[name] = _("日期格式不正确")
        if details:
            raise InvalidInput(_("输入有误，请检查标注的字段"), details=details)
        return cls(**cleaned)


def _local(value: datetime | None, zone=None) -> datetime | None:
    """Aware UTC → naive Asia/Shanghai, for screen and spreadsheet."""
    if value is None:
        return None
    return value.astimezone(zone or timezone.get_current_timezone()).replace(tzinfo=None)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day))


def filtered_hazards(user, filters: LedgerFilters | None = None):
    filters = filters or LedgerFilters()
    # Read by date through `hazard_found_idx`, a page at a time or whole for the export.
    hazards = Hazard.objects.visible_in_order(user)
    if filters.region:
        path = (
            Region.objects.visible_to(user)
            .filter(code=filters.region)
            .values_list("path", flat=True)
            .first()
        )
        hazards = hazards.within(path) if path else hazards.none()
    if filters.state:
        hazards = hazards.filter(state=filters.state)
    if filters.level:
        hazards = hazards.filter(level=filters.level)
    if filters.source:
        hazards = hazards.filter(source=filters.source)
    if filters.q:
        hazards = hazards.filter(Q(number__icontains=filters.q) | Q(title__icontains=filters.q))
    if filters.found_from:
        hazards = hazards.filter(found_at__gte=_day_start(filters.found_from))
    if filters.found_to:
        hazards = hazards.filter(found_at__lt=_day_start(filters.found_to + timedelta(days=1)))
    return hazards


_HAZARD_FIELDS = (
    "number",
    "region__name",
    "enterprise__name",
    "place__name",
    "title",
    "level",
    "source",
    "found_at",
    "state",
    "due_at",
    "responsible_person",
    "rectified_at",
    "closed_at",
)


def _labels(choices) -> dict[str, str]:
    return {value: str(label) for value, label in choices.choices}


def _hazard_rows(hazards, now: datetime, window: slice) -> Iterator[tuple]:
    levels, sources, states = _labels(HazardLevel), _labels(HazardSource), _labels(HazardState)
    open_states = set(OPEN_HAZARD_STATES)
    yes, no, ungraded = _("是"), _("否"), _("未定级")
    zone = timezone.get_current_timezone()
    ordered = hazards.order_by("-found_at", "-id")
    if window.stop is not None:
        # One page: its ids come from the index alone, and only its rows are joined.
        ids = list(ordered.values_list("pk", flat=True)[window])
        ordered, window = (
            Hazard.objects.filter(pk__in=ids).order_by("-found_at", "-id"),
            slice(None),
        )
    rows = ordered[window].values_list(*_HAZARD_FIELDS)
    for (
        number,
        region,
        enterprise,
        place,
        title,
        level,
        source,
        found_at,
        state,
        due_at,
        responsible,
        _rectified,
        _closed,
    ) in rows.iterator(5000):
        overdue = state in open_states and due_at is not None and due_at < now
        yield (
            number,
            region,
            enterprise or place or "",
            title,
            levels.get(level, ungraded),
            sources.get(source, source),
            _local(found_at, zone),
            states.get(state, state),
            _local(due_at, zone),
            responsible,
            yes if overdue else no,
        )


def on_time_label(due_at, rectified_at, closed_at, now: datetime) -> str:
    """是 / 否 / 未到期 for one rectification."""
    if due_at is None:
        return "—"
    done = rectified_at or closed_at
    if done is not None:
        return _("是") if done <= due_at else _("否")
    return _("否") if due_at < now else _("未到期")


def _rectification_rows(hazards, now: datetime, window: slice) -> Iterator[tuple]:
    levels, states = _labels(HazardLevel), _labels(HazardState)
    ungraded = _("未定级")
    zone = timezone.get_current_timezone()
    rows = (
        hazards.filter(state__in=RECTIFICATION_STATES)
        .order_by("due_at", "id")[window]
        .values_list(*_HAZARD_FIELDS)
        .iterator(5000)
    )
    for (
        number,
        region,
        enterprise,
        place,
        title,
        level,
        _source,
        _found,
        state,
        due_at,
        responsible,
        rectified_at,
        closed_at,
    ) in rows:
        yield (
            number,
            region,
            enterprise or place or "",
            title,
            levels.get(level, ungraded),
            responsible,
            _local(due_at, zone),
            _local(rectified_at, zone),
            _local(closed_at, zone),
            states.get(state, state),
            on_time_label(due_at, rectified_at, closed_at, now),
        )


def _responsibility_rows(user, filters: LedgerFilters) -> Iterator[tuple]:
    """One row per risk point of each enterprise and place (one row for an object without
    risk points), with the open hazards' responsible persons. Five queries."""
    colours = _labels(RiskColour)
    enterprises = Enterprise.objects.visible_to(user)
    places = Place.objects.visible_to(user)
    points = RiskPoint.objects.visible_to(user)
    hazards = Hazard.objects.visible_to(user).filter(state__in=OPEN_HAZARD_STATES)
    if filters.region:
        path = (
            Region.objects.visible_to(user)
            .filter(code=filters.region)
            .values_list("path", flat=True)
            .first()
        )
        if path is None:
            return
        enterprises, places = enterprises.within(path), places.within(path)
        points, hazards = points.within(path), hazards.within(path)
    if filters.q:
        enterprises = enterprises.filter(name__icontains=filters.q)
        places = places.filter(name__icontains=filters.q)
    by_object: dict[tuple[str, int], list[tuple]] = defaultdict(list)
    for enterprise_id, place_id, name, colour, person, unit in points.order_by(
        "-score", "name"
    ).values_list(
        "enterprise_id",
        "place_id",
        "name",
        "colour",
        "responsible_person__name",
        "responsible_unit",
    ):
        key = ("e", enterprise_id) if enterprise_id else ("p", place_id)
        by_object[key].append((name, colours.get(colour, ""), person or "", unit))
    open_count: dict[tuple[str, int], int] = defaultdict(int)
    open_people: dict[tuple[str, int], set[str]] = defaultdict(set)
    for enterprise_id, place_id, person in hazards.values_list(
        "enterprise_id", "place_id", "responsible_person"
    ):
        for key in (("e", enterprise_id), ("p", place_id)):
            if key[1] is not None:
                open_count[key] += 1
                if person:
                    open_people[key].add(person)
    kinds = (
        ("e", _("企业"), enterprises.order_by("region__code", "name")),
        ("p", _("场所"), places.order_by("region__code", "name")),
    )
    for prefix, label, objects in kinds:
        for pk, name, region, colour in objects.values_list(
            "pk", "name", "region__name", "risk_colour"
        ):
            key = (prefix, pk)
            people = "、".join(sorted(open_people.get(key, ())))
            count = open_count.get(key, 0)
            for point in by_object.get(key) or [("", "", "", "")]:
                yield (label, name, region, colours.get(colour, ""), *point, count, people)


def _check_kind(kind: str) -> None:
    if kind not in LEDGER_TITLES:
        raise InvalidInput(_("没有这种台账"), details={"kind": _("不在可选值之内")})


def ledger_rows(
    user,
    kind: str,
    *,
    filters: LedgerFilters | None = None,
    now: datetime | None = None,
    start: int = 0,
    stop: int | None = None,
) -> Iterator[tuple]:
    """Rows of one ledger for this user, in the order of `headers(kind)`; `start`/`stop`
    cut one page out of it."""
    _check_kind(kind)
    now = now or timezone.now()
    filters = filters or LedgerFilters()
    window = slice(start, stop)
    if kind == HAZARDS:
        return _hazard_rows(filtered_hazards(user, filters), now, window)
    if kind == RECTIFICATIONS:
        return _rectification_rows(filtered_hazards(user, filters), now, window)
    return itertools.islice(_responsibility_rows(user, filters), start, stop)


def ledger_count(user, kind: str, *, filters: LedgerFilters | None = None) -> int:
    _check_kind(kind)
    filters = filters or LedgerFilters()
    if kind == HAZARDS:
        return filtered_hazards(user, filters).count()
    if kind == RECTIFICATIONS:
        return filtered_hazards(user, filters).filter(state__in=RECTIFICATION_STATES).count()
    return sum(1 for _row in _responsibility_rows(user, filters))


def write_xlsx(title: str, header: list[str], rows: Iterable[tuple], widths=()) -> bytes:
    """A write-only workbook: one sheet, bold frozen header, dates as Excel dates."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


def ledger_xlsx(
    user, kind: str, *, filters: LedgerFilters | None = None, now: datetime | None = None
) -> bytes:
    rows = ledger_rows(user, kind, filters=filters, now=now)
    return write_xlsx(str(LEDGER_TITLES[kind]), headers(kind), rows, _WIDTHS[kind])


def ledger_filename(kind: str, now: datetime | None = None) -> str:
    day = timezone.localtime(now or timezone.now()).strftime("%Y%m%d")
    return f"{LEDGER_TITLES[kind]}-{day}.xlsx"


# --- quarterly statistics ----------------------------------------------------------------


def quarter_bounds(year: int, quarter: int) -> tuple[datetime, datetime]:
    if quarter not in (1, 2, 3, 4) or not 2000 <= year <= 2100:
        raise InvalidInput(_("季度不正确"), details={"quarter": _("应为 1 到 4")})
    start = timezone.make_aware(datetime(year, 3 * quarter - 2, 1))
    end_year, end_month = (year + 1, 1) if quarter == 4 else (year, 3 * quarter + 1)
    return start, timezone.make_aware(datetime(end_year, end_month, 1))


def report_due_on(year: int, quarter: int) -> date:
    """Quarterly statistics are due by the 15th of the next quarter's first month."""
    _start, end = quarter_bounds(year, quarter)
    return timezone.localtime(end).date().replace(day=15)


def township_code_of_path(path: str) -> str:
    """The 9-digit township code in a region path, or "" above township level."""
    for code in path.split("/"):
        if len(code) == 9:
            return code
    return ""


@dataclass
class StatisticsRow:
    code: str
    name: str
    found: int = 0
    found_general: int = 0
    found_major: int = 0
    found_ungraded: int = 0
    closed: int = 0
    closed_major: int = 0
    due: int = 0
    on_time: int = 0
    overdue: int = 0
    close_days: list[float] = field(default_factory=list, repr=False)

    @property
    def on_time_rate(self) -> float | None:
        judged = self.on_time + self.overdue
        return round(100 * self.on_time / judged, 1) if judged else None

    @property
    def average_days_to_close(self) -> float | None:
        if not self.close_days:
            return None
        return round(sum(self.close_days) / len(self.close_days), 1)

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "found": self.found,
            "found_general": self.found_general,
            "found_major": self.found_major,
            "found_ungraded": self.found_ungraded,
            "closed": self.closed,
            "closed_major": self.closed_major,
            "due": self.due,
            "on_time": self.on_time,
            "overdue": self.overdue,
            "on_time_rate": self.on_time_rate,
            "average_days_to_close": self.average_days_to_close,
        }


@dataclass
class QuarterlyStatistics:
    year: int
    quarter: int
    starts: datetime
    ends: datetime
    due_on: date
    rows: list[StatisticsRow]
    total: StatisticsRow


def quarterly_statistics(
    user, year: int, quarter: int, *, now: datetime | None = None
) -> QuarterlyStatistics:
    """Per township: hazards found and closed in the quarter (by level), rectifications due
    in the quarter done on time or overdue, the on-time rate and the average days from
    discovery to closing. Hazards not recognised (不予认定) do not count. Three queries."""
    now = now or timezone.now()
    start, end = quarter_bounds(year, quarter)
    cutoff = min(now, end)
    in_quarter = (
        Q(found_at__gte=start, found_at__lt=end)
        | Q(closed_at__gte=start, closed_at__lt=end)
        | Q(due_at__gte=start, due_at__lt=end)
    )
    hazards = (
        Hazard.objects.visible_to(user)
        .exclude(state=HazardState.REJECTED)
        .filter(in_quarter)
        .values_list("region__path", "level", "found_at", "due_at", "rectified_at", "closed_at")
    )
    rows: dict[str, StatisticsRow] = {}
    townships = Region.objects.visible_to(user).filter(level=RegionLevel.TOWNSHIP)
    for code, name in townships.order_by("code").values_list("code", "name"):
        rows[code] = StatisticsRow(code, name)
    unnamed: set[str] = set()
    for path, level, found_at, due_at, rectified_at, closed_at in hazards:
        code = township_code_of_path(path)
        row = rows.get(code)
        if row is None:
            row = rows[code] = StatisticsRow(code, "")
            unnamed.add(code)
        if start <= found_at < end:
            row.found += 1
            if level == HazardLevel.MAJOR:
                row.found_major += 1
            elif level == HazardLevel.GENERAL:
                row.found_general += 1
            else:
                row.found_ungraded += 1
        if closed_at is not None and start <= closed_at < end:
            row.closed += 1
            if level == HazardLevel.MAJOR:
                row.closed_major += 1
            row.close_days.append((closed_at - found_at).total_seconds() / 86400)
        if due_at is not None and start <= due_at < end:
            row.due += 1
            done = rectified_at or closed_at
            if done is not None and done <= due_at:
                row.on_time += 1
            elif due_at < cutoff:
                row.overdue += 1
    names = dict(Region.objects.filter(code__in=unnamed).values_list("code", "name"))
    for code in unnamed:
        rows[code].name = names.get(code) or str(_("区县直属"))
    ordered = sorted(rows.values(), key=lambda r: (r.code == "", r.code))
    total = StatisticsRow("", str(_("合计")))
    for row in ordered:
        for name in (
            "found",
            "found_general",
            "found_major",
            "found_ungraded",
            "closed",
            "closed_major",
            "due",
            "on_time",
            "overdue",
        ):
            setattr(total, name, getattr(total, name) + getattr(row, name))
        total.close_days.extend(row.close_days)
    return QuarterlyStatistics(
        year, quarter, start, end, report_due_on(year, quarter), ordered, total
    )


STATISTICS_HEADERS = (
    gettext_lazy("乡镇（街道）"),
    gettext_lazy("发现隐患"),
    gettext_lazy("其中一般"),
    gettext_lazy("其中重大"),
    gettext_lazy("未定级"),
    gettext_lazy("核销"),
    gettext_lazy("核销重大"),
    gettext_lazy("本季到期"),
    gettext_lazy("按期整改"),
    gettext_lazy("逾期"),
    gettext_lazy("按期整改率（%）"),
    gettext_lazy("平均核销天数"),
)


def statistics_xlsx(stats: QuarterlyStatistics) -> bytes:
    def cells(row: StatisticsRow) -> tuple:
        return (
            row.name,
            row.found,
            row.found_general,
            row.found_major,
            row.found_ungraded,
            row.closed,
            row.closed_major,
            row.due,
            row.on_time,
            row.overdue,
            row.on_time_rate,
            row.average_days_to_close,
        )

    rows = [cells(row) for row in stats.rows] + [cells(stats.total)]
    title = _("%(year)d年第%(quarter)d季度隐患统计") % {
        "year": stats.year,
        "quarter": stats.quarter,
    }
    return write_xlsx(title, [str(h) for h in STATISTICS_HEADERS], rows, (18,) + (10,) * 11)


def current_quarter(now: datetime | None = None) -> tuple[int, int]:
    local = timezone.localtime(now or timezone.now())
    return local.year, (local.month - 1) // 3 + 1


def previous_quarter(now: datetime | None = None) -> tuple[int, int]:
    year, quarter = current_quarter(now)
    return (year - 1, 4) if quarter == 1 else (year, quarter - 1)


# --- dashboard ---------------------------------------------------------------------------


def dashboard_numbers(user, *, now: datetime | None = None) -> dict:
    """Open, overdue, major and this year's found / closed hazards, by township and by
    category (industry of the enterprise or kind of place) and by source. Four queries."""
    now = now or timezone.now()
    year_start = timezone.make_aware(datetime(timezone.localtime(now).year, 1, 1))
    hazards = Hazard.objects.visible_to(user).exclude(state=HazardState.REJECTED)
    is_open = Q(state__in=OPEN_HAZARD_STATES)
    by_region = hazards.values("region__path").annotate(
        open=Count("id", filter=is_open),
        overdue=Count("id", filter=is_open & Q(due_at__lt=now)),
        major_open=Count("id", filter=is_open & Q(level=HazardLevel.MAJOR)),
        found=Count("id", filter=Q(found_at__gte=year_start)),
        closed=Count("id", filter=Q(closed_at__gte=year_start)),
    )
    keys = ("open", "overdue", "major_open", "found", "closed")
    townships: dict[str, dict] = {}
    for row in by_region:
        code = township_code_of_path(row["region__path"])
        entry = townships.setdefault(code, {"code": code, **dict.fromkeys(keys, 0)})
        for key in keys:
            entry[key] += row[key]
    names = dict(Region.objects.filter(code__in=list(townships)).values_list("code", "name"))
    by_township = sorted(townships.values(), key=lambda r: (r["code"] == "", r["code"]))
    for entry in by_township:
        entry["name"] = names.get(entry["code"]) or str(_("区县直属"))
    totals = {key: sum(entry[key] for entry in by_township) for key in keys}

    industries, categories = _labels(Industry), _labels(PlaceCategory)
    by_category: dict[str, int] = defaultdict(int)
    for industry, category, count in (
        hazards.filter(is_open)
        .values_list("enterprise__industry", "place__category")
        .annotate(n=Count("id"))
        .order_by()
    ):
        if industry:
            label = industries.get(industry, industry)
        elif category:
            label = categories.get(category, category)
        else:
            label = str(_("其他"))
        by_category[label] += count
    sources = _labels(HazardSource)
    by_source = [
        {"label": sources.get(source, source), "count": count}
        for source, count in hazards.filter(is_open)
        .values_list("source")
        .annotate(n=Count("id"))
        .order_by("-n")
    ]
    return {
        "totals": totals,
        "by_township": by_township,
        "by_category": sorted(
            ({"label": k, "count": v} for k, v in by_category.items()),
            key=lambda r: -r["count"],
        ),
        "by_source": by_source,
    }
