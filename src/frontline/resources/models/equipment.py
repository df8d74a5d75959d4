"""Equipment and vehicles (装备与车辆): what they can do, whether they can go now, and when
they are due for inspection and maintenance."""

from __future__ import annotations

from datetime import date

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.scoping import ScopedQuerySet
from frontline.resources.models.capabilities import unpack_capabilities


class EquipmentKind(models.TextChoices):
    FIRE_ENGINE = "fire_engine", _("消防车")
    RESCUE_VEHICLE = "rescue_vehicle", _("抢险救援车")
    AMBULANCE = "ambulance", _("救护车")
    TRUCK = "truck", _("运输车")
    BOAT = "boat", _("冲锋舟/救生艇")
    PUMP = "pump", _("抽水泵/排涝设备")
    GENERATOR = "generator", _("发电机")
    LIGHTING = "lighting", _("照明设备")
    BREATHING = "breathing", _("空气呼吸器")
    DRONE = "drone", _("无人机")
    RADIO = "radio", _("通信设备")
    EXCAVATOR = "excavator", _("工程机械")
    OTHER = "other", _("其他")


# Kinds that carry a number plate rather than (or besides) a serial number.
VEHICLE_KINDS = {
    EquipmentKind.FIRE_ENGINE,
    EquipmentKind.RESCUE_VEHICLE,
    EquipmentKind.AMBULANCE,
    EquipmentKind.TRUCK,
}


class EquipmentStatus(models.TextChoices):
    AVAILABLE = "available", _("可用")
    IN_USE = "in_use", _("使用中")
    MAINTENANCE = "maintenance", _("维修保养")
    OUT_OF_ORDER = "out_of_order", _("故障停用")


class Equipment(models.Model):
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("名称"), max_length=120)
    kind = models.CharField(_("类型"), max_length=20, choices=EquipmentKind.choices)
    model = models.CharField(_("型号"), max_length=80, blank=True)
    serial_no = models.CharField(_("出厂编号"), max_length=60, blank=True)
    plate_no = models.CharField(_("车牌号"), max_length=16, blank=True)
    capabilities = models.CharField(_("救援能力"), max_length=300, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=EquipmentStatus.choices, default=EquipmentStatus.AVAILABLE
    )
    team = models.ForeignKey(
        "resources.RescueTeam",
        verbose_name=_("配属队伍"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="equipment",
    )
    depot = models.ForeignKey(
        "resources.Depot",
        verbose_name=_("存放仓库"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="equipment",
    )
    # Home base: the team's or depot's position unless the equipment says otherwise.
    base_address = models.CharField(_("停放地点"), max_length=200, blank=True)
    lon = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))
    next_inspection_due = models.DateField(_("下次检验"), null=True, blank=True, db_index=True)
    next_maintenance_due = models.DateField(_("下次保养"), null=True, blank=True, db_index=True)
    notes = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    # Indexed: the nearby-search index checks MAX(updated_at) to know when to rebuild.
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True, db_index=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "装备")
        verbose_name_plural = pgettext_lazy("plural", "装备")
        ordering = ["region__code", "kind", "name", "id"]

    def __str__(self) -> str:
        return self.plate_no or self.name

    @property
    def capability_list(self) -> list[str]:
        return unpack_capabilities(self.capabilities)

    def overdue(self, today: date | None = None) -> list[str]:
        """Which of inspection and maintenance are past due."""
        today = today or timezone.localdate()
        due = []
        if self.next_inspection_due and self.next_inspection_due < today:
            due.append("inspection")
        if self.next_maintenance_due and self.next_maintenance_due < today:
            due.append("maintenance")
        return due
