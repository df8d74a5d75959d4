"""Organizations (stations, brigades, departments, rescue teams) and the people in them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.crypto import EncryptedTextField, mask_id_number, mask_phone
from frontline.core.scoping import ScopedQuerySet


class OrganizationKind(models.TextChoices):
    BUREAU = "bureau", _("应急管理局")
    STATION = "station", _("应急管理站/所")
    COMMUNITY_STATION = "community_station", _("社区应急救援站")
    GOVERNMENT = "government", _("乡镇政府/街道办")
    VILLAGE_COMMITTEE = "village_committee", _("村（居）委会")
    FIRE_BRIGADE = "fire_brigade", _("消防救援队")
    FULLTIME_FIRE_TEAM = "fulltime_fire_team", _("专职消防队")
    MICRO_FIRE_STATION = "micro_fire_station", _("微型消防站")
    RESCUE_SQUAD = "rescue_squad", _("综合应急救援队")
    DEPARTMENT = "department", _("部门")
    SOCIAL_RESCUE = "social_rescue", _("社会救援队伍")
    EXPERT_GROUP = "expert_group", _("专家组")
    ENTERPRISE = "enterprise", _("企业")


class Organization(models.Model):
    name = models.CharField(_("名称"), max_length=120)
    kind = models.CharField(_("类型"), max_length=32, choices=OrganizationKind.choices)
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="+"
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级单位"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="units",
    )
    duty_phone = models.CharField(_("值班电话"), max_length=32, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "单位")
        verbose_name_plural = pgettext_lazy("plural", "单位")
        ordering = ["region__code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="organization_name_per_region")
        ]

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    name = models.CharField(_("姓名"), max_length=50, db_index=True)
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("所属单位"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="people",
    )
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="+"
    )
    position = models.CharField(_("职务"), max_length=60, blank=True)
    mobile = EncryptedTextField(_("手机号"), blank=True)
    # Last four digits kept in clear so people can be told apart and searched by phone tail.
    mobile_tail = models.CharField(max_length=4, blank=True, db_index=True, editable=False)
    office_phone = models.CharField(_("办公电话"), max_length=32, blank=True)
    id_number = EncryptedTextField(_("身份证号"), blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登录账号"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    # Fields shown masked unless the viewer may and asks to see them in clear.
    SENSITIVE_FIELDS = {"mobile": mask_phone, "id_number": mask_id_number}

    class Meta:
        verbose_name = pgettext_lazy("singular", "人员")
        verbose_name_plural = pgettext_lazy("plural", "人员")
        ordering = ["region__code", "name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def mobile_masked(self) -> str:
        return mask_phone(self.mobile)

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)
