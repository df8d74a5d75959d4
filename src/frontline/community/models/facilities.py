"""Public safety facilities (公共安全设施) and their periodic checks."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.community.models.buildings import new_qr_token
from frontline.core.scoping import ScopedQuerySet


class FacilityKind(models.TextChoices):
    HYDRANT = "hydrant", _("室外消火栓")
    EXTINGUISHER_POINT = "extinguisher_point", _("灭火器配置点")
    AED = "aed", _("AED 自动体外除颤器")
    MICRO_FIRE_STATION = "micro_fire_station", _("微型消防站")
    LOUDSPEAKER = "loudspeaker", _("应急广播/大喇叭")
    SHELTER_SIGN = "shelter_sign", _("避难场所指示牌")
    WATER_SOURCE = "water_source", _("消防取水点")
    OTHER = "other", _("其他")


# Days between checks when the facility does not say otherwise: monthly for what a
# fire or a cardiac arrest needs at once, quarterly for signs and loudspeakers.
DEFAULT_CHECK_DAYS = {
    FacilityKind.HYDRANT: 30,
    FacilityKind.EXTINGUISHER_POINT: 30,
    FacilityKind.AED: 30,
    FacilityKind.MICRO_FIRE_STATION: 30,
    FacilityKind.LOUDSPEAKER: 90,
    FacilityKind.SHELTER_SIGN: 90,
    FacilityKind.WATER_SOURCE: 90,
    FacilityKind.OTHER: 90,
}


class FacilityStatus(models.TextChoices):
    NORMAL = "normal", _("完好")
    FAULTY = "faulty", _("损坏待修")
    MISSING = "missing", _("缺失")
    RETIRED = "retired", _("已撤除")


class SafetyFacility(models.Model):
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属网格"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("设施类型"), max_length=24, choices=FacilityKind.choices)
    name = models.CharField(_("名称/编号"), max_length=120)
    address = models.CharField(_("位置说明"), max_length=200, blank=True)
    lon = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))
    building = models.ForeignKey(
        "community.Building",
        verbose_name=_("所在楼栋"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="facilities",
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=FacilityStatus.choices, default=FacilityStatus.NORMAL
    )
    check_every_days = models.PositiveSmallIntegerField(_("检查周期（天）"), default=30)
    last_checked_at = models.DateTimeField(_("最近检查"), null=True, blank=True)
    # Stored when a check is recorded, never recomputed: lists filter on it directly.
    next_check_due = models.DateField(_("下次检查"), db_index=True)
    keeper = models.ForeignKey(
        "core.Person",
        verbose_name=_("管护人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="kept_facilities",
    )
    notes = models.TextField(_("备注"), blank=True)
    qr_token = models.CharField(max_length=32, unique=True, default=new_qr_token, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "公共安全设施")
        verbose_name_plural = pgettext_lazy("plural", "公共安全设施")
        ordering = ["region__code", "kind", "name", "id"]
        indexes = [models.Index(fields=["region", "next_check_due"])]

    def __str__(self) -> str:
        return self.name

    def is_overdue(self, today: date | None = None) -> bool:
        if self.status == FacilityStatus.RETIRED:
            return False
        return self.next_check_due < (today or timezone.localdate())


class FacilityCheck(models.Model):
    facility = models.ForeignKey(
        SafetyFacility, verbose_name=_("设施"), on_delete=models.CASCADE, related_name="checks"
    )
    at = models.DateTimeField(_("检查时间"), default=timezone.now)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("检查人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(_("检查结果"), max_length=16, choices=FacilityStatus.choices)
    note = models.TextField(_("说明"), blank=True)
    patrol_check_in = models.ForeignKey(
        "community.PatrolCheckIn",
        verbose_name=_("巡查打卡"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="facility_checks",
    )

    class Meta:
        verbose_name = pgettext_lazy("singular", "设施检查记录")
        verbose_name_plural = pgettext_lazy("plural", "设施检查记录")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.facility} {self.at:%Y-%m-%d}"
