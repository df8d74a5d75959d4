"""Inspection pages: list, start, the item-by-item form made for a phone, submit, failed
item → hazard, rectification notices (printable and DOCX) and plans with their coverage."""

from __future__ import annotations

from datetime import datetime, time
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from frontline.core.errors import DomainError, PermissionDenied
from frontline.core.models import Attachment
from frontline.core.roles import Capability, can
from frontline.core.schemas_tasks import actor_name
from frontline.core.services.attachments import attachments_of
from frontline.core.views.common import forbidden, paginate, scoped_object_or_404
from frontline.hazards import services
from frontline.hazards.forms_inspections import (
    NoticeForm,
    PlanForm,
    ResultForm,
    StartInspectionForm,
    SubmitForm,
)
from frontline.hazards.models import (
    ChecklistItem,
    Hazard,
    Inspection,
    InspectionEvent,
    InspectionEventKind,
    InspectionForm,
    InspectionPlan,
    InspectionResult,
    InspectionState,
    ItemOutcome,
    RectificationNotice,
)
from frontline.hazards.services.notices import notice_context

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _error_message(exc: DomainError) -> str:
    details = "；".join(str(v) for v in exc.details.values())
    return f"{exc.message}{'：' + details if details else ''}"


@login_required
def inspection_list(request):
    inspections = Inspection.objects.visible_to(request.user).select_related(
        "region", "enterprise", "place", "template"
    )
    state = request.GET.get("state", "")
    if state == "open":
        inspections = inspections.filter(submitted_at__isnull=True)
    elif state == "submitted":
        inspections = inspections.filter(submitted_at__isnull=False)
    form = request.GET.get("form", "")
    if form in InspectionForm.values:
        inspections = inspections.filter(form=form)
    query = request.GET.get("q", "").strip()
    if query:
        inspections = (
            inspections.filter(number__icontains=query)
            | inspections.filter(enterprise__name__icontains=query)
            | inspections.filter(place__name__icontains=query)
        )
    context = {
        "page": paginate(request, inspections.order_by("-started_at", "-id")),
        "filters": {"state": state, "form": form, "q": query},
        "forms": InspectionForm.choices,
        "can_create": can(request.user, Capability.EDIT),
    }
    return render(request, "hazards/inspections/list.html", context)


@login_required
def inspection_start(request):
    user = request.user
    if not can(user, Capability.EDIT):
        return forbidden(request, _("您没有录入检查记录的权限"))
    initial = {
        key: request.GET[key] for key in ("enterprise", "place", "plan") if request.GET.get(key)
    }
    form = StartInspectionForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            inspection = services.start_inspection(
                actor=user,
                template=data["template"],
                form=data["form"],
                enterprise=data["enterprise"],
                place=data["place"],
                plan=data["plan"],
                inspectors=data["inspectors"],
                participants=data["participants"],
            )
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        except DomainError as exc:
            for field, message in exc.details.items():
                form.add_error(field if field in form.fields else None, message)
        else:
            return redirect("inspection_detail", pk=inspection.pk)
    context = {
        "form": form,
        "title": _("开始检查"),
        "cancel_url": reverse("inspection_list"),
    }
    return render(request, "core/form.html", context, status=422 if form.errors else 200)


def _inspection(request, pk: int) -> Inspection:
    return scoped_object_or_404(
        request.user,
        Inspection.objects.select_related("region", "enterprise", "place", "template", "plan"),
        pk=pk,
    )


def _state_label(value: str) -> str:
    """An item's outcome (合格) or the record's state (已提交) as shown on the timeline."""
    for choices in (ItemOutcome, InspectionState):
        if value in choices.values:
            return str(choices(value).label)
    return value


def inspection_timeline(inspection: Inspection) -> list[InspectionEvent]:
    """The events of one inspection, earliest first, with what the page shows of each: one
    query whatever their number."""
    events = list(
        InspectionEvent.objects.filter(inspection=inspection)
        .select_related("actor__person", "hazard", "notice", "attachment")
        .order_by("at", "id")
    )
    for event in events:
        event.label = event.get_kind_display()
        event.actor_label = actor_name(event.actor) or _("系统")
        order = event.data.get("item_order")
        event.item_label = _("第%(order)d项") % {"order": order} if order else ""
        event.from_label = _state_label(event.from_state) if event.from_state else ""
        event.to_label = _state_label(event.to_state) if event.to_state else ""
        if event.kind == InspectionEventKind.SUBMITTED:
            counts = event.data.get("outcomes") or {}
            event.summary = _("合格 %(passed)d 项，不合格 %(failed)d 项，不适用 %(na)d 项") % {
                "passed": counts.get(ItemOutcome.PASS, 0),
                "failed": counts.get(ItemOutcome.FAIL, 0),
                "na": counts.get(ItemOutcome.NOT_APPLICABLE, 0),
            }
    return events


@login_required
def inspection_detail(request, pk: int):
    inspection = _inspection(request, pk)
    results = {
        r.item_id: r
        for r in InspectionResult.objects.filter(inspection=inspection).select_related("hazard")
    }
    photos: dict[int, list[Attachment]] = {}
    for attachment in attachments_of(inspection):
        order = attachment.note.split("项", 1)[0].removeprefix("第")
        if order.isdigit():
            photos.setdefault(int(order), []).append(attachment)
    cards = []
    for item in ChecklistItem.objects.filter(template_id=inspection.template_id).order_by("order"):
        result = results.get(item.pk)
        cards.append(
            {
                "item": item,
                "result": result,
                "hazard": getattr(result, "hazard", None) if result else None,
                "photos": photos.get(item.order, []),
            }
        )
    hazards = list(
        Hazard.objects.filter(inspection_result__inspection=inspection).order_by("number")
    )
    can_edit = can(request.user, Capability.EDIT, inspection.region)
    open_hazards = [h for h in hazards if h.is_open]
    context = {
        "inspection": inspection,
        "cards": cards,
        "answered": len(results),
        "total": len(cards),
        "can_edit": can_edit and not inspection.is_submitted,
        "can_convert": can_edit,
        "can_notice": can_edit and inspection.is_submitted and bool(open_hazards),
        "hazards": hazards,
        "notices": inspection.notices.order_by("-issued_at"),
        "inspectors": inspection.inspectors.all(),
        "outcomes": ItemOutcome.choices,
        "submit_form": SubmitForm(),
        "notice_form": NoticeForm(hazards=open_hazards),
        "events": inspection_timeline(inspection),
    }
    return render(request, "hazards/inspections/detail.html", context)


@login_required
@require_POST
def record_item(request, pk: int, item_pk: int):
    inspection = _inspection(request, pk)
    item = ChecklistItem.objects.filter(pk=item_pk, template_id=inspection.template_id).first()
    if item is None:
        raise Http404
    form = ResultForm(request.POST, request.FILES)
    anchor = f"{reverse('inspection_detail', args=[pk])}#item-{item.pk}"
    if not form.is_valid():
        messages.error(request, _("第%(order)d项：请选择检查结果") % {"order": item.order})
        return redirect(anchor)
    try:
        result = services.record_result(
            actor=request.user,
            inspection=inspection,
            item=item,
            outcome=form.cleaned_data["outcome"],
            note=form.cleaned_data["note"],
        )
        if form.cleaned_data.get("photo"):
            services.attach_result_photo(
                actor=request.user, result=result, uploaded_file=form.cleaned_data["photo"]
            )
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    except DomainError as exc:
        messages.error(request, _error_message(exc))
    return redirect(anchor)


@login_required
@require_POST
def convert_result(request, pk: int, result_pk: int):
    inspection = _inspection(request, pk)
    result = InspectionResult.objects.filter(pk=result_pk, inspection=inspection).first()
    if result is None:
        raise Http404
    try:
        hazard = services.hazard_from_failed_item(actor=request.user, result=result)
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    except DomainError as exc:
        messages.error(request, _error_message(exc))
    else:
        messages.success(request, _("已转为隐患 %(number)s") % {"number": hazard.number})
    return redirect(f"{reverse('inspection_detail', args=[pk])}#item-{result.item_id}")


@login_required
@require_POST
def submit(request, pk: int):
    inspection = _inspection(request, pk)
    form = SubmitForm(request.POST)
    summary = form.cleaned_data["summary"] if form.is_valid() else ""
    try:
        services.submit_inspection(actor=request.user, inspection=inspection, summary=summary)
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    except DomainError as exc:
        messages.error(request, _error_message(exc))
    else:
        messages.success(request, _("检查记录已提交"))
    return redirect("inspection_detail", pk=pk)


@login_required
@require_POST
def notice_create(request, pk: int):
    inspection = _inspection(request, pk)
    candidates = list(
        Hazard.objects.visible_to(request.user).filter(inspection_result__inspection=inspection)
    )
    form = NoticeForm(request.POST, hazards=candidates)
    if not form.is_valid():
        messages.error(request, _("请选择隐患并填写整改期限"))
        return redirect("inspection_detail", pk=pk)
    chosen = {int(v) for v in form.cleaned_data["hazards"]}
    due_at = timezone.make_aware(datetime.combine(form.cleaned_data["due_on"], time(23, 59)))
    try:
        notice = services.issue_rectification_notice(
            actor=request.user,
            inspection=inspection,
            hazards=[h for h in candidates if h.pk in chosen],
            due_at=due_at,
        )
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    except DomainError as exc:
        messages.error(request, _error_message(exc))
        return redirect("inspection_detail", pk=pk)
    return redirect("notice_detail", pk=notice.pk)


def _notice(request, pk: int) -> RectificationNotice:
    return scoped_object_or_404(
        request.user,
        RectificationNotice.objects.select_related(
            "region", "inspection__enterprise", "inspection__place"
        ),
        pk=pk,
    )


@login_required
def notice_detail(request, pk: int):
    notice = _notice(request, pk)
    return render(request, "hazards/inspections/notice.html", notice_context(notice))


@login_required
def notice_docx(request, pk: int):
    notice = _notice(request, pk)
    response = HttpResponse(services.notice_docx(notice), content_type=DOCX_TYPE)
    name = quote(f"{_('责令限期整改指令书')}-{notice.number}.docx")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{name}"
    return response


@login_required
def plan_list(request):
    plans = InspectionPlan.objects.visible_to(request.user).select_related("region", "template")
    page = paginate(request, plans, per_page=20)
    now = timezone.now()
    rows = [(plan, services.plan_coverage(plan, now)) for plan in page]
    context = {"page": page, "rows": rows, "can_create": can(request.user, Capability.EDIT)}
    return render(request, "hazards/inspections/plans.html", context)


@login_required
def plan_detail(request, pk: int):
    plan = scoped_object_or_404(
        request.user, InspectionPlan.objects.select_related("region", "template"), pk=pk
    )
    context = {
        "plan": plan,
        "coverage": services.plan_coverage(plan),
        "can_inspect": can(request.user, Capability.EDIT, plan.region),
    }
    return render(request, "hazards/inspections/plan_detail.html", context)


@login_required
def plan_create(request):
    user = request.user
    if not can(user, Capability.EDIT):
        return forbidden(request, _("您没有制定检查计划的权限"))
    form = PlanForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            plan = services.create_inspection_plan(actor=user, **data)
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        except DomainError as exc:
            for field, message in exc.details.items():
                form.add_error(field if field in form.fields else None, message)
        else:
            return redirect("inspection_plan_detail", pk=plan.pk)
    context = {"form": form, "title": _("制定检查计划"), "cancel_url": reverse("inspection_plans")}
    return render(request, "core/form.html", context, status=422 if form.errors else 200)
