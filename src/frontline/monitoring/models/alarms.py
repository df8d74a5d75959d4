"""Alarms: one open alarm per (device, alarm type); repeats update it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.models.audit import EventBase
from frontline.core.scoping import ScopedQuerySet
from frontline.monitoring.models.rules import AlarmSeverity


class AlarmState(models.TextChoices):
    ACTIVE = "active", _("未确认")
    ACKNOWLEDGED = "acknowledged", _("已确认")
    CLEARED = "cleared", _("已消除")


OPEN_ALARM_STATES = (AlarmState.ACTIVE, AlarmState.ACKNOWLEDGED)


class Alarm(models.Model):
    device = models.ForeignKey(
        "monitoring.Device", verbose_name=_("设备"), on_delete=models.CASCADE, related_name="alarms"
    )
    alarm_type = models.CharField(_("告警类型"), max_length=40)
    rule = models.ForeignKey(
        "monitoring.Rule",
        verbose_name=_("规则"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    severity = models.CharField(_("级别"), max_length=16, choices=AlarmSeverity.choices)
    state = models.CharField(
        _("状态"), max_length=16, choices=AlarmState.choices, default=AlarmState.ACTIVE
    )
    title = models.CharField(_("告警内容"), max_length=200)
    message = models.CharField(_("现场提示"), max_length=200, blank=True)
    value = models.FloatField(_("触发值"), null=True, blank=True)
    detail = models.JSONField(_("附加信息"), default=dict, blank=True)
    # Copied from the device when raised, so counts by place, enterprise, village and
    # township need no join and stay right if the device moves later.
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="+"
    )
    enterprise = models.ForeignKey(
        "hazards.Enterprise",
        verbose_name=_("所属企业"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    place = models.ForeignKey(
        "hazards.Place",
        verbose_name=_("所属场所"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    count = models.PositiveIntegerField(_("次数"), default=1)
    first_at = models.DateTimeField(_("首次发生"))
    last_at = models.DateTimeField(_("最近发生"))
    raised_at = models.DateTimeField(_("生成时间"), auto_now_add=True, db_index=True)
    acknowledged_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    cleared_at = models.DateTimeField(_("消除时间"), null=True, blank=True)
    supervised_task = models.ForeignKey(
        "core.SupervisedTask",
        verbose_name=_("督办任务"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    hazard = models.ForeignKey(
        "hazards.Hazard",
        verbose_name=_("转为隐患"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "告警")
        verbose_name_plural = pgettext_lazy("plural", "告警")
        ordering = ["-last_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "alarm_type"],
                condition=models.Q(state__in=OPEN_ALARM_STATES),
                name="one_open_alarm_per_type",
            )
        ]
        indexes = [
            models.Index(fields=["state", "-last_at"]),
            models.Index(fields=["region", "state"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_ALARM_STATES


class AlarmEvent(EventBase):
    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="events")

    class Meta(EventBase.Meta):
        verbose_name = pgettext_lazy("singular", "告警事件")
        verbose_name_plural = pgettext_lazy("plural", "告警事件")
