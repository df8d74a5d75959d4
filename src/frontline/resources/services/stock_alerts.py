"""The stock ledger's alerts: low stock after a movement (decided in the movement's
transaction, delivered through the outbox after the commit) and the daily near-expiry sweep."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.core.services.notifications import Outbox
from frontline.core.services.supervision import superior_users
from frontline.resources.models import Depot, StockLot, StockMinimum, SupplyItem
from frontline.resources.services.stock_audit import on_hand

LOW_STOCK_KIND = "stock_low"
NEAR_EXPIRY_KIND = "stock_near_expiry"


# --- alerts ----------------------------------------------------------------------------------


def responsible_users(depot: Depot) -> list:
    """Who hears about a depot: the keeper's account, and the command roles (站长, 站内工作
    人员, 区县管理员) of the nearest region upwards from the depot's that has any."""
    users = []
    if depot.keeper_id is not None and depot.keeper.user_id is not None:
        users.append(depot.keeper.user)
    region = depot.region
    while region is not None:
        found = superior_users(region)
        if found:
            users.extend(found)
            break
        region = region.parent
    unique = {user.pk: user for user in users if user.is_active}
    return list(unique.values())


def _after_movement(depot: Depot, item_ids: set[int]) -> None:
    """Raise or clear the low-stock alerts of the items a movement touched."""
    minimums = list(
        StockMinimum.objects.select_for_update().filter(depot=depot, item_id__in=item_ids)
    )
    if not minimums:
        return
    totals = on_hand(depot, [m.item_id for m in minimums])
    now = timezone.now()
    low = []
    for minimum in minimums:
        total = totals.get(minimum.item_id, 0)
        if total < minimum.minimum and minimum.low_since is None:
            minimum.low_since = now
            minimum.save(update_fields=["low_since"])
            low.append((minimum, total))
        elif total >= minimum.minimum and minimum.low_since is not None:
            minimum.low_since = None
            minimum.save(update_fields=["low_since"])
    if low:
        _tell_low_stock(depot, low)


def _tell_low_stock(depot: Depot, low: list[tuple[StockMinimum, int]]) -> None:
    outbox = Outbox()
    users = responsible_users(depot)
    link = reverse("depot_detail", args=[depot.pk])
    for minimum, total in low:
        item = SupplyItem.objects.get(pk=minimum.item_id)
        outbox.notify_users(
            users,
            kind=LOW_STOCK_KIND,
            subject=_("%(depot)s %(item)s 低于最低储备量")
            % {"depot": depot.name, "item": item.name},
            body=_("现有 %(total)s %(unit)s，最低储备量 %(minimum)s %(unit)s，请及时补充。")
            % {"total": total, "unit": item.unit, "minimum": minimum.minimum},
            link=link,
            related=depot,
        )
    outbox.send()


@transaction.atomic
def sweep_near_expiry(*, now: datetime | None = None) -> int:
    """Tell each depot's people once about every lot in stock that expires within its item's
    warning period (or has expired). Returns how many lots were told about."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    longest = (
        SupplyItem.objects.order_by("-expiry_warning_days")
        .values_list("expiry_warning_days", flat=True)
        .first()
        or 0
    )
    candidates = (
        StockLot.objects.select_for_update(of=("self",))
        .filter(
            quantity__gt=0,
            expiry_alerted_at__isnull=True,
            expiry_date__isnull=False,
            expiry_date__lte=today + timedelta(days=longest),
        )
        .select_related("item", "depot__region", "depot__keeper__user")
        .order_by("depot_id", "expiry_date", "pk")
    )
    due = [
        lot
        for lot in candidates
        if lot.expiry_date <= today + timedelta(days=lot.item.expiry_warning_days)
    ]
    if not due:
        return 0
    outbox = Outbox()
    by_depot: dict[int, list[StockLot]] = {}
    for lot in due:
        by_depot.setdefault(lot.depot_id, []).append(lot)
    for lots in by_depot.values():
        depot = lots[0].depot
        users = responsible_users(depot)
        lines = [
            _("%(item)s 批次 %(lot)s 剩 %(n)s %(unit)s，有效期至 %(day)s")
            % {
                "item": lot.item.name,
                "lot": lot.lot_no or lot.pk,
                "n": lot.quantity,
                "unit": lot.item.unit,
                "day": lot.expiry_date,
            }
            for lot in lots
        ]
        outbox.notify_users(
            users,
            kind=NEAR_EXPIRY_KIND,
            subject=_("%(depot)s 有 %(n)d 批物资临期或过期")
            % {"depot": depot.name, "n": len(lots)},
            body="\n".join(lines),
            link=reverse("depot_detail", args=[depot.pk]),
            related=depot,
        )
    outbox.send()
    StockLot.objects.filter(pk__in=[lot.pk for lot in due]).update(expiry_alerted_at=now)
    return len(due)
