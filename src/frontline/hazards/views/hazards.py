"""Hazard pages: the list (state chips, overdue first), the hazard with its stepper,
countdown, timeline with photos and the steps this user may take, and the phone report page
for grid workers and the hotline operator."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from frontline.core import services as core_services
from frontline.core.errors import DomainError, InvalidInput
from frontline.core.geo import to_wgs84
from frontline.core.models import Attachment, AttachmentKind, Region
from frontline.core.pagination import IdsFirst
from frontline.core.roles import Capability, can
from frontline.core.services.attachments import attachments_of
from frontline.core.views.common import forbidden, paginate, scoped_object_or_404
from frontline.hazards import services
from frontline.hazards.forms_hazards import ReportForm
from frontline.hazards.models import (
    Hazard,
    HazardEvent,
    HazardLevel,
    HazardSource,
    HazardState,
)
from frontline.hazards.models.hazards import OPEN_HAZARD_STATES, open_q, overdue_q
from frontline.hazards.services.field_reports import (
    TooManyReports,
    check_report_rate,
    region_for_report,
    report_regions,
)
from frontline.hazards.services.loop_rules import (
    TRANSITIONS,
    allowed_actions,
    in_queue_order,
    listed_of,
    plan_of,
    supervising_region,
    township_of,
)

_RELATED = ("region", "enterprise", "place")

EVENT_LABELS = {
    "reported": gettext_lazy("上报"),
    "confirmed": gettext_lazy("确认定级"),
    "rejected": gettext_lazy("不予认定"),
    "controlled": gettext_lazy("管控"),
    "plan_submitted": gettext_lazy("提交治理方案"),
    "rectification_started": gettext_lazy("开始整改"),
    "extension_requested": gettext_lazy("申请延期"),
    "extension_approved": gettext_lazy("批准延期"),
    "extension_denied": gettext_lazy("不批准延期"),
    "rectified": gettext_lazy("整改完成，待验收"),
    "closed": gettext_lazy("验收核销"),
    "returned": gettext_lazy("退回整改"),
    "listed": gettext_lazy("挂牌督办"),
    "overdue": gettext_lazy("逾期督办"),
    "verify_overdue": gettext_lazy("验收逾期提醒"),
    "demo_state": gettext_lazy("演示数据（直接置为当前状态）"),
}

DONE_MESSAGES = {
    "confirm": gettext_lazy("已确认定级"),
    "reject": gettext_lazy("已不予认定"),
    "control": gettext_lazy("已记录管控措施"),
    "plan": gettext_lazy("已提交治理方案"),
    "start": gettext_lazy("已开始整改"),
    "request-extension": gettext_lazy("已提交延期申请"),
    "approve-extension": gettext_lazy("已批准延期"),
    "deny-extension": gettext_lazy("已不批准延期"),
    "rectified": gettext_lazy("已报告整改完成，等待验收"),
    "verify": gettext_lazy("已验收核销"),
    "return": gettext_lazy("已退回整改"),
    "list": gettext_lazy("已挂牌督办"),
}

STATE_CHIPS = [
    ("open", gettext_lazy("未核销")),
    *[(state.value, state.label) for state in HazardState],
    ("all", gettext_lazy("全部")),
]


# --- list ----------------------------------------------------------------------------------


def _decorate(hazard: Hazard, now: datetime) -> None:
    hazard.overdue = hazard.is_overdue(now)


@login_required
def hazard_list(request):
    user = request.user
    base = Hazard.objects.visible_to(user)
    counts = dict(base.order_by().values_list("state").annotate(n=Count("id")))
    chips = []
    for key, label in STATE_CHIPS:
        if key == "open":
            count = sum(counts.get(s, 0) for s in OPEN_HAZARD_STATES)
        elif key == "all":
            count = sum(counts.values())
        else:
            count = counts.get(key, 0)
        chips.append({"key": key, "label": label, "count": count})
    state = request.GET.get("state", "open")
    if state not in {key for key, _label in STATE_CHIPS}:
        state = "open"
    hazards = Hazard.objects.visible_in_order(user).select_related(*_RELATED)
    if state == "open":
        hazards = hazards.filter(open_q())
    elif state != "all":
        hazards = hazards.filter(state=state)
    level = request.GET.get("level", "")
    if level in HazardLevel.values:
        hazards = hazards.filter(level=level)
    source = request.GET.get("source", "")
    if source in HazardSource.values:
        hazards = hazards.filter(source=source)
    now = timezone.now()
    overdue = request.GET.get("overdue") == "1"
    if overdue:
        hazards = hazards.filter(overdue_q(now))
    q = request.GET.get("q", "").strip()[:100]
    if q:
        hazards = hazards.filter(Q(title__icontains=q) | Q(number__icontains=q))
    region_code = request.GET.get("region", "").strip()
    if region_code:
        region = Region.objects.visible_to(user).filter(code=region_code).first()
        hazards = hazards.within(region.path) if region else hazards.none()
    page = paginate(request, IdsFirst(in_queue_order(hazards)))
    for hazard in page:
        _decorate(hazard, now)
    context = {
        "page": page,
        "chips": chips,
        "state": state,
        "level": level,
        "source": source,
        "overdue": overdue,
        "q": q,
        "region_code": region_code,
        "levels": HazardLevel.choices,
        "sources": HazardSource.choices,
        "can_report": can(user, Capability.EDIT),
    }
    return render(request, "hazards/hazards/list.html", context)


# --- detail --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    label: str
    status: str  # done, current, todo, skipped, returned


STEPS = [
    HazardState.FOUND,
    HazardState.CONFIRMED,
    HazardState.CONTROLLED,
    HazardState.RECTIFYING,
    HazardState.PENDING_VERIFICATION,
    HazardState.CLOSED,
]


def stepper(hazard: Hazard, events) -> list[Step]:
    """发现 → 确认 → 管控 → 整改 → 待验收 → 核销. 管控 (optional) shows as skipped when it never
    happened; a rejected report stops at 不予认定; a returned one stands at 整改 again."""
    kinds = {event.kind for event in events}
    if hazard.state == HazardState.REJECTED:
        steps = [Step(str(HazardState.FOUND.label), "done")]
        steps.append(Step(str(HazardState.REJECTED.label), "returned"))
        return steps + [Step(str(s.label), "todo") for s in STEPS[2:]]
    current = STEPS.index(HazardState(hazard.state))
    steps = []
    for index, state in enumerate(STEPS):
        label = str(state.label)
        if index < current or (index == current and state == HazardState.CLOSED):
            status = "done"
            if state == HazardState.CONTROLLED and "controlled" not in kinds:
                status = "skipped"
            if state == HazardState.RECTIFYING and "rectification_started" not in kinds:
                status = "done" if "rectified" in kinds else "skipped"
        elif index == current:
            status = "current"
            if state == HazardState.RECTIFYING and "returned" in kinds:
                status = "returned"
        else:
            status = "todo"
        steps.append(Step(label=label, status=status))
    return steps


def _visible_hazard(request, pk: int) -> Hazard:
    return scoped_object_or_404(
        request.user,
        Hazard.objects.select_related(
            *_RELATED,
            "reported_by__person",
            "rectifier__person",
            "verifier__person",
            "treatment_plan",
            "listed_supervision__supervising_region",
            "supervised_task",
        ),
        pk=pk,
    )


def _actor_label(user) -> str:
    if user is None:
        return _("系统")
    try:
        return user.person.name
    except user._meta.model.person.RelatedObjectDoesNotExist:
        return user.get_username()


def _render_detail(request, hazard: Hazard, *, status: int = 200, error=None, open_action=None):
    user = request.user
    events = list(
        HazardEvent.objects.filter(hazard=hazard)
        .select_related("actor__person")
        .order_by("at", "id")
    )
    photos = {
        a.pk: a
        for a in attachments_of(hazard)
        .visible_to(user)
        .filter(kind=AttachmentKind.IMAGE)
        .order_by("uploaded_at", "id")
    }
    for event in events:
        event.label = EVENT_LABELS.get(event.kind, event.kind)
        event.actor_label = _actor_label(event.actor)
        ids = event.data.get("after_photo_ids") or []
        event.photos = [photos[i] for i in ids if i in photos]
    now = timezone.now()
    _decorate(hazard, now)
    names = allowed_actions(user, hazard)
    actions = [{"name": name, "label": _(TRANSITIONS[name].label)} for name in names]
    candidates = []
    if "rectified" in names:
        candidates = [
            p
            for p in photos.values()
            if hazard.confirmed_at is None or p.uploaded_at >= hazard.confirmed_at
        ]
    supervising = []
    if "list" in names:
        township = township_of(hazard.region)
        supervising = [
            r for r in township.ancestors() if can(user, Capability.EDIT, r) and r != township
        ]
    context = {
        "hazard": hazard,
        "events": events,
        "steps": stepper(hazard, events),
        "actions": actions,
        "error": error,
        "open_action": open_action,
        "plan": plan_of(hazard),
        "listed": listed_of(hazard),
        "supervising": supervising_region(hazard) if hazard.is_major else None,
        "supervising_choices": supervising,
        "photo_candidates": candidates,
        "levels": HazardLevel.choices,
        "reporter": _actor_label(hazard.reported_by) if hazard.reported_by_id else "",
        "rectifier": _actor_label(hazard.rectifier) if hazard.rectifier_id else "",
        "verifier": _actor_label(hazard.verifier) if hazard.verifier_id else "",
        "today": timezone.localdate(),
        "now": now,
    }
    return render(request, "hazards/hazards/detail.html", context, status=status)


@login_required
def hazard_detail(request, pk: int):
    return _render_detail(request, _visible_hazard(request, pk))


def _parse_local(value: str, field: str) -> datetime | None:
    """A `datetime-local` or date input (Asia/Shanghai on screen) as an aware datetime."""
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


def _parse_date(value: str, field: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(_("日期格式不正确"), details={field: _("日期格式不正确")}) from None


def _attach_photos(request, hazard: Hazard, stored: list) -> list[int]:
    ids = []
    for upload in request.FILES.getlist("photos"):
        attachment = core_services.attach_file(
            actor=request.user, owner=hazard, uploaded_file=upload
        )
        stored.append(attachment)
        ids.append(attachment.pk)
    return ids


def _remove_files(attachments: list[Attachment]) -> None:
    """Files of attachments whose rows were rolled back."""
    for attachment in attachments:
        for field in (attachment.file, attachment.thumbnail):
            if field:
                with contextlib.suppress(Exception):
                    field.storage.delete(field.name)


PLAN_FIELDS = (
    "current_state",
    "danger_analysis",
    "goal",
    "measures",
    "funds",
    "responsible_unit",
    "responsible_person",
    "safety_measures",
    "emergency_plan",
)


def _run_action(request, hazard: Hazard, action: str, stored: list) -> None:
    post = request.POST
    actor = request.user
    if action == "confirm":
        services.confirm_hazard(
            actor=actor,
            hazard=hazard,
            level=post.get("level", ""),
            level_basis=post.get("level_basis", ""),
            responsible_person=post.get("responsible_person", ""),
            due_at=_parse_local(post.get("due_at", ""), "due_at"),
            note=post.get("note", ""),
        )
    elif action == "reject":
        services.reject_hazard(actor=actor, hazard=hazard, reason=post.get("reason", ""))
    elif action == "control":
        services.control_hazard(actor=actor, hazard=hazard, measures=post.get("measures", ""))
    elif action == "plan":
        services.submit_treatment_plan(
            actor=actor,
            hazard=hazard,
            time_limit=_parse_date(post.get("time_limit", ""), "time_limit"),
            **{name: post.get(name, "") for name in PLAN_FIELDS},
        )
    elif action == "start":
        services.start_rectification(actor=actor, hazard=hazard, note=post.get("note", ""))
    elif action == "request-extension":
        services.request_extension(
            actor=actor,
            hazard=hazard,
            until=_parse_local(post.get("until", ""), "until"),
            reason=post.get("reason", ""),
        )
    elif action == "approve-extension":
        services.approve_extension(actor=actor, hazard=hazard, note=post.get("note", ""))
    elif action == "deny-extension":
        services.deny_extension(actor=actor, hazard=hazard, reason=post.get("reason", ""))
    elif action == "rectified":
        chosen = [v for v in post.getlist("after_photo_ids") if v.isdigit() and len(v) <= 18]
        ids = _attach_photos(request, hazard, stored) + [int(v) for v in chosen]
        services.report_rectified(
            actor=actor, hazard=hazard, note=post.get("note", ""), after_photo_ids=ids
        )
    elif action == "verify":
        services.verify_hazard(actor=actor, hazard=hazard, note=post.get("note", ""))
    elif action == "return":
        services.return_for_rework(
            actor=actor,
            hazard=hazard,
            reason=post.get("reason", ""),
            due_at=_parse_local(post.get("due_at", ""), "due_at"),
        )
    elif action == "list":
        code = post.get("supervising_region", "")
        region = Region.objects.filter(code=code).first() if code else None
        services.list_for_supervision(
            actor=actor,
            hazard=hazard,
            supervising_region=region,
            document_number=post.get("document_number", ""),
            deadline=_parse_local(post.get("deadline", ""), "deadline"),
        )


@login_required
@require_POST
def hazard_action(request, pk: int, action: str):
    """One step of the loop; a refusal re-renders the page with the reason (409 for a step
    the state does not allow, 403 for the wrong person, 422 for bad input)."""
    if action not in TRANSITIONS:
        raise Http404
    hazard = _visible_hazard(request, pk)
    stored: list[Attachment] = []
    try:
        with transaction.atomic():
            _run_action(request, hazard, action, stored)
    except DomainError as exc:
        _remove_files(stored)
        details = [str(message) for message in exc.details.values()] if exc.status == 422 else []
        error = {"message": str(exc.message), "details": details}
        return _render_detail(
            request,
            _visible_hazard(request, pk),
            status=exc.status,
            error=error,
            open_action=action,
        )
    messages.success(request, DONE_MESSAGES[action])
    return redirect("hazard_detail", pk=hazard.pk)


# --- the phone report page -----------------------------------------------------------------


def _report_context(request, form, *, error=None) -> dict:
    regions = form.fields["region"].queryset
    return {
        "form": form,
        "error": error,
        "single_region": regions.count() == 1,
        "regions": regions,
    }


@login_required
def hazard_report(request):
    """上报隐患 from a phone: title, photos from the camera, the phone's position, the
    region preselected from the user's scope or located from the point; the hotline
    operator adds the caller's name and phone. At most 10 reports per 10 minutes."""
    user = request.user
    if not can(user, Capability.EDIT):
        return forbidden(request, _("您没有上报隐患的权限"))
    regions = report_regions(user)
    initial_region = region_for_report(user)
    initial = {"source": "grid_worker", "coord_system": "wgs84"}
    if initial_region is not None:
        initial["region"] = initial_region.code
    form = ReportForm(request.POST or None, regions=regions, initial=initial)
    if request.method != "POST":
        return render(request, "hazards/hazards/report.html", _report_context(request, form))
    try:
        check_report_rate(user)
    except TooManyReports as exc:
        context = _report_context(request, form, error=str(exc.message))
        return render(request, "hazards/hazards/report.html", context, status=429)
    if not form.is_valid():
        return render(
            request, "hazards/hazards/report.html", _report_context(request, form), status=422
        )
    data = form.cleaned_data
    lon, lat = data.get("lon"), data.get("lat")
    if lon is not None and lat is not None:
        lon, lat = to_wgs84(lon, lat, data["coord_system"])
    region = data.get("region") or region_for_report(user, lon=lon, lat=lat)
    if region is None:
        form.add_error("region", _("无法按位置确定所属区划，请选择区划"))
        return render(
            request, "hazards/hazards/report.html", _report_context(request, form), status=422
        )
    stored: list[Attachment] = []
    try:
        with transaction.atomic():
            hazard = services.report_hazard(
                actor=user,
                region=region,
                title=data["title"],
                description=data["description"],
                source=data["source"],
                lon=lon,
                lat=lat,
                reporter_name=data["reporter_name"],
                reporter_phone=data["reporter_phone"],
            )
            _attach_photos(request, hazard, stored)
    except DomainError as exc:
        _remove_files(stored)
        if exc.status == 403:
            return forbidden(request, exc.message)
        if exc.status != 422:
            raise
        for name, message in exc.details.items():
            if name == "file":
                name = None
            form.add_error(name if name in form.fields else None, str(message))
        if not exc.details:
            form.add_error(None, str(exc.message))
        return render(
            request, "hazards/hazards/report.html", _report_context(request, form), status=422
        )
    messages.success(
        request, _("已上报隐患 %(number)s，等待应急管理站确认") % {"number": hazard.number}
    )
    return redirect("hazard_detail", pk=hazard.pk)
