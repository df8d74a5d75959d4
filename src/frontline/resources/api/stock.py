"""/api/v1 of the stock ledger, the reading side: depots with their stock, lots, the stock
card of an item, movements with their lines. The writes are in `stock_writes.py`.

Everything is read through the scoped querysets: a depot, lot or movement the user may not
see is a 404. A movement is visible from both ends of a transfer, since it changed the stock
of both depots.
"""

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from ninja import Query, Router
from ninja.pagination import paginate

from frontline.core.pagination import Pages
from frontline.core.schemas import ObjectId
from frontline.resources.models import (
    Depot,
    LedgerEntry,
    StockLot,
    StockMinimum,
    StockMovement,
    SupplyItem,
)
from frontline.resources.schemas_stock import (
    CardEntryOut,
    DepotDetail,
    DepotFilter,
    DepotOut,
    LotDetail,
    LotFilter,
    LotOut,
    MovementDetail,
    MovementFilter,
    MovementOut,
)
from frontline.resources.services import stock as services

router = Router(tags=["resources"])

_MOVEMENT_RELATED = ("depot", "to_depot", "actor__person", "recipient", "shelter")


# --- lookups the writes share ----------------------------------------------------------------


def depots_of(request):
    low = (
        StockMinimum.objects.filter(depot=OuterRef("pk"), low_since__isnull=False)
        .order_by()
        .values("depot")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Depot.objects.visible_to(request.user)
        .select_related("region", "keeper")
        .annotate(low_items=Coalesce(Subquery(low, output_field=IntegerField()), 0))
    )


def depot_or_404(request, depot_id: int) -> Depot:
    depot = depots_of(request).filter(pk=depot_id).first()
    if depot is None:
        raise Http404
    return depot


def lot_or_404(request, lot_id: int) -> StockLot:
    lot = (
        StockLot.objects.visible_to(request.user)
        .select_related("item", "location", "depot__region")
        .filter(pk=lot_id)
        .first()
    )
    if lot is None:
        raise Http404
    return lot


def movements_of(request):
    """Movements of the depots the user sees, from either end of a transfer."""
    visible = Depot.objects.visible_to(request.user).values("pk")
    return StockMovement.objects.filter(
        Q(depot__in=visible) | Q(to_depot__in=visible)
    ).select_related(*_MOVEMENT_RELATED)


def movement_detail(request, movement_id: int) -> StockMovement:
    movement = movements_of(request).filter(pk=movement_id).first()
    if movement is None:
        raise Http404
    movement.lines = list(
        movement.entries.select_related("lot", "item").order_by("id")  # posting order
    )
    return movement


# --- depots ----------------------------------------------------------------------------------


@router.get(
    "/depots",
    response=list[DepotOut],
    summary="应急物资储备库列表（按类型、状态、区划、低库存、关键字筛选）",
)
@paginate(Pages)
def list_depots(request, filters: Query[DepotFilter]):
    return filters.filter(depots_of(request)).order_by("region__code", "kind", "name", "id")


@router.get(
    "/depots/{depot_id}",
    response=DepotDetail,
    summary="储备库详情（含按物资汇总的库存、最低储备量和库位）",
)
def depot_detail(request, depot_id: ObjectId):
    depot = depot_or_404(request, depot_id)
    depot.stock = services.stock_summary(depot)
    depot.location_list = list(depot.locations.order_by("code"))
    return depot


@router.get(
    "/depots/{depot_id}/lots",
    response=list[LotOut],
    summary="储备库的物资批次（按物资编码、临期天数、是否过期、是否有库存筛选；先到期在前）",
)
@paginate(Pages)
def list_lots(request, depot_id: ObjectId, filters: Query[LotFilter]):
    depot = depot_or_404(request, depot_id)
    lots = StockLot.objects.filter(depot=depot).select_related("item", "location")
    return filters.filter(lots).order_by("item__code", "expiry_date", "received_at", "id")


@router.get(
    "/depots/{depot_id}/stock-card/{item_code}",
    response=list[CardEntryOut],
    summary="物资卡片：一个储备库中一种物资的全部分录，按记账顺序，含批次结存与合计结存",
)
@paginate(Pages)
def stock_card(request, depot_id: ObjectId, item_code: str):
    depot = depot_or_404(request, depot_id)
    item = SupplyItem.objects.filter(code=item_code).first()
    if item is None:
        raise Http404
    entries = LedgerEntry.objects.filter(depot=depot, item=item).select_related(
        "lot", "movement__depot", "movement__to_depot", "movement__recipient", "movement__shelter"
    )
    return RunningTotal(entries)


class RunningTotal:
    """A stock card read a page at a time, in posting order (entry id), each row with the
    item's total in the depot right after it: the sum of the entries before the page (one
    aggregate) plus the page's own deltas. Three queries a page, however long the card."""

    ordered = True

    def __init__(self, entries):
        self.entries = entries.order_by("id")

    def all(self):
        return self

    def count(self) -> int:
        return self.entries.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window):
        if not isinstance(window, slice):
            raise TypeError("RunningTotal is read a page (a slice) at a time")
        rows = list(self.entries[window])
        if not rows:
            return rows
        total = (
            self.entries.filter(id__lt=rows[0].pk).order_by().aggregate(total=Sum("delta"))["total"]
            or 0
        )
        for row in rows:
            total += row.delta
            row.total = total
        return rows


# --- lots ------------------------------------------------------------------------------------


@router.get(
    "/stock-lots/{lot_id}",
    response=LotDetail,
    summary="物资批次详情（含本批次的台账分录）",
)
def lot_detail(request, lot_id: ObjectId):
    lot = lot_or_404(request, lot_id)
    lot.entries_list = list(lot.entries.select_related("movement").order_by("id"))
    return lot


# --- movements -------------------------------------------------------------------------------


@router.get(
    "/stock-movements",
    response=list[MovementOut],
    summary="出入库单列表（按业务类型、储备库、日期、事件筛选；新的在前）",
)
@paginate(Pages)
def list_movements(request, filters: Query[MovementFilter]):
    return filters.filter(movements_of(request)).order_by("-at", "-id")


@router.get(
    "/stock-movements/{movement_id}",
    response=MovementDetail,
    summary="出入库单详情（含各批次分录）",
)
def get_movement(request, movement_id: ObjectId):
    return movement_detail(request, movement_id)


# Last: the writes import the lookups above.
router.add_router("", "frontline.resources.api.stock_writes.router")
