"""The hazard API: /api/v1/hazards — list, detail, report and one POST per step."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontline.core.geo import wgs84_to_gcj02
from frontline.core.roles import Role
from frontline.core.testing import assert_api_matrix, make_user
from frontline.hazards import services
from frontline.hazards.models import Hazard, HazardState
from frontline.hazards.testing import make_enterprise, make_hazard
from frontline.hazards.tests.conftest import after_photo

pytestmark = pytest.mark.usefixtures("media_root", "clear_cache")


def post(client, url, payload=None):
    return client.post(url, payload or {}, content_type="application/json")


def confirmed(world, level="general"):
    hazard = make_hazard(world.grid, actor=world.grid_worker)
    return services.confirm_hazard(
        actor=world.same,
        hazard=hazard,
        level=level,
        level_basis="依据",
        responsible_person="王厂长",
    )


def test_list_and_detail_follow_the_scope(world):
    hazard = make_hazard(world.village, actor=world.same)
    assert_api_matrix(world, f"/api/v1/hazards/{hazard.pk}")
    sibling = world.client_for(world.sibling).get("/api/v1/hazards").json()
    assert sibling["count"] == 0
    body = world.client_for(world.same).get(f"/api/v1/hazards/{hazard.pk}").json()
    assert body["number"] == hazard.number
    assert body["state"] == "found" and body["state_label"] == "发现"
    assert [e["kind"] for e in body["timeline"]] == ["reported"]
    assert set(body["actions"]) == {"confirm", "reject"}
    assert body["attachments"] == [] and body["treatment_plan"] is None


def test_list_filters_and_puts_overdue_first(world):
    enterprise = make_enterprise(world.village)
    late = confirmed(world)
    Hazard.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(days=1))
    make_hazard(world.village, actor=world.same, enterprise=enterprise, title="配电箱未接地")
    major = confirmed(world, level="major")
    client = world.client_for(world.same)
    items = client.get("/api/v1/hazards").json()["items"]
    assert items[0]["id"] == late.pk and items[0]["is_overdue"] is True
    assert [h["id"] for h in client.get("/api/v1/hazards?overdue=true").json()["items"]] == [
        late.pk
    ]
    assert [h["id"] for h in client.get("/api/v1/hazards?level=major").json()["items"]] == [
        major.pk
    ]
    by_enterprise = client.get(f"/api/v1/hazards?enterprise={enterprise.pk}").json()
    assert by_enterprise["count"] == 1
    assert client.get("/api/v1/hazards?q=配电箱").json()["count"] == 1
    assert client.get("/api/v1/hazards?state=found").json()["count"] == 1
    assert client.get(f"/api/v1/hazards?region={world.grid.code}").json()["count"] == 2
    assert client.get("/api/v1/hazards?source=video").json()["count"] == 0
    assert client.get("/api/v1/hazards?state=nonsense").status_code == 422


def test_queue_order_follows_state_and_deadline(world):
    # The order is kept by the database (generated columns), so it must move with every
    # change of state or deadline made through the services.
    now = timezone.now()
    later = confirmed(world)
    late = confirmed(world)
    Hazard.objects.filter(pk=late.pk).update(due_at=now - timedelta(days=1))
    fresh = make_hazard(world.village, actor=world.same)
    newest_fresh = make_hazard(world.village, actor=world.same)
    rejected = services.reject_hazard(
        actor=world.same, hazard=make_hazard(world.grid, actor=world.grid_worker), reason="重复"
    )
    client = world.client_for(world.same)

    def order():
        return [h["id"] for h in client.get("/api/v1/hazards").json()["items"]]

    assert order() == [late.pk, later.pk, newest_fresh.pk, fresh.pk, rejected.pk]
    # A later deadline moves a hazard behind the others with one.
    Hazard.objects.filter(pk=late.pk).update(due_at=later.due_at + timedelta(days=1))
    assert order()[:2] == [later.pk, late.pk]
    # Confirming gives a deadline: the hazard joins the hazards with one.
    services.confirm_hazard(
        actor=world.same, hazard=fresh, level="general", level_basis="依据", responsible_person="李"
    )
    assert order().index(fresh.pk) < order().index(newest_fresh.pk)
    page = client.get("/hazards/?state=all").content.decode()
    assert page.index(later.number) < page.index(newest_fresh.number) < page.index(rejected.number)


def test_the_ordered_scope_sees_what_visible_to_sees(world):
    from django.contrib.auth.models import AnonymousUser

    from frontline.core.testing import make_region

    for region in (world.grid, world.township, world.sibling_township):
        make_hazard(region)
    make_hazard(make_region("330602001", "township", world.other_county, name="外县街道"))
    for user in (*world.personas().values(), world.grid_worker, AnonymousUser()):
        ordered = list(Hazard.objects.visible_in_order(user).values_list("pk", flat=True))
        scoped = Hazard.objects.visible_to(user).values_list("pk", flat=True)
        assert sorted(ordered) == sorted(scoped)
    parent_sees = Hazard.objects.visible_in_order(world.parent).count()
    assert parent_sees == 3 and Hazard.objects.visible_in_order(world.same).count() == 2


def test_list_has_no_n_plus_one(world):
    enterprise = make_enterprise(world.village)
    for _i in range(3):
        make_hazard(world.village, actor=world.same, enterprise=enterprise)
    client = world.client_for(world.same)
    client.get("/api/v1/hazards")  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/hazards")
    for _i in range(5):
        make_hazard(world.village, actor=world.same, enterprise=enterprise)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/api/v1/hazards")
    assert response.json()["count"] == 8
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_report_converts_gcj02_and_locates_the_region(world):
    lon, lat = 120.41, 30.01  # inside the grid
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    client = world.client_for(world.parent)
    response = post(
        client,
        "/api/v1/hazards",
        {
            "title": "路边配电箱门损坏",
            "source": "public_report",
            "lon": gcj_lon,
            "lat": gcj_lat,
            "coord_system": "gcj02",
            "reporter_name": "张先生",
            "reporter_phone": "13812345678",
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["region_code"] == world.grid.code
    assert abs(body["lon"] - lon) < 1e-5 and abs(body["lat"] - lat) < 1e-5
    assert body["reporter_phone"] != "13812345678" and body["reporter_phone"].endswith("5678")


def test_report_bad_input_is_422(world):
    client = world.client_for(world.parent)
    response = post(client, "/api/v1/hazards", {"title": "", "coord_system": "wgs72"})
    assert response.status_code == 422
    assert {"title", "coord_system"} <= set(response.json()["details"])
    # The county administrator holds no single region to fall back on... but does: one
    # assignment. A region outside the scope is refused.
    response = post(
        client, "/api/v1/hazards", {"title": "某隐患", "region_code": world.other_county.code}
    )
    assert response.status_code == 422 and "region_code" in response.json()["details"]
    assert not Hazard.objects.exists()


def test_report_is_rate_limited(world, settings):
    settings.FRONTLINE_HAZARD_REPORT_LIMIT = 2
    client = world.client_for(world.grid_worker)
    for _i in range(2):
        assert post(client, "/api/v1/hazards", {"title": "隐患"}).status_code == 201
    response = post(client, "/api/v1/hazards", {"title": "隐患"})
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert "上报过于频繁" in response.json()["message"]
    assert Hazard.objects.count() == 2


def test_the_loop_through_the_api(world):
    chief = make_user(Role.STATION_CHIEF, world.township, "chief")
    rectifier = make_user(Role.ENTERPRISE_OFFICER, world.village, "rectifier")
    hazard = make_hazard(world.grid, actor=world.grid_worker)
    url = f"/api/v1/hazards/{hazard.pk}"
    staff = world.client_for(world.same)
    response = post(staff, url + "/confirm", {"level": "general", "responsible_person": "王"})
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "confirmed"

    worker = world.client_for(rectifier)
    assert post(worker, url + "/control", {"measures": "警戒"}).json()["state"] == "controlled"
    assert post(worker, url + "/start", {}).json()["state"] == "rectifying"
    response = post(worker, url + "/rectified", {"note": "已整改", "after_photo_ids": []})
    assert response.status_code == 422 and "after_photo_ids" in response.json()["details"]
    photo = after_photo(hazard, rectifier)
    response = post(worker, url + "/rectified", {"note": "已整改", "after_photo_ids": [photo.pk]})
    assert response.json()["state"] == "pending_verification"
    assert [a["id"] for a in response.json()["attachments"]] == [photo.pk]

    response = post(worker, url + "/verify", {})
    assert response.status_code == 403
    response = post(world.client_for(chief), url + "/return", {"reason": "未整改到位"})
    assert response.json()["state"] == "rectifying"
    second = after_photo(hazard, rectifier, colour="blue")
    post(worker, url + "/rectified", {"note": "再次整改", "after_photo_ids": [second.pk]})
    response = post(world.client_for(chief), url + "/verify", {"note": "通过"})
    assert response.status_code == 200 and response.json()["state"] == "closed"
    kinds = [e["kind"] for e in response.json()["timeline"]]
    assert kinds.count("rectified") == 2 and kinds[-1] == "closed"


def test_illegal_step_is_409_in_chinese(world):
    hazard = make_hazard(world.grid, actor=world.grid_worker)
    response = post(world.client_for(world.same), f"/api/v1/hazards/{hazard.pk}/verify", {})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "illegal_transition"
    assert body["message"] == "隐患当前为「发现」，不能验收核销"
    assert body["details"]["allowed"] == ["confirm", "reject"]


def test_steps_outside_the_scope_are_404_and_bad_input_422(world):
    hazard = make_hazard(world.grid, actor=world.grid_worker)
    url = f"/api/v1/hazards/{hazard.pk}/confirm"
    payload = {"level": "general", "responsible_person": "王"}
    assert post(world.client_for(world.sibling), url, payload).status_code == 404
    assert post(world.client_for(world.outsider), url, payload).status_code == 404
    assert post(world.client_for(None), url, payload).status_code == 401
    response = post(world.client_for(world.same), url, {"level": "huge"})
    assert response.status_code == 422 and "level" in response.json()["details"]
    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = post(world.client_for(world.same), url, {**payload, "due_at": past})
    assert response.status_code == 422 and "due_at" in response.json()["details"]
    hazard.refresh_from_db()
    assert hazard.state == HazardState.FOUND


def test_extension_plan_and_listing_through_the_api(world):
    hazard = confirmed(world, level="major")
    url = f"/api/v1/hazards/{hazard.pk}"
    staff = world.client_for(world.same)
    assert post(staff, url + "/start", {}).status_code == 409
    plan = {
        "current_state": "防火堤破损",
        "danger_analysis": "泄漏无法围堵",
        "goal": "修复",
        "measures": "停用、修复",
        "funds": "3.5",
        "responsible_unit": "某公司",
        "responsible_person": "李",
        "time_limit": (timezone.localdate() + timedelta(days=20)).isoformat(),
        "safety_measures": "警戒",
        "emergency_plan": "专项预案",
    }
    response = post(staff, url + "/plan", plan)
    assert response.status_code == 200, response.json()
    assert response.json()["treatment_plan"]["funds"] == "3.50"
    until = (hazard.due_at + timedelta(days=5)).isoformat()
    response = post(staff, url + "/request-extension", {"until": until, "reason": "材料"})
    assert response.json()["extension_requested_until"] is not None
    response = post(world.client_for(world.parent), url + "/approve-extension", {})
    assert response.json()["due_at"].startswith(until[:16])
    deadline = (timezone.now() + timedelta(days=30)).isoformat()
    listing = {
        "supervising_region_code": world.county.code,
        "document_number": "柯应急督〔2026〕3号",
        "deadline": deadline,
    }
    assert post(staff, url + "/list", listing).status_code == 403
    response = post(world.client_for(world.parent), url + "/list", listing)
    assert response.status_code == 200
    assert response.json()["listed_supervision"]["document_number"] == "柯应急督〔2026〕3号"
    bad = {**listing, "supervising_region_code": world.township.code}
    other = confirmed(world, level="major")
    response = post(world.client_for(world.parent), f"/api/v1/hazards/{other.pk}/list", bad)
    assert response.status_code == 422
    assert "supervising_region_code" in response.json()["details"]
