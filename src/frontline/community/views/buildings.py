"""Pages of the buildings (一楼一档): the list with its filters, the building's file (fire
facilities, charging, responsible person with the logged clear view of the phone, photos,
households, facilities and the history), the forms, and the XLSX import and export."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from frontline.community.models import (
    Building,
    BuildingStructure,
    BuildingUse,
    CommunityCall,
    EbikeCharging,
    FacilityCheck,
    Household,
    PatrolFinding,
)
from frontline.community.models.buildings import UNSAFE_CHARGING, high_rise_q
from frontline.community.services import buildings as services
from frontline.community.services import importing_buildings as importing
from frontline.community.services.buildings import PLACE_LEVELS
from frontline.core import services as core_services
from frontline.core.context_processors import display_name
from frontline.core.errors import PermissionDenied
from frontline.core.forms import RegionChoiceField, RevealForm, ServiceForm, regions_with
from frontline.core.models import Region
from frontline.core.roles import Capability, can
from frontline.core.views.common import client_addr, forbidden, paginate, scoped_object_or_404
from frontline.core.views.imports import handle_import
from frontline.hazards.models import Hazard
from frontline.hazards.models.hazards import OPEN_HAZARD_STATES

TEMPLATES = "community/buildings/"
HISTORY_LIMIT = 30  # entries of each kind on the building's timeline


# --- form -----------------------------------------------------------------------------------


class BuildingForm(ServiceForm):
    name = forms.CharField(label=gettext_lazy("楼栋名称"), max_length=120)
    address = forms.CharField(label=gettext_lazy("地址"), max_length=200)
    region = RegionChoiceField(label=gettext_lazy("所属网格"))
    use = forms.ChoiceField(
        label=gettext_lazy("用途"), choices=[("", gettext_lazy("请选择")), *BuildingUse.choices]
    )
    structure = forms.ChoiceField(
        label=gettext_lazy("结构"),
        choices=[("", gettext_lazy("请选择")), *BuildingStructure.choices],
    )
    floors_above = forms.IntegerField(label=gettext_lazy("地上层数"), min_value=1, initial=1)
    floors_below = forms.IntegerField(
        label=gettext_lazy("地下层数"), min_value=0, initial=0, required=False
    )
    height_m = forms.FloatField(label=gettext_lazy("建筑高度（米）"), required=False, min_value=0)
    year_built = forms.IntegerField(label=gettext_lazy("建成年份"), required=False)
    floor_area = forms.FloatField(label=gettext_lazy("建筑面积（㎡）"), required=False, min_value=0)
    dwelling_units = forms.IntegerField(
        label=gettext_lazy("户数"), min_value=0, initial=0, required=False
    )
    hydrants = forms.IntegerField(
        label=gettext_lazy("室内消火栓"), min_value=0, initial=0, required=False
    )
    extinguishers = forms.IntegerField(
        label=gettext_lazy("灭火器"), min_value=0, initial=0, required=False
    )
    smoke_alarms = forms.IntegerField(
        label=gettext_lazy("烟感报警器"), min_value=0, initial=0, required=False
    )
    has_sprinklers = forms.BooleanField(label=gettext_lazy("自动喷水灭火系统"), required=False)
    has_fire_alarm_system = forms.BooleanField(
        label=gettext_lazy("火灾自动报警系统"), required=False
    )
    exits = forms.IntegerField(label=gettext_lazy("安全出口"), min_value=1, initial=1)
    stairs = forms.IntegerField(label=gettext_lazy("疏散楼梯"), min_value=0, initial=1)
    ebike_charging = forms.ChoiceField(
        label=gettext_lazy("电动自行车充电"),
        choices=[("", gettext_lazy("未登记")), *EbikeCharging.choices],
        required=False,
    )
    responsible_name = forms.CharField(
        label=gettext_lazy("消防安全责任人"), max_length=50, required=False
    )
    responsible_phone = forms.CharField(
        label=gettext_lazy("责任人电话"), max_length=32, required=False
    )
    lon = forms.FloatField(
        label=gettext_lazy("经度"), required=False, min_value=-180, max_value=180
    )
    lat = forms.FloatField(label=gettext_lazy("纬度"), required=False, min_value=-90, max_value=90)
    notes = forms.CharField(
        label=gettext_lazy("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    EDITABLE = [
        "name",
        "address",
        "use",
        "structure",
        "floors_above",
        "floors_below",
        "height_m",
        "year_built",
        "floor_area",
        "dwelling_units",
        "hydrants",
        "extinguishers",
        "smoke_alarms",
        "has_sprinklers",
        "has_fire_alarm_system",
        "exits",
        "stairs",
        "ebike_charging",
        "responsible_name",
        "lon",
        "lat",
        "notes",
    ]

    def __init__(self, *args, user, instance: Building | None = None, **kwargs):
        if instance is not None:
            initial = {name: getattr(instance, name) for name in self.EDITABLE}
            initial["region"] = instance.region.code
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.user = user
        self.instance = instance
        self.fields["region"].queryset = (
            regions_with(user, Capability.EDIT).filter(level__in=PLACE_LEVELS).order_by("path")
        )
        if instance is not None:
            # The stored number is never put into the page; an empty field keeps it.
            self.fields["responsible_phone"].help_text = _("留空则保持原号码（%(masked)s）") % {
                "masked": instance.responsible_phone_masked or "—"
            }

    def run_service(self) -> Building:
        data = dict(self.cleaned_data)
        if self.instance is None:
            return services.create_building(actor=self.user, **data)
        changes = {name: data[name] for name in self.changed_data if name in data}
        if not changes.get("responsible_phone"):
            changes.pop("responsible_phone", None)
        return services.update_building(actor=self.user, building=self.instance, **changes)


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("楼栋台账（XLSX）"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )


# --- list -----------------------------------------------------------------------------------


def place_regions(user):
    """Villages and grids the user sees, for the filter's select."""
    return Region.objects.visible_to(user).filter(level__in=PLACE_LEVELS).order_by("path")


def filtered_buildings(request):
    """The visible buildings narrowed by the list's filters, and the filters as understood."""
    queryset = Building.objects.visible_to(request.user).select_related("region")
    filters: dict = {"q": request.GET.get("q", "").strip()[:100]}
    code = request.GET.get("region", "").strip()
    if code:
        region = get_object_or_404(Region.objects.visible_to(request.user), code=code)
        queryset = queryset.within(region.path)
        filters["region"] = region
    use = request.GET.get("use", "")
    if use in BuildingUse.values:
        queryset = queryset.filter(use=use)
        filters["use"] = use
    structure = request.GET.get("structure", "")
    if structure in BuildingStructure.values:
        queryset = queryset.filter(structure=structure)
        filters["structure"] = structure
    if request.GET.get("high_rise") == "1":
        queryset = queryset.filter(high_rise_q())
        filters["high_rise"] = True
    if request.GET.get("unsafe_charging") == "1":
        queryset = queryset.filter(ebike_charging__in=UNSAFE_CHARGING)
        filters["unsafe_charging"] = True
    if filters["q"]:
        text = filters["q"]
        queryset = queryset.filter(Q(name__icontains=text) | Q(address__icontains=text))
    return queryset.order_by("region__code", "name", "pk"), filters


@login_required
def building_list(request):
    buildings, filters = filtered_buildings(request)
    context = {
        "page": paginate(request, buildings),
        "filters": filters,
        "regions": place_regions(request.user),
        "uses": BuildingUse.choices,
        "structures": BuildingStructure.choices,
        "export_query": request.GET.urlencode(),
        "can_create": can(request.user, Capability.EDIT),
    }
    return render(request, TEMPLATES + "list.html", context)


# --- the building's file --------------------------------------------------------------------


def visible_building(request, pk: int) -> Building:
    return scoped_object_or_404(request.user, Building.objects.select_related("region"), pk=pk)


def _url(name: str, pk) -> str:
    """The page of an object of another part of the app, or "" while it has none."""
    try:
        return reverse(name, kwargs={"pk": pk})
    except NoReverseMatch:
        return ""


def building_history(user, building: Building, facilities) -> list[dict]:
    """The building's timeline, newest first: checks of its facilities, community calls about
    it, patrol findings at checkpoints bound to it and hazards in it (each as the user may
    see them)."""
    entries: list[dict] = []
    checks = (
        FacilityCheck.objects.filter(facility__in=facilities)
        .select_related("facility", "checked_by__person")
        .order_by("-at", "-id")[:HISTORY_LIMIT]
    )
    for check in checks:
        entries.append(
            {
                "at": check.at,
                "kind": "check",
                "label": _("设施检查"),
                "title": f"{check.facility.name}：{check.get_status_display()}",
                "note": check.note,
                "who": display_name(check.checked_by) if check.checked_by else _("系统"),
                "url": reverse("facility_detail", args=[check.facility_id]),
                "alert": check.status != "normal",
            }
        )
    calls = (
        CommunityCall.objects.visible_to(user)
        .filter(building=building)
        .select_related("raised_by__person")
        .order_by("-raised_at", "-id")[:HISTORY_LIMIT]
    )
    for call in calls:
        entries.append(
            {
                "at": call.raised_at,
                "kind": "call",
                "label": _("社区呼叫"),
                "title": f"{call.number} {call.title}（{call.get_state_display()}）",
                "note": call.description,
                "who": display_name(call.raised_by),
                "url": _url("call_detail", call.pk),
                "alert": call.is_open,
            }
        )
    findings = (
        PatrolFinding.objects.visible_to(user)
        .filter(check_in__checkpoint__building=building)
        .select_related("run__walker__person", "check_in__checkpoint")
        .order_by("-at", "-id")[:HISTORY_LIMIT]
    )
    for finding in findings:
        handed_on = ""
        if finding.hazard_id:
            handed_on = _("已转为隐患")
        elif finding.call_id:
            handed_on = _("已转为社区呼叫")
        entries.append(
            {
                "at": finding.at,
                "kind": "finding",
                "label": _("巡查发现"),
                "title": finding.check_in.checkpoint.name if finding.check_in else "",
                "note": finding.note,
                "who": display_name(finding.run.walker),
                "url": _url("patrol_run", finding.run_id),
                "handed_on": handed_on,
                "alert": not finding.is_handed_on,
            }
        )
    hazards = (
        Hazard.objects.visible_to(user)
        .filter(building=building)
        .select_related("reported_by__person")
        .order_by("-found_at", "-id")[:HISTORY_LIMIT]
    )
    for hazard in hazards:
        entries.append(
            {
                "at": hazard.found_at,
                "kind": "hazard",
                "label": _("隐患"),
                "title": f"{hazard.number} {hazard.title}（{hazard.get_state_display()}）",
                "note": "",
                "who": display_name(hazard.reported_by) if hazard.reported_by else "",
                "url": _url("hazard_detail", hazard.pk),
                "alert": hazard.state in OPEN_HAZARD_STATES,
            }
        )
    entries.sort(key=lambda entry: entry["at"], reverse=True)
    return entries


@login_required
def building_detail(request, pk: int):
    building = visible_building(request, pk)
    user = request.user
    facilities = building.facilities.visible_to(user).order_by("kind", "name", "pk")
    today = timezone.localdate()
    facility_rows = list(facilities)
    for facility in facility_rows:
        facility.overdue = facility.is_overdue(today)
    households = Household.objects.visible_to(user).filter(building=building).count()
    context = {
        "building": building,
        "facilities": facility_rows,
        "households": households,
        "households_url": f"/households/?building={building.pk}",
        "can_see_households": can(user, Capability.VIEW_RESIDENTS, building.region),
        "history": building_history(user, building, facilities),
        "can_edit": can(user, Capability.EDIT, building.region),
        "can_reveal": can(user, Capability.VIEW_PERSONAL_DATA, building.region),
    }
    return render(request, TEMPLATES + "detail.html", context)


@never_cache
@login_required
@require_POST
def building_reveal(request, pk: int, field: str):
    """htmx: the clear value of the responsible person's phone, logged as a SensitiveAccess."""
    building = visible_building(request, pk)
    if field not in building.SENSITIVE_FIELDS:
        raise Http404
    form = RevealForm(request.POST)
    if not form.is_valid():
        context = {"message": " ".join(form.errors.get("reason", []))}
        return render(request, TEMPLATES + "_reveal_denied.html", context, status=422)
    try:
        value = core_services.reveal_personal_field(
            actor=request.user,
            obj=building,
            field=field,
            reason=form.cleaned_data["reason"],
            remote_addr=client_addr(request),
        )
    except PermissionDenied as exc:
        return render(
            request, TEMPLATES + "_reveal_denied.html", {"message": exc.message}, status=403
        )
    return render(request, TEMPLATES + "_revealed.html", {"value": value})


# --- forms ----------------------------------------------------------------------------------


def no_edit(request):
    return forbidden(request, _("您没有录入和修改业务数据的权限"))


def save_form(request, form, *, title, cancel_url):
    if request.method == "POST" and form.is_valid():
        try:
            saved = form.save()
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        if saved is not None:
            messages.success(request, _("已保存“%(name)s”") % {"name": saved.name})
            return redirect(saved_url(saved))
    context = {"form": form, "title": title, "cancel_url": cancel_url}
    return render(request, "core/form.html", context, status=422 if form.errors else 200)


def saved_url(obj) -> str:
    if isinstance(obj, Building):
        return reverse("building_detail", args=[obj.pk])
    return reverse("facility_detail", args=[obj.pk])


@login_required
def building_create(request):
    if not can(request.user, Capability.EDIT):
        return no_edit(request)
    form = BuildingForm(request.POST or None, user=request.user)
    return save_form(request, form, title=_("新增楼栋"), cancel_url=reverse("building_list"))


@login_required
def building_edit(request, pk: int):
    building = visible_building(request, pk)
    if not can(request.user, Capability.EDIT, building.region):
        return no_edit(request)
    form = BuildingForm(request.POST or None, user=request.user, instance=building)
    return save_form(
        request,
        form,
        title=_("修改楼栋：%(name)s") % {"name": building.name},
        cancel_url=reverse("building_detail", args=[pk]),
    )


# --- spreadsheets ---------------------------------------------------------------------------


def xlsx_response(content: bytes, stem: str) -> HttpResponse:
    response = HttpResponse(content, content_type=importing.XLSX_CONTENT_TYPE)
    name = f"{stem}-{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = (
        f"attachment; filename=\"{stem}.xlsx\"; filename*=UTF-8''{name}"
    )
    return response


@login_required
def building_export(request):
    queryset = filtered_buildings(request)[0]
    content = importing.export_buildings(actor=request.user, queryset=queryset)
    return xlsx_response(content, "buildings")


@login_required
def building_import(request):
    if not can(request.user, Capability.EDIT):
        return no_edit(request)
    page = handle_import(
        request,
        "community_building_import",
        importing.import_buildings,
        ImportForm,
        "building_import",
    )
    if isinstance(page, HttpResponse):
        return page
    form, report, status = page.form, page.report, page.status
    context = {"form": form, "report": report, "columns": importing.BUILDING_COLUMNS}
    return render(request, TEMPLATES + "import.html", context, status=status)
