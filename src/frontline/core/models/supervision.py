"""Supervised tasks (督办任务): work handed to an organization or a person about any object,
with a deadline, stored reminder times, escalation and a timeline."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.models.audit import EventBase
from frontline.core.scoping import ScopedQuerySet


class TaskState(models.TextChoices):
    ASSIGNED = "assigned", _("已下达")
    ACKNOWLEDGED = "acknowledged", _("已签收")
    ON_SITE = "on_site", _("已到场")
    DONE = "done", _("已办结")
    VERIFIED = "verified", _("已核验")
    RETURNED = "returned", _("已退回")


OPEN_STATES = (TaskState.ASSIGNED, TaskState.ACKNOWLEDGED, TaskState.ON_SITE, TaskState.RETURNED)


class TaskPriority(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")
    CRITICAL = "critical", _("特急")


class SupervisedTask(models.Model):
    number = models.CharField(_("编号"), max_length=40, unique=True)
    title = models.CharField(_("任务名称"), max_length=200)
    description = models.TextField(_("要求"), blank=True)
    priority = models.CharField(
        _("紧急程度"), max_length=16, choices=TaskPriority.choices, default=TaskPriority.NORMAL
    )
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="+"
    )
    subject_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject_id = models.CharField(max_length=64, blank=True)
    subject = GenericForeignKey("subject_type", "subject_id")
    assignee_organization = models.ForeignKey(
        "core.Organization",
        verbose_name=_("承办单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supervised_tasks",
    )
    assignee_person = models.ForeignKey(
        "core.Person",
        verbose_name=_("承办人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supervised_tasks",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("督办人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    state = models.CharField(
        _("状态"), max_length=16, choices=TaskState.choices, default=TaskState.ASSIGNED
    )
    # Deadlines are stored, never recomputed: the sweep compares them with the clock.
    respond_by = models.DateTimeField(_("签收时限"), null=True, blank=True)
    due_at = models.DateTimeField(_("办结时限"), db_index=True)
    next_remind_at = models.DateTimeField(_("下次提醒"), null=True, blank=True, db_index=True)
    escalation_level = models.PositiveSmallIntegerField(_("升级次数"), default=0)
    escalated_to = models.ForeignKey(
        "core.Region",
        verbose_name=_("已升级至"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("下达时间"), default=timezone.now)
    acknowledged_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    done_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    verified_at = models.DateTimeField(_("核验时间"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "督办任务")
        verbose_name_plural = pgettext_lazy("plural", "督办任务")
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["state", "next_remind_at"])]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def is_overdue(self, now=None) -> bool:
        return self.is_open and self.due_at < (now or timezone.now())


class SupervisedTaskEvent(EventBase):
    task = models.ForeignKey(SupervisedTask, on_delete=models.CASCADE, related_name="events")

    class Meta(EventBase.Meta):
        verbose_name = pgettext_lazy("singular", "督办任务事件")
        verbose_name_plural = pgettext_lazy("plural", "督办任务事件")
