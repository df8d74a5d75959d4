"""The supplies catalogue, coded by GB/T 38565-2020 (应急物资分类及编码).

Seven digits in four levels, 1 + 2 + 2 + 2: class (1 basic living supplies, 2 equipment and
accessories, 3 engineering materials and machinery), then middle, small and fine classes,
each 01–99 with 99 the catch-all. Classes are `SupplyCategory` rows (1, 3 or 5 digits);
what a depot stocks is a `SupplyItem` (7 digits) under a small class. The catalogue is
national: every user reads the same one.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SupplyCategory(models.Model):
    code = models.CharField(_("分类代码"), max_length=5, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级分类"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        verbose_name = pgettext_lazy("singular", "物资分类")
        verbose_name_plural = pgettext_lazy("plural", "物资分类")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def level(self) -> int:
        return {1: 1, 3: 2, 5: 3}.get(len(self.code), 0)


class SupplyItem(models.Model):
    code = models.CharField(_("物资编码"), max_length=7, unique=True)
    category = models.ForeignKey(
        SupplyCategory, verbose_name=_("小类"), on_delete=models.PROTECT, related_name="items"
    )
    name = models.CharField(_("物资名称"), max_length=60)
    spec = models.CharField(_("规格型号"), max_length=120, blank=True)
    # Quantities are whole units; an item counted by weight takes a unit such as 袋 or 千克.
    unit = models.CharField(_("计量单位"), max_length=12)
    # Empty when the item does not expire (tents, pumps); a lot without its own expiry
    # date gets production date + shelf life.
    shelf_life_days = models.PositiveIntegerField(_("保质期（天）"), null=True, blank=True)
    # Days before expiry at which the near-expiry alert goes out.
    expiry_warning_days = models.PositiveIntegerField(_("临期提醒（天）"), default=30)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "物资品目")
        verbose_name_plural = pgettext_lazy("plural", "物资品目")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
