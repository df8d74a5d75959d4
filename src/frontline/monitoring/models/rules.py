"""Alarm rules and their persisted state."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.monitoring.kinds import DeviceKind


class AlarmSeverity(models.TextChoices):
    CRITICAL = "critical", _("紧急")
    MAJOR = "major", _("重要")
    MINOR = "minor", _("次要")
    WARNING = "warning", _("提示")


SEVERITY_RANK = {
    AlarmSeverity.CRITICAL: 4,
    AlarmSeverity.MAJOR: 3,
    AlarmSeverity.MINOR: 2,
    AlarmSeverity.WARNING: 1,
}


class Condition(models.TextChoices):
    # 越限: past the threshold in the rule's direction (above or below).
    THRESHOLD = "threshold", _("越限")
    DURATION = "duration", _("持续越限")
    REPEAT = "repeat", _("多次越限")
    RATE = "rate", _("上升速率")
    OFFLINE = "offline", _("无数据（离线）")
    ANOMALY = "anomaly", _("偏离自身历史（异常）")


class Operator(models.TextChoices):
    GT = "gt", ">"
    GE = "ge", "≥"
    LT = "lt", "<"
    LE = "le", "≤"


class Rule(models.Model):
    """A default for every device of a kind (`device` empty), or an override for one device
    that replaces the default with the same alarm type."""

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("设备类型"), max_length=32, choices=DeviceKind.choices)
    device = models.ForeignKey(
        "monitoring.Device",
        verbose_name=_("指定设备"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="rules",
    )
    alarm_type = models.CharField(_("告警类型"), max_length=40)
    metric = models.CharField(_("指标"), max_length=32, blank=True)
    condition = models.CharField(_("条件"), max_length=16, choices=Condition.choices)
    operator = models.CharField(
        _("比较"), max_length=2, choices=Operator.choices, default=Operator.GE
    )
    threshold = models.FloatField(_("阈值"), null=True, blank=True)
    # Or the threshold is a value of the device: its approved occupancy, its warning level.
    threshold_attribute = models.CharField(_("阈值取设备参数"), max_length=40, blank=True)
    # Hysteresis: the alarm clears once the value is back past this (empty: the threshold).
    clear_threshold = models.FloatField(_("恢复阈值"), null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(_("持续时间（秒）"), default=0)
    repeat_count = models.PositiveIntegerField(_("次数"), default=0)
    window_seconds = models.PositiveIntegerField(_("统计窗口（秒）"), default=0)
    z_score = models.FloatField(_("偏离倍数（σ）"), null=True, blank=True)
    severity = models.CharField(_("级别"), max_length=16, choices=AlarmSeverity.choices)
    auto_clear = models.BooleanField(_("恢复后自动消除"), default=True)
    message = models.CharField(_("现场提示"), max_length=200, blank=True)
    enabled = models.BooleanField(_("启用"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "告警规则")
        verbose_name_plural = pgettext_lazy("plural", "告警规则")
        ordering = ["kind", "alarm_type", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "alarm_type"],
                condition=models.Q(device__isnull=True),
                name="one_default_rule_per_type",
            ),
            models.UniqueConstraint(
                fields=["device", "alarm_type"],
                condition=models.Q(device__isnull=False),
                name="one_override_per_device_type",
            ),
        ]

    def __str__(self) -> str:
        return self.name
