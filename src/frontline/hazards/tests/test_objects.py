"""Enterprises, places and major hazard installations: validation, scoping, API and pages."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from frontline.core.errors import InvalidInput, PermissionDenied
from frontline.core.testing import (
    assert_api_matrix,
    assert_page_matrix,
    assert_queryset_matrix,
    page_queries,
)
from frontline.hazards import services
from frontline.hazards.models import (
    Enterprise,
    Industry,
    MajorHazardInstallation,
    Place,
    PlaceCategory,
    RiskColour,
)
from frontline.hazards.services.objects import credit_code_error, normalize_credit_code
from frontline.hazards.testing import credit_code, make_enterprise, make_place


def _valid(body: str) -> str:
    from frontline.hazards.services.objects import credit_code_check_char

    return body + credit_code_check_char(body)


# --- the credit code ------------------------------------------------------------------------


def test_credit_code_check_digit():
    code = _valid("91330621MA2BX8XL3")
    assert services.is_valid_credit_code(code)
    assert services.is_valid_credit_code(credit_code(42))
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    assert credit_code_error(wrong) == "统一社会信用代码校验位不正确"


def test_credit_code_lowercase_and_spaces_are_normalized():
    code = credit_code(7)
    assert normalize_credit_code(" " + code.lower()[:9] + " " + code.lower()[9:]) == code
    assert services.is_valid_credit_code(code.lower())


@pytest.mark.parametrize("text", ["", "913306", credit_code(1) + "0", credit_code(1)[:17]])
def test_credit_code_wrong_length(text):
    assert not services.is_valid_credit_code(text)


def test_credit_code_forbidden_letters():
    assert "不允许的字符" in credit_code_error("91330621MA2BX8XLIO")


# --- services -------------------------------------------------------------------------------


def _enterprise_kwargs(world, **kw):
    return {
        "actor": world.same,
        "region": world.village,
        "name": "柯桥印染有限公司",
        "credit_code": credit_code(900),
        "industry": Industry.DYEING,
        "above_scale": True,
        "employees": 120,
        "legal_representative": "王建国",
        "safety_officer": "李安",
        "safety_officer_phone": "13812345678",
        "lon": 120.41,
        "lat": 30.01,
    } | kw


def test_create_enterprise(world):
    enterprise = services.create_enterprise(
        **_enterprise_kwargs(world, credit_code=credit_code(900).lower())
    )
    enterprise.refresh_from_db()
    assert enterprise.credit_code == credit_code(900)
    assert enterprise.safety_officer_phone == "13812345678"
    assert enterprise.safety_officer_phone_masked == "138****5678"
    raw = Enterprise.objects.filter(pk=enterprise.pk).values_list("safety_officer_phone")
    with connection.cursor() as cursor:
        cursor.execute(*raw.query.sql_with_params())
        assert "13812345678" not in cursor.fetchone()[0]
    assert_queryset_matrix(Enterprise.objects, enterprise, world)


def test_enterprise_every_wrong_field_at_once(world):
    with pytest.raises(InvalidInput) as caught:
        services.create_enterprise(
            **_enterprise_kwargs(
                world,
                name="",
                credit_code="91330621MA2BX8XL3",
                industry="bakery",
                employees=-1,
                safety_officer_phone="abc",
                lon=120.4,
                lat=None,
            )
        )
    details = caught.value.details
    assert set(details) == {
        "name",
        "credit_code",
        "industry",
        "employees",
        "safety_officer_phone",
        "lat",
    }
    assert not Enterprise.objects.exists()


def test_enterprise_credit_code_unique(world):
    services.create_enterprise(**_enterprise_kwargs(world))
    with pytest.raises(InvalidInput) as caught:
        services.create_enterprise(**_enterprise_kwargs(world, name="另一家"))
    assert caught.value.details == {"credit_code": "该统一社会信用代码已登记"}


def test_enterprise_region_must_be_in_scope(world):
    with pytest.raises(PermissionDenied):
        services.create_enterprise(**_enterprise_kwargs(world, region=world.sibling_township))
    enterprise = services.create_enterprise(**_enterprise_kwargs(world))
    with pytest.raises(PermissionDenied):
        services.update_enterprise(
            actor=world.same, enterprise=enterprise, region=world.sibling_township
        )
    with pytest.raises(PermissionDenied):
        services.update_enterprise(actor=world.sibling, enterprise=enterprise, name="改名")
    services.update_enterprise(actor=world.parent, enterprise=enterprise, region=world.grid)
    assert Enterprise.objects.get(pk=enterprise.pk).region == world.grid


def test_leader_cannot_edit(world):
    from frontline.core.roles import Role
    from frontline.core.testing import make_user

    leader = make_user(Role.LEADER, world.township)
    with pytest.raises(PermissionDenied):
        services.create_enterprise(**_enterprise_kwargs(world, actor=leader))


def test_place(world):
    enterprise = make_enterprise(world.village)
    place = services.create_place(
        actor=world.same,
        region=world.village,
        name="州山农贸市场",
        category=PlaceCategory.MALL,
        operator="赵六",
        operator_phone="0575-84123456",
        floor_area="1200.5",
        enterprise=enterprise,
    )
    assert place.floor_area == 1200.5 and place.is_crowded
    assert_queryset_matrix(Place.objects, place, world)
    other = make_enterprise(world.sibling_township)
    with pytest.raises(InvalidInput) as caught:
        services.update_place(
            actor=world.parent, place=place, enterprise=other, category="x", floor_area=-3
        )
    assert set(caught.value.details) == {"enterprise", "category", "floor_area"}


def test_major_hazard_substances(world):
    enterprise = make_enterprise(world.village, industry=Industry.CHEMICALS)
    installation = services.create_major_hazard(
        actor=world.same,
        enterprise=enterprise,
        name="液氨储罐区",
        level=3,
        substances=[{"name": "液氨", "quantity_t": 12.5, "threshold_t": 10}],
    )
    assert installation.region_id == world.village.pk
    assert_queryset_matrix(MajorHazardInstallation.objects, installation, world)
    with pytest.raises(InvalidInput) as caught:
        services.create_major_hazard(
            actor=world.same,
            enterprise=enterprise,
            name="",
            level=5,
            substances=[{"name": "", "quantity_t": "x", "threshold_t": 0}, "液氯"],
        )
    details = caught.value.details
    assert set(details) == {"name", "level", "substances"}
    assert "第 1 项缺少物质名称" in details["substances"]
    assert "第 2 项格式不正确" in details["substances"]


# --- API ------------------------------------------------------------------------------------


def test_enterprise_api_matrix(world):
    enterprise = make_enterprise(world.village)
    place = make_place(world.village)
    installation = MajorHazardInstallation.objects.create(
        enterprise=enterprise, region=world.village, name="罐区", level=2
    )
    point = services.create_risk_point(
        actor=None, enterprise=enterprise, name="罐区", method="matrix", likelihood=2, severity=2
    )
    assert_api_matrix(world, f"/api/v1/enterprises/{enterprise.pk}")
    assert_api_matrix(world, f"/api/v1/places/{place.pk}")
    assert_api_matrix(world, f"/api/v1/major-hazards/{installation.pk}")
    assert_api_matrix(world, f"/api/v1/risk-points/{point.pk}")


def test_enterprise_api_create_patch_list(world):
    client = world.client_for(world.same)
    body = {
        "name": "安全化工有限公司",
        "credit_code": credit_code(901).lower(),
        "industry": "chemicals",
        "region_code": world.village.code,
        "safety_officer_phone": "13900001111",
    }
    created = client.post("/api/v1/enterprises", json.dumps(body), content_type="application/json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["credit_code"] == credit_code(901)
    assert data["safety_officer_phone_masked"] == "139****1111"
    assert "safety_officer_phone" not in data

    bad = client.post(
        "/api/v1/enterprises",
        json.dumps(body | {"credit_code": "123", "industry": "x", "name": "另"}),
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert set(bad.json()["details"]) == {"credit_code", "industry"}

    outside = client.post(
        "/api/v1/enterprises",
        json.dumps(body | {"region_code": world.sibling_township.code}),
        content_type="application/json",
    )
    assert outside.status_code == 422

    patched = client.patch(
        f"/api/v1/enterprises/{data['id']}",
        json.dumps({"employees": 33, "above_scale": True}),
        content_type="application/json",
    )
    assert patched.status_code == 200 and patched.json()["employees"] == 33
    sibling = world.client_for(world.sibling).patch(
        f"/api/v1/enterprises/{data['id']}",
        json.dumps({"employees": 1}),
        content_type="application/json",
    )
    assert sibling.status_code == 404

    for index in range(5):
        make_enterprise(world.village, industry=Industry.TEXTILES, name=f"纺织{index}")
    make_enterprise(world.sibling_township, name="隔壁企业")
    with CaptureQueriesContext(connection) as few:
        listed = client.get("/api/v1/enterprises?industry=textiles")
    assert listed.status_code == 200 and listed.json()["count"] == 5
    for index in range(20):
        make_enterprise(world.village, name=f"更多{index}")
    with CaptureQueriesContext(connection) as many:
        client.get("/api/v1/enterprises")
    assert len(many.captured_queries) == len(few.captured_queries)
    assert client.get("/api/v1/enterprises?q=纺织1").json()["count"] == 1
    assert client.get(f"/api/v1/enterprises?region={world.grid.code}").json()["count"] == 0
    assert world.client_for(world.parent).get("/api/v1/enterprises").json()["count"] == 27


def test_place_and_risk_point_api(world):
    client = world.client_for(world.same)
    enterprise = make_enterprise(world.village)
    created = client.post(
        "/api/v1/places",
        json.dumps(
            {
                "name": "小餐馆",
                "category": "restaurant",
                "region_code": world.village.code,
                "enterprise_id": enterprise.pk,
                "operator_phone": "13512345678",
            }
        ),
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["operator_phone_masked"] == "135****5678"
    assert client.get("/api/v1/places?category=restaurant").json()["count"] == 1

    point = client.post(
        "/api/v1/risk-points",
        json.dumps(
            {
                "enterprise_id": enterprise.pk,
                "name": "涂装车间",
                "method": "lec",
                "likelihood": 6,
                "exposure": 6,
                "consequence": 15,
            }
        ),
        content_type="application/json",
    )
    assert point.status_code == 201, point.json()
    assert point.json()["colour"] == RiskColour.RED and point.json()["score"] == 540
    assert client.get(f"/api/v1/enterprises/{enterprise.pk}").json()["risk_colour"] == "red"
    assert client.get("/api/v1/enterprises?risk_colour=red").json()["count"] == 1
    patched = client.patch(
        f"/api/v1/risk-points/{point.json()['id']}",
        json.dumps({"likelihood": 0.5}),
        content_type="application/json",
    )
    assert patched.json()["colour"] == RiskColour.BLUE
    assert client.get("/api/v1/risk-points?colour=blue").json()["count"] == 1

    mhi = client.post(
        "/api/v1/major-hazards",
        json.dumps(
            {
                "enterprise_id": enterprise.pk,
                "name": "储罐区",
                "level": 4,
                "substances": [{"name": "甲醇", "quantity_t": 600, "threshold_t": 500}],
            }
        ),
        content_type="application/json",
    )
    assert mhi.status_code == 201, mhi.json()
    assert client.get(f"/api/v1/major-hazards?enterprise={enterprise.pk}").json()["count"] == 1


# --- pages ----------------------------------------------------------------------------------


def test_pages_matrix(world):
    enterprise = make_enterprise(world.village, safety_officer_phone="13812345678")
    place = make_place(world.village, enterprise=enterprise)
    point = services.create_risk_point(
        actor=None, enterprise=enterprise, name="罐区", method="matrix", likelihood=4, severity=5
    )
    assert_page_matrix(world, f"/enterprises/{enterprise.pk}/")
    assert_page_matrix(world, f"/enterprises/{enterprise.pk}/edit/")
    assert_page_matrix(world, f"/places/{place.pk}/")
    assert_page_matrix(world, f"/places/{place.pk}/edit/")
    assert_page_matrix(world, f"/risk-points/{point.pk}/edit/")
    assert_page_matrix(world, f"/objects/enterprise/{enterprise.pk}/plate/")
    assert_page_matrix(world, f"/objects/place/{place.pk}/plate.png")


def test_enterprise_detail_page(world):
    enterprise = make_enterprise(world.village, safety_officer_phone="13812345678")
    services.create_risk_point(
        actor=None, enterprise=enterprise, name="涂装线", method="matrix", likelihood=4, severity=5
    )
    MajorHazardInstallation.objects.create(
        enterprise=enterprise,
        region=world.village,
        name="甲醇罐区",
        level=4,
        substances=[{"name": "甲醇", "quantity_t": 600, "threshold_t": 500}],
    )
    page = world.client_for(world.same).get(f"/enterprises/{enterprise.pk}/")
    html = page.content.decode()
    assert "138****5678" in html and "13812345678" not in html
    assert "涂装线" in html and "risk-chip red" in html and "甲醇罐区" in html
    assert "显示明文" not in html  # station staff have no clear view
    parent = world.client_for(world.parent)
    assert "显示明文" in parent.get(f"/enterprises/{enterprise.pk}/").content.decode()
    revealed = parent.post(
        f"/objects/enterprise/{enterprise.pk}/reveal/safety_officer_phone/", {"reason": "联系"}
    )
    assert revealed.status_code == 200 and "13812345678" in revealed.content.decode()
    denied = world.client_for(world.same).post(
        f"/objects/enterprise/{enterprise.pk}/reveal/safety_officer_phone/", {}
    )
    assert denied.status_code == 403


def test_list_pages_and_query_counts(world):
    client = world.client_for(world.same)
    for index in range(3):
        make_enterprise(world.village, name=f"企业甲{index}")
        make_place(world.village, name=f"场所甲{index}")
    listed, few = page_queries(client, "/enterprises/")
    assert listed.status_code == 200
    listed, few_places = page_queries(client, "/places/")
    assert listed.status_code == 200
    for index in range(30):
        make_enterprise(world.village, name=f"企业乙{index}", industry=Industry.CHEMICALS)
        make_place(world.village, name=f"场所乙{index}", category=PlaceCategory.HOTEL)
    make_enterprise(world.sibling_township, name="隔壁企业")
    page, many = page_queries(client, "/enterprises/")
    assert len(many.captured_queries) == len(few.captured_queries)
    _, many_places = page_queries(client, "/places/")
    assert len(many_places.captured_queries) == len(few_places.captured_queries)
    html = page.content.decode()
    assert "隔壁企业" not in html and "企业乙0" in html
    filtered = client.get("/enterprises/?industry=chemicals&q=乙1").content.decode()
    assert "企业乙1" in filtered and "企业甲0" not in filtered
    assert "场所乙0" in client.get("/places/?category=hotel").content.decode()
    assert world.client_for(None).get("/enterprises/").status_code == 302


def test_create_and_edit_pages(world):
    client = world.client_for(world.same)
    answer = client.post(
        "/enterprises/new/",
        {
            "name": "新企业",
            "credit_code": credit_code(777)[:17] + "I",
            "industry": "textiles",
            "region": world.village.code,
        },
    )
    assert answer.status_code == 422
    assert "统一社会信用代码" in answer.content.decode()
    answer = client.post(
        "/enterprises/new/",
        {
            "name": "新企业",
            "credit_code": credit_code(777).lower(),
            "industry": "textiles",
            "region": world.village.code,
            "safety_officer_phone": "13812345678",
        },
    )
    enterprise = Enterprise.objects.get(credit_code=credit_code(777))
    assert answer.status_code == 302 and answer["Location"] == f"/enterprises/{enterprise.pk}/"
    edit = client.post(
        f"/enterprises/{enterprise.pk}/edit/",
        {
            "name": "改名企业",
            "credit_code": enterprise.credit_code,
            "industry": "textiles",
            "region": world.village.code,
            "safety_officer_phone": "",
        },
    )
    assert edit.status_code == 302
    enterprise.refresh_from_db()
    assert enterprise.name == "改名企业" and enterprise.safety_officer_phone == "13812345678"

    risk = client.post(
        f"/objects/enterprise/{enterprise.pk}/risk-points/new/",
        {
            "name": "锅炉房",
            "method": "lec",
            "likelihood": "3",
            "exposure": "6",
            "consequence": "15",
        },
    )
    assert risk.status_code == 302
    enterprise.refresh_from_db()
    assert enterprise.risk_colour == RiskColour.ORANGE

    place = client.post(
        "/places/new/",
        {"name": "小超市", "category": "small_shop", "region": world.village.code},
    )
    assert place.status_code == 302
    assert client.get(f"/places/new/?enterprise={enterprise.pk}").status_code == 200
    leader_page = world.client_for(world.sibling).get(f"/enterprises/{enterprise.pk}/edit/")
    assert leader_page.status_code == 404


def test_import_page_with_valid_rows_button(world):
    from frontline.hazards.tests.test_importing import row, xlsx

    client = world.client_for(world.same)
    upload = xlsx(
        [
            row(credit_code(601), world.village.code, "好企业"),
            row("123", world.village.code, "坏企业"),
        ]
    )
    upload.name = "企业.xlsx"
    answer = client.post("/enterprises/import/", {"file": upload})
    html = answer.content.decode()
    assert answer.status_code == 200 and "统一社会信用代码应为 18 位" in html
    assert "导入有效行" in html and not Enterprise.objects.exists()
    done = client.post("/enterprises/import/", {"action": "valid_rows"})
    assert done.status_code == 200 and "新增 1 条" in done.content.decode()
    assert list(Enterprise.objects.values_list("name", flat=True)) == ["好企业"]
    again = client.post("/enterprises/import/", {"action": "valid_rows"})
    assert again.status_code == 302


def test_export_page(world):
    make_enterprise(world.village, name="导出企业")
    answer = world.client_for(world.same).get("/enterprises/export.xlsx")
    assert answer.status_code == 200 and answer.content.startswith(b"PK")
    assert world.client_for(world.same).get("/places/export.xlsx").status_code == 200


# --- QR door plates -------------------------------------------------------------------------


def test_qr_redirect_is_scoped(world, settings):
    enterprise = make_enterprise(world.village)
    place = make_place(world.village)
    url = f"/p/{enterprise.qr_token}/"
    assert world.client_for(world.same).get(url)["Location"] == f"/enterprises/{enterprise.pk}/"
    place_answer = world.client_for(world.parent).get(f"/p/{place.qr_token}/")
    assert place_answer["Location"] == f"/places/{place.pk}/"
    assert world.client_for(world.sibling).get(url).status_code == 404
    assert world.client_for(world.outsider).get(url).status_code == 404
    assert "/login/" in world.client_for(None).get(url)["Location"]
    assert world.client_for(world.same).get("/p/unknown/").status_code == 404


def test_door_plate_uses_base_url(world, settings):
    import segno  # noqa: F401  (installed)

    enterprise = make_enterprise(world.village)
    client = world.client_for(world.same)
    page = client.get(f"/objects/enterprise/{enterprise.pk}/plate/").content.decode()
    assert f"http://testserver/p/{enterprise.qr_token}/" in page and "<svg" in page
    settings.FRONTLINE_BASE_URL = "https://yj.example.gov.cn/"
    page = client.get(f"/objects/enterprise/{enterprise.pk}/plate/").content.decode()
    assert f"https://yj.example.gov.cn/p/{enterprise.qr_token}/" in page
    png = client.get(f"/objects/enterprise/{enterprise.pk}/plate.png")
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    svg = client.get(f"/objects/enterprise/{enterprise.pk}/plate.svg")
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    assert client.get(f"/objects/enterprise/{enterprise.pk}/plate.gif").status_code == 404


# --- map layers -----------------------------------------------------------------------------


def test_map_layers_coloured_by_risk(world):
    enterprise = make_enterprise(world.village, lon=120.41, lat=30.01)
    services.create_risk_point(
        actor=None, enterprise=enterprise, name="罐区", method="matrix", likelihood=5, severity=5
    )
    make_enterprise(world.sibling_township, lon=120.51, lat=30.01)
    make_place(world.village, lon=120.42, lat=30.02)
    client = world.client_for(world.same)
    answer = client.get("/api/v1/map/layers/enterprises", {"bbox": "120.3,29.9,120.7,30.2"})
    assert answer.status_code == 200, answer.content
    features = answer.json()["features"]
    assert len(features) == 1
    assert features[0]["properties"]["risk_colour"] == "red"
    assert features[0]["properties"]["url"] == f"/enterprises/{enterprise.pk}/"
    places = client.get("/api/v1/map/layers/places").json()["features"]
    assert len(places) == 1 and places[0]["properties"]["risk_colour"] == ""
    keys = [layer["key"] for layer in client.get("/api/v1/map/layers").json()]
    assert {"enterprises", "places"} <= set(keys)


# --- admin ----------------------------------------------------------------------------------


def test_admin_is_scoped_and_saves_through_services(world):
    mine = make_enterprise(world.village, name="本区企业")
    make_enterprise(world.other_county, name="外区企业")
    client = world.client_for(world.parent)
    listing = client.get("/admin/hazards/enterprise/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "本区企业" in html and "外区企业" not in html
    assert client.get(f"/admin/hazards/enterprise/{mine.pk}/change/").status_code == 200
    bad = client.post(
        "/admin/hazards/enterprise/add/",
        {
            "name": "后台企业",
            "credit_code": credit_code(880)[:17] + "I",
            "industry": "textiles",
            "region": world.village.pk,
        },
    )
    assert bad.status_code == 200 and not Enterprise.objects.filter(name="后台企业").exists()
    good = client.post(
        "/admin/hazards/enterprise/add/",
        {
            "name": "后台企业",
            "credit_code": credit_code(880),
            "industry": "textiles",
            "region": world.village.pk,
            "employees": "",
        },
    )
    assert good.status_code == 302, good.context["adminform"].form.errors
    assert Enterprise.objects.filter(name="后台企业", region=world.village).exists()
    assert client.get("/admin/hazards/riskpoint/").status_code == 200
    assert client.get("/admin/hazards/place/").status_code == 200
    assert client.get("/admin/hazards/majorhazardinstallation/").status_code == 200


def _add_objects(world, count: int) -> None:
    for _index in range(count):
        enterprise = make_enterprise(world.village)
        make_place(world.village, enterprise=enterprise)
        MajorHazardInstallation.objects.create(
            enterprise=enterprise, region=world.village, name="罐区", level=3
        )
        services.create_risk_point(
            actor=None, enterprise=enterprise, name="点", method="matrix", likelihood=2, severity=3
        )


@pytest.mark.parametrize("url", ["/api/v1/places", "/api/v1/risk-points", "/api/v1/major-hazards"])
def test_list_endpoints_query_count(world, url):
    client = world.client_for(world.same)
    _add_objects(world, 2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).json()["count"] == 2
    _add_objects(world, 10)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).json()["count"] == 12
    assert len(many.captured_queries) == len(few.captured_queries)


def test_major_hazard_and_risk_point_pages(world):
    enterprise = make_enterprise(world.village)
    client = world.client_for(world.same)
    url = f"/enterprises/{enterprise.pk}/major-hazards/new/"
    bad = client.post(url, {"name": "罐区", "level": "2", "substances": "液氨, 12.5\n"})
    assert bad.status_code == 422 and "第 1 项缺少临界量（吨）" in bad.content.decode()
    good = client.post(
        url, {"name": "罐区", "level": "2", "substances": "液氨, 12.5, 10\n甲醇 600 500"}
    )
    assert good.status_code == 302
    installation = MajorHazardInstallation.objects.get(enterprise=enterprise)
    assert installation.substances == [
        {"name": "液氨", "quantity_t": 12.5, "threshold_t": 10},
        {"name": "甲醇", "quantity_t": 600, "threshold_t": 500},
    ]
    assert_page_matrix(world, f"/major-hazards/{installation.pk}/edit/")
    edit = client.post(
        f"/major-hazards/{installation.pk}/edit/",
        {"name": "液氨罐区", "level": "1", "substances": "液氨, 12.5, 10"},
    )
    assert edit.status_code == 302
    installation.refresh_from_db()
    assert installation.level == 1 and len(installation.substances) == 1

    point = services.create_risk_point(
        actor=None, enterprise=enterprise, name="罐区", method="matrix", likelihood=5, severity=5
    )
    assert (
        world.client_for(world.sibling).post(f"/risk-points/{point.pk}/delete/").status_code == 404
    )
    assert client.post(f"/risk-points/{point.pk}/delete/").status_code == 302
    enterprise.refresh_from_db()
    assert enterprise.risk_colour == "" and not enterprise.risk_points.exists()
