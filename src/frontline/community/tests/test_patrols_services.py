"""Patrol services: plans, runs, check-ins flagged by distance and accuracy, QR, track,
findings handed on, coverage and punctuality on a constructed day."""

from datetime import date, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from frontline.community.models import (
    Checkpoint,
    PatrolCheckIn,
    PatrolFinding,
    PatrolPlan,
    PatrolRun,
)
from frontline.community.models.patrols import CheckInFlag, RunState
from frontline.community.services import patrol_coverage, patrol_findings, patrol_runs, patrols
from frontline.community.testing import GRID_LAT, GRID_LON, make_plan, walk_every_checkpoint
from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.models import Attachment, RegionLevel
from frontline.core.roles import Role
from frontline.core.services.attachments import attachments_of
from frontline.core.testing import make_region, make_user
from frontline.hazards.models import Hazard, HazardSource
from frontline.hazards.tests.conftest import jpeg_bytes, media_root  # noqa: F401

# 1° of longitude at 30° N ≈ 96 297 m, so 0.0001° ≈ 9.6 m.
M_PER_DEG_LON = 96_297.0


def east(metres: float) -> float:
    return GRID_LON + metres / M_PER_DEG_LON


def local(day: date, hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return timezone.make_aware(datetime(day.year, day.month, day.day, hours, minutes))


@pytest.fixture
def plan(world):
    return make_plan(world.grid, points=3)


@pytest.fixture
def run(world, plan):
    return patrol_runs.start_run(actor=world.grid_worker, plan=plan)


def test_haversine_matches_a_known_distance():
    # 0.001° of latitude is 111.2 m everywhere.
    assert patrol_runs.haversine_m(120.4, 30.0, 120.4, 30.001) == pytest.approx(111.2, abs=0.2)


def test_create_plan_validates_every_field_and_writes_nothing(world):
    with pytest.raises(InvalidInput) as error:
        patrols.create_plan(
            actor=world.same,
            region=world.village,
            name=" ",
            rounds=[["12:00", "08:00"]],
            checkpoints=[{"name": "", "lon": 200, "lat": 30, "radius_m": 2}],
        )
    assert {"region", "name", "rounds", "checkpoints.0.name", "checkpoints.0.lon"} <= set(
        error.value.details
    )
    assert "checkpoints.0.radius_m" in error.value.details
    with pytest.raises(InvalidInput) as error:
        patrols.create_plan(
            actor=world.same,
            region=world.grid,
            name="x",
            rounds=[["08:00", "12:00"], ["11:00", "13:00"]],
            checkpoints=[],
        )
    assert error.value.details["rounds"] == "巡查时段不能重叠"
    assert error.value.details["checkpoints"] == "至少设置一个巡查点位"
    assert not PatrolPlan.objects.exists()


def test_create_and_update_plan_keep_qr_plates(world):
    plan = patrols.create_plan(
        actor=world.same,
        region=world.grid,
        name="早晚巡查",
        rounds=[["14:00", "18:00"], ["08:00", "12:00"]],
        checkpoints=[
            {"name": "村口", "lon": GRID_LON, "lat": GRID_LAT},
            {"name": "祠堂", "lon": east(100), "lat": GRID_LAT, "radius_m": 30},
        ],
    )
    assert plan.rounds == [["08:00", "12:00"], ["14:00", "18:00"]]
    first, second = plan.checkpoints.all()
    token = first.qr_token
    patrols.update_plan(
        actor=world.same,
        plan=plan,
        name="早晚巡查",
        rounds=[["08:00", "12:00"]],
        checkpoints=[
            {"id": first.pk, "name": "村口广场", "lon": GRID_LON, "lat": GRID_LAT},
            {"name": "桥头", "lon": east(200), "lat": GRID_LAT},
        ],
    )
    names = list(plan.checkpoints.values_list("name", flat=True))
    assert names == ["村口广场", "桥头"]
    assert Checkpoint.objects.get(pk=first.pk).qr_token == token
    assert not Checkpoint.objects.filter(pk=second.pk).exists()
    with pytest.raises(PermissionDenied):
        patrols.update_plan(
            actor=world.sibling,
            plan=plan,
            name="x",
            checkpoints=[{"name": "a", "lon": 1, "lat": 1}],
        )


def test_start_run_picks_the_round_and_allows_one_walking_run(world, plan):
    today = timezone.localdate()
    run = patrol_runs.start_run(actor=world.grid_worker, plan=plan, now=local(today, "15:10"))
    assert (run.round, run.points_total, run.state, run.day) == (2, 3, RunState.WALKING, today)
    assert patrols.started_in_window(run)
    with pytest.raises(DomainError) as error:
        patrol_runs.start_run(actor=world.grid_worker, plan=plan)
    assert error.value.code == "run_in_progress" and error.value.status == 409
    patrol_runs.abandon_run(actor=world.grid_worker, run=run)
    late = patrol_runs.start_run(actor=world.grid_worker, plan=plan, now=local(today, "19:30"))
    assert late.round == 2 and not patrols.started_in_window(late)
    assert PatrolRun.objects.count() == 2


def test_check_in_flags_both_sides_of_the_radius(world, plan, run):
    first, second, _third = plan.checkpoints.all()
    inside = patrol_runs.check_in(
        actor=world.grid_worker,
        run=run,
        checkpoint=first,
        lon=east(45),
        lat=GRID_LAT,
        accuracy_m=10,
    )
    assert inside.flag == CheckInFlag.OK and inside.distance_m == pytest.approx(45, abs=0.5)
    outside = patrol_runs.check_in(
        actor=world.grid_worker,
        run=run,
        checkpoint=second,
        lon=second.lon + 55 / M_PER_DEG_LON,
        lat=GRID_LAT,
        accuracy_m=10,
    )
    assert outside.flag == CheckInFlag.BEYOND_RADIUS and outside.is_flagged
    run.refresh_from_db()
    assert run.points_checked == 1
    assert PatrolCheckIn.objects.filter(run=run).count() == 2


def test_poor_accuracy_and_no_position_are_flagged_not_counted(world, plan, run, settings):
    first, second, _third = plan.checkpoints.all()
    poor = patrol_runs.check_in(
        actor=world.grid_worker,
        run=run,
        checkpoint=first,
        lon=GRID_LON,
        lat=GRID_LAT,
        accuracy_m=80,
    )
    assert poor.flag == CheckInFlag.POOR_ACCURACY
    nothing = patrol_runs.check_in(
        actor=world.grid_worker, run=run, checkpoint=second, lon=None, lat=None, accuracy_m=None
    )
    assert nothing.flag == CheckInFlag.NO_POSITION and nothing.distance_m is None
    settings.PATROL_MAX_ACCURACY_M = 100
    relaxed = patrol_runs.check_in(
        actor=world.grid_worker,
        run=run,
        checkpoint=first,
        lon=GRID_LON,
        lat=GRID_LAT,
        accuracy_m=80,
    )
    assert relaxed.flag == CheckInFlag.OK
    run.refresh_from_db()
    assert run.points_checked == 1


def test_bad_check_in_input_is_refused_and_nothing_written(world, plan, run):
    other = make_plan(world.grid, points=1, name="夜巡")
    with pytest.raises(InvalidInput) as error:
        patrol_runs.check_in(
            actor=world.grid_worker,
            run=run,
            checkpoint=other.checkpoints.get(),
            lon=GRID_LON,
            lat=None,
            accuracy_m=-3,
        )
    assert set(error.value.details) == {"checkpoint", "lon", "accuracy_m"}
    with pytest.raises(PermissionDenied):
        patrol_runs.check_in(
            actor=world.same,
            run=run,
            checkpoint=plan.checkpoints.first(),
            lon=GRID_LON,
            lat=GRID_LAT,
            accuracy_m=5,
        )
    patrol_runs.finish_run(actor=world.grid_worker, run=run)
    with pytest.raises(DomainError) as error:
        patrol_runs.check_in(
            actor=world.grid_worker,
            run=run,
            checkpoint=plan.checkpoints.first(),
            lon=GRID_LON,
            lat=GRID_LAT,
            accuracy_m=5,
        )
    assert error.value.status == 409
    assert not PatrolCheckIn.objects.exists()


def test_qr_check_in_counts_and_a_token_of_another_plan_is_refused(world, plan, run):
    other = make_plan(world.grid, points=1, name="夜巡")
    item = patrol_runs.check_in_by_qr(
        actor=world.grid_worker, run=run, token=plan.checkpoints.first().qr_token
    )
    assert item.flag == CheckInFlag.OK and item.method == "qr"
    with pytest.raises(InvalidInput) as error:
        patrol_runs.check_in_by_qr(
            actor=world.grid_worker, run=run, token=other.checkpoints.get().qr_token
        )
    assert error.value.status == 422 and "token" in error.value.details
    with pytest.raises(InvalidInput):
        patrol_runs.check_in_by_qr(actor=world.grid_worker, run=run, token="nonsense")
    run.refresh_from_db()
    assert run.points_checked == 1 and PatrolCheckIn.objects.count() == 1


def test_track_accumulates_distance_skips_resent_points_and_refuses_bad_ones(world, run):
    t0 = int(run.started_at.timestamp())
    patrol_runs.add_track(
        actor=world.grid_worker,
        run=run,
        points=[[GRID_LON, GRID_LAT, t0 + 30, 8], [east(100), GRID_LAT, t0 + 60, 8]],
    )
    run.refresh_from_db()
    assert run.distance_m == pytest.approx(100, abs=1)
    # The same batch again plus one poorly located point: stored once, the bad fix not counted.
    patrol_runs.add_track(
        actor=world.grid_worker,
        run=run,
        points=[[east(100), GRID_LAT, t0 + 60, 8], [east(900), GRID_LAT, t0 + 90, 300]],
    )
    run.refresh_from_db()
    assert len(run.track) == 3 and run.distance_m == pytest.approx(100, abs=1)
    with pytest.raises(InvalidInput) as error:
        patrol_runs.add_track(
            actor=world.grid_worker,
            run=run,
            points=[[east(200), GRID_LAT, t0 + 120, 5], [181, 30, t0 + 150, 5]],
        )
    assert error.value.details["points"].startswith("第 2 个轨迹点")
    run.refresh_from_db()
    assert len(run.track) == 3


@pytest.mark.usefixtures("media_root")
def test_check_in_photo_is_attached(world, plan, run):
    photo = SimpleUploadedFile("p.jpg", jpeg_bytes(), content_type="image/jpeg")
    item = patrol_runs.check_in(
        actor=world.grid_worker,
        run=run,
        checkpoint=plan.checkpoints.first(),
        lon=GRID_LON,
        lat=GRID_LAT,
        accuracy_m=5,
        photo=photo,
    )
    attachment = Attachment.objects.get()
    assert attachment.owner_id == str(item.pk) and attachment.region == world.grid


@pytest.mark.usefixtures("media_root")
def test_finding_becomes_a_hazard_once_with_its_photo(world, plan, run):
    photo = SimpleUploadedFile("f.jpg", jpeg_bytes("red"), content_type="image/jpeg")
    finding = patrol_findings.record_finding(
        actor=world.grid_worker,
        run=run,
        note="配电箱门损坏\n电线裸露",
        lon=east(10),
        lat=GRID_LAT,
        photo=photo,
    )
    hazard = patrol_findings.finding_to_hazard(actor=world.grid_worker, finding=finding)
    assert (hazard.region, hazard.source, hazard.title) == (
        world.grid,
        HazardSource.PATROL,
        "配电箱门损坏",
    )
    assert hazard.lon == pytest.approx(east(10))
    copied = attachments_of(hazard).get()
    assert copied.original_name == "f.jpg" and copied.region == world.grid
    finding.refresh_from_db()
    assert finding.hazard == hazard
    with pytest.raises(DomainError) as error:
        patrol_findings.finding_to_hazard(actor=world.grid_worker, finding=finding)
    assert error.value.code == "finding_handed_on"
    assert Hazard.objects.count() == 1


def test_finding_needs_a_note(world, run):
    with pytest.raises(InvalidInput) as error:
        patrol_findings.record_finding(actor=world.grid_worker, run=run, note="  ")
    assert "note" in error.value.details
    assert not PatrolFinding.objects.exists()


def test_finish_and_abandon(world, plan, run):
    with pytest.raises(PermissionDenied):
        patrol_runs.finish_run(actor=world.same, run=run)
    patrol_runs.finish_run(actor=world.grid_worker, run=run, note="一切正常")
    run.refresh_from_db()
    assert run.state == RunState.FINISHED and run.finished_at and run.note == "一切正常"
    with pytest.raises(DomainError):
        patrol_runs.abandon_run(actor=world.grid_worker, run=run)
    second = patrol_runs.start_run(actor=world.grid_worker, plan=plan)
    # The station may stop a run left open; a peer grid worker may not.
    peer = make_user(Role.GRID_WORKER, world.grid, "peer")
    with pytest.raises(PermissionDenied):
        patrol_runs.abandon_run(actor=peer, run=second)
    patrol_runs.abandon_run(actor=world.same, run=second, note="忘记结束")
    second.refresh_from_db()
    assert second.state == RunState.ABANDONED


def test_coverage_and_punctuality_on_a_constructed_day(world):
    day = timezone.localdate() - timedelta(days=1)
    grid2 = make_region("330603001001002", RegionLevel.GRID, world.village, name="州山村第二网格")
    grid3 = make_region("330603001001003", RegionLevel.GRID, world.village, name="州山村第三网格")
    plan1 = make_plan(world.grid, points=2)  # two rounds: 08-12, 14-18
    plan2 = make_plan(grid2, points=2)
    worker2 = make_user(Role.GRID_WORKER, grid2, "worker2")
    # Grid 1: both rounds finished, the first on time, the second late.
    for hhmm in ("09:00", "18:30"):
        run = patrol_runs.start_run(actor=world.grid_worker, plan=plan1, now=local(day, hhmm))
        walk_every_checkpoint(run, world.grid_worker, now=local(day, hhmm) + timedelta(minutes=20))
        patrol_runs.finish_run(
            actor=world.grid_worker, run=run, now=local(day, hhmm) + timedelta(hours=1)
        )
    # Grid 2: one run abandoned, one still walking: not patrolled.
    run = patrol_runs.start_run(actor=worker2, plan=plan2, now=local(day, "08:30"))
    patrol_runs.abandon_run(actor=worker2, run=run)
    patrol_runs.start_run(actor=worker2, plan=plan2, now=local(day, "15:00"))
    # Another day does not count.
    other = patrol_runs.start_run(
        actor=world.grid_worker, plan=plan1, now=local(day - timedelta(days=1), "09:00")
    )
    patrol_runs.finish_run(actor=world.grid_worker, run=other)

    rows = {row.region.pk: row for row in patrol_coverage.coverage_for_day(world.same, day)}
    assert set(rows) == {world.grid.pk, grid2.pk, grid3.pk}
    assert (rows[world.grid.pk].rounds_done, rows[world.grid.pk].rounds_due) == (2, 2)
    assert rows[world.grid.pk].patrolled and rows[world.grid.pk].percent == 100
    assert (rows[grid2.pk].rounds_done, rows[grid2.pk].walking_runs) == (0, 1)
    assert not rows[grid2.pk].patrolled
    assert rows[grid3.pk].rounds_due == 0 and rows[grid3.pk].plans == 0
    # A sibling station sees none of these grids.
    assert patrol_coverage.coverage_for_day(world.sibling, day) == []

    rows = {row.user_id: row for row in patrol_coverage.punctuality(world.same, day, day)}
    assert (rows[world.grid_worker.pk].punctual, rows[world.grid_worker.pk].rounds_due) == (1, 2)
    assert rows[world.grid_worker.pk].percent == 50
    assert (rows[worker2.pk].punctual, rows[worker2.pk].rounds_due) == (1, 2)
    two_days = {
        row.user_id: row
        for row in patrol_coverage.punctuality(world.same, day - timedelta(days=1), day)
    }
    assert (two_days[world.grid_worker.pk].punctual, two_days[world.grid_worker.pk].rounds_due) == (
        2 if patrols.started_in_window(other) else 1,
        4,
    )


def test_track_visibility_rule(world, run):
    peer = make_user(Role.GRID_WORKER, world.grid, "peer")
    assert patrols.may_see_track(world.grid_worker, run)
    assert patrols.may_see_track(world.same, run) and patrols.may_see_track(world.parent, run)
    assert not patrols.may_see_track(peer, run)


def test_a_run_finished_with_a_checkpoint_missing_or_flagged_is_not_a_round(world):
    day = timezone.localdate() - timedelta(days=1)
    plan = make_plan(world.grid, points=2)
    first, second = plan.checkpoints.all()
    run = patrol_runs.start_run(actor=world.grid_worker, plan=plan, now=local(day, "09:00"))
    patrol_runs.check_in(actor=world.grid_worker, run=run, checkpoint=first, lon=first.lon,
                         lat=first.lat, accuracy_m=5, now=local(day, "09:10"))  # fmt: skip
    patrol_runs.check_in(actor=world.grid_worker, run=run, checkpoint=second, lon=second.lon + 0.01,
                         lat=second.lat, accuracy_m=5, now=local(day, "09:20"))  # fmt: skip
    patrol_runs.finish_run(actor=world.grid_worker, run=run, now=local(day, "09:30"))
    run.refresh_from_db()
    assert (run.points_checked, run.points_total, run.is_complete) == (1, 2, False)
    row = patrol_coverage.coverage_for_day(world.same, day)[0]
    assert (row.finished_runs, row.rounds_done, row.patrolled) == (1, 0, False)


def test_only_the_grid_worker_and_the_station_start_or_supervise_a_patrol(world):
    plan = make_plan(world.grid)
    liaison = make_user(Role.LIAISON, world.township, "liaison")
    with pytest.raises(PermissionDenied):
        patrol_runs.start_run(actor=liaison, plan=plan)
    run = patrol_runs.start_run(actor=world.grid_worker, plan=plan)
    assert not patrols.may_supervise(liaison, world.grid)
    assert not patrols.may_see_track(liaison, run)
    with pytest.raises(PermissionDenied):
        patrol_runs.abandon_run(actor=liaison, run=run)
    assert patrols.may_supervise(world.same, world.grid)
    assert patrols.may_see_track(world.same, run)
    patrol_runs.abandon_run(actor=world.same, run=run)


def test_a_gps_jump_is_kept_in_the_track_and_left_out_of_the_distance(world):
    plan = make_plan(world.grid)
    run = patrol_runs.start_run(actor=world.grid_worker, plan=plan)
    t0 = int(run.started_at.timestamp())
    points = [
        [GRID_LON, GRID_LAT, t0 + 10, 5],
        [GRID_LON + 0.5, GRID_LAT, t0 + 17, 5],  # 48 km in 7 s
        [GRID_LON + 0.001, GRID_LAT, t0 + 70, 5],  # ≈ 96 m in a minute
    ]
    run = patrol_runs.add_track(actor=world.grid_worker, run=run, points=points)
    assert len(run.track) == 3
    assert 90 < run.distance_m < 100
