"""Experts: registration (a person of the registry, or a new one in the same transaction),
availability, masked mobiles in pages and the API, and the logged clear view."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from frontline.core.errors import DomainError, InvalidInput
from frontline.core.models import Person, SensitiveAccess
from frontline.core.roles import Role
from frontline.core.testing import (
    assert_api_matrix,
    assert_page_matrix,
    assert_queryset_matrix,
    make_person,
    make_user,
)
from frontline.resources.models import Expert, ExpertAvailability
from frontline.resources.services import experts as services
from frontline.resources.services.events import timeline
from frontline.resources.testing import make_expert


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_an_expert_from_the_registry_or_a_new_person(world):
    person = make_person(world.village, name="钱教授")
    expert = services.create_expert(
        actor=world.same, region=world.township, field="hazmat", person=person, title="教授"
    )
    assert expert.person == person and [e.kind for e in timeline(expert)] == ["created"]
    assert_queryset_matrix(Expert.objects, expert, world)
    with pytest.raises(InvalidInput) as error:
        services.create_expert(actor=world.same, region=world.township, field="fire", person=person)
    assert "person" in error.value.details
    new = services.create_expert(
        actor=world.same, region=world.township, field="geology", name="孙工", mobile="13700001111"
    )
    assert new.person.name == "孙工" and new.person.mobile == "13700001111"
    assert new.person.region == world.township


def test_a_refused_expert_leaves_no_stray_person(world):
    people = Person.objects.count()
    for kw in (
        {"field": "astrology", "name": "甲", "mobile": "13700001111"},
        {"field": "fire", "name": "乙", "mobile": "123"},
        {"field": "fire", "name": "", "mobile": "13700001111"},
        {"field": "fire", "name": "丙", "mobile": ""},
    ):
        with pytest.raises(InvalidInput):
            services.create_expert(actor=world.same, region=world.township, **kw)
    assert Person.objects.count() == people and not Expert.objects.exists()
    stranger = make_person(world.sibling_township)
    with pytest.raises(InvalidInput) as error:
        services.create_expert(
            actor=world.same, region=world.township, field="fire", person=stranger
        )
    assert "person" in error.value.details


def test_availability_is_a_state_change(world):
    expert = make_expert(world.township)
    services.set_expert_availability(
        actor=world.same, expert=expert, availability="busy", note="会商"
    )
    expert.refresh_from_db()
    assert expert.availability == ExpertAvailability.BUSY
    with pytest.raises(DomainError):
        services.set_expert_availability(actor=world.same, expert=expert, availability="busy")
    with pytest.raises(InvalidInput):
        services.set_expert_availability(actor=world.same, expert=expert, availability="asleep")
    event = timeline(expert).last()
    assert (event.from_state, event.to_state) == ("available", "busy")


def test_api_masks_and_reveals_only_with_the_right_and_a_log(world):
    expert = make_expert(world.township, specialty="危化品泄漏处置")
    assert_api_matrix(world, f"/api/v1/experts/{expert.pk}")
    staff = world.client_for(world.same)
    listed = staff.get("/api/v1/experts?field=hazmat").json()
    assert listed["items"][0]["mobile_masked"] == "138****8000"
    assert "13800138000" not in json.dumps(listed)
    assert staff.get("/api/v1/experts?field=navy").status_code == 422
    denied = post(staff, f"/api/v1/experts/{expert.pk}/reveal", {"reason": "会商"})
    assert denied.status_code == 403 and not SensitiveAccess.objects.exists()
    chief = world.client_for(make_user(Role.STATION_CHIEF, world.township, "chief"))
    revealed = post(chief, f"/api/v1/experts/{expert.pk}/reveal", {"reason": "会商"})
    assert revealed.json() == {"field": "mobile", "value": "13800138000"}
    assert (
        SensitiveAccess.objects.filter(object_id=str(expert.person_id), reason="会商").count() == 1
    )
    sibling = post(world.client_for(world.sibling), f"/api/v1/experts/{expert.pk}/reveal", {})
    assert sibling.status_code == 404


def test_api_writes(world):
    client = world.client_for(world.same)
    created = post(
        client,
        "/api/v1/experts",
        {
            "region_code": world.township.code,
            "field": "flood",
            "name": "周工",
            "mobile": "13600002222",
        },
    )
    assert created.status_code == 201, created.json()
    assert created.json()["mobile_masked"] == "136****2222"
    expert_id = created.json()["id"]
    changed = post(client, f"/api/v1/experts/{expert_id}/availability", {"availability": "busy"})
    assert changed.json()["availability"] == "busy"
    patched = client.patch(
        f"/api/v1/experts/{expert_id}",
        json.dumps({"title": "高级工程师"}),
        content_type="application/json",
    )
    assert patched.json()["title"] == "高级工程师"
    bad = post(
        client,
        "/api/v1/experts",
        {"region_code": world.township.code, "field": "flood", "name": "无号"},
    )
    assert bad.status_code == 422 and "mobile" in bad.json()["details"]


def test_api_list_query_count(world):
    client = world.client_for(world.parent)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/experts").status_code == 200
        return len(queries)

    make_expert(world.township)
    few = count()
    for _n in range(8):
        make_expert(world.village)
    assert count() == few


def test_expert_pages(world):
    expert = make_expert(world.township, specialty="危化品")
    assert_page_matrix(world, f"/experts/{expert.pk}/")
    client = world.client_for(world.same)
    page = client.get("/experts/").content.decode()
    assert "138****8000" in page and "13800138000" not in page
    assert (
        str(expert.person.name)
        not in world.client_for(world.sibling).get("/experts/").content.decode()
    )
    chief = make_user(Role.STATION_CHIEF, world.township, "chief")
    detail = world.client_for(chief).get(f"/experts/{expert.pk}/").content.decode()
    assert f"/people/{expert.person_id}/reveal/mobile/" in detail and "13800138000" not in detail
    assert (
        client.post(f"/experts/{expert.pk}/availability/", {"availability": "busy"}).status_code
        == 302
    )
    expert.refresh_from_db()
    assert expert.availability == "busy"
    created = client.post(
        "/experts/new/",
        {"region": world.township.code, "field": "fire", "name": "吴工", "mobile": "13900003333"},
    )
    assert created.status_code == 302, created.content.decode()
    refused = client.post(
        "/experts/new/",
        {"region": world.township.code, "field": "fire", "name": "郑工", "mobile": "1"},
    )
    assert refused.status_code == 422
    assert Expert.objects.count() == 2
