"""Alerts of the stock ledger through the outbox: low stock (one per shortage) and near
expiry (one per lot), and the daily sweep that sends the latter."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from frontline.core.models import Channel, Notification
from frontline.core.roles import Role
from frontline.core.testing import make_user
from frontline.resources.models import StockLot, StockMinimum
from frontline.resources.services import stock
from frontline.resources.testing import make_depot, make_item
from frontline.resources.tests.test_stock_api import days, post, put_in


def told(kind: str) -> list[tuple[int, str]]:
    return sorted(
        Notification.objects.filter(kind=kind, channel=Channel.IN_APP).values_list(
            "recipient_id", "subject"
        )
    )


@pytest.fixture
def keeper(world):
    return make_user(None, world.township, "keeper")


@pytest.fixture
def depot(world, keeper):
    return make_depot(world.township, name="柯岩街道防汛物资库", keeper=keeper.person)


# --- low stock -------------------------------------------------------------------------------


def test_low_stock_is_told_once_per_shortage_and_again_after_a_refill(world, depot, keeper):
    bags = make_item("1999601", "编织袋", unit="条")
    lot = put_in(depot, bags, 100, "B1")
    minimum = StockMinimum.objects.create(depot=depot, item=bags, minimum=60)
    client = world.client_for(world.same)
    issue = f"/api/v1/depots/{depot.pk}/issue"

    def take(n):
        response = post(
            client, issue, {"purpose": "drill", "lines": [{"lot_id": lot.pk, "quantity": n}]}
        )
        assert response.status_code == 201, response.content

    take(30)  # 70 left: above the minimum
    assert told(stock.LOW_STOCK_KIND) == []

    take(20)  # 50 left: below 60
    subject = "柯岩街道防汛物资库 编织袋 低于最低储备量"
    # The keeper and the township's command roles (the station staff), one each.
    assert told(stock.LOW_STOCK_KIND) == sorted([(world.same.pk, subject), (keeper.pk, subject)])
    body = Notification.objects.filter(kind=stock.LOW_STOCK_KIND).first().body
    assert "现有 50 条" in body and "最低储备量 60 条" in body
    minimum.refresh_from_db()
    assert minimum.low_since is not None

    take(10)  # still short: no second alert
    assert len(told(stock.LOW_STOCK_KIND)) == 2

    refill = post(
        client,
        f"/api/v1/depots/{depot.pk}/receive",
        {"lines": [{"item_code": "1999601", "quantity": 30, "lot_no": "B1"}]},
    )
    assert refill.status_code == 201
    minimum.refresh_from_db()
    assert minimum.low_since is None  # 70 again

    take(15)  # 55: a new shortage, a new alert
    assert len(told(stock.LOW_STOCK_KIND)) == 4


def test_a_refused_issue_tells_nobody(world, depot):
    bags = make_item("1999602", "沙袋")
    lot = put_in(depot, bags, 5, "S1")
    StockMinimum.objects.create(depot=depot, item=bags, minimum=3)
    response = post(
        world.client_for(world.same),
        f"/api/v1/depots/{depot.pk}/issue",
        {"purpose": "drill", "lines": [{"lot_id": lot.pk, "quantity": 6}]},
    )
    assert response.status_code == 409
    assert told(stock.LOW_STOCK_KIND) == []
    assert StockMinimum.objects.get(item=bags).low_since is None


def test_a_county_depot_tells_the_county(world):
    county_depot = make_depot(world.county, name="柯桥区救灾物资储备库")
    quilts = make_item("1999603", "棉被")
    lot = put_in(county_depot, quilts, 10, "Q1")
    StockMinimum.objects.create(depot=county_depot, item=quilts, minimum=10)
    stock.issue_stock(
        actor=world.parent, depot=county_depot, purpose="drill",
        lines=[stock.Take(quantity=1, lot=lot)],
    )  # fmt: skip
    assert [user for user, _subject in told(stock.LOW_STOCK_KIND)] == [world.parent.pk]


# --- near expiry -----------------------------------------------------------------------------


def test_the_sweep_tells_once_per_lot_within_each_items_warning(world, depot, keeper):
    water = make_item("1999604", "瓶装水", expiry_warning_days=30)
    noodles = make_item("1999605", "方便面", expiry_warning_days=60)
    tents = make_item("1999606", "帐篷")  # never expires
    soon = put_in(depot, water, 10, "W-SOON", expiry=days(10))
    put_in(depot, water, 10, "W-LATER", expiry=days(45))  # outside water's 30 days
    noodles_lot = put_in(depot, noodles, 10, "N-45", expiry=days(45))  # inside noodles' 60
    gone = put_in(depot, water, 4, "W-GONE", expiry=days(5))
    stock.issue_stock(
        actor=None, depot=depot, purpose="drill", lines=[stock.Take(quantity=4, lot=gone)]
    )  # empty: nothing to tell
    expired = put_in(depot, water, 2, "W-OLD", expiry=days(-1))
    put_in(depot, tents, 3, "T1")
    put_in(make_depot(world.township), water, 1, "OTHER", expiry=days(400))

    assert stock.sweep_near_expiry() == 3

    subjects = told(stock.NEAR_EXPIRY_KIND)
    assert subjects == sorted(
        [(user, "柯岩街道防汛物资库 有 3 批物资临期或过期") for user in (world.same.pk, keeper.pk)]
    )
    body = Notification.objects.filter(kind=stock.NEAR_EXPIRY_KIND).first().body
    assert "W-SOON" in body and "N-45" in body and "W-OLD" in body
    assert "W-LATER" not in body and "W-GONE" not in body
    alerted = set(
        StockLot.objects.filter(expiry_alerted_at__isnull=False).values_list("pk", flat=True)
    )
    assert alerted == {soon.pk, noodles_lot.pk, expired.pk}

    # The next run, and the one after: nothing new to say.
    assert stock.sweep_near_expiry() == 0
    assert stock.sweep_near_expiry(now=timezone.now() + timedelta(days=1)) == 0
    assert len(told(stock.NEAR_EXPIRY_KIND)) == 2
    # Weeks later the later lot enters its warning period, and is told about once.
    assert stock.sweep_near_expiry(now=timezone.now() + timedelta(days=20)) == 1


def test_the_sweep_is_a_daily_periodic_task_registered_with_the_worker(world, depot):
    from frontline.core.worker import SWEEPS
    from frontline.resources import tasks

    water = make_item("1999607", "瓶装水")
    put_in(depot, water, 10, "W", expiry=days(3))

    assert SWEEPS[tasks.NEAR_EXPIRY_SWEEP].function() == 1
    assert SWEEPS[tasks.NEAR_EXPIRY_SWEEP].function() == 0

    # Huey runs the crontab in UTC: once a day, at 07:30 in Shanghai.
    schedule = tasks.NEAR_EXPIRY_SCHEDULE
    minutes = [datetime(2026, 6, 1) + timedelta(minutes=m) for m in range(24 * 60)]
    assert [moment.strftime("%H:%M") for moment in minutes if schedule(moment)] == ["23:30"]
    assert tasks.near_expiry_sweep.name == f"sweep.{tasks.NEAR_EXPIRY_SWEEP}"


def test_the_sweep_tells_each_depot_its_own_people(world, depot):
    water = make_item("1999608", "瓶装水")
    sibling_depot = make_depot(world.sibling_township)
    put_in(depot, water, 1, "A", expiry=days(3))
    put_in(sibling_depot, water, 1, "B", expiry=days(3))
    chief = make_user(Role.STATION_CHIEF, world.sibling_township, "sibling-chief")

    assert stock.sweep_near_expiry() == 2

    by_user = dict(
        Notification.objects.filter(kind=stock.NEAR_EXPIRY_KIND).values_list(
            "recipient_id", "related_id"
        )
    )
    assert by_user[world.sibling.pk] == by_user[chief.pk] == str(sibling_depot.pk)
    assert by_user[world.same.pk] == str(depot.pk)
    assert world.parent.pk not in by_user  # the township's own station answers first
