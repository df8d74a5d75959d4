"""Who sees and who moves stock: the shared authorization matrix on every ledger endpoint.

A county user sees every township's depots, lots and movements; a township user only its
own; another county nothing; anonymous is asked to log in."""

import pytest

from frontline.core.testing import assert_api_matrix, assert_queryset_matrix
from frontline.resources.models import Depot, LedgerEntry, StockLot, StockMovement
from frontline.resources.services import stock
from frontline.resources.testing import make_depot, make_item
from frontline.resources.tests.test_stock_api import post, put_in


@pytest.fixture
def ledger(world):
    depot = make_depot(world.township)
    item = make_item("1999701", "救生衣")
    lot = put_in(depot, item, 10, "J1")
    movement = stock.issue_stock(
        actor=None, depot=depot, purpose="drill", lines=[stock.Take(quantity=2, lot=lot)]
    )
    return depot, item, lot, movement


def test_every_read_follows_the_scope(world, ledger):
    depot, item, lot, movement = ledger
    for url in (
        f"/api/v1/depots/{depot.pk}",
        f"/api/v1/depots/{depot.pk}/lots",
        f"/api/v1/depots/{depot.pk}/stock-card/{item.code}",
        f"/api/v1/stock-lots/{lot.pk}",
        f"/api/v1/stock-movements/{movement.pk}",
    ):
        assert_api_matrix(world, url)


def test_the_querysets_follow_the_scope(world, ledger):
    depot, _item, lot, movement = ledger
    assert_queryset_matrix(Depot.objects, depot, world)
    assert_queryset_matrix(StockLot.objects, lot, world)
    assert_queryset_matrix(StockMovement.objects, movement, world)
    assert_queryset_matrix(LedgerEntry.objects, movement.entries.get(), world)


def test_lists_show_only_what_is_in_scope(world, ledger):
    put_in(make_depot(world.sibling_township), make_item("1999702", "帐篷"), 3, "S1")
    counts = {
        persona: (
            world.client_for(user).get("/api/v1/depots").json()["count"],
            world.client_for(user).get("/api/v1/stock-movements").json()["count"],
        )
        for persona, user in world.personas().items()
    }
    assert counts == {"same": (1, 2), "parent": (2, 3), "sibling": (1, 1), "outsider": (0, 0)}
    assert world.client_for(None).get("/api/v1/depots").status_code == 401


def test_a_transfer_is_seen_from_both_ends_but_its_lots_only_by_their_owners(world):
    county_depot = make_depot(world.county, name="柯桥区救灾物资储备库")
    depot = make_depot(world.township)
    lot = put_in(county_depot, make_item("1999703", "折叠床"), 20, "F1")
    movement = stock.transfer_stock(
        actor=world.parent, depot=county_depot, to_depot=depot,
        lines=[stock.Take(quantity=5, lot=lot)],
    )  # fmt: skip
    township = world.client_for(world.same)
    assert township.get(f"/api/v1/stock-movements/{movement.pk}").status_code == 200
    assert township.get(f"/api/v1/stock-lots/{lot.pk}").status_code == 404
    assert township.get(f"/api/v1/depots/{county_depot.pk}").status_code == 404
    assert world.client_for(world.sibling).get(
        f"/api/v1/stock-movements/{movement.pk}"
    ).status_code == 404  # fmt: skip


def test_every_write_answers_404_out_of_scope_and_401_to_anonymous(world, ledger):
    depot, item, lot, _movement = ledger
    other = make_depot(world.township)
    writes = [
        (f"/api/v1/depots/{depot.pk}/receive", {"lines": [{"item_code": item.code,
                                                          "quantity": 1}]}),
        (f"/api/v1/depots/{depot.pk}/issue", {"purpose": "drill",
                                              "lines": [{"item_code": item.code,
                                                         "quantity": 1}]}),
        (f"/api/v1/depots/{depot.pk}/transfer", {"to_depot_id": other.pk,
                                                 "lines": [{"item_code": item.code,
                                                            "quantity": 1}]}),
        (f"/api/v1/stock-lots/{lot.pk}/adjust", {"delta": 1, "reason": "更正"}),
        (f"/api/v1/depots/{depot.pk}/stocktake", {"counts": [{"lot_id": lot.pk,
                                                             "counted": 8}]}),
    ]  # fmt: skip
    for url, payload in writes:
        for user in (world.sibling, world.outsider):
            response = post(world.client_for(user), url, payload)
            assert response.status_code == 404, (url, response.status_code)
        assert post(world.client_for(None), url, payload).status_code == 401
    # And the ledger is as it was: 8 in the lot, two movements.
    lot.refresh_from_db()
    assert lot.quantity == 8 and StockMovement.objects.count() == 2
    # The owners may.
    for url, payload in writes:
        assert post(world.client_for(world.parent), url, payload).status_code == 201, url
