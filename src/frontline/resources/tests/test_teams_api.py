"""/api/v1 of teams: the authorization matrix, the list with readiness and its query count,
the detail with masked members, and the writes, including bad input that changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontline.core.testing import assert_api_matrix, make_person
from frontline.resources.models import DutyShift, RescueTeam, ResourceEvent, TeamKind, TeamMember
from frontline.resources.services import teams as services
from frontline.resources.testing import make_equipment, make_member, make_team


def post(client, url, body, method="post"):
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


def shift_now(team, member):
    now = timezone.now()
    return services.create_shift(
        actor=None,
        team=team,
        member=member,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=7),
    )


def test_team_endpoints_follow_the_authorization_matrix(world):
    team = make_team(world.township)
    member = make_member(team)
    shift = shift_now(team, member)
    assert_api_matrix(world, f"/api/v1/teams/{team.pk}")
    assert_api_matrix(world, f"/api/v1/teams/{team.pk}/shifts")
    for persona in ("sibling", "outsider"):
        client = world.client_for(getattr(world, persona))
        listed = client.get("/api/v1/teams").json()
        assert listed["count"] == 0
        assert (
            post(client, f"/api/v1/teams/{team.pk}/status", {"status": "deployed"}).status_code
            == 404
        )
        gone = client.delete(f"/api/v1/teams/{team.pk}/shifts/{shift.pk}")
        assert gone.status_code == 404
    assert DutyShift.objects.filter(pk=shift.pk).exists()
    assert world.client_for(world.parent).get("/api/v1/teams").json()["count"] == 1


def test_list_filters_and_shows_readiness(world):
    water = make_team(world.township, capabilities=["water_rescue"], name="水上救援队")
    micro = make_team(
        world.village,
        kind=TeamKind.MICRO_FIRE_STATION,
        capabilities=["firefighting"],
        min_on_duty=3,
    )
    for _n in range(2):
        shift_now(micro, make_member(micro))
    make_member(micro)
    client = world.client_for(world.same)
    rows = {row["id"]: row for row in client.get("/api/v1/teams").json()["items"]}
    assert rows[micro.pk]["ready_now"] == 2 and rows[micro.pk]["member_count"] == 3
    assert rows[micro.pk]["meets_rule"] is False and rows[water.pk]["meets_rule"] is True
    found = client.get("/api/v1/teams?capability=water_rescue").json()["items"]
    assert [row["id"] for row in found] == [water.pk]
    assert client.get("/api/v1/teams?kind=micro_fire_station").json()["count"] == 1
    assert client.get("/api/v1/teams?ready=false").json()["items"][0]["id"] == micro.pk
    bad = client.get("/api/v1/teams?capability=teleport")
    assert bad.status_code == 422 and "capability" in bad.json()["details"]
    available = client.get("/api/v1/teams/available").json()["items"]
    assert [row["id"] for row in available] == [water.pk]
    assert client.get("/api/v1/teams/available?capability=firefighting").json()["count"] == 0


def test_list_query_count_does_not_grow_with_rows(world):
    client = world.client_for(world.parent)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/teams").status_code == 200
        return len(queries)

    make_team(world.township, leader=make_person(world.township))
    few = count()
    for n in range(8):
        team = make_team(world.village, name=f"队{n}", leader=make_person(world.village))
        shift_now(team, make_member(team))
    assert count() == few


def test_detail_masks_members_and_lists_who_is_on_duty(world):
    team = make_team(world.township)
    person = make_person(world.village, name="李救援", mobile="13912345678")
    member = make_member(team, person=person)
    off = make_member(team)
    shift_now(team, member)
    make_equipment(world.township, team=team, name="冲锋舟")
    body = world.client_for(world.same).get(f"/api/v1/teams/{team.pk}").json()
    assert "13912345678" not in json.dumps(body, ensure_ascii=False)
    members = {m["id"]: m for m in body["members"]}
    assert members[member.pk]["mobile_masked"] == "139****5678"
    assert members[member.pk]["on_duty_now"] is True and members[off.pk]["on_duty_now"] is False
    assert [s["member_id"] for s in body["on_duty"]] == [member.pk]
    assert [e["name"] for e in body["equipment"]] == ["冲锋舟"]
    assert body["ready_now"] == 1


def test_create_update_and_status(world):
    client = world.client_for(world.same)
    created = post(
        client,
        "/api/v1/teams",
        {
            "region_code": world.township.code,
            "name": "州山村微型消防站",
            "kind": "micro_fire_station",
            "lon": 120.41,
            "lat": 30.01,
            "capabilities": ["firefighting"],
        },
    )
    assert created.status_code == 201, created.json()
    team_id = created.json()["id"]
    assert created.json()["min_on_duty"] == 3
    patched = post(client, f"/api/v1/teams/{team_id}", {"response_minutes": 3}, method="patch")
    assert patched.status_code == 200 and patched.json()["response_minutes"] == 3
    status = post(client, f"/api/v1/teams/{team_id}/status", {"status": "deployed", "note": "火警"})
    assert status.json()["status"] == "deployed"
    assert status.json()["timeline"][-1]["to_state"] == "deployed"
    again = post(client, f"/api/v1/teams/{team_id}/status", {"status": "deployed"})
    assert again.status_code == 409 and again.json()["code"] == "same_status"


def test_bad_input_answers_422_and_changes_nothing(world):
    client = world.client_for(world.same)
    base = {
        "region_code": world.township.code,
        "name": "队",
        "kind": "rescue_squad",
        "lon": 120.41,
        "lat": 30.01,
    }
    unknown = post(client, "/api/v1/teams", base | {"capabilities": ["teleport"]})
    assert unknown.status_code == 422 and "capabilities" in unknown.json()["details"]
    sibling_region = post(client, "/api/v1/teams", base | {"region_code": "330603002"})
    assert sibling_region.status_code == 422
    assert not RescueTeam.objects.exists()

    team = make_team(world.township)
    stranger = make_person(world.sibling_township)
    other = post(
        world.client_for(world.parent),
        f"/api/v1/teams/{team.pk}/members",
        {"person_id": stranger.pk},
    )
    assert other.status_code == 422 and "person" in other.json()["details"]
    hidden = post(client, f"/api/v1/teams/{team.pk}/members", {"person_id": stranger.pk})
    assert hidden.status_code == 422 and "person_id" in hidden.json()["details"]
    assert not TeamMember.objects.exists()

    member = make_member(team)
    start = timezone.now() + timedelta(hours=1)
    url = f"/api/v1/teams/{team.pk}/shifts"
    first = post(
        client,
        url,
        {
            "member_id": member.pk,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=8)).isoformat(),
        },
    )
    assert first.status_code == 201
    events = ResourceEvent.objects.count()
    overlapping = post(
        client,
        url,
        {
            "member_id": member.pk,
            "starts_at": (start + timedelta(hours=4)).isoformat(),
            "ends_at": (start + timedelta(hours=10)).isoformat(),
        },
    )
    backwards = post(
        client,
        url,
        {
            "member_id": member.pk,
            "starts_at": (start + timedelta(hours=20)).isoformat(),
            "ends_at": (start + timedelta(hours=12)).isoformat(),
        },
    )
    assert overlapping.status_code == 422 and "starts_at" in overlapping.json()["details"]
    assert backwards.status_code == 422 and "ends_at" in backwards.json()["details"]
    assert DutyShift.objects.count() == 1 and ResourceEvent.objects.count() == events


def test_members_availability_certificates_and_leaving(world):
    team = make_team(world.township)
    person = make_person(world.village)
    client = world.client_for(world.same)
    added = post(
        client, f"/api/v1/teams/{team.pk}/members", {"person_id": person.pk, "role": "driver"}
    )
    assert added.status_code == 201
    member_id = added.json()["members"][0]["id"]
    off = post(
        client,
        f"/api/v1/teams/{team.pk}/members/{member_id}/availability",
        {"is_available": False, "note": "病假"},
    )
    assert off.json()["members"][0]["is_available"] is False
    cert = post(
        client,
        f"/api/v1/teams/{team.pk}/members/{member_id}/certificates",
        {"name": "机动车驾驶证", "expires_on": "2030-01-01"},
    )
    assert cert.status_code == 201
    assert cert.json()["members"][0]["certificates"][0]["name"] == "机动车驾驶证"
    left = post(client, f"/api/v1/teams/{team.pk}/members/{member_id}/leave", {"note": "调离"})
    assert left.status_code == 200 and left.json()["members"] == []
    assert left.json()["member_count"] == 0


def test_absurd_dates_are_refused_not_server_errors(world):
    team = make_team(world.township)
    member = make_member(team)
    client = world.client_for(world.same)
    window = client.get(f"/api/v1/teams/{team.pk}/shifts?start=9999-12-30T00:00:00")
    assert window.status_code == 422
    too_long = client.get(
        f"/api/v1/teams/{team.pk}/shifts?start=2026-01-01T00:00:00&end=2026-03-01T00:00:00"
    )
    assert too_long.status_code == 422
    ancient = post(
        client,
        f"/api/v1/teams/{team.pk}/shifts",
        {
            "member_id": member.pk,
            "starts_at": "0001-01-01T00:00:00",
            "ends_at": "0001-01-01T08:00:00",
        },
    )
    assert ancient.status_code == 422 and "starts_at" in ancient.json()["details"]
    assert client.get(f"/teams/{team.pk}/roster/?week=9999-12-31").status_code == 200
    assert not DutyShift.objects.exists()
