"""/api/v1 of the stock ledger, the writing side: one POST per movement kind, and the
re-derivation of the stock from the ledger.

Each endpoint finds the depot (or lot) through the scoped queryset (404 when out of scope),
turns item codes, lot ids and place codes into rows (422 naming the line when one is
unknown), and hands everything to `services/stock.py`, which checks the permission (403),
the rules (422) and the stock (409) and writes the movement in one transaction. Nothing is
written when anything is refused.
"""

from contextlib import contextmanager

from django.utils.translation import gettext as _
from ninja import Router, Status

from frontline.core.errors import DomainError, InvalidInput
from frontline.core.models import Organization
from frontline.core.schemas import ObjectId
from frontline.core.services.validation import Cleaner
from frontline.resources.api.stock import depot_or_404, lot_or_404, movement_detail
from frontline.resources.models import Depot, Shelter, StockLot, StorageLocation, SupplyItem
from frontline.resources.schemas_stock import (
    AdjustIn,
    IssueIn,
    MovementDetail,
    ReceiveIn,
    RederiveIn,
    RederiveOut,
    StocktakeIn,
    TakeLineIn,
    TransferIn,
)
from frontline.resources.services import stock as services

router = Router(tags=["resources"])

# The services name the objects they were given; the API names the fields the client sent.
_API_NAMES = {
    "lot": "lot_id",
    "item": "item_code",
    "location": "location_code",
    "to_depot": "to_depot_id",
    "recipient": "recipient_id",
    "shelter": "shelter_id",
}
MAX_MISMATCHES_SHOWN = 500


def _api_name(key: str) -> str:
    head, _dot, last = key.rpartition(".")
    name = _API_NAMES.get(last, last)
    return f"{head}.{name}" if head else name


@contextmanager
def _as_sent():
    """Re-key the details of a refusal to the request's field names, message unchanged."""
    try:
        yield
    except DomainError as error:
        error.details = {_api_name(key): value for key, value in error.details.items()}
        raise


# --- turning ids and codes into rows ----------------------------------------------------------


def _items(codes) -> dict[str, SupplyItem]:
    wanted = {code for code in codes if code}
    return {item.code: item for item in SupplyItem.objects.filter(code__in=wanted)}


def _lots(request, ids) -> dict[int, StockLot]:
    """Lots the user sees; one in another depot is the service's to refuse by name."""
    wanted = {pk for pk in ids if pk}
    lots = StockLot.objects.visible_to(request.user).filter(pk__in=wanted).select_related("item")
    return {lot.pk: lot for lot in lots}


def _takes(request, lines: list[TakeLineIn], cleaner: Cleaner) -> list[services.Take]:
    items = _items(line.item_code for line in lines)
    lots = _lots(request, (line.lot_id for line in lines))
    takes = []
    for index, line in enumerate(lines):
        lot = lots.get(line.lot_id) if line.lot_id else None
        item = items.get(line.item_code) if line.item_code else None
        if line.lot_id and lot is None:
            cleaner.fail(f"lines.{index}.lot_id", _("批次不存在"))
        if line.item_code and item is None:
            cleaner.fail(f"lines.{index}.item_code", _("物资编码不存在"))
        if lot is not None and item is not None and lot.item_id != item.pk:
            cleaner.fail(f"lines.{index}.item_code", _("批次与物资不符"))
        takes.append(services.Take(quantity=line.quantity, lot=lot, item=item))
    return takes


def _visible(model, request, pk, field: str, message):
    if pk is None:
        return None
    found = model.objects.visible_to(request.user).filter(pk=pk).first()
    if found is None:
        raise InvalidInput(_("输入有误，请检查标注的字段"), details={field: message})
    return found


# --- movements ---------------------------------------------------------------------------------


@router.post(
    "/depots/{depot_id}/receive",
    response={201: MovementDetail},
    summary="入库（RK）：每行成为一个批次，或并入同批号、同有效期、同库位的批次",
)
def receive(request, depot_id: ObjectId, payload: ReceiveIn):
    depot = depot_or_404(request, depot_id)
    cleaner = Cleaner()
    items = _items(line.item_code for line in payload.lines)
    places = {
        place.code: place
        for place in StorageLocation.objects.filter(
            depot=depot, code__in={line.location_code for line in payload.lines}
        )
    }
    lines = []
    for index, line in enumerate(payload.lines):
        item = items.get(line.item_code)
        if item is None:
            cleaner.fail(f"lines.{index}.item_code", _("物资编码不存在"))
        place = places.get(line.location_code) if line.location_code else None
        if line.location_code and place is None:
            cleaner.fail(f"lines.{index}.location_code", _("本库没有这个库位"))
        lines.append(
            services.Receipt(
                item=item,
                quantity=line.quantity,
                lot_no=line.lot_no.strip(),
                production_date=line.production_date,
                expiry_date=line.expiry_date,
                location=place,
            )
        )
    cleaner.done()
    with _as_sent():
        movement = services.receive_stock(
            actor=request.user,
            depot=depot,
            lines=lines,
            supplier=payload.supplier,
            reason=payload.reason,
            at=payload.at,
        )
    return Status(201, movement_detail(request, movement.pk))


@router.post(
    "/depots/{depot_id}/issue",
    response={201: MovementDetail},
    summary="出库（CK）：按批次或按物资先到期先出；库存不足或批次过期时整单不出（409）",
)
def issue(request, depot_id: ObjectId, payload: IssueIn):
    depot = depot_or_404(request, depot_id)
    cleaner = Cleaner()
    takes = _takes(request, payload.lines, cleaner)
    cleaner.done()
    recipient = _visible(
        Organization,
        request,
        payload.recipient_id,
        "recipient_id",
        _("领用单位不存在或不在您的管辖范围内"),
    )
    shelter = _visible(
        Shelter, request, payload.shelter_id, "shelter_id", _("避难场所不存在或不在您的管辖范围内")
    )
    with _as_sent():
        movement = services.issue_stock(
            actor=request.user,
            depot=depot,
            lines=takes,
            purpose=payload.purpose,
            incident_ref=payload.incident_ref,
            recipient=recipient,
            shelter=shelter,
            reason=payload.reason,
            expired_override=payload.expired_override,
            at=payload.at,
        )
    return Status(201, movement_detail(request, movement.pk))


@router.post(
    "/depots/{depot_id}/transfer",
    response={201: MovementDetail},
    summary="调拨（DBD）：逐批调入另一储备库（批号、日期不变）；调入库须在管辖范围内",
)
def transfer(request, depot_id: ObjectId, payload: TransferIn):
    depot = depot_or_404(request, depot_id)
    cleaner = Cleaner()
    takes = _takes(request, payload.lines, cleaner)
    cleaner.done()
    # Not the scoped queryset: the service decides whether the target is in the user's
    # scope and says so. An id that does not exist gets the very same answer, so the
    # refusal does not tell which depots exist elsewhere.
    to_depot = Depot.objects.select_related("region").filter(pk=payload.to_depot_id).first()
    if to_depot is None:
        message = _("调入库不在您的管辖范围内")
        raise InvalidInput(message, details={"to_depot_id": message})
    with _as_sent():
        movement = services.transfer_stock(
            actor=request.user,
            depot=depot,
            to_depot=to_depot,
            lines=takes,
            reason=payload.reason,
            expired_override=payload.expired_override,
            at=payload.at,
        )
    return Status(201, movement_detail(request, movement.pk))


@router.post(
    "/stock-lots/{lot_id}/adjust",
    response={201: MovementDetail},
    summary="调整（TZ）：报损、盘亏盘盈以外的更正，须说明事由",
)
def adjust(request, lot_id: ObjectId, payload: AdjustIn):
    lot = lot_or_404(request, lot_id)
    with _as_sent():
        movement = services.adjust_stock(
            actor=request.user, lot=lot, delta=payload.delta, reason=payload.reason, at=payload.at
        )
    return Status(201, movement_detail(request, movement.pk))


@router.post(
    "/depots/{depot_id}/stocktake",
    response={201: MovementDetail},
    summary="盘点（PD）：按实盘数量记差异，相符的批次也记一行",
)
def stocktake(request, depot_id: ObjectId, payload: StocktakeIn):
    depot = depot_or_404(request, depot_id)
    lots = _lots(request, (count.lot_id for count in payload.counts))
    cleaner = Cleaner()
    counts = []
    for index, count in enumerate(payload.counts):
        lot = lots.get(count.lot_id)
        if lot is None:
            cleaner.fail(f"counts.{index}.lot_id", _("批次不存在"))
        counts.append(services.Count(lot=lot, counted=count.counted))
    cleaner.done()
    with _as_sent():
        movement = services.record_stocktake(
            actor=request.user, depot=depot, counts=counts, note=payload.note, at=payload.at
        )
    return Status(201, movement_detail(request, movement.pk))


# --- re-derivation ----------------------------------------------------------------------------


@router.post(
    "/stock-ledger/rederive",
    response=RederiveOut,
    summary="由台账分录重算库存并核对结存（区县管理员、站长）；repair=true 按分录改正结存",
)
def rederive(request, payload: RederiveIn):
    depot = depot_or_404(request, payload.depot_id) if payload.depot_id else None
    report = services.check_ledger(actor=request.user, depot=depot, repair=payload.repair)
    return {
        "lots": report.lots,
        "mismatch_count": len(report.mismatches),
        "mismatches": [
            {"lot_id": lot_id, "stored": stored, "derived": derived}
            for lot_id, stored, derived in report.mismatches[:MAX_MISMATCHES_SHOWN]
        ],
        "repaired": report.repaired,
        "seconds": round(report.seconds, 3),
    }
