"""The second half of the ledger import: replay the checked rows in memory, then write.

Under one transaction: lock every lot of every (depot, item) the file touches, read the last
booked time of each, replay the movements in file order against those numbers exactly as
`services/stock.py` would book them one by one (FEFO, the expired rule, never below zero,
the receiving lot of a transfer), and, when no row failed, write everything in bulk:

- new lots and movements get their ids reserved up front (a sequence on PostgreSQL, the
  table's next rowid under SQLite's write lock), so entries can point at them without
  reading anything back;
- movement numbers are allocated per prefix / region / year from the last one in use;
- lots, movements and entries go in with `core.bulk.insert_rows` (COPY on PostgreSQL),
  existing lots get their new running totals in one statement;
- the low-stock check runs once per depot for the items it touched.

A concurrent service call can take a movement number between the read and the insert on
PostgreSQL; the unique index refuses the insert and the whole replay runs again.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.core.bulk import insert_rows
from frontline.hazards.services.importing import RowError, _chunks
from frontline.resources.models import (
    MOVEMENT_PREFIX,
    Depot,
    LedgerEntry,
    MovementKind,
    StockLot,
    StockMovement,
)
from frontline.resources.services import stock
from frontline.resources.services.events import record_event
from frontline.resources.services.importing_stock import (
    STOCK_COLUMNS,
    Draft,
    Line,
    StockImportReport,
)

ATTEMPTS = 3
_NEW = 10**15  # new lots sort after every stored one, as their ids will


@dataclass(eq=False)
class _Lot:
    id: int | None
    depot_id: int
    item_id: int
    location_id: int | None
    lot_no: str
    production_date: date | None
    expiry_date: date | None
    quantity: int
    received_at: datetime
    order: int  # the id, or _NEW + creation order: the last key of FEFO

    @property
    def fefo(self) -> tuple:
        return (self.expiry_date or date.max, self.received_at, self.order)


@dataclass
class _Movement:
    line: Line  # its head
    document: str = ""  # the source document number (单据号), when the file gives one
    entries: list[tuple[_Lot, int, int, int | None]] = field(default_factory=list)


class _Refused(Exception):
    def __init__(self, line: Line, column: str, message) -> None:
        self.error = RowError(line.row, STOCK_COLUMNS.get(column, ""), str(message))


class _Book:
    """The lots of the file's (depot, item) pairs with their running totals, and an undo
    log so a movement with one failing line leaves no trace (all lines or none)."""

    def __init__(self, pairs: set[tuple[int, int]]) -> None:
        self.lots: dict[tuple[int, int], list[_Lot]] = {pair: [] for pair in pairs}
        self.live: dict[tuple[int, int], list[tuple[tuple, int, _Lot]]] = {
            pair: [] for pair in pairs
        }
        self.receipt: dict[tuple, _Lot] = {}
        self.by_lot_no: dict[tuple, list[_Lot]] = {}
        self.last_at: dict[tuple[int, int], datetime] = {}
        self.new: list[_Lot] = []
        self.changed: set[_Lot] = set()
        self.undo: list[tuple] = []
        self.zone = timezone.get_current_timezone()
        self._load(pairs)

    def _load(self, pairs) -> None:
        depots = sorted({d for d, _i in pairs})
        items = sorted({i for _d, i in pairs})
        fields = (
            "pk",
            "depot_id",
            "item_id",
            "location_id",
            "lot_no",
            "production_date",
            "expiry_date",
            "quantity",
            "received_at",
        )
        for depot_chunk in _chunks(depots, 400):
            # Locked until the import commits: nobody issues from these lots meanwhile.
            rows = (
                StockLot.objects.select_for_update()
                .filter(depot_id__in=depot_chunk, item_id__in=items)
                .order_by("pk")
                .values_list(*fields)
            )
            for pk, depot_id, item_id, *rest in rows:
                if (depot_id, item_id) in self.lots:
                    self._add(_Lot(pk, depot_id, item_id, *rest, order=pk))
            stamps = (
                LedgerEntry.objects.filter(depot_id__in=depot_chunk, item_id__in=items)
                .order_by()
                .values("depot_id", "item_id")
                .annotate(last=Max("at"))
                .values_list("depot_id", "item_id", "last")
            )
            for depot_id, item_id, last in stamps:
                if (depot_id, item_id) in self.lots:
                    self.last_at[(depot_id, item_id)] = last

    def _add(self, lot: _Lot) -> None:
        pair = (lot.depot_id, lot.item_id)
        self.lots[pair].append(lot)
        self.receipt.setdefault((*pair, lot.lot_no, lot.expiry_date, lot.location_id), lot)
        self.by_lot_no.setdefault((*pair, lot.lot_no), []).append(lot)
        if lot.quantity > 0:
            bisect.insort(self.live[pair], (lot.fefo, lot.order, lot))

    # --- changes, each undoable ------------------------------------------------------------

    def change(self, lot: _Lot, delta: int) -> int:
        before = lot.quantity
        after = before + delta
        if after < 0:  # the replay checks first; this is the CHECK constraint's twin
            raise AssertionError("negative lot")
        self.undo.append(("quantity", lot, before))
        self._set(lot, after)
        return after

    def _set(self, lot: _Lot, after: int) -> None:
        pair, before = (lot.depot_id, lot.item_id), lot.quantity
        lot.quantity = after
        if before > 0 and after == 0:
            live = self.live[pair]
            del live[bisect.bisect_left(live, (lot.fefo, lot.order), key=lambda e: e[:2])]
        elif before == 0 and after > 0:
            bisect.insort(self.live[pair], (lot.fefo, lot.order, lot))
        if lot.id is not None:
            self.changed.add(lot)

    def receipt_lot(self, depot_id, item_id, lot_no, production, expiry, location_id, at):
        """The lot a receipt adds to (`stock._lot_for_receipt`): the same item, lot number,
        expiry and place in that depot, or a new one."""
        key = (depot_id, item_id, lot_no, expiry, location_id)
        if lot_no and key in self.receipt:
            return self.receipt[key]
        lot = _Lot(
            None,
            depot_id,
            item_id,
            location_id,
            lot_no,
            production,
            expiry,
            0,
            at,
            order=_NEW + len(self.new),
        )
        self.new.append(lot)
        self._add(lot)
        self.undo.append(("new", lot))
        return lot

    def stamp(self, pair, at: datetime) -> None:
        self.undo.append(("at", pair, self.last_at.get(pair)))
        self.last_at[pair] = at

    def commit(self) -> None:
        self.undo.clear()

    def rollback(self) -> None:
        for step in reversed(self.undo):
            if step[0] == "quantity":
                self._set(step[1], step[2])
            elif step[0] == "at":
                if step[2] is None:
                    self.last_at.pop(step[1], None)
                else:
                    self.last_at[step[1]] = step[2]
            else:
                self._forget(step[1])
        self.undo.clear()

    def _forget(self, lot: _Lot) -> None:
        pair = (lot.depot_id, lot.item_id)
        self.new.remove(lot)
        self.lots[pair].remove(lot)
        self.by_lot_no[(*pair, lot.lot_no)].remove(lot)
        key = (*pair, lot.lot_no, lot.expiry_date, lot.location_id)
        if self.receipt.get(key) is lot:
            del self.receipt[key]
            for other in self.lots[pair]:  # another lot of the same key, if any, takes over
                if (other.lot_no, other.expiry_date, other.location_id) == key[2:]:
                    self.receipt[key] = other
                    break


# --- the replay --------------------------------------------------------------------------------


def _lot_label(lot: _Lot) -> str:
    return lot.lot_no or (str(lot.expiry_date) if lot.expiry_date else _("无批号"))


def _matches(lot: _Lot, line: Line) -> bool:
    if line.lot_no and lot.lot_no != line.lot_no:
        return False
    if line.expiry_date and lot.expiry_date != line.expiry_date:
        return False
    return not (line.location and lot.location_id != line.location.pk)


def _named_lot(book: _Book, line: Line) -> _Lot:
    """The one lot an adjustment or a stocktake line names."""
    pair = (line.depot.pk, line.item.pk)
    by_number = book.by_lot_no.get((*pair, line.lot_no), [])
    pool = by_number if line.lot_no else book.lots.get(pair, [])
    found = [lot for lot in pool if _matches(lot, line)]
    if len(found) > 1:
        found = [lot for lot in found if lot.quantity > 0]
    if not found:
        raise _Refused(line, "lot_no", _("该储备库没有这个批次"))
    if len(found) > 1:
        raise _Refused(line, "lot_no", _("有多个批次与之相符，请同时填写有效期或库位"))
    return found[0]


def _takes(book: _Book, line: Line) -> list[tuple[_Lot, int]]:
    """[(lot, n)] filling an issue or transfer line: the lots it names, else every lot of
    the item, earliest expiry first; expired lots only with the override. Walks the lots in
    stock in FEFO order only as far as the line needs."""
    pair = (line.depot.id, line.item.id)
    if line.names_lot and not any(_matches(lot, line) for lot in book.lots.get(pair, [])):
        raise _Refused(line, "lot_no", _("该储备库没有这个批次"))
    today = line.at.astimezone(book.zone).date()
    picked, wanted, expired = [], line.quantity, []
    for _fefo, _order, lot in book.live[pair]:
        if line.names_lot and not _matches(lot, line):
            continue
        if not line.expired_override and lot.expiry_date and lot.expiry_date < today:
            expired.append(lot)
            continue
        n = min(wanted, lot.quantity)
        picked.append((lot, n))
        wanted -= n
        if not wanted:
            return picked
    if expired and sum(lot.quantity for lot in expired) >= wanted:
        first = expired[0]
        raise _Refused(
            line,
            "expired_override",
            _(
                "%(item)s 批次 %(lot)s 已过期（有效期至 %(day)s），发出过期物资须在"
                "“允许发出过期物资”填“是”并说明事由"
            )
            % {"item": line.item.name, "lot": _lot_label(first), "day": first.expiry_date},
        )
    raise _Refused(
        line,
        "quantity",
        _("%(item)s 库存不足：可发出 %(left)s %(unit)s，需要 %(n)s %(unit)s")
        % {
            "item": line.item.name,
            "left": line.quantity - wanted,
            "n": line.quantity,
            "unit": line.item.unit,
        },
    )


def _check_order(book: _Book, line: Line, pair) -> None:
    last = book.last_at.get(pair)
    if last is not None and line.at < last:
        raise _Refused(
            line,
            "at",
            _("早于该库该物资上一笔业务（%(at)s），请按时间先后排列或写明时间")
            % {"at": timezone.localtime(last).strftime("%Y-%m-%d %H:%M:%S")},
        )


def _replay_line(book: _Book, movement: _Movement, line: Line, counted: set) -> None:
    pair = (line.depot.id, line.item.id)
    _check_order(book, line, pair)
    book.stamp(pair, line.at)
    entries = movement.entries
    if line.kind == MovementKind.RECEIVE:
        lot = book.receipt_lot(
            line.depot.id,
            line.item.id,
            line.lot_no,
            line.production_date,
            line.expiry_date,
            line.location.id if line.location else None,
            line.at,
        )
        entries.append((lot, line.quantity, book.change(lot, line.quantity), None))
    elif line.kind in (MovementKind.ISSUE, MovementKind.TRANSFER):
        if line.kind == MovementKind.TRANSFER:
            target = (line.to_depot.id, line.item.id)
            _check_order(book, line, target)
            book.stamp(target, line.at)
        for lot, n in _takes(book, line):
            entries.append((lot, -n, book.change(lot, -n), None))
            if line.kind == MovementKind.TRANSFER:
                arrived = book.receipt_lot(
                    line.to_depot.id,
                    line.item.id,
                    lot.lot_no,
                    lot.production_date,
                    lot.expiry_date,
                    None,
                    line.at,
                )
                entries.append((arrived, n, book.change(arrived, n), None))
    elif line.kind == MovementKind.ADJUST:
        lot = _named_lot(book, line)
        if lot.quantity + line.quantity < 0:
            raise _Refused(
                line,
                "quantity",
                _("批次 %(lot)s 现有 %(left)s，不能减少 %(n)s")
                % {"lot": _lot_label(lot), "left": lot.quantity, "n": -line.quantity},
            )
        entries.append((lot, line.quantity, book.change(lot, line.quantity), None))
    else:
        lot = _named_lot(book, line)
        if id(lot) in counted:
            raise _Refused(line, "lot_no", _("同一批次重复盘点"))
        counted.add(id(lot))
        delta = line.quantity - lot.quantity
        entries.append((lot, delta, book.change(lot, delta), line.quantity))


def replay(book: _Book, drafts: list[Draft], report: StockImportReport) -> list[_Movement]:
    movements = []
    for draft in drafts:
        movement = _Movement(line=draft.head, document=draft.document)
        counted: set[int] = set()
        try:
            for line in draft.lines:
                _replay_line(book, movement, line, counted)
        except _Refused as refused:
            book.rollback()
            report.errors.append(refused.error)
            continue
        book.commit()
        movements.append(movement)
    return movements


# --- the write ---------------------------------------------------------------------------------


def _reserve_ids(model, count: int) -> list[int]:
    """`count` primary keys nobody else will take."""
    if not count:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [connection.ops.quote_name(table), count],
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: the transaction holds the write lock (IMMEDIATE), so nobody inserts between
        # this read and our rows; explicit ids move AUTOINCREMENT's counter past them.
        cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(table)}")
        top = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        start = max(top, row[0] if row else 0) + 1
    return list(range(start, start + count))


def _numbers(movements: list[_Movement]) -> list[str]:
    """The next numbers of each prefix (kind / region / year) in file order, in the format of
    `core.numbers.number_prefix` (the year of the Beijing date)."""
    zone = timezone.get_current_timezone()
    prefixes = [
        f"{MOVEMENT_PREFIX[m.line.kind]}-{m.line.depot.region.code}-{m.line.at.astimezone(zone).year}-"
        for m in movements
    ]
    counters = {}
    for prefix in sorted(set(prefixes)):
        last = (
            StockMovement.objects.filter(number__startswith=prefix)
            .order_by("-number")
            .values_list("number", flat=True)
            .first()
        )
        counters[prefix] = itertools.count(int(last.rsplit("-", 1)[1]) + 1 if last else 1)
    return [f"{prefix}{next(counters[prefix]):05d}" for prefix in prefixes]


_LOT_COLUMNS = (
    "id",
    "depot_id",
    "item_id",
    "location_id",
    "lot_no",
    "production_date",
    "expiry_date",
    "quantity",
    "received_at",
)
_MOVEMENT_COLUMNS = (
    "id",
    "number",
    "kind",
    "depot_id",
    "to_depot_id",
    "at",
    "actor_id",
    "purpose",
    "incident_ref",
    "recipient_id",
    "shelter_id",
    "supplier",
    "reason",
    "expired_override",
    "source_number",
    "created_at",
)
_ENTRY_COLUMNS = (
    "movement_id",
    "lot_id",
    "depot_id",
    "item_id",
    "at",
    "delta",
    "balance",
    "counted",
)


def _set_quantities(lots: list[_Lot]) -> None:
    if not lots:
        return
    table = connection.ops.quote_name(StockLot._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} AS lot SET quantity = v.quantity "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, quantity) WHERE lot.id = v.id",
                [[lot.id for lot in lots], [lot.quantity for lot in lots]],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET quantity = %s WHERE id = %s",
                [(lot.quantity, lot.id) for lot in lots],
            )


def _moment_adapter():
    """What the database takes for an aware time: SQLite stores naive UTC text (as Django's
    adapt_datetimefield_value writes it, without its per-value settings lookups)."""
    if connection.vendor != "sqlite":
        return connection.ops.adapt_datetimefield_value
    return lambda value: None if value is None else str(value.astimezone(UTC).replace(tzinfo=None))


def _write(actor, book: _Book, movements: list[_Movement], report: StockImportReport) -> None:
    moment = _moment_adapter()
    day = connection.ops.adapt_datefield_value
    for lot, pk in zip(book.new, _reserve_ids(StockLot, len(book.new)), strict=True):
        lot.id = pk
    insert_rows(
        StockLot,
        _LOT_COLUMNS,
        [
            (
                lot.id,
                lot.depot_id,
                lot.item_id,
                lot.location_id,
                lot.lot_no,
                day(lot.production_date),
                day(lot.expiry_date),
                lot.quantity,
                moment(lot.received_at),
            )
            for lot in book.new
        ],
    )
    _set_quantities(sorted(book.changed, key=lambda lot: lot.id))
    ids = _reserve_ids(StockMovement, len(movements))
    numbers = _numbers(movements)
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    now = moment(timezone.now())
    rows, entries = [], []
    for movement, pk, number in zip(movements, ids, numbers, strict=True):
        line = movement.line
        at = moment(line.at)
        rows.append(
            (
                pk,
                number,
                line.kind,
                line.depot.pk,
                line.to_depot.pk if line.to_depot else None,
                at,
                actor_id,
                line.purpose,
                line.incident_ref,
                line.recipient.pk if line.recipient else None,
                line.shelter.pk if line.shelter else None,
                line.supplier,
                line.reason,
                line.expired_override,
                movement.document,
                now,
            )
        )
        entries.extend(
            (pk, lot.id, lot.depot_id, lot.item_id, at, delta, balance, counted)
            for lot, delta, balance, counted in movement.entries
        )
    insert_rows(StockMovement, _MOVEMENT_COLUMNS, rows)
    insert_rows(LedgerEntry, _ENTRY_COLUMNS, entries)
    report.movements, report.entries, report.lots_created = len(rows), len(entries), len(book.new)


def _after(actor, movements: list[_Movement]) -> None:
    """The low-stock check once per depot for every item it touched, and one line on each
    depot's timeline."""
    touched: dict[int, set[int]] = {}
    counts: dict[int, int] = {}
    for movement in movements:
        for lot, *_rest in movement.entries:
            touched.setdefault(lot.depot_id, set()).add(lot.item_id)
        counts[movement.line.depot.pk] = counts.get(movement.line.depot.pk, 0) + 1
    for depot in Depot.objects.filter(pk__in=touched).select_related("region", "keeper__user"):
        stock._after_movement(depot, touched[depot.pk])
        if depot.pk in counts:
            record_event(
                depot,
                actor=actor,
                kind="stock_imported",
                note=_("导入台账 %(n)d 张单据") % {"n": counts[depot.pk]},
                movements=counts[depot.pk],
            )


def apply_drafts(actor, drafts: list[Draft], report: StockImportReport) -> None:
    """Replay and (when nothing failed) write, in one transaction."""
    pairs: set[tuple[int, int]] = set()
    for draft in drafts:
        for line in draft.lines:
            pairs.add((line.depot.pk, line.item.pk))
            if line.to_depot is not None:
                pairs.add((line.to_depot.pk, line.item.pk))
    for attempt in range(ATTEMPTS):
        replay_errors = len(report.errors)
        try:
            with transaction.atomic():
                book = _Book(pairs)
                movements = replay(book, drafts, report)
                if report.errors or not movements:
                    return
                _write(actor, book, movements, report)
                _after(actor, movements)
                report.created = len(movements)
                report.imported = True
                return
        except IntegrityError:
            # A movement number taken meanwhile (PostgreSQL): replay against the new state.
            del report.errors[replay_errors:]
            if attempt == ATTEMPTS - 1:
                raise
