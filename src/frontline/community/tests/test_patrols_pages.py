"""Patrol pages: the authorization matrix, query counts on lists, the phone flow through plain
POSTs (check-in, QR, finding, hand-on, finish), the plan editor and the coverage page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from frontline.community.models import Checkpoint, PatrolCheckIn, PatrolPlan, PatrolRun
from frontline.community.models.patrols import CheckInFlag, RunState
from frontline.community.services import patrol_findings, patrol_runs
from frontline.community.testing import GRID_LAT, GRID_LON, make_plan, walk_every_checkpoint
from frontline.core.roles import Role
from frontline.core.testing import assert_page_matrix, make_user, page_queries
from frontline.hazards.models import Hazard


@pytest.fixture
def plan(world):
    return make_plan(world.grid, points=3)


@pytest.fixture
def run(world, plan):
    return patrol_runs.start_run(actor=world.grid_worker, plan=plan)


def _walk(world, plan, n=1):
    for _ in range(n):
        run = patrol_runs.start_run(actor=world.grid_worker, plan=plan)
        walk_every_checkpoint(run, world.grid_worker)
        patrol_runs.finish_run(actor=world.grid_worker, run=run)


def test_detail_pages_follow_the_matrix(world, plan, run):
    patrol_runs.check_in(
        actor=world.grid_worker,
        run=run,
        checkpoint=plan.checkpoints.first(),
        lon=None,
        lat=None,
        accuracy_m=None,
    )
    patrol_findings.record_finding(actor=world.grid_worker, run=run, note="消防通道堵塞")
    assert_page_matrix(world, f"/patrol/runs/{run.pk}/")
    body = world.client_for(world.same).get(f"/patrol/runs/{run.pk}/").content.decode()
    assert "无定位" in body and "消防通道堵塞" in body and "转为隐患" in body
    assert_page_matrix(world, f"/patrol/plans/{plan.pk}/")


def test_list_pages_answer_in_scope_and_in_constant_queries(world, plan):
    _walk(world, plan, 1)
    client = world.client_for(world.same)
    for url in ("/patrol/runs/", "/patrol/plans/", "/patrol/coverage/", "/patrol/"):
        response, few = page_queries(client, url)
        assert response.status_code == 200, url
        _walk(world, plan, 3) if url == "/patrol/runs/" else make_plan(world.grid, points=2)
        response, more = page_queries(client, url)
        assert response.status_code == 200
        assert len(more) == len(few), f"{url}: {len(few)} → {len(more)} queries"
    sibling = world.client_for(world.sibling).get("/patrol/runs/")
    assert "日常巡查" not in sibling.content.decode()


def test_run_list_filters_flagged(world, plan):
    flagged = patrol_runs.start_run(actor=world.grid_worker, plan=plan)
    patrol_runs.check_in(actor=world.grid_worker, run=flagged, checkpoint=plan.checkpoints.first(),
                         lon=GRID_LON + 0.01, lat=GRID_LAT, accuracy_m=5)  # 1 km away  # fmt: skip
    patrol_runs.finish_run(actor=world.grid_worker, run=flagged)
    clean = patrol_runs.start_run(actor=world.grid_worker, plan=plan)
    patrol_runs.finish_run(actor=world.grid_worker, run=clean)
    client = world.client_for(world.same)
    page = client.get("/patrol/runs/?flagged=1")
    assert len(page.context["page"].object_list) == 1
    assert client.get("/patrol/runs/?walker=gridworker").context["page"].paginator.count == 2
    assert client.get("/patrol/runs/?day=2001-01-01").context["page"].paginator.count == 0


def test_walker_checks_in_through_the_page_and_flags_are_shown(world, plan, run):
    client = world.client_for(world.grid_worker)
    first, second, _third = plan.checkpoints.all()
    page = client.get(f"/patrol/runs/{run.pk}/")
    assert page.context["walking_here"] and page.content.decode().count("data-checkin") == 3
    response = client.post(
        f"/patrol/runs/{run.pk}/check-in/",
        {"checkpoint": first.pk, "lon": GRID_LON, "lat": GRID_LAT, "accuracy": "8"},
    )
    assert response.status_code == 302
    response = client.post(
        f"/patrol/runs/{run.pk}/check-in/",
        {"checkpoint": second.pk, "lon": GRID_LON + 0.01, "lat": GRID_LAT, "accuracy": "8"},
        follow=True,
    )
    body = response.content.decode()
    assert "超出点位范围" in body and "被标记为" in body
    run.refresh_from_db()
    assert run.points_checked == 1
    # Bad input: 422 with the Chinese reason, nothing written.
    response = client.post(
        f"/patrol/runs/{run.pk}/check-in/", {"checkpoint": first.pk, "lon": "abc", "lat": "30"}
    )
    assert response.status_code == 422 and "经纬度" in response.content.decode()
    assert PatrolCheckIn.objects.count() == 2
    # The station sees the run but cannot check in for the walker.
    response = world.client_for(world.same).post(
        f"/patrol/runs/{run.pk}/check-in/", {"checkpoint": first.pk}
    )
    assert response.status_code == 403


def test_track_endpoint_takes_json_and_refuses_bad_points(world, run):
    client = world.client_for(world.grid_worker)
    t0 = int(run.started_at.timestamp())
    response = client.post(
        f"/patrol/runs/{run.pk}/track/",
        {"points": [[GRID_LON, GRID_LAT, t0 + 1, 5], [GRID_LON + 0.001, GRID_LAT, t0 + 31, 5]]},
        content_type="application/json",
    )
    assert response.status_code == 204
    bad = client.post(
        f"/patrol/runs/{run.pk}/track/", {"points": [[1, 2]]}, content_type="application/json"
    )
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    assert (
        client.post(f"/patrol/runs/{run.pk}/track/", "x", content_type="text/plain").status_code
        == 422
    )
    run.refresh_from_db()
    assert len(run.track) == 2 and run.distance_m > 90
    outsider = world.client_for(world.sibling).post(
        f"/patrol/runs/{run.pk}/track/", {"points": []}, content_type="application/json"
    )
    assert outsider.status_code == 404


def test_qr_page_checks_in_on_confirm_and_refuses_another_plan(world, plan, run):
    client = world.client_for(world.grid_worker)
    token = plan.checkpoints.first().qr_token
    page = client.get(f"/patrol/qr/{token}/")
    assert page.status_code == 200 and not PatrolCheckIn.objects.exists()  # a GET never writes
    response = client.post(f"/patrol/qr/{token}/")
    assert response.status_code == 302
    assert PatrolCheckIn.objects.get().method == "qr"
    other = make_plan(world.grid, points=1, name="夜巡")
    response = client.post(f"/patrol/qr/{other.checkpoints.get().qr_token}/")
    assert response.status_code == 422 and "其他巡查计划" in response.content.decode()
    assert world.client_for(world.sibling).get(f"/patrol/qr/{token}/").status_code == 404
    assert client.get("/patrol/qr/unknown-token/").status_code == 404


def test_finding_to_hazard_through_the_page(world, run):
    client = world.client_for(world.grid_worker)
    response = client.post(
        f"/patrol/runs/{run.pk}/findings/",
        {"note": "消防通道被占用", "lon": str(GRID_LON), "lat": str(GRID_LAT)},
    )
    assert response.status_code == 302
    finding = run.findings.get()
    assert client.post(f"/patrol/runs/{run.pk}/findings/", {"note": ""}).status_code == 422
    response = client.post(f"/patrol/findings/{finding.pk}/hazard/", follow=True)
    hazard = Hazard.objects.get()
    assert hazard.title == "消防通道被占用" and hazard.region == world.grid
    assert hazard.number in response.content.decode()
    again = client.post(f"/patrol/findings/{finding.pk}/hazard/")
    assert again.status_code == 409 and Hazard.objects.count() == 1
    assert (
        world.client_for(world.sibling).post(f"/patrol/findings/{finding.pk}/hazard/").status_code
        == 404
    )


def test_finish_and_abandon_through_the_page(world, plan, run):
    client = world.client_for(world.grid_worker)
    response = client.post(f"/patrol/runs/{run.pk}/finish/", {"note": "正常", "action": "finish"})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.state == RunState.FINISHED
    again = client.post(f"/patrol/runs/{run.pk}/finish/", {"action": "finish"})
    assert again.status_code == 409
    second = patrol_runs.start_run(actor=world.grid_worker, plan=plan)
    response = world.client_for(world.same).post(
        f"/patrol/runs/{second.pk}/finish/", {"action": "abandon", "note": "忘记结束"}
    )
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.state == RunState.ABANDONED


def test_my_patrol_starts_a_run_and_shows_the_walking_one(world, plan):
    client = world.client_for(world.grid_worker)
    page = client.get("/patrol/")
    assert page.status_code == 200 and "日常巡查" in page.content.decode()
    response = client.post(f"/patrol/plans/{plan.pk}/start/")
    run = PatrolRun.objects.get()
    assert response["Location"] == f"/patrol/runs/{run.pk}/"
    # A second start goes back to the walking run with the reason.
    response = client.post(f"/patrol/plans/{plan.pk}/start/", follow=True)
    assert PatrolRun.objects.count() == 1 and "尚未结束" in response.content.decode()
    assert "继续巡查" in client.get("/patrol/").content.decode()


def test_track_is_hidden_from_a_peer_grid_worker(world, run):
    patrol_runs.add_track(
        actor=world.grid_worker,
        run=run,
        points=[
            [GRID_LON, GRID_LAT, int(run.started_at.timestamp()) + 5, 5],
            [GRID_LON + 0.001, GRID_LAT, int(run.started_at.timestamp()) + 35, 5],
        ],
    )
    peer = make_user(Role.GRID_WORKER, world.grid, "peer")
    page = world.client_for(peer).get(f"/patrol/runs/{run.pk}/")
    assert page.status_code == 200 and page.context["map_data"]["track"] == []
    assert "仅巡查人本人" in page.content.decode()
    page = world.client_for(world.same).get(f"/patrol/runs/{run.pk}/")
    assert len(page.context["map_data"]["track"]) == 2


def test_plan_editor_creates_and_updates(world):
    client = world.client_for(world.same)
    assert client.get("/patrol/plans/new/").status_code == 200
    data = {
        "region": world.grid.pk,
        "name": "防汛巡查",
        "rounds": "08:00-12:00，14:00-18:00",
        "is_active": "on",
        "cp-0-name": "河埠头",
        "cp-0-lon": "120.401",
        "cp-0-lat": "30.001",
        "cp-0-radius_m": "40",
        "cp-1-name": "",
        "cp-1-lon": "",
        "cp-1-lat": "",
    }
    response = client.post("/patrol/plans/new/", data)
    plan = PatrolPlan.objects.get()
    assert response["Location"] == f"/patrol/plans/{plan.pk}/"
    assert plan.rounds == [["08:00", "12:00"], ["14:00", "18:00"]]
    checkpoint = plan.checkpoints.get()
    assert checkpoint.radius_m == 40
    page = client.get(f"/patrol/plans/{plan.pk}/")
    assert f"/patrol/qr/{checkpoint.qr_token}/" in page.content.decode()
    bad = client.post(f"/patrol/plans/{plan.pk}/", {**data, "rounds": "9-8", "cp-0-radius_m": "1"})
    assert bad.status_code == 422
    body = bad.content.decode()
    assert "时段格式" in body and "打卡半径" in body
    data.update({"cp-0-id": checkpoint.pk, "cp-0-name": "河埠头（东）"})
    assert client.post(f"/patrol/plans/{plan.pk}/", data).status_code == 302
    assert Checkpoint.objects.get().qr_token == checkpoint.qr_token
    assert Checkpoint.objects.get().name == "河埠头（东）"
    leader = make_user(Role.LEADER, world.county, "leader")
    assert world.client_for(leader).post(f"/patrol/plans/{plan.pk}/", data).status_code == 403


def test_coverage_page_shows_the_grids_not_patrolled(world, plan):
    yesterday = timezone.localdate() - timedelta(days=1)
    page = world.client_for(world.same).get(f"/patrol/coverage/?day={yesterday.isoformat()}")
    assert page.status_code == 200
    assert [row.region for row in page.context["missing"]] == [world.grid]
    _walk(world, plan, 1)
    page = world.client_for(world.same).get("/patrol/coverage/")
    assert page.context["missing"] == [] and page.context["rounds_done"] == 1
    assert page.context["walkers"][0].runs == 1
    assert world.client_for(world.sibling).get("/patrol/coverage/").context["grids"] == []
    assert world.client_for(world.same).get("/patrol/coverage/?day=bad").status_code == 200


def test_map_layers_are_scoped_and_tracks_are_personal(world, run):
    t0 = int(run.started_at.timestamp())
    patrol_runs.add_track(
        actor=world.grid_worker,
        run=run,
        points=[[GRID_LON, GRID_LAT, t0 + 5, 5], [GRID_LON + 0.001, GRID_LAT, t0 + 35, 5]],
    )
    patrol_runs.check_in(
        actor=world.grid_worker,
        run=run,
        checkpoint=run.plan.checkpoints.first(),
        lon=GRID_LON + 0.01,
        lat=GRID_LAT,
        accuracy_m=5,
    )
    peer = make_user(Role.GRID_WORKER, world.grid, "peer")
    expected = {
        world.grid_worker: 1,
        world.same: 1,
        world.parent: 1,
        peer: 0,
        world.sibling: 0,
        world.outsider: 0,
    }
    for user, count in expected.items():
        client = world.client_for(user)
        tracks = client.get("/api/v1/map/layers/patrol_tracks")
        points = client.get("/api/v1/map/layers/patrol_check_ins")
        assert tracks.status_code == 200, tracks.content
        assert tracks.json()["properties"]["count"] == count, user
        assert points.json()["properties"]["count"] == count, user
    feature = world.client_for(world.same).get("/api/v1/map/layers/patrol_check_ins")
    assert feature.json()["features"][0]["properties"]["kind"] == "flagged"
    line = world.client_for(world.same).get("/api/v1/map/layers/patrol_tracks")
    assert line.json()["features"][0]["geometry"]["type"] == "LineString"
    assert PatrolCheckIn.objects.get().flag == CheckInFlag.BEYOND_RADIUS
