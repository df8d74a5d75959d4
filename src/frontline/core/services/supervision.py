"""Supervised tasks (督办任务 / 限时督办): assign, the assignee's steps, the supervisor's
verdict, and the sweep that reminds and escalates.

States and who moves them live in one table, `TRANSITIONS`. Deadlines are stored on the task
(`respond_by`, `due_at`, `next_remind_at`): transitions compute the next reminder, the sweep
only compares stored times with the clock and claims each task with a conditional UPDATE, so
two workers never remind or escalate the same task twice.

    task = services.assign_task(actor=chief, title="整改消防通道堵塞", region=village,
                                due_at=..., assignee_organization=station, subject=hazard)
    services.acknowledge_task(actor=staff, task=task)
    services.complete_task(actor=staff, task=task, note="已清理")
    services.verify_task(actor=chief, task=task)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Case, IntegerField, Q, Value, When
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from frontline.core import request_id
from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.models import (
    OPEN_STATES,
    Organization,
    Person,
    Region,
    RoleAssignment,
    SupervisedTask,
    SupervisedTaskEvent,
    TaskPriority,
    TaskState,
)
from frontline.core.numbers import save_with_number
from frontline.core.roles import ROLE_CAPABILITIES, Capability, Role, can
from frontline.core.scoping import active_assignments, scope_paths, subtree_q
from frontline.core.services.notifications import notify_users
from frontline.core.services.validation import Cleaner, require

# --- configuration -------------------------------------------------------------------------

DEFAULT_RESPOND_MINUTES = 60
DEFAULT_REMIND_MINUTES = 60
DEFAULT_LEAD_MINUTES = 60


def respond_window() -> timedelta:
    """Time the assignee has to acknowledge (签收) when the supervisor gives no respond_by."""
    return timedelta(
        minutes=int(getattr(settings, "FRONTLINE_TASK_RESPOND_MINUTES", DEFAULT_RESPOND_MINUTES))
    )


def remind_interval() -> timedelta:
    """While a task is overdue or unanswered, it escalates / reminds again after this long."""
    return timedelta(
        minutes=int(getattr(settings, "FRONTLINE_TASK_REMIND_MINUTES", DEFAULT_REMIND_MINUTES))
    )


def lead_time() -> timedelta:
    """The one reminder before the deadline comes this long before due_at."""
    return timedelta(
        minutes=int(getattr(settings, "FRONTLINE_TASK_LEAD_MINUTES", DEFAULT_LEAD_MINUTES))
    )


# --- who is who ----------------------------------------------------------------------------


class Side(enum.StrEnum):
    ASSIGNEE = "assignee"  # 承办方: the assignee person, or a person of the assignee unit
    SUPERVISOR = "supervisor"  # 督办方: EDIT over the task's region, and not an assignee


@dataclass(frozen=True)
class Action:
    name: str  # as in URLs: acknowledge, on-site, complete, verify, return, extend
    label: str  # Chinese verb for messages and buttons
    side: Side
    to_state: str | None  # None: not a state change (extend)
    event: str


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in [
        Action(
            "acknowledge",
            gettext_noop("签收"),
            Side.ASSIGNEE,
            TaskState.ACKNOWLEDGED,
            "acknowledged",
        ),
        Action("on-site", gettext_noop("到场"), Side.ASSIGNEE, TaskState.ON_SITE, "arrived"),
        Action("complete", gettext_noop("办结"), Side.ASSIGNEE, TaskState.DONE, "completed"),
        Action("verify", gettext_noop("核验"), Side.SUPERVISOR, TaskState.VERIFIED, "verified"),
        Action("return", gettext_noop("退回"), Side.SUPERVISOR, TaskState.RETURNED, "returned"),
        Action("extend", gettext_noop("延期"), Side.SUPERVISOR, None, "extended"),
    ]
}

# The state machine, in one place: from each state, the actions allowed.
# 已下达 → 已签收 → (已到场) → 已办结 → 已核验, or 已办结 → 已退回 → back to the assignee.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    TaskState.ASSIGNED: ("acknowledge", "extend"),
    TaskState.ACKNOWLEDGED: ("on-site", "complete", "extend"),
    TaskState.ON_SITE: ("complete", "extend"),
    TaskState.DONE: ("verify", "return"),
    TaskState.RETURNED: ("acknowledge", "on-site", "complete", "extend"),
    TaskState.VERIFIED: (),
}


def _person_of(user) -> tuple[int | None, int | None]:
    """(person id, organization id) of the user's person, cached on the user object."""
    if user is None or not user.is_authenticated:
        return None, None
    cached = getattr(user, "_frontline_task_person", None)
    if cached is None:
        row = (
            Person.objects.filter(user=user).order_by().values_list("pk", "organization_id").first()
        )
        cached = row or (None, None)
        user._frontline_task_person = cached
    return cached


def assigned_to_q(user, prefix: str = "") -> Q:
    """Tasks assigned to the user: as the person, or to the user's organization."""
    person_id, organization_id = _person_of(user)
    query = Q(pk__in=[])
    if person_id is not None:
        query |= Q(**{f"{prefix}assignee_person_id": person_id})
    if organization_id is not None:
        query |= Q(**{f"{prefix}assignee_organization_id": organization_id})
    return query


def is_assignee(user, task: SupervisedTask) -> bool:
    person_id, organization_id = _person_of(user)
    if person_id is not None and task.assignee_person_id == person_id:
        return True
    return organization_id is not None and task.assignee_organization_id == organization_id


def is_supervisor(user, task: SupervisedTask) -> bool:
    return can(user, Capability.EDIT, task.region) and not is_assignee(user, task)


def side_of(user, task: SupervisedTask) -> Side | None:
    if is_assignee(user, task):
        return Side.ASSIGNEE
    if is_supervisor(user, task):
        return Side.SUPERVISOR
    return None


def allowed_actions(user, task: SupervisedTask) -> list[str]:
    """Actions this user may take on the task now (buttons on the page, `actions` in the API)."""
    side = side_of(user, task)
    return [name for name in TRANSITIONS.get(task.state, ()) if ACTIONS[name].side == side]


def visible_tasks(user, queryset=None):
    """Tasks in the user's scope, plus tasks assigned to the user or their organization
    (a grid worker answers a task of the village above their grid)."""
    queryset = SupervisedTask.objects.all() if queryset is None else queryset
    paths = scope_paths(user)
    if paths is None:
        return queryset
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    scope = subtree_q("region__path", paths) if paths else Q(pk__in=[])
    return queryset.filter(scope | assigned_to_q(user))


def supervised_q(user) -> Q:
    """Tasks the user supervises: in a subtree where they may edit, not assigned to them."""
    if user.is_superuser and getattr(user, "_frontline_token", None) is None:
        return ~assigned_to_q(user)
    paths = [
        a.region.path
        for a in active_assignments(user)
        if Capability.EDIT in ROLE_CAPABILITIES.get(a.role, ())
    ]
    return subtree_q("region__path", paths) & ~assigned_to_q(user)


def overdue_first(queryset, now: datetime | None = None):
    """Open and overdue first, then open by deadline, then finished ones."""
    now = now or timezone.now()
    rank = Case(
        When(state__in=OPEN_STATES, due_at__lt=now, then=Value(0)),
        When(state__in=OPEN_STATES, then=Value(1)),
        When(state=TaskState.DONE, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    return queryset.annotate(urgency_rank=rank).order_by("urgency_rank", "due_at", "id")


def escalated_to_me_ids(user) -> set[int]:
    """Regions whose escalations reach this user (the regions of their assignments)."""
    return {a.region_id for a in active_assignments(user)}


# --- helpers -------------------------------------------------------------------------------


def _event(task: SupervisedTask, *, actor, kind: str, from_state="", to_state="", note="", **data):
    return SupervisedTaskEvent.objects.create(
        task=task,
        actor=actor,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        note=note,
        data={k: v for k, v in data.items() if v is not None},
        request_id=request_id.current_request_id() or "",
    )


def _link(task: SupervisedTask) -> str:
    try:
        return reverse("task_detail", args=[task.pk])
    except NoReverseMatch:  # the pages are not mounted (an API-only deployment)
        return ""


def assignee_users(task: SupervisedTask) -> list:
    """Accounts that answer for the task: the assignee person's, and those of the people of
    the assignee organization."""
    User = get_user_model()
    query = Q(pk__in=[])
    if task.assignee_person_id is not None:
        query |= Q(person__pk=task.assignee_person_id)
    if task.assignee_organization_id is not None:
        query |= Q(person__organization_id=task.assignee_organization_id)
    return list(User.objects.filter(query, is_active=True).distinct())


SUPERIOR_ROLES = (Role.STATION_CHIEF, Role.COUNTY_ADMIN, Role.STATION_STAFF)


def superior_users(region: Region) -> list:
    """Accounts holding a command role (站长, 区县管理员, 站内工作人员) on exactly this region."""
    User = get_user_model()
    user_ids = RoleAssignment.objects.filter(
        region=region, role__in=SUPERIOR_ROLES, revoked_at__isnull=True
    ).values("user_id")
    return list(User.objects.filter(pk__in=user_ids, is_active=True))


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def next_reminder(task: SupervisedTask, now: datetime) -> datetime | None:
    """When the sweep should look at the task next; computed on transitions, stored."""
    if task.state not in OPEN_STATES:
        return None
    if task.state == TaskState.ASSIGNED and task.respond_by and task.respond_by > now:
        return task.respond_by
    lead_at = task.due_at - lead_time()
    if lead_at > now:
        return lead_at
    if task.due_at > now:
        return task.due_at
    return now + remind_interval()


def _locked(task: SupervisedTask) -> SupervisedTask:
    """Reload the row locked for this transaction, so the state checked is the state changed.
    The caller's object is refreshed in place: it is returned and may be rendered."""
    fresh = SupervisedTask.objects.select_for_update().get(pk=task.pk)
    for field in SupervisedTask._meta.concrete_fields:
        setattr(task, field.attname, getattr(fresh, field.attname))
    return task


def _guard(actor, task: SupervisedTask, name: str) -> Action:
    action = ACTIONS[name]
    if name not in TRANSITIONS.get(task.state, ()):
        raise DomainError(
            _("任务%(state)s，不能%(action)s")
            % {"state": task.get_state_display(), "action": _(action.label)},
            code="illegal_transition",
            details={
                "state": task.state,
                "action": name,
                "allowed": list(TRANSITIONS.get(task.state, ())),
            },
        )
    if action.side == Side.ASSIGNEE and not is_assignee(actor, task):
        raise PermissionDenied(
            _("只有承办单位或承办人可以%(action)s") % {"action": _(action.label)}
        )
    if action.side == Side.SUPERVISOR and not is_supervisor(actor, task):
        raise PermissionDenied(
            _("只有督办方（有该区划录入权限且不是承办方）可以%(action)s")
            % {"action": _(action.label)}
        )
    return action


def _clean_note(note: str | None, field: str, *, required: bool) -> str:
    cleaner = Cleaner()
    text = cleaner.text(note, field, required=required, max_length=2000)
    cleaner.done()
    return text


def _future(value: datetime | None, field: str, now: datetime, cleaner: Cleaner):
    value = _aware(value)
    if value is not None and value <= now:
        cleaner.fail(field, _("应晚于当前时间"))
    return value


# --- number --------------------------------------------------------------------------------

NUMBER_PREFIX = "DB"


def _save_with_number(task: SupervisedTask, now: datetime) -> None:
    save_with_number(task, kind=NUMBER_PREFIX, region_code=task.region.code, now=now)


# --- services ------------------------------------------------------------------------------


@transaction.atomic
def assign_task(
    *,
    actor,
    title: str,
    region: Region,
    due_at: datetime,
    assignee_organization: Organization | None = None,
    assignee_person: Person | None = None,
    description: str = "",
    priority: str = TaskPriority.NORMAL,
    subject=None,
    respond_by: datetime | None = None,
) -> SupervisedTask:
    """下达督办任务 to a unit and/or a person on the same branch of the tree as `region`."""
    require(actor, Capability.EDIT, region)
    now = timezone.now()
    cleaner = Cleaner()
    title = cleaner.text(title, "title", required=True, max_length=200)
    description = cleaner.text(description, "description", required=False, max_length=5000)
    priority = cleaner.choice(priority, "priority", TaskPriority)
    if due_at is None:
        cleaner.fail("due_at", _("此字段为必填项"))
    else:
        due_at = _future(due_at, "due_at", now, cleaner)
    respond_by = _future(respond_by, "respond_by", now, cleaner)
    if due_at is not None and respond_by is not None and respond_by > due_at:
        cleaner.fail("respond_by", _("签收时限不能晚于办结时限"))
    if assignee_organization is None and assignee_person is None:
        cleaner.fail("assignee_organization", _("请指定承办单位或承办人"))
    for field, assignee in (
        ("assignee_organization", assignee_organization),
        ("assignee_person", assignee_person),
    ):
        if assignee is not None and not _same_branch(assignee.region, region):
            cleaner.fail(field, _("承办方不在任务所属区划的上下级范围内"))
    if (
        assignee_organization is not None
        and assignee_person is not None
        and assignee_person.organization_id != assignee_organization.pk
    ):
        cleaner.fail("assignee_person", _("承办人不属于承办单位"))
    cleaner.done()

    if respond_by is None:
        respond_by = min(now + respond_window(), due_at)
    task = SupervisedTask(
        title=title,
        description=description,
        priority=priority,
        region=region,
        assignee_organization=assignee_organization,
        assignee_person=assignee_person,
        created_by=actor,
        state=TaskState.ASSIGNED,
        respond_by=respond_by,
        due_at=due_at,
        next_remind_at=respond_by,
        created_at=now,
    )
    if subject is not None:
        task.subject_type = ContentType.objects.get_for_model(subject)
        task.subject_id = str(subject.pk)
    _save_with_number(task, now)
    _event(task, actor=actor, kind="assigned", to_state=TaskState.ASSIGNED, note=description)
    notify_users(
        assignee_users(task),
        kind="task_assigned",
        subject=_("新督办任务：%(title)s") % {"title": task.title},
        body=_("编号 %(number)s，请于 %(respond)s 前签收，%(due)s 前办结。")
        % {
            "number": task.number,
            "respond": _local(task.respond_by),
            "due": _local(task.due_at),
        },
        link=_link(task),
        related=task,
        urgent=task.priority != TaskPriority.NORMAL,
        sms=task.priority != TaskPriority.NORMAL,
    )
    return task


def _same_branch(a: Region, b: Region) -> bool:
    return a.path.startswith(b.path) or b.path.startswith(a.path)


def _local(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


def _move(actor, task: SupervisedTask, name: str, *, note: str = "", **data) -> SupervisedTask:
    """Lock, guard, change the state, store the next reminder and write the event."""
    _locked(task)
    return _apply(actor, task, _guard(actor, task, name), note=note, **data)


def _apply(actor, task: SupervisedTask, action: Action, *, note: str, **data) -> SupervisedTask:
    now = timezone.now()
    from_state = task.state
    task.state = action.to_state
    if action.to_state in (TaskState.ACKNOWLEDGED, TaskState.ON_SITE, TaskState.DONE):
        task.acknowledged_at = task.acknowledged_at or now
    if action.to_state == TaskState.DONE:
        task.done_at = now
    if action.to_state == TaskState.VERIFIED:
        task.verified_at = now
    if action.to_state == TaskState.RETURNED:
        task.done_at = None
    task.next_remind_at = next_reminder(task, now)
    task.save()
    _event(
        task,
        actor=actor,
        kind=action.event,
        from_state=from_state,
        to_state=task.state,
        note=note,
        **data,
    )
    return task


@transaction.atomic
def acknowledge_task(*, actor, task: SupervisedTask, note: str = "") -> SupervisedTask:
    """签收: the assignee has seen the task and takes it on."""
    note = _clean_note(note, "note", required=False)
    return _move(actor, task, "acknowledge", note=note)


@transaction.atomic
def arrive_on_site(
    *,
    actor,
    task: SupervisedTask,
    note: str = "",
    lon: float | None = None,
    lat: float | None = None,
) -> SupervisedTask:
    """到场 (optional step): the assignee reports being at the scene."""
    note = _clean_note(note, "note", required=False)
    return _move(actor, task, "on-site", note=note, lon=lon, lat=lat)


@transaction.atomic
def complete_task(*, actor, task: SupervisedTask, note: str) -> SupervisedTask:
    """办结: the assignee reports the work done, saying what was done."""
    note = _clean_note(note, "note", required=True)
    _move(actor, task, "complete", note=note)
    if task.created_by_id is not None:
        notify_users(
            [task.created_by],
            kind="task_done",
            subject=_("督办任务已办结，待核验：%(title)s") % {"title": task.title},
            body=note,
            link=_link(task),
            related=task,
        )
    return task


def completer_id(task: SupervisedTask) -> int | None:
    """Who reported the task done last time."""
    return (
        task.events.filter(kind=ACTIONS["complete"].event)
        .order_by("-at", "-id")
        .values_list("actor_id", flat=True)
        .first()
    )


@transaction.atomic
def verify_task(*, actor, task: SupervisedTask, note: str = "") -> SupervisedTask:
    """核验: the supervisor accepts the work. Whoever rectified does not verify."""
    note = _clean_note(note, "note", required=False)
    _locked(task)
    if task.state == TaskState.DONE and actor is not None and completer_id(task) == actor.pk:
        raise DomainError(_("核验人不能是办结人：谁整改，谁不核验"), code="verifier_is_completer")
    _apply(actor, task, _guard(actor, task, "verify"), note=note)
    _notify_assignees(task, "task_verified", _("督办任务已核验通过：%(title)s"), note)
    return task


@transaction.atomic
def return_task(
    *, actor, task: SupervisedTask, reason: str, due_at: datetime | None = None
) -> SupervisedTask:
    """退回: the supervisor sends the work back, with the reason and perhaps a new deadline."""
    now = timezone.now()
    cleaner = Cleaner()
    reason = cleaner.text(reason, "reason", required=True, max_length=2000)
    due_at = _future(due_at, "due_at", now, cleaner)
    cleaner.done()
    _locked(task)
    action = _guard(actor, task, "return")
    if due_at is None and task.due_at <= now:
        raise InvalidInput(
            _("原办结时限已过，请给出新的办结时限"),
            details={"due_at": _("原办结时限已过，请给出新的办结时限")},
        )
    old_due = task.due_at
    if due_at is not None:
        task.due_at = due_at
    _apply(
        actor,
        task,
        action,
        note=reason,
        old_due_at=old_due.isoformat() if due_at else None,
        due_at=due_at.isoformat() if due_at else None,
    )
    _notify_assignees(task, "task_returned", _("督办任务被退回：%(title)s"), reason)
    return task


@transaction.atomic
def extend_due(*, actor, task: SupervisedTask, new_due_at: datetime, reason: str) -> SupervisedTask:
    """延期: the supervisor moves the deadline of an open task later."""
    now = timezone.now()
    cleaner = Cleaner()
    reason = cleaner.text(reason, "reason", required=True, max_length=2000)
    if new_due_at is None:
        cleaner.fail("due_at", _("此字段为必填项"))
    new_due_at = _future(new_due_at, "due_at", now, cleaner)
    cleaner.done()
    _locked(task)
    action = _guard(actor, task, "extend")
    if new_due_at <= task.due_at:
        raise InvalidInput(
            _("延期后的时限应晚于原时限"), details={"due_at": _("延期后的时限应晚于原时限")}
        )
    old_due = task.due_at
    task.due_at = new_due_at
    if task.respond_by is not None and task.respond_by > new_due_at:
        task.respond_by = new_due_at
    task.next_remind_at = next_reminder(task, now)
    task.save()
    _event(
        task,
        actor=actor,
        kind=action.event,
        from_state=task.state,
        to_state=task.state,
        note=reason,
        old_due_at=old_due.isoformat(),
        due_at=new_due_at.isoformat(),
    )
    _notify_assignees(
        task,
        "task_extended",
        _("督办任务已延期：%(title)s"),
        _("新的办结时限：%(due)s。%(reason)s") % {"due": _local(new_due_at), "reason": reason},
    )
    return task


@transaction.atomic
def settle_task(*, task: SupervisedTask, note: str) -> SupervisedTask:
    """The matter the task chases was settled on its own record (the overdue hazard was
    verified and closed, or found not to be a hazard): the task ends verified, by the
    system, and its assignees hear it. A task already verified is left as it is."""
    _locked(task)
    if task.state == TaskState.VERIFIED:
        return task
    _apply(None, task, ACTIONS["verify"], note=note, settled_by_subject=True)
    _notify_assignees(task, "task_verified", _("督办任务已随事项办结：%(title)s"), note)
    return task


def _notify_assignees(task: SupervisedTask, kind: str, subject: str, body: str = "") -> None:
    notify_users(
        assignee_users(task),
        kind=kind,
        subject=subject % {"title": task.title},
        body=body,
        link=_link(task),
        related=task,
    )
