"""Buildings (一楼一档): one file per building, with its fire facilities and its people."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.crypto import EncryptedTextField, mask_phone
from frontline.core.scoping import ScopedQuerySet


def new_qr_token() -> str:
    return secrets.token_urlsafe(12)


class BuildingUse(models.TextChoices):
    RESIDENTIAL = "residential", _("住宅")
    SELF_BUILT = "self_built", _("农村自建房")
    MIXED = "mixed", _("商住混合")
    COMMERCIAL = "commercial", _("商业")
    OFFICE = "office", _("办公")
    INDUSTRIAL = "industrial", _("厂房")
    WAREHOUSE = "warehouse", _("仓储")
    PUBLIC = "public", _("公共建筑")
    OTHER = "other", _("其他")


class BuildingStructure(models.TextChoices):
    REINFORCED_CONCRETE = "reinforced_concrete", _("钢筋混凝土")
    BRICK_CONCRETE = "brick_concrete", _("砖混")
    BRICK_WOOD = "brick_wood", _("砖木")
    STEEL = "steel", _("钢结构")
    WOOD = "wood", _("木结构")
    EARTH_WOOD = "earth_wood", _("土木")
    OTHER = "other", _("其他")


class EbikeCharging(models.TextChoices):
    """Where residents charge electric bikes: the cause of most residential fires."""

    CENTRAL_SHED = "central_shed", _("集中充电棚")
    OUTDOOR_POINTS = "outdoor_points", _("室外充电桩")
    NONE_PROVIDED = "none_provided", _("未设充电设施")
    INDOOR_OBSERVED = "indoor_observed", _("发现入户/楼道充电")
    FLYING_LEADS = "flying_leads", _("发现飞线充电")


# Arrangements a grid worker must follow up: they are fire hazards in themselves.
UNSAFE_CHARGING = {EbikeCharging.INDOOR_OBSERVED, EbikeCharging.FLYING_LEADS}

# 高层 by GB 50016: residential buildings over 27 m, other buildings over 24 m. Without a
# measured height, ten floors above ground count as high-rise (about 3 m a floor).
HOUSING_USES = (BuildingUse.RESIDENTIAL, BuildingUse.SELF_BUILT)
HIGH_RISE_HOUSING_M = 27
HIGH_RISE_OTHER_M = 24
HIGH_RISE_FLOORS = 10


def high_rise_q() -> Q:
    """`Building.is_high_rise` as a filter, so lists and counts select what the page says."""
    return (
        Q(height_m__isnull=True, floors_above__gte=HIGH_RISE_FLOORS)
        | Q(use__in=HOUSING_USES, height_m__gt=HIGH_RISE_HOUSING_M)
        | (~Q(use__in=HOUSING_USES) & Q(height_m__gt=HIGH_RISE_OTHER_M))
    )


class Building(models.Model):
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属网格"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("楼栋名称"), max_length=120)
    address = models.CharField(_("地址"), max_length=200)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    use = models.CharField(_("用途"), max_length=20, choices=BuildingUse.choices)
    structure = models.CharField(_("结构"), max_length=24, choices=BuildingStructure.choices)
    floors_above = models.PositiveSmallIntegerField(_("地上层数"), default=1)
    floors_below = models.PositiveSmallIntegerField(_("地下层数"), default=0)
    height_m = models.FloatField(_("建筑高度（米）"), null=True, blank=True)
    year_built = models.PositiveSmallIntegerField(_("建成年份"), null=True, blank=True)
    floor_area = models.FloatField(_("建筑面积（㎡）"), null=True, blank=True)
    dwelling_units = models.PositiveIntegerField(_("户数"), default=0)
    # Fire facilities (消防设施), as counted on the last check.
    hydrants = models.PositiveSmallIntegerField(_("室内消火栓"), default=0)
    extinguishers = models.PositiveSmallIntegerField(_("灭火器"), default=0)
    smoke_alarms = models.PositiveSmallIntegerField(_("烟感报警器"), default=0)
    has_sprinklers = models.BooleanField(_("自动喷水灭火系统"), default=False)
    has_fire_alarm_system = models.BooleanField(_("火灾自动报警系统"), default=False)
    exits = models.PositiveSmallIntegerField(_("安全出口"), default=1)
    stairs = models.PositiveSmallIntegerField(_("疏散楼梯"), default=1)
    ebike_charging = models.CharField(
        _("电动自行车充电"), max_length=20, choices=EbikeCharging.choices, blank=True
    )
    responsible_name = models.CharField(_("消防安全责任人"), max_length=50, blank=True)
    responsible_phone = EncryptedTextField(_("责任人电话"), blank=True)
    notes = models.TextField(_("备注"), blank=True)
    # Printed on the building plate: the QR code opens the building's file.
    qr_token = models.CharField(max_length=32, unique=True, default=new_qr_token, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    SENSITIVE_FIELDS = {"responsible_phone": mask_phone}

    class Meta:
        verbose_name = pgettext_lazy("singular", "楼栋")
        verbose_name_plural = pgettext_lazy("plural", "楼栋")
        ordering = ["region__code", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="building_name_per_grid")
        ]
        indexes = [models.Index(fields=["use"])]

    def __str__(self) -> str:
        return self.name

    @property
    def responsible_phone_masked(self) -> str:
        return mask_phone(self.responsible_phone)

    @property
    def is_high_rise(self) -> bool:
        """高层 by GB 50016 (see `high_rise_q`, the same rule as a filter)."""
        if self.height_m is None:
            return self.floors_above >= HIGH_RISE_FLOORS
        limit = HIGH_RISE_HOUSING_M if self.use in HOUSING_USES else HIGH_RISE_OTHER_M
        return self.height_m > limit

    @property
    def charging_is_unsafe(self) -> bool:
        return self.ebike_charging in UNSAFE_CHARGING
