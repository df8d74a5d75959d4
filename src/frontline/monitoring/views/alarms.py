"""The live alarm console and the alarm page.

The console polls its feed (counts by severity and the open alarms, newest first) every
3 s with htmx; acknowledge / clear / comment post from the console and answer with the fresh
feed, so the list never goes stale. Without JavaScript the same forms post normally and come
back to the page with a message.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from frontline.core.errors import DomainError
from frontline.core.models import Region
from frontline.core.roles import Capability, can
from frontline.core.schemas_tasks import actor_name
from frontline.core.views.common import scoped_object_or_404
from frontline.monitoring import queries
from frontline.monitoring.kinds import DeviceKind
from frontline.monitoring.models import OPEN_ALARM_STATES, Alarm, AlarmSeverity, AlarmState
from frontline.monitoring.services import alarms as services

FEED_SIZE = 100

EVENT_LABELS = {
    "raised": gettext_lazy("产生告警"),
    "acknowledged": gettext_lazy("确认"),
    "cleared": gettext_lazy("消除"),
    "commented": gettext_lazy("备注"),
    "hazard_created": gettext_lazy("转为隐患"),
    "task_opened": gettext_lazy("下达督办任务"),
    "no_station": gettext_lazy("未找到负责的应急管理站"),
}

ACTIONS = {
    "acknowledge": gettext_lazy("已确认告警"),
    "clear": gettext_lazy("已消除告警"),
    "comment": gettext_lazy("已添加备注"),
    "to-hazard": gettext_lazy("已转为隐患"),
}


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- the console -------------------------------------------------------------------------------


def _console_filters(params) -> dict:
    severity = params.get("severity", "")
    kind = params.get("kind", "")
    region = params.get("region", "").strip()[:15]
    return {
        "severity": severity if severity in AlarmSeverity.values else "",
        "kind": kind if kind in DeviceKind.values else "",
        "region": region if region.isdigit() else "",
        "unacknowledged": params.get("unacknowledged") == "1",
    }


def _feed_context(request, params, *, error=None) -> dict:
    user = request.user
    filters = _console_filters(params)
    base = Alarm.objects.visible_to(user)
    if filters["region"]:
        region = Region.objects.visible_to(user).filter(code=filters["region"]).first()
        base = base.within(region.path) if region else base.none()
    if filters["kind"]:
        base = base.filter(device__kind=filters["kind"])
    counts = queries.severity_counts(base)
    alarms = base.select_related(*queries.ALARM_RELATED).filter(state__in=OPEN_ALARM_STATES)
    if filters["severity"]:
        alarms = alarms.filter(severity=filters["severity"])
    if filters["unacknowledged"]:
        alarms = alarms.filter(state=AlarmState.ACTIVE)
    rows = list(alarms.order_by("-last_at", "-id")[: FEED_SIZE + 1])
    query = urlencode({k: ("1" if v is True else v) for k, v in filters.items() if v})
    return {
        "alarms": rows[:FEED_SIZE],
        "more": len(rows) > FEED_SIZE,
        "counts": counts,
        "filters": filters,
        "query": query,
        "can_act": can(user, Capability.EDIT),
        "error": error,
    }


@login_required
def alarm_console(request):
    context = _feed_context(request, request.GET)
    context["kinds"] = DeviceKind.choices
    context["severities"] = AlarmSeverity.choices
    return render(request, "monitoring/console.html", context)


@login_required
def alarm_feed(request):
    """The polled part of the console."""
    return render(request, "monitoring/_feed.html", _feed_context(request, request.GET))


def _visible_alarm(request, pk: int) -> Alarm:
    return scoped_object_or_404(request.user, Alarm.objects.select_related("device"), pk=pk)


def _run(request, alarm: Alarm, action: str):
    note = request.POST.get("note", "")
    if action == "acknowledge":
        return services.acknowledge_alarm(actor=request.user, alarm=alarm, note=note)
    if action == "clear":
        return services.clear_alarm(actor=request.user, alarm=alarm, note=note)
    if action == "comment":
        return services.comment_alarm(actor=request.user, alarm=alarm, note=note)
    return services.alarm_to_hazard(actor=request.user, alarm=alarm)


def _error(exc: DomainError) -> dict:
    details = [str(message) for message in exc.details.values()] if exc.status == 422 else []
    return {"message": str(exc.message), "details": details}


@login_required
@require_POST
def console_action(request, pk: int, action: str):
    """An action taken on the console: the answer is the fresh feed (with the reason when
    refused). A conflict (someone else was faster) still swaps in, status 200, so the
    console shows the current state at once; 403 and 422 keep their status."""
    if action not in ACTIONS or action == "to-hazard":
        raise Http404
    alarm = _visible_alarm(request, pk)
    error = None
    status = 200
    try:
        _run(request, alarm, action)
    except DomainError as exc:
        error = _error(exc)
        status = exc.status if exc.status in (403, 422) else 200
    if not _is_htmx(request):
        if error:
            messages.error(request, error["message"])
        else:
            messages.success(request, ACTIONS[action])
        return redirect(f"{reverse('alarm_console')}?{request.GET.urlencode()}")
    context = _feed_context(request, request.GET, error=error)
    if error is None:
        context["done"] = ACTIONS[action]
    return render(request, "monitoring/_feed.html", context, status=status)


# --- one alarm ---------------------------------------------------------------------------------


def _render_detail(request, pk: int, *, status: int = 200, error=None, open_action=None):
    alarm = queries.alarm_with_timeline(request.user, pk)
    if alarm is None:
        _visible_alarm(request, pk)  # the 404 that says whether the switcher hides it
        raise Http404
    for event in alarm.timeline:
        event.label = EVENT_LABELS.get(event.kind, event.kind)
        event.actor_label = actor_name(event.actor) or _("系统")
    can_act = can(request.user, Capability.EDIT, alarm.region)
    context = {
        "alarm": alarm,
        "events": alarm.timeline,
        "can_act": can_act,
        "error": error,
        "open_action": open_action,
        "acknowledged_by": actor_name(alarm.acknowledged_by) if alarm.acknowledged_by_id else "",
    }
    return render(request, "monitoring/alarm_detail.html", context, status=status)


@login_required
def alarm_detail(request, pk: int):
    return _render_detail(request, pk)


@login_required
@require_POST
def alarm_action(request, pk: int, action: str):
    if action not in ACTIONS:
        raise Http404
    alarm = _visible_alarm(request, pk)
    try:
        result = _run(request, alarm, action)
    except DomainError as exc:
        return _render_detail(request, pk, status=exc.status, error=_error(exc), open_action=action)
    messages.success(request, ACTIONS[action])
    if action == "to-hazard":
        return redirect("hazard_detail", pk=result.pk)
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("alarm_detail", pk=alarm.pk)
