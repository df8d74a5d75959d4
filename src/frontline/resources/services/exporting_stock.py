"""The stock ledgers as XLSX, and the reads the ledger pages share with them.

- stock position (库存): one row per lot in stock, per depot and item;
- movements ledger (出入库明细): one row per movement line in the import's format
  (`importing_stock.STOCK_COLUMNS`), so an exported file imports again;
- stock card (物资台账卡): one item in one depot, by date, with the running balance.

Fixed Chinese headers whatever the page language, as every ledger of the platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, F, Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from frontline.hazards.services.importing import _labels, _workbook_bytes
from frontline.resources.models import (
    Depot,
    IssuePurpose,
    LedgerEntry,
    MovementKind,
    StockLot,
    StockMovement,
)
from frontline.resources.services.importing_stock import STOCK_COLUMNS

POSITION_COLUMNS = [
    "区划代码",
    "储备库",
    "物资编码",
    "物资名称",
    "规格型号",
    "单位",
    "批号",
    "生产日期",
    "有效期至",
    "库位",
    "结存数量",
    "状态",
]
CARD_COLUMNS = ["日期", "单据号", "业务类型", "摘要", "批号", "有效期至", "入库", "出库", "结存"]


# --- scope -----------------------------------------------------------------------------------


def visible_movements(user):
    """Movements the user sees: those of a depot in scope, and transfers into one (the
    receiving station reads the document its stock came with)."""
    depots = Depot.objects.visible_to(user).values("pk")
    return StockMovement.objects.visible_to(user) | StockMovement.objects.filter(
        to_depot__in=depots
    )


def count_lines(movements) -> None:
    """`movement.lines` for a page of movements, in one grouped query on the page's ids (an
    annotation would count the lines of every movement the filters match before paging)."""
    movements = list(movements)
    counts = dict(
        LedgerEntry.objects.filter(movement_id__in=[m.pk for m in movements])
        .order_by()
        .values("movement_id")
        .annotate(n=Count("pk"))
        .values_list("movement_id", "n")
    )
    for movement in movements:
        movement.lines = counts.get(movement.pk, 0)


# --- lot status ------------------------------------------------------------------------------


def lot_state(lot_expiry: date | None, warning_days: int, today: date) -> str:
    """ "expired", "near" (inside the item's warning period) or ""."""
    if lot_expiry is None:
        return ""
    if lot_expiry < today:
        return "expired"
    if lot_expiry <= today + timedelta(days=warning_days):
        return "near"
    return ""


_STATE_LABEL = {"expired": "已过期", "near": "临期", "": "正常"}


# --- stock position --------------------------------------------------------------------------


def export_positions(*, actor, lots=None) -> bytes:
    """Every lot in stock the actor sees (or `lots`, narrowed to them)."""
    visible = StockLot.objects.visible_to(actor) if actor is not None else StockLot.objects
    if lots is not None:
        visible = lots & visible.all()
    today = timezone.localdate()
    rows = (
        [
            lot.depot.region.code,
            lot.depot.name,
            lot.item.code,
            lot.item.name,
            lot.item.spec,
            lot.item.unit,
            lot.lot_no,
            lot.production_date,
            lot.expiry_date,
            lot.location.code if lot.location else "",
            lot.quantity,
            _STATE_LABEL[lot_state(lot.expiry_date, lot.item.expiry_warning_days, today)],
        ]
        for lot in visible.filter(quantity__gt=0)
        .select_related("depot__region", "item", "location")
        .order_by("depot__region__code", "depot__name", "item__code", "expiry_date", "pk")
        .iterator(chunk_size=2000)
    )
    return _workbook_bytes("库存", POSITION_COLUMNS, rows)


# --- movements ledger ------------------------------------------------------------------------


def _clock(moment: datetime) -> datetime:
    """Local time to the second, without zone: what a spreadsheet cell holds."""
    return timezone.localtime(moment).replace(microsecond=0, tzinfo=None)


_LEDGER_FIELDS = (
    "movement__at",
    "movement__kind",
    "movement__depot__region__code",
    "movement__depot__name",
    "item__code",
    "item__name",
    "item__unit",
    "delta",
    "balance",
    "counted",
    "lot__lot_no",
    "lot__production_date",
    "lot__expiry_date",
    "lot__location__code",
    "movement__to_depot__region__code",
    "movement__to_depot__name",
    "movement__purpose",
    "movement__incident_ref",
    "movement__recipient__name",
    "movement__shelter__name",
    "movement__supplier",
    "movement__reason",
    "movement__expired_override",
    "movement__number",
)


def ledger_entries(movements):
    """The lines of `movements` as the import reads them: a transfer's arriving half is
    implied by its leaving half and left out."""
    return (
        LedgerEntry.objects.filter(movement__in=movements.values("pk"))
        .exclude(movement__kind=MovementKind.TRANSFER, depot_id=F("movement__to_depot_id"))
        .order_by("movement__at", "movement_id", "pk")
    )


def export_movements(*, actor, movements=None) -> bytes:
    """The movements ledger: visible movements (or `movements`, narrowed to them). Read as
    plain tuples: at 30,000 lines, model instances would cost more than the workbook."""
    visible = visible_movements(actor) if actor is not None else StockMovement.objects.all()
    if movements is not None:
        visible = movements.filter(pk__in=visible.values("pk"))
    kinds = _labels(MovementKind)
    purposes = _labels(IssuePurpose)
    zone = timezone.get_current_timezone()
    order = {name: index for index, name in enumerate(STOCK_COLUMNS)}

    def cells(values: tuple) -> list:
        (at, kind, region, depot, code, name, unit, delta, balance, counted, lot_no,
         produced, expiry, location, to_region, to_depot, purpose, incident, recipient,
         shelter, supplier, reason, override, number) = values  # fmt: skip
        quantity, book, difference = delta, None, None
        if kind in (MovementKind.ISSUE, MovementKind.TRANSFER):
            quantity = -delta
        elif kind == MovementKind.STOCKTAKE:
            quantity, book, difference = counted, balance - delta, delta
        row = [None] * len(order)
        row[order["at"]] = at.astimezone(zone).replace(microsecond=0, tzinfo=None)
        row[order["kind"]] = kinds[kind]
        row[order["region"]], row[order["depot"]] = region, depot
        row[order["item"]], row[order["item_name"]], row[order["unit"]] = code, name, unit
        row[order["quantity"]] = quantity
        row[order["lot_no"]] = lot_no
        row[order["production_date"]], row[order["expiry_date"]] = produced, expiry
        row[order["location"]] = location or ""
        row[order["to_region"]], row[order["to_depot"]] = to_region or "", to_depot or ""
        row[order["purpose"]] = purposes.get(purpose, "")
        row[order["incident_ref"]] = incident
        row[order["recipient"]], row[order["shelter"]] = recipient or "", shelter or ""
        row[order["supplier"]], row[order["reason"]] = supplier, reason
        row[order["expired_override"]] = "是" if override else ""
        row[order["document"]] = number
        row[order["book"]], row[order["difference"]] = book, difference
        return row

    entries = ledger_entries(visible).values_list(*_LEDGER_FIELDS)
    rows = (cells(values) for values in entries.iterator(chunk_size=5000))
    return _workbook_bytes("出入库明细", STOCK_COLUMNS.values(), rows)


# --- stock card ------------------------------------------------------------------------------


@dataclass
class CardLine:
    entry: LedgerEntry
    incoming: int
    outgoing: int
    balance: int
    summary: str


def card_entries(depot: Depot, item, since: date | None = None, until: date | None = None):
    """The entries of one item in one depot, in the order they happened."""
    entries = LedgerEntry.objects.filter(depot=depot, item=item)
    if since is not None:
        entries = entries.filter(at__date__gte=since)
    if until is not None:
        entries = entries.filter(at__date__lte=until)
    return entries.select_related(
        "movement__to_depot", "movement__depot", "movement__recipient", "movement__shelter", "lot"
    ).order_by("at", "pk")


def opening_balance(depot: Depot, item, first: LedgerEntry | None) -> int:
    """What the depot held of the item before `first` (one aggregate, however long the
    card): the card's first balance on a later page or from a start date."""
    if first is None:
        return 0
    before = LedgerEntry.objects.filter(depot=depot, item=item).filter(
        Q(at__lt=first.at) | Q(at=first.at, pk__lt=first.pk)
    )
    return before.aggregate(total=Sum("delta"))["total"] or 0


def summary(entry: LedgerEntry) -> str:
    """The card's 摘要 column, in the ledger's own words."""
    movement = entry.movement
    if movement.kind == MovementKind.TRANSFER:
        if entry.depot_id == movement.to_depot_id:
            return _("调入自 %(depot)s") % {"depot": movement.depot.name}
        return _("调往 %(depot)s") % {"depot": movement.to_depot.name}
    if movement.kind == MovementKind.ISSUE:
        parts = [movement.get_purpose_display()]
        if movement.incident_ref:
            parts.append(movement.incident_ref)
        if movement.recipient_id:
            parts.append(movement.recipient.name)
        if movement.shelter_id:
            parts.append(movement.shelter.name)
        return " ".join(part for part in parts if part)
    if movement.kind == MovementKind.RECEIVE:
        return movement.supplier or movement.reason
    if movement.kind == MovementKind.STOCKTAKE:
        return _("实盘 %(counted)s，账面 %(book)s") % {
            "counted": entry.counted,
            "book": entry.balance - entry.delta,
        }
    return movement.reason


def card_lines(entries, opening: int) -> list[CardLine]:
    lines, balance = [], opening
    for entry in entries:
        balance += entry.delta
        lines.append(
            CardLine(
                entry=entry,
                incoming=entry.delta if entry.delta > 0 else 0,
                outgoing=-entry.delta if entry.delta < 0 else 0,
                balance=balance,
                summary=summary(entry),
            )
        )
    return lines


def export_stock_card(*, depot: Depot, item, since=None, until=None) -> bytes:
    """The card of one item in one depot (the caller found the depot through the scope)."""
    entries = list(card_entries(depot, item, since, until))
    kinds = _labels(MovementKind)
    opening = opening_balance(depot, item, entries[0] if entries else None)
    rows = [["", "", "", "期初结存", "", "", "", "", opening]]
    with translation.override("zh-hans"):
        lines = card_lines(entries, opening)
    rows += [
        [
            _clock(line.entry.at),
            line.entry.movement.number,
            kinds[line.entry.movement.kind],
            line.summary,
            line.entry.lot.lot_no,
            line.entry.lot.expiry_date,
            line.incoming or None,
            line.outgoing or None,
            line.balance,
        ]
        for line in lines
    ]
    return _workbook_bytes(f"{item.code}", CARD_COLUMNS, rows)
