"""/api/v1/resources/nearby and /nearby-supplies: answers, GCJ-02 input, scope, bad input."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from frontline.core.geo import wgs84_to_gcj02
from frontline.resources.models import StockLot
from frontline.resources.services import search_index
from frontline.resources.testing import make_depot, make_equipment, make_item, make_team

NEARBY = "/api/v1/resources/nearby"
SUPPLIES = "/api/v1/resources/nearby-supplies"
HERE = {"lon": "120.42", "lat": "30.02"}


@pytest.fixture(autouse=True)
def _fresh_index():
    search_index.forget_indexes()
    yield
    search_index.forget_indexes()


def test_nearby_teams_and_equipment(world):
    team = make_team(world.township, capabilities=["water_rescue"], lon=120.43, lat=30.02)
    boat = make_equipment(
        world.township, capabilities=["water_rescue"], lon=120.41, lat=30.02, team=team
    )
    client = world.client_for(world.same)

    body = client.get(NEARBY, {**HERE, "capability": "water_rescue", "radius_km": 5}).json()
    assert [r["id"] for r in body["results"]] == [team.pk]
    row = body["results"][0]
    assert row["kind"] == "team" and row["direction"] == "东" and row["lon"] == 120.43
    assert row["distance_km"] == pytest.approx(0.964, abs=0.01)
    assert body["origin"] == {
        "lon": 120.42,
        "lat": 30.02,
        "radius_km": 5.0,
        "coord_system": "wgs84",
    }

    body = client.get(NEARBY, {**HERE, "kind": "equipment", "limit": 5}).json()
    assert [(r["id"], r["team_name"], r["direction"]) for r in body["results"]] == [
        (boat.pk, team.name, "西")
    ]


def test_gcj02_in_and_out(world):
    team = make_team(world.township, capabilities=["hazmat"], lon=120.43, lat=30.02)
    glon, glat = wgs84_to_gcj02(120.42, 30.02)
    body = (
        world.client_for(world.same)
        .get(NEARBY, {"lon": glon, "lat": glat, "coord_system": "gcj02", "radius_km": 3})
        .json()
    )
    row = body["results"][0]
    assert row["id"] == team.pk
    # The distance is the true one; the position answers in the system asked.
    assert row["distance_km"] == pytest.approx(0.964, abs=0.01)
    expected = wgs84_to_gcj02(120.43, 30.02)
    assert (row["lon"], row["lat"]) == pytest.approx(expected, abs=1e-6)


def test_scope_through_the_api(world):
    ours = make_team(world.township, lon=120.45, lat=30.02)
    theirs = make_team(world.sibling_township, lon=120.52, lat=30.02)
    query = {**HERE, "radius_km": 100}

    def seen(user):
        response = world.client_for(user).get(NEARBY, query)
        assert response.status_code == 200
        return {row["id"] for row in response.json()["results"]}

    assert seen(world.same) == {ours.pk}
    assert seen(world.sibling) == {theirs.pk}
    assert seen(world.parent) == {ours.pk, theirs.pk}
    assert seen(world.outsider) == set()
    assert world.client_for(None).get(NEARBY, query).status_code == 401
    assert world.client_for(None).get(SUPPLIES, {**query, "item": "1010101"}).status_code == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"lon": "nan", "lat": "30"}, "lon"),
        ({"lon": "NaN", "lat": "30"}, "lon"),
        ({"lon": "inf", "lat": "30"}, "lon"),
        ({"lon": "181", "lat": "30"}, "lon"),
        ({"lon": "120", "lat": "-90.5"}, "lat"),
        ({"lon": "abc", "lat": "30"}, "lon"),
        ({"lat": "30"}, "lon"),
        ({**HERE, "radius_km": "0"}, "radius_km"),
        ({**HERE, "radius_km": "-3"}, "radius_km"),
        ({**HERE, "radius_km": "501"}, "radius_km"),
        ({**HERE, "radius_km": "nan"}, "radius_km"),
        ({**HERE, "capability": "flying"}, "capability"),
        ({**HERE, "kind": "boats"}, "kind"),
        ({**HERE, "limit": "0"}, "limit"),
        ({**HERE, "limit": "51"}, "limit"),
        ({**HERE, "coord_system": "mars"}, "coord_system"),
    ],
)
def test_bad_input_is_422_with_the_field(world, query, field):
    response = world.client_for(world.same).get(NEARBY, query)
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "validation_error" and field in body["details"], body


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({**HERE, "item": "12"}, "item"),
        ({**HERE, "item": "9999999"}, "item"),
        ({**HERE, "item": "3999101", "min_quantity": "0"}, "min_quantity"),
        ({**HERE, "item": "3999101", "radius_km": "600"}, "radius_km"),
        (HERE, "item"),
    ],
)
def test_supplies_bad_input(world, query, field):
    make_item("3999101", "帐篷")
    response = world.client_for(world.same).get(SUPPLIES, query)
    assert response.status_code == 422, response.content
    assert field in response.json()["details"]


def test_nearby_supplies(world):
    tent = make_item("3999101", "帐篷", unit="顶")
    depot = make_depot(world.township, lon=120.43, lat=30.02, name="柯岩救灾物资库")
    StockLot.objects.create(depot=depot, item=tent, quantity=40)
    theirs = make_depot(world.sibling_township, lon=120.52, lat=30.02)
    StockLot.objects.create(depot=theirs, item=tent, quantity=400)
    query = {**HERE, "item": "3999101", "min_quantity": 10, "radius_km": 50}

    body = world.client_for(world.same).get(SUPPLIES, query).json()
    assert [(d["name"], d["quantity"]) for d in body["results"]] == [("柯岩救灾物资库", 40)]
    assert body["results"][0]["items"] == [
        {"code": "3999101", "name": "帐篷", "unit": "顶", "quantity": 40}
    ]
    assert body["item_name"] == "帐篷" and body["results"][0]["url"] == f"/depots/{depot.pk}/"
    county = world.client_for(world.parent).get(SUPPLIES, query).json()
    assert [d["id"] for d in county["results"]] == [depot.pk, theirs.pk]


def test_nearby_costs_constant_queries(world):
    client = world.client_for(world.same)
    make_team(world.township, lon=120.43, lat=30.02)
    client.get(NEARBY, HERE)  # build the index

    def measure():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(NEARBY, HERE)
        return len(response.json()["results"]), len(queries)

    one, few = measure()
    for index in range(8):
        make_team(world.township, lon=120.43 + index / 1000, lat=30.02)
    client.get(NEARBY, HERE)  # rebuild
    nine, many = measure()
    assert (one, nine) == (1, 9)
    assert many == few
