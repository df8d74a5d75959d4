"""People: list with search, detail with masked personal data and the logged clear view,
create and edit forms."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from frontline.core import services
from frontline.core.errors import PermissionDenied
from frontline.core.forms import PersonForm, RevealForm
from frontline.core.models import Organization, Person, Region
from frontline.core.roles import Capability, can
from frontline.core.views.common import (
    client_addr,
    forbidden,
    paginate,
    scoped_object_or_404,
)

TAIL = 4


def search_people(people, query: str):
    """Name contains the text, or the mobile ends with the digits typed.

    Mobiles are encrypted, so the database matches the clear last four digits and a longer
    number is checked in Python among those few candidates.
    """
    digits = query.replace(" ", "").replace("-", "")
    if not digits.isdigit():
        return people.filter(name__icontains=query)
    candidates = people.filter(mobile_tail__endswith=digits[-TAIL:])
    if len(digits) > TAIL:
        rows = candidates.select_related(None).only("pk", "mobile")
        matching = [row.pk for row in rows if row.mobile.endswith(digits)]
        candidates = people.filter(pk__in=matching)
    return candidates


def filtered_people(request):
    user = request.user
    people = Person.objects.visible_to(user).select_related("region", "organization")
    query = request.GET.get("q", "").strip()
    if query:
        people = search_people(people, query)
    region = None
    if request.GET.get("region"):
        region = get_object_or_404(Region.objects.visible_to(user), code=request.GET["region"])
        people = people.within(region.path)
    return people.order_by("region__code", "name", "id"), {"q": query, "region": region}


@login_required
def person_list(request):
    people, filters = filtered_people(request)
    context = {
        "page": paginate(request, people),
        "filters": filters,
        "can_create": can(request.user, Capability.MANAGE_PEOPLE),
    }
    return render(request, "core/people/list.html", context)


def visible_person(request, pk: int) -> Person:
    return scoped_object_or_404(
        request.user, Person.objects.select_related("region", "organization", "user"), pk=pk
    )


@login_required
def person_detail(request, pk: int):
    user = request.user
    person = visible_person(request, pk)
    context = {
        "person": person,
        "can_edit": can(user, Capability.MANAGE_PEOPLE, person.region),
        "can_reveal": can(user, Capability.VIEW_PERSONAL_DATA, person.region),
    }
    return render(request, "core/people/detail.html", context)


@never_cache
@login_required
@require_POST
def person_reveal(request, pk: int, field: str):
    """htmx: the clear value of one protected field, logged as a SensitiveAccess row."""
    person = visible_person(request, pk)
    if field not in Person.SENSITIVE_FIELDS:
        raise Http404
    form = RevealForm(request.POST)
    if not form.is_valid():
        context = {"message": " ".join(form.errors.get("reason", []))}
        return render(request, "core/people/_reveal_denied.html", context, status=422)
    try:
        value = services.reveal_personal_field(
            actor=request.user,
            obj=person,
            field=field,
            reason=form.cleaned_data["reason"],
            remote_addr=client_addr(request),
        )
    except PermissionDenied as exc:
        context = {"message": exc.message}
        return render(request, "core/people/_reveal_denied.html", context, status=403)
    return render(request, "core/people/_revealed.html", {"value": value, "field": field})


@login_required
def person_create(request):
    if not can(request.user, Capability.MANAGE_PEOPLE):
        return forbidden(request, _("您没有维护组织和人员的权限"))
    form = PersonForm(request.POST or None, user=request.user, initial=_initial(request))
    return _save(request, form, title=_("新增人员"))


def _initial(request) -> dict:
    """Prefill from the page the user came from (“在此单位新增人员”)."""
    initial = {}
    organization_id = request.GET.get("organization", "")
    if organization_id.isdigit():
        organization = (
            Organization.objects.visible_to(request.user)
            .select_related("region")
            .filter(pk=organization_id)
            .first()
        )
        if organization is not None:
            initial = {"organization": organization.pk, "region": organization.region.code}
    return initial


@login_required
def person_edit(request, pk: int):
    person = visible_person(request, pk)
    if not can(request.user, Capability.MANAGE_PEOPLE, person.region):
        return forbidden(request, _("您没有维护组织和人员的权限"))
    form = PersonForm(request.POST or None, user=request.user, instance=person)
    return _save(request, form, title=_("修改人员"))


def _save(request, form: PersonForm, *, title):
    if request.method == "POST" and form.is_valid():
        try:
            person = form.save()
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        if person is not None:
            messages.success(request, _("已保存人员“%(name)s”") % {"name": person.name})
            return redirect("person_detail", pk=person.pk)
    if form.instance is not None:
        cancel_url = reverse("person_detail", args=[form.instance.pk])
    else:
        cancel_url = reverse("person_list")
    context = {"form": form, "title": title, "cancel_url": cancel_url}
    return render(request, "core/form.html", context, status=422 if form.errors else 200)
