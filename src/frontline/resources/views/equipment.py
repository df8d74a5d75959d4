"""Pages of equipment and vehicles: the list (status, due dates with the overdue marked),
the page with status buttons, the "record an inspection or maintenance" form and the
timeline, the forms, and the spreadsheet import and export (the import page is shared with
teams and experts)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from frontline.core.errors import DomainError, PermissionDenied
from frontline.core.models import Region
from frontline.core.roles import Capability as Can
from frontline.core.roles import can
from frontline.core.views.common import forbidden, paginate, scoped_object_or_404
from frontline.core.views.imports import handle_import
from frontline.resources.forms_units import (
    CheckForm,
    EquipmentForm,
    EquipmentStatusForm,
    UnitImportForm,
)
from frontline.resources.models import (
    Capability,
    Equipment,
    EquipmentKind,
    EquipmentStatus,
    capability_q,
)
from frontline.resources.services import equipment as services
from frontline.resources.services import importing_units

T = "resources/"


def xlsx_response(content: bytes, stem: str) -> HttpResponse:
    response = HttpResponse(content, content_type=importing_units.XLSX_CONTENT_TYPE)
    name = f"{stem}-{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = (
        f"attachment; filename=\"{stem}.xlsx\"; filename*=UTF-8''{name}"
    )
    return response


# --- list ----------------------------------------------------------------------------------------


def filtered_equipment(request):
    queryset = Equipment.objects.visible_to(request.user).select_related("region", "team", "depot")
    filters: dict = {"q": request.GET.get("q", "").strip()[:100]}
    code = request.GET.get("region", "").strip()
    if code:
        region = get_object_or_404(Region.objects.visible_to(request.user), code=code)
        queryset = queryset.within(region.path)
        filters["region"] = region
    for name, choices in (("kind", EquipmentKind), ("status", EquipmentStatus)):
        value = request.GET.get(name, "")
        if value in choices.values:
            queryset = queryset.filter(**{name: value})
            filters[name] = value
    capability = request.GET.get("capability", "")
    if capability in Capability.values:
        queryset = queryset.filter(capability_q(capability))
        filters["capability"] = capability
    for name in ("team", "depot"):
        value = request.GET.get(name, "")
        if value.isdigit():
            queryset = queryset.filter(**{f"{name}_id": int(value)})
            filters[name] = value
    if request.GET.get("due") == "1":
        horizon = timezone.localdate() + timedelta(days=services.DUE_SOON_DAYS)
        queryset = queryset.filter(
            Q(next_inspection_due__lte=horizon) | Q(next_maintenance_due__lte=horizon)
        )
        filters["due"] = True
    if filters["q"]:
        text = filters["q"]
        queryset = queryset.filter(
            Q(name__icontains=text)
            | Q(plate_no__icontains=text.upper())
            | Q(serial_no__icontains=text)
        )
    return queryset.order_by("region__code", "kind", "name", "pk"), filters


@login_required
def equipment_list(request):
    equipment, filters = filtered_equipment(request)
    page = paginate(request, equipment)
    today = timezone.localdate()
    for item in page:
        item.due = services.due_state(item, today)
    context = {
        "page": page,
        "filters": filters,
        "kinds": EquipmentKind.choices,
        "statuses": EquipmentStatus.choices,
        "capabilities": Capability.choices,
        "export_query": request.GET.urlencode(),
        "can_create": can(request.user, Can.MANAGE_RESOURCES),
    }
    return render(request, T + "equipment_list.html", context)


# --- the equipment's page ------------------------------------------------------------------------


def visible_equipment(request, pk: int) -> Equipment:
    return scoped_object_or_404(
        request.user, Equipment.objects.select_related("region", "team", "depot"), pk=pk
    )


STATE_LABELS = dict(EquipmentStatus.choices)


@login_required
def equipment_detail(request, pk: int, *, check_form=None, status: int = 200):
    from frontline.resources.views.teams import capability_labels, labelled_events

    equipment = visible_equipment(request, pk)
    states = {**STATE_LABELS}
    context = {
        "equipment": equipment,
        "due": services.due_state(equipment),
        "capability_labels": capability_labels(equipment.capabilities),
        "events": labelled_events(equipment, states),
        "statuses": [
            (value, STATE_LABELS[value])
            for value in EquipmentStatus.values
            if value in services.TRANSITIONS.get(equipment.status, set())
        ],
        "check_form": check_form or CheckForm(),
        "can_edit": can(request.user, Can.MANAGE_RESOURCES, equipment.region),
    }
    return render(request, T + "equipment_detail.html", context, status=status)


def _may_edit(request, equipment: Equipment) -> bool:
    return can(request.user, Can.MANAGE_RESOURCES, equipment.region)


@login_required
@require_POST
def equipment_status(request, pk: int):
    equipment = visible_equipment(request, pk)
    if not _may_edit(request, equipment):
        return forbidden(request, _("您没有管理应急资源的权限"))
    form = EquipmentStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择状态"))
        return redirect("equipment_detail", pk=pk)
    try:
        services.set_equipment_status(actor=request.user, equipment=equipment, **form.cleaned_data)
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    except DomainError as exc:
        messages.error(request, " ".join([str(exc.message), *map(str, exc.details.values())]))
    else:
        messages.success(request, _("状态已更新"))
    return redirect("equipment_detail", pk=pk)


@login_required
@require_POST
def equipment_check(request, pk: int):
    equipment = visible_equipment(request, pk)
    if not _may_edit(request, equipment):
        return forbidden(request, _("您没有管理应急资源的权限"))
    form = CheckForm(request.POST)
    if form.is_valid():
        try:
            services.record_check(actor=request.user, equipment=equipment, **form.cleaned_data)
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        except DomainError as exc:
            for name, message in (exc.details or {None: exc.message}).items():
                form.add_error(name if name in form.fields else None, str(message))
        else:
            messages.success(request, _("已记录，下次到期日已顺延"))
            return redirect("equipment_detail", pk=pk)
    return equipment_detail(request, pk, check_form=form, status=422)


# --- forms and spreadsheets ----------------------------------------------------------------------


@login_required
def equipment_create(request):
    from frontline.resources.views.teams import no_manage, save_unit

    if not can(request.user, Can.MANAGE_RESOURCES):
        return no_manage(request)
    initial = {}
    team = request.GET.get("team", "")
    if team.isdigit():
        initial["team"] = int(team)
    form = EquipmentForm(request.POST or None, user=request.user, initial=initial)
    return save_unit(
        request,
        form,
        title=_("登记装备"),
        cancel_url=reverse("equipment_list"),
        url_name="equipment_detail",
    )


@login_required
def equipment_edit(request, pk: int):
    from frontline.resources.views.teams import no_manage, save_unit

    equipment = visible_equipment(request, pk)
    if not _may_edit(request, equipment):
        return no_manage(request)
    form = EquipmentForm(request.POST or None, user=request.user, instance=equipment)
    return save_unit(
        request,
        form,
        title=_("修改装备：%(name)s") % {"name": equipment.name},
        cancel_url=reverse("equipment_detail", args=[pk]),
        url_name="equipment_detail",
    )


@login_required
def equipment_export(request):
    equipment, _filters = filtered_equipment(request)
    return xlsx_response(
        importing_units.export_equipment(actor=request.user, queryset=equipment), "equipment"
    )


@login_required
def equipment_import(request):
    return import_page(request, "equipment")


IMPORTS = {
    "team": {
        "service": importing_units.import_teams,
        "list": "team_list",
        "export": "team_export",
        "self": "team_import",
        "title": gettext_lazy("导入救援队伍"),
        "hint": gettext_lazy(
            "第一行为表头：队伍名称、队伍类型、区划代码为必填列；驻地、经度、纬度、救援能力（用"
            "“、”分隔）、值班电话、最少在岗人数、到场承诺（分钟）、备注可选。同一区划内同名的队伍"
            "被更新，其余新增（新队伍须有经纬度）；状态、队长、在队人数只供阅读，导入时忽略。"
        ),
    },
    "equipment": {
        "service": importing_units.import_equipment,
        "list": "equipment_list",
        "export": "equipment_export",
        "self": "equipment_import",
        "title": gettext_lazy("导入装备台账"),
        "hint": gettext_lazy(
            "第一行为表头：名称、类型、区划代码为必填列。有“系统编号”的行更新该装备，没有的行"
            "新增；配属队伍、存放仓库按名称填写，经纬度留空时取队伍或仓库的位置；日期写作 "
            "2026-05-01；状态只供阅读，导入时忽略。"
        ),
    },
    "expert": {
        "service": importing_units.import_experts,
        "list": "expert_list",
        "export": "expert_export",
        "self": "expert_import",
        "title": gettext_lazy("导入应急专家"),
        "hint": gettext_lazy(
            "第一行为表头：姓名、区划代码、专业领域为必填列。有“系统编号”的行更新该专家（姓名和"
            "手机号属于人员档案，不在此修改）；没有的行新增专家：同一区划内同名同手机号的人员被"
            "沿用，否则新建人员，须填写手机号。可用状态只供阅读，导入时忽略。"
        ),
    },
}
_SESSION_KEY = "resources_units_import"


def import_page(request, kind: str):
    """Upload → report. A file with errors is kept for this session so the user can import
    its valid rows with one button, without choosing the file again."""
    if not can(request.user, Can.MANAGE_RESOURCES):
        return forbidden(request, _("您没有管理应急资源的权限"))
    config = IMPORTS[kind]
    page = handle_import(
        request, f"{_SESSION_KEY}_{kind}", config["service"], UnitImportForm, config["self"]
    )
    if isinstance(page, HttpResponse):
        return page
    form, report, status = page.form, page.report, page.status
    if report is not None and report.errors and not report.imported and status == 200:
        status = 422
    context = {"form": form, "report": report, "kind": kind, "urls": config}
    return render(request, T + "team_import.html", context, status=status)
