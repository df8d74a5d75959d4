"""Equipment and vehicles: the file (home base from the team or depot), status transitions
with events, inspections and maintenance moving the due dates, the API and pages, and the
sweep that tells people once about checks falling due."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.models import Notification
from frontline.core.roles import Role
from frontline.core.testing import (
    assert_api_matrix,
    assert_page_matrix,
    assert_queryset_matrix,
    make_user,
)
from frontline.core.worker import SWEEPS
from frontline.resources.models import Equipment, EquipmentStatus, ResourceEvent
from frontline.resources.services import equipment as services
from frontline.resources.services.events import timeline
from frontline.resources.testing import make_depot, make_equipment, make_team

TODAY = timezone.localdate


def register(world, actor=None, **kw):
    fields = {"name": "冲锋舟", "kind": "boat", "region": world.township, "lon": 120.4, "lat": 30.0}
    return services.create_equipment(actor=actor or world.same, **(fields | kw))


def post(client, url, body, method="post"):
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


# --- services ----------------------------------------------------------------------------------


def test_equipment_takes_its_home_from_the_team_or_depot(world):
    team = make_team(world.township, lon=120.43, lat=30.02, address="柯岩救援队驻地")
    pump = services.create_equipment(
        actor=world.same, name="抽水泵", kind="pump", team=team, capabilities=["drainage"]
    )
    assert (pump.region, pump.lon, pump.lat) == (world.township, 120.43, 30.02)
    assert pump.base_address == "柯岩救援队驻地" and pump.capabilities == ",drainage,"
    assert [e.kind for e in timeline(pump)] == ["created"]
    assert_queryset_matrix(Equipment.objects, pump, world)
    depot = make_depot(world.township, lon=120.44, lat=30.03)
    moved = services.update_equipment(actor=world.same, equipment=pump, team=None, depot=depot)
    assert (moved.lon, moved.lat, moved.team, moved.depot) == (120.44, 30.03, None, depot)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"capabilities": ["teleport"]}, "capabilities"),
        ({"kind": "rocket"}, "kind"),
        ({"lon": None, "lat": None}, "lon"),
        ({"kind": "pump", "plate_no": "浙D12345"}, "plate_no"),
    ],
)
def test_bad_equipment_input_is_refused(world, kw, field):
    with pytest.raises(InvalidInput) as error:
        register(world, **kw)
    assert field in error.value.details
    assert not Equipment.objects.exists() and not ResourceEvent.objects.exists()


def test_team_and_depot_at_once_or_from_elsewhere_are_refused(world):
    team, depot = make_team(world.township), make_depot(world.township)
    with pytest.raises(InvalidInput) as error:
        register(world, team=team, depot=depot)
    assert "depot" in error.value.details
    far = make_team(world.sibling_township)
    with pytest.raises(InvalidInput) as error:
        register(world, team=far)
    assert "team" in error.value.details
    with pytest.raises(PermissionDenied):
        register(world, actor=world.sibling)


def test_status_transitions_and_events(world):
    boat = register(world)
    services.set_equipment_status(actor=world.same, equipment=boat, status="in_use", note="出动")
    services.set_equipment_status(
        actor=world.same, equipment=boat, status="out_of_order", note="发动机故障"
    )
    with pytest.raises(DomainError) as error:
        services.set_equipment_status(actor=world.same, equipment=boat, status="in_use")
    assert error.value.code == "illegal_transition" and error.value.status == 409
    with pytest.raises(InvalidInput) as error:
        services.set_equipment_status(actor=world.same, equipment=boat, status="out_of_order")
    boat.refresh_from_db()
    assert boat.status == EquipmentStatus.OUT_OF_ORDER
    steps = [(e.from_state, e.to_state) for e in timeline(boat) if e.kind == "status"]
    assert steps == [("available", "in_use"), ("in_use", "out_of_order")]


def test_an_inspection_or_maintenance_moves_the_due_date(world):
    boat = register(world, next_inspection_due=TODAY() - timedelta(days=3))
    assert services.due_state(boat) == {"inspection": "overdue"}
    services.record_check(actor=world.same, equipment=boat, kind="inspection", note="年检合格")
    boat.refresh_from_db()
    assert boat.next_inspection_due == TODAY() + timedelta(days=365)
    given = TODAY() + timedelta(days=5)
    services.record_check(actor=world.same, equipment=boat, kind="maintenance", next_due=given)
    boat.refresh_from_db()
    assert boat.next_maintenance_due == given
    assert services.due_state(boat) == {"maintenance": "soon"}
    assert [e.kind for e in timeline(boat)][-2:] == ["inspected", "maintained"]
    for kw in (
        {"kind": "painting"},
        {"kind": "inspection", "done_on": TODAY() + timedelta(days=1)},
        {"kind": "inspection", "next_due": TODAY() - timedelta(days=1)},
    ):
        with pytest.raises(InvalidInput):
            services.record_check(actor=world.same, equipment=boat, **kw)


# --- the sweep ---------------------------------------------------------------------------------


def test_sweep_tells_depot_and_team_people_once_per_due_date(world):
    keeper_user = make_user(Role.STATION_STAFF, world.township, "keeper")
    depot = make_depot(world.township, keeper=keeper_user.person)
    leader_user = make_user(None, world.village, "leader1")
    team = make_team(world.township, leader=leader_user.person)
    soon = TODAY() + timedelta(days=3)
    in_depot = make_equipment(world.township, depot=depot, next_inspection_due=soon)
    with_team = make_equipment(
        world.township, team=team, next_maintenance_due=TODAY() - timedelta(days=2)
    )
    make_equipment(world.township, next_inspection_due=TODAY() + timedelta(days=30))  # not yet
    result = services.notify_equipment_due()
    assert result == {"equipment": 2, "notifications": 2}
    told = Notification.objects.filter(kind=services.DUE_NOTIFICATION_KIND)
    recipients = {n.recipient_id for n in told}
    assert {keeper_user.pk, leader_user.pk, world.same.pk} <= recipients
    assert ResourceEvent.objects.filter(
        object_id=in_depot.pk, kind="inspection_due_told", to_state=soon.isoformat()
    ).exists()
    assert services.notify_equipment_due() == {"equipment": 0, "notifications": 0}
    # Maintenance recorded: a new due date, told again when it comes close.
    services.record_check(
        actor=world.same,
        equipment=with_team,
        kind="maintenance",
        next_due=TODAY() + timedelta(days=1),
    )
    assert services.notify_equipment_due()["equipment"] == 1


def test_sweep_is_registered_with_the_worker():
    from frontline.resources import tasks_units  # noqa: F401

    assert {"notify_equipment_due", "notify_expiring_certificates"} <= set(SWEEPS)


# --- API ---------------------------------------------------------------------------------------


def test_equipment_api_matrix_filters_and_writes(world):
    team = make_team(world.township, capabilities=["water_rescue"])
    boat = make_equipment(
        world.township, team=team, kind="boat", capabilities=["water_rescue"], name="冲锋舟"
    )
    make_equipment(world.township, kind="generator", next_inspection_due=TODAY())
    assert_api_matrix(world, f"/api/v1/equipment/{boat.pk}")
    client = world.client_for(world.same)
    listed = client.get("/api/v1/equipment?capability=water_rescue").json()
    assert [row["id"] for row in listed["items"]] == [boat.pk]
    assert listed["items"][0]["team_name"] == team.name
    due = client.get("/api/v1/equipment?due=true").json()["items"]
    assert [row["kind"] for row in due] == ["generator"] and due[0]["due"] == {"inspection": "soon"}
    assert client.get("/api/v1/equipment?capability=x").status_code == 422
    sibling = world.client_for(world.sibling)
    assert sibling.get("/api/v1/equipment").json()["count"] == 0
    assert (
        post(sibling, f"/api/v1/equipment/{boat.pk}/status", {"status": "in_use"}).status_code
        == 404
    )

    created = post(
        client,
        "/api/v1/equipment",
        {"name": "照明车", "kind": "rescue_vehicle", "team_id": team.pk, "plate_no": "浙d 12345"},
    )
    assert created.status_code == 201, created.json()
    assert created.json()["plate_no"] == "浙D12345" and created.json()["lon"] == team.lon
    status = post(client, f"/api/v1/equipment/{boat.pk}/status", {"status": "in_use"})
    assert status.json()["status"] == "in_use" and status.json()["timeline"][-1]["kind"] == "status"
    illegal = post(client, f"/api/v1/equipment/{boat.pk}/status", {"status": "in_use"})
    assert illegal.status_code == 409
    check = post(client, f"/api/v1/equipment/{boat.pk}/checks", {"kind": "inspection"})
    assert check.json()["next_inspection_due"] == (TODAY() + timedelta(days=365)).isoformat()
    hidden = make_depot(world.sibling_township)
    refused = post(
        client, "/api/v1/equipment", {"name": "泵", "kind": "pump", "depot_id": hidden.pk}
    )
    assert refused.status_code == 422 and "depot_id" in refused.json()["details"]


def test_equipment_api_list_query_count(world):
    client = world.client_for(world.parent)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/equipment").status_code == 200
        return len(queries)

    make_equipment(world.township, team=make_team(world.township))
    few = count()
    for n in range(8):
        make_equipment(world.village, team=make_team(world.village, name=f"队{n}"))
        make_equipment(world.village, depot=make_depot(world.village))
    assert count() == few


# --- pages -------------------------------------------------------------------------------------


def test_equipment_pages(world):
    overdue = make_equipment(
        world.township, name="老抽水泵", next_inspection_due=TODAY() - timedelta(days=1)
    )
    assert_page_matrix(world, f"/equipment/{overdue.pk}/")
    client = world.client_for(world.same)
    page = client.get("/equipment/").content.decode()
    assert "老抽水泵" in page and 'class="overdue"' in page
    assert "老抽水泵" not in world.client_for(world.sibling).get("/equipment/").content.decode()
    detail = client.get(f"/equipment/{overdue.pk}/").content.decode()
    assert 'data-testid="overdue"' in detail
    assert (
        client.post(f"/equipment/{overdue.pk}/status/", {"status": "maintenance"}).status_code
        == 302
    )
    overdue.refresh_from_db()
    assert overdue.status == "maintenance"
    bad = client.post(
        f"/equipment/{overdue.pk}/check/", {"kind": "inspection", "next_due": "2000-01-01"}
    )
    assert bad.status_code == 422
    good = client.post(f"/equipment/{overdue.pk}/check/", {"kind": "inspection"})
    assert good.status_code == 302
    overdue.refresh_from_db()
    assert overdue.next_inspection_due > TODAY()
    team = make_team(world.township, lon=120.42, lat=30.02)
    created = client.post(
        "/equipment/new/",
        {"name": "发电机", "kind": "generator", "team": team.pk, "capabilities": ["power"]},
    )
    assert created.status_code == 302, created.content.decode()
    assert Equipment.objects.get(name="发电机").lon == 120.42
    leader = make_user(Role.LEADER, world.county, "leader")
    assert world.client_for(leader).get("/equipment/new/").status_code == 403
