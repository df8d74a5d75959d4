"""Supervised objects: enterprises, their major hazard installations, and places."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.crypto import EncryptedTextField, mask_phone
from frontline.core.scoping import ScopedQuerySet


class RiskColour(models.TextChoices):
    """双重预防 grading: 重大 red, 较大 orange, 一般 yellow, 低 blue."""

    RED = "red", _("重大风险（红）")
    ORANGE = "orange", _("较大风险（橙）")
    YELLOW = "yellow", _("一般风险（黄）")
    BLUE = "blue", _("低风险（蓝）")


# Highest first: an enterprise takes the colour of its worst risk point.
COLOUR_RANK = {RiskColour.RED: 4, RiskColour.ORANGE: 3, RiskColour.YELLOW: 2, RiskColour.BLUE: 1}


class Industry(models.TextChoices):
    TEXTILES = "textiles", _("纺织")
    DYEING = "dyeing", _("印染")
    CHEMICALS = "chemicals", _("化工")
    HAZCHEM_TRADE = "hazchem_trade", _("危险化学品经营")
    FIREWORKS = "fireworks", _("烟花爆竹")
    MACHINERY = "machinery", _("机械制造")
    BREWING = "brewing", _("酿酒")
    MINING = "mining", _("非煤矿山")
    CONSTRUCTION = "construction", _("建筑施工")
    WAREHOUSING = "warehousing", _("仓储物流")
    METALLURGY = "metallurgy", _("冶金")
    OTHER = "other", _("其他")


def new_qr_token() -> str:
    return secrets.token_urlsafe(12)


class SupervisedObject(models.Model):
    """What enterprises and places share: a name, a place on the map, a region."""

    name = models.CharField(_("名称"), max_length=150)
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="+"
    )
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    risk_colour = models.CharField(
        _("风险等级"), max_length=8, choices=RiskColour.choices, blank=True
    )
    # Printed on the door plate: the QR code opens the object's page for a logged-in user.
    qr_token = models.CharField(max_length=32, unique=True, default=new_qr_token, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


class Enterprise(SupervisedObject):
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    industry = models.CharField(_("行业"), max_length=20, choices=Industry.choices)
    above_scale = models.BooleanField(_("规上企业"), default=False)
    employees = models.PositiveIntegerField(_("从业人员"), null=True, blank=True)
    legal_representative = models.CharField(_("法定代表人"), max_length=50, blank=True)
    safety_officer = models.CharField(_("安全管理员"), max_length=50, blank=True)
    safety_officer_phone = EncryptedTextField(_("安全管理员电话"), blank=True)
    organization = models.OneToOneField(
        "core.Organization",
        verbose_name=_("对应单位"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="enterprise",
    )

    SENSITIVE_FIELDS = {"safety_officer_phone": mask_phone}

    class Meta:
        verbose_name = pgettext_lazy("singular", "企业")
        verbose_name_plural = pgettext_lazy("plural", "企业")
        ordering = ["region__code", "name"]
        indexes = [models.Index(fields=["industry"]), models.Index(fields=["risk_colour"])]

    @property
    def safety_officer_phone_masked(self) -> str:
        return mask_phone(self.safety_officer_phone)


class MajorHazardInstallation(models.Model):
    """重大危险源 (GB 18218), levels 1 (highest) to 4."""

    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, related_name="major_hazards", verbose_name=_("企业")
    )
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("名称"), max_length=150)
    level = models.PositiveSmallIntegerField(
        _("等级"), choices=[(1, _("一级")), (2, _("二级")), (3, _("三级")), (4, _("四级"))]
    )
    # [{"name": "液氨", "quantity_t": 12.5, "threshold_t": 10}]
    substances = models.JSONField(_("危险物质及数量"), default=list, blank=True)
    filing_number = models.CharField(_("备案编号"), max_length=60, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "重大危险源")
        verbose_name_plural = pgettext_lazy("plural", "重大危险源")
        ordering = ["level", "name"]

    def __str__(self) -> str:
        return self.name


class PlaceCategory(models.TextChoices):
    # 人员密集场所
    MALL = "mall", _("商场市场")
    STATION = "station", _("车站码头")
    VENUE = "venue", _("体育文化场馆")
    ELDERLY_HOME = "elderly_home", _("养老机构")
    HOSPITAL = "hospital", _("医院")
    # 九小场所
    SMALL_SHOP = "small_shop", _("小商店")
    RESTAURANT = "restaurant", _("小餐饮")
    HOTEL = "hotel", _("小旅馆")
    ENTERTAINMENT = "entertainment", _("小歌舞娱乐场所")
    INTERNET_CAFE = "internet_cafe", _("小网吧")
    SALON = "salon", _("小美容洗浴场所")
    CLINIC = "clinic", _("小医院（诊所）")
    SCHOOL = "school", _("小学校、幼儿园")
    WORKSHOP = "workshop", _("小生产加工企业")
    WAREHOUSE = "warehouse", _("小仓库")


CROWDED_PLACES = {
    PlaceCategory.MALL,
    PlaceCategory.STATION,
    PlaceCategory.VENUE,
    PlaceCategory.ELDERLY_HOME,
    PlaceCategory.HOSPITAL,
}


class Place(SupervisedObject):
    category = models.CharField(_("场所类别"), max_length=20, choices=PlaceCategory.choices)
    operator = models.CharField(_("经营者/负责人"), max_length=50, blank=True)
    operator_phone = EncryptedTextField(_("负责人电话"), blank=True)
    floor_area = models.FloatField(_("建筑面积（㎡）"), null=True, blank=True)
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("所属企业"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="places",
    )

    SENSITIVE_FIELDS = {"operator_phone": mask_phone}

    class Meta:
        verbose_name = pgettext_lazy("singular", "场所")
        verbose_name_plural = pgettext_lazy("plural", "场所")
        ordering = ["region__code", "name"]
        indexes = [models.Index(fields=["category"])]

    @property
    def is_crowded(self) -> bool:
        return self.category in CROWDED_PLACES
