"""/api/v1 of households and residents: the matrix, writes, bad input, query counts."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from frontline.community.models import HouseholdVisit, Resident
from frontline.community.testing import make_household, make_resident
from frontline.community.tests.test_residents import id_number
from frontline.core.testing import assert_api_matrix, make_person

JSON = "application/json"


def test_details_follow_the_authorization_matrix(world):
    household = make_household(world.grid)
    resident = make_resident(household)
    assert_api_matrix(world, f"/api/v1/households/{household.pk}")
    assert_api_matrix(world, f"/api/v1/residents/{resident.pk}")
    assert_api_matrix(world, f"/api/v1/households/{household.pk}/visits")


def test_create_household_and_resident_then_update_move_visit_and_remove(world):
    client = world.client_for(world.grid_worker)
    leader = make_person(world.grid, name="十户长乙")

    created = client.post(
        "/api/v1/households",
        {
            "region_code": world.grid.code,
            "address": "州山村5号",
            "group_leader_id": leader.pk,
            "geohazard": True,
        },
        content_type=JSON,
    )
    assert created.status_code == 201, created.content
    household = created.json()
    assert household["home_risks"] == ["geohazard"]

    number = id_number("33060319450303224")
    answer = client.post(
        "/api/v1/residents",
        {
            "household_id": household["id"],
            "name": "钱七",
            "id_number": number,
            "phone": "13512345678",
            "categories": ["aged_80", "bedridden"],
            "mobility": "stretcher",
        },
        content_type=JSON,
    )
    assert answer.status_code == 201, answer.content
    resident = answer.json()
    assert resident["name_masked"] == "钱*" and resident["gender"] == "female"
    assert resident["is_vulnerable"] and resident["categories_masked"] == "***"
    assert number not in answer.content.decode()

    patched = client.patch(
        f"/api/v1/residents/{resident['id']}", {"categories": []}, content_type=JSON
    )
    assert patched.status_code == 200 and not patched.json()["is_vulnerable"]

    other = make_household(world.grid)
    moved = client.post(
        f"/api/v1/residents/{resident['id']}/move", {"household_id": other.pk}, content_type=JSON
    )
    assert moved.status_code == 200 and moved.json()["household_id"] == other.pk

    visit = client.post(
        f"/api/v1/households/{other.pk}/visits",
        {"resident_id": resident["id"], "note": "已告知避险点"},
        content_type=JSON,
    )
    assert visit.status_code == 201
    assert Resident.objects.get(pk=resident["id"]).last_visited_at is not None

    assert client.delete(f"/api/v1/residents/{resident['id']}").status_code == 204
    assert not Resident.objects.filter(pk=resident["id"]).exists()
    assert HouseholdVisit.objects.filter(household=other).count() == 1


def test_bad_input_answers_422_with_chinese_field_messages_and_writes_nothing(world):
    client = world.client_for(world.same)
    household = make_household(world.grid)
    make_resident(household, name="孙八")

    bad = client.post(
        "/api/v1/residents",
        {
            "household_id": household.pk,
            "name": "周九",
            "id_number": "330603194503032241",
            "phone": "电话",
        },
        content_type=JSON,
    )
    assert bad.status_code == 422
    assert bad.json()["details"] == {
        "id_number": "应为 18 位身份证号码且校验位正确",
        "phone": "电话号码格式不正确，如 0575-84123456",
    }
    duplicate = client.post(
        "/api/v1/households",
        {"region_code": world.grid.code, "address": household.address},
        content_type=JSON,
    )
    assert duplicate.status_code == 422
    assert duplicate.json()["details"] == {"address": "本网格已有相同门牌地址的住户"}
    outside = client.post(
        "/api/v1/residents",
        {
            "household_id": household.pk,
            "name": "吴十",
            "helper_id": make_person(world.sibling_township).pk,
        },
        content_type=JSON,
    )
    assert outside.status_code == 422 and "helper_id" in outside.json()["details"]
    same_household = client.post(
        f"/api/v1/residents/{Resident.objects.get().pk}/move",
        {"household_id": household.pk},
        content_type=JSON,
    )
    assert same_household.status_code == 422
    assert Resident.objects.count() == 1


def test_a_sibling_cannot_write_into_another_township(world):
    household = make_household(world.grid)
    client = world.client_for(world.sibling)
    answer = client.post(
        "/api/v1/residents", {"household_id": household.pk, "name": "某人"}, content_type=JSON
    )
    assert answer.status_code == 422  # the household is not visible: "住户不存在"
    assert (
        client.patch(
            f"/api/v1/households/{household.pk}", {"notes": "x"}, content_type=JSON
        ).status_code
        == 404
    )
    assert not Resident.objects.exists()


def test_resident_list_filters_and_a_constant_number_of_queries(world):
    household = make_household(world.grid)
    helper = make_person(world.grid)
    make_resident(household, categories=["disabled"], mobility="needs_help", helper=helper)
    make_resident(household, categories=["left_behind_child"])
    make_resident(household)
    client = world.client_for(world.same)

    def count(**params):
        return client.get("/api/v1/residents", params).json()["count"]

    assert count() == 3
    assert count(vulnerable="true") == 2
    assert count(category="disabled") == 1
    assert count(mobility="needs_help") == 1
    assert count(vulnerable="true", without_helper="true") == 1
    assert count(not_visited_days=30) == 3

    client.get("/api/v1/residents")
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/residents")
    for _n in range(10):
        make_resident(make_household(world.grid), categories=["other"])
    with CaptureQueriesContext(connection) as many:
        answer = client.get("/api/v1/residents")
    assert answer.json()["count"] == 13
    assert len(many) == len(few)
    with CaptureQueriesContext(connection) as households:
        client.get("/api/v1/households")
    assert len(households) == len(few)
