"""/resources/: the counts of the user's scope, the charts' data, the nearby search form (the
whole page and the htmx partial), the links to the ledgers, and constant query counts."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from frontline.core.testing import page_queries
from frontline.resources.models import (
    DepotKind,
    DutyShift,
    EquipmentStatus,
    ShelterClass,
    ShelterStatus,
    StockLot,
    StockMinimum,
    TeamKind,
    TeamStatus,
)
from frontline.resources.services import search_index
from frontline.resources.testing import (
    make_depot,
    make_equipment,
    make_expert,
    make_item,
    make_member,
    make_shelter,
    make_team,
)

URL = "/resources/"


@pytest.fixture(autouse=True)
def _fresh_index():
    search_index.forget_indexes()
    yield
    search_index.forget_indexes()


def count(html: str, name: str) -> str:
    found = re.search(rf'data-count="{name}">([^<]*)<', html)
    assert found, name
    return found.group(1)


def stock(world):
    """One township's resources, and a sibling's to be left out."""
    now = timezone.now()
    today = timezone.localdate()
    item = make_item("3999101", "帐篷", unit="顶")
    depot = make_depot(world.township, DepotKind.FLOOD, name="柯岩防汛物资库")
    make_depot(world.township, DepotKind.RELIEF)
    StockLot.objects.create(depot=depot, item=item, quantity=5, expiry_date=today + timedelta(5))
    StockLot.objects.create(depot=depot, item=item, quantity=5, expiry_date=today - timedelta(1))
    StockMinimum.objects.create(depot=depot, item=item, minimum=50)
    team = make_team(world.township, TeamKind.MICRO_FIRE_STATION, capabilities=["firefighting"])
    make_team(world.township, TeamKind.RESCUE_SQUAD, status=TeamStatus.DEPLOYED)
    for _n in range(2):
        DutyShift.objects.create(
            team=team,
            member=make_member(team),
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=2),
        )
    make_equipment(world.township)
    make_equipment(world.township, status=EquipmentStatus.MAINTENANCE)
    make_shelter(
        world.township, area_m2=150, name="州山小学", status=ShelterStatus.OPEN, occupancy=60
    )
    make_shelter(world.township, area_m2=300, shelter_class=ShelterClass.CLASS_II)
    make_expert(world.township)
    make_depot(world.sibling_township, DepotKind.FLOOD)
    make_team(world.sibling_township)
    make_shelter(world.sibling_township, area_m2=3000, status=ShelterStatus.OPEN, occupancy=5)
    return depot


def test_counts_are_the_scope_s(world):
    stock(world)
    html = world.client_for(world.same).get(URL).content.decode()
    assert count(html, "depots") == "2"
    assert count(html, "teams") == "1/2"
    assert count(html, "ready") == "2"
    assert count(html, "equipment") == "1/2"
    assert count(html, "shelters") == "1/2"
    assert count(html, "occupancy") == "60/300"
    assert count(html, "experts") == "1/1"
    assert count(html, "near-expiry") == "2"
    assert count(html, "below-minimum") == "1"

    sibling = world.client_for(world.sibling).get(URL).content.decode()
    assert count(sibling, "depots") == "1" and count(sibling, "teams") == "1/1"
    assert count(sibling, "occupancy") == "5/2,000"
    county = world.client_for(world.parent).get(URL).content.decode()
    assert count(county, "depots") == "3" and count(county, "occupancy") == "65/2,300"
    outsider = world.client_for(world.outsider).get(URL).content.decode()
    assert count(outsider, "depots") == "0" and count(outsider, "near-expiry") == "0"


def test_page_needs_a_login_and_links_the_ledgers(world):
    anonymous = world.client_for(None).get(URL)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    html = world.client_for(world.grid_worker).get(URL).content.decode()
    for path in ("/depots/", "/teams/", "/equipment/", "/experts/", "/shelters/"):
        assert f'href="{path}' in html, path
    assert "vendor/leaflet/leaflet.js" in html and 'id="nearby-map"' in html


def test_charts_data(world):
    stock(world)
    html = world.client_for(world.same).get(URL).content.decode()

    def chart(name):
        found = re.search(
            rf'<script id="chart-{name}" type="application/json">(.*?)</script>', html
        )
        return json.loads(found.group(1))

    assert [item["value"] for item in chart("equipment")["items"]] == [1, 1]
    shelters = chart("shelters")
    assert shelters["labels"] == ["州山小学"] and shelters["series"][0]["values"] == [60]
    assert shelters["series"][1]["values"] == [40]
    assert chart("expiry")["labels"] == ["柯岩防汛物资库"]
    empty = world.client_for(world.outsider).get(URL).content.decode()
    assert 'id="chart-equipment"' not in empty and "echarts.min.js" not in empty


def test_nearby_search_on_the_page_and_as_a_partial(world):
    team = make_team(world.township, capabilities=["water_rescue"], lon=120.43, lat=30.02)
    client = world.client_for(world.same)
    query = {"lon": "120.42", "lat": "30.02", "radius_km": "5", "capability": "water_rescue"}

    html = client.get(URL, query).content.decode()
    assert f'data-id="{team.pk}"' in html and 'id="nearby-found"' in html
    partial = client.get("/resources/nearby/", query)
    assert partial.status_code == 200
    body = partial.content.decode()
    assert f'data-id="{team.pk}"' in body and "<html" not in body
    found = re.search(r'<script id="nearby-found" type="application/json">(.*?)</script>', body)
    data = json.loads(found.group(1))
    assert data["center"] == [120.42, 30.02] and data["radius_m"] == 5000
    assert data["markers"][0]["at"] == [120.43, 30.02]

    bad = client.get("/resources/nearby/", {**query, "radius_km": "900", "lon": "nan"})
    assert bad.status_code == 422
    assert 'data-error="radius_km"' in bad.content.decode()
    assert 'data-error="lon"' in bad.content.decode()
    assert client.get(URL, {**query, "capability": "x"}).status_code == 422

    sibling = world.client_for(world.sibling).get("/resources/nearby/", query).content.decode()
    assert f'data-id="{team.pk}"' not in sibling and 'data-results="none"' in sibling
    assert world.client_for(None).get("/resources/nearby/", query).status_code == 302


def test_supplies_search_on_the_page(world):
    depot = stock(world)
    query = {"mode": "supplies", "item": "3999101", "lon": "120.42", "lat": "30.02"}
    html = world.client_for(world.same).get("/resources/nearby/", query).content.decode()
    # 5 tents in a lot still good, the expired lot left out.
    assert f'data-id="{depot.pk}"' in html and "<strong>5</strong>" in html


def test_page_costs_constant_queries(world):
    client = world.client_for(world.parent)
    stock(world)
    response, few = page_queries(client, URL)
    assert response.status_code == 200
    stock_more = [make_team(world.township) for _n in range(5)]
    for n in range(5):
        make_shelter(world.township, status=ShelterStatus.OPEN, occupancy=n)
        make_equipment(world.township)
        make_depot(world.sibling_township)
    assert stock_more
    response, many = page_queries(client, URL)
    assert len(many) == len(few), [q["sql"] for q in many]
