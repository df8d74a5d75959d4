"""The stock ledger's writes: receive, issue, transfer, adjust, stocktake.

Every movement is one transaction: the movement row (the signed document with its number),
one `LedgerEntry` per lot it touches, and the lots' running quantities. Quantities change
only through `_take` and `_put`: a conditional UPDATE that subtracts only while enough is
left, so two people issuing the last tent at the same moment cannot both succeed, on SQLite
or PostgreSQL, and the CHECK constraint on the lot backs it up. Low-stock alerts are decided
in the same transaction and delivered through the outbox after the commit.

`rederive_stock` recomputes every lot from its entries, which is how the ledger proves it is
the source of truth.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from frontline.core.errors import DomainError, InvalidInput
from frontline.core.models import Organization
from frontline.core.numbers import save_with_number
from frontline.core.roles import Capability
from frontline.core.services.validation import require
from frontline.resources.models import (
    MOVEMENT_PREFIX,
    Depot,
    DepotStatus,
    IssuePurpose,
    LedgerEntry,
    MovementKind,
    Shelter,
    StockLot,
    StockMovement,
    StorageLocation,
    SupplyItem,
)

logger = logging.getLogger(__name__)

# One movement line moves at most this much; a typo of six zeros is caught here.
MAX_QUANTITY = 10_000_000
MAX_LINES = 500


class OutOfStock(DomainError):
    """More asked for than the lot (or the depot) holds."""

    code = "out_of_stock"


@dataclass
class Receipt:
    """One line of a receipt: a new lot, or more of an existing one with the same lot number,
    dates and place."""

    item: SupplyItem
    quantity: int
    lot_no: str = ""
    production_date: date | None = None
    expiry_date: date | None = None
    location: StorageLocation | None = None


@dataclass
class Take:
    """One line of an issue or a transfer: `quantity` of one lot, or of an item taken from
    its lots earliest expiry first (FEFO) when `lot` is None."""

    quantity: int
    lot: StockLot | None = None
    item: SupplyItem | None = None


@dataclass
class Count:
    """One line of a stocktake: what was counted of a lot."""

    lot: StockLot
    counted: int


# --- checks ----------------------------------------------------------------------------------


def clean_quantity(value, field_name: str, *, allow_zero: bool = False) -> int:
    """A whole number of units, refusing NaN, fractions, text and typos of six zeros."""
    if isinstance(value, bool) or value is None:
        raise InvalidInput(_("数量应为整数"), details={field_name: _("数量应为整数")})
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(_("数量应为整数"), details={field_name: _("数量应为整数")}) from None
    if isinstance(value, float) and not value.is_integer():
        raise InvalidInput(_("数量应为整数"), details={field_name: _("数量应为整数")})
    if isinstance(value, str) and value.strip() != str(number):
        raise InvalidInput(_("数量应为整数"), details={field_name: _("数量应为整数")})
    low = 0 if allow_zero else 1
    if not low <= number <= MAX_QUANTITY:
        message = _("数量应在 %(low)d 至 %(high)d 之间") % {"low": low, "high": MAX_QUANTITY}
        raise InvalidInput(message, details={field_name: message})
    return number


def _check_lines(lines: list, field_name: str = "lines") -> None:
    if not lines:
        raise InvalidInput(_("至少填写一行物资"), details={field_name: _("至少填写一行物资")})
    if len(lines) > MAX_LINES:
        message = _("一张单据最多 %(n)d 行") % {"n": MAX_LINES}
        raise InvalidInput(message, details={field_name: message})


def _check_depot(actor, depot: Depot, *, receiving: bool = False) -> None:
    require(actor, Capability.MANAGE_RESOURCES, depot.region)
    if receiving and depot.status != DepotStatus.IN_USE:
        raise DomainError(_("储备库已停用，不能入库"), code="depot_suspended")


def _when(at: datetime | None) -> datetime:
    now = timezone.now()
    if at is None:
        return now
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at > now + timedelta(minutes=5):
        raise InvalidInput(_("业务时间不能晚于现在"), details={"at": _("业务时间不能晚于现在")})
    return at


def _text(value: str | None, field_name: str, max_length: int, *, required=False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(_("请填写%(f)s") % {"f": field_name}, details={field_name: _("必填")})
    if len(text) > max_length:
        message = _("最多 %(n)d 个字符") % {"n": max_length}
        raise InvalidInput(message, details={field_name: message})
    return text


def expiry_for(item: SupplyItem, production_date: date | None, expiry_date: date | None):
    """The lot's expiry: as printed, else production date plus the item's shelf life."""
    if expiry_date is not None:
        return expiry_date
    if production_date is not None and item.shelf_life_days:
        return production_date + timedelta(days=item.shelf_life_days)
    return None


# --- the two primitives ----------------------------------------------------------------------


def _take(lot: StockLot, quantity: int) -> int:
    """Subtract from a lot unless it holds less; return the balance after."""
    changed = StockLot.objects.filter(pk=lot.pk, quantity__gte=quantity).update(
        quantity=F("quantity") - quantity
    )
    if not changed:
        left = StockLot.objects.filter(pk=lot.pk).values_list("quantity", flat=True).first()
        raise OutOfStock(
            _("%(item)s 批次 %(lot)s 库存不足：现有 %(left)s，需要 %(n)s")
            % {"item": lot.item.name, "lot": lot.lot_no or lot.pk, "left": left, "n": quantity},
            details={"lot": lot.pk, "available": left, "requested": quantity},
        )
    return _balance(lot)


def _lock_lots(where: Q) -> None:
    """Lock every lot a movement may touch, in one order (by id), before reading quantities.

    On PostgreSQL two people issuing the same item at once would otherwise both plan FEFO
    from the same numbers, and the second be refused for want of units that a later lot
    still holds; and two movements locking shared lots in different orders could deadlock.
    After the lock the quantities read are the committed ones. SQLite ignores the lock: its
    IMMEDIATE transactions already run one writer at a time."""
    list(StockLot.objects.select_for_update().filter(where).order_by("pk").values_list("pk"))


def _put(lot: StockLot, quantity: int) -> int:
    StockLot.objects.filter(pk=lot.pk).update(quantity=F("quantity") + quantity)
    return _balance(lot)


def _balance(lot: StockLot) -> int:
    lot.quantity = StockLot.objects.filter(pk=lot.pk).values_list("quantity", flat=True).get()
    return lot.quantity


def _movement(*, actor, kind: str, depot: Depot, at: datetime, **fields) -> StockMovement:
    movement = StockMovement(
        kind=kind,
        depot=depot,
        at=at,
        actor=actor if actor is not None and actor.is_authenticated else None,
        **fields,
    )
    return save_with_number(
        movement, kind=MOVEMENT_PREFIX[kind], region_code=depot.region.code, now=at
    )


def _entry(movement: StockMovement, lot: StockLot, delta: int, balance: int, **kw):
    return LedgerEntry(
        movement=movement,
        lot=lot,
        depot_id=lot.depot_id,
        item_id=lot.item_id,
        at=movement.at,
        delta=delta,
        balance=balance,
        **kw,
    )


# --- receive -------------------------------------------------------------------------------


@transaction.atomic
def receive_stock(
    *,
    actor,
    depot: Depot,
    lines: list[Receipt],
    supplier: str = "",
    reason: str = "",
    at: datetime | None = None,
) -> StockMovement:
    """Goods arrive (入库): each line becomes a lot, or adds to the lot of the same item,
    lot number, expiry and place already in the depot."""
    _check_depot(actor, depot, receiving=True)
    _check_lines(lines)
    at = _when(at)
    for index, line in enumerate(lines):
        line.quantity = clean_quantity(line.quantity, f"lines.{index}.quantity")
        if line.location is not None and line.location.depot_id != depot.pk:
            raise InvalidInput(
                _("库位不属于该储备库"),
                details={f"lines.{index}.location": _("库位不属于该储备库")},
            )
        line.expiry_date = expiry_for(line.item, line.production_date, line.expiry_date)
        if line.production_date and line.expiry_date and line.expiry_date < line.production_date:
            message = _("有效期不能早于生产日期")
            raise InvalidInput(message, details={f"lines.{index}.expiry_date": message})
    movement = _movement(
        actor=actor,
        kind=MovementKind.RECEIVE,
        depot=depot,
        at=at,
        supplier=_text(supplier, "supplier", 120),
        reason=_text(reason, "reason", 200),
    )
    entries = []
    for line in lines:
        lot = _lot_for_receipt(depot, line, at)
        entries.append(_entry(movement, lot, line.quantity, _put(lot, line.quantity)))
    LedgerEntry.objects.bulk_create(entries)
    _after_movement(depot, {line.item.pk for line in lines})
    return movement


def _lot_for_receipt(depot: Depot, line: Receipt, at: datetime) -> StockLot:
    if line.lot_no:
        existing = StockLot.objects.filter(
            depot=depot,
            item=line.item,
            lot_no=line.lot_no,
            expiry_date=line.expiry_date,
            location=line.location,
        ).first()
        if existing is not None:
            return existing
    return StockLot.objects.create(
        depot=depot,
        item=line.item,
        location=line.location,
        lot_no=line.lot_no,
        production_date=line.production_date,
        expiry_date=line.expiry_date,
        quantity=0,
        received_at=at,
    )


# --- issue and transfer ----------------------------------------------------------------------


_EXPIRED = _lazy(
    "%(item)s 批次 %(lot)s 已过期（有效期至 %(day)s），"
    "发出过期物资须勾选“允许发出过期物资”并说明事由"
)


def _lots_for(
    depot: Depot, take: Take, index: int, *, expired_override: bool, today: date, planned: dict
):
    """[(lot, quantity)] that fill one line: the named lot, or FEFO over the item's lots.
    `planned` (lot id → quantity) holds what earlier lines of the same document take, so two
    lines of one item do not both count on the same units."""
    if take.lot is not None:
        lot = take.lot
        if lot.depot_id != depot.pk:
            message = _("批次不属于该储备库")
            raise InvalidInput(message, details={f"lines.{index}.lot": message})
        if lot.is_expired(today) and not expired_override:
            raise DomainError(
                _EXPIRED
                % {"item": lot.item.name, "lot": lot.lot_no or lot.pk, "day": lot.expiry_date},
                code="lot_expired",
                details={f"lines.{index}.lot": lot.pk},
            )
        planned[lot.pk] = planned.get(lot.pk, 0) + take.quantity
        return [(lot, take.quantity)]
    if take.item is None:
        message = _("请选择物资或批次")
        raise InvalidInput(message, details={f"lines.{index}.item": message})
    lots = StockLot.objects.filter(depot=depot, item=take.item, quantity__gt=0).select_related(
        "item"
    )
    if not expired_override:
        lots = lots.exclude(expiry_date__lt=today)
    # Earliest expiry first, lots that never expire last, then oldest receipt.
    ordered = sorted(lots, key=lambda lot: (lot.expiry_date or date.max, lot.received_at, lot.pk))
    picked, wanted = [], take.quantity
    for lot in ordered:
        if wanted == 0:
            break
        n = min(wanted, lot.quantity - planned.get(lot.pk, 0))
        if n <= 0:
            continue
        picked.append((lot, n))
        planned[lot.pk] = planned.get(lot.pk, 0) + n
        wanted -= n
    if wanted:
        available = take.quantity - wanted
        raise OutOfStock(
            _("%(item)s 库存不足：可发出 %(left)s %(unit)s，需要 %(n)s %(unit)s")
            % {
                "item": take.item.name,
                "left": available,
                "n": take.quantity,
                "unit": take.item.unit,
            },
            details={f"lines.{index}.quantity": take.quantity, "available": available},
        )
    return picked


def _plan_takes(depot, lines: list[Take], *, expired_override: bool):
    _check_lines(lines)
    _lock_lots(
        Q(depot=depot)
        & (
            Q(pk__in=[line.lot.pk for line in lines if line.lot is not None])
            | Q(item_id__in=[line.item.pk for line in lines if line.lot is None and line.item])
        )
    )
    today = timezone.localdate()
    plan, planned = [], {}
    for index, line in enumerate(lines):
        line.quantity = clean_quantity(line.quantity, f"lines.{index}.quantity")
        picked = _lots_for(
            depot, line, index, expired_override=expired_override, today=today, planned=planned
        )
        plan.extend(picked)
    return plan


@transaction.atomic
def issue_stock(
    *,
    actor,
    depot: Depot,
    lines: list[Take],
    purpose: str,
    incident_ref: str = "",
    recipient: Organization | None = None,
    shelter: Shelter | None = None,
    reason: str = "",
    expired_override: bool = False,
    at: datetime | None = None,
) -> StockMovement:
    """Goods leave the depot (出库) for an incident, a unit, a shelter, a drill or scrap. All
    lines or none: one line short and nothing is issued."""
    _check_depot(actor, depot)
    at = _when(at)
    if purpose not in IssuePurpose.values:
        raise InvalidInput(_("请选择出库用途"), details={"purpose": _("请选择出库用途")})
    incident_ref = _text(incident_ref, "incident_ref", 120)
    if purpose == IssuePurpose.INCIDENT and not incident_ref:
        message = _("发往突发事件的物资须注明事件编号或名称")
        raise InvalidInput(message, details={"incident_ref": message})
    if purpose == IssuePurpose.UNIT and recipient is None:
        raise InvalidInput(_("请选择领用单位"), details={"recipient": _("请选择领用单位")})
    if purpose == IssuePurpose.SHELTER and shelter is None:
        raise InvalidInput(_("请选择避难场所"), details={"shelter": _("请选择避难场所")})
    reason = _text(reason, "reason", 200)
    if expired_override and not reason:
        message = _("发出过期物资须说明事由")
        raise InvalidInput(message, details={"reason": message})
    plan = _plan_takes(depot, lines, expired_override=expired_override)
    movement = _movement(
        actor=actor,
        kind=MovementKind.ISSUE,
        depot=depot,
        at=at,
        purpose=purpose,
        incident_ref=incident_ref,
        recipient=recipient,
        shelter=shelter,
        reason=reason,
        expired_override=expired_override,
    )
    entries = [_entry(movement, lot, -n, _take(lot, n)) for lot, n in plan]
    LedgerEntry.objects.bulk_create(entries)
    _after_movement(depot, {lot.item_id for lot, _n in plan})
    return movement


@transaction.atomic
def transfer_stock(
    *,
    actor,
    depot: Depot,
    to_depot: Depot,
    lines: list[Take],
    reason: str = "",
    expired_override: bool = False,
    at: datetime | None = None,
) -> StockMovement:
    """Goods move between depots (调拨), lot by lot: each lot arrives as a lot of the same
    number and dates in the receiving depot. The receiving depot must lie in the user's
    scope too."""
    _check_depot(actor, depot)
    if to_depot.pk == depot.pk:
        message = _("调入库不能与调出库相同")
        raise InvalidInput(message, details={"to_depot": message})
    if actor is not None and not Depot.objects.visible_to(actor).filter(pk=to_depot.pk).exists():
        message = _("调入库不在您的管辖范围内")
        raise InvalidInput(message, details={"to_depot": message})
    _check_depot(actor, to_depot, receiving=True)
    at = _when(at)
    reason = _text(reason, "reason", 200)
    if expired_override and not reason:
        message = _("发出过期物资须说明事由")
        raise InvalidInput(message, details={"reason": message})
    plan = _plan_takes(depot, lines, expired_override=expired_override)
    movement = _movement(
        actor=actor,
        kind=MovementKind.TRANSFER,
        depot=depot,
        to_depot=to_depot,
        at=at,
        reason=reason,
        expired_override=expired_override,
    )
    entries = []
    for lot, n in plan:
        entries.append(_entry(movement, lot, -n, _take(lot, n)))
        arrived = _lot_for_receipt(
            to_depot,
            Receipt(
                item=lot.item,
                quantity=n,
                lot_no=lot.lot_no,
                production_date=lot.production_date,
                expiry_date=lot.expiry_date,
            ),
            at,
        )
        entries.append(_entry(movement, arrived, n, _put(arrived, n)))
    LedgerEntry.objects.bulk_create(entries)
    items = {lot.item_id for lot, _n in plan}
    _after_movement(depot, items)
    _after_movement(to_depot, items)
    return movement


# --- adjust and stocktake ------------------------------------------------------------------


@transaction.atomic
def adjust_stock(
    *, actor, lot: StockLot, delta: int, reason: str, at: datetime | None = None
) -> StockMovement:
    """Correct a lot (调整): damage, loss, a booking mistake. Always with a reason."""
    depot = lot.depot
    _check_depot(actor, depot)
    reason = _text(reason, "reason", 200)
    if not reason:
        raise InvalidInput(_("调整须说明事由"), details={"reason": _("调整须说明事由")})
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise InvalidInput(_("调整数量应为非零整数"), details={"delta": _("调整数量应为非零整数")})
    clean_quantity(abs(delta), "delta")
    at = _when(at)
    movement = _movement(actor=actor, kind=MovementKind.ADJUST, depot=depot, at=at, reason=reason)
    balance = _put(lot, delta) if delta > 0 else _take(lot, -delta)
    LedgerEntry.objects.bulk_create([_entry(movement, lot, delta, balance)])
    _after_movement(depot, {lot.item_id})
    return movement


@transaction.atomic
def record_stocktake(
    *, actor, depot: Depot, counts: list[Count], note: str = "", at: datetime | None = None
) -> StockMovement:
    """A stocktake (盘点): every counted lot gets an entry with what was counted and the
    difference from the book, zero included, so the sheet shows what was checked."""
    _check_depot(actor, depot)
    _check_lines(counts, "counts")
    at = _when(at)
    seen = set()
    for index, count in enumerate(counts):
        count.counted = clean_quantity(count.counted, f"counts.{index}.counted", allow_zero=True)
        if count.lot.depot_id != depot.pk:
            message = _("批次不属于该储备库")
            raise InvalidInput(message, details={f"counts.{index}.lot": message})
        if count.lot.pk in seen:
            message = _("同一批次重复盘点")
            raise InvalidInput(message, details={f"counts.{index}.lot": message})
        seen.add(count.lot.pk)
    _lock_lots(Q(pk__in=seen))
    movement = _movement(
        actor=actor,
        kind=MovementKind.STOCKTAKE,
        depot=depot,
        at=at,
        reason=_text(note, "note", 200),
    )
    entries = []
    for count in counts:
        # The lot is locked (above), so the difference is against the quantity that stands
        # when the sheet is posted, not the one the form showed.
        book = StockLot.objects.filter(pk=count.lot.pk).values_list("quantity", flat=True).get()
        delta = count.counted - book
        if delta > 0:
            balance = _put(count.lot, delta)
        elif delta < 0:
            balance = _take(count.lot, -delta)
        else:
            balance = book
        entries.append(_entry(movement, count.lot, delta, balance, counted=count.counted))
    LedgerEntry.objects.bulk_create(entries)
    _after_movement(depot, {count.lot.item_id for count in counts})
    return movement


def stocktake_differences(movement: StockMovement) -> list[LedgerEntry]:
    """The lines of a stocktake whose count differed from the book."""
    return list(movement.entries.exclude(delta=0).select_related("item", "lot"))


# The positions, the audit and the alerts live in their own modules; callers keep reading
# them here.
from frontline.resources.services.stock_alerts import (  # noqa: E402, F401
    LOW_STOCK_KIND,
    NEAR_EXPIRY_KIND,
    _after_movement,
    responsible_users,
    sweep_near_expiry,
)
from frontline.resources.services.stock_audit import (  # noqa: E402, F401
    REDERIVE_ROLES,
    RederiveReport,
    check_ledger,
    on_hand,
    rederive_stock,
    stock_summary,
)
