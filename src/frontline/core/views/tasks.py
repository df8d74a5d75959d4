"""Supervised tasks (督办任务): 我的任务, 我督办的, the task page with its stepper, countdown,
timeline and the actions this user may take, and the form that assigns a task."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from frontline.core import services
from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.forms import (
    OrganizationChoiceField,
    RegionChoiceField,
    ServiceForm,
    regions_with,
)
from frontline.core.models import (
    OPEN_STATES,
    Organization,
    Person,
    SupervisedTaskEvent,
    TaskPriority,
    TaskState,
)
from frontline.core.roles import Capability, can
from frontline.core.services.supervision import (
    ACTIONS,
    allowed_actions,
    assigned_to_q,
    escalated_to_me_ids,
    lead_time,
    overdue_first,
    respond_window,
    supervised_q,
    visible_tasks,
)
from frontline.core.views.common import forbidden, paginate

_RELATED = ("region", "assignee_organization", "assignee_person", "escalated_to")

EVENT_LABELS = {
    "assigned": gettext_lazy("下达"),
    "acknowledged": gettext_lazy("签收"),
    "arrived": gettext_lazy("到场"),
    "completed": gettext_lazy("办结"),
    "verified": gettext_lazy("核验通过"),
    "returned": gettext_lazy("退回"),
    "extended": gettext_lazy("延期"),
    "escalated": gettext_lazy("升级督办"),
    "reminded": gettext_lazy("提醒"),
}

ACTION_BUTTONS = {
    "acknowledge": gettext_lazy("签收"),
    "on-site": gettext_lazy("已到场"),
    "complete": gettext_lazy("办结"),
    "verify": gettext_lazy("核验通过"),
    "return": gettext_lazy("退回重办"),
    "extend": gettext_lazy("延期"),
}

STATUS_TABS = {
    "open": gettext_lazy("进行中"),
    "done": gettext_lazy("待核验"),
    "closed": gettext_lazy("已核验"),
    "all": gettext_lazy("全部"),
}


def _status_filter(tasks, status: str):
    if status == "open":
        return tasks.filter(state__in=OPEN_STATES)
    if status == "done":
        return tasks.filter(state=TaskState.DONE)
    if status == "closed":
        return tasks.filter(state=TaskState.VERIFIED)
    return tasks


def _list(request, tasks, *, template_title, kind: str, extra=None):
    status = request.GET.get("status", "open")
    if status not in STATUS_TABS:
        status = "open"
    tasks = _status_filter(tasks.select_related(*_RELATED), status)
    now = timezone.now()
    page = paginate(request, overdue_first(tasks, now))
    mine = escalated_to_me_ids(request.user)
    for task in page:
        _decorate(task, now)
        task.escalated_to_me = task.escalated_to_id is not None and task.escalated_to_id in mine
    context = {
        "title": template_title,
        "kind": kind,
        "page": page,
        "status": status,
        "tabs": STATUS_TABS.items(),
        "can_create": can(request.user, Capability.EDIT),
        **(extra or {}),
    }
    return render(request, "core/tasks/list.html", context)


def _decorate(task, now: datetime) -> None:
    """Deadline facts the templates show: overdue, due soon, time left."""
    task.overdue = task.is_overdue(now)
    task.due_soon = task.is_open and not task.overdue and task.due_at - now <= lead_time()
    task.unanswered = (
        task.state == TaskState.ASSIGNED and task.respond_by is not None and task.respond_by < now
    )


@login_required
def task_mine(request):
    """我的任务: tasks given to me or to my unit."""
    tasks = visible_tasks(request.user).filter(assigned_to_q(request.user))
    return _list(request, tasks, template_title=_("我的任务"), kind="mine")


@login_required
def task_supervised(request):
    """我督办的: tasks in the regions where I may edit, overdue first, escalations to me
    flagged (and filterable)."""
    user = request.user
    tasks = visible_tasks(user).filter(supervised_q(user))
    escalated = request.GET.get("escalated") == "1"
    if escalated:
        tasks = tasks.filter(escalated_to_id__in=escalated_to_me_ids(user))
    return _list(
        request,
        tasks,
        template_title=_("我督办的"),
        kind="supervised",
        extra={"escalated": escalated},
    )


# --- detail --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    label: str
    status: str  # done, current, todo, skipped, returned


STEP_STATES = [
    TaskState.ASSIGNED,
    TaskState.ACKNOWLEDGED,
    TaskState.ON_SITE,
    TaskState.DONE,
    TaskState.VERIFIED,
]


def stepper(task, events) -> list[Step]:
    """已下达 → 已签收 → 已到场 → 已办结 → 已核验; a returned task stands at 已签收 again,
    and 已到场 shows as skipped when the assignee never reported it."""
    current = 1 if task.state == TaskState.RETURNED else STEP_STATES.index(TaskState(task.state))
    on_site = any(event.to_state == TaskState.ON_SITE for event in events)
    steps = []
    for index, state in enumerate(STEP_STATES):
        label = str(state.label)
        if index < current or (index == current and state == TaskState.VERIFIED):
            status = "skipped" if state == TaskState.ON_SITE and not on_site else "done"
        elif index == current:
            status = "current"
            if task.state == TaskState.RETURNED:
                status, label = "returned", str(TaskState.RETURNED.label)
        else:
            status = "todo"
        steps.append(Step(label=label, status=status))
    return steps


def _visible_task(request, pk: int):
    task = visible_tasks(request.user).select_related(*_RELATED, "created_by").filter(pk=pk).first()
    if task is None:
        raise Http404
    return task


def _render_detail(request, task, *, status: int = 200, error=None, open_action=None):
    events = list(
        SupervisedTaskEvent.objects.filter(task=task)
        .select_related("actor__person")
        .order_by("at", "id")
    )
    for event in events:
        event.label = EVENT_LABELS.get(event.kind, event.kind)
        event.actor_label = _actor_label(event.actor)
    now = timezone.now()
    _decorate(task, now)
    actions = [
        {"name": name, "label": ACTION_BUTTONS[name], "side": ACTIONS[name].side.value}
        for name in allowed_actions(request.user, task)
    ]
    context = {
        "task": task,
        "events": events,
        "steps": stepper(task, events),
        "actions": actions,
        "error": error,
        "open_action": open_action,
        "escalated_to_me": task.escalated_to_id in escalated_to_me_ids(request.user),
        "creator": _actor_label(task.created_by),
        "now": now,
    }
    return render(request, "core/tasks/detail.html", context, status=status)


def _actor_label(user) -> str:
    if user is None:
        return _("系统")
    try:
        return user.person.name
    except user._meta.model.person.RelatedObjectDoesNotExist:
        return user.get_username()


@login_required
def task_detail(request, pk: int):
    return _render_detail(request, _visible_task(request, pk))


def _parse_local(value: str, field: str) -> datetime | None:
    """A `datetime-local` input (Asia/Shanghai on screen) as an aware datetime."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            _("日期时间格式不正确"), details={field: _("日期时间格式不正确")}
        ) from None
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def _run_action(request, task, action: str):
    post = request.POST
    actor = request.user
    if action == "acknowledge":
        return services.acknowledge_task(actor=actor, task=task, note=post.get("note", ""))
    if action == "on-site":
        return services.arrive_on_site(actor=actor, task=task, note=post.get("note", ""))
    if action == "complete":
        return services.complete_task(actor=actor, task=task, note=post.get("note", ""))
    if action == "verify":
        return services.verify_task(actor=actor, task=task, note=post.get("note", ""))
    if action == "return":
        return services.return_task(
            actor=actor,
            task=task,
            reason=post.get("reason", ""),
            due_at=_parse_local(post.get("due_at", ""), "due_at"),
        )
    due_at = _parse_local(post.get("due_at", ""), "due_at")
    return services.extend_due(
        actor=actor, task=task, new_due_at=due_at, reason=post.get("reason", "")
    )


DONE_MESSAGES = {
    "acknowledge": gettext_lazy("已签收"),
    "on-site": gettext_lazy("已报告到场"),
    "complete": gettext_lazy("已办结，等待督办方核验"),
    "verify": gettext_lazy("已核验通过"),
    "return": gettext_lazy("已退回承办方重办"),
    "extend": gettext_lazy("已延期"),
}


@login_required
@require_POST
def task_action(request, pk: int, action: str):
    """One step of the task; a refusal re-renders the page with the reason (409 for a step
    the state does not allow, 403 for the wrong side, 422 for bad input)."""
    if action not in ACTIONS:
        raise Http404
    task = _visible_task(request, pk)
    try:
        _run_action(request, task, action)
    except DomainError as exc:
        details = [str(message) for message in exc.details.values()] if exc.status == 422 else []
        error = {"message": str(exc.message), "details": details}
        return _render_detail(
            request, _visible_task(request, pk), status=exc.status, error=error, open_action=action
        )
    messages.success(request, DONE_MESSAGES[action])
    return redirect("task_detail", pk=task.pk)


# --- create --------------------------------------------------------------------------------

_LOCAL_INPUT = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format=_LOCAL_INPUT, **kwargs)


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Person) -> str:
        unit = obj.organization.name if obj.organization_id else obj.region.name
        return f"{obj.name}（{unit}）"


class TaskForm(ServiceForm):
    title = forms.CharField(label=gettext_lazy("任务"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("要求"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    priority = forms.ChoiceField(label=gettext_lazy("紧急程度"), choices=TaskPriority.choices)
    region = RegionChoiceField(label=gettext_lazy("所属区划"))
    assignee_organization = OrganizationChoiceField(
        label=gettext_lazy("承办单位"), queryset=Organization.objects.none(), required=False
    )
    assignee_person = PersonChoiceField(
        label=gettext_lazy("承办人"),
        queryset=Person.objects.none(),
        required=False,
        help_text=gettext_lazy("只列出有登录账号的人员；承办单位和承办人至少填写一项"),
    )
    respond_by = forms.DateTimeField(
        label=gettext_lazy("签收时限"),
        required=False,
        widget=DateTimeLocalInput(),
        input_formats=[_LOCAL_INPUT, "%Y-%m-%d %H:%M"],
    )
    due_at = forms.DateTimeField(
        label=gettext_lazy("办结时限"),
        widget=DateTimeLocalInput(),
        input_formats=[_LOCAL_INPUT, "%Y-%m-%d %H:%M"],
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        minutes = int(respond_window().total_seconds() // 60)
        self.fields["respond_by"].help_text = _("留空则为下达后 %(minutes)d 分钟") % {
            "minutes": minutes
        }
        self.fields["region"].queryset = regions_with(user, Capability.EDIT).order_by("path")
        self.fields["assignee_organization"].queryset = (
            Organization.objects.visible_to(user)
            .select_related("region")
            .order_by("region__code", "name")
        )
        self.fields["assignee_person"].queryset = (
            Person.objects.visible_to(user)
            .filter(user__isnull=False)
            .select_related("region", "organization")
            .order_by("region__code", "name")
        )

    def run_service(self):
        return services.assign_task(actor=self.user, **self.cleaned_data)


@login_required
def task_create(request):
    if not can(request.user, Capability.EDIT):
        return forbidden(request, _("您没有下达督办任务的权限"))
    initial = {
        "priority": TaskPriority.NORMAL,
        "due_at": timezone.localtime() + timedelta(days=1),
        "region": request.GET.get("region", ""),
    }
    form = TaskForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            task = form.save()
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        if task is not None:
            messages.success(request, _("已下达督办任务 %(number)s") % {"number": task.number})
            return redirect("task_detail", pk=task.pk)
    context = {"form": form, "title": _("下达督办任务"), "cancel_url": reverse("task_supervised")}
    return render(request, "core/form.html", context, status=422 if form.errors else 200)
