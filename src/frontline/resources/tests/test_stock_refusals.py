"""Bad input to the stock ledger API: refused with a clear answer, and nothing changed.

Every refusal compares the whole ledger (movements, entries, lots and their quantities)
before and after."""

import math
from datetime import timedelta

import pytest
from django.utils import timezone

from frontline.core.roles import Role
from frontline.core.testing import make_user
from frontline.resources.models import StockLot
from frontline.resources.services import stock
from frontline.resources.testing import make_depot
from frontline.resources.tests import test_stock_api as base
from frontline.resources.tests.test_stock_api import days, ledger_state, post, put_in

depot = base.depot
tent = base.tent
water = base.water


def refused(client, url, payload, status: int):
    before = ledger_state()
    response = post(client, url, payload)
    assert response.status_code == status, response.content
    assert ledger_state() == before, "a refused movement changed the ledger"
    return response.json()


def test_issuing_more_than_in_stock_is_a_conflict_and_changes_nothing(world, depot, tent, water):
    lot = put_in(depot, tent, 10, "T1")
    put_in(depot, water, 5, "W1", expiry=days(30))
    client = world.client_for(world.same)
    url = f"/api/v1/depots/{depot.pk}/issue"

    body = refused(
        client,
        url,
        {"purpose": "drill", "lines": [{"lot_id": lot.pk, "quantity": 11}]},
        409,
    )
    assert body["code"] == "out_of_stock"
    assert "库存不足" in body["message"] and "现有 10" in body["message"]
    assert body["details"] == {"lot_id": lot.pk, "available": 10, "requested": 11}

    # All lines or none: the first line could be served, the second cannot.
    body = refused(
        client,
        url,
        {
            "purpose": "drill",
            "lines": [
                {"lot_id": lot.pk, "quantity": 4},
                {"item_code": "1999201", "quantity": 6},
            ],
        },
        409,
    )
    assert body["code"] == "out_of_stock" and body["details"]["available"] == 5
    assert body["details"]["lines.1.quantity"] == 6


def test_two_lines_of_one_item_do_not_count_the_same_units_twice(world, depot, water):
    put_in(depot, water, 5, "A", expiry=days(10))
    put_in(depot, water, 5, "B", expiry=days(20))
    response = post(
        world.client_for(world.same),
        f"/api/v1/depots/{depot.pk}/issue",
        {
            "purpose": "drill",
            "lines": [
                {"item_code": "1999201", "quantity": 4},
                {"item_code": "1999201", "quantity": 4},
            ],
        },
    )
    assert response.status_code == 201, response.content
    assert sorted(StockLot.objects.values_list("lot_no", "quantity")) == [("A", 0), ("B", 2)]


def test_an_expired_lot_needs_the_override_and_a_reason(world, depot, water):
    old = put_in(depot, water, 5, "OLD", expiry=days(-2))
    client = world.client_for(world.same)
    url = f"/api/v1/depots/{depot.pk}/issue"
    line = [{"lot_id": old.pk, "quantity": 5}]

    body = refused(client, url, {"purpose": "scrap", "lines": line}, 409)
    assert body["code"] == "lot_expired" and "允许发出过期物资" in body["message"]
    assert body["details"] == {"lines.0.lot_id": old.pk}

    # Asked for by item, the expired lot is not offered at all.
    body = refused(
        client, url, {"purpose": "scrap", "lines": [{"item_code": "1999201", "quantity": 1}]}, 409
    )
    assert body["code"] == "out_of_stock"

    body = refused(client, url, {"purpose": "scrap", "expired_override": True, "lines": line}, 422)
    assert body["details"] == {"reason": "发出过期物资须说明事由"}

    done = post(
        client,
        url,
        {"purpose": "scrap", "expired_override": True, "reason": "过期报废", "lines": line},
    )
    assert done.status_code == 201 and done.json()["expired_override"] is True


def test_a_transfer_of_an_expired_lot_needs_a_reason_too(world, depot, water):
    old = put_in(depot, water, 5, "OLD", expiry=days(-2))
    other = make_depot(world.township)
    body = refused(
        world.client_for(world.same),
        f"/api/v1/depots/{depot.pk}/transfer",
        {
            "to_depot_id": other.pk,
            "expired_override": True,
            "lines": [{"lot_id": old.pk, "quantity": 5}],
        },
        422,
    )
    assert body["details"] == {"reason": "发出过期物资须说明事由"}


def test_a_township_cannot_transfer_to_another_townships_depot(world, depot, tent):
    lot = put_in(depot, tent, 10, "T1")
    sibling_depot = make_depot(world.sibling_township)
    client = world.client_for(world.same)
    url = f"/api/v1/depots/{depot.pk}/transfer"
    lines = [{"lot_id": lot.pk, "quantity": 3}]

    body = refused(client, url, {"to_depot_id": sibling_depot.pk, "lines": lines}, 422)
    assert body["message"] == "调入库不在您的管辖范围内"
    assert body["details"] == {"to_depot_id": "调入库不在您的管辖范围内"}
    # A depot that does not exist gets the same answer: no telling which ids exist.
    assert refused(client, url, {"to_depot_id": 10**9, "lines": lines}, 422) == body
    same_depot = refused(client, url, {"to_depot_id": depot.pk, "lines": lines}, 422)
    assert same_depot["details"] == {"to_depot_id": "调入库不能与调出库相同"}
    # Nor the other way round: the sibling's depot is not there for this user at all.
    assert (
        post(
            client, f"/api/v1/depots/{sibling_depot.pk}/transfer",
            {"to_depot_id": depot.pk, "lines": lines},
        ).status_code
        == 404
    )  # fmt: skip


@pytest.mark.parametrize(
    "quantity, kind",
    [(math.nan, "nan"), ("abc", "text"), (1.5, "fraction"), (-3, "negative"), (0, "zero"),
     (10**12, "typo")],
)  # fmt: skip
def test_quantities_must_be_whole_positive_numbers(world, depot, tent, quantity, kind):
    lot = put_in(depot, tent, 10, "T1")
    client = world.client_for(world.same)
    for url, payload in [
        (f"/api/v1/depots/{depot.pk}/receive", {"lines": [{"item_code": "1999101"}]}),
        (f"/api/v1/depots/{depot.pk}/issue", {"purpose": "drill", "lines": [{"lot_id": lot.pk}]}),
        (
            f"/api/v1/depots/{depot.pk}/transfer",
            {"to_depot_id": make_depot(world.township).pk, "lines": [{"lot_id": lot.pk}]},
        ),
    ]:
        payload["lines"][0]["quantity"] = quantity
        body = refused(client, url, payload, 422)
        assert body["code"] == "validation_error"
        assert list(body["details"]) == ["lines.0.quantity"], (kind, url, body)


@pytest.mark.parametrize("counted", [math.nan, "abc", 1.5, -1])
def test_a_stocktake_count_must_be_a_whole_number_zero_allowed(world, depot, tent, counted):
    lot = put_in(depot, tent, 10, "T1")
    client = world.client_for(world.same)
    url = f"/api/v1/depots/{depot.pk}/stocktake"
    body = refused(client, url, {"counts": [{"lot_id": lot.pk, "counted": counted}]}, 422)
    assert list(body["details"]) == ["counts.0.counted"]
    assert post(client, url, {"counts": [{"lot_id": lot.pk, "counted": 0}]}).status_code == 201


@pytest.mark.parametrize("delta", [0, 1.5, "abc", math.nan])
def test_an_adjustment_must_change_by_a_whole_number(world, depot, tent, delta):
    lot = put_in(depot, tent, 10, "T1")
    body = refused(
        world.client_for(world.same),
        f"/api/v1/stock-lots/{lot.pk}/adjust",
        {"delta": delta, "reason": "更正"},
        422,
    )
    assert list(body["details"]) == ["delta"]


def test_an_adjustment_below_zero_is_out_of_stock(world, depot, tent):
    lot = put_in(depot, tent, 3, "T1")
    body = refused(
        world.client_for(world.same),
        f"/api/v1/stock-lots/{lot.pk}/adjust",
        {"delta": -4, "reason": "丢失"},
        409,
    )
    assert body["code"] == "out_of_stock"


def test_unknown_items_lots_and_places(world, depot, tent):
    lot = put_in(depot, tent, 10, "T1")
    other = make_depot(world.township)
    other_lot = put_in(other, tent, 10, "T9")
    sibling_lot = put_in(make_depot(world.sibling_township), tent, 10, "S1")
    client = world.client_for(world.same)
    issue = f"/api/v1/depots/{depot.pk}/issue"

    body = refused(
        client,
        f"/api/v1/depots/{depot.pk}/receive",
        {"lines": [
            {"item_code": "1999998", "quantity": 1},
            {"item_code": "1999101", "quantity": 1, "location_code": "Z-99"},
        ]},
        422,
    )  # fmt: skip
    assert body["details"] == {
        "lines.0.item_code": "物资编码不存在",
        "lines.1.location_code": "本库没有这个库位",
    }
    body = refused(
        client,
        f"/api/v1/depots/{depot.pk}/receive",
        {"lines": [{"item_code": "12345", "quantity": 1}]},
        422,
    )
    assert body["details"] == {"lines.0.item_code": "格式不正确"}
    body = refused(
        client, issue, {"purpose": "drill", "lines": [{"lot_id": 10**9, "quantity": 1}]}, 422
    )
    assert body["details"] == {"lines.0.lot_id": "批次不存在"}
    # A lot of a depot the user cannot see is as unknown as one that does not exist.
    body = refused(
        client, issue, {"purpose": "drill", "lines": [{"lot_id": sibling_lot.pk, "quantity": 1}]},
        422,
    )  # fmt: skip
    assert body["details"] == {"lines.0.lot_id": "批次不存在"}
    # One the user sees, in another depot: the service says which.
    body = refused(
        client, issue, {"purpose": "drill", "lines": [{"lot_id": other_lot.pk, "quantity": 1}]},
        422,
    )  # fmt: skip
    assert body["details"] == {"lines.0.lot_id": "批次不属于该储备库"}
    body = refused(
        client,
        issue,
        {"purpose": "drill", "lines": [{"lot_id": lot.pk, "item_code": "1999201",
                                         "quantity": 1}]},
        422,
    )  # fmt: skip
    assert body["details"] == {"lines.0.item_code": "物资编码不存在"}
    body = refused(client, issue, {"purpose": "drill", "lines": [{"quantity": 1}]}, 422)
    assert body["details"] == {"lines.0.item_code": "请选择物资或批次"}
    body = refused(
        client, f"/api/v1/depots/{depot.pk}/stocktake",
        {"counts": [{"lot_id": other_lot.pk, "counted": 1}]}, 422,
    )  # fmt: skip
    assert body["details"] == {"counts.0.lot_id": "批次不属于该储备库"}
    # Addressed in the path, an unseen lot or depot is not there: 404.
    assert post(client, f"/api/v1/stock-lots/{sibling_lot.pk}/adjust",
                {"delta": 1, "reason": "x"}).status_code == 404  # fmt: skip
    unknown = post(client, "/api/v1/depots/999999/receive",
                   {"lines": [{"item_code": "1999101", "quantity": 1}]})  # fmt: skip
    assert unknown.status_code == 404


def test_an_issue_says_where_the_goods_went(world, depot, tent):
    lot = put_in(depot, tent, 10, "T1")
    client = world.client_for(world.same)
    url = f"/api/v1/depots/{depot.pk}/issue"
    lines = [{"lot_id": lot.pk, "quantity": 1}]
    assert refused(client, url, {"purpose": "incident", "lines": lines}, 422)["details"] == {
        "incident_ref": "发往突发事件的物资须注明事件编号或名称"
    }
    assert refused(client, url, {"purpose": "unit", "lines": lines}, 422)["details"] == {
        "recipient_id": "请选择领用单位"
    }
    assert refused(client, url, {"purpose": "shelter", "lines": lines}, 422)["details"] == {
        "shelter_id": "请选择避难场所"
    }
    assert refused(client, url, {"purpose": "borrow", "lines": lines}, 422)["details"] == {
        "purpose": "不在可选值之内"
    }
    assert list(refused(client, url, {"purpose": "drill", "lines": []}, 422)["details"]) == [
        "lines"
    ]


def test_a_movement_cannot_be_dated_in_the_future(world, depot, tent):
    lot = put_in(depot, tent, 10, "T1")
    client = world.client_for(world.same)
    tomorrow = (timezone.now() + timedelta(days=1)).isoformat()
    body = refused(
        client,
        f"/api/v1/depots/{depot.pk}/issue",
        {"purpose": "drill", "at": tomorrow, "lines": [{"lot_id": lot.pk, "quantity": 1}]},
        422,
    )
    assert body["details"] == {"at": "业务时间不能晚于现在"}
    body = refused(
        client,
        f"/api/v1/depots/{depot.pk}/receive",
        {"at": "not a time", "lines": [{"item_code": "1999101", "quantity": 1}]},
        422,
    )
    assert list(body["details"]) == ["at"]
    # Back-dating is how a paper slip from yesterday is booked.
    yesterday = (timezone.now() - timedelta(days=1)).isoformat()
    done = post(
        client,
        f"/api/v1/depots/{depot.pk}/issue",
        {"purpose": "drill", "at": yesterday, "lines": [{"lot_id": lot.pk, "quantity": 1}]},
    )
    assert done.status_code == 201


def test_a_suspended_depot_receives_nothing(world, depot, tent):
    depot.status = "suspended"
    depot.save()
    body = refused(
        world.client_for(world.same),
        f"/api/v1/depots/{depot.pk}/receive",
        {"lines": [{"item_code": "1999101", "quantity": 1}]},
        409,
    )
    assert body["code"] == "depot_suspended"


def test_read_only_roles_may_read_but_not_post(world, depot, tent):
    lot = put_in(depot, tent, 10, "T1")
    leader = world.client_for(make_user(Role.LEADER, world.township, "leader"))
    assert leader.get(f"/api/v1/depots/{depot.pk}").status_code == 200
    assert leader.get(f"/api/v1/stock-lots/{lot.pk}").status_code == 200
    for url, payload in [
        (f"/api/v1/depots/{depot.pk}/receive", {"lines": [{"item_code": "1999101",
                                                          "quantity": 1}]}),
        (f"/api/v1/depots/{depot.pk}/issue", {"purpose": "drill",
                                              "lines": [{"lot_id": lot.pk, "quantity": 1}]}),
        (f"/api/v1/stock-lots/{lot.pk}/adjust", {"delta": 1, "reason": "x"}),
        (f"/api/v1/depots/{depot.pk}/stocktake", {"counts": [{"lot_id": lot.pk, "counted": 1}]}),
    ]:  # fmt: skip
        body = refused(leader, url, payload, 403)
        assert body["code"] == "permission_denied"


def test_a_grid_worker_may_not_post(world, tent):
    # A community micro-depot inside the grid worker's own grid: seen, but not theirs to move.
    micro = make_depot(world.grid, name="州山村微型消防站物资点")
    lot = put_in(micro, tent, 10, "T1")
    client = world.client_for(world.grid_worker)
    assert client.get(f"/api/v1/depots/{micro.pk}").status_code == 200
    body = refused(
        client,
        f"/api/v1/depots/{micro.pk}/issue",
        {"purpose": "drill", "lines": [{"lot_id": lot.pk, "quantity": 1}]},
        403,
    )
    assert body["code"] == "permission_denied"
    refused(client, f"/api/v1/stock-lots/{lot.pk}/adjust", {"delta": 1, "reason": "x"}, 403)


def test_the_service_refuses_the_same_without_the_api(world, depot, tent):
    lot = put_in(depot, tent, 2, "T1")
    before = ledger_state()
    with pytest.raises(stock.OutOfStock):
        stock.issue_stock(
            actor=world.same, depot=depot, purpose="drill", lines=[stock.Take(quantity=3, lot=lot)]
        )
    assert ledger_state() == before
