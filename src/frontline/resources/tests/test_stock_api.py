"""The stock ledger through /api/v1: every movement kind end to end, and the reads (depots
with their stock, lots and their filters, the stock card, movements and their filters).

The helpers at the top are shared by the other test_stock_* modules."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontline.resources.models import (
    LedgerEntry,
    MovementKind,
    StockLot,
    StockMinimum,
    StockMovement,
    StorageLocation,
)
from frontline.resources.services import stock
from frontline.resources.testing import make_depot, make_item


def post(client, url, payload):
    return client.post(url, payload, content_type="application/json")


def days(n: int):
    return timezone.localdate() + timedelta(days=n)


def put_in(depot, item, quantity, lot_no="", expiry=None, **kw) -> StockLot:
    """A lot received through the service, as the system (no actor)."""
    movement = stock.receive_stock(
        actor=None,
        depot=depot,
        lines=[stock.Receipt(item=item, quantity=quantity, lot_no=lot_no, expiry_date=expiry)],
        **kw,
    )
    return movement.entries.get().lot


def ledger_state():
    """Everything a refused movement must leave as it was."""
    return (
        StockMovement.objects.count(),
        LedgerEntry.objects.count(),
        sorted(StockLot.objects.values_list("pk", "depot_id", "quantity")),
    )


@pytest.fixture
def depot(world):
    return make_depot(world.township, name="柯岩街道救灾物资库")


@pytest.fixture
def tent(db):
    return make_item("1999101", "帐篷", unit="顶")


@pytest.fixture
def water(db):
    return make_item("1999201", "瓶装水", unit="箱", shelf_life_days=365)


# --- receive ---------------------------------------------------------------------------------


def test_a_receipt_creates_lots_and_a_numbered_movement(world, depot, tent, water):
    StorageLocation.objects.create(depot=depot, code="A-01")
    client = world.client_for(world.same)

    response = post(
        client,
        f"/api/v1/depots/{depot.pk}/receive",
        {
            "supplier": "绍兴市应急管理局",
            "lines": [
                {"item_code": "1999101", "quantity": 20, "lot_no": "T2026-01",
                 "location_code": "A-01"},
                {"item_code": "1999201", "quantity": 50, "lot_no": "W01",
                 "production_date": str(days(-10))},
            ],
        },
    )  # fmt: skip

    assert response.status_code == 201, response.content
    body = response.json()
    year = timezone.localdate().year
    assert body["number"] == f"RK-330603001-{year}-00001"
    assert body["kind"] == "receive" and body["supplier"] == "绍兴市应急管理局"
    assert [(line["item_code"], line["delta"], line["balance"]) for line in body["lines"]] == [
        ("1999101", 20, 20),
        ("1999201", 50, 50),
    ]
    tents = StockLot.objects.get(depot=depot, item=tent)
    assert (tents.lot_no, tents.quantity, tents.location.code) == ("T2026-01", 20, "A-01")
    # No expiry given: production date plus the item's shelf life.
    assert StockLot.objects.get(item=water).expiry_date == days(-10) + timedelta(days=365)

    # The same lot number, dates and place again: more of the same lot, not a new one.
    again = post(
        client,
        f"/api/v1/depots/{depot.pk}/receive",
        {"lines": [{"item_code": "1999101", "quantity": 5, "lot_no": "T2026-01",
                    "location_code": "A-01"}]},
    )  # fmt: skip
    assert again.status_code == 201
    assert again.json()["number"].endswith("-00002")
    assert StockLot.objects.filter(item=tent).count() == 1
    tents.refresh_from_db()
    assert tents.quantity == 25


# --- issue -----------------------------------------------------------------------------------


def test_an_issue_to_an_incident_takes_the_earliest_expiry_first(world, depot, water):
    later = put_in(depot, water, 10, "W-LATE", expiry=days(200))
    sooner = put_in(depot, water, 4, "W-SOON", expiry=days(20))
    expired = put_in(depot, water, 30, "W-OLD", expiry=days(-1))
    client = world.client_for(world.same)

    response = post(
        client,
        f"/api/v1/depots/{depot.pk}/issue",
        {
            "purpose": "incident",
            "incident_ref": "SJ-330603001-2026-00007 柯岩路内涝",
            "lines": [{"item_code": "1999201", "quantity": 6}],
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"].startswith("CK-330603001-")
    assert body["purpose"] == "incident" and body["purpose_label"] == "突发事件处置"
    assert body["incident_ref"] == "SJ-330603001-2026-00007 柯岩路内涝"
    assert body["actor_name"] == world.same.person.name
    # FEFO: the 4 of the sooner lot, then 2 of the later one; the expired lot is not touched.
    assert [(line["lot_id"], line["delta"], line["balance"]) for line in body["lines"]] == [
        (sooner.pk, -4, 0),
        (later.pk, -2, 8),
    ]
    expired.refresh_from_db()
    assert expired.quantity == 30
    found = client.get("/api/v1/stock-movements?incident_ref=00007").json()
    assert [m["id"] for m in found["items"]] == [body["id"]]


def test_an_issue_of_a_named_lot_and_to_a_unit(world, depot, tent):
    from frontline.core.testing import make_organization

    lot = put_in(depot, tent, 10, "T1")
    village_committee = make_organization(world.village, name="州山村村委会")
    client = world.client_for(world.same)

    response = post(
        client,
        f"/api/v1/depots/{depot.pk}/issue",
        {
            "purpose": "unit",
            "recipient_id": village_committee.pk,
            "lines": [{"lot_id": lot.pk, "quantity": 3}],
        },
    )

    assert response.status_code == 201, response.content
    assert response.json()["recipient_name"] == "州山村村委会"
    lot.refresh_from_db()
    assert lot.quantity == 7


# --- transfer --------------------------------------------------------------------------------


def test_a_transfer_moves_lots_with_their_number_and_dates(world, depot, water):
    flood = make_depot(world.township, name="柯岩街道防汛物资库")
    lot = put_in(depot, water, 12, "W-2026-03", expiry=days(90))
    client = world.client_for(world.same)

    response = post(
        client,
        f"/api/v1/depots/{depot.pk}/transfer",
        {"to_depot_id": flood.pk, "reason": "汛前调配",
         "lines": [{"lot_id": lot.pk, "quantity": 5}]},
    )  # fmt: skip

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"].startswith("DBD-330603001-")
    assert body["to_depot_name"] == "柯岩街道防汛物资库"
    arrived = StockLot.objects.get(depot=flood)
    assert (arrived.item_id, arrived.lot_no, arrived.expiry_date, arrived.quantity) == (
        water.pk,
        "W-2026-03",
        days(90),
        5,
    )
    lot.refresh_from_db()
    assert lot.quantity == 7
    assert [(line["depot_id"], line["delta"]) for line in body["lines"]] == [
        (depot.pk, -5),
        (flood.pk, 5),
    ]
    # Both depots list the document.
    for end in (depot, flood):
        listed = client.get(f"/api/v1/stock-movements?depot={end.pk}&kind=transfer").json()
        assert [m["id"] for m in listed["items"]] == [body["id"]]


def test_the_county_transfers_between_townships(world, depot, tent):
    other = make_depot(world.sibling_township, name="安昌街道救灾物资库")
    lot = put_in(depot, tent, 8, "T1")

    response = post(
        world.client_for(world.parent),
        f"/api/v1/depots/{depot.pk}/transfer",
        {"to_depot_id": other.pk, "lines": [{"item_code": "1999101", "quantity": 8}]},
    )

    assert response.status_code == 201, response.content
    lot.refresh_from_db()
    assert lot.quantity == 0
    assert StockLot.objects.get(depot=other).quantity == 8


# --- stocktake and adjust --------------------------------------------------------------------


def test_a_stocktake_with_differences_books_each_one(world, depot, tent):
    more = put_in(depot, tent, 10, "L-MORE")
    less = put_in(depot, tent, 10, "L-LESS")
    equal = put_in(depot, tent, 10, "L-EQUAL")
    client = world.client_for(world.same)

    response = post(
        client,
        f"/api/v1/depots/{depot.pk}/stocktake",
        {
            "note": "2026 年汛前盘点",
            "counts": [
                {"lot_id": more.pk, "counted": 12},
                {"lot_id": less.pk, "counted": 7},
                {"lot_id": equal.pk, "counted": 10},
            ],
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"].startswith("PD-330603001-") and body["reason"] == "2026 年汛前盘点"
    lines = {line["lot_id"]: line for line in body["lines"]}
    assert (lines[more.pk]["delta"], lines[more.pk]["balance"], lines[more.pk]["counted"]) == (
        2,
        12,
        12,
    )
    assert (lines[less.pk]["delta"], lines[less.pk]["balance"]) == (-3, 7)
    assert (lines[equal.pk]["delta"], lines[equal.pk]["balance"]) == (0, 10)
    assert {lot.pk: lot.quantity for lot in StockLot.objects.filter(depot=depot)} == {
        more.pk: 12,
        less.pk: 7,
        equal.pk: 10,
    }
    movement = StockMovement.objects.get(pk=body["id"])
    assert {entry.lot_id for entry in stock.stocktake_differences(movement)} == {more.pk, less.pk}
    summary = client.get(f"/api/v1/depots/{depot.pk}").json()["stock"]
    assert [(row["item_code"], row["quantity"], row["lots"]) for row in summary] == [
        ("1999101", 29, 3)
    ]
    assert stock.rederive_stock().mismatches == []


def test_an_adjustment_needs_a_reason(world, depot, tent):
    lot = put_in(depot, tent, 10, "T1")
    client = world.client_for(world.same)
    url = f"/api/v1/stock-lots/{lot.pk}/adjust"

    refused = post(client, url, {"delta": -2, "reason": "  "})
    assert refused.status_code == 422
    assert refused.json()["details"] == {"reason": "调整须说明事由"}

    done = post(client, url, {"delta": -2, "reason": "两顶受潮霉变报损"})
    assert done.status_code == 201, done.content
    assert done.json()["number"].startswith("TZ-330603001-")
    assert done.json()["lines"][0]["balance"] == 8
    assert post(client, url, {"delta": 3, "reason": "找回"}).json()["lines"][0]["balance"] == 11


# --- reads -----------------------------------------------------------------------------------


def test_depot_detail_sums_the_stock_per_item_with_the_minimum(world, depot, tent, water):
    put_in(depot, tent, 10, "T1")
    put_in(depot, tent, 5, "T2", expiry=days(300))
    put_in(depot, water, 3, "W1", expiry=days(40))
    StockMinimum.objects.create(depot=depot, item=water, minimum=10, low_since=timezone.now())
    blankets = make_item("1999301", "棉被", unit="床")
    StockMinimum.objects.create(depot=depot, item=blankets, minimum=50)
    client = world.client_for(world.same)

    body = client.get(f"/api/v1/depots/{depot.pk}").json()

    assert body["name"] == "柯岩街道救灾物资库" and body["kind_label"] == "救灾物资库"
    assert body["low_items"] == 1
    assert [
        (r["item_code"], r["quantity"], r["lots"], r["nearest_expiry"], r["minimum"], r["low"])
        for r in body["stock"]
    ] == [
        ("1999101", 15, 2, str(days(300)), None, False),
        ("1999201", 3, 1, str(days(40)), 10, True),
        ("1999301", 0, 0, None, 50, True),
    ]
    listed = client.get("/api/v1/depots?low=true").json()
    assert [d["id"] for d in listed["items"]] == [depot.pk]
    assert client.get("/api/v1/depots?low=false").json()["count"] == 0


def test_lot_filters(world, depot, tent, water):
    soon = put_in(depot, water, 5, "SOON", expiry=days(10))
    later = put_in(depot, water, 5, "LATER", expiry=days(100))
    old = put_in(depot, water, 5, "OLD", expiry=days(-3))
    empty = put_in(depot, tent, 1, "EMPTY")
    stock.issue_stock(
        actor=None, depot=depot, purpose="drill", lines=[stock.Take(quantity=1, lot=empty)]
    )
    client = world.client_for(world.same)
    url = f"/api/v1/depots/{depot.pk}/lots"

    def ids(query=""):
        return [lot["id"] for lot in client.get(f"{url}?{query}").json()["items"]]

    assert ids() == [empty.pk, old.pk, soon.pk, later.pk]  # by item, then expiry
    assert ids("item=1999201") == [old.pk, soon.pk, later.pk]
    assert ids("near_expiry_days=30") == [soon.pk]
    assert ids("expired=true") == [old.pk]
    assert ids("expired=false&item=1999201") == [soon.pk, later.pk]
    assert ids("in_stock=false") == [empty.pk]
    assert ids("in_stock=true&near_expiry_days=365") == [soon.pk, later.pk]
    row = client.get(f"{url}?expired=true").json()["items"][0]
    assert row["is_expired"] is True and row["days_to_expiry"] == -3
    assert client.get(f"{url}?near_expiry_days=-1").status_code == 422


def test_the_stock_card_runs_a_balance_per_lot_and_a_total_across_pages(world, depot, tent):
    first = put_in(depot, tent, 10, "A")
    second = put_in(depot, tent, 6, "B")
    stock.issue_stock(
        actor=None, depot=depot, purpose="drill", lines=[stock.Take(quantity=3, lot=first)]
    )
    stock.adjust_stock(actor=None, lot=second, delta=-1, reason="损坏")
    stock.record_stocktake(actor=None, depot=depot, counts=[stock.Count(lot=first, counted=8)])
    put_in(depot, make_item("1999102", "其他帐篷"), 99)  # another item: not on this card
    client = world.client_for(world.same)
    url = f"/api/v1/depots/{depot.pk}/stock-card/1999101"

    rows = client.get(url).json()["items"]
    assert [(r["kind"], r["lot_no"], r["delta"], r["lot_balance"], r["total"]) for r in rows] == [
        ("receive", "A", 10, 10, 10),
        ("receive", "B", 6, 6, 16),
        ("issue", "A", -3, 7, 13),
        ("adjust", "B", -1, 5, 12),
        ("stocktake", "A", 1, 8, 13),
    ]
    assert rows[-1]["counted"] == 8 and rows[3]["counterpart"] == "损坏"
    # Page by page, the total carries on from the rows before the page.
    second_page = client.get(f"{url}?page=2&page_size=2").json()
    assert second_page["count"] == 5
    assert [r["total"] for r in second_page["items"]] == [13, 12]
    assert client.get(f"/api/v1/depots/{depot.pk}/stock-card/1999998").status_code == 404


def test_movement_list_filters(world, depot, tent):
    lot = put_in(depot, tent, 10, "T1", at=timezone.now() - timedelta(days=3))
    issued = stock.issue_stock(
        actor=world.same,
        depot=depot,
        purpose="incident",
        incident_ref="柯岩路火灾",
        lines=[stock.Take(quantity=2, lot=lot)],
    )
    client = world.client_for(world.same)

    def numbers(query):
        return [m["number"] for m in client.get(f"/api/v1/stock-movements?{query}").json()["items"]]

    receipt = StockMovement.objects.get(kind=MovementKind.RECEIVE).number
    assert numbers("") == [issued.number, receipt]
    assert numbers("kind=receive") == [receipt]
    today = timezone.localdate()
    assert numbers(f"since={today}") == [issued.number]
    assert numbers(f"until={today - timedelta(days=1)}") == [receipt]
    assert numbers("incident_ref=火灾") == [issued.number]
    assert numbers(f"depot={depot.pk}&kind=issue") == [issued.number]
    assert client.get("/api/v1/stock-movements?kind=borrow").status_code == 422
    detail = client.get(f"/api/v1/stock-movements/{issued.pk}").json()
    assert detail["lines"][0]["lot_no"] == "T1" and detail["lines"][0]["item_name"] == "帐篷"


def test_lot_detail_lists_its_entries(world, depot, tent):
    lot = put_in(depot, tent, 10, "T1")
    stock.adjust_stock(actor=None, lot=lot, delta=-4, reason="报损")
    body = world.client_for(world.parent).get(f"/api/v1/stock-lots/{lot.pk}").json()
    assert body["depot_name"] == depot.name and body["quantity"] == 6
    assert [(e["kind"], e["delta"], e["balance"]) for e in body["entries"]] == [
        ("receive", 10, 10),
        ("adjust", -4, 6),
    ]


# --- pagination and query counts -------------------------------------------------------------


def _queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries), response.json()


def _fill(world, depot, tent, water, rounds: int):
    for n in range(rounds):
        lot = put_in(depot, tent if n % 2 else water, 5, f"L{n}", expiry=days(30 + n))
        stock.issue_stock(
            actor=world.same,
            depot=depot,
            purpose="incident",
            incident_ref=f"事件{n}",
            lines=[stock.Take(quantity=1, lot=lot)],
        )
        make_depot(world.township)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/depots",
        "/api/v1/depots/{depot}",
        "/api/v1/depots/{depot}/lots",
        "/api/v1/depots/{depot}/stock-card/1999101",
        "/api/v1/stock-movements",
    ],
)
def test_reads_take_the_same_queries_for_few_rows_and_many(world, depot, tent, water, path):
    client = world.client_for(world.same)
    url = path.format(depot=depot.pk)
    _fill(world, depot, tent, water, 2)
    client.get(url)  # the session and the role assignments, read once per client
    few, body = _queries(client, url)
    _fill(world, depot, tent, water, 8)
    many, more = _queries(client, url)
    assert many == few, f"{url}: {few} queries for few rows, {many} for many"
    if "items" in body:
        assert more["count"] > body["count"]


def test_lists_are_paged(world, depot, tent, water):
    _fill(world, depot, tent, water, 6)
    client = world.client_for(world.same)
    page = client.get("/api/v1/stock-movements?page=2&page_size=5").json()
    assert page["count"] == 12 and len(page["items"]) == 5
    assert client.get("/api/v1/stock-movements?page_size=501").status_code == 422
    lots = client.get(f"/api/v1/depots/{depot.pk}/lots?page_size=4").json()
    assert lots["count"] == 6 and len(lots["items"]) == 4
