"""Pages of experts (应急专家): the list (field, availability, masked mobile), the page
with the core's logged clear view of the mobile and the availability buttons, the forms,
and the spreadsheet import and export."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from frontline.core.errors import DomainError, PermissionDenied
from frontline.core.models import Region
from frontline.core.roles import Capability as Can
from frontline.core.roles import can
from frontline.core.views.common import forbidden, paginate, scoped_object_or_404
from frontline.resources.forms_units import ExpertAvailabilityForm, ExpertForm
from frontline.resources.models import Expert, ExpertAvailability, ExpertField
from frontline.resources.services import experts as services
from frontline.resources.services import importing_units
from frontline.resources.views.equipment import import_page, xlsx_response
from frontline.resources.views.teams import labelled_events, no_manage, save_unit

T = "resources/"


def filtered_experts(request):
    queryset = Expert.objects.visible_to(request.user).select_related("region", "person")
    filters: dict = {"q": request.GET.get("q", "").strip()[:100]}
    code = request.GET.get("region", "").strip()
    if code:
        region = get_object_or_404(Region.objects.visible_to(request.user), code=code)
        queryset = queryset.within(region.path)
        filters["region"] = region
    for name, choices in (("field", ExpertField), ("availability", ExpertAvailability)):
        value = request.GET.get(name, "")
        if value in choices.values:
            queryset = queryset.filter(**{name: value})
            filters[name] = value
    if filters["q"]:
        text = filters["q"]
        queryset = queryset.filter(
            Q(person__name__icontains=text)
            | Q(specialty__icontains=text)
            | Q(employer__icontains=text)
            | Q(person__mobile_tail=text)
        )
    return queryset.order_by("region__code", "field", "pk"), filters


@login_required
def expert_list(request):
    experts, filters = filtered_experts(request)
    context = {
        "page": paginate(request, experts),
        "filters": filters,
        "fields": ExpertField.choices,
        "availabilities": ExpertAvailability.choices,
        "export_query": request.GET.urlencode(),
        "can_create": can(request.user, Can.MANAGE_RESOURCES),
    }
    return render(request, T + "expert_list.html", context)


def visible_expert(request, pk: int) -> Expert:
    return scoped_object_or_404(
        request.user, Expert.objects.select_related("region", "person__region"), pk=pk
    )


@login_required
def expert_detail(request, pk: int):
    expert = visible_expert(request, pk)
    labels = dict(ExpertAvailability.choices)
    context = {
        "expert": expert,
        "events": labelled_events(expert, labels),
        "availabilities": [(v, label) for v, label in labels.items() if v != expert.availability],
        "can_edit": can(request.user, Can.MANAGE_RESOURCES, expert.region),
        # The clear view is the core's (person_reveal): logged, and only with the right.
        "can_reveal": can(request.user, Can.VIEW_PERSONAL_DATA, expert.person.region),
    }
    return render(request, T + "expert_detail.html", context)


@login_required
@require_POST
def expert_availability(request, pk: int):
    expert = visible_expert(request, pk)
    if not can(request.user, Can.MANAGE_RESOURCES, expert.region):
        return no_manage(request)
    form = ExpertAvailabilityForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择可用状态"))
        return redirect("expert_detail", pk=pk)
    try:
        services.set_expert_availability(actor=request.user, expert=expert, **form.cleaned_data)
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("可用状态已更新"))
    return redirect("expert_detail", pk=pk)


@login_required
def expert_create(request):
    if not can(request.user, Can.MANAGE_RESOURCES):
        return no_manage(request)
    form = ExpertForm(request.POST or None, user=request.user)
    return save_unit(
        request,
        form,
        title=_("登记应急专家"),
        cancel_url=reverse("expert_list"),
        url_name="expert_detail",
    )


@login_required
def expert_edit(request, pk: int):
    expert = visible_expert(request, pk)
    if not can(request.user, Can.MANAGE_RESOURCES, expert.region):
        return no_manage(request)
    form = ExpertForm(request.POST or None, user=request.user, instance=expert)
    return save_unit(
        request,
        form,
        title=_("修改专家：%(name)s") % {"name": expert.person.name},
        cancel_url=reverse("expert_detail", args=[pk]),
        url_name="expert_detail",
    )


@login_required
def expert_export(request):
    experts, _filters = filtered_experts(request)
    return xlsx_response(
        importing_units.export_experts(actor=request.user, queryset=experts), "experts"
    )


@login_required
def expert_import(request):
    return import_page(request, "expert")
