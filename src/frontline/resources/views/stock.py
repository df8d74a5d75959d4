"""The movement forms of a depot: receive (入库), issue (出库), transfer (调拨), adjust (调整)
and the stocktake sheet (盘点). Each posts through one service of `services/stock.py`; a
refusal (not enough stock, an expired lot without the override, a receiving depot out of
scope) comes back on the form in Chinese, on the line it concerns, and nothing is written.

Lines are a formset: the form opens with a few empty lines and "再加几行" posts the form
back with more, keeping what was typed (no script needed)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from frontline.core.errors import PermissionDenied
from frontline.core.roles import Capability, can
from frontline.core.views.common import forbidden
from frontline.resources.forms_stock import (
    EXTRA_LINES,
    MAX_FORM_LINES,
    AdjustForm,
    IssueForm,
    ReceiveForm,
    StocktakeForm,
    TransferForm,
    lots_of,
)
from frontline.resources.models import DepotStatus, MovementKind, SupplyItem
from frontline.resources.views.depots import no_manage, visible_depot

TEMPLATES = "resources/"
MORE_LINES = 3

TITLES = {
    MovementKind.RECEIVE: gettext_lazy("入库"),
    MovementKind.ISSUE: gettext_lazy("出库"),
    MovementKind.TRANSFER: gettext_lazy("调拨"),
}


def _depot_to_manage(request, pk: int):
    """(depot, None) or (None, the 403 page): the depot through the scope, then the right."""
    depot = visible_depot(request, pk)
    if not can(request.user, Capability.MANAGE_RESOURCES, depot.region):
        return None, no_manage(request)
    return depot, None


def _with_more_lines(data):
    """The posted form again with MORE_LINES more empty lines."""
    data = data.copy()
    total = int(data.get("lines-TOTAL_FORMS") or 0)
    data["lines-TOTAL_FORMS"] = str(min(total + MORE_LINES, MAX_FORM_LINES))
    return data


def _done(request, movement):
    messages.success(
        request,
        _("已登记 %(kind)s单 %(number)s")
        % {"kind": movement.get_kind_display(), "number": movement.number},
    )
    return redirect("movement_detail", movement.pk)


def _lines_page(request, pk: int, form_class, kind: str):
    depot, refused = _depot_to_manage(request, pk)
    if refused:
        return refused
    if kind == MovementKind.RECEIVE and depot.status != DepotStatus.IN_USE:
        messages.error(request, _("储备库已停用，不能入库"))
        return redirect("depot_detail", depot.pk)
    status = 200
    if request.method == "POST" and request.POST.get("action") == "more":
        form = form_class(_with_more_lines(request.POST), user=request.user, depot=depot)
    elif request.method == "POST":
        form = form_class(request.POST, user=request.user, depot=depot)
        if form.is_valid():
            try:
                movement = form.save()
            except PermissionDenied as exc:
                return forbidden(request, exc.message)
            if movement is not None:
                return _done(request, movement)
        status = 422
    else:
        form = form_class(user=request.user, depot=depot, lines=EXTRA_LINES)
    context = {
        "depot": depot,
        "form": form,
        "kind": kind,
        "title": TITLES[kind],
        "items": SupplyItem.objects.filter(is_active=True).only("code", "name").order_by("code"),
    }
    return render(request, TEMPLATES + "stock_lines_form.html", context, status=status)


@login_required
def stock_receive(request, pk: int):
    return _lines_page(request, pk, ReceiveForm, MovementKind.RECEIVE)


@login_required
def stock_issue(request, pk: int):
    return _lines_page(request, pk, IssueForm, MovementKind.ISSUE)


@login_required
def stock_transfer(request, pk: int):
    return _lines_page(request, pk, TransferForm, MovementKind.TRANSFER)


@login_required
def stock_adjust(request, pk: int):
    depot, refused = _depot_to_manage(request, pk)
    if refused:
        return refused
    lot = request.GET.get("lot", "")
    lot_id = int(lot) if lot.isdigit() and len(lot) < 18 else None
    form = AdjustForm(
        request.POST if request.method == "POST" else None,
        user=request.user,
        depot=depot,
        lot_id=lot_id,
    )
    if request.method == "POST" and form.is_valid():
        try:
            movement = form.save()
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        if movement is not None:
            return _done(request, movement)
    context = {"depot": depot, "form": form, "title": _("调整")}
    return render(
        request, TEMPLATES + "stock_adjust.html", context, status=422 if form.errors else 200
    )


@login_required
def stocktake(request, pk: int):
    """The sheet lists every lot in stock (one item's when ?item= names it) with its book
    quantity; what is left empty was not counted. The service compares against the book as
    it stands when the sheet is posted, not as it was printed."""
    depot, refused = _depot_to_manage(request, pk)
    if refused:
        return refused
    lots = lots_of(depot)
    item_code = request.GET.get("item", "").strip()
    if item_code:
        lots = lots.filter(item__code=item_code)
    lots = list(lots[:MAX_SHEET_LOTS])
    form = StocktakeForm(
        request.POST if request.method == "POST" else None,
        user=request.user,
        depot=depot,
        lots=lots,
    )
    if request.method == "POST" and form.is_valid():
        try:
            movement = form.save()
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        if movement is not None:
            return _done(request, movement)
    in_depot = (
        SupplyItem.objects.filter(lots__depot=depot, lots__quantity__gt=0)
        .distinct()
        .order_by("code")
    )
    context = {
        "depot": depot,
        "form": form,
        "item_code": item_code,
        "items": in_depot,
        "truncated": len(lots) == MAX_SHEET_LOTS,
        "title": _("盘点"),
    }
    return render(
        request, TEMPLATES + "stock_stocktake.html", context, status=422 if form.errors else 200
    )


# One sheet holds at most what one stocktake may count (services.stock.MAX_LINES).
MAX_SHEET_LOTS = 500
