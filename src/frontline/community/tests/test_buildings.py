"""Buildings (一楼一档): the services and their validation, the pages (list, the building's
file with its history, forms, the logged clear view of the phone), the API and the map
layer."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from frontline.community.models import (
    Building,
    BuildingUse,
    CallCategory,
    CheckInFlag,
    CheckInMethod,
    CommunityCall,
    EbikeCharging,
    PatrolCheckIn,
    PatrolFinding,
    PatrolRun,
)
from frontline.community.models.buildings import high_rise_q
from frontline.community.services import buildings as services
from frontline.community.services import facilities as facility_services
from frontline.community.testing import make_building, make_department, make_facility, make_plan
from frontline.core.errors import InvalidInput, PermissionDenied
from frontline.core.models import SensitiveAccess
from frontline.core.roles import Role
from frontline.core.testing import (
    assert_api_matrix,
    assert_page_matrix,
    assert_queryset_matrix,
    make_user,
    page_queries,
)


def new_building(world, actor=None, **kw):
    fields = {
        "region": world.grid,
        "name": "州山新村1幢",
        "address": "州山路1号",
        "use": BuildingUse.RESIDENTIAL,
        "structure": "brick_concrete",
        "floors_above": 6,
        "lon": 120.405,
        "lat": 30.005,
    } | kw
    return services.create_building(actor=actor or world.same, **fields)


# --- services -------------------------------------------------------------------------------


def test_create_building_stores_the_phone_encrypted(world):
    building = new_building(
        world,
        responsible_name="王大伯",
        responsible_phone="13812345678",
        ebike_charging=EbikeCharging.FLYING_LEADS,
        year_built=1998,
        hydrants=4,
    )
    assert building.region == world.grid and building.charging_is_unsafe
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT responsible_phone FROM community_building WHERE id = %s", [building.pk]
        )
        stored = cursor.fetchone()[0]
    assert "13812345678" not in stored and stored.startswith("v1:")
    assert Building.objects.get(pk=building.pk).responsible_phone == "13812345678"
    assert building.responsible_phone_masked == "138****5678"


def test_every_wrong_field_is_reported_at_once(world):
    with pytest.raises(InvalidInput) as caught:
        new_building(
            world,
            name=" ",
            use="castle",
            floors_above=0,
            year_built=timezone.localdate().year + 1,
            lon=120.4,
            lat=None,
            responsible_phone="abc",
            ebike_charging="anywhere",
            stairs=-1,
        )
    details = caught.value.details
    assert details["name"] == "此字段为必填项"
    assert details["use"] == "请选择"
    assert details["floors_above"] == "不能小于 1"
    assert details["year_built"] == "建成年份不能晚于今年"
    assert details["lat"] == "经度和纬度需同时填写"
    assert details["responsible_phone"].startswith("电话号码格式不正确")
    assert details["ebike_charging"] == "请选择"
    assert details["stairs"] == "不能小于 0"
    assert not Building.objects.exists()


def test_location_region_and_rules_between_fields(world):
    with pytest.raises(InvalidInput) as caught:
        new_building(world, lon=30.005, lat=120.405)  # swapped
    assert caught.value.details["lat"] == "不能大于 90"
    with pytest.raises(InvalidInput) as caught:
        new_building(world, lon=2.35, lat=48.85)  # Paris
    assert caught.value.details["lon"] == "坐标不在中国境内，请检查经纬度是否填反"
    with pytest.raises(InvalidInput) as caught:
        new_building(world, region=world.township)
    assert caught.value.details["region"] == "应登记到村（社区）或网格"
    with pytest.raises(InvalidInput) as caught:
        new_building(world, floors_above=3, stairs=0)
    assert caught.value.details["stairs"] == "两层及以上的楼栋至少应有 1 部疏散楼梯"
    new_building(world, floors_above=1, stairs=0)  # a bungalow needs none
    with pytest.raises(InvalidInput) as caught:
        new_building(world, floors_above=1, stairs=0)
    assert caught.value.details["name"] == "该网格内已有同名楼栋"
    new_building(world, region=world.village)  # the same name in another region is fine


def test_permissions(world):
    leader = make_user(Role.LEADER, world.township, "leader")
    with pytest.raises(PermissionDenied):
        new_building(world, actor=leader)
    with pytest.raises(PermissionDenied):
        new_building(world, actor=world.sibling)
    building = new_building(world, actor=world.grid_worker)
    other_grid = services.create_building(
        actor=world.parent,
        region=world.village,
        name="村部",
        address="州山村",
        use=BuildingUse.PUBLIC,
        structure="reinforced_concrete",
    )
    with pytest.raises(PermissionDenied):  # the grid worker may not move it out of the grid
        services.update_building(actor=world.grid_worker, building=building, region=world.village)
    with pytest.raises(PermissionDenied):
        services.update_building(actor=world.grid_worker, building=other_grid, name="改名")
    assert_queryset_matrix(Building.objects, building, world)


def test_update_changes_only_what_is_given(world):
    building = new_building(world, responsible_phone="13812345678", year_built=2001)
    services.update_building(actor=world.same, building=building, floors_above=12, lon=120.41)
    building.refresh_from_db()
    assert building.floors_above == 12 and building.lon == 120.41 and building.lat == 30.005
    assert building.year_built == 2001 and building.responsible_phone == "13812345678"
    with pytest.raises(InvalidInput) as caught:
        services.update_building(actor=world.same, building=building, stairs=0)
    assert "stairs" in caught.value.details  # checked against the stored 12 floors
    with pytest.raises(InvalidInput) as caught:
        services.update_building(actor=world.same, building=building, qr_token="x")
    assert caught.value.details == {"qr_token": "不可修改"}
    services.update_building(actor=world.same, building=building, region=world.village)
    building.refresh_from_db()
    assert building.region == world.village


def test_high_rise_filter_agrees_with_the_property(world):
    cases = [
        dict(use="residential", floors_above=11, height_m=None),  # high
        dict(use="residential", floors_above=9, height_m=None),
        dict(use="residential", floors_above=9, height_m=28),  # high
        dict(use="residential", floors_above=9, height_m=26),
        dict(use="office", floors_above=7, height_m=25),  # high
        dict(use="self_built", floors_above=4, height_m=13),
    ]
    for number, fields in enumerate(cases):
        make_building(world.grid, name=f"楼{number}", **fields)
    filtered = set(Building.objects.filter(high_rise_q()).values_list("name", flat=True))
    by_property = {b.name for b in Building.objects.all() if b.is_high_rise}
    assert filtered == by_property == {"楼0", "楼2", "楼4"}


# --- pages ----------------------------------------------------------------------------------


def test_list_page_filters_and_query_count(world):
    client = world.client_for(world.same)
    for index in range(3):
        make_building(world.grid, name=f"甲楼{index}", responsible_phone="13812345678")
    listed, few = page_queries(client, "/buildings/")
    assert listed.status_code == 200
    for index in range(30):
        make_building(
            world.grid,
            name=f"乙楼{index}",
            use=BuildingUse.COMMERCIAL,
            floors_above=15,
            ebike_charging=EbikeCharging.INDOOR_OBSERVED if index % 2 else "",
            responsible_phone="13900001111",
        )
    make_building(world.sibling_township, name="隔壁楼")
    page, many = page_queries(client, "/buildings/")
    assert len(many.captured_queries) == len(few.captured_queries)
    html = page.content.decode()
    assert "隔壁楼" not in html and "甲楼0" in html
    assert "138****5678" in html and "13812345678" not in html

    def names(query):
        return client.get("/buildings/" + query).content.decode()

    assert "甲楼0" not in names("?use=commercial") and "乙楼0" in names("?use=commercial")
    assert "乙楼1" in names("?high_rise=1") and "甲楼0" not in names("?high_rise=1")
    unsafe = names("?unsafe_charging=1")
    assert "乙楼1" in unsafe and "乙楼0" not in unsafe
    assert "甲楼1" in names("?q=甲楼") and "乙楼1" not in names("?q=甲楼")
    assert "甲楼1" in names(f"?region={world.grid.code}")
    assert client.get(f"/buildings/?region={world.sibling_township.code}").status_code == 404
    assert world.client_for(None).get("/buildings/").status_code == 302


def test_building_page_is_the_file(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    building = make_building(
        world.grid,
        name="州山3幢",
        ebike_charging=EbikeCharging.FLYING_LEADS,
        responsible_name="王大伯",
        responsible_phone="13812345678",
        hydrants=6,
    )
    inside = make_facility(world.grid, name="3幢灭火器点", building=building, kind="aed")
    facility_services.record_facility_check(
        actor=world.grid_worker, facility=inside, status="faulty", note="电池耗尽"
    )
    make_facility(world.grid, name="路边消火栓")  # not in the building
    department = make_department(world.township)
    call = CommunityCall.objects.create(
        number="HJ-1",
        region=world.grid,
        title="楼道堆放杂物",
        category=CallCategory.FIRE,
        department=department,
        building=building,
        raised_by=world.grid_worker,
        arrive_by=timezone.now(),
        fix_by=timezone.now(),
    )
    plan = make_plan(world.grid, points=1)
    checkpoint = plan.checkpoints.get()
    checkpoint.building = building
    checkpoint.save()
    run = PatrolRun.objects.create(
        plan=plan, region=world.grid, walker=world.grid_worker, day=timezone.localdate()
    )
    check_in = PatrolCheckIn.objects.create(
        run=run, checkpoint=checkpoint, method=CheckInMethod.QR, flag=CheckInFlag.OK
    )
    PatrolFinding.objects.create(run=run, check_in=check_in, region=world.grid, note="发现飞线充电")

    url = f"/buildings/{building.pk}/"
    assert_page_matrix(world, url)
    html = world.client_for(world.same).get(url).content.decode()
    assert 'data-testid="charging-warning"' in html and "发现飞线充电" in html
    assert "138****5678" in html and "13812345678" not in html
    assert "3幢灭火器点" in html and "路边消火栓" not in html
    assert f"/households/?building={building.pk}" in html  # station staff see the roll
    timeline = html.split('data-testid="timeline"')[1].split("</ol>")[0]
    assert "楼道堆放杂物" in timeline and "电池耗尽" in timeline and "发现飞线充电" in timeline
    assert f'href="/facilities/{inside.pk}/"' in timeline
    assert f'href="{reverse("call_detail", kwargs={"pk": call.pk})}"' in timeline
    assert f'href="{reverse("patrol_run", kwargs={"pk": run.pk})}"' in timeline
    assert "显示明文" not in html  # station staff may not see the phone in clear
    assert "attachments-community-building" in html  # the photos panel

    leader = make_user(Role.LEADER, world.township, "leader")
    assert "/households/?building=" not in world.client_for(leader).get(url).content.decode()


def test_the_phone_in_clear_is_logged(world):
    building = make_building(world.grid, responsible_phone="13812345678")
    url = f"/buildings/{building.pk}/reveal/responsible_phone/"
    parent = world.client_for(world.parent)
    assert "显示明文" in parent.get(f"/buildings/{building.pk}/").content.decode()
    revealed = parent.post(url, {"reason": "通知整改"})
    assert revealed.status_code == 200 and "13812345678" in revealed.content.decode()
    access = SensitiveAccess.objects.get()
    assert access.user == world.parent and access.field == "responsible_phone"
    assert access.reason == "通知整改" and access.object_id == str(building.pk)
    denied = world.client_for(world.same).post(url, {})
    assert denied.status_code == 403 and "13812345678" not in denied.content.decode()
    assert world.client_for(world.sibling).post(url, {}).status_code == 404
    assert parent.post(f"/buildings/{building.pk}/reveal/name/", {}).status_code == 404
    assert SensitiveAccess.objects.count() == 1


def test_create_and_edit_pages(world):
    client = world.client_for(world.same)
    form = {
        "name": "新楼",
        "address": "州山路8号",
        "region": world.grid.code,
        "use": "residential",
        "structure": "brick_concrete",
        "floors_above": "6",
        "exits": "2",
        "stairs": "0",
        "responsible_phone": "13812345678",
        "lon": "120.41",
        "lat": "30.01",
    }
    bad = client.post("/buildings/new/", form)
    assert bad.status_code == 422
    assert "两层及以上的楼栋至少应有 1 部疏散楼梯" in bad.content.decode()
    good = client.post("/buildings/new/", form | {"stairs": "2"})
    assert good.status_code == 302
    building = Building.objects.get(name="新楼")
    assert building.responsible_phone == "13812345678" and building.exits == 2
    edit_url = f"/buildings/{building.pk}/edit/"
    page = client.get(edit_url).content.decode()
    assert "13812345678" not in page and "138****5678" in page
    changed = client.post(edit_url, form | {"stairs": "2", "responsible_phone": "", "exits": "3"})
    assert changed.status_code == 302
    building.refresh_from_db()
    assert building.exits == 3 and building.responsible_phone == "13812345678"
    assert_page_matrix(world, edit_url)
    leader = make_user(Role.LEADER, world.township, "leader")
    assert world.client_for(leader).get("/buildings/new/").status_code == 403
    assert world.client_for(leader).get(edit_url).status_code == 403
    # A region outside the scope is not among the choices.
    outside = client.post("/buildings/new/", form | {"region": world.sibling_township.code})
    assert outside.status_code == 422 and not Building.objects.filter(region__code="330603002")


# --- API ------------------------------------------------------------------------------------


def test_api_create_read_update(world):
    client = world.client_for(world.same)
    payload = {
        "name": "接口楼",
        "address": "州山路9号",
        "region_code": world.grid.code,
        "use": "mixed",
        "structure": "steel",
        "floors_above": 30,
        "height_m": 95,
        "responsible_phone": "13812345678",
        "ebike_charging": "indoor_observed",
        "lon": 120.401,
        "lat": 30.001,
    }
    created = client.post("/api/v1/buildings", payload, content_type="application/json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["responsible_phone_masked"] == "138****5678" and "responsible_phone" not in body
    assert body["is_high_rise"] and body["charging_is_unsafe"] and body["exits"] == 1
    url = f"/api/v1/buildings/{body['id']}"
    assert_api_matrix(world, url)

    bad = client.patch(
        url, {"year_built": 2999, "lon": 200}, content_type="application/json"
    ).json()
    assert bad["code"] == "validation_error" and "lon" in bad["details"]
    bad = client.patch(url, {"year_built": 2999}, content_type="application/json").json()
    assert bad["details"] == {"year_built": "建成年份不能晚于今年"}
    changed = client.patch(url, {"floors_above": 31}, content_type="application/json")
    assert changed.status_code == 200 and changed.json()["floors_above"] == 31
    assert changed.json()["responsible_phone_masked"] == "138****5678"

    sibling = world.client_for(world.sibling)
    assert sibling.patch(url, {"name": "x"}, content_type="application/json").status_code == 404
    outside = sibling.post(
        "/api/v1/buildings", payload | {"name": "越界"}, content_type="application/json"
    )
    assert outside.status_code == 422 and outside.json()["details"]["region_code"]
    leader = world.client_for(make_user(Role.LEADER, world.township, "leader"))
    assert leader.patch(url, {"name": "x"}, content_type="application/json").status_code == 403

    revealed = world.client_for(world.parent).post(
        f"{url}/reveal", {"field": "responsible_phone"}, content_type="application/json"
    )
    assert revealed.json() == {"field": "responsible_phone", "value": "13812345678"}
    assert (
        client.post(
            f"{url}/reveal", {"field": "responsible_phone"}, content_type="application/json"
        ).status_code
        == 403
    )
    assert SensitiveAccess.objects.count() == 1


def test_api_list_filters_and_query_count(world):
    client = world.client_for(world.same)
    for index in range(2):
        make_building(world.grid, name=f"甲{index}")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/api/v1/buildings").json()["count"] == 2
    for index in range(12):
        make_building(world.grid, name=f"乙{index}", floors_above=12, ebike_charging="flying_leads")
    make_building(world.sibling_township, name="隔壁")
    with CaptureQueriesContext(connection) as many:
        assert client.get("/api/v1/buildings").json()["count"] == 14
    assert len(many.captured_queries) == len(few.captured_queries)
    assert client.get("/api/v1/buildings?high_rise=true").json()["count"] == 12
    assert client.get("/api/v1/buildings?high_rise=false").json()["count"] == 2
    assert client.get("/api/v1/buildings?unsafe_charging=true").json()["count"] == 12
    assert client.get("/api/v1/buildings?q=甲").json()["count"] == 2
    assert world.client_for(world.sibling).get("/api/v1/buildings").json()["count"] == 1
    assert world.client_for(None).get("/api/v1/buildings").status_code == 401


# --- map ------------------------------------------------------------------------------------


def test_map_layer_is_scoped_and_marks_unsafe_charging(world):
    safe = make_building(world.grid, lon=120.41, lat=30.01, use=BuildingUse.PUBLIC)
    unsafe = make_building(
        world.grid, lon=120.411, lat=30.01, ebike_charging=EbikeCharging.INDOOR_OBSERVED
    )
    make_building(world.sibling_township, lon=120.51, lat=30.01)
    client = world.client_for(world.same)
    answer = client.get("/api/v1/map/layers/community.buildings", {"bbox": "120.3,29.9,120.7,30.2"})
    assert answer.status_code == 200, answer.content
    features = {f["properties"]["id"]: f["properties"] for f in answer.json()["features"]}
    assert set(features) == {safe.pk, unsafe.pk}
    assert features[unsafe.pk]["unsafe_charging"] and features[unsafe.pk]["glyph"] == "电"
    assert features[safe.pk]["glyph"] == "楼" and features[safe.pk]["color"] == "#15803d"
    assert features[safe.pk]["url"] == f"/buildings/{safe.pk}/"
    assert "发现入户/楼道充电" in features[unsafe.pk]["popup"]
    only_unsafe = client.get(
        "/api/v1/map/layers/community.buildings", {"unsafe_charging": "1"}
    ).json()
    assert [f["properties"]["id"] for f in only_unsafe["features"]] == [unsafe.pk]
    assert (
        world.client_for(world.outsider)
        .get("/api/v1/map/layers/community.buildings")
        .json()["features"]
        == []
    )


def test_a_hazard_found_at_a_buildings_checkpoint_joins_the_buildings_history(world):
    from frontline.community.services import patrol_findings, patrol_runs

    building = make_building(world.grid, name="州山9幢")
    plan = make_plan(world.grid, points=1)
    checkpoint = plan.checkpoints.get()
    checkpoint.building = building
    checkpoint.save()
    run = patrol_runs.start_run(actor=world.grid_worker, plan=plan)
    check_in = patrol_runs.check_in(
        actor=world.grid_worker, run=run, checkpoint=checkpoint,
        lon=checkpoint.lon, lat=checkpoint.lat, accuracy_m=5,
    )  # fmt: skip
    finding = patrol_findings.record_finding(
        actor=world.grid_worker, run=run, note="楼道电动车充电", check_in=check_in,
        lon=checkpoint.lon, lat=checkpoint.lat,
    )  # fmt: skip
    hazard = patrol_findings.finding_to_hazard(actor=world.grid_worker, finding=finding)
    assert hazard.building == building
    page = world.client_for(world.same).get(f"/buildings/{building.pk}/").content.decode()
    assert f'href="/hazards/{hazard.pk}/"' in page and hazard.number in page
    sibling = world.client_for(world.sibling).get(f"/buildings/{building.pk}/")
    assert sibling.status_code == 404
