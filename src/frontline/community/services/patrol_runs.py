"""Walking a patrol (巡查): start a run, check in by GPS or by the plate's QR, send the track,
finish or abandon.

A check-in is never silently accepted: a position beyond the checkpoint's radius, a position
whose accuracy is worse than the limit (settings.PATROL_MAX_ACCURACY_M, default 50 m) and a
check-in without any position are stored and flagged; only `ok` check-ins count in
`points_checked`. The guards here (walker only, walking run only, the run's row locked) are
shared with `patrol_findings`.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.community.models import Checkpoint, PatrolCheckIn, PatrolPlan, PatrolRun
from frontline.community.models.patrols import CheckInFlag, CheckInMethod, RunState
from frontline.community.services.patrols import _clean_point, may_supervise, may_walk, round_at
from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.roles import Capability
from frontline.core.services.validation import Cleaner, require

DEFAULT_MAX_ACCURACY_M = 50
MAX_TRACK_POINTS_PER_CALL = 500
MAX_TRACK_POINTS = 20_000
EARTH_RADIUS_M = 6_371_008.8


def max_accuracy_m() -> float:
    return float(getattr(settings, "PATROL_MAX_ACCURACY_M", DEFAULT_MAX_ACCURACY_M))


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


# --- guards ---------------------------------------------------------------------------------


def _walker_only(actor, run: PatrolRun) -> None:
    if actor is not None and run.walker_id != actor.pk:
        raise PermissionDenied(_("只有巡查人本人可以在本次巡查中打卡、记录"))


def _walking(run: PatrolRun) -> None:
    if run.state != RunState.WALKING:
        raise DomainError(
            _("本次巡查已%(state)s，不能再操作") % {"state": run.get_state_display()},
            code="run_not_walking",
        )


def _locked_run(run: PatrolRun) -> PatrolRun:
    return PatrolRun.objects.select_for_update().select_related("plan", "region").get(pk=run.pk)


# --- runs -----------------------------------------------------------------------------------


@transaction.atomic
def start_run(*, actor, plan: PatrolPlan, now: datetime | None = None) -> PatrolRun:
    """Start walking `plan` now: the round is the window the moment lies in (or the last one
    begun, when late). One walking run per walker at a time."""
    require(actor, Capability.EDIT, plan.region)
    if actor is not None and not may_walk(actor, plan.region):
        raise PermissionDenied(_("只有本网格的网格员或应急管理站人员可以开始巡查"))
    if actor is None or getattr(actor, "pk", None) is None:
        raise InvalidInput(_("巡查需要巡查人"), details={"walker": _("巡查需要巡查人")})
    plan = PatrolPlan.objects.select_related("region").get(pk=plan.pk)
    if not plan.is_active:
        raise DomainError(_("该巡查计划已停用"), code="plan_inactive")
    # Lock the walker's row so two taps on 开始 cannot start two runs.
    get_user_model().objects.select_for_update().filter(pk=actor.pk).first()
    walking = PatrolRun.objects.filter(walker=actor, state=RunState.WALKING).first()
    if walking is not None:
        raise DomainError(
            _("您有一次巡查尚未结束（%(run)s），请先结束或中止它") % {"run": walking},
            code="run_in_progress",
            details={"run_id": walking.pk},
        )
    now = now or timezone.now()
    number, _inside = round_at(plan, now)
    return PatrolRun.objects.create(
        plan=plan,
        region=plan.region,
        walker=actor,
        state=RunState.WALKING,
        day=timezone.localdate(now),
        round=number,
        started_at=now,
        points_total=Checkpoint.objects.filter(plan=plan).count(),
    )


def _recount(run: PatrolRun) -> None:
    run.points_checked = (
        PatrolCheckIn.objects.filter(run=run, flag=CheckInFlag.OK, checkpoint__isnull=False)
        .values("checkpoint")
        .distinct()
        .count()
    )


def _flag_for(checkpoint: Checkpoint, lon, lat, accuracy_m) -> tuple[str, float | None]:
    if lon is None or lat is None:
        return CheckInFlag.NO_POSITION, None
    distance = haversine_m(checkpoint.lon, checkpoint.lat, lon, lat)
    if distance > checkpoint.radius_m:
        return CheckInFlag.BEYOND_RADIUS, distance
    if accuracy_m is None or accuracy_m > max_accuracy_m():
        return CheckInFlag.POOR_ACCURACY, distance
    return CheckInFlag.OK, distance


FACILITY_TICKS = ("normal", "faulty")


@transaction.atomic
def check_in(
    *,
    actor,
    run: PatrolRun,
    checkpoint: Checkpoint,
    lon: float | None,
    lat: float | None,
    accuracy_m: float | None,
    photo=None,
    note: str = "",
    facility_status: str | None = None,
    now: datetime | None = None,
) -> PatrolCheckIn:
    """A GPS check-in at one checkpoint of the run's plan, flagged when beyond the radius,
    poorly located or without a position. When the checkpoint is bound to a facility and
    the walker ticked 完好 / 损坏 (`facility_status` "normal" / "faulty"), an ok check-in
    also records a facility check."""
    run = _locked_run(run)
    require(actor, Capability.EDIT, run.region)
    _walker_only(actor, run)
    _walking(run)
    cleaner = Cleaner()
    if checkpoint is None or checkpoint.plan_id != run.plan_id:
        cleaner.fail("checkpoint", _("该点位不属于本次巡查的计划"))
    note = cleaner.text(note, "note", required=False, max_length=500)
    if _clean_point(cleaner, lon, lat, "lon", required=False):
        lon, lat = float(lon), float(lat)
    else:
        lon = lat = None
    if accuracy_m is not None:
        try:
            accuracy_m = float(accuracy_m)
        except (TypeError, ValueError):
            accuracy_m = -1.0
        if not math.isfinite(accuracy_m) or accuracy_m < 0:
            cleaner.fail("accuracy_m", _("定位精度应为不小于 0 的数字"))
    if facility_status not in (None, "", *FACILITY_TICKS):
        cleaner.fail("facility_status", _("请选择设施完好或损坏"))
    cleaner.done()
    flag, distance = _flag_for(checkpoint, lon, lat, accuracy_m)
    item = PatrolCheckIn.objects.create(
        run=run,
        checkpoint=checkpoint,
        at=now or timezone.now(),
        method=CheckInMethod.GPS,
        lon=lon,
        lat=lat,
        accuracy_m=accuracy_m,
        distance_m=None if distance is None else round(distance, 1),
        flag=flag,
        note=note,
    )
    _after_check_in(actor, run, item, photo)
    if facility_status and flag == CheckInFlag.OK and checkpoint.facility_id:
        from frontline.community.services.facilities import record_facility_check

        record_facility_check(
            actor=actor,
            facility=checkpoint.facility,
            status=facility_status,
            note=note,
            patrol_check_in=item,
        )
    return item


def _after_check_in(actor, run: PatrolRun, item: PatrolCheckIn, photo) -> None:
    if photo is not None:
        from frontline.core.services.attachments import attach_file

        attach_file(
            actor=actor,
            owner=item,
            uploaded_file=photo,
            note=_("打卡照片：%(name)s")
            % {"name": item.checkpoint.name if item.checkpoint_id else ""},
        )
    _recount(run)
    run.save(update_fields=["points_checked"])


@transaction.atomic
def check_in_by_qr(
    *, actor, run: PatrolRun, token: str, note: str = "", now: datetime | None = None
) -> PatrolCheckIn:
    """A check-in by scanning the plate at a checkpoint: no GPS needed, counted as ok. A
    token of another plan (or unknown) is refused."""
    run = _locked_run(run)
    require(actor, Capability.EDIT, run.region)
    _walker_only(actor, run)
    _walking(run)
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=False, max_length=500)
    token = (token or "").strip()
    checkpoint = Checkpoint.objects.filter(qr_token=token).first() if token else None
    if checkpoint is None:
        cleaner.fail("token", _("二维码无效"))
    elif checkpoint.plan_id != run.plan_id:
        cleaner.fail("token", _("该二维码属于其他巡查计划的点位"))
    cleaner.done()
    item = PatrolCheckIn.objects.create(
        run=run,
        checkpoint=checkpoint,
        at=now or timezone.now(),
        method=CheckInMethod.QR,
        flag=CheckInFlag.OK,
        note=note,
    )
    _after_check_in(actor, run, item, None)
    return item


MAX_SPEED_MPS = 15.0  # 54 km/h: faster than a grid worker's e-bike


@transaction.atomic
def add_track(*, actor, run: PatrolRun, points: list) -> PatrolRun:
    """Append track points [[lon, lat, epoch seconds, accuracy m], ...] to a walking run.

    All points are checked first (nothing is stored when one is wrong). Points not later
    than the last stored one are skipped, so a resent batch is stored once. The distance
    adds the legs between points whose accuracy is within the limit, leaving out a leg
    faster than MAX_SPEED_MPS (a GPS jump)."""
    run = _locked_run(run)
    require(actor, Capability.EDIT, run.region)
    _walker_only(actor, run)
    _walking(run)
    cleaner = Cleaner()
    if not isinstance(points, (list, tuple)):
        cleaner.fail("points", _("轨迹点格式不正确"))
        points = []
    if len(points) > MAX_TRACK_POINTS_PER_CALL:
        cleaner.fail("points", _("一次最多 %(n)d 个轨迹点") % {"n": MAX_TRACK_POINTS_PER_CALL})
    latest = (timezone.now() + timedelta(minutes=5)).timestamp()
    earliest = run.started_at.timestamp() - 300
    parsed: list[list[float]] = []
    for index, point in enumerate(points[:MAX_TRACK_POINTS_PER_CALL]):
        try:
            lon, lat, at, accuracy = (float(v) for v in point)
        except (TypeError, ValueError):
            cleaner.fail("points", _("第 %(n)d 个轨迹点格式不正确") % {"n": index + 1})
            break
        if not all(map(math.isfinite, (lon, lat, at, accuracy))) or not (
            -180 <= lon <= 180 and -90 <= lat <= 90 and accuracy >= 0
        ):
            cleaner.fail("points", _("第 %(n)d 个轨迹点经纬度或精度超出范围") % {"n": index + 1})
            break
        if not earliest <= at <= latest:
            cleaner.fail("points", _("第 %(n)d 个轨迹点的时间不在本次巡查之内") % {"n": index + 1})
            break
        parsed.append([round(lon, 6), round(lat, 6), int(at), round(accuracy, 1)])
    cleaner.done()
    track = list(run.track or [])
    if len(track) + len(parsed) > MAX_TRACK_POINTS:
        raise DomainError(_("本次巡查的轨迹点已达上限"), code="track_full")
    parsed.sort(key=lambda p: p[2])
    limit = max_accuracy_m()
    last_good = next((p for p in reversed(track) if p[3] <= limit), None)
    last_at = track[-1][2] if track else None
    added = 0.0
    for point in parsed:
        if last_at is not None and point[2] <= last_at:
            continue
        track.append(point)
        last_at = point[2]
        if point[3] > limit:
            continue
        if last_good is None:
            last_good = point
            continue
        leg = haversine_m(last_good[0], last_good[1], point[0], point[1])
        # A leg faster than anyone walks or rides in a grid is a GPS jump: kept in the
        # track as the phone sent it, left out of the distance.
        if leg > MAX_SPEED_MPS * max(point[2] - last_good[2], 1):
            continue
        added += leg
        last_good = point
    run.track = track
    run.distance_m = round(run.distance_m + added, 1)
    run.save(update_fields=["track", "distance_m"])
    return run


@transaction.atomic
def finish_run(*, actor, run: PatrolRun, note: str = "", now: datetime | None = None):
    run = _locked_run(run)
    require(actor, Capability.EDIT, run.region)
    _walker_only(actor, run)
    _walking(run)
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=False, max_length=2000)
    cleaner.done()
    run.state = RunState.FINISHED
    run.finished_at = now or timezone.now()
    run.note = note
    _recount(run)
    run.save(update_fields=["state", "finished_at", "note", "points_checked"])
    return run


@transaction.atomic
def abandon_run(*, actor, run: PatrolRun, note: str = "", now: datetime | None = None):
    """Stop a run without finishing it: by the walker, or by the station (EDIT over the
    township) for a run left open. An abandoned run does not count as patrolled."""
    run = _locked_run(run)
    require(actor, Capability.EDIT, run.region)
    if actor is not None and run.walker_id != actor.pk and not may_supervise(actor, run.region):
        raise PermissionDenied(_("只有巡查人本人或应急管理站可以中止巡查"))
    _walking(run)
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=False, max_length=2000)
    cleaner.done()
    run.state = RunState.ABANDONED
    run.finished_at = now or timezone.now()
    run.note = note
    run.save(update_fields=["state", "finished_at", "note"])
    return run
