"""The demo's stock ledger: a year of movements posted in time order by a small in-memory
book that follows the rules of `services/stock.py` (FEFO over unexpired lots, nothing below
zero, a stocktake line for every counted lot, low-stock marks raised and cleared per
movement), then written in bulk: lots, minimums, movements and their ledger entries.

Why not call the services: a year of a district is thousands of movements; one transaction
and a dozen queries each would take minutes. The book produces the same rows: numbers
`<prefix>-<region>-<year>-<5 digits>` sequential per prefix, region and year in posting
order, and every entry's `balance` is its lot's running balance in id order, so
`rederive_stock()` finds nothing to repair. What happens during the year is planned in
`demo_stock_plan`.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection
from django.utils import timezone

from frontline.core.bulk import insert_rows
from frontline.resources.demo_common import db_time, insert_with_ids
from frontline.resources.models import (
    MOVEMENT_PREFIX,
    IssuePurpose,
    LedgerEntry,
    MovementKind,
    StockLot,
    StockMinimum,
    StockMovement,
)

# The book keeps plain records rather than model instances: building a few thousand of
# those and letting bulk_create prepare every field cost more than the whole year's logic.


@dataclass(eq=False, slots=True)
class Lot:
    depot: object
    item: object
    location: object
    lot_no: str
    production_date: date | None
    expiry_date: date | None
    received_at: datetime
    seq: int
    quantity: int = 0
    pk: int | None = None

    @property
    def item_id(self) -> int:
        return self.item.pk

    @property
    def location_id(self) -> int | None:
        return self.location.pk if self.location is not None else None


@dataclass(eq=False, slots=True)
class Movement:
    number: str
    kind: str
    depot: object
    at: datetime
    to_depot: object = None
    actor: object = None
    purpose: str = ""
    incident_ref: str = ""
    recipient: object = None
    shelter: object = None
    supplier: str = ""
    reason: str = ""
    expired_override: bool = False
    pk: int | None = None


class Book:
    """Lots, movements and entries of the demo year, kept in memory in posting order."""

    def __init__(self, now: datetime, rng):
        self.now = now
        self.rng = rng
        self.lots: dict[tuple[int, int], list[Lot]] = defaultdict(list)
        self.by_depot: dict[int, list[Lot]] = defaultdict(list)
        self.all_lots: list[Lot] = []
        self.movements: list[Movement] = []
        self.entries: list[tuple[Movement, Lot, int, int, int | None]] = []
        self.minimums: dict[tuple[int, int], StockMinimum] = {}
        self.sequences: dict[str, int] = defaultdict(int)
        self._queue: list = []
        self._order = itertools.count()

    # --- the agenda: callbacks run in time order, and may schedule more -----------------

    def at(self, when: datetime | None, action, *args) -> None:
        # A minute of margin: nothing is posted in the future of the seeding moment.
        if when is not None and when < self.now - timedelta(minutes=1):
            heapq.heappush(self._queue, (when, next(self._order), action, args))

    def run(self) -> None:
        while self._queue:
            when, _n, action, args = heapq.heappop(self._queue)
            action(when, *args)

    # --- positions -----------------------------------------------------------------------

    def total(self, depot, item) -> int:
        return sum(lot.quantity for lot in self.lots.get((depot.pk, item.pk), ()))

    def usable(self, depot, item, day: date, *, expired: bool = False) -> list[Lot]:
        """Lots an issue may take, in the service's FEFO order."""
        lots = [
            lot
            for lot in self.lots.get((depot.pk, item.pk), ())
            if lot.quantity > 0 and (expired or lot.expiry_date is None or lot.expiry_date >= day)
        ]
        lots.sort(key=lambda lot: (lot.expiry_date or date.max, lot.received_at, lot.seq))
        return lots

    def available(self, depot, item, day: date) -> int:
        return sum(lot.quantity for lot in self.usable(depot, item, day))

    def depot_lots(self, depot) -> list[Lot]:
        return [lot for lot in self.by_depot[depot.pk] if lot.quantity > 0]

    # --- movements -----------------------------------------------------------------------

    def _movement(self, kind: str, depot, at: datetime, **fields) -> Movement:
        prefix = f"{MOVEMENT_PREFIX[kind]}-{depot.region.code}-{timezone.localtime(at).year}-"
        self.sequences[prefix] += 1
        movement = Movement(f"{prefix}{self.sequences[prefix]:05d}", kind, depot, at, **fields)
        self.movements.append(movement)
        return movement

    def _post(self, movement, lot: Lot, delta: int, counted: int | None = None) -> None:
        lot.quantity += delta
        assert lot.quantity >= 0, (movement.number, lot.lot_no, lot.quantity)
        self.entries.append((movement, lot, delta, lot.quantity, counted))

    def new_lot(self, depot, item, at, *, lot_no, production=None, expiry=None, location=None):
        lot = Lot(depot, item, location, lot_no, production, expiry, at, next(self._order))
        self.lots[(depot.pk, item.pk)].append(lot)
        self.by_depot[depot.pk].append(lot)
        self.all_lots.append(lot)
        return lot

    def receive(self, at, depot, lines, *, actor=None, supplier="", reason="") -> Movement:
        """lines: [(lot, quantity)]: a new lot from `new_lot`, or one returned to."""
        movement = self._movement(
            MovementKind.RECEIVE, depot, at, actor=actor, supplier=supplier, reason=reason
        )
        for lot, quantity in lines:
            self._post(movement, lot, quantity)
        self._after(at, depot, {lot.item_id for lot, _q in lines})
        return movement

    def take(self, depot, item, quantity: int, day: date, *, expired=False):
        """[(lot, n)] covering as much of `quantity` as the usable lots hold."""
        picked = []
        for lot in self.usable(depot, item, day, expired=expired):
            if quantity <= 0:
                break
            n = min(quantity, lot.quantity)
            picked.append((lot, n))
            quantity -= n
        return picked

    def issue(self, at, depot, picked, *, purpose, actor=None, expired=False, **fields):
        """Post an issue of `picked` ([(lot, n)], from `take`); None when nothing is left."""
        picked = [(lot, n) for lot, n in picked if n > 0]
        if not picked:
            return None
        if purpose == IssuePurpose.SCRAP or expired:
            fields.setdefault("reason", "报废")
        movement = self._movement(
            MovementKind.ISSUE,
            depot,
            at,
            actor=actor,
            purpose=purpose,
            expired_override=expired,
            **fields,
        )
        for lot, n in picked:
            self._post(movement, lot, -n)
        self._after(at, depot, {lot.item_id for lot, _n in picked})
        return movement

    def transfer(self, at, depot, to_depot, picked, *, actor=None, reason=""):
        """Lot by lot, each arriving as a lot of the same number and dates (the service's
        `_lot_for_receipt`: same item, lot number, expiry and no place yet)."""
        picked = [(lot, n) for lot, n in picked if n > 0]
        if not picked:
            return None
        movement = self._movement(
            MovementKind.TRANSFER, depot, at, to_depot=to_depot, actor=actor, reason=reason
        )
        for lot, n in picked:
            self._post(movement, lot, -n)
            arrived = next(
                (
                    other
                    for other in self.lots.get((to_depot.pk, lot.item_id), ())
                    if lot.lot_no
                    and other.lot_no == lot.lot_no
                    and other.expiry_date == lot.expiry_date
                    and other.location_id is None
                ),
                None,
            ) or self.new_lot(
                to_depot,
                lot.item,
                at,
                lot_no=lot.lot_no,
                production=lot.production_date,
                expiry=lot.expiry_date,
            )
            self._post(movement, arrived, n)
        items = {lot.item_id for lot, _n in picked}
        self._after(at, depot, items)
        self._after(at, to_depot, items)
        return movement

    def adjust(self, at, lot: Lot, delta: int, *, actor=None, reason: str):
        delta = max(delta, -lot.quantity)
        if delta == 0:
            return None
        movement = self._movement(MovementKind.ADJUST, lot.depot, at, actor=actor, reason=reason)
        self._post(movement, lot, delta)
        self._after(at, lot.depot, {lot.item_id})
        return movement

    def stocktake(self, at, depot, *, actor=None, note: str, differ: float = 0.04):
        """Every lot in stock counted; now and then a lot counted by the bag or the box
        differs from the book by a unit or three (booked, as `record_stocktake` does). Pumps
        and boats are not miscounted."""
        lots = sorted(self.depot_lots(depot), key=lambda lot: (lot.item.code, lot.seq))
        if not lots:
            return None
        movement = self._movement(MovementKind.STOCKTAKE, depot, at, actor=actor, reason=note)
        for lot in lots:
            delta = 0
            if lot.quantity >= 20 and self.rng.random() < differ:
                delta = max(-lot.quantity, self.rng.choice([-3, -2, -1, -1, -1, 1, 2]))
            self._post(movement, lot, delta, counted=lot.quantity + delta)
        self._after(at, depot, {lot.item_id for lot in lots})
        return movement

    def _after(self, at, depot, item_ids) -> None:
        """The low-stock mark of `_after_movement`: set when a minimum is crossed downwards,
        cleared when stock is back."""
        for item_id in item_ids:
            minimum = self.minimums.get((depot.pk, item_id))
            if minimum is None:
                continue
            total = sum(lot.quantity for lot in self.lots.get((depot.pk, item_id), ()))
            if total < minimum.minimum and minimum.low_since is None:
                minimum.low_since = at
            elif total >= minimum.minimum and minimum.low_since is not None:
                minimum.low_since = None

    # --- writing -------------------------------------------------------------------------

    def write(self) -> dict[str, int]:
        # expiry_alerted_at stays empty: no alert was sent for the demo's lots, so the first
        # near-expiry sweep after seeding tells each depot's people, as it would in use.
        now = timezone.now()
        date_value = connection.ops.adapt_datefield_value
        insert_with_ids(
            StockLot,
            ("depot_id", "item_id", "location_id", "lot_no", "production_date", "expiry_date",
             "quantity", "received_at"),
            self.all_lots,
            lambda lot: (lot.depot.pk, lot.item.pk, lot.location_id, lot.lot_no,
                         date_value(lot.production_date), date_value(lot.expiry_date),
                         lot.quantity, db_time(lot.received_at)),
        )  # fmt: skip
        StockMinimum.objects.bulk_create(self.minimums.values(), batch_size=2000)
        created = db_time(now)
        times = {}
        insert_with_ids(
            StockMovement,
            ("number", "kind", "depot_id", "to_depot_id", "at", "actor_id", "purpose",
             "incident_ref", "recipient_id", "shelter_id", "supplier", "reason",
             "expired_override", "source_number", "created_at"),
            self.movements,
            lambda m: (m.number, m.kind, m.depot.pk, _pk(m.to_depot),
                       times.setdefault(m.number, db_time(m.at)), _pk(m.actor), m.purpose,
                       m.incident_ref, _pk(m.recipient), _pk(m.shelter), m.supplier, m.reason,
                       m.expired_override, "", created),
        )  # fmt: skip
        rows = [
            (movement.pk, lot.pk, lot.depot.pk, lot.item.pk, times[movement.number], delta,
             balance, counted)
            for movement, lot, delta, balance, counted in self.entries
        ]  # fmt: skip
        insert_rows(
            LedgerEntry,
            ("movement_id", "lot_id", "depot_id", "item_id", "at", "delta", "balance", "counted"),
            rows,
        )
        return {"lots": len(self.all_lots), "movements": len(self.movements),
                "entries": len(rows), "minimums": len(self.minimums)}  # fmt: skip


def _pk(obj) -> int | None:
    return obj.pk if obj is not None else None
