"""The sweep that finds overdue hazards and hands them to a supervised task."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.core.models import (
    TaskPriority,
)
from frontline.core.services.people import nearest_station
from frontline.core.services.supervision import assign_task
from frontline.hazards.models import (
    Hazard,
    HazardState,
)
from frontline.hazards.models.hazards import OPEN_HAZARD_STATES
from frontline.hazards.services.loop_rules import (
    _local,
    _notify,
    link,
    overdue_task_window,
    role_users,
    station_users,
    supervising_region,
    verifier_users,
)
from frontline.hazards.services.reporting import hazard_event

# --- the sweep -----------------------------------------------------------------------------


def escalate_overdue_hazards(now: datetime | None = None) -> dict[str, int]:
    """Open hazards whose stored reminder has come: an overdue rectification gets one
    supervised task (督办任务) for the responsible station, linked to the hazard, and the
    station and the supervising level are told; an overdue verification is reminded to
    the verifiers. Each hazard is claimed with a conditional UPDATE of `next_remind_at`,
    so a second run or a second worker does nothing twice."""
    now = now or timezone.now()
    counts = {"escalated": 0, "reminded": 0, "skipped": 0}
    due = (
        Hazard.objects.filter(state__in=OPEN_HAZARD_STATES, next_remind_at__lte=now)
        .order_by("next_remind_at", "id")
        .values_list("pk", flat=True)
    )
    for pk in list(due[:1000]):
        counts[_handle_due_hazard(pk, now)] += 1
    return counts


@transaction.atomic
def _handle_due_hazard(pk: int, now: datetime) -> str:
    hazard = (
        Hazard.objects.select_related("region")
        .filter(pk=pk, state__in=OPEN_HAZARD_STATES, next_remind_at__lte=now)
        .first()
    )
    if hazard is None:
        return "skipped"
    claimed = Hazard.objects.filter(
        pk=hazard.pk, state=hazard.state, next_remind_at=hazard.next_remind_at
    ).update(next_remind_at=None)
    if not claimed:
        return "skipped"
    hazard.next_remind_at = None
    if hazard.state == HazardState.PENDING_VERIFICATION:
        hazard_event(
            hazard=hazard,
            actor=None,
            kind="verify_overdue",
            from_state=hazard.state,
            note=_("超过验收期限未验收"),
            data={"verify_due_at": hazard.verify_due_at.isoformat()},
        )
        _notify(
            verifier_users(hazard),
            None,
            hazard,
            "hazard_verify_overdue",
            _("隐患超过验收期限未验收：%(title)s"),
            _("编号 %(number)s，验收期限 %(due)s。")
            % {"number": hazard.number, "due": _local(hazard.verify_due_at)},
            urgent=True,
        )
        return "reminded"
    if hazard.supervised_task_id is not None:
        return "skipped"
    organization = nearest_station(hazard.region)
    body = _("隐患 %(number)s「%(title)s」超过整改期限 %(due)s 仍未整改完成，请督促整改。") % {
        "number": hazard.number,
        "title": hazard.title,
        "due": _local(hazard.due_at),
    }
    url = link(hazard)
    task = None
    if organization is not None:
        task = assign_task(
            actor=None,
            title=(_("督办逾期隐患：%(title)s") % {"title": hazard.title})[:200],
            region=hazard.region,
            due_at=max(now, timezone.now()) + overdue_task_window(),
            assignee_organization=organization,
            description=f"{body}\n{url}" if url else body,
            priority=TaskPriority.URGENT if hazard.is_major else TaskPriority.NORMAL,
            subject=hazard,
        )
        Hazard.objects.filter(pk=hazard.pk).update(supervised_task=task)
        hazard.supervised_task = task
    hazard_event(
        hazard=hazard,
        actor=None,
        kind="overdue",
        from_state=hazard.state,
        note=_("超过整改期限未整改完成，已下达督办任务 %(number)s") % {"number": task.number}
        if task
        else _("超过整改期限未整改完成（未找到负责的应急管理站，未下达督办任务）"),
        data={"due_at": hazard.due_at.isoformat(), "task_id": task.pk if task else None},
    )
    recipients = station_users(hazard.region)
    if hazard.is_major:
        recipients += role_users(supervising_region(hazard))
    _notify(
        recipients,
        None,
        hazard,
        "hazard_overdue",
        _("隐患逾期未整改：%(title)s"),
        body,
        urgent=True,
    )
    return "escalated"
