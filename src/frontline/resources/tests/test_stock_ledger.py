"""The ledger is the truth: after any mix of movements the stock re-derives from the entries
to the same numbers, and a tampered running total is found and repaired."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontline.core.errors import DomainError
from frontline.core.roles import Role
from frontline.core.testing import make_user
from frontline.resources.models import LedgerEntry, ResourceEvent, StockLot
from frontline.resources.services import stock
from frontline.resources.testing import make_depot, make_item
from frontline.resources.tests.test_stock_api import days, post, put_in

# --- a random sequence of movements ----------------------------------------------------------

ITEMS = 2
LOT_NUMBERS = ["A", "B", "C"]
EXPIRIES = [None, -5, 30, 400]  # days from today; -5 is an expired lot

quantities = st.integers(min_value=1, max_value=40)
operations = st.one_of(
    st.tuples(
        st.just("receive"),
        st.integers(0, 1),  # depot
        st.integers(0, ITEMS - 1),
        quantities,
        st.sampled_from(LOT_NUMBERS),
        st.sampled_from(EXPIRIES),
    ),
    st.tuples(st.just("issue_item"), st.integers(0, 1), st.integers(0, ITEMS - 1), quantities),
    st.tuples(st.just("issue_lot"), st.integers(0, 50), quantities, st.booleans()),
    st.tuples(st.just("transfer"), st.integers(0, 1), st.integers(0, ITEMS - 1), quantities),
    st.tuples(st.just("adjust"), st.integers(0, 50), st.integers(-30, 30)),
    st.tuples(st.just("stocktake"), st.integers(0, 1), st.integers(0, 50)),
)


class Rollback(Exception):
    """Ends an example with its writes undone, so the next one starts from an empty ledger."""


def _apply(operation, depots, items) -> None:
    kind = operation[0]
    lots = list(StockLot.objects.order_by("pk").select_related("item", "depot"))
    if kind == "receive":
        _, d, i, n, lot_no, expiry = operation
        line = stock.Receipt(
            item=items[i],
            quantity=n,
            lot_no=lot_no,
            expiry_date=None if expiry is None else days(expiry),
        )
        stock.receive_stock(actor=None, depot=depots[d], lines=[line])
    elif kind == "issue_item":
        _, d, i, n = operation
        stock.issue_stock(
            actor=None,
            depot=depots[d],
            purpose="incident",
            incident_ref="SJ-1",
            lines=[stock.Take(quantity=n, item=items[i])],
        )
    elif kind == "issue_lot" and lots:
        _, pick, n, override = operation
        lot = lots[pick % len(lots)]
        stock.issue_stock(
            actor=None,
            depot=lot.depot,
            purpose="scrap" if override else "drill",
            reason="过期报废" if override else "",
            expired_override=override,
            lines=[stock.Take(quantity=n, lot=lot)],
        )
    elif kind == "transfer":
        _, d, i, n = operation
        stock.transfer_stock(
            actor=None,
            depot=depots[d],
            to_depot=depots[1 - d],
            lines=[stock.Take(quantity=n, item=items[i])],
        )
    elif kind == "adjust" and lots:
        _, pick, delta = operation
        stock.adjust_stock(actor=None, lot=lots[pick % len(lots)], delta=delta, reason="更正")
    elif kind == "stocktake":
        _, d, seed = operation
        mine = [lot for lot in lots if lot.depot_id == depots[d].pk]
        if mine:
            counts = [
                stock.Count(lot=lot, counted=max(0, lot.quantity + (seed + k) % 7 - 3))
                for k, lot in enumerate(mine)
            ]
            stock.record_stocktake(actor=None, depot=depots[d], counts=counts)


def _totals(depots, items) -> dict:
    return {(d.pk, i.pk): stock.on_hand(d).get(i.pk, 0) for d in depots for i in items}


def _expected_change(operation, depots, items, before: dict) -> dict:
    """What the movement should have done to each depot's total of each item."""
    after = dict(before)
    kind = operation[0]
    if kind == "receive":
        _, d, i, n, _lot_no, _expiry = operation
        after[depots[d].pk, items[i].pk] += n
    elif kind == "issue_item":
        _, d, i, n = operation
        after[depots[d].pk, items[i].pk] -= n
    elif kind == "transfer":
        _, d, i, n = operation
        after[depots[d].pk, items[i].pk] -= n
        after[depots[1 - d].pk, items[i].pk] += n
    return after


@pytest.fixture
def ledger(world):
    depots = [make_depot(world.township), make_depot(world.township)]
    items = [make_item("1999401", "编织袋"), make_item("1999402", "救生衣")]
    return depots, items


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(operations, min_size=1, max_size=14))
def test_any_mix_of_movements_re_derives_to_the_same_stock(ledger, sequence):
    depots, items = ledger
    try:
        with transaction.atomic():
            for operation in sequence:
                before = _totals(depots, items)
                try:
                    _apply(operation, depots, items)
                except DomainError:
                    # Refused (short, expired, a zero adjustment): all or nothing.
                    assert _totals(depots, items) == before, operation
                    continue
                if operation[0] in ("receive", "issue_item", "transfer"):
                    assert _totals(depots, items) == _expected_change(
                        operation, depots, items, before
                    ), operation
            report = stock.rederive_stock()
            assert report.mismatches == []
            assert report.lots == StockLot.objects.count()
            for lot in StockLot.objects.all():
                assert lot.quantity >= 0
                last = lot.entries.order_by("-id").first()
                assert last is not None and last.balance == lot.quantity
            raise Rollback
    except Rollback:
        pass


# --- tampering and repair --------------------------------------------------------------------


def test_a_tampered_lot_is_reported_and_repaired_from_its_entries(world, ledger):
    depots, items = ledger
    lot = put_in(depots[0], items[0], 10, "A")
    stock.adjust_stock(actor=None, lot=lot, delta=-3, reason="报损")
    fine = put_in(depots[1], items[1], 5, "B")
    StockLot.objects.filter(pk=lot.pk).update(quantity=99)  # written behind the services' back

    report = stock.rederive_stock()
    assert report.lots == 2 and report.repaired == 0
    assert report.mismatches == [(lot.pk, 99, 7)]
    lot.refresh_from_db()
    assert lot.quantity == 99  # a report changes nothing

    repaired = stock.rederive_stock(repair=True)
    assert repaired.repaired == 1
    lot.refresh_from_db()
    fine.refresh_from_db()
    assert (lot.quantity, fine.quantity) == (7, 5)
    assert stock.rederive_stock().mismatches == []
    assert stock.rederive_stock(depot_ids=[depots[1].pk]).lots == 1


def test_rederive_through_the_api_reports_for_chiefs_and_repairs_for_operators(world, ledger):
    depots, items = ledger
    lot = put_in(depots[0], items[0], 10, "A")
    sibling_lot = put_in(make_depot(world.sibling_township), items[0], 4, "S")
    StockLot.objects.filter(pk__in=[lot.pk, sibling_lot.pk]).update(quantity=1)
    url = "/api/v1/stock-ledger/rederive"
    chief = make_user(Role.STATION_CHIEF, world.township, "chief")

    for user in (world.same, world.grid_worker, make_user(Role.LEADER, world.township, "ld")):
        response = post(world.client_for(user), url, {})
        assert response.status_code == 403, user
        assert response.json()["message"] == "只有区县管理员或站长可以核对库存台账"

    # A station chief checks the township's depots only.
    body = post(world.client_for(chief), url, {}).json()
    assert body["mismatches"] == [{"lot_id": lot.pk, "stored": 1, "derived": 10}]
    assert body["lots"] == 1 and body["repaired"] == 0
    # The county sees both townships; repairing is not the county's call.
    county = post(world.client_for(world.parent), url, {}).json()
    assert county["mismatch_count"] == 2 and county["lots"] == 2
    refused = post(world.client_for(world.parent), url, {"repair": True})
    assert refused.status_code == 403
    assert refused.json()["message"] == "只有系统管理员可以按台账改正结存"
    assert StockLot.objects.get(pk=lot.pk).quantity == 1
    # A depot out of scope is a 404.
    assert post(world.client_for(chief), url, {"depot_id": sibling_lot.depot_id}).status_code == 404

    operator = make_user(None, None, "operator")
    operator.is_superuser = True
    operator.save()
    done = post(world.client_for(operator), url, {"repair": True, "depot_id": depots[0].pk})
    assert done.status_code == 200, done.content
    assert done.json()["repaired"] == 1
    assert StockLot.objects.get(pk=lot.pk).quantity == 10
    assert StockLot.objects.get(pk=sibling_lot.pk).quantity == 1  # not asked for
    event = ResourceEvent.objects.get(kind="stock_repaired")
    assert event.object_id == depots[0].pk and event.actor_id == operator.pk
    assert event.data["lots"] == [[lot.pk, 1, 10]]


def test_every_entry_carries_the_lots_depot_and_item(world, ledger):
    depots, items = ledger
    lot = put_in(depots[0], items[0], 10, "A")
    stock.transfer_stock(
        actor=None, depot=depots[0], to_depot=depots[1], lines=[stock.Take(quantity=4, lot=lot)]
    )
    for entry in LedgerEntry.objects.select_related("lot"):
        assert (entry.depot_id, entry.item_id) == (entry.lot.depot_id, entry.lot.item_id)
