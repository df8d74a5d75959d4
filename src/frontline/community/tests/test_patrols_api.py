"""The patrol API (/api/v1/patrol/...): the authorization matrix, query counts, the walk
through JSON, 422 and 409 answers, tracks kept personal, coverage; and the hand-on of a
finding to the community calls and facility checks of the other community services."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from frontline.community.models import (
    CommunityCall,
    FacilityCheck,
    PatrolCheckIn,
    PatrolPlan,
    PatrolRun,
)
from frontline.community.models.patrols import CheckInFlag
from frontline.community.services import patrol_findings, patrol_runs, patrols
from frontline.community.testing import (
    GRID_LAT,
    GRID_LON,
    make_department,
    make_facility,
    make_plan,
    walk_every_checkpoint,
)
from frontline.core.roles import Role
from frontline.core.testing import assert_api_matrix, make_user

API = "/api/v1/patrol"


@pytest.fixture
def plan(world):
    return make_plan(world.grid, points=3)


@pytest.fixture
def run(world, plan):
    return patrol_runs.start_run(actor=world.grid_worker, plan=plan)


def test_details_follow_the_matrix(world, plan, run):
    assert_api_matrix(world, f"{API}/plans/{plan.pk}")
    assert_api_matrix(world, f"{API}/runs/{run.pk}")


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return response, len(queries)


def test_lists_are_scoped_and_take_constant_queries(world, plan, run):
    client = world.client_for(world.same)
    _response, plans_few = _count(client, f"{API}/plans")
    _response, runs_few = _count(client, f"{API}/runs")
    _response, coverage_few = _count(client, f"{API}/coverage")
    for _ in range(3):
        other = make_plan(world.grid, points=2)
        walker = make_user(Role.GRID_WORKER, world.grid)
        patrol_runs.start_run(actor=walker, plan=other)
    response, plans_more = _count(client, f"{API}/plans")
    assert response.json()["count"] == 4 and plans_more == plans_few
    response, runs_more = _count(client, f"{API}/runs")
    assert response.json()["count"] == 4 and runs_more == runs_few
    _response, coverage_more = _count(client, f"{API}/coverage")
    assert coverage_more == coverage_few
    assert world.client_for(world.sibling).get(f"{API}/runs").json()["count"] == 0
    assert world.client_for(None).get(f"{API}/runs").status_code == 401


def test_a_whole_walk_through_the_api(world, plan):
    client = world.client_for(world.grid_worker)
    response = client.post(f"{API}/plans/{plan.pk}/runs")
    assert response.status_code == 201
    run_id = response.json()["id"]
    assert client.post(f"{API}/plans/{plan.pk}/runs").status_code == 409
    first, second, third = plan.checkpoints.all()
    ok = client.post(
        f"{API}/runs/{run_id}/check-ins",
        {"checkpoint_id": first.pk, "lon": GRID_LON, "lat": GRID_LAT, "accuracy_m": 6},
        content_type="application/json",
    )
    assert ok.status_code == 201 and ok.json()["flag"] == "ok"
    far = client.post(
        f"{API}/runs/{run_id}/check-ins",
        {"checkpoint_id": second.pk, "lon": GRID_LON + 0.01, "lat": GRID_LAT, "accuracy_m": 6},
        content_type="application/json",
    )
    assert far.json()["flag"] == "beyond_radius" and far.json()["flag_label"] == "超出点位范围"
    qr = client.post(
        f"{API}/runs/{run_id}/check-ins/qr",
        {"token": third.qr_token},
        content_type="application/json",
    )
    assert qr.status_code == 201
    finding = client.post(
        f"{API}/runs/{run_id}/findings",
        {"note": "井盖缺失", "check_in_id": ok.json()["id"]},
        content_type="application/json",
    )
    assert finding.status_code == 201 and finding.json()["lon"] == pytest.approx(GRID_LON)
    handed = client.post(
        f"{API}/findings/{finding.json()['id']}/hazard", {}, content_type="application/json"
    )
    assert handed.status_code == 201 and handed.json()["hazard_id"]
    done = client.post(f"{API}/runs/{run_id}/finish", {"note": ""}, content_type="application/json")
    assert done.status_code == 200
    body = done.json()
    assert (body["state"], body["points_checked"], body["points_total"]) == ("finished", 2, 3)
    assert [c["flag"] for c in body["check_ins"]] == ["ok", "beyond_radius", "ok"]
    again = client.post(f"{API}/runs/{run_id}/finish", {}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "run_not_walking"


def test_bad_input_answers_422_with_chinese_fields(world, plan, run):
    client = world.client_for(world.grid_worker)
    other = make_plan(world.grid, points=1, name="夜巡")
    response = client.post(
        f"{API}/runs/{run.pk}/check-ins/qr",
        {"token": other.checkpoints.get().qr_token},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["details"]["token"] == "该二维码属于其他巡查计划的点位"
    response = client.post(
        f"{API}/runs/{run.pk}/check-ins",
        {"checkpoint_id": plan.checkpoints.first().pk, "lon": 500, "lat": 30},
        content_type="application/json",
    )
    assert response.status_code == 422 and response.json()["details"]["lon"] == "经纬度超出范围"
    response = client.post(
        f"{API}/runs/{run.pk}/track", {"points": [[1, 2, 3]]}, content_type="application/json"
    )
    assert response.status_code == 422
    response = world.client_for(world.same).post(
        f"{API}/plans",
        {"region_code": world.grid.code, "name": "", "checkpoints": []},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert set(response.json()["details"]) == {"name", "checkpoints"}
    assert PatrolCheckIn.objects.count() == 0 and PatrolPlan.objects.count() == 2


def test_create_and_update_a_plan(world):
    client = world.client_for(world.same)
    response = client.post(
        f"{API}/plans",
        {
            "region_code": world.grid.code,
            "name": "日常巡查",
            "rounds": [["08:00", "11:00"]],
            "checkpoints": [{"name": "村口", "lon": GRID_LON, "lat": GRID_LAT, "radius_m": 30}],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    checkpoint = body["checkpoints"][0]
    response = client.put(
        f"{API}/plans/{body['id']}",
        {
            "name": "日常巡查",
            "checkpoints": [
                {"id": checkpoint["id"], "name": "村口", "lon": GRID_LON, "lat": GRID_LAT},
                {"name": "桥头", "lon": GRID_LON + 0.001, "lat": GRID_LAT},
            ],
        },
        content_type="application/json",
    )
    assert response.status_code == 200
    points = response.json()["checkpoints"]
    assert [p["name"] for p in points] == ["村口", "桥头"]
    assert points[0]["qr_token"] == checkpoint["qr_token"]
    assert response.json()["rounds"] == [["08:00", "11:00"]]
    sibling = world.client_for(world.sibling).put(
        f"{API}/plans/{body['id']}",
        {"name": "x", "checkpoints": []},
        content_type="application/json",
    )
    assert sibling.status_code == 404


def test_track_is_returned_only_to_the_walker_and_supervisors(world, run):
    t0 = int(run.started_at.timestamp())
    client = world.client_for(world.grid_worker)
    response = client.post(
        f"{API}/runs/{run.pk}/track",
        {"points": [[GRID_LON, GRID_LAT, t0 + 5, 4], [GRID_LON + 0.001, GRID_LAT, t0 + 40, 4]]},
        content_type="application/json",
    )
    assert response.status_code == 204
    peer = make_user(Role.GRID_WORKER, world.grid, "peer")
    assert len(client.get(f"{API}/runs/{run.pk}").json()["track"]) == 2
    assert len(world.client_for(world.parent).get(f"{API}/runs/{run.pk}").json()["track"]) == 2
    assert world.client_for(peer).get(f"{API}/runs/{run.pk}").json()["track"] is None


def test_runs_filter_by_flagged(world, plan, run):
    patrol_runs.check_in(
        actor=world.grid_worker,
        run=run,
        checkpoint=plan.checkpoints.first(),
        lon=None,
        lat=None,
        accuracy_m=None,
    )
    client = world.client_for(world.same)
    assert client.get(f"{API}/runs?flagged=true").json()["count"] == 1
    assert client.get(f"{API}/runs?flagged=false").json()["count"] == 0
    assert client.get(f"{API}/runs?walker_id={world.grid_worker.pk}").json()["count"] == 1
    assert client.get(f"{API}/runs?region_code={world.sibling_township.code}").json()["count"] == 0


def test_coverage_endpoint(world, plan, run):
    walk_every_checkpoint(run, world.grid_worker)
    patrol_runs.finish_run(actor=world.grid_worker, run=run)
    body = world.client_for(world.same).get(f"{API}/coverage").json()
    grid = body["grids"][0]
    assert (grid["region_code"], grid["rounds_done"], grid["patrolled"]) == (
        world.grid.code,
        1,
        True,
    )
    assert body["not_patrolled"] == []
    assert body["punctuality"][0]["runs"] == 1
    bad = world.client_for(world.same).get(
        f"{API}/coverage?punctuality_from=2026-02-01&punctuality_to=2026-01-01"
    )
    assert bad.status_code == 422


def test_finding_becomes_a_community_call(world, run):
    department = make_department(world.township)
    finding = patrol_findings.record_finding(
        actor=world.grid_worker,
        run=run,
        note="路灯损坏，夜间巡查看不清",
        lon=GRID_LON,
        lat=GRID_LAT,
    )
    client = world.client_for(world.grid_worker)
    response = client.post(
        f"{API}/findings/{finding.pk}/call",
        {"category": "power", "department_id": department.pk},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    call = CommunityCall.objects.get()
    assert call.pk == response.json()["call_id"]
    assert (call.region, call.department, call.title) == (
        world.grid,
        department,
        "路灯损坏，夜间巡查看不清",
    )
    again = client.post(
        f"{API}/findings/{finding.pk}/call",
        {"category": "power", "department_id": department.pk},
        content_type="application/json",
    )
    assert again.status_code == 409 and CommunityCall.objects.count() == 1
    # The page's one tap does the same.
    second = patrol_findings.record_finding(actor=world.grid_worker, run=run, note="消火栓漏水")
    page = client.post(
        f"/patrol/findings/{second.pk}/call/", {"category": "water", "department": department.pk}
    )
    assert page.status_code == 302 and CommunityCall.objects.count() == 2


def test_ok_check_in_at_a_facility_records_a_facility_check(world):
    facility = make_facility(world.grid, lon=GRID_LON, lat=GRID_LAT)
    plan = patrols.create_plan(
        actor=world.same,
        region=world.grid,
        name="消防设施巡查",
        checkpoints=[
            {"name": "消火栓", "lon": GRID_LON, "lat": GRID_LAT, "facility": facility},
        ],
    )
    run = patrol_runs.start_run(actor=world.grid_worker, plan=plan)
    checkpoint = plan.checkpoints.get()
    # Without a tick, or flagged: no facility check.
    patrol_runs.check_in(
        actor=world.grid_worker,
        run=run,
        checkpoint=checkpoint,
        lon=GRID_LON,
        lat=GRID_LAT,
        accuracy_m=5,
    )
    patrol_runs.check_in(
        actor=world.grid_worker,
        run=run,
        checkpoint=checkpoint,
        lon=GRID_LON + 0.01,
        lat=GRID_LAT,
        accuracy_m=5,
        facility_status="faulty",
    )
    assert not FacilityCheck.objects.exists()
    item = patrol_runs.check_in(
        actor=world.grid_worker,
        run=run,
        checkpoint=checkpoint,
        lon=GRID_LON,
        lat=GRID_LAT,
        accuracy_m=5,
        facility_status="faulty",
        note="出水口锈死",
    )
    assert item.flag == CheckInFlag.OK
    check = FacilityCheck.objects.get()
    assert (check.status, check.patrol_check_in, check.facility) == ("faulty", item, facility)
    assert PatrolRun.objects.get().points_checked == 1
