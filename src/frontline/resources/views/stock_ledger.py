"""The ledger pages: movements (出入库明细) with their filters, one movement with its lines
(a stocktake with book, counted and difference), the stock card of one item in one depot
(物资台账卡), and the XLSX exports of the three ledgers (position, movements, card)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from frontline.core.views.common import paginate, scoped_object_or_404
from frontline.hazards.services.importing import XLSX_CONTENT_TYPE
from frontline.resources.models import (
    Depot,
    IssuePurpose,
    LedgerEntry,
    MovementKind,
    StockLot,
    SupplyItem,
)
from frontline.resources.services import exporting_stock as exporting
from frontline.resources.views.depots import visible_depot

TEMPLATES = "resources/"
CARD_PAGE = 100


def xlsx_response(content: bytes, stem: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    name = f"{stem}-{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = (
        f"attachment; filename=\"{stem}.xlsx\"; filename*=UTF-8''{name}"
    )
    return response


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


# --- movements ---------------------------------------------------------------------------------


def filtered_movements(request):
    """The visible movements narrowed by the ledger's filters, and the filters understood."""
    user = request.user
    movements = exporting.visible_movements(user)
    filters: dict = {}
    kind = request.GET.get("kind", "")
    if kind in MovementKind.values:
        movements = movements.filter(kind=kind)
        filters["kind"] = kind
    depot_id = request.GET.get("depot", "")
    if depot_id.isdigit() and len(depot_id) < 18:
        depot = get_object_or_404(Depot.objects.visible_to(user), pk=depot_id)
        movements = movements.filter(Q(depot=depot) | Q(to_depot=depot))
        filters["depot"] = depot
    code = request.GET.get("item", "").strip()[:7]
    if code:
        item = SupplyItem.objects.filter(code=code).first()
        filters["item_code"] = code
        if item is None:
            movements = movements.none()
        else:
            filters["item"] = item
            lines = LedgerEntry.objects.filter(movement=OuterRef("pk"), item=item)
            movements = movements.filter(Exists(lines))
    since, until = _day(request.GET.get("from", "")), _day(request.GET.get("to", ""))
    if since:
        movements = movements.filter(at__gte=_start(since))
        filters["from"] = since
    if until:
        movements = movements.filter(at__lt=_start(until, next_day=True))
        filters["to"] = until
    incident = request.GET.get("incident", "").strip()[:120]
    if incident:
        movements = movements.filter(incident_ref__icontains=incident)
        filters["incident"] = incident
    return movements.order_by("-at", "-id"), filters


def _start(day: date, *, next_day: bool = False):
    """Midnight in Beijing time (the day people mean), aware."""
    if next_day:
        day += timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time()))


@login_required
def movement_list(request):
    movements, filters = filtered_movements(request)
    page = paginate(
        request,
        movements.select_related(
            "depot", "to_depot", "actor__person", "recipient", "shelter"
        ).annotate(lines=Count("entries")),
    )
    context = {
        "page": page,
        "filters": filters,
        "kinds": MovementKind.choices,
        "depots": Depot.objects.visible_to(request.user).order_by("region__code", "name"),
        "export_query": request.GET.urlencode(),
    }
    return render(request, TEMPLATES + "movement_list.html", context)


@login_required
def movement_export(request):
    movements = filtered_movements(request)[0]
    content = exporting.export_movements(actor=request.user, movements=movements)
    return xlsx_response(content, "stock-movements")


@login_required
def movement_detail(request, pk: int):
    movement = (
        exporting.visible_movements(request.user)
        .select_related(
            "depot__region", "to_depot__region", "actor__person", "recipient", "shelter"
        )
        .filter(pk=pk)
        .first()
    )
    if movement is None:
        raise Http404
    entries = list(movement.entries.select_related("item", "lot__location", "depot").order_by("pk"))
    for entry in entries:
        entry.book = entry.balance - entry.delta
    context = {
        "movement": movement,
        "entries": entries,
        "is_stocktake": movement.kind == MovementKind.STOCKTAKE,
        "differences": sum(1 for entry in entries if entry.delta),
        "purposes": IssuePurpose,
    }
    return render(request, TEMPLATES + "movement_detail.html", context)


# --- stock card --------------------------------------------------------------------------------


def _card_subject(request, pk: int, item_pk: int):
    depot = visible_depot(request, pk)
    item = get_object_or_404(SupplyItem, pk=item_pk)
    return depot, item


@login_required
def stock_card(request, pk: int, item_pk: int):
    """物资台账卡: every entry of one item in one depot by date, in / out / balance. The
    balance is the depot's total of the item after the entry; a later page (or a start
    date) opens with the balance brought forward, read in one aggregate."""
    depot, item = _card_subject(request, pk, item_pk)
    since, until = _day(request.GET.get("from", "")), _day(request.GET.get("to", ""))
    page = paginate(request, exporting.card_entries(depot, item, since, until), CARD_PAGE)
    entries = list(page)
    opening = exporting.opening_balance(depot, item, entries[0] if entries else None)
    lots = (
        StockLot.objects.filter(depot=depot, item=item, quantity__gt=0)
        .select_related("location")
        .order_by("expiry_date", "pk")
    )
    context = {
        "depot": depot,
        "item": item,
        "page": page,
        "lines": exporting.card_lines(entries, opening),
        "opening": opening,
        "lots": lots,
        "filters": {"from": since, "to": until},
        "export_query": request.GET.urlencode(),
    }
    return render(request, TEMPLATES + "stock_card.html", context)


@login_required
def stock_card_export(request, pk: int, item_pk: int):
    depot, item = _card_subject(request, pk, item_pk)
    since, until = _day(request.GET.get("from", "")), _day(request.GET.get("to", ""))
    content = exporting.export_stock_card(depot=depot, item=item, since=since, until=until)
    return xlsx_response(content, f"stock-card-{item.code}")


@login_required
def stock_position_export(request):
    """The stock position of the scope, or of one depot (?depot=)."""
    lots = None
    depot_id = request.GET.get("depot", "")
    if depot_id.isdigit() and len(depot_id) < 18:
        depot = scoped_object_or_404(request.user, Depot.objects, pk=depot_id)
        lots = StockLot.objects.filter(depot=depot)
    content = exporting.export_positions(actor=request.user, lots=lots)
    return xlsx_response(content, "stock-position")
