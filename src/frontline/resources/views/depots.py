"""Depot pages: the list with each depot's stock in counts, the depot's page (stock by item
against its minimum, near-expiry and expired lots, recent movements, storage places and
minimum levels, the buttons to the movement forms), and the depot form.

Every depot is found through `Depot.objects.visible_to(user)` (404 outside the scope);
every change goes through `services/depots.py`."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, Q, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from frontline.core.context_processors import display_name
from frontline.core.errors import DomainError, PermissionDenied
from frontline.core.models import Region
from frontline.core.roles import Capability, can
from frontline.core.views.common import forbidden, paginate, scoped_object_or_404
from frontline.resources.forms_stock import DepotForm, LocationForm, MinimumForm
from frontline.resources.models import (
    Depot,
    DepotKind,
    DepotStatus,
    StockLot,
    StockMinimum,
    StorageLocation,
    SupplyItem,
)
from frontline.resources.services import depots as services
from frontline.resources.services import stock
from frontline.resources.services.events import timeline
from frontline.resources.services.exporting_stock import (
    count_lines,
    lot_state,
    visible_movements,
)

TEMPLATES = "resources/"
RECENT_MOVEMENTS = 20
TIMELINE_LIMIT = 20


# --- list ------------------------------------------------------------------------------------


def filtered_depots(request):
    """The visible depots narrowed by the list's filters, and the filters as understood."""
    depots = Depot.objects.visible_to(request.user).select_related("region", "keeper")
    filters: dict = {"q": request.GET.get("q", "").strip()[:100]}
    code = request.GET.get("region", "").strip()
    if code:
        region = get_object_or_404(Region.objects.visible_to(request.user), code=code)
        depots = depots.within(region.path)
        filters["region"] = region
    kind = request.GET.get("kind", "")
    if kind in DepotKind.values:
        depots = depots.filter(kind=kind)
        filters["kind"] = kind
    status = request.GET.get("status", "")
    if status in DepotStatus.values:
        depots = depots.filter(status=status)
        filters["status"] = status
    if filters["q"]:
        depots = depots.filter(Q(name__icontains=filters["q"]) | Q(address__icontains=filters["q"]))
    return depots.order_by("region__code", "kind", "name", "pk"), filters


def depot_counts(depot_ids: list[int]) -> dict[int, dict]:
    """depot id → items and lots in stock, near-expiry and expired lots, items below their
    minimum. Four grouped queries for a whole page of depots."""
    counts = {pk: {"items": 0, "lots": 0, "near": 0, "expired": 0, "low": 0} for pk in depot_ids}
    if not depot_ids:
        return counts
    in_stock = StockLot.objects.filter(depot_id__in=depot_ids, quantity__gt=0).order_by()
    for row in in_stock.values("depot_id").annotate(
        items=Count("item_id", distinct=True), lots=Count("pk")
    ):
        counts[row["depot_id"]] |= {"items": row["items"], "lots": row["lots"]}
    today = timezone.localdate()
    longest = SupplyItem.objects.aggregate(n=Max("expiry_warning_days"))["n"] or 0
    soon = in_stock.filter(expiry_date__lte=today + timedelta(days=longest)).values_list(
        "depot_id", "expiry_date", "item__expiry_warning_days"
    )
    for depot_id, expiry, warning in soon:
        state = lot_state(expiry, warning, today)
        if state:
            counts[depot_id][state] += 1
    minimums = list(
        StockMinimum.objects.filter(depot_id__in=depot_ids).values_list(
            "depot_id", "item_id", "minimum"
        )
    )
    if minimums:
        totals = {
            (d, i): total
            for d, i, total in StockLot.objects.filter(
                depot_id__in=depot_ids, item_id__in={i for _d, i, _m in minimums}
            )
            .order_by()
            .values("depot_id", "item_id")
            .annotate(total=Sum("quantity"))
            .values_list("depot_id", "item_id", "total")
        }
        for depot_id, item_id, minimum in minimums:
            if (totals.get((depot_id, item_id)) or 0) < minimum:
                counts[depot_id]["low"] += 1
    return counts


@login_required
def depot_list(request):
    depots, filters = filtered_depots(request)
    page = paginate(request, depots)
    counts = depot_counts([depot.pk for depot in page])
    for depot in page:
        depot.counts = counts[depot.pk]
    context = {
        "page": page,
        "filters": filters,
        "regions": Region.objects.visible_to(request.user)
        .filter(level__in=services.DEPOT_LEVELS)
        .order_by("path"),
        "kinds": DepotKind.choices,
        "statuses": DepotStatus.choices,
        "export_query": request.GET.urlencode(),
        "can_manage": can(request.user, Capability.MANAGE_RESOURCES),
    }
    return render(request, TEMPLATES + "depot_list.html", context)


# --- the depot's page ------------------------------------------------------------------------


def visible_depot(request, pk: int) -> Depot:
    return scoped_object_or_404(
        request.user, Depot.objects.select_related("region", "keeper"), pk=pk
    )


def stock_rows(depot: Depot, today):
    """Stock by item (with the minimum and a bar of stock against it) and the lots in stock
    whose expiry is near or past, from three queries."""
    summary = stock.stock_summary(depot)
    lots = list(
        StockLot.objects.filter(depot=depot, quantity__gt=0, expiry_date__isnull=False)
        .select_related("item", "location")
        .order_by("expiry_date", "pk")
    )
    warned = []
    states: dict[int, str] = {}
    for lot in lots:
        lot.state = lot_state(lot.expiry_date, lot.item.expiry_warning_days, today)
        if lot.state:
            warned.append(lot)
            # The worst state of any lot of the item colours the item's row.
            if states.get(lot.item_id) != "expired":
                states[lot.item_id] = lot.state
    for row in summary:
        row["state"] = states.get(row["item_id"], "")
        minimum = row["minimum"]
        if minimum:
            row["percent"] = min(100, round(100 * row["quantity"] / minimum))
    return summary, warned


@login_required
def depot_detail(request, pk: int):
    depot = visible_depot(request, pk)
    user = request.user
    today = timezone.localdate()
    summary, warned = stock_rows(depot, today)
    movements = list(
        visible_movements(user)
        .filter(Q(depot=depot) | Q(to_depot=depot))
        .select_related("depot", "to_depot", "recipient", "shelter")
        .order_by("-at", "-id")[:RECENT_MOVEMENTS]
    )
    count_lines(movements)
    can_manage = can(user, Capability.MANAGE_RESOURCES, depot.region)
    locations = list(
        StorageLocation.objects.filter(depot=depot)
        .annotate(lots_in_stock=Count("lots", filter=Q(lots__quantity__gt=0)))
        .order_by("code")
    )
    minimums = list(
        StockMinimum.objects.filter(depot=depot).select_related("item").order_by("item__code")
    )
    context = {
        "depot": depot,
        "summary": summary,
        "warned": warned,
        "movements": movements,
        "locations": locations,
        "minimums": minimums,
        "events": depot_events(depot),
        "can_manage": can_manage,
        "can_receive": can_manage and depot.status == DepotStatus.IN_USE,
        "can_reveal": can(user, Capability.VIEW_PERSONAL_DATA, depot.region),
        "location_form": LocationForm(user=user, depot=depot, prefix="location"),
        "minimum_form": MinimumForm(user=user, depot=depot, prefix="minimum"),
        "items": SupplyItem.objects.filter(is_active=True).only("code", "name").order_by("code"),
    }
    return render(request, TEMPLATES + "depot_detail.html", context)


EVENT_LABELS = {
    "created": gettext_lazy("登记储备库"),
    "updated": gettext_lazy("修改信息"),
    "status_changed": gettext_lazy("状态变更"),
    "location_added": gettext_lazy("添加库位"),
    "location_changed": gettext_lazy("修改库位"),
    "location_removed": gettext_lazy("删除库位"),
    "minimum_set": gettext_lazy("设置最低储备量"),
    "minimum_removed": gettext_lazy("取消最低储备量"),
    "stock_imported": gettext_lazy("导入台账"),
    "stock_repaired": gettext_lazy("按台账改正结存"),
}


def depot_events(depot: Depot) -> list:
    events = list(
        timeline(depot).select_related("actor__person").order_by("-at", "-id")[:TIMELINE_LIMIT]
    )
    statuses = dict(DepotStatus.choices)
    for event in events:
        event.label = EVENT_LABELS.get(event.kind, event.kind)
        event.who = display_name(event.actor) if event.actor else _("系统")
        if event.kind == "status_changed":
            event.note = (
                f"{statuses.get(event.from_state, '')} → {statuses.get(event.to_state, '')}"
            )
    return events


# --- forms -----------------------------------------------------------------------------------


def no_manage(request):
    return forbidden(request, _("您没有管理应急物资的权限"))


def _save_depot(request, form, *, title, cancel_url):
    if request.method == "POST" and form.is_valid():
        try:
            saved = form.save()
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        if saved is not None:
            messages.success(request, _("已保存“%(name)s”") % {"name": saved.name})
            return redirect("depot_detail", saved.pk)
    context = {"form": form, "title": title, "cancel_url": cancel_url}
    return render(request, "core/form.html", context, status=422 if form.errors else 200)


@login_required
def depot_create(request):
    if not can(request.user, Capability.MANAGE_RESOURCES):
        return no_manage(request)
    form = DepotForm(request.POST or None, user=request.user)
    return _save_depot(request, form, title=_("新增储备库"), cancel_url=reverse("depot_list"))


@login_required
def depot_edit(request, pk: int):
    depot = visible_depot(request, pk)
    if not can(request.user, Capability.MANAGE_RESOURCES, depot.region):
        return no_manage(request)
    form = DepotForm(request.POST or None, user=request.user, instance=depot)
    return _save_depot(
        request,
        form,
        title=_("修改储备库：%(name)s") % {"name": depot.name},
        cancel_url=reverse("depot_detail", args=[pk]),
    )


def _back(depot: Depot, anchor: str):
    return redirect(reverse("depot_detail", args=[depot.pk]) + f"#{anchor}")


def _form_errors(request, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}：{error}" if label else error)


def _post_form(request, depot: Depot, form, *, anchor: str, done):
    """A small form on the depot's page: saved → back to the page with a message; refused →
    back with the reasons as messages (the page keeps its place through the anchor)."""
    if not form.is_valid():
        _form_errors(request, form)
        return _back(depot, anchor)
    try:
        saved = form.save()
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    if saved is None:
        _form_errors(request, form)
    else:
        messages.success(request, done)
    return _back(depot, anchor)


@login_required
@require_POST
def depot_location_add(request, pk: int):
    depot = visible_depot(request, pk)
    if not can(request.user, Capability.MANAGE_RESOURCES, depot.region):
        return no_manage(request)
    form = LocationForm(request.POST, user=request.user, depot=depot, prefix="location")
    return _post_form(request, depot, form, anchor="locations", done=_("已添加库位"))


@login_required
@require_POST
def depot_location_edit(request, pk: int, location_pk: int):
    depot = visible_depot(request, pk)
    location = get_object_or_404(StorageLocation, depot=depot, pk=location_pk)
    if not can(request.user, Capability.MANAGE_RESOURCES, depot.region):
        return no_manage(request)
    if request.POST.get("action") == "remove":
        try:
            services.remove_location(actor=request.user, location=location)
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("已删除库位"))
        return _back(depot, "locations")
    form = LocationForm(
        request.POST, user=request.user, depot=depot, instance=location, prefix="location"
    )
    return _post_form(request, depot, form, anchor="locations", done=_("已修改库位"))


@login_required
@require_POST
def depot_minimum_set(request, pk: int):
    depot = visible_depot(request, pk)
    if not can(request.user, Capability.MANAGE_RESOURCES, depot.region):
        return no_manage(request)
    form = MinimumForm(request.POST, user=request.user, depot=depot, prefix="minimum")
    return _post_form(request, depot, form, anchor="minimums", done=_("已设置最低储备量"))


@login_required
@require_POST
def depot_minimum_remove(request, pk: int, minimum_pk: int):
    depot = visible_depot(request, pk)
    minimum = get_object_or_404(StockMinimum, depot=depot, pk=minimum_pk)
    if not can(request.user, Capability.MANAGE_RESOURCES, depot.region):
        return no_manage(request)
    try:
        services.remove_minimum(actor=request.user, minimum=minimum)
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    messages.success(request, _("已取消最低储备量"))
    return _back(depot, "minimums")
