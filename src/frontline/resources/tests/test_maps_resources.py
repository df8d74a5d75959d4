"""The resources' map layers: depots, teams, equipment bases and shelters — colours, popups,
filters, the scope of each persona, and query counts that do not grow with the pins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontline.resources.models import (
    Depot,
    DepotKind,
    DutyShift,
    EquipmentKind,
    EquipmentStatus,
    ShelterClass,
    ShelterStatus,
    StockLot,
    StockMinimum,
    TeamKind,
    TeamStatus,
)
from frontline.resources.testing import (
    make_depot,
    make_equipment,
    make_item,
    make_member,
    make_shelter,
    make_team,
)

BBOX = {"bbox": "120.3,29.9,120.9,30.2"}
LAYERS = ("resources.depots", "resources.teams", "resources.equipment", "resources.shelters")


def features(client, key: str, **query) -> list[dict]:
    response = client.get(f"/api/v1/map/layers/{key}", {**BBOX, **query})
    assert response.status_code == 200, response.content
    return [f["properties"] for f in response.json()["features"]]


def by_name(rows: list[dict]) -> dict[str, dict]:
    return {row["name"]: row for row in rows}


def test_layers_are_listed_with_legends(world):
    listed = {
        layer["key"]: layer
        for layer in world.client_for(world.same).get("/api/v1/map/layers").json()
    }
    for key in LAYERS:
        assert key in listed and listed[key]["legend"], key


def test_depots_by_kind_red_with_near_expiry_or_below_minimum(world):
    today = timezone.localdate()
    item = make_item("3999101", "帐篷", expiry_warning_days=30)
    calm = make_depot(world.township, DepotKind.FLOOD, name="防汛库", lon=120.41, lat=30.01)
    worried = make_depot(world.township, DepotKind.RELIEF, name="救灾库", lon=120.42, lat=30.01)
    StockLot.objects.create(depot=calm, item=item, quantity=9, expiry_date=today + timedelta(90))
    StockLot.objects.create(depot=worried, item=item, quantity=3, expiry_date=today + timedelta(9))
    StockLot.objects.create(depot=worried, item=item, quantity=3, expiry_date=today - timedelta(1))
    StockLot.objects.create(depot=worried, item=item, quantity=0, expiry_date=today)  # empty
    StockMinimum.objects.create(depot=worried, item=item, minimum=10)
    StockMinimum.objects.create(depot=calm, item=item, minimum=9)
    client = world.client_for(world.same)

    shown = by_name(features(client, "resources.depots"))
    assert shown["防汛库"]["color"] == "#1f6fd1" and shown["防汛库"]["glyph"] == "汛"
    assert shown["防汛库"]["alert"] is False
    worried_pin = shown["救灾库"]
    assert worried_pin["color"] == "#d92d20" and worried_pin["glyph"] == "灾"
    assert (worried_pin["near_expiry"], worried_pin["below_minimum"]) == (2, 1)
    assert "2 批物资临期或过期" in worried_pin["popup"]
    assert "1 种物资低于最低储备量" in worried_pin["popup"]
    assert f'href="/depots/{worried.pk}/"' in worried_pin["popup"]
    assert [p["name"] for p in features(client, "resources.depots", alert="1")] == ["救灾库"]
    assert [p["name"] for p in features(client, "resources.depots", kind="flood")] == ["防汛库"]


def test_teams_coloured_by_status_with_ready_headcount(world):
    now = timezone.now()
    station = make_team(
        world.township,
        TeamKind.MICRO_FIRE_STATION,
        name="州山微型消防站",
        min_on_duty=3,
        capabilities=["firefighting"],
        duty_phone="0575-84123456",
        lon=120.41,
        lat=30.01,
    )
    for _n in range(2):
        DutyShift.objects.create(
            team=station,
            member=make_member(station),
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=1),
        )
    make_team(world.township, name="民兵分队", status=TeamStatus.DEPLOYED, lon=120.42, lat=30.01)
    client = world.client_for(world.same)

    shown = by_name(features(client, "resources.teams"))
    pin = shown["州山微型消防站"]
    assert (pin["color"], pin["glyph"], pin["ready_now"]) == ("#15803d", "微", 2)
    assert pin["understaffed"] is True
    for text in ("当前在岗", "2", "最少 3 人", "在岗人数不足", "灭火", "0575-84123456"):
        assert text in pin["popup"], text
    assert shown["民兵分队"]["color"] == "#1f6fd1"
    assert [p["name"] for p in features(client, "resources.teams", status="deployed")] == [
        "民兵分队"
    ]
    assert [p["name"] for p in features(client, "resources.teams", capability="firefighting")] == [
        "州山微型消防站"
    ]


def test_equipment_one_pin_per_base_coloured_by_what_can_go(world):
    team = make_team(world.township, name="柯岩救援队", lon=120.41, lat=30.01)
    for status in (EquipmentStatus.AVAILABLE, EquipmentStatus.IN_USE, EquipmentStatus.AVAILABLE):
        make_equipment(
            world.township, EquipmentKind.PUMP, team=team, status=status, lon=120.41, lat=30.01
        )
    make_equipment(
        world.township, EquipmentKind.BOAT, team=team, status=EquipmentStatus.IN_USE,
        lon=120.41, lat=30.01,
    )  # fmt: skip
    depot = make_depot(world.township, name="器材库", lon=120.43, lat=30.01)
    make_equipment(
        world.township, depot=depot, status=EquipmentStatus.MAINTENANCE, lon=120.43, lat=30.01
    )
    make_equipment(
        world.township, status=EquipmentStatus.IN_USE, lon=120.44, lat=30.01, base_address="村委会"
    )
    client = world.client_for(world.same)

    shown = by_name(features(client, "resources.equipment"))
    assert set(shown) == {"柯岩救援队", "器材库", "村委会"}
    base = shown["柯岩救援队"]
    assert (base["total"], base["available"], base["color"]) == (4, 2, "#15803d")
    assert base["counts"] == {"available": 2, "in_use": 2}
    assert "可用 2/3" in base["popup"] and "可用 0/1" in base["popup"]
    assert f'href="/teams/{team.pk}/"' in base["popup"] or "/teams/" in base["url"]
    assert shown["器材库"]["color"] == "#8a94a6" and shown["村委会"]["color"] == "#1f6fd1"
    assert set(by_name(features(client, "resources.equipment", status="maintenance"))) == {"器材库"}


def test_shelters_coloured_by_occupancy_full_marked(world):
    def shelter(name, status, occupancy, **kw):
        return make_shelter(
            world.township, area_m2=150, name=name, status=status, occupancy=occupancy, **kw
        )

    shelter("未启用场所", ShelterStatus.CLOSED, 0)
    shelter("空闲场所", ShelterStatus.OPEN, 10, shelter_class=ShelterClass.CLASS_I)
    shelter("将满场所", ShelterStatus.OPEN, 85)
    shelter("满员场所", ShelterStatus.FULL, 100)
    shelter("超员场所", ShelterStatus.OPEN, 100)
    shown = by_name(features(world.client_for(world.same), "resources.shelters"))
    colours = {name: row["color"] for name, row in shown.items()}
    assert colours == {
        "未启用场所": "#8a94a6",
        "空闲场所": "#15803d",
        "将满场所": "#f08c00",
        "满员场所": "#d92d20",
        "超员场所": "#d92d20",
    }
    assert shown["满员场所"]["full"] is True and shown["超员场所"]["full"] is True
    assert shown["空闲场所"]["glyph"] == "Ⅰ" and shown["将满场所"]["glyph"] == "Ⅲ"
    popup = shown["将满场所"]["popup"]
    assert "85 / 100（85%）" in popup and "剩余床位：15" in popup
    assert "已满员" in shown["满员场所"]["popup"]


def populate(world, region, lon: float, n: int = 1) -> None:
    for index in range(n):
        at = {"lon": lon + index / 1000, "lat": 30.01}
        depot = make_depot(region, **at)
        make_team(region, **at)
        make_equipment(region, depot=depot, **at)
        make_shelter(region, status=ShelterStatus.OPEN, occupancy=index, **at)


@pytest.mark.parametrize("key", LAYERS)
def test_layer_scope_matrix(world, key):
    populate(world, world.township, 120.41)
    populate(world, world.sibling_township, 120.51)
    populate(world, world.other_county, 120.81)
    counts = {
        persona: len(features(world.client_for(user), key))
        for persona, user in world.personas().items()
    }
    assert counts == {"same": 1, "parent": 2, "sibling": 1, "outsider": 1}
    # Resources belong to the township, above the grid worker's grid.
    assert features(world.client_for(world.grid_worker), key) == []
    assert world.client_for(None).get(f"/api/v1/map/layers/{key}", BBOX).status_code == 401
    # The box limits the pins: the county sees only the township's in a box around it.
    assert len(features(world.client_for(world.parent), key, bbox="120.40,29.9,120.45,30.2")) == 1


@pytest.mark.parametrize("key", LAYERS)
def test_layer_costs_constant_queries(world, key):
    item = make_item("3999101", "帐篷")
    client = world.client_for(world.parent)
    populate(world, world.township, 120.41)

    def measure():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/v1/map/layers/{key}", BBOX)
        assert response.status_code == 200
        return len(response.json()["features"]), len(queries)

    one, few = measure()
    populate(world, world.township, 120.42, n=6)
    for depot in Depot.objects.all():
        StockLot.objects.create(
            depot=depot, item=item, quantity=1, expiry_date=timezone.localdate()
        )
        StockMinimum.objects.create(depot=depot, item=item, minimum=5)
    seven, many = measure()
    assert (one, seven) == (1, 7)
    assert many == few
