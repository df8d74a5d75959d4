"""Checklists, inspection plans, inspection records, rectification notices and the event
timeline of an inspection."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.models.audit import EventBase
from frontline.core.scoping import ScopedQuerySet


class ChecklistTemplate(models.Model):
    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    description = models.TextField(_("适用范围"), blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "检查表")
        verbose_name_plural = pgettext_lazy("plural", "检查表")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ChecklistItem(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    order = models.PositiveSmallIntegerField(_("序号"))
    text = models.CharField(_("检查内容"), max_length=300)
    legal_basis = models.CharField(_("依据"), max_length=300, blank=True)
    # A failure of this item is a major hazard candidate (e.g. 超员 in a fireworks workshop).
    major_if_failed = models.BooleanField(_("不合格时可能构成重大隐患"), default=False)

    class Meta:
        verbose_name = pgettext_lazy("singular", "检查项")
        verbose_name_plural = pgettext_lazy("plural", "检查项")
        ordering = ["template", "order"]
        constraints = [
            models.UniqueConstraint(fields=["template", "order"], name="checklist_item_order")
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.text}"


class InspectionForm(models.TextChoices):
    ROUTINE = "routine", _("日常检查")
    CAMPAIGN = "campaign", _("专项检查")
    JOINT = "joint", _("联合检查")
    EXPERT = "expert", _("专家检查")
    SELF = "self", _("企业自查")
    UNANNOUNCED = "unannounced", _("明查暗访")


class InspectionPlan(models.Model):
    """Who inspects what how often; coverage is measured against its targets."""

    name = models.CharField(_("名称"), max_length=150)
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="+"
    )
    template = models.ForeignKey(
        ChecklistTemplate, verbose_name=_("检查表"), on_delete=models.PROTECT, related_name="+"
    )
    form = models.CharField(_("检查形式"), max_length=16, choices=InspectionForm.choices)
    organization = models.ForeignKey(
        "core.Organization",
        verbose_name=_("检查单位"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    enterprises = models.ManyToManyField(
        "hazards.Enterprise", blank=True, related_name="+", verbose_name=_("检查企业")
    )
    places = models.ManyToManyField(
        "hazards.Place", blank=True, related_name="+", verbose_name=_("检查场所")
    )
    interval_days = models.PositiveSmallIntegerField(_("检查周期（天）"), default=30)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "检查计划")
        verbose_name_plural = pgettext_lazy("plural", "检查计划")
        ordering = ["-starts_on", "name"]

    def __str__(self) -> str:
        return self.name


class Inspection(models.Model):
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
        related_name="inspections",
    )
    place = models.ForeignKey(
        "hazards.Place",
        verbose_name=_("场所"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inspections",
    )
    template = models.ForeignKey(
        ChecklistTemplate, verbose_name=_("检查表"), on_delete=models.PROTECT, related_name="+"
    )
    plan = models.ForeignKey(
        InspectionPlan,
        verbose_name=_("检查计划"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inspections",
    )
    form = models.CharField(_("检查形式"), max_length=16, choices=InspectionForm.choices)
    inspectors = models.ManyToManyField(
        "core.Person", blank=True, related_name="+", verbose_name=_("检查人员")
    )
    # Joint and expert inspections: the other departments and experts present.
    participants = models.CharField(_("参加单位/专家"), max_length=300, blank=True)
    started_at = models.DateTimeField(_("检查时间"), default=timezone.now)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    summary = models.TextField(_("检查情况"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "检查记录")
        verbose_name_plural = pgettext_lazy("plural", "检查记录")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(enterprise__isnull=False) | models.Q(place__isnull=False),
                name="inspection_has_an_object",
            )
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None


class ItemOutcome(models.TextChoices):
    PASS = "pass", _("合格")
    FAIL = "fail", _("不合格")
    NOT_APPLICABLE = "na", _("不适用")


class InspectionResult(models.Model):
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="results")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(_("结果"), max_length=4, choices=ItemOutcome.choices)
    note = models.CharField(_("说明"), max_length=500, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "检查项结果")
        verbose_name_plural = pgettext_lazy("plural", "检查项结果")
        constraints = [
            models.UniqueConstraint(fields=["inspection", "item"], name="one_result_per_item")
        ]

    def __str__(self) -> str:
        return f"{self.inspection_id}/{self.item_id}: {self.outcome}"

    @property
    def region(self):
        return self.inspection.region


class RectificationNotice(models.Model):
    """责令限期整改指令书: issued after an inspection for the hazards it found."""

    number = models.CharField(_("文书编号"), max_length=60, unique=True)
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="+"
    )
    inspection = models.ForeignKey(
        Inspection, on_delete=models.PROTECT, related_name="notices", verbose_name=_("检查记录")
    )
    hazards = models.ManyToManyField("hazards.Hazard", related_name="notices")
    issued_at = models.DateTimeField(_("下达时间"), default=timezone.now)
    due_at = models.DateTimeField(_("整改期限"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "整改指令书")
        verbose_name_plural = pgettext_lazy("plural", "整改指令书")
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return self.number


class InspectionEventKind(models.TextChoices):
    STARTED = "started", _("开始检查")
    RESULT_RECORDED = "result_recorded", _("记录检查项")
    RESULT_CHANGED = "result_changed", _("修改检查项")
    PHOTO_ADDED = "photo_added", _("上传照片")
    SUBMITTED = "submitted", _("提交")
    HAZARD_CREATED = "hazard_created", _("转为隐患")
    NOTICE_ISSUED = "notice_issued", _("下达整改指令书")


class InspectionState(models.TextChoices):
    """The record's two states, as written in `from_state` / `to_state` of its events."""

    OPEN = "open", _("检查中")
    SUBMITTED = "submitted", _("已提交")


class InspectionEvent(EventBase):
    """One step of an inspection's timeline, written by the service in the same transaction.

    `from_state` / `to_state` hold the record's state (检查中 → 已提交) for start and submit,
    and the item's outcome (合格 → 不合格) for the events of one checklist item.
    """

    kind = models.CharField(_("事件"), max_length=40, choices=InspectionEventKind.choices)
    inspection = models.ForeignKey(
        Inspection, on_delete=models.CASCADE, related_name="events", verbose_name=_("检查记录")
    )
    result = models.ForeignKey(
        InspectionResult,
        verbose_name=_("检查项结果"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    hazard = models.ForeignKey(
        "hazards.Hazard",
        verbose_name=_("隐患"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    notice = models.ForeignKey(
        RectificationNotice,
        verbose_name=_("整改指令书"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    attachment = models.ForeignKey(
        "core.Attachment",
        verbose_name=_("照片"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta(EventBase.Meta):
        verbose_name = pgettext_lazy("singular", "检查事件")
        verbose_name_plural = pgettext_lazy("plural", "检查事件")
        indexes = [models.Index(fields=["inspection", "at"], name="inspection_event_at")]

    def __str__(self) -> str:
        return f"{self.inspection_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"
