"""The sweep of supervised tasks: reminders before the deadline, escalation after it.

Run by the worker every minute (`frontline.core.tasks_supervision`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.core.models import SupervisedTask
from frontline.core.models.supervision import OPEN_STATES, TaskState
from frontline.core.services.notifications import notify_users
from frontline.core.services.supervision import (
    _event,
    _link,
    _local,
    _notify_assignees,
    assignee_users,
    lead_time,
    remind_interval,
    superior_users,
)


def escalate_overdue_tasks(now: datetime | None = None) -> dict[str, int]:
    """Remind and escalate every open task whose stored reminder time has come.

    Run by the worker every minute (`frontline.core.tasks_supervision`). Each task is one
    transaction, claimed by a conditional UPDATE of `next_remind_at`: a second worker, or a
    second run, finds the claim gone and skips the task.
    """
    now = now or timezone.now()
    counts = {"escalated": 0, "reminded": 0, "skipped": 0}
    due = (
        SupervisedTask.objects.filter(state__in=OPEN_STATES, next_remind_at__lte=now)
        .order_by("next_remind_at", "id")
        .values_list("pk", flat=True)
    )
    for pk in list(due[:1000]):
        counts[_handle_due_task(pk, now)] += 1
    return counts


@transaction.atomic
def _handle_due_task(pk: int, now: datetime) -> str:
    task = (
        SupervisedTask.objects.select_related("region", "escalated_to")
        .filter(pk=pk, state__in=OPEN_STATES, next_remind_at__lte=now)
        .first()
    )
    if task is None:
        return "skipped"
    unanswered = (
        task.state == TaskState.ASSIGNED and task.respond_by is not None and task.respond_by <= now
    )
    overdue = task.due_at <= now
    # After the lead-time reminder, the next look is at the deadline itself.
    following = now + remind_interval() if unanswered or overdue else task.due_at
    claimed = SupervisedTask.objects.filter(
        pk=task.pk,
        state=task.state,
        due_at=task.due_at,
        next_remind_at=task.next_remind_at,
    ).update(next_remind_at=following)
    if not claimed:
        return "skipped"
    task.next_remind_at = following
    if unanswered or overdue:
        _escalate(task, now, reason="unanswered" if unanswered and not overdue else "overdue")
        return "escalated"
    _event(
        task,
        actor=None,
        kind="reminded",
        from_state=task.state,
        to_state=task.state,
        note=_("距办结时限不足 %(minutes)d 分钟") % {"minutes": _minutes(lead_time())},
    )
    _notify_assignees(
        task,
        "task_due_soon",
        _("督办任务即将到期：%(title)s"),
        _("请于 %(due)s 前办结。") % {"due": _local(task.due_at)},
    )
    return "reminded"


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _escalate(task: SupervisedTask, now: datetime, *, reason: str) -> None:
    """Up one level: the parent of the region the task last escalated to (the task's own
    region the first time). At the top of the tree the top level is reminded again."""
    current = task.escalated_to or task.region
    superior = current.parent if current.parent_id is not None else None
    why = _("超过签收时限未签收") if reason == "unanswered" else _("超过办结时限未办结")
    if superior is not None:
        task.escalation_level += 1
        task.escalated_to = superior
        task.save(update_fields=["escalation_level", "escalated_to", "updated_at"])
        kind = "escalated"
        note = _("%(why)s，已升级至%(region)s") % {"why": why, "region": superior.name}
        target = superior
    else:
        kind = "reminded"
        note = _("%(why)s，已再次提醒%(region)s") % {"why": why, "region": current.name}
        target = current
    _event(
        task,
        actor=None,
        kind=kind,
        from_state=task.state,
        to_state=task.state,
        note=note,
        reason=reason,
        level=task.escalation_level,
        region=target.code,
    )
    subject = _("督办任务%(why)s：%(title)s") % {"why": why, "title": task.title}
    body = _("编号 %(number)s，所属区划 %(region)s，办结时限 %(due)s。") % {
        "number": task.number,
        "region": task.region.name,
        "due": _local(task.due_at),
    }
    urgent = True
    notify_users(
        superior_users(target),
        kind="task_escalated",
        subject=subject,
        body=body,
        link=_link(task),
        related=task,
        urgent=urgent,
    )
    notify_users(
        assignee_users(task),
        kind="task_overdue",
        subject=subject,
        body=body,
        link=_link(task),
        related=task,
        urgent=urgent,
        webhooks=False,
    )
