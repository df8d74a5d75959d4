"""The monthly public list of community calls (每月公示): every call raised in a month in the
user's scope with its times, on-time verdict and rating, totals per category and per
department, and the same as a workbook.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from frontline.community.models import CallCategory, CallState, CommunityCall
from frontline.community.services.calls_people import visible_calls
from frontline.community.services.calls_rules import arrived_on_time, fixed_on_time

# --- the monthly public list (每月公示) --------------------------------------------------------


@dataclass
class MonthlyRow:
    call: CommunityCall
    caller: str  # masked: 张*
    minutes_to_arrive: int | None
    hours_to_fix: float | None
    arrived_on_time: bool | None
    fixed_on_time: bool | None
    on_time: bool | None  # None: still undecided, or withdrawn


@dataclass
class MonthlyGroup:
    key: str
    label: str
    calls: int = 0
    decided: int = 0
    on_time: int = 0
    rated: int = 0
    rating_sum: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return round(100 * self.on_time / self.decided, 1) if self.decided else None

    @property
    def average_rating(self) -> float | None:
        return round(self.rating_sum / self.rated, 2) if self.rated else None

    def add(self, row: MonthlyRow) -> None:
        self.calls += 1
        if row.on_time is not None:
            self.decided += 1
            self.on_time += int(row.on_time)
        if row.call.rating:
            self.rated += 1
            self.rating_sum += row.call.rating


@dataclass
class MonthlyReport:
    year: int
    month: int
    rows: list[MonthlyRow]
    total: MonthlyGroup
    by_category: list[MonthlyGroup]
    by_department: list[MonthlyGroup]

    @property
    def label(self) -> str:
        return f"{self.year}-{self.month:02d}"


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The month in Asia/Shanghai as aware datetimes [start, end)."""
    start = timezone.make_aware(datetime(year, month, 1))
    end = timezone.make_aware(datetime(year + month // 12, month % 12 + 1, 1))
    return start, end


def _outcome(call: CommunityCall, now: datetime) -> bool | None:
    """On time (arrived by arrive_by and fixed by fix_by), late, or not decided yet.
    A withdrawn call is not judged."""
    if call.state == CallState.WITHDRAWN:
        return None
    arrived = arrived_on_time(call)
    if arrived is False or (call.arrived_at is None and call.arrive_by < now):
        return False
    fixed = fixed_on_time(call)
    if fixed is not None:
        return bool(arrived) and fixed
    if call.fix_by < now:
        return False
    return None


def monthly_report(user, year: int, month: int, *, now: datetime | None = None) -> MonthlyReport:
    """Every call raised in the month in the user's scope, with its times, on-time verdict
    and rating; callers' names masked. One query."""
    from frontline.core.crypto import mask_name

    now = now or timezone.now()
    start, end = month_bounds(year, month)
    calls = (
        visible_calls(user)
        .filter(raised_at__gte=start, raised_at__lt=end)
        .select_related("region", "department", "raised_by__person")
        .order_by("raised_at", "id")
    )
    rows: list[MonthlyRow] = []
    total = MonthlyGroup("all", _("合计"))
    categories = {c.value: MonthlyGroup(c.value, str(c.label)) for c in CallCategory}
    departments: dict[int, MonthlyGroup] = {}
    for call in calls:
        try:
            name = call.raised_by.person.name
        except call.raised_by._meta.model.person.RelatedObjectDoesNotExist:
            name = call.raised_by.get_username()
        arrive = (
            int((call.arrived_at - call.raised_at).total_seconds() // 60)
            if call.arrived_at
            else None
        )
        fix = (
            round((call.fixed_at - call.raised_at).total_seconds() / 3600, 1)
            if call.fixed_at
            else None
        )
        row = MonthlyRow(
            call=call,
            caller=mask_name(name),
            minutes_to_arrive=arrive,
            hours_to_fix=fix,
            arrived_on_time=arrived_on_time(call),
            fixed_on_time=fixed_on_time(call),
            on_time=_outcome(call, now),
        )
        rows.append(row)
        total.add(row)
        categories[call.category].add(row)
        department = departments.setdefault(
            call.department_id, MonthlyGroup(str(call.department_id), call.department.name)
        )
        department.add(row)
    return MonthlyReport(
        year=year,
        month=month,
        rows=rows,
        total=total,
        by_category=[g for g in categories.values() if g.calls],
        by_department=sorted(departments.values(), key=lambda g: (-g.calls, g.label)),
    )


def _yes_no(value: bool | None) -> str:
    if value is None:
        return "—"
    return _("是") if value else _("否")


MONTHLY_HEADERS = (
    gettext_noop("编号"),
    gettext_noop("呼叫时间"),
    gettext_noop("所属区划"),
    gettext_noop("类别"),
    gettext_noop("事项"),
    gettext_noop("责任部门"),
    gettext_noop("呼叫人"),
    gettext_noop("状态"),
    gettext_noop("到场用时（分钟）"),
    gettext_noop("整改用时（小时）"),
    gettext_noop("按时到场"),
    gettext_noop("按时整改"),
    gettext_noop("按期办结"),
    gettext_noop("满意度评价"),
)


def monthly_xlsx(report: MonthlyReport) -> bytes:
    """The public list as a workbook: the calls, then the totals per category and per
    department."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    bold = Font(bold=True)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("呼叫清单")
    sheet.append([_(h) for h in MONTHLY_HEADERS])
    for cell in sheet[1]:
        cell.font = bold
    sheet.freeze_panes = "A2"
    for row in report.rows:
        call = row.call
        sheet.append(
            [
                call.number,
                timezone.localtime(call.raised_at).replace(tzinfo=None),
                call.region.name,
                call.get_category_display(),
                call.title,
                call.department.name,
                row.caller,
                call.get_state_display(),
                row.minutes_to_arrive,
                row.hours_to_fix,
                _yes_no(row.arrived_on_time),
                _yes_no(row.fixed_on_time),
                _yes_no(row.on_time),
                call.rating,
            ]
        )
        sheet.cell(row=sheet.max_row, column=2).number_format = "yyyy-mm-dd hh:mm"
    for letter, width in zip(
        "ABCDEFGHIJKLMN", (30, 17, 14, 12, 30, 18, 8, 8, 10, 10, 8, 8, 8, 8), strict=True
    ):
        sheet.column_dimensions[letter].width = width
    totals = workbook.create_sheet(_("汇总"))
    heads = [_("分组"), _("名称"), _("呼叫数"), _("已判定"), _("按期"), _("按期率（%）")]
    totals.append([*heads, _("平均评分")])
    for cell in totals[1]:
        cell.font = bold
    groups = [(_("合计"), report.total)]
    groups += [(_("类别"), g) for g in report.by_category]
    groups += [(_("责任部门"), g) for g in report.by_department]
    for kind, group in groups:
        totals.append(
            [
                kind,
                group.label,
                group.calls,
                group.decided,
                group.on_time,
                group.on_time_rate,
                group.average_rating,
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
