"""Experts (应急专家): who to call for a chemical leak, a landslide or a flood. Contact
details live on the person in the core registry, encrypted and masked like every phone."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.scoping import ScopedQuerySet


class ExpertField(models.TextChoices):
    HAZMAT = "hazmat", _("危险化学品")
    FIRE = "fire", _("消防")
    MINING = "mining", _("矿山")
    GEOLOGY = "geology", _("地质灾害")
    FLOOD = "flood", _("防汛抗旱")
    FOREST_FIRE = "forest_fire", _("森林防火")
    CONSTRUCTION = "construction", _("建筑施工")
    SPECIAL_EQUIPMENT = "special_equipment", _("特种设备")
    ELECTRICITY = "electricity", _("电力")
    MEDICAL = "medical", _("医疗救护")
    METEOROLOGY = "meteorology", _("气象")
    GENERAL = "general", _("综合安全")


class ExpertAvailability(models.TextChoices):
    AVAILABLE = "available", _("可联系")
    BUSY = "busy", _("任务中")
    UNAVAILABLE = "unavailable", _("暂不可用")


class Expert(models.Model):
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="+"
    )
    person = models.OneToOneField(
        "core.Person", verbose_name=_("人员"), on_delete=models.PROTECT, related_name="expert"
    )
    field = models.CharField(_("专业领域"), max_length=20, choices=ExpertField.choices)
    specialty = models.CharField(_("专长"), max_length=200, blank=True)
    title = models.CharField(_("职称"), max_length=40, blank=True)
    employer = models.CharField(_("工作单位"), max_length=120, blank=True)
    availability = models.CharField(
        _("可用状态"),
        max_length=12,
        choices=ExpertAvailability.choices,
        default=ExpertAvailability.AVAILABLE,
    )
    notes = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "应急专家")
        verbose_name_plural = pgettext_lazy("plural", "应急专家")
        ordering = ["region__code", "field", "id"]

    def __str__(self) -> str:
        return str(self.person)
