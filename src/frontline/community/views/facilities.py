"""Pages of the public safety facilities: the list (overdue checks highlighted, the share
checked on time as a progress bar), the facility's page with its check history and the
phone-sized "record a check" form, and the create and edit forms."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from frontline.community.models import (
    Building,
    FacilityCheck,
    FacilityKind,
    FacilityStatus,
    SafetyFacility,
)
from frontline.community.services import facilities as services
from frontline.community.services.buildings import PLACE_LEVELS
from frontline.community.views.buildings import no_edit, place_regions, save_form
from frontline.core.context_processors import display_name
from frontline.core.errors import InvalidInput, PermissionDenied
from frontline.core.forms import RegionChoiceField, ServiceForm, regions_with
from frontline.core.models import Person, Region
from frontline.core.roles import Capability, can
from frontline.core.views.common import forbidden, paginate, scoped_object_or_404

TEMPLATES = "community/facilities/"
CHECKS_SHOWN = 50


class BuildingChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Building) -> str:
        return f"{obj.name}（{obj.address}）"


class FacilityForm(ServiceForm):
    kind = forms.ChoiceField(
        label=gettext_lazy("设施类型"),
        choices=[("", gettext_lazy("请选择")), *FacilityKind.choices],
    )
    name = forms.CharField(label=gettext_lazy("名称/编号"), max_length=120)
    region = RegionChoiceField(label=gettext_lazy("所属网格"))
    building = BuildingChoiceField(
        label=gettext_lazy("所在楼栋"), queryset=Building.objects.none(), required=False
    )
    address = forms.CharField(label=gettext_lazy("位置说明"), max_length=200, required=False)
    lon = forms.FloatField(
        label=gettext_lazy("经度"), required=False, min_value=-180, max_value=180
    )
    lat = forms.FloatField(label=gettext_lazy("纬度"), required=False, min_value=-90, max_value=90)
    check_every_days = forms.IntegerField(
        label=gettext_lazy("检查周期（天）"),
        required=False,
        min_value=1,
        max_value=services.MAX_CHECK_DAYS,
        help_text=gettext_lazy("留空按设施类型：消火栓、灭火器、AED、微型消防站每月，其余每季度"),
    )
    keeper = forms.ModelChoiceField(
        label=gettext_lazy("管护人"), queryset=Person.objects.none(), required=False
    )
    status = forms.ChoiceField(label=gettext_lazy("状态"), choices=FacilityStatus.choices)
    notes = forms.CharField(
        label=gettext_lazy("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    EDITABLE = ["kind", "name", "address", "lon", "lat", "check_every_days", "status", "notes"]

    def __init__(self, *args, user, instance: SafetyFacility | None = None, **kwargs):
        if instance is not None:
            initial = {name: getattr(instance, name) for name in self.EDITABLE}
            initial.update(
                region=instance.region.code,
                building=instance.building_id,
                keeper=instance.keeper_id,
            )
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.user = user
        self.instance = instance
        self.fields["region"].queryset = (
            regions_with(user, Capability.EDIT).filter(level__in=PLACE_LEVELS).order_by("path")
        )
        buildings = Building.objects.visible_to(user)
        people = Person.objects.visible_to(user)
        if instance is not None:
            # The choices of the facility's own village: a county scope holds thousands.
            village = _village_path(instance.region)
            buildings, people = buildings.within(village), people.within(village)
            self.fields["building"].queryset = buildings.order_by("name")
            self.fields["keeper"].queryset = people.order_by("name")
        else:
            # A new facility: its status is what the first check finds; its keeper is chosen
            # on the edit page, among the people of its village (a county scope holds
            # thousands); it is put in a building from the building's page.
            del self.fields["status"], self.fields["keeper"]
            code = self.initial.get("building_region")
            if code:
                self.fields["building"].queryset = buildings.filter(region__code=code)
            else:
                del self.fields["building"]

    def run_service(self) -> SafetyFacility:
        data = dict(self.cleaned_data)
        if self.instance is None:
            return services.create_facility(actor=self.user, **data)
        changes = {name: data[name] for name in self.changed_data if name in data}
        return services.update_facility(actor=self.user, facility=self.instance, **changes)


def _village_path(region: Region) -> str:
    codes = [code for code in region.path.split("/") if code]
    if region.level == "grid" and len(codes) > 1:
        codes = codes[:-1]
    return "/".join(codes) + "/"


class CheckForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("检查结果"),
        choices=[(s.value, s.label) for s in services.CHECK_STATUSES],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=gettext_lazy("说明"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


# --- list -----------------------------------------------------------------------------------


def filtered_facilities(request):
    queryset = SafetyFacility.objects.visible_to(request.user).select_related("region", "building")
    filters: dict = {"q": request.GET.get("q", "").strip()[:100]}
    code = request.GET.get("region", "").strip()
    if code:
        region = get_object_or_404(Region.objects.visible_to(request.user), code=code)
        queryset = queryset.within(region.path)
        filters["region"] = region
    kind = request.GET.get("kind", "")
    if kind in FacilityKind.values:
        queryset = queryset.filter(kind=kind)
        filters["kind"] = kind
    building = request.GET.get("building", "")
    if building.isdigit():
        queryset = queryset.filter(building_id=int(building))
        filters["building"] = building
    if filters["q"]:
        text = filters["q"]
        queryset = queryset.filter(Q(name__icontains=text) | Q(address__icontains=text))
    base = queryset
    status = request.GET.get("status", "")
    if status in FacilityStatus.values:
        queryset = queryset.filter(status=status)
        filters["status"] = status
    if request.GET.get("overdue") == "1":
        queryset = queryset.exclude(status=FacilityStatus.RETIRED).filter(
            next_check_due__lt=timezone.localdate()
        )
        filters["overdue"] = True
    return queryset.order_by("region__code", "kind", "name", "pk"), base, filters


def on_time_share(queryset) -> dict:
    """Of the facilities in service (not retired), how many are not overdue: one query."""
    today = timezone.localdate()
    counts = queryset.exclude(status=FacilityStatus.RETIRED).aggregate(
        total=Count("pk"), overdue=Count("pk", filter=Q(next_check_due__lt=today))
    )
    total, overdue = counts["total"], counts["overdue"]
    on_time = total - overdue
    percent = round(100 * on_time / total, 1) if total else 100.0
    return {"total": total, "on_time": on_time, "overdue": overdue, "percent": percent}


@login_required
def facility_list(request):
    facilities, base, filters = filtered_facilities(request)
    page = paginate(request, facilities)
    today = timezone.localdate()
    for facility in page:
        facility.overdue = facility.is_overdue(today)
    context = {
        "page": page,
        "filters": filters,
        "share": on_time_share(base),
        "regions": place_regions(request.user),
        "kinds": FacilityKind.choices,
        "statuses": FacilityStatus.choices,
        "can_create": can(request.user, Capability.EDIT),
    }
    return render(request, TEMPLATES + "list.html", context)


# --- the facility's page --------------------------------------------------------------------


def visible_facility(request, pk: int) -> SafetyFacility:
    return scoped_object_or_404(
        request.user,
        SafetyFacility.objects.select_related("region", "building", "keeper"),
        pk=pk,
    )


def _detail(request, facility: SafetyFacility, *, form=None, status: int = 200):
    checks = list(
        FacilityCheck.objects.filter(facility=facility)
        .select_related("checked_by__person", "patrol_check_in__run")
        .order_by("-at", "-id")[:CHECKS_SHOWN]
    )
    for check in checks:
        check.who = display_name(check.checked_by) if check.checked_by else _("系统")
    context = {
        "facility": facility,
        "overdue": facility.is_overdue(),
        "checks": checks,
        "form": form or CheckForm(),
        "can_edit": can(request.user, Capability.EDIT, facility.region),
    }
    return render(request, TEMPLATES + "detail.html", context, status=status)


@login_required
def facility_detail(request, pk: int):
    return _detail(request, visible_facility(request, pk))


@login_required
@require_POST
def facility_check(request, pk: int):
    """The "record a check" form of the facility's page (on the phone, at the facility)."""
    facility = visible_facility(request, pk)
    if not can(request.user, Capability.EDIT, facility.region):
        return no_edit(request)
    form = CheckForm(request.POST)
    if not form.is_valid():
        return _detail(request, facility, form=form, status=422)
    try:
        services.record_facility_check(
            actor=request.user,
            facility=facility,
            status=form.cleaned_data["status"],
            note=form.cleaned_data["note"],
        )
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    except InvalidInput as exc:
        for name, message in exc.details.items():
            form.add_error(name if name in form.fields else None, str(message))
        return _detail(request, facility, form=form, status=422)
    messages.success(request, _("已记录“%(name)s”的检查") % {"name": facility.name})
    return redirect("facility_detail", pk=facility.pk)


# --- forms ----------------------------------------------------------------------------------


@login_required
def facility_create(request):
    if not can(request.user, Capability.EDIT):
        return no_edit(request)
    initial = {}
    building_id = request.GET.get("building", "")
    if building_id.isdigit():
        building = (
            Building.objects.visible_to(request.user)
            .select_related("region")
            .filter(pk=building_id)
            .first()
        )
        if building is not None:
            initial = {
                "building": building.pk,
                "building_region": building.region.code,
                "region": building.region.code,
                "address": building.address,
            }
    form = FacilityForm(request.POST or None, user=request.user, initial=initial)
    return save_form(
        request, form, title=_("新增公共安全设施"), cancel_url=reverse("facility_list")
    )


@login_required
def facility_edit(request, pk: int):
    facility = visible_facility(request, pk)
    if not can(request.user, Capability.EDIT, facility.region):
        return no_edit(request)
    form = FacilityForm(request.POST or None, user=request.user, instance=facility)
    return save_form(
        request,
        form,
        title=_("修改设施：%(name)s") % {"name": facility.name},
        cancel_url=reverse("facility_detail", args=[pk]),
    )
