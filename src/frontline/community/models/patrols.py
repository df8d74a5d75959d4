"""Patrols (网格巡查): plans with checkpoints, runs walked on the phone, check-ins, findings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.community.models.buildings import new_qr_token
from frontline.core.scoping import ScopedQuerySet


def default_rounds() -> list[list[str]]:
    """Twice a day, morning and afternoon: the seed's grid workers walk their grid so."""
    return [["08:00", "12:00"], ["14:00", "18:00"]]


class PatrolPlan(models.Model):
    region = models.ForeignKey(
        "core.Region", verbose_name=_("网格"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("巡查计划"), max_length=120)
    # Local time windows, one per round: [["08:00", "12:00"], ["14:00", "18:00"]].
    rounds = models.JSONField(_("巡查时段"), default=default_rounds)
    is_active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "巡查计划")
        verbose_name_plural = pgettext_lazy("plural", "巡查计划")
        ordering = ["region__code", "name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def rounds_per_day(self) -> int:
        return len(self.rounds or [])


class CheckpointQuerySet(ScopedQuerySet):
    scope_path_field = "plan__region__path"


class Checkpoint(models.Model):
    plan = models.ForeignKey(
        PatrolPlan, verbose_name=_("巡查计划"), on_delete=models.CASCADE, related_name="checkpoints"
    )
    order = models.PositiveSmallIntegerField(_("顺序"), default=0)
    name = models.CharField(_("点位名称"), max_length=120)
    lon = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))
    radius_m = models.PositiveSmallIntegerField(_("打卡半径（米）"), default=50)
    building = models.ForeignKey(
        "community.Building",
        verbose_name=_("楼栋"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    facility = models.ForeignKey(
        "community.SafetyFacility",
        verbose_name=_("设施"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Printed on a plate at the point: scanning it is a check-in that needs no GPS.
    qr_token = models.CharField(max_length=32, unique=True, default=new_qr_token, editable=False)

    objects = CheckpointQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "巡查点位")
        verbose_name_plural = pgettext_lazy("plural", "巡查点位")
        ordering = ["plan_id", "order", "id"]

    def __str__(self) -> str:
        return self.name


class RunState(models.TextChoices):
    WALKING = "walking", _("巡查中")
    FINISHED = "finished", _("已完成")
    ABANDONED = "abandoned", _("已中止")


def complete_runs() -> models.Q:
    """A round counts as walked when its run was finished with every checkpoint checked in
    without a flag: a run ended early, or with a check-in from afar, is a run, not a round."""
    return models.Q(state=RunState.FINISHED, points_checked__gte=models.F("points_total"))


class PatrolRun(models.Model):
    plan = models.ForeignKey(
        PatrolPlan, verbose_name=_("巡查计划"), on_delete=models.PROTECT, related_name="runs"
    )
    region = models.ForeignKey(
        "core.Region", verbose_name=_("网格"), on_delete=models.PROTECT, related_name="+"
    )
    walker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("巡查人"),
        on_delete=models.PROTECT,
        related_name="patrol_runs",
    )
    state = models.CharField(
        _("状态"), max_length=16, choices=RunState.choices, default=RunState.WALKING
    )
    day = models.DateField(_("日期"), db_index=True)
    round = models.PositiveSmallIntegerField(_("轮次"), default=1)
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    # Where the phone was: [[lon, lat, epoch seconds, accuracy m], ...]. A movement track is
    # personal data; only supervisors see other people's tracks.
    track = models.JSONField(_("轨迹"), default=list, blank=True)
    distance_m = models.FloatField(_("里程（米）"), default=0)
    points_total = models.PositiveSmallIntegerField(_("应打卡点位"), default=0)
    points_checked = models.PositiveSmallIntegerField(_("已打卡点位"), default=0)
    note = models.TextField(_("巡查小结"), blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "巡查记录")
        verbose_name_plural = pgettext_lazy("plural", "巡查记录")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["region", "day"])]

    def __str__(self) -> str:
        return f"{self.plan} {self.day} #{self.round}"

    @property
    def is_complete(self) -> bool:
        return self.state == RunState.FINISHED and self.points_checked >= self.points_total


class CheckInMethod(models.TextChoices):
    GPS = "gps", _("定位打卡")
    QR = "qr", _("扫码打卡")


class CheckInFlag(models.TextChoices):
    OK = "ok", _("正常")
    BEYOND_RADIUS = "beyond_radius", _("超出点位范围")
    POOR_ACCURACY = "poor_accuracy", _("定位精度不足")
    NO_POSITION = "no_position", _("无定位")


class CheckInQuerySet(ScopedQuerySet):
    scope_path_field = "run__region__path"


class PatrolCheckIn(models.Model):
    run = models.ForeignKey(
        PatrolRun, verbose_name=_("巡查记录"), on_delete=models.CASCADE, related_name="check_ins"
    )
    checkpoint = models.ForeignKey(
        Checkpoint,
        verbose_name=_("点位"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="check_ins",
    )
    at = models.DateTimeField(_("打卡时间"), default=timezone.now)
    method = models.CharField(_("方式"), max_length=8, choices=CheckInMethod.choices)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    accuracy_m = models.FloatField(_("定位精度（米）"), null=True, blank=True)
    distance_m = models.FloatField(_("距点位（米）"), null=True, blank=True)
    flag = models.CharField(_("核验"), max_length=16, choices=CheckInFlag.choices)
    note = models.TextField(_("说明"), blank=True)

    objects = CheckInQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "巡查打卡")
        verbose_name_plural = pgettext_lazy("plural", "巡查打卡")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.checkpoint} {self.at:%H:%M}"

    @property
    def is_flagged(self) -> bool:
        return self.flag != CheckInFlag.OK

    @property
    def region(self):
        """The run's grid: a check-in's photos are attachments scoped like the run."""
        return self.run.region


class PatrolFinding(models.Model):
    """Something seen on a patrol; it becomes a hazard report or a community call in one tap."""

    run = models.ForeignKey(
        PatrolRun, verbose_name=_("巡查记录"), on_delete=models.CASCADE, related_name="findings"
    )
    check_in = models.ForeignKey(
        PatrolCheckIn,
        verbose_name=_("打卡"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="findings",
    )
    region = models.ForeignKey(
        "core.Region", verbose_name=_("网格"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("发现时间"), default=timezone.now)
    note = models.TextField(_("发现情况"))
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    hazard = models.ForeignKey(
        "hazards.Hazard",
        verbose_name=_("转为隐患"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    call = models.ForeignKey(
        "community.CommunityCall",
        verbose_name=_("转为社区呼叫"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="findings",
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "巡查发现")
        verbose_name_plural = pgettext_lazy("plural", "巡查发现")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return self.note[:40]

    @property
    def is_handed_on(self) -> bool:
        return self.hazard_id is not None or self.call_id is not None
