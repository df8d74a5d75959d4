"""The stock ledger (物资台账) from a spreadsheet: each row one movement line, imported as
movements, lots and ledger entries with a row-by-row report.

The file is all or nothing. A ledger is a chain of balances: a receipt left out makes every
later issue of that item wrong, and a file re-imported after a partial import would book its
good rows twice. So any wrong row and nothing is written; the report lists every row that
is wrong with its number and a Chinese message, and the user fixes the file and uploads it
again. (The depot register, which is upserted by name, offers "import the valid rows"
instead: see `importing_stock_depots`.)

Every rule of `services/stock.py` holds for every row (whole positive quantities, never
below zero, expired lots only with the override and a reason, the receiving depot of a
transfer in the importer's scope and in use, a reason for every adjustment), plus one of the
ledger's order: a row may not be dated before the last entry already booked for its depot
and item, so a stock card read by date shows the balances in the order they happened.

It cannot call the per-movement services row by row (20,000 rows must import in under 10 s):
this module reads and checks every row on its own (`_parse`); `importing_stock_apply`
then locks the lots the file touches, replays every line in file order in memory, and
writes lots, movements and entries in bulk. See docs/resources-ledger.md for the format.
"""

from __future__ import annotations

import gc
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from frontline.core.models import Organization
from frontline.core.roles import Capability, can
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.services.importing import (
    ImportReport,
    RowError,
    _chunks,
    _columns,
    _labels,
    _text,
    read_rows,
)
from frontline.hazards.services.objects import clean_bool
from frontline.resources.models import (
    Depot,
    DepotStatus,
    IssuePurpose,
    MovementKind,
    Shelter,
    StockMovement,
    StorageLocation,
    SupplyItem,
)
from frontline.resources.services.stock import MAX_LINES, MAX_QUANTITY, expiry_for

# field → header. The order is the order of the exported columns; the export of the
# movements ledger writes exactly these, so an exported file imports again.
STOCK_COLUMNS: dict[str, str] = {
    "at": "日期",
    "kind": "业务类型",
    "region": "区划代码",
    "depot": "储备库",
    "item": "物资编码",
    "item_name": "物资名称",
    "unit": "单位",
    "quantity": "数量",
    "lot_no": "批号",
    "production_date": "生产日期",
    "expiry_date": "有效期至",
    "location": "库位",
    "to_region": "调入库区划代码",
    "to_depot": "调入库",
    "purpose": "出库用途",
    "incident_ref": "事件编号/名称",
    "recipient": "领用单位",
    "shelter": "避难场所",
    "supplier": "来源/供应单位",
    "reason": "事由/说明",
    "expired_override": "允许发出过期物资",
    "document": "单据号",
    "book": "账面数量",
    "difference": "盘点差异",
}
REQUIRED_COLUMNS = ("at", "kind", "depot", "item", "quantity")
# Written by the export for people to read (name, unit, a stocktake's book and difference);
# the import takes them from the catalogue and the ledger instead.
IGNORED_ON_IMPORT = {"item_name", "unit", "book", "difference"}

_KINDS = {
    "入库": MovementKind.RECEIVE,
    "出库": MovementKind.ISSUE,
    "调拨": MovementKind.TRANSFER,
    "调整": MovementKind.ADJUST,
    "盘点": MovementKind.STOCKTAKE,
    **{kind.value: kind for kind in MovementKind},
}
_DATE_TEXT = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
_TIME_TEXT = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


@dataclass
class StockImportReport(ImportReport):
    movements: int = 0
    entries: int = 0
    lots_created: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return super().as_dict() | {
            "movements": self.movements,
            "entries": self.entries,
            "lots_created": self.lots_created,
        }


@dataclass
class Line:
    """One checked row: what `importing_stock_apply` replays."""

    row: int
    kind: str
    at: datetime
    depot: Depot
    item: SupplyItem
    quantity: int  # counted for a stocktake, signed for an adjustment, else positive
    lot_no: str = ""
    production_date: date | None = None
    expiry_date: date | None = None  # a receipt's (derived from the shelf life if empty)
    location: StorageLocation | None = None
    to_depot: Depot | None = None
    purpose: str = ""
    incident_ref: str = ""
    recipient: Organization | None = None
    shelter: Shelter | None = None
    supplier: str = ""
    reason: str = ""
    expired_override: bool = False

    @property
    def names_lot(self) -> bool:
        """Whether the row says which lot (else an issue takes earliest expiry first)."""
        return bool(self.lot_no or self.expiry_date or self.location)


@dataclass
class Draft:
    """One movement to be: its lines, in file order."""

    lines: list[Line] = field(default_factory=list)
    document: str = ""
    bad: bool = False

    @property
    def head(self) -> Line:
        return self.lines[0]


# --- cells -----------------------------------------------------------------------------------


def parse_date(value) -> date | None:
    """A date cell or text (2026-03-01, 2026/3/1, 2026年3月1日); None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _DATE_TEXT.fullmatch(_text(value).split(" ")[0].split("T")[0])
    if not match:
        raise ValueError(value)
    return date(*(int(part) for part in match.groups()))


def parse_moment(value, zone=None) -> datetime | None:
    """A business time: a date and time cell, a date (the start of that day in Beijing time)
    or text with an optional time; aware (in `zone`, the current time zone by default).
    None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        # A spreadsheet keeps times as fractions of a day: 09:30 may come back as
        # 09:29:59.999998. Times are booked to the second.
        moment = (value + timedelta(microseconds=500_000)).replace(microsecond=0)
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        text = _text(value).replace("T", " ")
        day = parse_date(text)
        clock = _TIME_TEXT.search(text.split(" ", 1)[1]) if " " in text else None
        moment = datetime.combine(
            day,
            time(*(int(part or 0) for part in clock.groups())) if clock else time(),
        )
    if moment.tzinfo is None:
        # zoneinfo resolves the offset from the wall time itself (what make_aware does).
        moment = moment.replace(tzinfo=zone or timezone.get_current_timezone())
    return moment


def parse_int(value) -> int:
    """A whole number from a cell: 12, 12.0 or "12"; ValueError otherwise."""
    if isinstance(value, bool) or value is None:
        raise ValueError(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(value)
        return int(value)
    if isinstance(value, int):
        return value
    text = _text(value).replace(",", "")
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ValueError(value)
    return int(text)


# --- lookups -----------------------------------------------------------------------------------


class _Lookups:
    """Everything the rows name, read once per file: depots (visible to the importer),
    items, storage places, units and shelters."""

    def __init__(self, actor, records: list[tuple[int, dict]]) -> None:
        self.actor = actor
        visible = Depot.objects.visible_to(actor) if actor is not None else Depot.objects
        self.depots = list(visible.select_related("region"))
        self.by_name: dict[str, list[Depot]] = {}
        for depot in self.depots:
            self.by_name.setdefault(depot.name, []).append(depot)
        self.may: dict[int, bool] = {}
        texts = {name: set() for name in ("item", "recipient", "shelter")}
        for _number, values in records:
            for name, found in texts.items():
                found.add(_text(values.get(name)))
        codes = sorted(text for text in texts["item"] if text.isdigit())
        self.items: dict[str, SupplyItem] = {}
        for chunk in _chunks(codes):
            self.items.update({i.code: i for i in SupplyItem.objects.filter(code__in=chunk)})
        names = sorted(texts["item"] - set(self.items) - {""})
        self.items_by_name: dict[str, list[SupplyItem]] = {}
        for chunk in _chunks(names):
            for item in SupplyItem.objects.filter(name__in=chunk):
                self.items_by_name.setdefault(item.name, []).append(item)
        self.locations: dict[tuple[int, str], StorageLocation] = {}
        for chunk in _chunks([d.pk for d in self.depots]):
            for location in StorageLocation.objects.filter(depot_id__in=chunk):
                self.locations[(location.depot_id, location.code)] = location
        self.recipients = self._named(Organization, texts["recipient"])
        self.shelters = self._named(Shelter, texts["shelter"])
        self.zone = timezone.get_current_timezone()
        # Read once: a label lookup per row would switch the language per row.
        self.purposes = {label: value for value, label in _labels(IssuePurpose).items()}
        self.purposes |= {value: value for value in IssuePurpose.values}

    def _named(self, model, names: set[str]) -> dict[str, list]:
        found: dict[str, list] = {}
        manager = model.objects.visible_to(self.actor) if self.actor else model.objects
        for chunk in _chunks(sorted(names - {""})):
            for obj in manager.filter(name__in=chunk).select_related("region"):
                found.setdefault(obj.name, []).append(obj)
        return found

    def depot(self, cleaner: Cleaner, name: str, region_code: str, column: str):
        candidates = self.by_name.get(name, [])
        if region_code:
            candidates = [d for d in candidates if d.region.code == region_code]
        if not name:
            cleaner.fail(column, _("此字段为必填项"))
            return None
        if not candidates:
            cleaner.fail(column, _("储备库不存在或不在您的管辖范围内"))
            return None
        if len(candidates) > 1:
            cleaner.fail(column, _("有多个同名储备库，请填写区划代码"))
            return None
        depot = candidates[0]
        if depot.pk not in self.may:
            self.may[depot.pk] = self.actor is None or can(
                self.actor, Capability.MANAGE_RESOURCES, depot.region
            )
        if not self.may[depot.pk]:
            cleaner.fail(column, _("您没有管理该储备库的权限"))
            return None
        return depot

    def item(self, cleaner: Cleaner, text: str):
        if not text:
            cleaner.fail("item", _("此字段为必填项"))
            return None
        item = self.items.get(text)
        if item is None:
            named = self.items_by_name.get(text, [])
            if len(named) > 1:
                cleaner.fail("item", _("有多个同名物资，请填写物资编码"))
                return None
            item = named[0] if named else None
        if item is None:
            cleaner.fail("item", _("物资编码不存在"))
        return item

    def one(self, cleaner: Cleaner, found: dict[str, list], text: str, column: str, missing, near):
        """The unit or shelter of that name; of several, the one in the depot's subtree."""
        if not text:
            return None
        matches = found.get(text, [])
        if len(matches) > 1 and near is not None:
            path = near.region.path
            matches = [
                m
                for m in matches
                if m.region.path.startswith(path) or path.startswith(m.region.path)
            ] or matches
        if len(matches) != 1:
            cleaner.fail(column, _(missing) if not matches else _("有多个同名的，无法确定是哪一个"))
            return None
        return matches[0]


def _cell(value) -> str:
    """A text cell, stripped ("" when empty); numbers as `_text` writes them."""
    if value is None:
        return ""
    if type(value) is str:
        return value.strip()
    return _text(value)


def _limit(cleaner: Cleaner, text: str, field: str, max_length: int) -> str:
    if len(text) > max_length:
        cleaner.fail(field, _("最多 %(n)d 个字符") % {"n": max_length})
    return text


# Columns read as text; the others (dates, quantities, yes/no) keep the cell's own type.
TEXT_FIELDS = frozenset(
    {
        "kind", "region", "depot", "item", "lot_no", "location", "to_region", "to_depot",
        "purpose", "incident_ref", "recipient", "shelter", "supplier", "reason", "document",
    }
)  # fmt: skip


# --- rows ------------------------------------------------------------------------------------


def _quantity(cleaner: Cleaner, value, kind: str) -> int:
    try:
        number = parse_int(value)
    except ValueError:
        cleaner.fail("quantity", _("数量应为整数"))
        return 0
    if kind == MovementKind.ADJUST:
        if number == 0:
            cleaner.fail("quantity", _("调整数量应为非零整数（减少填负数）"))
        elif abs(number) > MAX_QUANTITY:
            cleaner.fail("quantity", _("数量应在 1 至 %(n)d 之间") % {"n": MAX_QUANTITY})
        return number
    low = 0 if kind == MovementKind.STOCKTAKE else 1
    if not low <= number <= MAX_QUANTITY:
        cleaner.fail(
            "quantity",
            _("数量应在 %(low)d 至 %(high)d 之间") % {"low": low, "high": MAX_QUANTITY},
        )
    return number


def _line(values: dict, number: int, lookups: _Lookups, now: datetime, cleaner: Cleaner):
    """One row checked on its own (the stock it needs is checked by the replay)."""
    kind = _KINDS.get(values.get("kind", ""))
    if kind is None:
        cleaner.fail("kind", _("业务类型应为 入库、出库、调拨、调整 或 盘点"))
    try:
        at = parse_moment(values.get("at"), lookups.zone)
    except (ValueError, TypeError):
        at = None
        cleaner.fail("at", _("日期格式不正确，如 2026-03-01 或 2026-03-01 09:30"))
    else:
        if at is None:
            cleaner.fail("at", _("此字段为必填项"))
        elif at > now + timedelta(minutes=5):
            cleaner.fail("at", _("业务时间不能晚于现在"))
    depot = lookups.depot(cleaner, values.get("depot", ""), values.get("region", ""), "depot")
    item = lookups.item(cleaner, values.get("item", ""))
    quantity = _quantity(cleaner, values.get("quantity"), kind) if kind else 0
    dates = {}
    for name in ("production_date", "expiry_date"):
        try:
            dates[name] = parse_date(values.get(name))
        except (ValueError, TypeError):
            cleaner.fail(name, _("日期格式不正确，如 2026-03-01"))
            dates[name] = None
    lot_no = _limit(cleaner, values.get("lot_no", ""), "lot_no", 40)
    location = None
    location_code = values.get("location", "")
    if location_code and depot is not None:
        location = lookups.locations.get((depot.pk, location_code))
        if location is None:
            cleaner.fail("location", _("该储备库没有此库位"))
    line = Line(
        row=number,
        kind=kind or "",
        at=at,
        depot=depot,
        item=item,
        quantity=quantity,
        lot_no=lot_no,
        production_date=dates["production_date"],
        expiry_date=dates["expiry_date"],
        location=location,
        supplier=_limit(cleaner, values.get("supplier", ""), "supplier", 120),
        reason=_limit(cleaner, values.get("reason", ""), "reason", 200),
        incident_ref=_limit(cleaner, values.get("incident_ref", ""), "incident_ref", 120),
        expired_override=clean_bool(cleaner, values.get("expired_override"), "expired_override"),
    )
    if kind is not None:
        _check_kind(line, values, lookups, cleaner)
    return line


def _check_kind(line: Line, values: dict, lookups: _Lookups, cleaner: Cleaner) -> None:
    """The rules of one kind of movement, as `services/stock.py` states them."""
    kind, depot = line.kind, line.depot
    if kind == MovementKind.RECEIVE:
        if depot is not None and depot.status != DepotStatus.IN_USE:
            cleaner.fail("depot", _("储备库已停用，不能入库"))
        if line.item is not None:
            line.expiry_date = expiry_for(line.item, line.production_date, line.expiry_date)
        if line.production_date and line.expiry_date and line.expiry_date < line.production_date:
            cleaner.fail("expiry_date", _("有效期不能早于生产日期"))
    if kind == MovementKind.TRANSFER:
        line.to_depot = lookups.depot(
            cleaner, values.get("to_depot", ""), values.get("to_region", ""), "to_depot"
        )
        if line.to_depot is not None:
            if depot is not None and line.to_depot.pk == depot.pk:
                cleaner.fail("to_depot", _("调入库不能与调出库相同"))
            elif line.to_depot.status != DepotStatus.IN_USE:
                cleaner.fail("to_depot", _("调入库已停用，不能入库"))
    if kind == MovementKind.ISSUE:
        text = values.get("purpose", "")
        purpose = lookups.purposes.get(text, text)
        line.purpose = purpose
        if purpose not in IssuePurpose.values:
            cleaner.fail("purpose", _("请填写出库用途：%(choices)s") % {"choices": _purposes()})
        elif purpose == IssuePurpose.INCIDENT and not line.incident_ref:
            cleaner.fail("incident_ref", _("发往突发事件的物资须注明事件编号或名称"))
        line.recipient = lookups.one(
            cleaner,
            lookups.recipients,
            values.get("recipient", ""),
            "recipient",
            gettext_noop("领用单位不存在或不在您的管辖范围内"),
            depot,
        )
        line.shelter = lookups.one(
            cleaner,
            lookups.shelters,
            values.get("shelter", ""),
            "shelter",
            gettext_noop("避难场所不存在或不在您的管辖范围内"),
            depot,
        )
        if (
            purpose == IssuePurpose.UNIT
            and line.recipient is None
            and "recipient" not in (cleaner.details)
        ):
            cleaner.fail("recipient", _("请填写领用单位"))
        if (
            purpose == IssuePurpose.SHELTER
            and line.shelter is None
            and "shelter" not in (cleaner.details)
        ):
            cleaner.fail("shelter", _("请填写避难场所"))
    if line.expired_override and not line.reason:
        cleaner.fail("reason", _("发出过期物资须说明事由"))
    if kind == MovementKind.ADJUST and not line.reason:
        cleaner.fail("reason", _("调整须说明事由"))
    if kind in (MovementKind.ADJUST, MovementKind.STOCKTAKE) and not line.names_lot:
        cleaner.fail("lot_no", _("调整和盘点须写明批号（无批号的批次写明有效期或库位）"))


def _purposes() -> str:
    return "、".join(str(label) for _value, label in IssuePurpose.choices)


def _head(line: Line) -> tuple:
    """What every line of one document shares."""
    return (
        line.kind,
        line.at,
        line.depot.id,
        line.to_depot.id if line.to_depot else None,
        line.purpose,
        line.incident_ref,
        line.recipient.id if line.recipient else None,
        line.shelter.id if line.shelter else None,
        line.supplier,
        line.reason,
        line.expired_override,
    )


def _group(parsed: list[tuple[int, Line | None, str]], report: StockImportReport) -> list[Draft]:
    """Rows with the same document number (单据号) become one movement; a row without one is
    a movement of its own. The rows of one document are adjacent and agree on its head. A
    document with any wrong row is left out of the replay whole."""
    drafts: list[Draft] = []
    seen: dict[str, Draft] = {}
    current: Draft | None = None
    column = STOCK_COLUMNS["document"]

    def refuse(draft: Draft, number: int, message) -> None:
        report.errors.append(RowError(number, column, message))
        draft.bad = True

    for number, line, document in parsed:
        if not document:
            current = None
            drafts.append(Draft(lines=[line] if line else [], bad=line is None))
            continue
        if current is None or current.document != document:
            if document in seen:
                refuse(
                    seen[document],
                    number,
                    _("同一单据号的行应连续排列（%(doc)s 已在前面出现）") % {"doc": document},
                )
                continue
            current = seen[document] = Draft(document=document)
            drafts.append(current)
        draft = current
        if line is None:
            draft.bad = True
            continue
        if draft.lines:
            first = draft.head
            if _head(first) != _head(line):
                refuse(
                    draft,
                    number,
                    _("与同一单据第 %(n)d 行的日期、业务类型、储备库、用途或事由不一致")
                    % {"n": first.row},
                )
                continue
            if line.kind == MovementKind.ADJUST:
                refuse(draft, number, _("调整单每张只有一行，请去掉单据号或分开编号"))
                continue
            if len(draft.lines) >= MAX_LINES:
                refuse(draft, number, _("一张单据最多 %(n)d 行") % {"n": MAX_LINES})
                continue
        draft.lines.append(line)
    kept = [draft for draft in drafts if draft.lines and not draft.bad]
    _refuse_booked(kept, report)
    return [draft for draft in kept if not draft.bad]


def _refuse_booked(drafts: list[Draft], report: StockImportReport) -> None:
    """A document number the depot has already booked is refused, with the movement that
    booked it: the same file imported twice, or the depot's own export imported back (its
    document numbers are the depot's movement numbers)."""
    numbered = [draft for draft in drafts if draft.document]
    if not numbered:
        return
    documents = {draft.document for draft in numbered}
    booked = {}
    for depot_id, source, number in StockMovement.objects.filter(
        Q(source_number__in=documents) | Q(number__in=documents)
    ).values_list("depot_id", "source_number", "number"):
        booked[(depot_id, source or number)] = number
        booked[(depot_id, number)] = number
    for draft in numbered:
        number = booked.get((draft.head.depot.pk, draft.document))
        if number is not None:
            report.errors.append(
                RowError(
                    draft.head.row,
                    STOCK_COLUMNS["document"],
                    _("单据号 %(doc)s 已在本库登记过（%(number)s），请勿重复导入")
                    % {"doc": draft.document, "number": number},
                )
            )
            draft.bad = True


def _parse(actor, rows: list[list], report: StockImportReport) -> list[Draft]:
    positions = _columns(rows[0], STOCK_COLUMNS, REQUIRED_COLUMNS)
    positions = {k: v for k, v in positions.items() if k not in IGNORED_ON_IMPORT}
    records: list[tuple[int, dict]] = []
    for number, row in enumerate(rows[1:], start=2):
        width = len(row)
        values = {name: (row[pos] if pos < width else None) for name, pos in positions.items()}
        if all(v is None or v == "" or _text(v) == "" for v in values.values()):
            continue
        for name in TEXT_FIELDS & values.keys():
            values[name] = _cell(values[name])
        records.append((number, values))
    report.total = len(records)
    lookups = _Lookups(actor, records)
    now = timezone.now()
    parsed: list[tuple[int, Line | None, str]] = []
    for number, values in records:
        cleaner = Cleaner()
        line = _line(values, number, lookups, now, cleaner)
        document = _limit(cleaner, values.get("document", ""), "document", 60)
        if cleaner.details:
            for name, message in cleaner.details.items():
                report.errors.append(RowError(number, STOCK_COLUMNS.get(name, ""), message))
            line = None
        parsed.append((number, line, document))
    return _group(parsed, report)


def import_stock_ledger(*, actor, file) -> StockImportReport:
    """Check every row of the file and, when every row is right, book them all in one
    transaction; otherwise book nothing and report every wrong row."""
    # Imported here: the replay module imports this one's Line and Draft.
    from frontline.resources.services.importing_stock_apply import apply_drafts

    started = timezone.now()
    if actor is not None:
        require(actor, Capability.MANAGE_RESOURCES, None)
    rows = read_rows(file)
    report = StockImportReport()
    # 20,000 rows make a few hundred thousand small objects that all live until the end;
    # the cyclic collector would walk them again and again (a quarter of the import's CPU
    # in benchmarks/stock_import.py). They hold no cycles that outlive the call, so the
    # collector waits until the import is done.
    collecting = gc.isenabled()
    gc.disable()
    try:
        drafts = _parse(actor, rows, report)
        apply_drafts(actor, drafts, report)
    finally:
        if collecting:
            gc.enable()
    report.errors.sort(key=lambda error: error.row)
    report.seconds = (timezone.now() - started).total_seconds()
    return report
