"""Vulnerable people are never shown in clear to a role or a scope that should not see them:
pages, API, exports and the map, for every persona of the world plus a leader and a liaison,
asserted on the raw bytes of each response (and on the unzipped sheets of each export)."""

from __future__ import annotations

import html
import io
import zipfile

import pytest
from django.contrib.contenttypes.models import ContentType

from frontline.community.models import Mobility, Resident
from frontline.community.services.residents import create_resident
from frontline.community.testing import make_household
from frontline.community.tests.test_residents import id_number
from frontline.core.models import SensitiveAccess
from frontline.core.roles import Role
from frontline.core.testing import make_person, make_user

NAME = "欧阳秀英"
ID_NUMBER = id_number("33060319360214202")
PHONE = "13957512345"
HEALTH = "胰岛素依赖，家中有制氧机"
CATEGORY_LABEL = "依赖电动医疗设备"
CATEGORY_CODE = "medical_device"


@pytest.fixture
def resident(world):
    household = make_household(world.grid, address="州山村12号", lon=120.41, lat=30.01)
    return create_resident(
        actor=None,
        household=household,
        name=NAME,
        id_number=ID_NUMBER,
        phone=PHONE,
        categories=["elderly_alone", CATEGORY_CODE],
        health_notes=HEALTH,
        mobility=Mobility.STRETCHER,
        helper=make_person(world.grid, name="包保干部甲"),
    )


def everyone(world) -> dict[str, object]:
    return {
        **world.personas(),
        "grid_worker": world.grid_worker,
        "leader": make_user(Role.LEADER, world.township, "leader"),
        "liaison": make_user(Role.LIAISON, world.township, "liaison"),
        "enterprise_officer": make_user(Role.ENTERPRISE_OFFICER, world.township, "officer"),
    }


# Who may read the roll of world.grid (masked), and who may reveal a field in clear.
READS = {"same", "parent", "grid_worker"}
REVEALS = {"parent", "grid_worker"}


def readable(content: bytes) -> str:
    """The text of a response: every part of an XLSX unzipped with its XML character
    references resolved (openpyxl writes 欧 as &#27431;), anything else decoded."""
    if content.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return html.unescape(
                "".join(
                    archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
                )
            )
    return content.decode("utf-8", "replace")


def assert_nothing_clear(content: bytes, where: str, *, categories: bool = True) -> None:
    text = readable(content)
    secrets = [ID_NUMBER, ID_NUMBER[6:14], PHONE, HEALTH, NAME]
    if categories:
        secrets += [CATEGORY_LABEL, CATEGORY_CODE]
    for secret in secrets:
        assert secret not in text, f"{where}: {secret!r} appears in clear"
        assert secret.encode() not in content, f"{where}: {secret!r} in the raw bytes"


def test_pages_show_the_roll_masked_to_whom_may_read_it_and_nothing_to_others(world, resident):
    household = resident.household
    urls = {
        "/households/": "list",
        f"/households/{household.pk}/": "detail",
        f"/residents/{resident.pk}/": "detail",
        "/residents/vulnerable/": "list",
        "/residents/export.xlsx": "list",
        "/residents/export.xlsx?vulnerable=1&mobility=stretcher": "list",
        "/residents/import/": "list",
    }
    for persona, user in everyone(world).items():
        client = world.client_for(user)
        for url, kind in urls.items():
            response = client.get(url)
            if persona in READS:
                expected = 200
            elif persona in ("sibling", "outsider"):
                expected = 200 if kind == "list" else 404
            else:  # no view_residents anywhere
                expected = 403 if kind == "list" else 404
            assert response.status_code == expected, (persona, url, response.status_code)
            # The vulnerable page counts people per category (aggregates, by design).
            categories = url != "/residents/vulnerable/"
            assert_nothing_clear(response.content, f"{persona} {url}", categories=categories)
            if persona in READS and url.startswith("/residents/export"):
                text = readable(response.content)
                assert "欧***" in text and ID_NUMBER[:6] + "********" + ID_NUMBER[-4:] in text
                assert "139****2345" in text
            elif persona in ("sibling", "outsider") and expected == 200:
                assert "州山村12号" not in readable(response.content)


def test_resident_page_shows_masks_and_offers_the_clear_view_only_to_whom_may(world, resident):
    for persona, user in (("same", world.same), ("grid_worker", world.grid_worker)):
        page = world.client_for(user).get(f"/residents/{resident.pk}/").content.decode()
        assert "欧***" in page and "139****2345" in page
        assert ("查看明文" in page) == (persona in REVEALS)


def test_api_lists_details_and_export_are_masked_and_scoped(world, resident):
    household = resident.household
    urls = {
        "/api/v1/households": "list",
        f"/api/v1/households/{household.pk}": "detail",
        f"/api/v1/households/{household.pk}/visits": "detail",
        "/api/v1/residents": "list",
        "/api/v1/residents?vulnerable=true&category=medical_device": "list",
        f"/api/v1/residents/{resident.pk}": "detail",
        "/api/v1/residents/export": "list",
    }
    for persona, user in everyone(world).items():
        client = world.client_for(user)
        for url, kind in urls.items():
            response = client.get(url)
            if persona in READS:
                expected = 200
            elif persona in ("sibling", "outsider"):
                expected = 200 if kind == "list" else 404
            else:
                expected = 403 if kind == "list" else 404
            assert response.status_code == expected, (persona, url, response.status_code)
            assert_nothing_clear(response.content, f"{persona} {url}")
            if persona in ("sibling", "outsider") and url == "/api/v1/residents":
                assert response.json()["count"] == 0
    body = world.client_for(world.same).get(f"/api/v1/residents/{resident.pk}").json()
    assert body["name_masked"] == "欧***"
    assert body["id_number_masked"] == ID_NUMBER[:6] + "********" + ID_NUMBER[-4:]
    assert body["phone_masked"] == "139****2345"
    assert body["categories_masked"] == "***"
    assert world.client_for(None).get("/api/v1/residents").status_code == 401


def test_map_layer_only_for_the_roll_and_its_popup_says_how_many_not_who(world, resident):
    url = "/api/v1/map/layers/community.vulnerable_households"
    for persona, user in everyone(world).items():
        client = world.client_for(user)
        keys = [layer["key"] for layer in client.get("/api/v1/map/layers").json()]
        response = client.get(url, {"bbox": "120.3,29.9,120.9,30.2"})
        if persona in READS:
            assert "community.vulnerable_households" in keys
            features = response.json()["features"]
            assert [f["properties"]["id"] for f in features] == [resident.household_id]
            assert features[0]["properties"]["count"] == 1
            assert features[0]["properties"]["need"] == Mobility.STRETCHER
            assert "需担架 1 人" in features[0]["properties"]["popup"]
        elif persona in ("sibling", "outsider"):
            assert response.json()["features"] == []
        else:
            assert "community.vulnerable_households" not in keys
            assert response.status_code == 404
        assert_nothing_clear(response.content, f"{persona} map")


def reveals_logged() -> int:
    return SensitiveAccess.objects.filter(
        content_type=ContentType.objects.get_for_model(Resident)
    ).count()


def test_the_clear_view_needs_the_capability_the_scope_and_a_reason_and_is_logged(world, resident):
    fields = {"id_number": ID_NUMBER, "phone": PHONE, "health_notes": HEALTH, "name": NAME}
    for persona, user in everyone(world).items():
        client = world.client_for(user)
        for field, clear in fields.items():
            url = f"/residents/{resident.pk}/reveal/{field}/"
            before = reveals_logged()
            response = client.post(url, {"reason": "防汛转移联系家属"})
            if persona in REVEALS:
                assert response.status_code == 200, (persona, field)
                assert clear in response.content.decode()
                access = SensitiveAccess.objects.latest("at", "pk")
                assert (access.user_id, access.field) == (user.pk, field)
                assert access.reason == "防汛转移联系家属"
                assert access.object_id == str(resident.pk)
            else:
                assert response.status_code == (403 if persona == "same" else 404)
                assert_nothing_clear(response.content, f"{persona} reveal {field}")
                assert reveals_logged() == before


def test_categories_are_revealed_as_chinese_labels(world, resident):
    response = world.client_for(world.grid_worker).post(
        f"/residents/{resident.pk}/reveal/categories/", {"reason": "核对类别"}
    )
    assert response.status_code == 200
    assert "独居老人、依赖电动医疗设备" in response.content.decode()


def test_a_clear_view_without_a_reason_is_refused_and_not_logged(world, resident):
    client = world.client_for(world.grid_worker)

    page = client.post(f"/residents/{resident.pk}/reveal/id_number/", {"reason": "  "})
    api = client.post(
        f"/api/v1/residents/{resident.pk}/reveal",
        {"field": "id_number", "reason": ""},
        content_type="application/json",
    )

    assert page.status_code == 422 and "请填写查看事由" in page.content.decode()
    assert api.status_code == 422 and api.json()["details"] == {"reason": "请填写查看事由"}
    assert ID_NUMBER not in page.content.decode() + api.content.decode()
    assert reveals_logged() == 0


def test_api_reveal_answers_by_persona_and_logs(world, resident):
    expected = {
        "same": 403,
        "parent": 200,
        "sibling": 404,
        "outsider": 404,
        "grid_worker": 200,
        "leader": 404,
        "liaison": 404,
        "enterprise_officer": 404,
    }
    for persona, user in everyone(world).items():
        response = world.client_for(user).post(
            f"/api/v1/residents/{resident.pk}/reveal",
            {"field": "phone", "reason": "联系"},
            content_type="application/json",
        )
        assert response.status_code == expected[persona], persona
        if expected[persona] == 200:
            assert response.json() == {"field": "phone", "value": PHONE}
        else:
            assert PHONE not in response.content.decode()
    assert reveals_logged() == 2
    unknown = world.client_for(world.parent).post(
        f"/api/v1/residents/{resident.pk}/reveal",
        {"field": "relation", "reason": "x"},
        content_type="application/json",
    )
    assert unknown.status_code == 422
