"""The three ledgers (隐患清单, 整改清单, 责任清单) and their XLSX export. Everything is read
through `visible_to(user)`; the quarterly statistics and the dashboard are in `statistics`.

The ledgers are built from `values_list` rows, so 100,000 hazards export without building
100,000 model instances; XLSX files are written with openpyxl's write-only mode.
"""

from __future__ import annotations

import io
import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from frontline.core.errors import InvalidInput
from frontline.core.models import Region
from frontline.hazards.models import (
    Enterprise,
    Hazard,
    HazardLevel,
    HazardSource,
    HazardState,
    Place,
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


def labels_of(choices) -> dict[str, str]:
    return {value: str(label) for value, label in choices.choices}


def _hazard_rows(hazards, now: datetime, window: slice) -> Iterator[tuple]:
    levels, sources, states = (
        labels_of(HazardLevel),
        labels_of(HazardSource),
        labels_of(HazardState),
    )
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
    levels, states = labels_of(HazardLevel), labels_of(HazardState)
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
    colours = labels_of(RiskColour)
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
