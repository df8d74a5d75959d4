"""Emergency shelters (应急避难场所) and the people registered in them.

Class III shelters hold people up to 10 days, class II 10–30 days, class I 30 days or more.
Capacity follows the living area at more than 1.5 m² per person; a larger capacity needs a
stated reason. Occupancy is kept on the shelter by the check-in and check-out services in
the same transaction as the registration, so the map and the shelter page read it directly.
Evacuee registration follows the forms of GB/T 33744: who, household, where from, needs,
when in, when out, where they went.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.crypto import EncryptedTextField, mask_id_number, mask_name, mask_phone
from frontline.core.scoping import ScopedQuerySet

# More than 1.5 m² of living area per person (DOMAIN.md).
AREA_PER_PERSON_M2 = 1.5


def capacity_for_area(area_m2: float) -> int:
    """The most people an area holds at the 1.5 m² rule."""
    return max(0, math.floor(area_m2 / AREA_PER_PERSON_M2 + 1e-9))


class ShelterClass(models.TextChoices):
    CLASS_I = "I", _("Ⅰ类（30天以上）")
    CLASS_II = "II", _("Ⅱ类（10至30天）")
    CLASS_III = "III", _("Ⅲ类（10天以内）")


class ShelterLevel(models.TextChoices):
    PROVINCE = "province", _("省级")
    CITY = "city", _("市级")
    COUNTY = "county", _("县级")
    TOWNSHIP = "township", _("乡镇（街道）级")
    VILLAGE = "village", _("村（社区）级")


class ShelterStatus(models.TextChoices):
    CLOSED = "closed", _("未启用")
    OPEN = "open", _("已开放")
    FULL = "full", _("已满员")


class ShelterFacility(models.TextChoices):
    WATER = "water", _("应急供水")
    POWER = "power", _("应急供电")
    TOILETS = "toilets", _("应急厕所")
    MEDICAL = "medical", _("医疗救护")
    KITCHEN = "kitchen", _("应急厨房/食品")
    BEDS = "beds", _("床铺")
    BROADCAST = "broadcast", _("应急广播")
    LIGHTING = "lighting", _("应急照明")
    FIRE = "fire", _("消防设施")
    ACCESSIBLE = "accessible", _("无障碍设施")
    WASTE = "waste", _("垃圾收集")


class Shelter(models.Model):
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("名称"), max_length=120)
    shelter_class = models.CharField(_("类别"), max_length=4, choices=ShelterClass.choices)
    level = models.CharField(_("级别"), max_length=12, choices=ShelterLevel.choices)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lon = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))
    usable_area_m2 = models.FloatField(_("有效避难面积（平方米）"))
    capacity = models.PositiveIntegerField(_("容纳人数"))
    # Required when the capacity exceeds what the area holds at 1.5 m² per person.
    capacity_reason = models.CharField(_("超出面积标准的理由"), max_length=200, blank=True)
    facilities = models.CharField(_("配套设施"), max_length=300, blank=True)
    manager = models.ForeignKey(
        "core.Person",
        verbose_name=_("管理人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_shelters",
    )
    status = models.CharField(
        _("状态"), max_length=8, choices=ShelterStatus.choices, default=ShelterStatus.CLOSED
    )
    occupancy = models.PositiveIntegerField(_("当前安置人数"), default=0)
    opened_at = models.DateTimeField(_("启用时间"), null=True, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    # Indexed: the nearby-search index checks MAX(updated_at) to know when to rebuild.
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True, db_index=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "避难场所")
        verbose_name_plural = pgettext_lazy("plural", "避难场所")
        ordering = ["region__code", "shelter_class", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="shelter_name_per_region"),
            models.CheckConstraint(
                condition=models.Q(usable_area_m2__gt=0), name="shelter_area_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def area_capacity(self) -> int:
        return capacity_for_area(self.usable_area_m2)

    @property
    def facility_list(self) -> list[str]:
        return [value for value in (self.facilities or "").split(",") if value]

    @property
    def occupancy_percent(self) -> int:
        if not self.capacity:
            return 0
        return min(100, round(100 * self.occupancy / self.capacity))


class EvacueeNeed(models.TextChoices):
    ELDERLY = "elderly", _("老年人")
    CHILD = "child", _("儿童")
    INFANT = "infant", _("婴幼儿")
    PREGNANT = "pregnant", _("孕产妇")
    DISABLED = "disabled", _("残疾人")
    SICK = "sick", _("伤病员")
    MEDICATION = "medication", _("需长期服药")
    DIET = "diet", _("特殊饮食")


class Gender(models.TextChoices):
    MALE = "male", _("男")
    FEMALE = "female", _("女")


class EvacueeQuerySet(ScopedQuerySet):
    scope_path_field = "shelter__region__path"

    def present(self):
        return self.filter(checked_out_at__isnull=True)


class Evacuee(models.Model):
    """One person's stay in a shelter (避难人员登记, GB/T 33744)."""

    shelter = models.ForeignKey(
        Shelter, verbose_name=_("避难场所"), on_delete=models.PROTECT, related_name="evacuees"
    )
    name = models.CharField(_("姓名"), max_length=50)
    gender = models.CharField(_("性别"), max_length=8, choices=Gender.choices, blank=True)
    age = models.PositiveSmallIntegerField(_("年龄"), null=True, blank=True)
    id_number = EncryptedTextField(_("身份证号"), blank=True)
    # Keyed digest of the ID number (core.crypto.keyed_digest), like a resident's: finds a
    # person already present in a shelter with one indexed lookup, without decrypting.
    id_digest = models.CharField(max_length=64, blank=True, default="", editable=False)
    phone = EncryptedTextField(_("联系电话"), blank=True)
    # People who arrived together share the head of household's name and a group number.
    household_head = models.CharField(_("户主"), max_length=50, blank=True)
    group_no = models.PositiveIntegerField(_("家庭编号"), null=True, blank=True)
    home_address = models.CharField(_("原住址"), max_length=200, blank=True)
    resident = models.ForeignKey(
        "community.Resident",
        verbose_name=_("居民档案"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="shelter_stays",
    )
    # Needs are health data: encrypted like the resident's categories.
    needs = EncryptedTextField(_("特殊需求"), blank=True)
    needs_note = EncryptedTextField(_("需求说明"), blank=True)
    bed_no = models.CharField(_("床位/区域"), max_length=20, blank=True)
    checked_in_at = models.DateTimeField(_("入住时间"), default=timezone.now)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    checked_out_at = models.DateTimeField(_("离开时间"), null=True, blank=True)
    destination = models.CharField(_("去向"), max_length=120, blank=True)

    objects = EvacueeQuerySet.as_manager()

    SENSITIVE_FIELDS = {
        "name": mask_name,
        "id_number": mask_id_number,
        "phone": mask_phone,
        "needs": lambda value: "***" if value else "",
        "needs_note": lambda value: "***" if value else "",
    }

    class Meta:
        verbose_name = pgettext_lazy("singular", "避难人员")
        verbose_name_plural = pgettext_lazy("plural", "避难人员")
        ordering = ["-checked_in_at", "-id"]
        indexes = [models.Index(fields=["shelter", "checked_out_at"])]
        constraints = [
            # A person is in one shelter at a time: people are moved, not duplicated.
            models.UniqueConstraint(
                fields=["id_digest"],
                condition=models.Q(checked_out_at__isnull=True) & ~models.Q(id_digest=""),
                name="one_open_stay_per_id_number",
            )
        ]

    def __str__(self) -> str:
        return mask_name(self.name)

    @property
    def need_list(self) -> list[str]:
        return [value for value in (self.needs or "").split(",") if value]

    @property
    def is_present(self) -> bool:
        return self.checked_out_at is None
