"""The stock ledger (物资台账): lots, the movements people sign, and the append-only entries
from which every quantity is derived.

- A `StockLot` is one batch of one item in one depot (lot number, production date, expiry,
  storage place). Its `quantity` is a running total kept in the same transaction as the
  entries that change it, so lists read it directly; `services.stock.rederive_stock`
  recomputes it from the entries and must find the same numbers.
- A `StockMovement` is the document: receive, issue, transfer, adjust or stocktake, with
  its number, who, when, why, and where the goods went.
- A `LedgerEntry` is one signed change of one lot by one movement. Entries are only ever
  added; a mistake is corrected by a new adjusting movement, never by editing a row.

Quantities are whole units of the item's unit and never go below zero: the services
decrement with a conditional UPDATE (`quantity >= n`), so two people issuing the last unit
at the same moment cannot both succeed.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.scoping import ScopedQuerySet


class DepotScopedQuerySet(ScopedQuerySet):
    scope_path_field = "depot__region__path"


class StockLot(models.Model):
    depot = models.ForeignKey(
        "resources.Depot", verbose_name=_("储备库"), on_delete=models.PROTECT, related_name="lots"
    )
    item = models.ForeignKey(
        "resources.SupplyItem",
        verbose_name=_("物资"),
        on_delete=models.PROTECT,
        related_name="lots",
    )
    location = models.ForeignKey(
        "resources.StorageLocation",
        verbose_name=_("库位"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="lots",
    )
    lot_no = models.CharField(_("批号"), max_length=40, blank=True)
    production_date = models.DateField(_("生产日期"), null=True, blank=True)
    expiry_date = models.DateField(_("有效期至"), null=True, blank=True, db_index=True)
    quantity = models.BigIntegerField(_("结存数量"), default=0)
    received_at = models.DateTimeField(_("入库时间"), default=timezone.now)
    # Set when the near-expiry alert for this lot has gone out, so it goes out once.
    expiry_alerted_at = models.DateTimeField(_("临期提醒时间"), null=True, blank=True)

    objects = DepotScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "物资批次")
        verbose_name_plural = pgettext_lazy("plural", "物资批次")
        ordering = ["depot_id", "item_id", "expiry_date", "id"]
        indexes = [models.Index(fields=["depot", "item"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=0), name="stock_lot_quantity_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.item} {self.lot_no}".strip()

    def is_expired(self, today: date | None = None) -> bool:
        return self.expiry_date is not None and self.expiry_date < (today or timezone.localdate())


class StockMinimum(models.Model):
    """The level below which a depot must restock an item (最低储备量)."""

    depot = models.ForeignKey(
        "resources.Depot",
        verbose_name=_("储备库"),
        on_delete=models.CASCADE,
        related_name="minimums",
    )
    item = models.ForeignKey(
        "resources.SupplyItem", verbose_name=_("物资"), on_delete=models.PROTECT, related_name="+"
    )
    minimum = models.PositiveIntegerField(_("最低储备量"))
    # Set when the low-stock alert went out and cleared when the stock is back above the
    # minimum, so one shortage raises one alert.
    low_since = models.DateTimeField(_("低于下限时间"), null=True, blank=True)

    objects = DepotScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "最低储备量")
        verbose_name_plural = pgettext_lazy("plural", "最低储备量")
        ordering = ["depot_id", "item__code"]
        constraints = [
            models.UniqueConstraint(fields=["depot", "item"], name="one_minimum_per_depot_item")
        ]

    def __str__(self) -> str:
        return f"{self.depot} {self.item}: {self.minimum}"


class MovementKind(models.TextChoices):
    RECEIVE = "receive", _("入库")
    ISSUE = "issue", _("出库")
    TRANSFER = "transfer", _("调拨")
    ADJUST = "adjust", _("调整")
    STOCKTAKE = "stocktake", _("盘点")


# Prefixes of the movement numbers people quote (RK-330603101-2026-00012).
MOVEMENT_PREFIX = {
    MovementKind.RECEIVE: "RK",
    MovementKind.ISSUE: "CK",
    MovementKind.TRANSFER: "DBD",
    MovementKind.ADJUST: "TZ",
    MovementKind.STOCKTAKE: "PD",
}


class IssuePurpose(models.TextChoices):
    INCIDENT = "incident", _("突发事件处置")
    UNIT = "unit", _("调配给单位")
    SHELTER = "shelter", _("避难场所发放")
    DRILL = "drill", _("演练/培训")
    SCRAP = "scrap", _("报废")
    OTHER = "other", _("其他")


class StockMovement(models.Model):
    number = models.CharField(_("单号"), max_length=40, unique=True)
    kind = models.CharField(_("业务类型"), max_length=12, choices=MovementKind.choices)
    depot = models.ForeignKey(
        "resources.Depot",
        verbose_name=_("储备库"),
        on_delete=models.PROTECT,
        related_name="movements",
    )
    # The receiving depot of a transfer.
    to_depot = models.ForeignKey(
        "resources.Depot",
        verbose_name=_("调入库"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="incoming_movements",
    )
    at = models.DateTimeField(_("业务时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    purpose = models.CharField(
        _("出库用途"), max_length=12, choices=IssuePurpose.choices, blank=True
    )
    # Where an issue went: an incident (its number until the incidents app links it), a
    # unit, or a shelter.
    incident_ref = models.CharField(_("事件编号/名称"), max_length=120, blank=True)
    recipient = models.ForeignKey(
        "core.Organization",
        verbose_name=_("领用单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    shelter = models.ForeignKey(
        "resources.Shelter",
        verbose_name=_("避难场所"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supply_movements",
    )
    supplier = models.CharField(_("来源/供应单位"), max_length=120, blank=True)
    # The number of the paper or other system's document an imported movement came from
    # (单据号): a depot cannot book the same document twice, so re-importing a file is refused
    # instead of doubling the stock.
    source_number = models.CharField(_("原单据号"), max_length=60, blank=True)
    reason = models.CharField(_("事由"), max_length=200, blank=True)
    # An expired lot may leave the depot only when someone says so (scrap, a drill).
    expired_override = models.BooleanField(_("允许发出过期物资"), default=False)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    objects = DepotScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "出入库单")
        verbose_name_plural = pgettext_lazy("plural", "出入库单")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["depot", "at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["depot", "source_number"],
                condition=~models.Q(source_number=""),
                name="source_number_per_depot",
            )
        ]

    def __str__(self) -> str:
        return self.number


class LedgerEntry(models.Model):
    movement = models.ForeignKey(
        StockMovement, verbose_name=_("单据"), on_delete=models.PROTECT, related_name="entries"
    )
    lot = models.ForeignKey(
        StockLot, verbose_name=_("批次"), on_delete=models.PROTECT, related_name="entries"
    )
    # Copied from the lot so a stock card (depot, item, by date) reads one index.
    depot = models.ForeignKey(
        "resources.Depot", verbose_name=_("储备库"), on_delete=models.PROTECT, related_name="+"
    )
    item = models.ForeignKey(
        "resources.SupplyItem", verbose_name=_("物资"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("业务时间"))
    delta = models.BigIntegerField(_("变动数量"))
    # The lot's quantity right after this entry; a stock card prints it as the balance.
    balance = models.BigIntegerField(_("批次结存"))
    # A stocktake line records what was counted and what the book said.
    counted = models.BigIntegerField(_("实盘数量"), null=True, blank=True)

    objects = DepotScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "台账分录")
        verbose_name_plural = pgettext_lazy("plural", "台账分录")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["depot", "item", "at"])]

    def __str__(self) -> str:
        return f"{self.movement} {self.delta:+d}"
