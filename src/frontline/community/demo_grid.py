"""Demo data of the grids: public safety facilities in every grid of the district, some
overdue for a check; the grid workers' posts; the home township's patrol plans and a month of
patrol runs with check-ins (a few flagged), findings and missed rounds. Run by `demo.py`."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from datetime import datetime, time, timedelta

from django.utils import timezone

from frontline.community.demo_homes import grid_workers, home_grids, point_in
from frontline.community.models import (
    DEFAULT_CHECK_DAYS,
    CheckInFlag,
    CheckInMethod,
    Checkpoint,
    FacilityKind,
    FacilityStatus,
    GridPost,
    GridRole,
    PatrolCheckIn,
    PatrolFinding,
    PatrolPlan,
    PatrolRun,
    RunState,
    SafetyFacility,
)
from frontline.core.models import RegionLevel

PATROL_DAYS = 30


# --- facilities --------------------------------------------------------------------------


FACILITY_PLAN = [
    (FacilityKind.HYDRANT, "室外消火栓", 3),
    (FacilityKind.EXTINGUISHER_POINT, "灭火器箱", 2),
    (FacilityKind.AED, "AED", 0.3),
    (FacilityKind.LOUDSPEAKER, "应急广播", 0.5),
    (FacilityKind.SHELTER_SIGN, "避难场所指示牌", 0.3),
]


def generate_facilities(ctx) -> None:
    regions, plans, rng = ctx.state["regions"], ctx.state["plans"], ctx.rng
    today = timezone.localdate()
    facilities = []
    grids = [r for r in regions.values() if r.level == RegionLevel.GRID]
    villages = [r for r in regions.values() if r.level == RegionLevel.VILLAGE]
    first_grid = {}
    for grid in sorted(grids, key=lambda g: g.code):
        first_grid.setdefault(grid.parent_id, grid)
        polygon = plans[grid.code].polygon
        for kind, noun, mean in FACILITY_PLAN:
            count = int(mean) + (1 if rng.random() < mean - int(mean) else 0)
            for number in range(1, count + 1):
                facilities.append(
                    _facility(grid, kind, f"{grid.name}{noun}{number}", polygon, today, rng)
                )
    for village in villages:
        grid = first_grid.get(village.pk)
        if grid is not None:
            facilities.append(
                _facility(
                    grid,
                    FacilityKind.MICRO_FIRE_STATION,
                    f"{village.name}微型消防站",
                    plans[grid.code].polygon,
                    today,
                    rng,
                )
            )
    SafetyFacility.objects.bulk_create(facilities, batch_size=1000)
    ctx.count("facilities", len(facilities))
    ctx.count("facilities.overdue", sum(f.next_check_due < today for f in facilities))


def _facility(grid, kind, name, polygon, today, rng) -> SafetyFacility:
    every = DEFAULT_CHECK_DAYS[kind]
    # Most were checked within their period; about one in ten is overdue.
    since = rng.randint(0, int(every * 1.1))
    checked = today - timedelta(days=since)
    lon, lat = point_in(polygon, rng)
    status = rng.choices(
        [FacilityStatus.NORMAL, FacilityStatus.FAULTY, FacilityStatus.MISSING], weights=[94, 5, 1]
    )[0]
    return SafetyFacility(
        region=grid,
        kind=kind,
        name=name,
        lon=lon,
        lat=lat,
        status=status,
        check_every_days=every,
        last_checked_at=timezone.make_aware(datetime.combine(checked, time(10))),
        next_check_due=checked + timedelta(days=every),
    )


# --- grid posts and patrols --------------------------------------------------------------


def generate_patrols(ctx) -> None:
    regions, rng = ctx.state["regions"], ctx.rng
    today = timezone.localdate()
    walkers = grid_workers(regions)
    posts = [
        GridPost(
            region=grid,
            person=person,
            role=GridRole.GRID_WORKER,
            started_on=today - timedelta(days=rng.randint(60, 2000)),
        )
        for grid, (person, _) in walkers.items()
    ]
    GridPost.objects.bulk_create(posts, batch_size=1000)
    ctx.count("grid_posts", len(posts))
    grids = [g for g in home_grids(regions) if g in walkers]
    by_grid = defaultdict(list)
    for building in ctx.state.get("buildings", []):
        by_grid[building.region_id].append(building)
    plans, checkpoints = [], []
    for grid in grids:
        plan = PatrolPlan(region=grid, name=f"{grid.name}日常巡查")
        plans.append(plan)
    PatrolPlan.objects.bulk_create(plans, batch_size=500)
    for plan, grid in zip(plans, grids, strict=True):
        chosen = rng.sample(by_grid[grid.pk], min(5, len(by_grid[grid.pk])))
        for order, building in enumerate(chosen):
            checkpoints.append(
                Checkpoint(
                    plan=plan,
                    order=order,
                    name=building.name,
                    lon=building.lon,
                    lat=building.lat,
                    building=building,
                )
            )
    Checkpoint.objects.bulk_create(checkpoints, batch_size=1000)
    points = defaultdict(list)
    for checkpoint in checkpoints:
        points[checkpoint.plan_id].append(checkpoint)
    runs, check_ins, findings = _month_of_runs(plans, points, walkers, today, rng)
    ctx.count("patrol_plans", len(plans))
    ctx.count("patrol_runs", len(runs))
    ctx.count("patrol_check_ins", len(check_ins))
    ctx.count("patrol_findings", len(findings))


FINDINGS = [
    "楼道堆放杂物，堵塞疏散通道",
    "电动自行车在楼道内充电",
    "消火栓箱内水带缺失",
    "飞线充电，已劝导拆除",
    "路灯损坏，夜间通行不便",
    "河道护栏松动",
    "沿街店铺灭火器过期",
]


def _month_of_runs(plans, points, walkers, today, rng):
    runs, check_ins, findings = [], [], []
    for plan in plans:
        _person, user = walkers[plan.region]
        checkpoints = points[plan.pk]
        for back in range(PATROL_DAYS, -1, -1):
            day = today - timedelta(days=back)
            for round_number, (start, _end) in enumerate(plan.rounds, start=1):
                if back == 0 or rng.random() < 0.08:  # today is still open; some rounds missed
                    continue
                hour, minute = (int(part) for part in start.split(":"))
                late = rng.random() < 0.1
                begin = timezone.make_aware(
                    datetime.combine(day, time(hour, minute))
                    + timedelta(minutes=rng.randint(0, 50) + (150 if late else 0))
                )
                run = PatrolRun(
                    plan=plan,
                    region=plan.region,
                    walker=user,
                    state=RunState.FINISHED,
                    day=day,
                    round=round_number,
                    started_at=begin,
                    points_total=len(checkpoints),
                )
                run._check_ins = []
                at = begin
                track = []
                for checkpoint in checkpoints:
                    at += timedelta(minutes=rng.randint(3, 9))
                    far = rng.random() < 0.04
                    offset = rng.uniform(80, 200) if far else rng.uniform(2, 30)
                    angle = rng.uniform(0, 2 * math.pi)
                    lon = checkpoint.lon + offset * math.cos(angle) / (
                        111_320 * math.cos(math.radians(checkpoint.lat))
                    )
                    lat = checkpoint.lat + offset * math.sin(angle) / 110_540
                    accuracy = rng.uniform(5, 25)
                    track.append(
                        [round(lon, 6), round(lat, 6), int(at.timestamp()), round(accuracy)]
                    )
                    run._check_ins.append(
                        PatrolCheckIn(
                            checkpoint=checkpoint,
                            at=at,
                            method=CheckInMethod.GPS,
                            lon=round(lon, 6),
                            lat=round(lat, 6),
                            accuracy_m=round(accuracy, 1),
                            distance_m=round(offset, 1),
                            flag=CheckInFlag.BEYOND_RADIUS if far else CheckInFlag.OK,
                        )
                    )
                run.track = track
                run.distance_m = round(_length(track), 1)
                run.points_checked = sum(c.flag == CheckInFlag.OK for c in run._check_ins)
                run.finished_at = at + timedelta(minutes=rng.randint(2, 8))
                runs.append(run)
    PatrolRun.objects.bulk_create(runs, batch_size=1000)
    for run in runs:
        for check_in in run._check_ins:
            check_in.run = run
            check_ins.append(check_in)
    PatrolCheckIn.objects.bulk_create(check_ins, batch_size=2000)
    for run in runs:
        if rng.random() < 0.05:
            check_in = rng.choice(run._check_ins)
            findings.append(
                PatrolFinding(
                    run=run,
                    check_in=check_in,
                    region=run.region,
                    at=check_in.at,
                    note=rng.choice(FINDINGS),
                    lon=check_in.lon,
                    lat=check_in.lat,
                )
            )
    PatrolFinding.objects.bulk_create(findings, batch_size=1000)
    return runs, check_ins, findings


def _length(track) -> float:
    total = 0.0
    for (lon1, lat1, *_), (lon2, lat2, *_) in itertools.pairwise(track):
        dx = (lon2 - lon1) * 111_320 * math.cos(math.radians(lat1))
        dy = (lat2 - lat1) * 110_540
        total += math.hypot(dx, dy)
    return total
