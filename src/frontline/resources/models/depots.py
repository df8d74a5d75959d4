"""Depots (应急物资储备库) and the storage places inside them.

A station keeps the four depots of the seed (四库); the county keeps its own. A depot is
scoped by its region like everything else: the county sees every depot, a township its own.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.scoping import ScopedQuerySet


class DepotKind(models.TextChoices):
    PRODUCTION_SAFETY = "production_safety", _("安全生产救援器材库")
    FLOOD = "flood", _("防汛防台抗旱物资库")
    FOREST_FIRE = "forest_fire", _("森林防火物资库")
    RELIEF = "relief", _("救灾物资库")
    COMPREHENSIVE = "comprehensive", _("综合应急物资库")


# The four depots every township station keeps (四库), in the order the seed names them.
FOUR_DEPOTS = [
    DepotKind.PRODUCTION_SAFETY,
    DepotKind.FLOOD,
    DepotKind.FOREST_FIRE,
    DepotKind.RELIEF,
]


class DepotStatus(models.TextChoices):
    IN_USE = "in_use", _("在用")
    SUSPENDED = "suspended", _("停用")


class Depot(models.Model):
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("名称"), max_length=120)
    kind = models.CharField(_("类型"), max_length=24, choices=DepotKind.choices)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lon = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))
    keeper = models.ForeignKey(
        "core.Person",
        verbose_name=_("保管人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="kept_depots",
    )
    # Floor area and volume as the depot's file records them; neither limits the ledger.
    area_m2 = models.FloatField(_("面积（平方米）"), null=True, blank=True)
    capacity_m3 = models.FloatField(_("库容（立方米）"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=DepotStatus.choices, default=DepotStatus.IN_USE
    )
    notes = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    # Indexed: the nearby-search index checks MAX(updated_at) to know when to rebuild.
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True, db_index=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "物资储备库")
        verbose_name_plural = pgettext_lazy("plural", "物资储备库")
        ordering = ["region__code", "kind", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="depot_name_per_region")
        ]

    def __str__(self) -> str:
        return self.name


class StorageLocationQuerySet(ScopedQuerySet):
    scope_path_field = "depot__region__path"


class StorageLocation(models.Model):
    depot = models.ForeignKey(
        Depot, verbose_name=_("储备库"), on_delete=models.CASCADE, related_name="locations"
    )
    # Shelf or zone as painted in the depot, e.g. "A-01-02".
    code = models.CharField(_("库位编号"), max_length=32)
    name = models.CharField(_("说明"), max_length=60, blank=True)

    objects = StorageLocationQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "库位")
        verbose_name_plural = pgettext_lazy("plural", "库位")
        ordering = ["depot_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["depot", "code"], name="location_code_per_depot")
        ]

    def __str__(self) -> str:
        return self.code
