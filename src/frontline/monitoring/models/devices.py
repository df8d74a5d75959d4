"""Devices and what they measured: observations and the latest value of each metric."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.scoping import ScopedQuerySet
from frontline.monitoring.kinds import DeviceKind
from frontline.monitoring.models.instants import InstantField


class DeviceStatus(models.TextChoices):
    ONLINE = "online", _("在线")
    OFFLINE = "offline", _("离线")
    FAULT = "fault", _("故障")


class Device(models.Model):
    # The device's own id: the MQTT topic segment, the GB/T 26875.3 address in decimal.
    code = models.CharField(_("设备编码"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("设备类型"), max_length=32, choices=DeviceKind.choices)
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="+"
    )
    enterprise = models.ForeignKey(
        "hazards.Enterprise",
        verbose_name=_("所属企业"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="devices",
    )
    place = models.ForeignKey(
        "hazards.Place",
        verbose_name=_("所属场所"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="devices",
    )
    # The building (一楼一档) and the household a home device watches: a smoke alarm in the
    # flat of an elderly person living alone tells their one-to-one helper.
    building = models.ForeignKey(
        "community.Building",
        verbose_name=_("所在楼栋"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="devices",
    )
    household = models.ForeignKey(
        "community.Household",
        verbose_name=_("所在住户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="devices",
    )
    # Where exactly: the floor, the room, the workshop.
    location = models.CharField(_("安装位置"), max_length=200, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    # Values the rules compare against, set per device: {"occupancy_limit": 30, ...}.
    attributes = models.JSONField(_("设备参数"), default=dict, blank=True)
    token_hash = models.CharField(max_length=64, editable=False)
    token_prefix = models.CharField(_("令牌前缀"), max_length=8, editable=False)
    status = models.CharField(
        _("状态"), max_length=16, choices=DeviceStatus.choices, default=DeviceStatus.OFFLINE
    )
    last_seen_at = models.DateTimeField(_("最后上报"), null=True, blank=True)
    status_changed_at = models.DateTimeField(_("状态变更时间"), null=True, blank=True)
    offline_after_minutes = models.PositiveIntegerField(_("离线判定（分钟）"), default=30)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "监测设备")
        verbose_name_plural = pgettext_lazy("plural", "监测设备")
        ordering = ["region__code", "code"]
        indexes = [
            models.Index(fields=["region", "status"]),
            models.Index(fields=["status", "last_seen_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class Observation(models.Model):
    """One stored reading. (device, metric, time) is the key: a reading sent twice is kept
    once, which is what makes redelivery after a crash harmless.

    The key is the table itself (on SQLite a WITHOUT ROWID table, see migration 0004):
    no row id and no second index to keep, so each reading is one B-tree insert. There is
    no foreign-key constraint in the database: PostgreSQL would check every reading against
    the device table, which costs more than storing the reading. Ingest writes readings of
    registered devices only, and deleting a device deletes its readings (Django's cascade)."""

    pk = models.CompositePrimaryKey("device", "metric", "at")
    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    metric = models.CharField(_("指标"), max_length=32)
    at = InstantField(_("时间"))
    value = models.FloatField(_("数值"))

    class Meta:
        verbose_name = pgettext_lazy("singular", "监测数据")
        verbose_name_plural = pgettext_lazy("plural", "监测数据")

    def __str__(self) -> str:
        return f"{self.metric}={self.value:g} @ {self.at:%Y-%m-%d %H:%M:%S}"


class LatestValue(models.Model):
    """The newest reading of one metric of a device, and what the rules on that metric
    remember about the device (since when a threshold is exceeded, recent hits, the last
    value, the running mean and variance of the anomaly model), keyed by rule id. Ingest
    reads and writes both in one statement each per batch; the rules' memory is written
    with the batch that changed it, so a restart continues where it stopped."""

    pk = models.CompositePrimaryKey("device", "metric")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="latest")
    metric = models.CharField(_("指标"), max_length=32)
    at = InstantField(_("时间"))
    value = models.FloatField(_("数值"))
    rule_states = models.JSONField(default=dict)

    class Meta:
        verbose_name = pgettext_lazy("singular", "最新值")
        verbose_name_plural = pgettext_lazy("plural", "最新值")

    def __str__(self) -> str:
        return f"{self.metric}={self.value:g}"
