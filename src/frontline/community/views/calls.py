"""Pages of community calls (社区呼叫 / 吹哨报到): the list (filters, overdue in red with the
escalation level), the phone form to raise a call (category → suggested departments, by
htmx), the call page (stepper, deadline bars, actions for the side the user is on, timeline)
and the monthly public list (每月公示) with its XLSX export."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from frontline.community.models import (
    OPEN_CALL_STATES,
    CallCategory,
    CallState,
    CommunityCall,
    CommunityCallEvent,
)
from frontline.community.services import calls as services
from frontline.community.services import calls_monthly as monthly
from frontline.community.services import calls_people as people
from frontline.community.services import calls_rules as rules
from frontline.core import services as core_services
from frontline.core.errors import DomainError
from frontline.core.forms import regions_with
from frontline.core.geo import to_wgs84
from frontline.core.models import AttachmentKind, Organization, RegionLevel
from frontline.core.roles import Capability, can
from frontline.core.services.attachments import attachments_of
from frontline.core.views.common import forbidden, paginate

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_RELATED = ("region", "department", "raised_by__person")

EVENT_LABELS = {
    "called": gettext_lazy("发起呼叫"),
    "on_site": gettext_lazy("部门到场报到"),
    "fixed": gettext_lazy("部门报告整改完成"),
    "closed": gettext_lazy("呼叫人确认办结"),
    "rejected": gettext_lazy("呼叫人退回整改"),
    "withdrawn": gettext_lazy("呼叫人撤回"),
    "escalated": gettext_lazy("逾期升级"),
}

DONE_MESSAGES = {
    "on-site": gettext_lazy("已到场报到"),
    "fixed": gettext_lazy("已报告整改完成，等待呼叫人确认"),
    "confirm": gettext_lazy("已确认办结，感谢评价"),
    "reject": gettext_lazy("已退回整改"),
    "withdraw": gettext_lazy("已撤回呼叫"),
}

STATE_CHIPS = [
    ("open", gettext_lazy("办理中")),
    *[(state.value, state.label) for state in CallState],
    ("all", gettext_lazy("全部")),
]


def _decorate(call: CommunityCall, now: datetime) -> None:
    call.overdue = rules.is_overdue(call, now)


# --- list ----------------------------------------------------------------------------------


@login_required
def call_list(request):
    user = request.user
    base = people.visible_calls(user)
    counts = dict(base.order_by().values_list("state").annotate(n=Count("id")))
    chips = []
    for key, label in STATE_CHIPS:
        if key == "open":
            count = sum(counts.get(s, 0) for s in OPEN_CALL_STATES)
        elif key == "all":
            count = sum(counts.values())
        else:
            count = counts.get(key, 0)
        chips.append({"key": key, "label": label, "count": count})
    state = request.GET.get("state", "open")
    if state not in {key for key, _label in STATE_CHIPS}:
        state = "open"
    calls = base.select_related(*_RELATED)
    if state == "open":
        calls = calls.filter(state__in=OPEN_CALL_STATES)
    elif state != "all":
        calls = calls.filter(state=state)
    category = request.GET.get("category", "")
    if category in CallCategory.values:
        calls = calls.filter(category=category)
    departments = list(
        Organization.objects.filter(pk__in=base.order_by().values("department_id")).order_by("name")
    )
    department = request.GET.get("department", "")
    if department.isdigit() and len(department) <= 18:
        calls = calls.filter(department_id=int(department))
    now = timezone.now()
    overdue = request.GET.get("overdue") == "1"
    if overdue:
        calls = calls.filter(rules.overdue_q(now))
    q = request.GET.get("q", "").strip()[:100]
    if q:
        from django.db.models import Q

        calls = calls.filter(Q(title__icontains=q) | Q(number__icontains=q))
    page = paginate(request, calls.order_by("-raised_at", "-id"))
    for call in page:
        _decorate(call, now)
    context = {
        "page": page,
        "chips": chips,
        "state": state,
        "category": category,
        "department": department,
        "departments": departments,
        "overdue": overdue,
        "q": q,
        "categories": CallCategory.choices,
        "can_raise": can(user, Capability.EDIT),
        "month": timezone.localdate().strftime("%Y-%m"),
    }
    return render(request, "community/calls/list.html", context)


# --- raise ---------------------------------------------------------------------------------


def _call_regions(user):
    """Regions where the user may raise a call: villages and grids where they may edit."""
    return (
        regions_with(user, Capability.EDIT)
        .filter(level__in=[RegionLevel.VILLAGE, RegionLevel.GRID])
        .order_by("path")
    )


def _float(value: str, field: str, errors: dict) -> float | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        errors[field] = _("请输入数字")
        return None


@login_required
def call_departments(request):
    """htmx: the <option>s of departments for a region and a category."""
    region = _call_regions(request.user).filter(code=request.GET.get("region", "")).first()
    units = []
    if region is not None:
        units = people.suggested_departments(
            request.user, region, request.GET.get("category") or None
        )
    return render(
        request,
        "community/calls/_department_options.html",
        {"departments": units, "selected": request.GET.get("department", "")},
    )


@login_required
def call_new(request):
    """发起呼叫 from a phone: where, what (category), which department (suggested by
    category), a few words, the phone's position."""
    user = request.user
    if not can(user, Capability.EDIT):
        return forbidden(request, _("您没有发起社区呼叫的权限"))
    regions = list(_call_regions(user))
    if not regions:
        return forbidden(request, _("您没有可发起呼叫的村社区或网格"))
    data = request.POST if request.method == "POST" else request.GET
    region_code = data.get("region") or regions[-1].code
    if len(regions) > 1 and not data.get("region"):
        grids = [r for r in regions if r.level == RegionLevel.GRID]
        region_code = (grids[0] if len(grids) == 1 else regions[0]).code
    region = next((r for r in regions if r.code == region_code), None)
    category = data.get("category", "")
    errors: dict = {}
    form = {
        "region": region_code,
        "category": category,
        "department": data.get("department", ""),
        "title": data.get("title", ""),
        "description": data.get("description", ""),
        "address": data.get("address", ""),
        "lon": data.get("lon", ""),
        "lat": data.get("lat", ""),
        "coord_system": data.get("coord_system", "wgs84"),
    }
    departments = people.suggested_departments(user, region, category or None) if region else []
    status = 200
    if request.method == "POST":
        if region is None:
            errors["region"] = _("请选择所属区划")
        department = next((d for d in departments if str(d.pk) == form["department"]), None)
        lon = _float(form["lon"], "lon", errors)
        lat = _float(form["lat"], "lat", errors)
        if lon is not None and lat is not None and form["coord_system"] in ("gcj02", "bd09"):
            lon, lat = to_wgs84(lon, lat, form["coord_system"])
        if not errors:
            try:
                call = services.raise_call(
                    actor=user,
                    region=region,
                    title=form["title"],
                    category=category,
                    department=department,
                    description=form["description"],
                    address=form["address"],
                    lon=lon,
                    lat=lat,
                )
            except DomainError as exc:
                if exc.status == 403:
                    return forbidden(request, exc.message)
                errors = {k: str(v) for k, v in exc.details.items()} or {"form": str(exc.message)}
            else:
                messages.success(
                    request,
                    _("已发起呼叫 %(number)s，%(department)s 须于 %(at)s 前到场")
                    % {
                        "number": call.number,
                        "department": call.department.name,
                        "at": timezone.localtime(call.arrive_by).strftime("%H:%M"),
                    },
                )
                return redirect("call_detail", pk=call.pk)
        status = 422
    context = {
        "form": form,
        "errors": errors,
        "regions": regions,
        "departments": departments,
        "categories": CallCategory.choices,
        "limits": [
            {
                "label": label,
                "arrive": int(rules.arrive_limit(value).total_seconds() // 60),
                "fix": int(rules.fix_limit(value).total_seconds() // 3600),
            }
            for value, label in CallCategory.choices
        ],
    }
    return render(request, "community/calls/new.html", context, status=status)


# --- detail --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    label: str
    status: str  # done, current, todo, returned


def stepper(call: CommunityCall) -> list[Step]:
    """已呼叫 → 已报到 → 待确认 → 已办结 (a withdrawn call stops after 已呼叫)."""
    order = [CallState.CALLED, CallState.ON_SITE, CallState.FIXED, CallState.CLOSED]
    if call.state == CallState.WITHDRAWN:
        return [
            Step(str(CallState.CALLED.label), "done"),
            Step(str(CallState.WITHDRAWN.label), "returned"),
        ]
    current = order.index(CallState(call.state))
    steps = []
    for index, state in enumerate(order):
        if index < current or state == CallState.CLOSED == call.state:
            status = "done"
        elif index == current:
            status = "current"
        else:
            status = "todo"
        steps.append(Step(str(state.label), status))
    return steps


def _bar(start: datetime, deadline: datetime, done: datetime | None, now: datetime) -> dict:
    """A deadline as a bar: the share of the allowed time used (capped at 100), and whether
    the deadline was kept."""
    total = max((deadline - start).total_seconds(), 1)
    end = done or now
    used = (end - start).total_seconds()
    return {
        "deadline": deadline,
        "done": done,
        "percent": max(0, min(100, round(100 * used / total))),
        "late": end > deadline,
        "left": deadline - now if not done and deadline > now else None,
    }


def _actor_label(user) -> str:
    if user is None:
        return _("系统")
    try:
        return user.person.name
    except user._meta.model.person.RelatedObjectDoesNotExist:
        return user.get_username()


def _visible_call(request, pk: int) -> CommunityCall:
    call = (
        people.visible_calls(request.user)
        .select_related(*_RELATED, "building", "task", "department__region")
        .filter(pk=pk)
        .first()
    )
    if call is None:
        raise Http404
    return call


def _render_detail(request, call: CommunityCall, *, status=200, error=None, open_action=None):
    user = request.user
    now = timezone.now()
    _decorate(call, now)
    events = list(
        CommunityCallEvent.objects.filter(call=call)
        .select_related("actor__person")
        .order_by("at", "id")
    )
    photos = {
        a.pk: a
        for a in attachments_of(call)
        .visible_to(user)
        .filter(kind=AttachmentKind.IMAGE)
        .order_by("uploaded_at", "id")
    }
    for event in events:
        event.label = EVENT_LABELS.get(event.kind, event.kind)
        event.actor_label = _actor_label(event.actor)
        event.photos = [photos[i] for i in event.data.get("photo_ids") or [] if i in photos]
    shown = {photo.pk for event in events for photo in event.photos}
    names = people.allowed_actions(user, call)
    actions = [{"name": n, "label": _(rules.TRANSITIONS[n].label)} for n in names]
    side = people.side_of(user, call)
    context = {
        "call": call,
        "events": events,
        "photos": [p for pk, p in photos.items() if pk not in shown],
        "steps": stepper(call),
        "actions": actions,
        "error": error,
        "open_action": open_action,
        "side": side.value if side else "",
        "caller": _actor_label(call.raised_by),
        "arrive_bar": _bar(call.raised_at, call.arrive_by, call.arrived_at, now)
        if call.state != CallState.WITHDRAWN
        else None,
        "fix_bar": _bar(call.raised_at, call.fix_by, call.fixed_at, now)
        if call.state != CallState.WITHDRAWN
        else None,
        "department_tries_close": side == rules.Side.DEPARTMENT and call.state == CallState.FIXED,
        "now": now,
    }
    return render(request, "community/calls/detail.html", context, status=status)


@login_required
def call_detail(request, pk: int):
    return _render_detail(request, _visible_call(request, pk))


def _run_action(request, call: CommunityCall, action: str, stored: list) -> None:
    post = request.POST
    actor = request.user
    if action == "on-site":
        errors: dict = {}
        lon = _float(post.get("lon", ""), "lon", errors)
        lat = _float(post.get("lat", ""), "lat", errors)
        if errors:
            from frontline.core.errors import InvalidInput

            raise InvalidInput(_("输入有误，请检查标注的字段"), details=errors)
        services.report_on_site(actor=actor, call=call, note=post.get("note", ""), lon=lon, lat=lat)
    elif action == "fixed":
        ids = []
        if people.is_department_user(actor, call):
            for upload in request.FILES.getlist("photos"):
                attachment = core_services.attach_file(
                    actor=actor, owner=call, uploaded_file=upload
                )
                stored.append(attachment)
                ids.append(attachment.pk)
        services.report_fixed(actor=actor, call=call, note=post.get("note", ""), photo_ids=ids)
    elif action == "confirm":
        services.confirm_fix(
            actor=actor, call=call, rating=post.get("rating", ""), note=post.get("note", "")
        )
    elif action == "reject":
        services.reject_fix(actor=actor, call=call, reason=post.get("reason", ""))
    elif action == "withdraw":
        services.withdraw_call(actor=actor, call=call, reason=post.get("reason", ""))


def _remove_files(attachments) -> None:
    for attachment in attachments:
        for field in (attachment.file, attachment.thumbnail):
            if field:
                with contextlib.suppress(Exception):
                    field.storage.delete(field.name)


@login_required
@require_POST
def call_action(request, pk: int, action: str):
    """One step; a refusal re-renders the page with the reason (409 for a step the state
    does not allow or a department trying to close, 403 for the wrong side, 422 for bad
    input)."""
    if action not in rules.TRANSITIONS:
        raise Http404
    call = _visible_call(request, pk)
    stored: list = []
    try:
        with transaction.atomic():
            _run_action(request, call, action, stored)
    except DomainError as exc:
        _remove_files(stored)
        details = [str(m) for m in exc.details.values()] if exc.status == 422 else []
        return _render_detail(
            request,
            _visible_call(request, pk),
            status=exc.status,
            error={"message": str(exc.message), "details": details},
            open_action=action,
        )
    messages.success(request, DONE_MESSAGES[action])
    return redirect("call_detail", pk=call.pk)


# --- the monthly public list ---------------------------------------------------------------

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def _month(request) -> tuple[int, int]:
    match = _MONTH.fullmatch(request.GET.get("month", "").strip())
    if match:
        year, month = int(match.group(1)), int(match.group(2))
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return year, month
    today = timezone.localdate()
    return today.year, today.month


def _shift(year: int, month: int, delta: int) -> str:
    index = year * 12 + month - 1 + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@login_required
def call_public(request):
    """每月公示: every call of the month in scope, with its times and outcome; callers'
    names masked; totals per category and per department."""
    year, month = _month(request)
    report = monthly.monthly_report(request.user, year, month)
    peak = max([g.calls for g in report.by_category + report.by_department] or [1])
    for group in report.by_category + report.by_department:
        group.width = round(100 * group.calls / peak)
    context = {
        "report": report,
        "month": report.label,
        "previous": _shift(year, month, -1),
        "next": _shift(year, month, 1),
    }
    return render(request, "community/calls/public.html", context)


@login_required
def call_public_export(request):
    year, month = _month(request)
    report = monthly.monthly_report(request.user, year, month)
    response = HttpResponse(monthly.monthly_xlsx(report), content_type=XLSX_TYPE)
    filename = f"{_('社区呼叫公示')}-{report.label}.xlsx"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response
