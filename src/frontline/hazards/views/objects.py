"""Pages of the supervised objects: enterprise and place lists and details (masked phones with
the logged clear view), forms, risk points, the spreadsheet import and export, and the door
plates with their QR codes."""

from __future__ import annotations

import io

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from frontline.core import services as core_services
from frontline.core.crypto import mask_phone
from frontline.core.errors import PermissionDenied
from frontline.core.forms import RevealForm
from frontline.core.models import Region
from frontline.core.roles import Capability, can
from frontline.core.views.common import client_addr, forbidden, paginate, scoped_object_or_404
from frontline.core.views.imports import handle_import
from frontline.hazards import services
from frontline.hazards.forms_objects import (
    EnterpriseForm,
    ImportForm,
    MajorHazardForm,
    PlaceForm,
    RiskPointForm,
)
from frontline.hazards.models import (
    Enterprise,
    Industry,
    MajorHazardInstallation,
    Place,
    PlaceCategory,
    RiskColour,
    RiskPoint,
)
from frontline.hazards.services.importing import XLSX_CONTENT_TYPE

TEMPLATES = "hazards/objects/"
COLOUR_CHOICES = RiskColour.choices


# --- lists ----------------------------------------------------------------------------------


def _region_filter(request, queryset, filters: dict):
    code = request.GET.get("region", "").strip()
    if code:
        region = get_object_or_404(Region.objects.visible_to(request.user), code=code)
        queryset = queryset.within(region.path)
        filters["region"] = region
    return queryset


def _colour_counts(queryset) -> list[dict]:
    counts = dict(queryset.order_by().values_list("risk_colour").annotate(n=Count("pk")))
    return [
        {"value": value, "label": label, "count": counts.get(value, 0)}
        for value, label in COLOUR_CHOICES
    ]


def filtered_enterprises(request):
    queryset = Enterprise.objects.visible_to(request.user).select_related("region")
    filters: dict = {"q": request.GET.get("q", "").strip()}
    queryset = _region_filter(request, queryset, filters)
    industry = request.GET.get("industry", "")
    if industry in Industry.values:
        queryset = queryset.filter(industry=industry)
        filters["industry"] = industry
    if request.GET.get("above_scale") == "1":
        queryset = queryset.filter(above_scale=True)
        filters["above_scale"] = True
    if filters["q"]:
        text = filters["q"]
        queryset = queryset.filter(
            Q(name__icontains=text) | Q(credit_code__startswith=text.upper())
        )
    base = queryset
    colour = request.GET.get("colour", "")
    if colour in RiskColour.values:
        queryset = queryset.filter(risk_colour=colour)
        filters["colour"] = colour
    return queryset.order_by("region__code", "name", "pk"), base, filters


@login_required
def enterprise_list(request):
    enterprises, base, filters = filtered_enterprises(request)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("colour", None)
    context = {
        "page": paginate(request, enterprises),
        "filters": filters,
        "colours": _colour_counts(base),
        "industries": Industry.choices,
        "query": query.urlencode(),
        "export_query": request.GET.urlencode(),
        "can_create": can(request.user, Capability.EDIT),
    }
    return render(request, TEMPLATES + "enterprise_list.html", context)


def filtered_places(request):
    queryset = Place.objects.visible_to(request.user).select_related("region")
    filters: dict = {"q": request.GET.get("q", "").strip()}
    queryset = _region_filter(request, queryset, filters)
    category = request.GET.get("category", "")
    if category in PlaceCategory.values:
        queryset = queryset.filter(category=category)
        filters["category"] = category
    if filters["q"]:
        text = filters["q"]
        queryset = queryset.filter(Q(name__icontains=text) | Q(address__icontains=text))
    base = queryset
    colour = request.GET.get("colour", "")
    if colour in RiskColour.values:
        queryset = queryset.filter(risk_colour=colour)
        filters["colour"] = colour
    return queryset.order_by("region__code", "name", "pk"), base, filters


@login_required
def place_list(request):
    places, base, filters = filtered_places(request)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("colour", None)
    context = {
        "page": paginate(request, places),
        "filters": filters,
        "colours": _colour_counts(base),
        "categories": PlaceCategory.choices,
        "query": query.urlencode(),
        "export_query": request.GET.urlencode(),
        "can_create": can(request.user, Capability.EDIT),
    }
    return render(request, TEMPLATES + "place_list.html", context)


# --- details --------------------------------------------------------------------------------


def visible_enterprise(request, pk: int) -> Enterprise:
    return scoped_object_or_404(request.user, Enterprise.objects.select_related("region"), pk=pk)


def visible_place(request, pk: int) -> Place:
    return scoped_object_or_404(
        request.user, Place.objects.select_related("region", "enterprise"), pk=pk
    )


def _linked(user, obj, related: str, list_url: str, kind: str) -> dict | None:
    """Inspections or hazards of the object (those the user sees), with a link to their list
    filtered on the object."""
    manager = getattr(obj, related, None)
    if manager is None:
        return None
    rows = manager.all()
    if hasattr(rows, "visible_to"):
        rows = rows.visible_to(user)
    try:
        url = reverse(list_url)
    except NoReverseMatch:
        url = ""
    return {
        "count": rows.count(),
        "url": f"{url}?{kind}={obj.pk}" if url else "",
    }


def _detail_context(request, obj) -> dict:
    user = request.user
    return {
        "obj": obj,
        "risk_points": obj.risk_points.select_related("responsible_person").order_by(
            "-score", "name"
        ),
        "can_edit": can(user, Capability.EDIT, obj.region),
        "can_reveal": can(user, Capability.VIEW_PERSONAL_DATA, obj.region),
    }


@login_required
def enterprise_detail(request, pk: int):
    enterprise = visible_enterprise(request, pk)
    context = _detail_context(request, enterprise)
    context.update(
        enterprise=enterprise,
        major_hazards=enterprise.major_hazards.all(),
        places=enterprise.places.visible_to(request.user).order_by("name"),
        inspections=_linked(
            request.user, enterprise, "inspections", "inspection_list", "enterprise"
        ),
        hazards=_linked(request.user, enterprise, "hazards", "hazard_list", "enterprise"),
    )
    return render(request, TEMPLATES + "enterprise_detail.html", context)


@login_required
def place_detail(request, pk: int):
    place = visible_place(request, pk)
    context = _detail_context(request, place)
    context.update(
        place=place,
        operator_phone_masked=mask_phone(place.operator_phone),
        inspections=_linked(request.user, place, "inspections", "inspection_list", "place"),
        hazards=_linked(request.user, place, "hazards", "hazard_list", "place"),
    )
    return render(request, TEMPLATES + "place_detail.html", context)


@never_cache
@login_required
@require_POST
def reveal(request, kind: str, pk: int, field: str):
    """htmx: the clear value of a phone, logged as a SensitiveAccess row."""
    obj = visible_enterprise(request, pk) if kind == "enterprise" else visible_place(request, pk)
    if field not in obj.SENSITIVE_FIELDS:
        raise Http404
    form = RevealForm(request.POST)
    if not form.is_valid():
        context = {"message": " ".join(form.errors.get("reason", []))}
        return render(request, TEMPLATES + "_reveal_denied.html", context, status=422)
    try:
        value = core_services.reveal_personal_field(
            actor=request.user,
            obj=obj,
            field=field,
            reason=form.cleaned_data["reason"],
            remote_addr=client_addr(request),
        )
    except PermissionDenied as exc:
        context = {"message": exc.message}
        return render(request, TEMPLATES + "_reveal_denied.html", context, status=403)
    return render(request, TEMPLATES + "_revealed.html", {"value": value})


# --- forms ----------------------------------------------------------------------------------


def _save(request, form, *, title, cancel_url, success):
    if request.method == "POST" and form.is_valid():
        try:
            saved = form.save()
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        if saved is not None:
            messages.success(request, _("已保存“%(name)s”") % {"name": saved.name})
            return redirect(success(saved))
    context = {"form": form, "title": title, "cancel_url": cancel_url}
    return render(request, "core/form.html", context, status=422 if form.errors else 200)


def _no_edit(request):
    return forbidden(request, _("您没有录入和修改业务数据的权限"))


@login_required
def enterprise_create(request):
    if not can(request.user, Capability.EDIT):
        return _no_edit(request)
    form = EnterpriseForm(request.POST or None, user=request.user)
    return _save(
        request,
        form,
        title=_("新增企业"),
        cancel_url=reverse("enterprise_list"),
        success=lambda e: reverse("enterprise_detail", args=[e.pk]),
    )


@login_required
def enterprise_edit(request, pk: int):
    enterprise = visible_enterprise(request, pk)
    if not can(request.user, Capability.EDIT, enterprise.region):
        return _no_edit(request)
    form = EnterpriseForm(request.POST or None, user=request.user, instance=enterprise)
    return _save(
        request,
        form,
        title=_("修改企业"),
        cancel_url=reverse("enterprise_detail", args=[pk]),
        success=lambda e: reverse("enterprise_detail", args=[e.pk]),
    )


@login_required
def place_create(request):
    if not can(request.user, Capability.EDIT):
        return _no_edit(request)
    initial = {}
    enterprise_id = request.GET.get("enterprise", "")
    if enterprise_id.isdigit():
        enterprise = (
            Enterprise.objects.visible_to(request.user)
            .select_related("region")
            .filter(pk=enterprise_id)
            .first()
        )
        if enterprise is not None:
            initial = {"enterprise": enterprise.pk, "region": enterprise.region.code}
    form = PlaceForm(request.POST or None, user=request.user, initial=initial)
    return _save(
        request,
        form,
        title=_("新增场所"),
        cancel_url=reverse("place_list"),
        success=lambda p: reverse("place_detail", args=[p.pk]),
    )


@login_required
def place_edit(request, pk: int):
    place = visible_place(request, pk)
    if not can(request.user, Capability.EDIT, place.region):
        return _no_edit(request)
    form = PlaceForm(request.POST or None, user=request.user, instance=place)
    return _save(
        request,
        form,
        title=_("修改场所"),
        cancel_url=reverse("place_detail", args=[pk]),
        success=lambda p: reverse("place_detail", args=[p.pk]),
    )


def _owner_url(obj) -> str:
    if isinstance(obj, Enterprise):
        return reverse("enterprise_detail", args=[obj.pk])
    return reverse("place_detail", args=[obj.pk])


@login_required
def risk_point_create(request, kind: str, pk: int):
    owner = visible_enterprise(request, pk) if kind == "enterprise" else visible_place(request, pk)
    if not can(request.user, Capability.EDIT, owner.region):
        return _no_edit(request)
    form = RiskPointForm(request.POST or None, user=request.user, owner=owner)
    return _save(
        request,
        form,
        title=_("新增风险点：%(name)s") % {"name": owner.name},
        cancel_url=_owner_url(owner),
        success=lambda point: _owner_url(owner),
    )


@login_required
def risk_point_edit(request, pk: int):
    point = scoped_object_or_404(
        request.user, RiskPoint.objects.select_related("enterprise", "place", "region"), pk=pk
    )
    owner = point.enterprise or point.place
    if not can(request.user, Capability.EDIT, point.region):
        return _no_edit(request)
    form = RiskPointForm(request.POST or None, user=request.user, owner=owner, instance=point)
    return _save(
        request,
        form,
        title=_("修改风险点"),
        cancel_url=_owner_url(owner),
        success=lambda saved: _owner_url(owner),
    )


@login_required
@require_POST
def risk_point_delete(request, pk: int):
    point = scoped_object_or_404(
        request.user, RiskPoint.objects.select_related("enterprise", "place", "region"), pk=pk
    )
    owner = point.enterprise or point.place
    try:
        services.delete_risk_point(actor=request.user, risk_point=point)
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    messages.success(request, _("已删除风险点“%(name)s”") % {"name": point.name})
    return redirect(_owner_url(owner))


@login_required
def major_hazard_create(request, pk: int):
    enterprise = visible_enterprise(request, pk)
    if not can(request.user, Capability.EDIT, enterprise.region):
        return _no_edit(request)
    form = MajorHazardForm(request.POST or None, user=request.user, enterprise=enterprise)
    return _save(
        request,
        form,
        title=_("新增重大危险源：%(name)s") % {"name": enterprise.name},
        cancel_url=_owner_url(enterprise),
        success=lambda saved: _owner_url(enterprise),
    )


@login_required
def major_hazard_edit(request, pk: int):
    installation = scoped_object_or_404(
        request.user, MajorHazardInstallation.objects.select_related("enterprise"), pk=pk
    )
    enterprise = installation.enterprise
    if not can(request.user, Capability.EDIT, installation.region):
        return _no_edit(request)
    form = MajorHazardForm(
        request.POST or None, user=request.user, enterprise=enterprise, instance=installation
    )
    return _save(
        request,
        form,
        title=_("修改重大危险源"),
        cancel_url=_owner_url(enterprise),
        success=lambda saved: _owner_url(enterprise),
    )


# --- spreadsheets ---------------------------------------------------------------------------


def _xlsx_response(content: bytes, stem: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    name = f"{stem}-{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = (
        f"attachment; filename=\"{stem}.xlsx\"; filename*=UTF-8''{name}"
    )
    return response


@login_required
def enterprise_export(request):
    queryset = filtered_enterprises(request)[0]
    content = services.export_enterprises(actor=request.user, queryset=queryset)
    return _xlsx_response(content, "enterprises")


@login_required
def place_export(request):
    queryset = filtered_places(request)[0]
    return _xlsx_response(services.export_places(actor=request.user, queryset=queryset), "places")


IMPORTS = {
    "enterprise": {
        "service": services.import_enterprises,
        "list": "enterprise_list",
        "export": "enterprise_export",
        "self": "enterprise_import",
    },
    "place": {
        "service": services.import_places,
        "list": "place_list",
        "export": "place_export",
        "self": "place_import",
    },
}


@login_required
def enterprise_import(request):
    return _import_page(request, "enterprise")


@login_required
def place_import(request):
    return _import_page(request, "place")


def _import_page(request, kind: str):
    """Upload → report. A file with errors is kept (for this session only) so that the user
    can import its valid rows with one button, without choosing the file again."""
    if not can(request.user, Capability.EDIT):
        return _no_edit(request)
    config = IMPORTS[kind]
    page = handle_import(
        request,
        f"hazards_import_pending_{kind}",
        config["service"],
        lambda *data: ImportForm(*data, kind=kind),
        config["self"],
    )
    if isinstance(page, HttpResponse):
        return page
    form, report, status = page.form, page.report, page.status
    context = {"form": form, "report": report, "kind": kind, "urls": config}
    return render(request, TEMPLATES + "import.html", context, status=status)


# --- door plates ----------------------------------------------------------------------------


@login_required
def qr_redirect(request, token: str):
    """The QR code of a door plate: the object's page, for a user who may see it."""
    for model, url_name in ((Enterprise, "enterprise_detail"), (Place, "place_detail")):
        found = model.objects.visible_to(request.user).filter(qr_token=token).first()
        if found is not None:
            return redirect(url_name, pk=found.pk)
    raise Http404


def plate_url(request, obj) -> str:
    """What the QR code encodes: FRONTLINE_BASE_URL when set, else the address of this
    request (the one the station uses)."""
    path = reverse("qr_redirect", args=[obj.qr_token])
    base = (getattr(settings, "FRONTLINE_BASE_URL", "") or "").rstrip("/")
    return f"{base}{path}" if base else request.build_absolute_uri(path)


def _plate_object(request, kind: str, pk: int):
    if kind == "enterprise":
        return visible_enterprise(request, pk)
    return visible_place(request, pk)


@login_required
def door_plate(request, kind: str, pk: int):
    import segno

    obj = _plate_object(request, kind, pk)
    url = plate_url(request, obj)
    qr = segno.make(url, error="m")
    context = {
        "obj": obj,
        "kind": kind,
        "url": url,
        "qr_svg": qr.svg_inline(scale=8, border=2),
        "back_url": _owner_url(obj),
    }
    return render(request, TEMPLATES + "door_plate.html", context)


@login_required
def door_plate_image(request, kind: str, pk: int, fmt: str):
    import segno

    if fmt not in ("png", "svg"):
        raise Http404
    obj = _plate_object(request, kind, pk)
    qr = segno.make(plate_url(request, obj), error="m")
    buffer = io.BytesIO()
    if fmt == "png":
        qr.save(buffer, kind="png", scale=10, border=2)
        content_type = "image/png"
    else:
        qr.save(buffer, kind="svg", scale=10, border=2, xmldecl=True)
        content_type = "image/svg+xml"
    response = HttpResponse(buffer.getvalue(), content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="plate-{kind}-{obj.pk}.{fmt}"'
    return response
