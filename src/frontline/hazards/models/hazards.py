"""Hazards (事故隐患) and their closed loop: 发现 → 确认 → 管控 → 整改 → 待验收 → 核销."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.crypto import EncryptedTextField, mask_phone
from frontline.core.models.audit import EventBase
from frontline.core.scoping import ScopedQuerySet


class HazardSource(models.TextChoices):
    INSPECTION = "inspection", _("检查发现")
    PATROL = "patrol", _("巡查发现")
    PUBLIC_REPORT = "public_report", _("群众举报")
    GRID_WORKER = "grid_worker", _("网格员上报")
    SENSOR = "sensor", _("监测报警")
    VIDEO = "video", _("视频识别")
    SELF_CHECK = "self_check", _("企业自查")


class HazardLevel(models.TextChoices):
    GENERAL = "general", _("一般隐患")
    MAJOR = "major", _("重大隐患")


class HazardState(models.TextChoices):
    FOUND = "found", _("发现")
    CONFIRMED = "confirmed", _("确认")
    CONTROLLED = "controlled", _("管控")
    RECTIFYING = "rectifying", _("整改")
    PENDING_VERIFICATION = "pending_verification", _("待验收")
    CLOSED = "closed", _("核销")
    REJECTED = "rejected", _("不予认定")


OPEN_HAZARD_STATES = (
    HazardState.FOUND,
    HazardState.CONFIRMED,
    HazardState.CONTROLLED,
    HazardState.RECTIFYING,
    HazardState.PENDING_VERIFICATION,
)

# Places in the work queue (`Hazard.queue_rank`).
QUEUE_WITH_DEADLINE, QUEUE_NO_DEADLINE, QUEUE_CLOSED = 0, 1, 2


def open_q() -> models.Q:
    """Open hazards, asked through the queue column so the list's index answers."""
    return models.Q(queue_rank__lt=QUEUE_CLOSED)


def overdue_q(now) -> models.Q:
    return models.Q(queue_rank=QUEUE_WITH_DEADLINE, queue_due__lt=now)


class Hazard(models.Model):
    number = models.CharField(_("编号"), max_length=40, unique=True)
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="+"
    )
    enterprise = models.ForeignKey(
        "hazards.Enterprise",
        verbose_name=_("企业"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="hazards",
    )
    place = models.ForeignKey(
        "hazards.Place",
        verbose_name=_("场所"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="hazards",
    )
    # A hazard in a residential building (一楼一档): its file shows the hazard history.
    building = models.ForeignKey(
        "community.Building",
        verbose_name=_("楼栋"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hazards",
    )
    source = models.CharField(_("来源"), max_length=16, choices=HazardSource.choices)
    title = models.CharField(_("隐患描述"), max_length=200)
    description = models.TextField(_("详细情况"), blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    level = models.CharField(_("隐患等级"), max_length=8, choices=HazardLevel.choices, blank=True)
    level_basis = models.CharField(_("定级依据"), max_length=300, blank=True)
    state = models.CharField(
        _("状态"), max_length=24, choices=HazardState.choices, default=HazardState.FOUND
    )
    # Deadlines are stored, never recomputed: sweeps compare them with the clock.
    due_at = models.DateTimeField(_("整改期限"), null=True, blank=True, db_index=True)
    verify_due_at = models.DateTimeField(_("验收期限"), null=True, blank=True)
    next_remind_at = models.DateTimeField(_("下次提醒"), null=True, blank=True, db_index=True)
    extension_requested_until = models.DateTimeField(_("申请延期至"), null=True, blank=True)
    extension_reason = models.CharField(_("延期理由"), max_length=300, blank=True)
    found_at = models.DateTimeField(_("发现时间"), default=timezone.now, db_index=True)
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    rectified_at = models.DateTimeField(_("整改完成时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("核销时间"), null=True, blank=True, db_index=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上报人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # A public report taken by the hotline operator: the caller, kept private.
    reporter_name = models.CharField(_("举报人"), max_length=50, blank=True)
    reporter_phone = EncryptedTextField(_("举报人电话"), blank=True)
    responsible_person = models.CharField(_("整改责任人"), max_length=50, blank=True)
    rectifier = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("整改人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    verifier = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("验收人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    inspection_result = models.OneToOneField(
        "hazards.InspectionResult",
        verbose_name=_("来自检查项"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hazard",
    )
    supervised_task = models.ForeignKey(
        "core.SupervisedTask",
        verbose_name=_("督办任务"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    # The work queue's order, kept by the database so one index serves every page of the
    # list: open hazards with a deadline (overdue ones come first by themselves), then open
    # ones still without a deadline, then closed and rejected ones; ties newest first.
    queue_rank = models.GeneratedField(
        expression=models.Case(
            models.When(
                state__in=OPEN_HAZARD_STATES, due_at__isnull=False, then=QUEUE_WITH_DEADLINE
            ),
            models.When(state__in=OPEN_HAZARD_STATES, then=QUEUE_NO_DEADLINE),
            default=QUEUE_CLOSED,
        ),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
    )
    queue_due = models.GeneratedField(
        expression=models.Case(
            models.When(state__in=OPEN_HAZARD_STATES, then=models.F("due_at")),
            default=None,
        ),
        output_field=models.DateTimeField(null=True),
        db_persist=True,
    )

    objects = ScopedQuerySet.as_manager()

    SENSITIVE_FIELDS = {"reporter_phone": mask_phone}

    class Meta:
        verbose_name = pgettext_lazy("singular", "隐患")
        verbose_name_plural = pgettext_lazy("plural", "隐患")
        ordering = ["-found_at", "-id"]
        indexes = [
            models.Index(fields=["state", "due_at"]),
            models.Index(fields=["region", "state"]),
            models.Index(fields=["level", "state"]),
            # Carries every column the list filters on, so a page deep in the list is read
            # from the index alone (see `ScopedQuerySet.visible_in_order`).
            models.Index(
                fields=[
                    "queue_rank",
                    "queue_due",
                    "-found_at",
                    "-id",
                    "region",
                    "state",
                    "level",
                    "source",
                ],
                name="hazard_queue_idx",
            ),
            models.Index(fields=["-found_at", "-id", "region", "state"], name="hazard_found_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_HAZARD_STATES

    @property
    def is_major(self) -> bool:
        return self.level == HazardLevel.MAJOR

    def is_overdue(self, now=None) -> bool:
        return self.is_open and self.due_at is not None and self.due_at < (now or timezone.now())


class TreatmentPlan(models.Model):
    """The treatment plan a major hazard needs before rectification starts (五到位:
    measures, funds, deadline, responsible person, emergency plan)."""

    hazard = models.OneToOneField(Hazard, on_delete=models.CASCADE, related_name="treatment_plan")
    current_state = models.TextField(_("现状及成因"))
    danger_analysis = models.TextField(_("危害程度和整改难易程度分析"))
    goal = models.TextField(_("治理目标和任务"))
    measures = models.TextField(_("治理方法和措施"))
    funds = models.DecimalField(_("经费（万元）"), max_digits=12, decimal_places=2)
    responsible_unit = models.CharField(_("负责治理的机构"), max_length=100)
    responsible_person = models.CharField(_("负责人"), max_length=50)
    time_limit = models.DateField(_("时限"))
    safety_measures = models.TextField(_("安全措施"))
    emergency_plan = models.TextField(_("应急预案"))
    approved_at = models.DateTimeField(_("审定时间"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "重大隐患治理方案")
        verbose_name_plural = pgettext_lazy("plural", "重大隐患治理方案")

    def __str__(self) -> str:
        return str(self.hazard)


class ListedSupervision(models.Model):
    """挂牌督办 of a major hazard by a government level."""

    hazard = models.OneToOneField(
        Hazard, on_delete=models.CASCADE, related_name="listed_supervision"
    )
    supervising_region = models.ForeignKey(
        "core.Region", verbose_name=_("督办层级"), on_delete=models.PROTECT, related_name="+"
    )
    document_number = models.CharField(_("督办文号"), max_length=60)
    deadline = models.DateTimeField(_("督办期限"))
    listed_at = models.DateTimeField(_("挂牌时间"), default=timezone.now)
    lifted_at = models.DateTimeField(_("摘牌时间"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "挂牌督办")
        verbose_name_plural = pgettext_lazy("plural", "挂牌督办")

    def __str__(self) -> str:
        return self.document_number


class HazardEvent(EventBase):
    hazard = models.ForeignKey(Hazard, on_delete=models.CASCADE, related_name="events")

    class Meta(EventBase.Meta):
        verbose_name = pgettext_lazy("singular", "隐患事件")
        verbose_name_plural = pgettext_lazy("plural", "隐患事件")
