"""The JSON API: errors, pagination, people, organizations, regions, locate."""

import json

import pytest
from django.db import connection
from django.test import Client

from frontline.core import services
from frontline.core.errors import InvalidInput
from frontline.core.models import Organization, Person, SensitiveAccess
from frontline.core.roles import Role
from frontline.core.testing import make_organization, make_person, make_user


def post_json(client, url, body, method="post"):
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


def test_me_describes_roles_and_scope(world):
    response = world.client_for(world.same).get("/api/v1/me")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "same"
    assert [a["role"] for a in body["assignments"]] == [Role.STATION_STAFF]
    assert body["scope"] == [world.township.path]


def test_anonymous_gets_401_with_chinese_message(world):
    response = Client().get("/api/v1/people")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert "登录" in response.json()["message"]


def test_missing_fields_give_422_with_field_messages(world):
    client = world.client_for(world.parent)
    response = post_json(client, "/api/v1/people", {"region_code": world.village.code})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["details"] == {"name": "此字段为必填项"}
    assert not Person.objects.filter(region=world.village).exists()


def test_malformed_json_gives_422(world):
    client = world.client_for(world.parent)
    response = client.post("/api/v1/people", data="{not json", content_type="application/json")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_rule_violation_gives_422_and_writes_nothing(world):
    client = world.client_for(world.parent)
    before = Person.objects.count()
    response = post_json(
        client,
        "/api/v1/people",
        {"name": "王五", "region_code": world.village.code, "id_number": "330603199001011235"},
    )
    assert response.status_code == 422
    assert "id_number" in response.json()["details"]
    assert Person.objects.count() == before


def test_create_person_and_read_it_back_masked(world):
    client = world.client_for(world.same)
    response = post_json(
        client,
        "/api/v1/people",
        {"name": "张三", "region_code": world.village.code, "mobile": "138-1234-5678"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["mobile_masked"] == "138****5678"
    assert "mobile" not in body
    person = Person.objects.get(pk=body["id"])
    assert person.mobile == "13812345678"
    assert person.mobile_tail == "5678"


def test_personal_data_is_encrypted_at_rest(world):
    person = make_person(world.village, mobile="13812345678", id_number="330603199001011238")
    with connection.cursor() as cursor:
        cursor.execute("SELECT mobile, id_number FROM core_person WHERE id = %s", [person.pk])
        mobile, id_number = cursor.fetchone()
    assert "5678" not in mobile and mobile.startswith("v1:")
    assert "1990" not in id_number and id_number.startswith("v1:")


def test_cannot_create_outside_scope(world):
    client = world.client_for(world.sibling)
    response = post_json(
        client, "/api/v1/people", {"name": "李四", "region_code": world.village.code}
    )
    assert response.status_code == 422
    assert "region_code" in response.json()["details"]


def test_leader_is_read_only(world):
    leader = make_user(Role.LEADER, world.county, "leader")
    client = world.client_for(leader)
    assert client.get("/api/v1/people").status_code == 200
    response = post_json(
        client, "/api/v1/people", {"name": "李四", "region_code": world.village.code}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_invisible_and_unknown_ids_are_404(world):
    person = make_person(world.sibling_township)
    client = world.client_for(world.same)
    for url in (f"/api/v1/people/{person.pk}", "/api/v1/people/999999"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.json() == {
            "code": "not_found",
            "message": "对象不存在或不在您的管辖范围内",
            "details": {},
        }
    response = post_json(client, f"/api/v1/people/{person.pk}", {"name": "x"}, method="patch")
    assert response.status_code == 404
    person.refresh_from_db()
    assert person.name != "x"


def test_people_list_is_scoped_paginated_and_filtered(world):
    for index in range(7):
        make_person(world.village, name=f"巡查员{index}", mobile=f"1390000000{index}")
    make_person(world.sibling_township, name="巡查员外")
    client = world.client_for(world.same)
    page = client.get("/api/v1/people?page_size=5&q=巡查员").json()
    assert page["count"] == 7
    assert len(page["items"]) == 5
    assert (
        client.get("/api/v1/people?page=2&page_size=5&q=巡查员").json()["items"][-1]["name"]
        == "巡查员6"
    )
    assert client.get("/api/v1/people?q=0003").json()["count"] == 1
    everyone = world.client_for(world.parent).get(
        f"/api/v1/people?region={world.sibling_township.code}&q=巡查员"
    )
    assert [p["name"] for p in everyone.json()["items"]] == ["巡查员外"]


def test_people_list_has_no_n_plus_one(world, django_assert_max_num_queries):
    organization = make_organization(world.village)
    for _ in range(30):
        make_person(world.village, organization=organization, mobile="13900001111")
    client = world.client_for(world.parent)
    client.get("/api/v1/me")  # warm the session
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/people?page_size=50")
    assert response.json()["count"] >= 30


def test_organizations_list_has_no_n_plus_one(world, django_assert_max_num_queries):
    for _ in range(30):
        make_organization(world.village)
    client = world.client_for(world.parent)
    client.get("/api/v1/me")
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/organizations?page_size=50")
    assert response.json()["count"] == 30


def test_organization_create_and_update(world):
    client = world.client_for(world.same)
    response = post_json(
        client,
        "/api/v1/organizations",
        {
            "name": "州山村微型消防站",
            "kind": "micro_fire_station",
            "region_code": world.village.code,
        },
    )
    assert response.status_code == 201, response.content
    organization_id = response.json()["id"]
    duplicate = post_json(
        client,
        "/api/v1/organizations",
        {
            "name": "州山村微型消防站",
            "kind": "micro_fire_station",
            "region_code": world.village.code,
        },
    )
    assert duplicate.status_code == 422
    assert Organization.objects.filter(name="州山村微型消防站").count() == 1
    patched = post_json(
        client,
        f"/api/v1/organizations/{organization_id}",
        {"duty_phone": "0575-1234567"},
        method="patch",
    )
    assert patched.json()["duty_phone"] == "0575-1234567"
    bad_kind = post_json(
        client,
        "/api/v1/organizations",
        {"name": "x", "kind": "nonsense", "region_code": world.village.code},
    )
    assert bad_kind.status_code == 422
    assert bad_kind.json()["details"] == {"kind": "不在可选值之内"}


def test_reveal_logs_the_clear_view(world):
    person = make_person(world.village, mobile="13812345678")
    chief = make_user(Role.STATION_CHIEF, world.township, "chief")
    client = world.client_for(chief)
    response = post_json(
        client, f"/api/v1/people/{person.pk}/reveal", {"field": "mobile", "reason": "核实"}
    )
    assert response.status_code == 200
    assert response.json()["value"] == "13812345678"
    access = SensitiveAccess.objects.get()
    assert (access.user, access.field, access.object_id, access.reason) == (
        chief,
        "mobile",
        str(person.pk),
        "核实",
    )
    assert access.request_id == response["X-Request-ID"]


def test_reveal_is_refused_without_permission(world):
    person = make_person(world.grid, mobile="13812345678")
    client = world.client_for(world.grid_worker)
    response = post_json(client, f"/api/v1/people/{person.pk}/reveal", {"field": "mobile"})
    assert response.status_code == 403
    assert not SensitiveAccess.objects.exists()
    bad_field = post_json(client, f"/api/v1/people/{person.pk}/reveal", {"field": "password"})
    assert bad_field.status_code == 422


def test_region_tree_starts_at_the_scope(world):
    tree = world.client_for(world.same).get("/api/v1/regions/tree?depth=3").json()
    assert [node["code"] for node in tree] == [world.township.code]
    village = tree[0]["children"][0]
    assert village["code"] == world.village.code
    assert village["children"][0]["code"] == world.grid.code
    county_tree = world.client_for(world.parent).get("/api/v1/regions/tree?depth=1").json()
    assert [c["code"] for c in county_tree[0]["children"]] == [
        world.township.code,
        world.sibling_township.code,
    ]
    assert (
        world.client_for(world.same)
        .get(f"/api/v1/regions/tree?root={world.county.code}")
        .status_code
        == 404
    )


def test_region_list_filters(world):
    client = world.client_for(world.parent)
    body = client.get("/api/v1/regions?level=township").json()
    assert [r["code"] for r in body["items"]] == [world.township.code, world.sibling_township.code]
    assert client.get(f"/api/v1/regions?parent={world.township.code}").json()["count"] == 1


@pytest.mark.parametrize(
    ("persona", "status"), [("same", 200), ("parent", 200), ("sibling", 404), ("outsider", 404)]
)
def test_locate_point(world, persona, status):
    client = world.client_for(getattr(world, persona))
    response = client.get("/api/v1/regions/locate?lon=120.405&lat=30.005")
    assert response.status_code == status
    if status == 200:
        body = response.json()
        assert body["region"]["code"] == world.grid.code
        assert world.township.code in [r["code"] for r in body["path"]]


def test_locate_outside_every_region(world):
    response = world.client_for(world.parent).get("/api/v1/regions/locate?lon=100&lat=20")
    assert response.status_code == 422
    out_of_range = world.client_for(world.parent).get("/api/v1/regions/locate?lon=500&lat=20")
    assert out_of_range.status_code == 422


def test_unknown_paths_and_methods_keep_the_error_shape(world):
    client = world.client_for(world.same)
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    wrong_method = client.delete("/api/v1/me")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"


def test_every_wrong_field_is_reported_at_once(world):
    client = world.client_for(world.same)
    response = post_json(
        client,
        "/api/v1/people",
        {
            "name": " ",
            "region_code": world.village.code,
            "mobile": "1380013800",
            "office_phone": "abc!!",
            "id_number": "123",
        },
    )
    assert response.status_code == 422
    assert set(response.json()["details"]) == {"name", "mobile", "office_phone", "id_number"}


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("+86 138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("8613800138000", "13800138000"),
    ],
)
def test_mobile_numbers_as_people_write_them(world, written, stored):
    person = make_person(world.village, mobile=written)
    assert person.mobile == stored


@pytest.mark.parametrize("wrong", ["1380013800", "23800138000", "138001380001", "abc"])
def test_wrong_mobile_numbers_are_refused(world, wrong):
    with pytest.raises(InvalidInput) as error:
        make_person(world.village, mobile=wrong)
    assert set(error.value.details) == {"mobile"}


def test_organization_keeps_fields_it_was_not_given(world):
    parent = make_organization(world.county)
    child = services.create_organization(
        actor=None, name="柯岩消防救援站", kind="fire_brigade", region=world.township, parent=parent
    )
    services.update_organization(actor=world.same, organization=child, address="柯岩大道 1 号")
    child.refresh_from_db()
    assert child.parent == parent


def test_nul_characters_are_bad_input_not_a_database_error(world):
    client = world.client_for(world.same)
    body = json.dumps({"name": "张\u0000三", "region_code": world.village.code})
    response = client.post("/api/v1/people", data=body, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["details"] == {"body": "不能包含空字符（NUL）"}
    assert client.get("/api/v1/people?q=%00").status_code == 422
    assert not Person.objects.filter(name__startswith="张").exists()
