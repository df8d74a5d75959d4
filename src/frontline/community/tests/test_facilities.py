"""Public safety facilities: registration with its first due day, checks (service, page, API),
overdue checks for the grid worker and the sweep that tells them once, pages, API and map."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontline.community.models import (
    DEFAULT_CHECK_DAYS,
    CheckInFlag,
    CheckInMethod,
    FacilityCheck,
    FacilityKind,
    FacilityStatus,
    PatrolCheckIn,
    PatrolRun,
    SafetyFacility,
)
from frontline.community.services import facilities as services
from frontline.community.testing import make_building, make_facility, make_plan
from frontline.core import services as core_services
from frontline.core.errors import InvalidInput, PermissionDenied
from frontline.core.models import Notification, RegionLevel
from frontline.core.roles import Role
from frontline.core.testing import (
    assert_api_matrix,
    assert_page_matrix,
    assert_queryset_matrix,
    make_region,
    make_user,
    page_queries,
)
from frontline.core.worker import SWEEPS

TODAY = timezone.localdate


def register(world, actor=None, **kw):
    fields = {
        "region": world.grid,
        "kind": FacilityKind.HYDRANT,
        "name": "1号消火栓",
        "lon": 120.405,
        "lat": 30.005,
    } | kw
    return services.create_facility(actor=actor or world.same, **fields)


# --- services -------------------------------------------------------------------------------


def test_first_check_is_due_one_period_after_registration(world):
    hydrant = register(world)
    assert hydrant.check_every_days == DEFAULT_CHECK_DAYS[FacilityKind.HYDRANT] == 30
    assert hydrant.next_check_due == TODAY() + timedelta(days=30)
    sign = register(world, kind=FacilityKind.SHELTER_SIGN, name="避难指示牌")
    assert sign.next_check_due == TODAY() + timedelta(days=90)
    weekly = register(world, kind=FacilityKind.AED, name="AED", check_every_days=7)
    assert weekly.next_check_due == TODAY() + timedelta(days=7)
    assert hydrant.status == FacilityStatus.NORMAL and hydrant.last_checked_at is None
    assert_queryset_matrix(SafetyFacility.objects, hydrant, world)


def test_registration_is_validated(world):
    with pytest.raises(InvalidInput) as caught:
        register(world, kind="cannon", name="", lon=None, lat=None, check_every_days=0)
    details = caught.value.details
    assert details["kind"] == "请选择" and details["name"] == "此字段为必填项"
    assert details["lon"] == "请填写设施的经纬度（或选择已有坐标的楼栋）"
    assert details["check_every_days"] == "不能小于 1"
    with pytest.raises(InvalidInput) as caught:
        register(world, lon=139.69, lat=35.69 + 30)  # not in China
    assert "lon" in caught.value.details
    other_grid = make_region("330603001001002", RegionLevel.GRID, world.village)
    elsewhere = make_building(other_grid)
    with pytest.raises(InvalidInput) as caught:
        register(world, building=elsewhere)
    assert caught.value.details == {"building": "楼栋不在设施所属区划之内"}
    building = make_building(world.grid, lon=120.401, lat=30.002)
    inside = register(world, building=building, lon=None, lat=None)
    assert (inside.lon, inside.lat) == (120.401, 30.002) and inside.building == building
    with pytest.raises(PermissionDenied):
        register(world, actor=world.sibling)
    with pytest.raises(PermissionDenied):
        register(world, actor=make_user(Role.LEADER, world.township, "leader"))
    assert SafetyFacility.objects.count() == 1


def test_record_check_sets_status_and_due_day_in_one_transaction(world):
    hydrant = register(world, check_every_days=14)
    check = services.record_facility_check(
        actor=world.grid_worker, facility=hydrant, status="faulty", note="出水口漏水"
    )
    hydrant.refresh_from_db()
    assert check.checked_by == world.grid_worker and check.status == "faulty"
    assert hydrant.status == "faulty" and hydrant.last_checked_at == check.at
    assert hydrant.next_check_due == timezone.localdate(check.at) + timedelta(days=14)
    with pytest.raises(InvalidInput) as caught:
        services.record_facility_check(actor=world.grid_worker, facility=hydrant, status="gone")
    assert caught.value.details == {"status": "请选择检查结果"}
    with pytest.raises(PermissionDenied):
        services.record_facility_check(actor=world.sibling, facility=hydrant, status="normal")
    assert FacilityCheck.objects.count() == 1


def test_a_patrol_check_in_may_carry_the_check(world):
    hydrant = register(world)
    plan = make_plan(world.grid, points=1)
    run = PatrolRun.objects.create(
        plan=plan, region=world.grid, walker=world.grid_worker, day=TODAY()
    )
    check_in = PatrolCheckIn.objects.create(
        run=run, checkpoint=plan.checkpoints.get(), method=CheckInMethod.QR, flag=CheckInFlag.OK
    )
    check = services.record_facility_check(
        actor=world.grid_worker,
        facility=hydrant,
        status=FacilityStatus.NORMAL,
        note="",
        patrol_check_in=check_in,
    )
    assert check.patrol_check_in == check_in
    assert list(check_in.facility_checks.all()) == [check]


def test_changing_the_period_moves_the_due_day(world):
    hydrant = register(world)
    services.record_facility_check(actor=world.same, facility=hydrant, status="normal")
    hydrant.refresh_from_db()
    checked_on = timezone.localdate(hydrant.last_checked_at)
    services.update_facility(actor=world.same, facility=hydrant, check_every_days=7)
    hydrant.refresh_from_db()
    assert hydrant.next_check_due == checked_on + timedelta(days=7)
    services.update_facility(actor=world.same, facility=hydrant, name="改名", status="retired")
    hydrant.refresh_from_db()
    assert hydrant.name == "改名" and hydrant.next_check_due == checked_on + timedelta(days=7)
    with pytest.raises(InvalidInput):
        services.update_facility(actor=world.same, facility=hydrant, next_check_due=TODAY())


def test_overdue_facilities_of_the_user(world):
    late = make_facility(world.grid, name="逾期栓", next_check_due=TODAY() - timedelta(days=3))
    later = make_facility(world.grid, name="更早逾期", next_check_due=TODAY() - timedelta(days=9))
    make_facility(world.grid, name="未到期", next_check_due=TODAY())
    make_facility(
        world.grid,
        name="已撤除",
        status=FacilityStatus.RETIRED,
        next_check_due=TODAY() - timedelta(days=30),
    )
    make_facility(
        world.sibling_township, name="隔壁逾期", next_check_due=TODAY() - timedelta(days=3)
    )
    assert list(services.overdue_facilities(world.grid_worker)) == [later, late]
    assert list(services.overdue_facilities(world.sibling).values_list("name", flat=True)) == [
        "隔壁逾期"
    ]


# --- the sweep ------------------------------------------------------------------------------


def test_sweep_tells_the_grid_workers_once_per_due_day(world):
    village_worker = make_user(Role.GRID_WORKER, world.village, "villageworker")
    other_grid = make_region("330603001001002", RegionLevel.GRID, world.village)
    neighbour = make_user(Role.GRID_WORKER, other_grid, "neighbour")
    gone = make_user(Role.GRID_WORKER, world.grid, "gone")
    core_services.revoke_role(actor=None, assignment=gone.role_assignments.get())
    hydrant = make_facility(world.grid, name="逾期栓", next_check_due=TODAY() - timedelta(days=2))
    make_facility(world.grid, name="按期栓", next_check_due=TODAY() + timedelta(days=365))
    make_facility(
        world.grid, name="撤除栓", status="retired", next_check_due=TODAY() - timedelta(1)
    )

    import frontline.community.tasks  # noqa: F401  (what the worker imports)

    assert "notify_overdue_facility_checks" in SWEEPS
    result = SWEEPS["notify_overdue_facility_checks"].function()
    assert result == {"unannounced": 1, "notified": 1}

    def told():
        return Notification.objects.filter(kind=services.OVERDUE_KIND)

    assert {n.recipient for n in told()} == {world.grid_worker, village_worker}
    assert neighbour not in {n.recipient for n in told()} and world.same not in {
        n.recipient for n in told()
    }
    message = told().first()
    assert message.subject == "设施检查逾期：逾期栓" and "已逾期 2 天" in message.body
    assert message.link == f"/facilities/{hydrant.pk}/" and message.related == hydrant

    # Running again (every hour) says nothing new.
    assert services.notify_overdue_facility_checks() == {"unannounced": 0, "notified": 0}
    assert told().count() == 2
    first = [n.pk for n in told()]

    # After a check the next due day is announced again when it passes.
    services.record_facility_check(actor=world.grid_worker, facility=hydrant, status="normal")
    hydrant.refresh_from_db()
    assert services.notify_overdue_facility_checks() == {"unannounced": 0, "notified": 0}
    later = hydrant.next_check_due + timedelta(days=1)
    assert services.notify_overdue_facility_checks(today=later)["notified"] == 1
    assert told().count() == 4
    # As if that run had happened on that day: the next run that day says nothing new.
    on_that_day = timezone.now() + (later - TODAY())
    told().exclude(pk__in=first).update(created_at=on_that_day)
    assert services.notify_overdue_facility_checks(today=later)["notified"] == 0


def test_sweep_retries_a_facility_nobody_works(world):
    other_grid = make_region("330603001001003", RegionLevel.GRID, world.village)
    make_facility(other_grid, next_check_due=TODAY() - timedelta(days=1))
    assert services.notify_overdue_facility_checks() == {"unannounced": 1, "notified": 0}
    make_user(Role.GRID_WORKER, other_grid, "newcomer")
    assert services.notify_overdue_facility_checks() == {"unannounced": 1, "notified": 1}
    assert services.notify_overdue_facility_checks() == {"unannounced": 0, "notified": 0}


# --- pages ----------------------------------------------------------------------------------


def test_list_page_highlights_overdue_and_shows_the_share(world):
    client = world.client_for(world.same)
    make_facility(world.grid, name="逾期栓", next_check_due=TODAY() - timedelta(days=1))
    make_facility(world.grid, name="按期栓")
    make_facility(
        world.grid, name="撤除栓", status="retired", next_check_due=TODAY() - timedelta(1)
    )
    listed, few = page_queries(client, "/facilities/")
    html = listed.content.decode()
    assert listed.status_code == 200
    assert 'data-testid="on-time">50.0%' in html  # 1 of the 2 in service is on time
    assert html.count('class="overdue"') == 1
    for index in range(30):
        make_facility(world.grid, name=f"灭火器点{index}", kind=FacilityKind.EXTINGUISHER_POINT)
    make_facility(world.sibling_township, name="隔壁栓")
    page, many = page_queries(client, "/facilities/")
    assert len(many.captured_queries) == len(few.captured_queries)
    html = page.content.decode()
    assert "隔壁栓" not in html and "灭火器点0" in html

    def names(query):
        return client.get("/facilities/" + query).content.decode()

    overdue = names("?overdue=1")
    assert "逾期栓" in overdue and "按期栓" not in overdue and "撤除栓" not in overdue
    assert "按期栓" not in names("?kind=extinguisher_point")
    assert "撤除栓" in names("?status=retired") and "按期栓" not in names("?status=retired")
    assert world.client_for(None).get("/facilities/").status_code == 302


def test_facility_page_records_a_check_from_the_phone(world):
    hydrant = make_facility(world.grid, name="1号栓", next_check_due=TODAY() - timedelta(days=1))
    url = f"/facilities/{hydrant.pk}/"
    assert_page_matrix(world, url)
    client = world.client_for(world.grid_worker)
    html = client.get(url).content.decode()
    assert 'data-testid="overdue"' in html and 'action="/facilities/' in html
    bad = client.post(f"{url}check/", {"status": "exploded"})
    assert bad.status_code == 422 and not FacilityCheck.objects.exists()
    done = client.post(f"{url}check/", {"status": "missing", "note": "栓帽被盗"})
    assert done.status_code == 302
    hydrant.refresh_from_db()
    assert hydrant.status == "missing" and not hydrant.is_overdue()
    page = client.get(url).content.decode()
    assert "栓帽被盗" in page and 'data-testid="overdue"' not in page
    leader = make_user(Role.LEADER, world.township, "leader")
    assert world.client_for(leader).post(f"{url}check/", {"status": "normal"}).status_code == 403
    assert "记录检查" not in world.client_for(leader).get(url).content.decode()
    assert (
        world.client_for(world.sibling).post(f"{url}check/", {"status": "normal"}).status_code
        == 404
    )
    assert FacilityCheck.objects.count() == 1


def test_create_and_edit_pages(world):
    building = make_building(world.grid, lon=120.402, lat=30.003)
    client = world.client_for(world.same)
    page = client.get(f"/facilities/new/?building={building.pk}")
    assert page.status_code == 200 and building.name in page.content.decode()
    created = client.post(
        f"/facilities/new/?building={building.pk}",
        {
            "kind": "extinguisher_point",
            "name": "1楼灭火器",
            "region": world.grid.code,
            "building": building.pk,
        },
    )
    assert created.status_code == 302, created.content.decode()
    facility = SafetyFacility.objects.get(name="1楼灭火器")
    assert facility.building == building and facility.lon == 120.402
    bad = client.post("/facilities/new/", {"kind": "aed", "name": "AED", "region": world.grid.code})
    assert bad.status_code == 422 and "请填写设施的经纬度" in bad.content.decode()
    edit_url = f"/facilities/{facility.pk}/edit/"
    assert_page_matrix(world, edit_url)
    form = {
        "kind": "extinguisher_point",
        "name": "1楼灭火器",
        "region": world.grid.code,
        "building": building.pk,
        "lon": "120.402",
        "lat": "30.003",
        "status": "retired",
        "check_every_days": "60",
    }
    assert client.post(edit_url, form).status_code == 302
    facility.refresh_from_db()
    assert facility.status == "retired" and facility.check_every_days == 60
    leader = make_user(Role.LEADER, world.township, "leader")
    assert world.client_for(leader).get("/facilities/new/").status_code == 403


# --- API ------------------------------------------------------------------------------------


def test_api_list_detail_and_check(world):
    client = world.client_for(world.grid_worker)
    for index in range(2):
        make_facility(world.grid, name=f"甲{index}", next_check_due=TODAY() - timedelta(days=1))
    with CaptureQueriesContext(connection) as few:
        assert client.get("/api/v1/facilities").json()["count"] == 2
    for index in range(12):
        make_facility(world.grid, name=f"乙{index}", kind=FacilityKind.AED)
    make_facility(world.sibling_township, name="隔壁")
    with CaptureQueriesContext(connection) as many:
        assert client.get("/api/v1/facilities").json()["count"] == 14
    assert len(many.captured_queries) == len(few.captured_queries)
    assert client.get("/api/v1/facilities?overdue=true").json()["count"] == 2
    assert client.get("/api/v1/facilities?kind=aed").json()["count"] == 12

    facility = SafetyFacility.objects.get(name="甲0")
    url = f"/api/v1/facilities/{facility.pk}"
    assert_api_matrix(world, url)
    assert client.get(url).json()["is_overdue"] is True
    bad = client.post(f"{url}/checks", {"status": "fine"}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["details"] == {"status": "请选择检查结果"}
    done = client.post(
        f"{url}/checks", {"status": "faulty", "note": "压力不足"}, content_type="application/json"
    )
    assert done.status_code == 201 and done.json()["status"] == "faulty"
    detail = client.get(url).json()
    assert detail["status"] == "faulty" and detail["is_overdue"] is False
    history = client.get(f"{url}/checks").json()
    assert history["count"] == 1 and history["items"][0]["note"] == "压力不足"
    sibling = world.client_for(world.sibling)
    assert (
        sibling.post(
            f"{url}/checks", {"status": "normal"}, content_type="application/json"
        ).status_code
        == 404
    )
    assert sibling.get(f"{url}/checks").status_code == 404
    leader = world.client_for(make_user(Role.LEADER, world.township, "leader"))
    assert (
        leader.post(
            f"{url}/checks", {"status": "normal"}, content_type="application/json"
        ).status_code
        == 403
    )
    assert FacilityCheck.objects.count() == 1


def test_api_create_and_patch(world):
    client = world.client_for(world.same)
    building = make_building(world.grid, lon=120.41, lat=30.01)
    created = client.post(
        "/api/v1/facilities",
        {"kind": "aed", "name": "社区 AED", "region_code": world.grid.code,
         "building_id": building.pk},
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["check_every_days"] == 30 and body["lon"] == 120.41
    url = f"/api/v1/facilities/{body['id']}"
    changed = client.patch(url, {"check_every_days": 10}, content_type="application/json")
    assert changed.status_code == 200
    assert changed.json()["next_check_due"] == (TODAY() + timedelta(days=10)).isoformat()
    hidden = make_building(world.sibling_township)
    refused = client.patch(url, {"building_id": hidden.pk}, content_type="application/json")
    assert refused.status_code == 422 and "building_id" in refused.json()["details"]
    outside = world.client_for(world.sibling).post(
        "/api/v1/facilities",
        {"kind": "aed", "name": "越界", "region_code": world.grid.code, "lon": 120.4, "lat": 30},
        content_type="application/json",
    )
    assert outside.status_code == 422 and not SafetyFacility.objects.filter(name="越界")


# --- map ------------------------------------------------------------------------------------


def test_map_layer_colours_by_status_and_overdue_in_red(world):
    fine = make_facility(world.grid, lon=120.41, lat=30.01)
    broken = make_facility(world.grid, lon=120.412, lat=30.01, status=FacilityStatus.FAULTY)
    late = make_facility(
        world.grid, lon=120.414, lat=30.01, next_check_due=TODAY() - timedelta(days=1)
    )
    make_facility(world.grid, status=FacilityStatus.RETIRED)
    make_facility(world.sibling_township, lon=120.51, lat=30.01)
    client = world.client_for(world.same)
    answer = client.get(
        "/api/v1/map/layers/community.facilities", {"bbox": "120.3,29.9,120.7,30.2"}
    )
    assert answer.status_code == 200
    colours = {f["properties"]["id"]: f["properties"]["color"] for f in answer.json()["features"]}
    assert colours == {fine.pk: "#15803d", broken.pk: "#f08c00", late.pk: "#d92d20"}
    overdue = client.get("/api/v1/map/layers/community.facilities", {"overdue": "1"}).json()
    assert [f["properties"]["id"] for f in overdue["features"]] == [late.pk]
    keys = {layer["key"] for layer in client.get("/api/v1/map/layers").json()}
    assert {"community.buildings", "community.facilities"} <= keys
    assert (
        world.client_for(world.sibling)
        .get("/api/v1/map/layers/community.facilities")
        .json()["properties"]["count"]
        == 1
    )
