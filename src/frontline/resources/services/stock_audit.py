"""The stock ledger's positions and its audit: what a depot holds per item, and the
re-derivation of every lot's quantity from its entries, which is how the ledger proves it is
the source of truth (`rederive_stock`, `check_ledger`)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from django.db import models, transaction
from django.db.models import Min, Q, Sum
from django.utils.translation import gettext as _

from frontline.core.errors import PermissionDenied
from frontline.core.roles import Role, roles_of
from frontline.resources.models import Depot, LedgerEntry, StockLot, StockMinimum, SupplyItem
from frontline.resources.services.events import record_event

logger = logging.getLogger(__name__)


@dataclass
class RederiveReport:
    lots: int = 0
    mismatches: list[tuple[int, int, int]] = field(default_factory=list)  # (lot, stored, derived)
    repaired: int = 0
    seconds: float = 0.0


# --- positions -------------------------------------------------------------------------------


def on_hand(depot: Depot, item_ids=None) -> dict[int, int]:
    """item id → quantity in the depot, from the lots' running totals."""
    lots = StockLot.objects.filter(depot=depot)
    if item_ids is not None:
        lots = lots.filter(item_id__in=item_ids)
    rows = lots.values("item_id").annotate(total=Sum("quantity")).values_list("item_id", "total")
    return {item_id: total or 0 for item_id, total in rows}


@transaction.atomic
def rederive_stock(*, depot_ids=None, repair: bool = False) -> RederiveReport:
    """Recompute every lot's quantity from its entries (one grouped query) and compare with
    the running totals. With `repair`, write the derived numbers back (they are the truth)."""
    started = time.perf_counter()
    report = RederiveReport()
    entries = LedgerEntry.objects.all()
    lots = StockLot.objects.all()
    if depot_ids is not None:
        entries = entries.filter(depot_id__in=depot_ids)
        lots = lots.filter(depot_id__in=depot_ids)
    derived = dict(
        entries.order_by()
        .values("lot_id")
        .annotate(total=Sum("delta"))
        .values_list("lot_id", "total")
    )
    for lot_id, stored in lots.order_by().values_list("pk", "quantity").iterator(chunk_size=5000):
        report.lots += 1
        should = derived.get(lot_id) or 0
        if should != stored:
            report.mismatches.append((lot_id, stored, should))
    if repair and report.mismatches:
        report.repaired = _repair([lot_id for lot_id, _stored, _should in report.mismatches])
    report.seconds = time.perf_counter() - started
    return report


def _repair(lot_ids: list[int]) -> int:
    """Write the derived quantity back to each lot, under the lot's row lock: a movement
    changes a lot's running total (which locks the row) before it writes its entries, so
    once the lock is ours every entry of the lot is committed and the sum is final. Summing
    before the lock could overwrite a movement that committed in between."""
    repaired = 0
    for start in range(0, len(lot_ids), 500):
        chunk = lot_ids[start : start + 500]
        list(StockLot.objects.select_for_update().filter(pk__in=chunk).values_list("pk"))
        sums = dict(
            LedgerEntry.objects.filter(lot_id__in=chunk)
            .order_by()
            .values("lot_id")
            .annotate(total=Sum("delta"))
            .values_list("lot_id", "total")
        )
        for lot_id in chunk:
            repaired += (
                StockLot.objects.filter(pk=lot_id)
                .exclude(quantity=sums.get(lot_id) or 0)
                .update(quantity=sums.get(lot_id) or 0)
            )
    return repaired


REDERIVE_ROLES = (Role.COUNTY_ADMIN, Role.STATION_CHIEF)


def check_ledger(*, actor, depot: Depot | None = None, repair: bool = False) -> RederiveReport:
    """Re-derive the stock of the depots the actor sees (or of one depot) and report every
    lot whose running total differs from its entries.

    The report is for the people who answer for the stock (区县管理员, 站长). Repairing
    rewrites running totals, which should never differ: a difference means someone wrote
    the table outside the services, and deciding that the entries are right is an
    operator's call, so `repair` is for superusers only. Each depot repaired gets a row on
    its timeline with the lots, what they said and what they say now.
    """
    is_operator = actor is None or (
        actor.is_superuser and getattr(actor, "_frontline_token", None) is None
    )
    if not is_operator and not set(roles_of(actor)) & set(REDERIVE_ROLES):
        raise PermissionDenied(_("只有区县管理员或站长可以核对库存台账"))
    if repair and not is_operator:
        raise PermissionDenied(_("只有系统管理员可以按台账改正结存"))
    if depot is not None:
        depot_ids = [depot.pk]
    elif is_operator:
        depot_ids = None
    else:
        depot_ids = Depot.objects.visible_to(actor).values("pk")
    with transaction.atomic():
        report = rederive_stock(depot_ids=depot_ids, repair=repair)
        if report.repaired:
            _record_repairs(actor, report)
    if report.mismatches:
        logger.warning(
            "stock ledger: %d lots differ from their entries (repaired %d)",
            len(report.mismatches),
            report.repaired,
        )
    return report


def _record_repairs(actor, report: RederiveReport) -> None:
    by_lot = {lot_id: (stored, should) for lot_id, stored, should in report.mismatches}
    by_depot: dict[int, list] = {}
    for lot_id, depot_id in StockLot.objects.filter(pk__in=by_lot).values_list("pk", "depot_id"):
        by_depot.setdefault(depot_id, []).append([lot_id, *by_lot[lot_id]])
    for depot in Depot.objects.filter(pk__in=by_depot):
        lots = sorted(by_depot[depot.pk])
        record_event(
            depot,
            actor=actor,
            kind="stock_repaired",
            note=_("按台账分录改正 %(n)d 个批次的结存") % {"n": len(lots)},
            lots=lots,
        )


def stock_summary(depot: Depot) -> list[dict]:
    """One row per item the depot holds or must hold: quantity, lots in stock, the nearest
    expiry among them and the minimum level. Three queries, whatever the number of lots."""
    in_stock = Q(quantity__gt=0)
    rows = {
        row["item_id"]: row
        for row in StockLot.objects.filter(depot=depot)
        .order_by()
        .values("item_id")
        .annotate(
            total=Sum("quantity"),
            lots_in_stock=models.Count("pk", filter=in_stock),
            soonest=Min("expiry_date", filter=in_stock),
        )
    }
    minimums = dict(StockMinimum.objects.filter(depot=depot).values_list("item_id", "minimum"))
    items = SupplyItem.objects.filter(pk__in=set(rows) | set(minimums)).order_by("code")
    summary = []
    for item in items:
        row = rows.get(item.pk, {})
        quantity = row.get("total") or 0
        minimum = minimums.get(item.pk)
        summary.append(
            {
                "item_id": item.pk,
                "item_code": item.code,
                "item_name": item.name,
                "unit": item.unit,
                "quantity": quantity,
                "lots": row.get("lots_in_stock") or 0,
                "nearest_expiry": row.get("soonest"),
                "minimum": minimum,
                "low": minimum is not None and quantity < minimum,
            }
        )
    return summary
