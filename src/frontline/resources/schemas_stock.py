"""Schemas of the stock ledger API (/api/v1/depots, /stock-lots, /stock-movements).

Field names of the request bodies are what the error details name: a 422 on
`lines.2.quantity` points at the third line's quantity as the client sent it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from django.db.models import Q
from django.utils import timezone
from ninja import Field, FilterLookup, FilterSchema, Schema

from frontline.core.schemas import ObjectId, region_subtree_q
from frontline.core.schemas_tasks import actor_name
from frontline.resources.models import DepotKind, DepotStatus, IssuePurpose, MovementKind
from frontline.resources.services.stock import MAX_LINES, MAX_QUANTITY

Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY, description="整数，计量单位见物资")]
ItemCode = Annotated[str, Field(pattern=r"^[0-9]{7}$", description="GB/T 38565 七位物资编码")]


# --- depots ----------------------------------------------------------------------------------


class DepotOut(Schema):
    id: int
    name: str
    kind: DepotKind
    kind_label: str = Field(alias="get_kind_display")
    status: DepotStatus
    status_label: str = Field(alias="get_status_display")
    region_code: str = Field(alias="region.code")
    region_name: str = Field(alias="region.name")
    address: str
    lon: float = Field(description="经度（WGS-84）")
    lat: float = Field(description="纬度（WGS-84）")
    keeper_id: int | None
    keeper_name: str | None = Field(None, alias="keeper.name")
    keeper_phone: str = Field("", description="保管人手机（脱敏）")
    area_m2: float | None
    capacity_m3: float | None
    low_items: int = Field(description="低于最低储备量的物资种数")
    updated_at: datetime

    @staticmethod
    def resolve_keeper_phone(obj) -> str:
        return obj.keeper.mobile_masked if obj.keeper_id else ""


class StockLineOut(Schema):
    item_id: int
    item_code: str
    item_name: str
    unit: str
    quantity: int = Field(description="库存合计（各批次结存之和）")
    lots: int = Field(description="有库存的批次数")
    nearest_expiry: date | None = Field(description="有库存批次中最早的有效期")
    minimum: int | None = Field(description="最低储备量；未设置为空")
    low: bool = Field(description="低于最低储备量")


class LocationOut(Schema):
    id: int
    code: str
    name: str


class DepotDetail(DepotOut):
    notes: str
    stock: list[StockLineOut] = Field(description="按物资汇总的库存，按物资编码排序")
    locations: list[LocationOut] = Field(alias="location_list", description="库位")


class DepotFilter(FilterSchema):
    kind: DepotKind | None = None
    status: DepotStatus | None = None
    region: str | None = Field(None, description="区划代码（含下级）")
    low: bool | None = Field(None, description="true：有物资低于最低储备量")
    q: Annotated[str | None, FilterLookup(["name__icontains", "address__icontains"])] = Field(
        None, max_length=100, description="名称或地址包含"
    )

    def filter_region(self, value):
        return region_subtree_q(value)

    def filter_low(self, value):
        if value is None:
            return Q()
        return Q(low_items__gt=0) if value else Q(low_items=0)


# --- lots ------------------------------------------------------------------------------------


class LotOut(Schema):
    id: int
    depot_id: int
    item_id: int
    item_code: str = Field(alias="item.code")
    item_name: str = Field(alias="item.name")
    unit: str = Field(alias="item.unit")
    lot_no: str
    production_date: date | None
    expiry_date: date | None
    quantity: int = Field(description="结存数量（流水累计，可由台账重算）")
    location_code: str | None = Field(None, alias="location.code")
    received_at: datetime
    expiry_alerted_at: datetime | None = Field(description="临期提醒已发出的时间")
    is_expired: bool
    days_to_expiry: int | None = Field(description="距有效期天数；已过期为负")

    @staticmethod
    def resolve_is_expired(obj) -> bool:
        return obj.is_expired()

    @staticmethod
    def resolve_days_to_expiry(obj) -> int | None:
        if obj.expiry_date is None:
            return None
        return (obj.expiry_date - timezone.localdate()).days


class LotFilter(FilterSchema):
    item: Annotated[str | None, FilterLookup("item__code")] = Field(
        None, max_length=7, description="物资编码"
    )
    near_expiry_days: int | None = Field(None, ge=0, le=3650, description="N 天内到期（未过期）")
    expired: bool | None = Field(None, description="true：已过期；false：未过期或不过期")
    in_stock: bool | None = Field(None, description="true：有库存；false：已出完")

    def filter_near_expiry_days(self, value):
        if value is None:
            return Q()
        today = timezone.localdate()
        return Q(expiry_date__gte=today, expiry_date__lte=today + timedelta(days=value))

    def filter_expired(self, value):
        if value is None:
            return Q()
        query = Q(expiry_date__lt=timezone.localdate())
        return query if value else ~query

    def filter_in_stock(self, value):
        if value is None:
            return Q()
        return Q(quantity__gt=0) if value else Q(quantity=0)


class LotEntryOut(Schema):
    id: int
    at: datetime
    movement_id: int
    movement_number: str = Field(alias="movement.number")
    kind: MovementKind = Field(alias="movement.kind")
    kind_label: str = Field(alias="movement.get_kind_display")
    delta: int
    balance: int = Field(description="本批次变动后结存")
    counted: int | None = Field(description="盘点实盘数（盘点行）")


class LotDetail(LotOut):
    depot_name: str = Field(alias="depot.name")
    entries: list[LotEntryOut] = Field(
        alias="entries_list", description="本批次的台账分录，按记账顺序"
    )


# --- stock card ------------------------------------------------------------------------------


class CardEntryOut(Schema):
    id: int
    at: datetime
    movement_id: int
    movement_number: str = Field(alias="movement.number")
    kind: MovementKind = Field(alias="movement.kind")
    kind_label: str = Field(alias="movement.get_kind_display")
    purpose: str = Field(alias="movement.purpose")
    incident_ref: str = Field(alias="movement.incident_ref")
    counterpart: str = Field(description="来源、领用单位、事件或调入/调出库")
    lot_id: int
    lot_no: str = Field(alias="lot.lot_no")
    expiry_date: date | None = Field(alias="lot.expiry_date")
    delta: int = Field(description="变动数量：入为正，出为负")
    lot_balance: int = Field(alias="balance", description="本批次变动后结存")
    total: int = Field(description="本库该物资变动后合计")
    counted: int | None

    @staticmethod
    def resolve_counterpart(obj) -> str:
        movement = obj.movement
        if movement.kind == MovementKind.TRANSFER:
            other = movement.to_depot if obj.delta < 0 else movement.depot
            return other.name if other is not None else ""
        if movement.kind == MovementKind.RECEIVE:
            return movement.supplier
        if movement.kind == MovementKind.ISSUE:
            if movement.recipient_id:
                return movement.recipient.name
            if movement.shelter_id:
                return movement.shelter.name
            return movement.incident_ref
        return movement.reason


# --- movements -------------------------------------------------------------------------------


class MovementOut(Schema):
    id: int
    number: str = Field(description="单号，如 CK-330603001-2026-00012")
    kind: MovementKind
    kind_label: str = Field(alias="get_kind_display")
    depot_id: int
    depot_name: str = Field(alias="depot.name")
    to_depot_id: int | None
    to_depot_name: str | None = Field(None, alias="to_depot.name")
    at: datetime
    actor_id: int | None
    actor_name: str | None = None
    purpose: str
    purpose_label: str = Field(alias="get_purpose_display")
    incident_ref: str
    recipient_id: int | None
    recipient_name: str | None = Field(None, alias="recipient.name")
    shelter_id: int | None
    shelter_name: str | None = Field(None, alias="shelter.name")
    supplier: str
    reason: str
    expired_override: bool
    created_at: datetime

    @staticmethod
    def resolve_actor_name(obj) -> str | None:
        return actor_name(obj.actor)


class MovementLineOut(Schema):
    id: int
    depot_id: int
    lot_id: int
    lot_no: str = Field(alias="lot.lot_no")
    item_id: int
    item_code: str = Field(alias="item.code")
    item_name: str = Field(alias="item.name")
    unit: str = Field(alias="item.unit")
    expiry_date: date | None = Field(alias="lot.expiry_date")
    delta: int
    balance: int = Field(description="本批次变动后结存")
    counted: int | None = Field(description="盘点实盘数（盘点单）")


class MovementDetail(MovementOut):
    lines: list[MovementLineOut] = Field(description="台账分录，按记账顺序")


class MovementFilter(FilterSchema):
    kind: MovementKind | None = None
    depot: ObjectId | None = Field(None, description="储备库编号（调出或调入）")
    since: date | None = Field(None, description="业务日期起（含）")
    until: date | None = Field(None, description="业务日期止（含）")
    incident_ref: Annotated[str | None, FilterLookup("incident_ref__icontains")] = Field(
        None, max_length=120, description="事件编号或名称包含"
    )
    number: Annotated[str | None, FilterLookup("number__icontains")] = Field(
        None, max_length=40, description="单号包含"
    )

    def filter_depot(self, value):
        return Q() if value is None else Q(depot_id=value) | Q(to_depot_id=value)

    def filter_since(self, value):
        return Q() if value is None else Q(at__gte=_day_start(value))

    def filter_until(self, value):
        return Q() if value is None else Q(at__lt=_day_start(value + timedelta(days=1)))


def _day_start(day: date) -> datetime:
    # Dates are days in Asia/Shanghai, the stations' calendar.
    return timezone.make_aware(datetime(day.year, day.month, day.day))


# --- writes ----------------------------------------------------------------------------------


class ReceiptLineIn(Schema):
    item_code: ItemCode
    quantity: Quantity
    lot_no: str = Field("", max_length=40)
    production_date: date | None = None
    expiry_date: date | None = Field(None, description="空：按生产日期加保质期")
    location_code: str | None = Field(None, max_length=32, description="本库库位编号")


class ReceiveIn(Schema):
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=MAX_LINES)
    supplier: str = Field("", max_length=120)
    reason: str = Field("", max_length=200)
    at: datetime | None = Field(None, description="业务时间，空为现在；不能晚于现在")


class TakeLineIn(Schema):
    lot_id: ObjectId | None = Field(None, description="指定批次")
    item_code: ItemCode | None = Field(None, description="不指定批次时按有效期先到先出")
    quantity: Quantity


class IssueIn(Schema):
    lines: list[TakeLineIn] = Field(min_length=1, max_length=MAX_LINES)
    purpose: IssuePurpose
    incident_ref: str = Field("", max_length=120, description="发往突发事件时必填")
    recipient_id: ObjectId | None = Field(None, description="领用单位（调配给单位时必填）")
    shelter_id: ObjectId | None = Field(None, description="避难场所（避难场所发放时必填）")
    reason: str = Field("", max_length=200)
    expired_override: bool = Field(False, description="允许发出过期物资（须说明事由）")
    at: datetime | None = None


class TransferIn(Schema):
    to_depot_id: ObjectId
    lines: list[TakeLineIn] = Field(min_length=1, max_length=MAX_LINES)
    reason: str = Field("", max_length=200)
    expired_override: bool = False
    at: datetime | None = None


class AdjustIn(Schema):
    delta: int = Field(
        ge=-MAX_QUANTITY, le=MAX_QUANTITY, description="调整数量，正为增加、负为减少，不能为 0"
    )
    reason: str = Field(max_length=200, description="事由（必填）")
    at: datetime | None = None


class CountIn(Schema):
    lot_id: ObjectId
    counted: int = Field(ge=0, le=MAX_QUANTITY, description="实盘数量")


class StocktakeIn(Schema):
    counts: list[CountIn] = Field(min_length=1, max_length=MAX_LINES)
    note: str = Field("", max_length=200)
    at: datetime | None = None


class RederiveIn(Schema):
    depot_id: ObjectId | None = Field(None, description="只核对一个储备库；空为管辖范围内全部")
    repair: bool = Field(False, description="按台账分录改正结存（仅系统管理员）")


class MismatchOut(Schema):
    lot_id: int
    stored: int = Field(description="批次上记的结存")
    derived: int = Field(description="由台账分录重算的结存")


class RederiveOut(Schema):
    lots: int = Field(description="核对的批次数")
    mismatch_count: int
    mismatches: list[MismatchOut] = Field(description="不一致的批次（最多 500 条）")
    repaired: int
    seconds: float
