"""Households, residents and the vulnerable people among them (重点人群).

What the law counts as sensitive (ID numbers, health, disability, children's data) is
encrypted at rest; the categories a person belongs to are themselves health data, so they
are encrypted too. What evacuation must know at a glance stays in clear: that a person needs
attention (`is_vulnerable`) and how they move (`mobility`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.crypto import EncryptedTextField, mask_id_number, mask_name, mask_phone
from frontline.core.scoping import ScopedQuerySet


class HomeRisk(models.TextChoices):
    DILAPIDATED = "dilapidated", _("危房")
    LOW_LYING = "low_lying", _("低洼易涝")
    GEOHAZARD = "geohazard", _("地质灾害隐患区")


class Household(models.Model):
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属网格"), on_delete=models.PROTECT, related_name="+"
    )
    building = models.ForeignKey(
        "community.Building",
        verbose_name=_("楼栋"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="households",
    )
    # The door plate: "3单元502" in a building, or the whole address of a house.
    address = models.CharField(_("门牌地址"), max_length=200)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    group_leader = models.ForeignKey(
        "core.Person",
        verbose_name=_("十户长"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_households",
    )
    dilapidated = models.BooleanField(_("危房"), default=False)
    low_lying = models.BooleanField(_("低洼易涝"), default=False)
    geohazard = models.BooleanField(_("地质灾害隐患区"), default=False)
    notes = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "住户")
        verbose_name_plural = pgettext_lazy("plural", "住户")
        ordering = ["region__code", "address", "id"]
        constraints = [
            models.UniqueConstraint(fields=["region", "address"], name="household_address_per_grid")
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def home_risks(self) -> list[str]:
        return [risk for risk in HomeRisk.values if getattr(self, risk)]


class VulnerableCategory(models.TextChoices):
    ELDERLY_ALONE = "elderly_alone", _("独居老人")
    AGED_80 = "aged_80", _("80岁以上高龄老人")
    DISABLED = "disabled", _("残疾人")
    BEDRIDDEN = "bedridden", _("失能/卧床需照护")
    LEFT_BEHIND_CHILD = "left_behind_child", _("留守儿童")
    PREGNANT = "pregnant", _("孕产妇")
    CHRONIC_ILLNESS = "chronic_illness", _("慢性病患者")
    MEDICAL_DEVICE = "medical_device", _("依赖电动医疗设备")
    OTHER = "other", _("其他需关注人员")


class Mobility(models.TextChoices):
    """How a person leaves home in an evacuation: what the rescuers must bring."""

    WALKS = "walks", _("可自行转移")
    NEEDS_HELP = "needs_help", _("需搀扶/轮椅")
    STRETCHER = "stretcher", _("需担架")


class Gender(models.TextChoices):
    MALE = "male", _("男")
    FEMALE = "female", _("女")


class Relation(models.TextChoices):
    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    PARENT = "parent", _("父母")
    GRANDCHILD = "grandchild", _("孙子女")
    OTHER = "other", _("其他")


class Resident(models.Model):
    household = models.ForeignKey(
        Household, verbose_name=_("住户"), on_delete=models.CASCADE, related_name="residents"
    )
    # The household's grid, kept here so scoping reads one table.
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属网格"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("姓名"), max_length=50, db_index=True)
    gender = models.CharField(_("性别"), max_length=8, choices=Gender.choices, blank=True)
    birth_year = models.PositiveSmallIntegerField(_("出生年份"), null=True, blank=True)
    relation = models.CharField(
        _("与户主关系"), max_length=16, choices=Relation.choices, default=Relation.OTHER
    )
    id_number = EncryptedTextField(_("身份证号"), blank=True)
    # Keyed digest of the ID number: finds duplicates and answers "is this person here"
    # without decrypting every row.
    id_digest = models.CharField(max_length=64, null=True, blank=True, editable=False, unique=True)
    phone = EncryptedTextField(_("联系电话"), blank=True)
    phone_tail = models.CharField(max_length=4, blank=True, db_index=True, editable=False)
    is_vulnerable = models.BooleanField(_("重点人群"), default=False, db_index=True)
    # Comma-separated VulnerableCategory values, encrypted: membership is health data.
    categories = EncryptedTextField(_("重点人群类别"), blank=True)
    health_notes = EncryptedTextField(_("健康与照护说明"), blank=True)
    mobility = models.CharField(_("行动能力"), max_length=16, choices=Mobility.choices, blank=True)
    helper = models.ForeignKey(
        "core.Person",
        verbose_name=_("包保责任人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="helped_residents",
    )
    backup_helper = models.ForeignKey(
        "core.Person",
        verbose_name=_("备用包保人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="backup_helped_residents",
    )
    last_visited_at = models.DateTimeField(_("最近走访"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    # Who may see them in clear: see core.roles (the grid worker who visits is among them).
    REVEAL_CAPABILITY = "view_resident_data"
    SENSITIVE_FIELDS = {
        # The name is kept in clear (it is searched and sorted) but shown masked in lists,
        # exports and pages; the clear name is a logged view like the others.
        "name": mask_name,
        "id_number": mask_id_number,
        "phone": mask_phone,
        "categories": lambda value: "***" if value else "",
        "health_notes": lambda value: "***" if value else "",
    }

    class Meta:
        verbose_name = pgettext_lazy("singular", "居民")
        verbose_name_plural = pgettext_lazy("plural", "居民")
        ordering = ["region__code", "household_id", "id"]
        indexes = [models.Index(fields=["region", "is_vulnerable"])]

    def __str__(self) -> str:
        return self.name

    @property
    def category_list(self) -> list[str]:
        return [code for code in (self.categories or "").split(",") if code]

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)


class HouseholdVisit(models.Model):
    """A home visit (走访) by a grid worker or station staff, of the household or of one of
    its residents."""

    household = models.ForeignKey(
        Household, verbose_name=_("住户"), on_delete=models.CASCADE, related_name="visits"
    )
    resident = models.ForeignKey(
        Resident,
        verbose_name=_("走访对象"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visits",
    )
    # The household's grid, kept here so scoping reads one table.
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属网格"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("走访时间"), db_index=True)
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("走访人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.TextField(_("走访情况"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "走访记录")
        verbose_name_plural = pgettext_lazy("plural", "走访记录")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["household", "-at"])]

    def __str__(self) -> str:
        return f"{self.household} {self.at:%Y-%m-%d}"
