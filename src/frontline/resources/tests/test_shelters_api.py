"""The shelters API: the authorization matrix, list and detail with occupancy and percentage,
open / close, check-in of one person or a family, check-out, the 409s and 422s, masked
evacuee lists, and query counts that do not grow."""

from __future__ import annotations

import json

from django.db import connection
from django.test.utils import CaptureQueriesContext

from frontline.community.testing import make_household, make_resident
from frontline.core.roles import Role
from frontline.core.services.validation import id_check_digit
from frontline.core.testing import assert_api_matrix, make_user
from frontline.resources.models import Evacuee, Shelter, ShelterStatus
from frontline.resources.services import evacuees as ev
from frontline.resources.services import shelters as services
from frontline.resources.testing import make_shelter


def id_number(body: str = "33060319800101001") -> str:
    return body + id_check_digit(body)


def post(client, url: str, body: dict):
    return client.post(url, json.dumps(body), content_type="application/json")


def opened(world, **kw) -> Shelter:
    return services.open_shelter(actor=world.same, shelter=make_shelter(world.township, **kw))


def test_shelter_endpoints_answer_the_matrix(world):
    shelter = opened(world)
    assert_api_matrix(world, f"/api/v1/shelters/{shelter.pk}")
    assert_api_matrix(world, f"/api/v1/shelters/{shelter.pk}/evacuees")
    for user, expected in ((world.same, 1), (world.parent, 1), (world.sibling, 0)):
        listed = world.client_for(user).get("/api/v1/shelters").json()
        assert listed["count"] == expected


def test_list_and_detail_carry_occupancy_and_percent(world):
    shelter = opened(world, area_m2=15.0, facilities="water,power")  # 10 places
    ev.check_in(
        actor=world.same,
        shelter=shelter,
        people=[ev.Arrival(name=f"人{i}", age=75 if i < 2 else 30) for i in range(4)],
    )
    make_shelter(world.township, name="未启用场所")
    client = world.client_for(world.parent)
    body = client.get("/api/v1/shelters?status=open").json()
    assert body["count"] == 1
    item = body["items"][0]
    assert (item["occupancy"], item["capacity"], item["occupancy_percent"], item["free"]) == (
        4,
        10,
        40,
        6,
    )
    assert item["status"] == "open" and item["status_label"] == "已开放"
    assert item["facilities"] == ["water", "power"]
    assert client.get("/api/v1/shelters?free=true").json()["count"] == 1
    assert client.get(f"/api/v1/shelters?region={world.sibling_township.code}").json()["count"] == 0
    detail = client.get(f"/api/v1/shelters/{shelter.pk}").json()
    assert detail["needs"]["total"] == 4 and detail["needs"]["elderly"] == 2
    assert [e["kind"] for e in detail["timeline"]][:2] == ["check_in", "opened"]


def test_open_and_close_through_the_api(world):
    shelter = make_shelter(world.township)
    client = world.client_for(world.same)
    opened_ = post(client, f"/api/v1/shelters/{shelter.pk}/open", {"note": "防台转移"})
    assert opened_.status_code == 200 and opened_.json()["status"] == "open"
    again = post(client, f"/api/v1/shelters/{shelter.pk}/open", {})
    assert again.status_code == 409 and again.json()["code"] == "shelter_already_open"
    ev.check_in(actor=world.same, shelter=shelter, people=[ev.Arrival(name="甲")])
    refused = post(client, f"/api/v1/shelters/{shelter.pk}/close", {})
    assert refused.status_code == 409 and refused.json()["code"] == "shelter_not_empty"
    leader = make_user(Role.LEADER, world.township)
    denied = post(world.client_for(leader), f"/api/v1/shelters/{shelter.pk}/close", {})
    assert denied.status_code == 403
    hidden = post(world.client_for(world.sibling), f"/api/v1/shelters/{shelter.pk}/open", {})
    assert hidden.status_code == 404


def test_check_in_a_family_and_check_out_through_the_api(world):
    shelter = opened(world, area_m2=4.5)  # 3 places
    client = world.client_for(world.same)
    url = f"/api/v1/shelters/{shelter.pk}/check-in"
    created = post(
        client,
        url,
        {
            "home_address": "州山村5组12号",
            "people": [
                {"name": "陈建国", "id_number": id_number(), "phone": "13812345678"},
                {"name": "陈小雨", "age": 6, "needs": ["child"]},
            ],
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["shelter"]["occupancy"] == 2
    names = [e["name"] for e in body["evacuees"]]
    assert names == ["陈**", "陈**"] and "13812345678" not in created.content.decode()
    assert body["evacuees"][0]["id_number"].startswith("330603********")
    assert body["evacuees"][1]["has_needs"] is True
    last = post(client, url, {"people": [{"name": "李四"}]})
    assert last.json()["shelter"]["status"] == "full"
    full = post(client, url, {"people": [{"name": "赵五"}]})
    assert full.status_code == 409 and full.json()["code"] == "shelter_full"
    out = post(
        client,
        f"/api/v1/shelters/{shelter.pk}/check-out",
        {"evacuee_ids": [body["evacuees"][0]["id"]], "destination": "返家"},
    )
    assert out.status_code == 200
    assert out.json()["shelter"]["status"] == "open" and out.json()["shelter"]["occupancy"] == 2
    assert out.json()["evacuees"][0]["destination"] == "返家"
    twice = post(
        client,
        f"/api/v1/shelters/{shelter.pk}/check-out",
        {"evacuee_ids": [body["evacuees"][0]["id"]]},
    )
    assert twice.status_code == 409


def test_bad_input_and_conflicts_of_check_in(world):
    shelter = opened(world)
    client = world.client_for(world.same)
    url = f"/api/v1/shelters/{shelter.pk}/check-in"
    bad = post(client, url, {"people": [{"name": "甲", "id_number": "330603198001010000"}]})
    assert bad.status_code == 422
    assert bad.json()["code"] == "validation_error"
    assert "校验位" in bad.json()["details"]["people.0.id_number"]
    empty = post(client, url, {"people": []})
    assert empty.status_code == 422 and "people" in empty.json()["details"]
    need = post(client, url, {"people": [{"name": "甲", "needs": ["wings"]}]})
    assert need.status_code == 422
    assert (
        post(client, url, {"people": [{"name": "甲", "id_number": id_number()}]}).status_code == 201
    )
    twice = post(client, url, {"people": [{"name": "甲", "id_number": id_number()}]})
    assert twice.status_code == 409 and twice.json()["code"] == "already_registered"
    closed = make_shelter(world.township, name="未启用")
    refused = post(client, f"/api/v1/shelters/{closed.pk}/check-in", {"people": [{"name": "乙"}]})
    assert refused.status_code == 409 and refused.json()["code"] == "shelter_closed"
    leader = make_user(Role.LEADER, world.township)
    assert post(world.client_for(leader), url, {"people": [{"name": "丙"}]}).status_code == 403
    worker = make_user(Role.GRID_WORKER, world.township)
    assert post(world.client_for(worker), url, {"people": [{"name": "丁"}]}).status_code == 201
    foreign = post(world.client_for(world.sibling), url, {"people": [{"name": "戊"}]})
    assert foreign.status_code == 404
    assert Evacuee.objects.count() == 2


def test_a_resident_is_linked_by_id_and_must_be_readable(world):
    shelter = opened(world)
    household = make_household(world.grid, address="州山村8号")
    resident = make_resident(household, name="周桂英", birth_year=1950)
    client = world.client_for(world.same)
    url = f"/api/v1/shelters/{shelter.pk}/check-in"
    linked = post(client, url, {"people": [{"resident_id": resident.pk}]})
    assert linked.status_code == 201
    stay = Evacuee.objects.get()
    assert (stay.resident, stay.name, stay.home_address) == (resident, "周桂英", "州山村8号")
    there = make_shelter(world.sibling_township, status=ShelterStatus.OPEN)
    refused = post(
        world.client_for(world.sibling),
        f"/api/v1/shelters/{there.pk}/check-in",
        {"people": [{"resident_id": resident.pk}]},
    )
    assert refused.status_code == 422 and "people.0.resident" in refused.json()["details"]
    unknown = post(client, url, {"people": [{"resident_id": 999999}]})
    assert unknown.status_code == 422


def test_the_evacuee_list_is_masked_and_its_queries_do_not_grow(world):
    shelter = opened(world, area_m2=3000.0)
    client = world.client_for(world.parent)
    url = f"/api/v1/shelters/{shelter.pk}/evacuees"
    ev.check_in(actor=world.same, shelter=shelter, people=[ev.Arrival(name="陈建国")])
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).json()["count"] == 1
    stays = ev.check_in(
        actor=world.same,
        shelter=shelter,
        people=[ev.Arrival(name=f"张{n}号", phone="13812345678") for n in range(20)],
    )
    ev.check_out(actor=world.same, evacuees=stays[:5])
    with CaptureQueriesContext(connection) as many:
        body = client.get(url).json()
    assert len(many.captured_queries) == len(few.captured_queries)
    assert body["count"] == 21
    assert all(e["name"].endswith("*") for e in body["items"])
    assert "13812345678" not in json.dumps(body, ensure_ascii=False)
    present = client.get(url + "?present=true").json()
    assert present["count"] == 16
    with CaptureQueriesContext(connection) as listing:
        client.get("/api/v1/shelters")
    for n in range(10):
        make_shelter(world.township, name=f"又一处{n}")
    with CaptureQueriesContext(connection) as more:
        assert client.get("/api/v1/shelters").json()["count"] == 11
    assert len(more.captured_queries) == len(listing.captured_queries)
