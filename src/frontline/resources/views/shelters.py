"""Pages of shelters: the list (class, level, status, occupancy bars), the shelter's page
(facts, live occupancy, needs summary, the people present, supplies handed out, timeline),
the create and edit forms, open / close, and the XLSX export and import.

The occupancy number and bar poll `shelter_occupancy` every few seconds with the version
they show; the answer is 204 (nothing to swap) until the occupancy, capacity or status
changes, so a page left open on the station's screen costs one small query per poll.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q, Sum
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from frontline.core.crypto import mask_phone
from frontline.core.errors import DomainError, PermissionDenied
from frontline.core.models import Region
from frontline.core.roles import Capability, can
from frontline.core.views.common import forbidden, paginate, scoped_object_or_404
from frontline.core.views.imports import handle_import
from frontline.resources.forms_shelters import ImportForm, NoteForm, ShelterForm
from frontline.resources.models import (
    Evacuee,
    EvacueeNeed,
    Shelter,
    ShelterClass,
    ShelterFacility,
    ShelterLevel,
    ShelterStatus,
)
from frontline.resources.services import importing_shelters as importing
from frontline.resources.services import shelters as services
from frontline.resources.services.events import timeline

TEMPLATES = "resources/"
PRESENT_SHOWN = 100
EVENTS_SHOWN = 50
HANDOUTS_SHOWN = 50
# The live number refreshes at most this often (and so within this time of a check-in).
POLL_SECONDS = 4


def no_manage(request):
    return forbidden(request, _("您没有管理应急物资、队伍、装备和避难场所的权限"))


# --- list -----------------------------------------------------------------------------------


def filtered_shelters(request):
    """The visible shelters narrowed by the list's filters, and the filters as understood."""
    queryset = Shelter.objects.visible_to(request.user).select_related("region")
    filters: dict = {"q": request.GET.get("q", "").strip()[:100]}
    code = request.GET.get("region", "").strip()
    if code:
        region = get_object_or_404(Region.objects.visible_to(request.user), code=code)
        queryset = queryset.within(region.path)
        filters["region"] = region
    for name, choices in (
        ("shelter_class", ShelterClass),
        ("level", ShelterLevel),
        ("status", ShelterStatus),
    ):
        value = request.GET.get(name, "")
        if value in choices.values:
            queryset = queryset.filter(**{name: value})
            filters[name] = value
    if request.GET.get("free") == "1":
        queryset = queryset.filter(status=ShelterStatus.OPEN)
        filters["free"] = True
    if filters["q"]:
        text = filters["q"]
        queryset = queryset.filter(Q(name__icontains=text) | Q(address__icontains=text))
    return queryset.order_by("region__code", "shelter_class", "name", "pk"), filters


def shelter_regions(user):
    """Counties, townships and villages the user sees, for the filter's select."""
    return (
        Region.objects.visible_to(user)
        .filter(level__in=["county", "township", "village"])
        .order_by("path")
    )


@login_required
def shelter_list(request):
    shelters, filters = filtered_shelters(request)
    page = paginate(request, shelters)
    totals = shelters.aggregate(
        count=Count("pk"),
        capacity=Sum("capacity"),
        occupancy=Sum("occupancy"),
        open=Count("pk", filter=Q(status__in=[ShelterStatus.OPEN, ShelterStatus.FULL])),
    )
    capacity = totals["capacity"] or 0
    totals["percent"] = round(100 * (totals["occupancy"] or 0) / capacity) if capacity else 0
    context = {
        "page": page,
        "filters": filters,
        "totals": totals,
        "regions": shelter_regions(request.user),
        "classes": ShelterClass.choices,
        "levels": ShelterLevel.choices,
        "statuses": ShelterStatus.choices,
        "can_create": can(request.user, Capability.MANAGE_RESOURCES),
    }
    return render(request, TEMPLATES + "shelter_list.html", context)


# --- the shelter's page ---------------------------------------------------------------------


def visible_shelter(request, pk: int) -> Shelter:
    return scoped_object_or_404(
        request.user, Shelter.objects.select_related("region", "manager__region"), pk=pk
    )


def occupancy_version(shelter: Shelter) -> str:
    return f"{shelter.occupancy}-{shelter.capacity}-{shelter.status}"


def present_stays(shelter: Shelter):
    return (
        Evacuee.objects.filter(shelter=shelter, checked_out_at__isnull=True)
        .only(
            "pk",
            "shelter_id",
            "name",
            "gender",
            "age",
            "household_head",
            "group_no",
            "bed_no",
            "checked_in_at",
        )
        .order_by("group_no", "pk")
    )


def detail_context(request, shelter: Shelter) -> dict:
    user = request.user
    events = list(
        timeline(shelter).select_related("actor__person").order_by("-at", "-id")[:EVENTS_SHOWN]
    )
    needs = services.needs_summary(shelter)
    facilities = dict(ShelterFacility.choices)
    manager = shelter.manager
    return {
        "shelter": shelter,
        "version": occupancy_version(shelter),
        "poll_seconds": POLL_SECONDS,
        "free": services.free_places(shelter),
        "facilities": [facilities.get(code, code) for code in shelter.facility_list],
        "needs": needs,
        "need_labels": _need_labels(needs),
        "present": paginate(request, present_stays(shelter), per_page=PRESENT_SHOWN),
        "handouts": services.handouts(shelter, HANDOUTS_SHOWN),
        "handout_totals": services.handout_totals(shelter),
        "events": events,
        "manager_phone": mask_phone(manager.mobile) if manager is not None else "",
        "can_manage": can(user, Capability.MANAGE_RESOURCES, shelter.region),
        "can_register": can(user, Capability.REGISTER_EVACUEES, shelter.region),
        "can_reveal": can(user, Capability.VIEW_RESIDENT_DATA, shelter.region),
        "can_reveal_manager": manager is not None
        and can(user, Capability.VIEW_PERSONAL_DATA, manager.region),
    }


@login_required
def shelter_detail(request, pk: int):
    shelter = visible_shelter(request, pk)
    return render(request, TEMPLATES + "shelter_detail.html", detail_context(request, shelter))


@never_cache
@login_required
def shelter_occupancy(request, pk: int):
    """htmx: the live occupancy block, or 204 when what the page shows is still true."""
    shelter = scoped_object_or_404(
        request.user,
        Shelter.objects.only("pk", "region_id", "occupancy", "capacity", "status"),
        pk=pk,
    )
    version = occupancy_version(shelter)
    if request.GET.get("v") == version:
        return HttpResponse(status=204)
    context = {
        "shelter": shelter,
        "version": version,
        "poll_seconds": POLL_SECONDS,
        "free": services.free_places(shelter),
    }
    if request.headers.get("HX-Request"):
        # The page's needs summary follows along (out of band); the list of people is not
        # swapped under the user's ticks: a notice offers to refresh it.
        needs = services.needs_summary(shelter)
        context.update(oob=True, needs=needs, need_labels=_need_labels(needs))
    return render(request, TEMPLATES + "shelter_occupancy.html", context)


def _need_labels(needs: dict) -> list[tuple]:
    return [(value, label, needs[value]) for value, label in EvacueeNeed.choices]


# --- forms ----------------------------------------------------------------------------------


def _save(request, form, *, title, cancel_url):
    if request.method == "POST" and form.is_valid():
        try:
            saved = form.save()
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        if saved is not None:
            messages.success(request, _("已保存“%(name)s”") % {"name": saved.name})
            return redirect("shelter_detail", pk=saved.pk)
    context = {"form": form, "title": title, "cancel_url": cancel_url}
    return render(request, "core/form.html", context, status=422 if form.errors else 200)


@login_required
def shelter_create(request):
    if not can(request.user, Capability.MANAGE_RESOURCES):
        return no_manage(request)
    form = ShelterForm(request.POST or None, user=request.user)
    return _save(request, form, title=_("新增避难场所"), cancel_url=reverse("shelter_list"))


@login_required
def shelter_edit(request, pk: int):
    shelter = visible_shelter(request, pk)
    if not can(request.user, Capability.MANAGE_RESOURCES, shelter.region):
        return no_manage(request)
    form = ShelterForm(request.POST or None, user=request.user, instance=shelter)
    return _save(
        request,
        form,
        title=_("修改避难场所：%(name)s") % {"name": shelter.name},
        cancel_url=reverse("shelter_detail", args=[pk]),
    )


def _transition(request, pk: int, service, done_message):
    shelter = visible_shelter(request, pk)
    form = NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        service(actor=request.user, shelter=shelter, note=note)
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("shelter_detail", pk=pk)
    messages.success(request, done_message % {"name": shelter.name})
    return redirect("shelter_detail", pk=pk)


@login_required
@require_POST
def shelter_open(request, pk: int):
    return _transition(request, pk, services.open_shelter, _("“%(name)s”已开放"))


@login_required
@require_POST
def shelter_close(request, pk: int):
    return _transition(request, pk, services.close_shelter, _("“%(name)s”已关闭"))


# --- spreadsheets ---------------------------------------------------------------------------


def xlsx_response(content: bytes, stem: str) -> HttpResponse:
    response = HttpResponse(content, content_type=importing.XLSX_CONTENT_TYPE)
    name = f"{stem}-{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = (
        f"attachment; filename=\"{stem}.xlsx\"; filename*=UTF-8''{name}"
    )
    return response


@login_required
def shelter_export(request):
    queryset = filtered_shelters(request)[0]
    return xlsx_response(
        importing.export_shelters(actor=request.user, queryset=queryset), "shelters"
    )


@login_required
def shelter_import(request):
    if not can(request.user, Capability.MANAGE_RESOURCES):
        return no_manage(request)
    page = handle_import(
        request, "resources_shelter_import", importing.import_shelters, ImportForm, "shelter_import"
    )
    if isinstance(page, HttpResponse):
        return page
    form, report, status = page.form, page.report, page.status
    context = {"form": form, "report": report, "columns": importing.SHELTER_COLUMNS}
    return render(request, TEMPLATES + "shelter_import.html", context, status=status)
