"""The movement forms post through the services and show their refusals on the form, with
nothing written; the movements ledger, a movement's page (a stocktake with book, counted and
difference) and the stock card, by scope and with queries that do not grow with rows; the
exports."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from frontline.core.roles import Role
from frontline.core.testing import assert_page_matrix, make_organization, make_user, page_queries
from frontline.resources.models import (
    LedgerEntry,
    MovementKind,
    StockLot,
    StockMovement,
    StorageLocation,
)
from frontline.resources.services import stock
from frontline.resources.testing import make_depot, make_item


@pytest.fixture
def depot(world):
    return make_depot(world.township, name="柯岩街道救灾物资库")


@pytest.fixture
def tent(db):
    return make_item("1999831", "帐篷", unit="顶")


@pytest.fixture
def water(db):
    return make_item("1999832", "饮用水", unit="箱", shelf_life_days=365)


def state():
    return (
        StockMovement.objects.count(),
        LedgerEntry.objects.count(),
        sorted(StockLot.objects.values_list("pk", "quantity")),
    )


def put(depot, item, n, lot_no="", expiry=None, at=None) -> StockLot:
    movement = stock.receive_stock(
        actor=None,
        depot=depot,
        lines=[stock.Receipt(item=item, quantity=n, lot_no=lot_no, expiry_date=expiry)],
        at=at,
    )
    return movement.entries.get().lot


def lines(*rows: dict, total: int | None = None) -> dict:
    """A formset's POST data: management form and one dict per line."""
    data = {
        "lines-TOTAL_FORMS": str(total or len(rows)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "60",
    }
    for index, row in enumerate(rows):
        data |= {f"lines-{index}-{name}": value for name, value in row.items()}
    return data


def test_receive_form(world, depot, tent, water):
    location = StorageLocation.objects.create(depot=depot, code="A-01")
    client = world.client_for(world.same)
    url = f"/depots/{depot.pk}/receive/"
    page = client.get(url)
    assert page.status_code == 200 and 'id="supply-items"' in page.content.decode()
    data = {"supplier": "县应急管理局", "reason": ""} | lines(
        {"item": f"{tent.code} 帐篷", "quantity": 10, "lot_no": "T1", "location": location.pk},
        {"item": "饮用水", "quantity": 5, "production_date": "2026-01-01"},
        {},
    )
    response = client.post(url, data)
    movement = StockMovement.objects.get()
    assert (
        response.status_code == 302 and response["Location"] == f"/stock/movements/{movement.pk}/"
    )
    assert stock.on_hand(depot) == {tent.pk: 10, water.pk: 5}
    assert StockLot.objects.get(item=water).expiry_date.isoformat() == "2027-01-01"
    before = state()
    bad = lines(
        {
            "item": tent.code,
            "quantity": 1,
            "production_date": "2026-03-01",
            "expiry_date": "2026-01-01",
        }
    )
    response = client.post(url, bad)
    assert response.status_code == 422 and "有效期不能早于生产日期" in response.content.decode()
    response = client.post(url, lines({"item": "9999999", "quantity": 1}, {"item": tent.code}))
    html = response.content.decode()
    assert response.status_code == 422 and "物资编码不存在" in html and "请填写数量" in html
    response = client.post(url, lines({}))
    assert response.status_code == 422 and "至少填写一行物资" in response.content.decode()
    assert state() == before


def test_more_lines_keeps_what_was_typed(world, depot, tent):
    client = world.client_for(world.same)
    data = lines({"item": tent.code, "quantity": 7}) | {"action": "more"}
    response = client.post(f"/depots/{depot.pk}/receive/", data)
    html = response.content.decode()
    assert response.status_code == 200 and 'name="lines-3-quantity"' in html
    assert 'value="7"' in html and not StockMovement.objects.exists()


def test_issue_form_refusals_land_on_the_line(world, depot, tent, water):
    put(depot, tent, 5, lot_no="T1")
    old = put(
        depot,
        water,
        3,
        lot_no="W0",
        expiry=timezone.localdate() - timedelta(days=1),
        at=timezone.now() - timedelta(days=30),
    )
    client = world.client_for(world.same)
    url = f"/depots/{depot.pk}/issue/"
    before = state()
    data = {"purpose": "incident", "incident_ref": "SJ-1"} | lines(
        {"item": tent.code, "quantity": 2}, {"item": tent.code, "quantity": 4}
    )
    response = client.post(url, data)
    html = response.content.decode()
    assert response.status_code == 422 and "库存不足" in html
    first, second = html.split('data-line="1"')
    assert "库存不足" not in first.split('data-line="0"')[1] and "库存不足" in second
    response = client.post(url, {"purpose": "incident"} | lines({"item": tent.code, "quantity": 1}))
    assert "发往突发事件的物资须注明事件编号或名称" in response.content.decode()
    response = client.post(url, {"purpose": "scrap"} | lines({"lot": old.pk, "quantity": 3}))
    assert response.status_code == 422 and "已过期" in response.content.decode()
    assert state() == before
    data = {"purpose": "scrap", "expired_override": "on", "reason": "过期报废"}
    response = client.post(url, data | lines({"lot": old.pk, "quantity": 3}))
    assert response.status_code == 302
    unit = make_organization(world.township, name="柯岩街道专职消防队")
    data = {"purpose": "unit", "recipient": unit.pk} | lines({"item": tent.code, "quantity": 5})
    assert client.post(url, data).status_code == 302
    assert stock.on_hand(depot) == {tent.pk: 0, water.pk: 0}


def test_transfer_only_to_depots_in_scope(world, depot, tent):
    put(depot, tent, 5)
    flood = make_depot(world.township, name="柯岩街道防汛物资库")
    sibling = make_depot(world.sibling_township, name="安昌街道救灾物资库")
    client = world.client_for(world.same)
    url = f"/depots/{depot.pk}/transfer/"
    html = client.get(url).content.decode()
    assert flood.name in html and sibling.name not in html
    response = client.post(
        url, {"to_depot": sibling.pk} | lines({"item": tent.code, "quantity": 1})
    )
    assert (
        response.status_code == 422 and not StockMovement.objects.filter(kind="transfer").exists()
    )
    response = client.post(url, {"to_depot": flood.pk} | lines({"item": tent.code, "quantity": 2}))
    assert response.status_code == 302
    assert stock.on_hand(flood) == {tent.pk: 2}
    # The county moves stock between townships; the receiving station sees the document.
    parent = world.client_for(world.parent)
    response = parent.post(
        url, {"to_depot": sibling.pk} | lines({"item": tent.code, "quantity": 1})
    )
    assert response.status_code == 302
    movement = StockMovement.objects.get(to_depot=sibling)
    assert (
        world.client_for(world.sibling).get(f"/stock/movements/{movement.pk}/").status_code == 200
    )
    assert (
        world.client_for(world.outsider).get(f"/stock/movements/{movement.pk}/").status_code == 404
    )


def test_adjust_and_stocktake_forms(world, depot, tent, water):
    lot = put(depot, tent, 10, lot_no="T1")
    other = put(depot, water, 4, lot_no="W1")
    client = world.client_for(world.same)
    url = f"/depots/{depot.pk}/adjust/?lot={lot.pk}"
    assert f'value="{lot.pk}" selected' in client.get(url).content.decode()
    response = client.post(url, {"lot": lot.pk, "delta": -11, "reason": "丢失"})
    assert response.status_code == 422 and "库存不足" in response.content.decode()
    response = client.post(url, {"lot": lot.pk, "delta": -1, "reason": ""})
    assert response.status_code == 422
    assert client.post(url, {"lot": lot.pk, "delta": -1, "reason": "受潮"}).status_code == 302
    sheet = client.get(f"/depots/{depot.pk}/stocktake/").content.decode()
    assert f'name="count_{lot.pk}"' in sheet and f'name="count_{other.pk}"' in sheet
    response = client.post(f"/depots/{depot.pk}/stocktake/", {})
    assert response.status_code == 422 and "请至少填写一个批次" in response.content.decode()
    response = client.post(
        f"/depots/{depot.pk}/stocktake/", {f"count_{lot.pk}": 7, f"count_{other.pk}": 4}
    )
    movement = StockMovement.objects.get(kind=MovementKind.STOCKTAKE)
    assert response["Location"] == f"/stock/movements/{movement.pk}/"
    html = client.get(response["Location"]).content.decode()
    assert 'data-difference="-2"' in html and 'data-difference="0"' in html
    assert "盘点 1 个批次与账面不符" in html
    assert stock.on_hand(depot) == {tent.pk: 7, water.pk: 4}
    only = client.get(f"/depots/{depot.pk}/stocktake/?item={water.code}").content.decode()
    assert f'name="count_{lot.pk}"' not in only and f'name="count_{other.pk}"' in only


def test_movement_forms_need_the_right(world, depot):
    leader = world.client_for(make_user(Role.LEADER, world.township, "leader"))
    for path in ("receive", "issue", "transfer", "adjust", "stocktake"):
        url = f"/depots/{depot.pk}/{path}/"
        assert world.client_for(world.sibling).get(url).status_code == 404, path
        assert world.client_for(world.grid_worker).get(url).status_code == 404, path
        assert leader.get(url).status_code == 403, path
        assert world.client_for(world.parent).get(url).status_code == 200, path


def test_ledger_pages_by_scope(world, depot, tent):
    put(depot, tent, 3)
    movement = StockMovement.objects.get()
    assert_page_matrix(world, f"/stock/movements/{movement.pk}/")
    listed = world.client_for(world.sibling).get("/stock/movements/").content.decode()
    assert movement.number not in listed
    assert (
        movement.number in world.client_for(world.parent).get("/stock/movements/").content.decode()
    )


def test_movement_filters(world, depot, tent, water):
    put(depot, tent, 3, at=timezone.now() - timedelta(days=10))
    put(depot, water, 3)
    stock.issue_stock(
        actor=None,
        depot=depot,
        lines=[stock.Take(item=water, quantity=1)],
        purpose="incident",
        incident_ref="山洪-0701",
    )
    client = world.client_for(world.same)

    def numbers(query: str) -> int:
        html = client.get("/stock/movements/?" + query).content.decode()
        return html.count('class="mono nowrap"><a href="/stock/movements/')

    assert numbers("") == 3
    assert numbers("kind=issue") == 1
    assert numbers(f"item={tent.code}") == 1
    assert numbers("incident=山洪") == 1
    since = (timezone.localdate() - timedelta(days=2)).isoformat()
    assert numbers(f"from={since}") == 2
    assert numbers(f"depot={depot.pk}&kind=receive") == 2
    sibling = make_depot(world.sibling_township)
    assert client.get(f"/stock/movements/?depot={sibling.pk}").status_code == 404


def test_ledger_queries_do_not_grow_with_rows(world, depot, tent):
    client = world.client_for(world.same)
    put(depot, tent, 50)
    stock.issue_stock(
        actor=world.same,
        depot=depot,
        lines=[stock.Take(item=tent, quantity=1)],
        purpose="unit",
        recipient=make_organization(world.township, name="单位甲"),
    )
    urls = ["/stock/movements/", f"/depots/{depot.pk}/items/{tent.pk}/"]
    few = [len(page_queries(client, url)[1]) for url in urls]
    flood = make_depot(world.township, name="防汛库")
    for n in range(8):
        put(depot, tent, 1, lot_no=f"L{n}")
        stock.transfer_stock(
            actor=world.same, depot=depot, to_depot=flood, lines=[stock.Take(item=tent, quantity=1)]
        )
        stock.issue_stock(
            actor=world.same,
            depot=depot,
            lines=[stock.Take(item=tent, quantity=1)],
            purpose="drill",
        )
    many = [len(page_queries(client, url)[1]) for url in urls]
    assert many == few


def test_the_stock_card_runs_the_balance_across_pages(world, depot, tent, settings):
    for n in range(5):
        put(depot, tent, 10, lot_no=f"L{n}", at=timezone.now() - timedelta(days=10 - n))
    stock.issue_stock(
        actor=None, depot=depot, lines=[stock.Take(item=tent, quantity=15)], purpose="drill"
    )
    client = world.client_for(world.same)
    html = client.get(f"/depots/{depot.pk}/items/{tent.pk}/").content.decode()
    balances = [int(part.split('"')[0]) for part in html.split('data-balance="')[1:]]
    # The issue took 10 of L0 and 5 of L1 (FEFO here: oldest receipt first): two entries.
    assert balances == [10, 20, 30, 40, 50, 40, 35]
    from frontline.resources.views import stock_ledger

    stock_ledger.CARD_PAGE, saved = 3, stock_ledger.CARD_PAGE
    try:
        html = client.get(f"/depots/{depot.pk}/items/{tent.pk}/?page=2").content.decode()
    finally:
        stock_ledger.CARD_PAGE = saved
    assert 'data-opening="30"' in html
    assert [int(p.split('"')[0]) for p in html.split('data-balance="')[1:]] == [40, 50, 40]


def read(response) -> list[list]:
    content = b"".join(response) if hasattr(response, "streaming_content") else response.content
    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()


def test_exports(world, depot, tent):
    put(depot, tent, 4, lot_no="T1", expiry=timezone.localdate() + timedelta(days=5))
    sibling = make_depot(world.sibling_township, name="安昌库")
    put(sibling, tent, 9)
    client = world.client_for(world.same)
    position = read(client.get("/stock/positions.xlsx"))
    assert position[0][:3] == ["区划代码", "储备库", "物资编码"]
    assert [row[1] for row in position[1:]] == [depot.name]
    assert position[1][-2:] == [4.0, "临期"]
    movements = read(client.get("/stock/movements/export.xlsx?kind=receive"))
    assert len(movements) == 2 and movements[1][1] == "入库"
    card = read(client.get(f"/depots/{depot.pk}/items/{tent.pk}/export.xlsx"))
    assert card[0][-1] == "结存" and card[1][3] == "期初结存" and card[2][-1] == 4.0
    assert client.get(f"/depots/{sibling.pk}/items/{tent.pk}/export.xlsx").status_code == 404
    assert client.get(f"/stock/positions.xlsx?depot={sibling.pk}").status_code == 404
