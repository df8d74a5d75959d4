"""Pages of households, residents and vulnerable people.

The roll is read through `visible_households` / `visible_residents`: a user without
`view_residents` gets 403 on the lists, the import and the export, and 404 on a household or
a resident. Every list and export is masked; a protected field is shown in clear one at a
time with a required reason (htmx, logged as a SensitiveAccess row).
"""

from __future__ import annotations

import io
from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from frontline.community.models import (
    Building,
    Mobility,
    Relation,
    Resident,
    VulnerableCategory,
)
from frontline.community.services import households as household_services
from frontline.community.services import importing_residents
from frontline.community.services import residents as resident_services
from frontline.community.services.households import (
    may_read_roll,
    visible_households,
    visible_residents,
)
from frontline.core.crypto import mask_name
from frontline.core.errors import DomainError, PermissionDenied
from frontline.core.models import Person, Region, RegionLevel
from frontline.core.roles import Capability, can
from frontline.core.scoping import subtree_q
from frontline.core.views.common import client_addr, forbidden, paginate

TEMPLATES = "community/households/"
NOT_VISITED_DAYS = 30


class VisitForm(forms.Form):
    resident = forms.TypedChoiceField(label=gettext_lazy("走访对象"), coerce=int, required=False)
    note = forms.CharField(
        label=gettext_lazy("走访情况"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("走访记录不加密，请勿填写病情等敏感信息（写入健康与照护说明）"),
    )

    def __init__(self, *args, household=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("全户"))]
        choices += [(r.pk, mask_name(r.name)) for r in household.residents.all()]
        self.fields["resident"].choices = choices
        self.fields["resident"].empty_value = None


class HouseholdForm(forms.Form):
    region = forms.ModelChoiceField(label=gettext_lazy("所属网格"), queryset=Region.objects.none())
    address = forms.CharField(label=gettext_lazy("门牌地址"), max_length=200)
    building = forms.ModelChoiceField(
        label=gettext_lazy("楼栋"), queryset=Building.objects.none(), required=False
    )
    dilapidated = forms.BooleanField(label=gettext_lazy("危房"), required=False)
    low_lying = forms.BooleanField(label=gettext_lazy("低洼易涝"), required=False)
    geohazard = forms.BooleanField(label=gettext_lazy("地质灾害隐患区"), required=False)
    notes = forms.CharField(
        label=gettext_lazy("备注"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        paths = household_services.roll_paths(user)
        grids = Region.objects.visible_to(user).filter(level=RegionLevel.GRID)
        if paths is not None:
            grids = grids.filter(subtree_q("path", paths))
        self.fields["region"].queryset = grids.order_by("code")
        self.fields["building"].queryset = (
            Building.objects.visible_to(user)
            .select_related("region")
            .order_by("region__code", "name")
        )


class ResidentForm(forms.Form):
    """Add or edit a resident. On edit, the protected fields are not filled in (that would
    show them in clear without a logged reason): left empty, they stay as they are."""

    name = forms.CharField(label=gettext_lazy("姓名"), max_length=50, required=False)
    relation = forms.ChoiceField(label=gettext_lazy("与户主关系"), choices=Relation.choices)
    id_number = forms.CharField(label=gettext_lazy("身份证号"), max_length=32, required=False)
    phone = forms.CharField(label=gettext_lazy("联系电话"), max_length=32, required=False)
    categories = forms.MultipleChoiceField(
        label=gettext_lazy("重点人群类别"),
        choices=VulnerableCategory.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    clear_categories = forms.BooleanField(label=gettext_lazy("不再属于重点人群"), required=False)
    mobility = forms.ChoiceField(
        label=gettext_lazy("行动能力"), choices=[("", "—"), *Mobility.choices], required=False
    )
    helper = forms.ModelChoiceField(
        label=gettext_lazy("包保责任人"), queryset=Person.objects.none(), required=False
    )
    backup_helper = forms.ModelChoiceField(
        label=gettext_lazy("备用包保人"), queryset=Person.objects.none(), required=False
    )
    health_notes = forms.CharField(
        label=gettext_lazy("健康与照护说明"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    SENSITIVE = ("name", "id_number", "phone", "health_notes")

    def __init__(self, *args, user=None, household=None, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        village = household.region.path.rsplit("/", 2)[0] + "/"
        people = Person.objects.visible_to(user).filter(region__path__startswith=village)
        for field in ("helper", "backup_helper"):
            self.fields[field].queryset = people.order_by("name", "id")
        if editing:
            for field in (*self.SENSITIVE, "categories"):
                self.fields[field].help_text = _("留空则保持不变")
        else:
            self.fields["name"].required = True
            del self.fields["clear_categories"]

    def changes(self) -> dict:
        data = dict(self.cleaned_data)
        if self.editing:
            for field in self.SENSITIVE:
                if not data[field]:
                    data.pop(field)
            if data.pop("clear_categories"):
                data["categories"] = []
            elif not data["categories"]:
                data.pop("categories")
        return data


class RevealForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("事由"), max_length=200)


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("居民名册（XLSX）"),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".xlsx," + importing_residents.XLSX_CONTENT_TYPE}
        ),
    )
    valid_rows_only = forms.BooleanField(
        label=gettext_lazy("有错误时仍导入正确的行"), required=False
    )


def _no_roll(request):
    return forbidden(request, _("您没有查看居民名册的权限"))


def _region_filter(request, queryset):
    region = None
    code = request.GET.get("region", "").strip()
    if code:
        region = get_object_or_404(Region.objects.visible_to(request.user), code=code)
        queryset = queryset.within(region.path)
    return queryset, region


# --- households -----------------------------------------------------------------------------


@login_required
def household_list(request):
    if not may_read_roll(request.user):
        return _no_roll(request)
    households = visible_households(request.user).select_related("region", "building")
    households, region = _region_filter(request, households)
    query = request.GET.get("q", "").strip()
    if query:
        # The door address contains the text, or a resident has exactly this name (an exact
        # name finds the person one is looking for without listing everyone named 张…).
        named = visible_residents(request.user).filter(name=query).values("household_id")
        households = households.filter(Q(address__icontains=query) | Q(pk__in=named))
    risk = request.GET.get("risk", "")
    if risk in ("dilapidated", "low_lying", "geohazard"):
        households = households.filter(**{risk: True})
    households = households.annotate(
        resident_count=Count("residents"),
        vulnerable_count=Count("residents", filter=Q(residents__is_vulnerable=True)),
    ).order_by("region__code", "address", "id")
    context = {
        "page": paginate(request, households),
        "filters": {"q": query, "region": region, "risk": risk},
        "risks": [
            ("dilapidated", _("危房")),
            ("low_lying", _("低洼易涝")),
            ("geohazard", _("地质灾害隐患区")),
        ],
        "can_import": can(request.user, Capability.EDIT),
    }
    return render(request, TEMPLATES + "list.html", context)


def _household(request, pk: int):
    queryset = visible_households(request.user).select_related("region", "building", "group_leader")
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


@login_required
def household_detail(request, pk: int):
    household = _household(request, pk)
    residents = list(household.residents.select_related("helper").order_by("relation", "id"))
    visits = list(household.visits.select_related("resident", "visitor")[:20])
    for resident in residents:
        resident.masked_name = mask_name(resident.name)
    for visit in visits:
        visit.masked_name = mask_name(visit.resident.name) if visit.resident else ""
    can_edit = can(request.user, Capability.EDIT, household.region)
    context = {
        "household": household,
        "residents": residents,
        "visits": visits,
        "can_edit": can_edit,
        "visit_form": VisitForm(household=household) if can_edit else None,
    }
    return render(request, TEMPLATES + "detail.html", context)


@login_required
@require_POST
def household_visit(request, pk: int):
    household = _household(request, pk)
    if not can(request.user, Capability.EDIT, household.region):
        return forbidden(request, _("您没有录入和修改业务数据的权限"))
    form = VisitForm(request.POST, household=household)
    if form.is_valid():
        resident = None
        if form.cleaned_data["resident"]:
            resident = household.residents.filter(pk=form.cleaned_data["resident"]).first()
        at = parse_datetime(request.POST.get("at", "")) if request.POST.get("at") else None
        try:
            household_services.record_visit(
                actor=request.user,
                household=household,
                resident=resident,
                at=at,
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            messages.error(request, " ".join([str(exc.message), *exc.details.values()]))
        else:
            messages.success(request, _("已登记走访"))
    else:
        messages.error(request, _("走访信息有误，请检查"))
    return redirect("household_detail", pk=household.pk)


# --- residents ------------------------------------------------------------------------------


def _resident(request, pk: int) -> Resident:
    queryset = visible_residents(request.user).select_related(
        "region", "household", "household__building", "helper", "backup_helper"
    )
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


@login_required
def resident_detail(request, pk: int):
    resident = _resident(request, pk)
    context = {
        "resident": resident,
        "masked_name": mask_name(resident.name),
        "can_reveal": can(request.user, Capability.VIEW_RESIDENT_DATA, resident.region),
        "can_edit": can(request.user, Capability.EDIT, resident.region),
        "visits": resident.visits.select_related("visitor")[:10],
    }
    return render(request, TEMPLATES + "resident.html", context)


def _apply_errors(form, exc: DomainError) -> None:
    for field, message in exc.details.items():
        form.add_error(field if field in form.fields else None, message)
    if not exc.details:
        form.add_error(None, str(exc.message))


def _form_page(request, form, *, title, cancel_url, status=200):
    status = 422 if form.errors else status
    context = {"form": form, "title": title, "cancel_url": cancel_url}
    return render(request, "core/form.html", context, status=status)


@login_required
def household_create(request):
    if not may_read_roll(request.user) or not can(request.user, Capability.EDIT):
        return _no_roll(request)
    form = HouseholdForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            household = household_services.create_household(actor=request.user, **data)
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已新增住户"))
            return redirect("household_detail", pk=household.pk)
    return _form_page(request, form, title=_("新增住户"), cancel_url=reverse("household_list"))


@login_required
def resident_create(request, pk: int):
    household = _household(request, pk)
    if not can(request.user, Capability.EDIT, household.region):
        return forbidden(request, _("您没有录入和修改业务数据的权限"))
    form = ResidentForm(request.POST or None, user=request.user, household=household)
    if request.method == "POST" and form.is_valid():
        try:
            resident = resident_services.create_resident(
                actor=request.user, household=household, **form.changes()
            )
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已登记居民"))
            return redirect("resident_detail", pk=resident.pk)
    cancel = reverse("household_detail", args=[household.pk])
    return _form_page(request, form, title=_("登记居民"), cancel_url=cancel)


@login_required
def resident_edit(request, pk: int):
    resident = _resident(request, pk)
    if not can(request.user, Capability.EDIT, resident.region):
        return forbidden(request, _("您没有录入和修改业务数据的权限"))
    initial = {
        "relation": resident.relation,
        "mobility": resident.mobility,
        "helper": resident.helper_id,
        "backup_helper": resident.backup_helper_id,
    }
    form = ResidentForm(
        request.POST or None,
        user=request.user,
        household=resident.household,
        editing=True,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            resident_services.update_resident(
                actor=request.user, resident=resident, **form.changes()
            )
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("resident_detail", pk=resident.pk)
    cancel = reverse("resident_detail", args=[resident.pk])
    return _form_page(request, form, title=_("修改居民信息"), cancel_url=cancel)


@login_required
@require_POST
def resident_remove(request, pk: int):
    resident = _resident(request, pk)
    household_pk = resident.household_id
    try:
        resident_services.remove_resident(actor=request.user, resident=resident)
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    messages.success(request, _("已注销该居民"))
    return redirect("household_detail", pk=household_pk)


@never_cache
@login_required
@require_POST
def resident_reveal(request, pk: int, field: str):
    """htmx: the clear value of one protected field, logged; a reason is required."""
    resident = _resident(request, pk)
    if field not in Resident.SENSITIVE_FIELDS:
        raise Http404
    form = RevealForm(request.POST)
    if not form.is_valid():
        context = {"message": _("请填写查看事由")}
        return render(request, TEMPLATES + "_reveal_denied.html", context, status=422)
    try:
        value = resident_services.reveal_resident_field(
            actor=request.user,
            resident=resident,
            field=field,
            reason=form.cleaned_data["reason"],
            remote_addr=client_addr(request),
        )
    except PermissionDenied as exc:
        context = {"message": exc.message}
        return render(request, TEMPLATES + "_reveal_denied.html", context, status=403)
    return render(request, TEMPLATES + "_revealed.html", {"value": value, "field": field})


# --- vulnerable people ----------------------------------------------------------------------


def filtered_vulnerable(request):
    """The vulnerable people in scope with the page's filters. Categories are encrypted: the
    category filter and the counts per category decrypt the scoped rows in Python."""
    residents = visible_residents(request.user).filter(is_vulnerable=True)
    residents, region = _region_filter(request, residents)
    mobility = request.GET.get("mobility", "")
    if mobility in Mobility.values:
        residents = residents.filter(mobility=mobility)
    without_helper = request.GET.get("without_helper") == "1"
    if without_helper:
        residents = residents.filter(helper__isnull=True)
    not_visited = request.GET.get("not_visited") == "1"
    if not_visited:
        since = timezone.now() - timedelta(days=NOT_VISITED_DAYS)
        residents = residents.exclude(last_visited_at__gte=since)
    counts = dict.fromkeys(VulnerableCategory.values, 0)
    category = request.GET.get("category", "")
    matching = []
    for pk, codes in residents.values_list("pk", "categories"):
        listed = codes.split(",") if codes else []
        for code in listed:
            if code in counts:
                counts[code] += 1
        if category and category in listed:
            matching.append(pk)
    if category in VulnerableCategory.values:
        residents = residents.filter(pk__in=matching)
    else:
        category = ""
    filters = {
        "region": region,
        "mobility": mobility,
        "category": category,
        "without_helper": without_helper,
        "not_visited": not_visited,
    }
    return residents, filters, counts


@login_required
def vulnerable_list(request):
    if not may_read_roll(request.user):
        return _no_roll(request)
    residents, filters, counts = filtered_vulnerable(request)
    residents = residents.select_related("region", "household", "helper").order_by(
        "region__code", "household__address", "id"
    )
    total = sum(counts.values()) or 1
    widest = max(counts.values()) or 1
    bars = [
        {
            "value": value,
            "label": label,
            "count": counts[value],
            "percent": round(100 * counts[value] / widest, 1),
            "share": round(100 * counts[value] / total, 1),
        }
        for value, label in VulnerableCategory.choices
    ]
    page = paginate(request, residents)
    for resident in page:
        resident.masked_name = mask_name(resident.name)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "bars": bars,
        "categories": VulnerableCategory.choices,
        "mobilities": Mobility.choices,
        "not_visited_days": NOT_VISITED_DAYS,
        "export_query": query.urlencode(),
        "can_import": can(request.user, Capability.EDIT),
    }
    return render(request, TEMPLATES + "vulnerable.html", context)


@login_required
def resident_export(request):
    """The masked roll as XLSX: every resident, or with `?vulnerable=1` the vulnerable list
    with its filters."""
    if not may_read_roll(request.user):
        return _no_roll(request)
    if request.GET.get("vulnerable") == "1":
        queryset = filtered_vulnerable(request)[0]
    else:
        queryset = _region_filter(request, visible_residents(request.user))[0]
    content = importing_residents.export_residents(actor=request.user, queryset=queryset)
    response = HttpResponse(content, content_type=importing_residents.XLSX_CONTENT_TYPE)
    name = f"residents-{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def resident_import(request):
    if not may_read_roll(request.user):
        return _no_roll(request)
    if not can(request.user, Capability.EDIT):
        return forbidden(request, _("您没有录入和修改业务数据的权限"))
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data["file"].read()
            try:
                report = importing_residents.import_residents(
                    actor=request.user,
                    file=io.BytesIO(data),
                    valid_rows_only=form.cleaned_data["valid_rows_only"],
                )
            except PermissionDenied as exc:
                return forbidden(request, exc.message)
            except DomainError as exc:
                form.add_error("file", str(exc.details.get("file", exc.message)))
                status = 422
            else:
                status = 200 if report.imported else 422
        else:
            status = 422
    context = {
        "form": form,
        "report": report,
        "columns": importing_residents.RESIDENT_COLUMNS.values(),
    }
    return render(request, TEMPLATES + "import.html", context, status=status)
