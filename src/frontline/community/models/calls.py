"""Community calls (社区呼叫、部门到位、限时督办、整改落实 — 吹哨报到).

A grid worker or the station blows the whistle; the department gets a supervised task with
a time limit to report on site and one to fix; the station watches the clock and escalates;
only the caller closes the call, by confirming the fix and rating it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.models.audit import EventBase
from frontline.core.scoping import ScopedQuerySet


class CallCategory(models.TextChoices):
    FIRE = "fire", _("消防安全")
    WATER = "water", _("供水排水/防汛")
    POWER = "power", _("供电")
    GAS = "gas", _("燃气")
    POLICE = "police", _("治安")
    HOUSING = "housing", _("房屋安全")
    ROADS = "roads", _("道路交通")
    MARKET = "market", _("市场监管")
    HEALTH = "health", _("卫生健康")
    ENVIRONMENT = "environment", _("环境卫生")
    OTHER = "other", _("其他")


class CallState(models.TextChoices):
    CALLED = "called", _("已呼叫")
    ON_SITE = "on_site", _("已报到")
    FIXED = "fixed", _("待确认")
    CLOSED = "closed", _("已办结")
    WITHDRAWN = "withdrawn", _("已撤回")


OPEN_CALL_STATES = (CallState.CALLED, CallState.ON_SITE, CallState.FIXED)


class CommunityCall(models.Model):
    number = models.CharField(_("编号"), max_length=40, unique=True)
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("事项"), max_length=200)
    description = models.TextField(_("情况说明"), blank=True)
    category = models.CharField(_("类别"), max_length=16, choices=CallCategory.choices)
    address = models.CharField(_("地点"), max_length=200, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    building = models.ForeignKey(
        "community.Building",
        verbose_name=_("楼栋"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )
    department = models.ForeignKey(
        "core.Organization",
        verbose_name=_("责任部门"),
        on_delete=models.PROTECT,
        related_name="community_calls",
    )
    task = models.OneToOneField(
        "core.SupervisedTask",
        verbose_name=_("督办任务"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="community_call",
    )
    state = models.CharField(
        _("状态"), max_length=16, choices=CallState.choices, default=CallState.CALLED
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("呼叫人"),
        on_delete=models.PROTECT,
        related_name="community_calls",
    )
    raised_at = models.DateTimeField(_("呼叫时间"), default=timezone.now)
    # Stored deadlines: the sweep compares them with the clock.
    arrive_by = models.DateTimeField(_("报到时限"))
    fix_by = models.DateTimeField(_("整改时限"))
    next_escalation_at = models.DateTimeField(_("下次升级检查"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("升级次数"), default=0)
    arrived_at = models.DateTimeField(_("报到时间"), null=True, blank=True)
    fixed_at = models.DateTimeField(_("整改完成时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(_("满意度评价"), null=True, blank=True)
    rating_note = models.TextField(_("评价意见"), blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "社区呼叫")
        verbose_name_plural = pgettext_lazy("plural", "社区呼叫")
        ordering = ["-raised_at", "-id"]
        indexes = [
            models.Index(fields=["state", "next_escalation_at"]),
            models.Index(fields=["region", "raised_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("call_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_CALL_STATES


class CommunityCallEvent(EventBase):
    call = models.ForeignKey(CommunityCall, on_delete=models.CASCADE, related_name="events")

    class Meta(EventBase.Meta):
        verbose_name = pgettext_lazy("singular", "社区呼叫事件")
        verbose_name_plural = pgettext_lazy("plural", "社区呼叫事件")
