"""Pages of evacuee registration: the check-in form (one person or a whole family, made for
a phone at the shelter's door), check-out from the shelter's page, the logged clear view of
the people present, and the register (避难人员登记表, GB/T 33744) with its XLSX export.

Names, ID numbers, phones and needs are masked everywhere; the clear view and the clear
export need `view_resident_data` on the shelter's region and a reason, and are logged one
SensitiveAccess row per person shown.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.roles import Capability, can
from frontline.core.views.common import client_addr, forbidden, paginate
from frontline.resources.forms_shelters import (
    ArrivalFormSet,
    CheckOutForm,
    HouseholdForm,
    ReasonForm,
)
from frontline.resources.models import Evacuee, EvacueeNeed, ShelterStatus
from frontline.resources.services import evacuees as services
from frontline.resources.services import importing_shelters as importing
from frontline.resources.views.shelters import (
    PRESENT_SHOWN,
    TEMPLATES,
    present_stays,
    visible_shelter,
    xlsx_response,
)

REGISTER_PAGE = 100
# The page's headers (the file keeps the fixed Chinese ones of REGISTER_COLUMNS).
REGISTER_HEADERS = [
    gettext_lazy("序号"),
    gettext_lazy("家庭编号"),
    gettext_lazy("户主"),
    gettext_lazy("姓名"),
    gettext_lazy("性别"),
    gettext_lazy("年龄"),
    gettext_lazy("身份证号"),
    gettext_lazy("联系电话"),
    gettext_lazy("原住址"),
    gettext_lazy("特殊需求"),
    gettext_lazy("需求说明"),
    gettext_lazy("床位/区域"),
    gettext_lazy("入住时间"),
    gettext_lazy("离开时间"),
    gettext_lazy("去向"),
    gettext_lazy("登记人"),
]


def no_register(request):
    return forbidden(request, _("您没有登记避难场所安置人员的权限"))


# --- check-in -------------------------------------------------------------------------------


def _filled(formset) -> list:
    """The person cards filled in: a card added and left empty is not a person."""
    return [form for form in formset.forms if form.cleaned_data]


def _arrivals(forms) -> list[services.Arrival]:
    return [
        services.Arrival(
            name=form.cleaned_data["name"],
            gender=form.cleaned_data["gender"],
            age=form.cleaned_data["age"],
            id_number=form.cleaned_data["id_number"],
            phone=form.cleaned_data["phone"],
            needs=form.cleaned_data["needs"],
            needs_note=form.cleaned_data["needs_note"],
            bed_no=form.cleaned_data["bed_no"],
        )
        for form in forms
    ]


def _service_errors(exc: DomainError, household, forms) -> None:
    """`people.<n>.<field>` details land on the n-th person's field; the rest on the form."""
    placed = False
    for key, message in exc.details.items():
        parts = str(key).split(".")
        if len(parts) == 3 and parts[0] == "people" and parts[1].isdigit():
            index = int(parts[1])
            if index < len(forms):
                form = forms[index]
                form.add_error(parts[2] if parts[2] in form.fields else None, str(message))
                placed = True
        elif key in household.fields:
            household.add_error(key, str(message))
            placed = True
    if not placed:
        household.add_error(None, str(exc.message))


@login_required
def evacuee_check_in(request, pk: int):
    """The check-in form: the household, then one card per person (add more for a family)."""
    shelter = visible_shelter(request, pk)
    if not can(request.user, Capability.REGISTER_EVACUEES, shelter.region):
        return no_register(request)
    household = HouseholdForm(request.POST or None)
    formset = ArrivalFormSet(request.POST or None, prefix="people")
    status = 200
    if request.method == "POST":
        if household.is_valid() and formset.is_valid():
            forms = _filled(formset)
            try:
                stays = services.check_in(
                    actor=request.user,
                    shelter=shelter,
                    people=_arrivals(forms),
                    household_head=household.cleaned_data["household_head"],
                    home_address=household.cleaned_data["home_address"],
                )
            except PermissionDenied as exc:
                return forbidden(request, exc.message)
            except DomainError as exc:
                _service_errors(exc, household, forms)
                status = exc.status
            else:
                messages.success(
                    request,
                    _("已登记入住 %(n)d 人（家庭编号 %(g)d）")
                    % {"n": len(stays), "g": stays[0].group_no},
                )
                return redirect("shelter_detail", pk=shelter.pk)
        else:
            status = 422
    shelter.refresh_from_db(fields=["occupancy", "capacity", "status"])
    context = {
        "shelter": shelter,
        "household": household,
        "formset": formset,
        "free": max(0, shelter.capacity - shelter.occupancy),
        "is_open": shelter.status == ShelterStatus.OPEN,
    }
    return render(request, TEMPLATES + "evacuee_check_in.html", context, status=status)


# --- check-out ------------------------------------------------------------------------------


@login_required
@require_POST
def evacuee_check_out(request, pk: int):
    shelter = visible_shelter(request, pk)
    if not can(request.user, Capability.REGISTER_EVACUEES, shelter.region):
        return no_register(request)
    form = CheckOutForm(request.POST)
    ids = sorted({int(v) for v in request.POST.getlist("evacuee") if v.isdigit()})
    stays = list(Evacuee.objects.visible_to(request.user).filter(shelter=shelter, pk__in=ids))
    if not form.is_valid() or not stays:
        messages.error(request, _("请勾选离开的人员"))
        return redirect("shelter_detail", pk=pk)
    try:
        done = services.check_out(
            actor=request.user, evacuees=stays, destination=form.cleaned_data["destination"]
        )
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("shelter_detail", pk=pk)
    messages.success(request, _("已办理 %(n)d 人离开") % {"n": len(done)})
    return redirect("shelter_detail", pk=pk)


# --- the clear view of the people present ----------------------------------------------------


def _denied(request, message, status: int):
    """The refusal goes next to the reason field, not over the list it would have shown."""
    response = render(
        request, TEMPLATES + "evacuee_denied.html", {"message": message}, status=status
    )
    response["HX-Retarget"] = "#reveal-message"
    response["HX-Reswap"] = "innerHTML"
    return response


@never_cache
@login_required
@require_POST
def evacuee_reveal(request, pk: int):
    """htmx: the present list of the shelter's page (the page shown) in clear, logged."""
    shelter = visible_shelter(request, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _denied(request, _("请填写查看事由"), 422)
    page = paginate(
        request,
        present_stays(shelter).defer(None),
        per_page=PRESENT_SHOWN,
    )
    try:
        services.log_clear_view(
            actor=request.user,
            shelter=shelter,
            stays=[stay.pk for stay in page],
            reason=form.cleaned_data["reason"],
            remote_addr=client_addr(request),
        )
    except PermissionDenied as exc:
        return _denied(request, exc.message, 403)
    except InvalidInput as exc:
        return _denied(request, exc.message, 422)
    labels = dict(EvacueeNeed.choices)
    for stay in page:
        stay.need_text = "、".join(str(labels.get(n, n)) for n in stay.need_list)
    context = {
        "shelter": shelter,
        "present": page,
        "clear": True,
        "can_register": can(request.user, Capability.REGISTER_EVACUEES, shelter.region),
    }
    return render(request, TEMPLATES + "evacuee_present.html", context)


# --- the register ---------------------------------------------------------------------------


def _register_stays(request, shelter):
    stays = Evacuee.objects.visible_to(request.user).filter(shelter=shelter)
    which = request.GET.get("which", "")
    if which == "present":
        stays = stays.filter(checked_out_at__isnull=True)
    elif which == "departed":
        stays = stays.filter(checked_out_at__isnull=False)
    else:
        which = ""
    return stays, which


@login_required
def evacuee_register(request, pk: int):
    """All stays of the shelter, present and departed, in registration order, masked."""
    shelter = visible_shelter(request, pk)
    stays, which = _register_stays(request, shelter)
    ordered = stays.select_related("checked_in_by__person").order_by("checked_in_at", "pk")
    page = paginate(request, ordered, per_page=REGISTER_PAGE)
    start = (page.number - 1) * REGISTER_PAGE
    rows = list(importing.register_rows(page, clear=False, for_file=False))
    for offset, row in enumerate(rows):
        row[0] = start + offset + 1
    context = {
        "shelter": shelter,
        "page": page,
        "rows": rows,
        "columns": REGISTER_HEADERS,
        "which": which,
        "form": ReasonForm(),
        "can_reveal": can(request.user, Capability.VIEW_RESIDENT_DATA, shelter.region),
    }
    return render(request, TEMPLATES + "evacuee_register.html", context)


@login_required
def evacuee_register_export(request, pk: int):
    """GET: the register as XLSX, masked. POST with a reason: in clear, logged (needs
    view_resident_data on the shelter's region)."""
    shelter = visible_shelter(request, pk)
    stays, _which = _register_stays(request, shelter)
    reason = ""
    if request.method == "POST":
        form = ReasonForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("导出明文须填写事由"))
            return redirect("evacuee_register", pk=pk)
        reason = form.cleaned_data["reason"]
    try:
        content = importing.export_register(
            actor=request.user,
            shelter=shelter,
            queryset=stays,
            reason=reason,
            remote_addr=client_addr(request),
        )
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    return xlsx_response(content, f"evacuees-{shelter.pk}")
