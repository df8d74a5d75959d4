"""Organizations: list with filters, detail with its people, create and edit forms."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from frontline.core.errors import PermissionDenied
from frontline.core.forms import OrganizationForm
from frontline.core.models import Organization, OrganizationKind, Person, Region
from frontline.core.roles import Capability, can
from frontline.core.views.common import forbidden, paginate, scoped_object_or_404


def filtered_organizations(request):
    user = request.user
    organizations = Organization.objects.visible_to(user).select_related("region", "parent")
    kind = request.GET.get("kind", "")
    if kind in OrganizationKind.values:
        organizations = organizations.filter(kind=kind)
    query = request.GET.get("q", "").strip()
    if query:
        organizations = organizations.filter(name__icontains=query)
    region = None
    if request.GET.get("region"):
        region = get_object_or_404(Region.objects.visible_to(user), code=request.GET["region"])
        organizations = organizations.within(region.path)
    filters = {"kind": kind, "q": query, "region": region}
    return organizations.order_by("region__code", "name"), filters


@login_required
def organization_list(request):
    organizations, filters = filtered_organizations(request)
    context = {
        "page": paginate(request, organizations),
        "filters": filters,
        "kinds": OrganizationKind.choices,
        "can_create": can(request.user, Capability.MANAGE_PEOPLE),
    }
    return render(request, "core/organizations/list.html", context)


def visible_organization(request, pk: int) -> Organization:
    return scoped_object_or_404(
        request.user, Organization.objects.select_related("region", "parent"), pk=pk
    )


@login_required
def organization_detail(request, pk: int):
    user = request.user
    organization = visible_organization(request, pk)
    people = (
        Person.objects.visible_to(user)
        .filter(organization=organization)
        .select_related("region")
        .order_by("name", "id")
    )
    units = (
        Organization.objects.visible_to(user).filter(parent=organization).select_related("region")
    )
    context = {
        "organization": organization,
        "page": paginate(request, people),
        "units": units,
        "can_edit": can(user, Capability.MANAGE_PEOPLE, organization.region),
    }
    return render(request, "core/organizations/detail.html", context)


@login_required
def organization_create(request):
    if not can(request.user, Capability.MANAGE_PEOPLE):
        return forbidden(request, _("您没有维护组织和人员的权限"))
    initial = {"region": request.GET.get("region")} if request.GET.get("region") else None
    form = OrganizationForm(request.POST or None, user=request.user, initial=initial)
    return _save(request, form, title=_("新增单位"))


@login_required
def organization_edit(request, pk: int):
    organization = visible_organization(request, pk)
    if not can(request.user, Capability.MANAGE_PEOPLE, organization.region):
        return forbidden(request, _("您没有维护组织和人员的权限"))
    form = OrganizationForm(request.POST or None, user=request.user, instance=organization)
    return _save(request, form, title=_("修改单位"))


def _save(request, form: OrganizationForm, *, title):
    if request.method == "POST" and form.is_valid():
        try:
            organization = form.save()
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        if organization is not None:
            messages.success(request, _("已保存单位“%(name)s”") % {"name": organization.name})
            return redirect("organization_detail", pk=organization.pk)
    context = {"form": form, "title": title, "cancel_url": _cancel_url(form)}
    return render(request, "core/form.html", context, status=422 if form.errors else 200)


def _cancel_url(form: OrganizationForm) -> str:
    if form.instance is not None:
        return reverse("organization_detail", args=[form.instance.pk])
    return reverse("organization_list")
