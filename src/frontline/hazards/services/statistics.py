"""The quarterly statistics table (隐患排查治理情况统计表) and the dashboard numbers, read
through `visible_to(user)`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from frontline.core.errors import InvalidInput
from frontline.core.models import Region, RegionLevel
from frontline.hazards.models import (
    Hazard,
    HazardLevel,
    HazardSource,
    HazardState,
    Industry,
    PlaceCategory,
)
from frontline.hazards.models.hazards import OPEN_HAZARD_STATES
from frontline.hazards.services.ledgers import labels_of, write_xlsx


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

    industries, categories = labels_of(Industry), labels_of(PlaceCategory)
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
    sources = labels_of(HazardSource)
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
