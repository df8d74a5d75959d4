"""Patrols (网格巡查): plans with checkpoints, runs walked on the phone, check-ins by GPS or QR,
track points, findings handed on as a hazard report or a community call, and coverage.

A check-in is never silently accepted: a position beyond the checkpoint's radius, a position
whose accuracy is worse than the limit (settings.PATROL_MAX_ACCURACY_M, default 50 m) and a
check-in without any position are stored and flagged; only `ok` check-ins count in
`points_checked`.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.community.models import (
    Building,
    Checkpoint,
    PatrolCheckIn,
    PatrolFinding,
    PatrolPlan,
    PatrolRun,
    SafetyFacility,
)
from frontline.community.models.patrols import (
    CheckInFlag,
    CheckInMethod,
    RunState,
    default_rounds,
)
from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.models import Region, RegionLevel
from frontline.core.models.regions import LEVEL_ORDER
from frontline.core.roles import ROLE_CAPABILITIES, Capability
from frontline.core.scoping import active_assignments
from frontline.core.services.validation import Cleaner, require

DEFAULT_MAX_ACCURACY_M = 50
MAX_ROUNDS = 6
MAX_CHECKPOINTS = 100
MAX_TRACK_POINTS_PER_CALL = 500
MAX_TRACK_POINTS = 20_000
EARTH_RADIUS_M = 6_371_008.8
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def max_accuracy_m() -> float:
    return float(getattr(settings, "PATROL_MAX_ACCURACY_M", DEFAULT_MAX_ACCURACY_M))


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


# --- who may do what ------------------------------------------------------------------------


def may_supervise(user, region: Region) -> bool:
    """EDIT over the grid's township or above: the station and the county. They see other
    people's tracks and may abandon a forgotten run; a grid worker sees their own track."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser and getattr(user, "_frontline_token", None) is None:
        return True
    township = LEVEL_ORDER.index(RegionLevel.TOWNSHIP)
    for assignment in active_assignments(user):
        if Capability.EDIT not in ROLE_CAPABILITIES.get(assignment.role, ()):
            continue
        if not region.path.startswith(assignment.region.path):
            continue
        if LEVEL_ORDER.index(RegionLevel(assignment.region.level)) <= township:
            return True
    return False


def may_see_track(user, run: PatrolRun) -> bool:
    return run.walker_id == getattr(user, "pk", None) or may_supervise(user, run.region)


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


# --- rounds ---------------------------------------------------------------------------------


def _parse_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def round_windows(plan: PatrolPlan) -> list[tuple[time, time]]:
    return [(_parse_time(start), _parse_time(end)) for start, end in plan.rounds or []]


def round_at(plan: PatrolPlan, moment: datetime) -> tuple[int, bool]:
    """(round number from 1, whether `moment` lies inside that round's window).

    Inside a window: that round. Between or after windows: the last round that has begun
    (a late round). Before the first window: round 1 (early)."""
    local = timezone.localtime(moment).time()
    windows = round_windows(plan)
    if not windows:
        return 1, True
    chosen = 1
    for number, (start, end) in enumerate(windows, start=1):
        if start <= local < end:
            return number, True
        if start <= local:
            chosen = number
    return chosen, False


def started_in_window(run: PatrolRun, plan: PatrolPlan | None = None) -> bool:
    windows = round_windows(plan or run.plan)
    if not 1 <= run.round <= len(windows):
        return False
    start, end = windows[run.round - 1]
    local = timezone.localtime(run.started_at)
    return local.date() == run.day and start <= local.time() < end


# --- plans ----------------------------------------------------------------------------------


def _clean_rounds(cleaner: Cleaner, rounds) -> list[list[str]]:
    if not isinstance(rounds, (list, tuple)) or not rounds:
        cleaner.fail("rounds", _("至少设置一个巡查时段"))
        return []
    if len(rounds) > MAX_ROUNDS:
        cleaner.fail("rounds", _("每天最多 %(n)d 个巡查时段") % {"n": MAX_ROUNDS})
        return []
    cleaned: list[list[str]] = []
    for pair in rounds:
        if (
            not isinstance(pair, (list, tuple))
            or len(pair) != 2
            or not all(isinstance(v, str) and _HHMM.match(v.strip()) for v in pair)
        ):
            cleaner.fail("rounds", _("时段格式应为 08:00-12:00"))
            return []
        start, end = pair[0].strip(), pair[1].strip()
        if start >= end:
            cleaner.fail("rounds", _("时段的结束时间应晚于开始时间"))
            return []
        cleaned.append([start, end])
    cleaned.sort()
    for previous, following in itertools.pairwise(cleaned):
        if following[0] < previous[1]:
            cleaner.fail("rounds", _("巡查时段不能重叠"))
            return []
    return cleaned


def _clean_point(cleaner: Cleaner, lon, lat, field_name: str, *, required: bool) -> bool:
    if lon is None and lat is None:
        if required:
            cleaner.fail(field_name, _("请填写经纬度"))
        return False
    if lon is None or lat is None:
        cleaner.fail(field_name, _("经度和纬度需同时填写"))
        return False
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        cleaner.fail(field_name, _("经纬度应为数字"))
        return False
    if not (math.isfinite(lon) and math.isfinite(lat)) or not (
        -180 <= lon <= 180 and -90 <= lat <= 90
    ):
        cleaner.fail(field_name, _("经纬度超出范围"))
        return False
    return True


def _clean_checkpoints(cleaner: Cleaner, region: Region, checkpoints, existing: dict) -> list:
    if not isinstance(checkpoints, (list, tuple)) or not checkpoints:
        cleaner.fail("checkpoints", _("至少设置一个巡查点位"))
        return []
    if len(checkpoints) > MAX_CHECKPOINTS:
        cleaner.fail("checkpoints", _("最多 %(n)d 个点位") % {"n": MAX_CHECKPOINTS})
        return []
    cleaned = []
    for index, raw in enumerate(checkpoints):
        prefix = f"checkpoints.{index}"
        item = dict(raw)
        pk = item.get("id")
        if pk is not None and pk not in existing:
            cleaner.fail(f"{prefix}.id", _("点位不属于本计划"))
        name = cleaner.text(item.get("name"), f"{prefix}.name", required=True, max_length=120)
        lon, lat = item.get("lon"), item.get("lat")
        if _clean_point(cleaner, lon, lat, f"{prefix}.lon", required=True):
            lon, lat = float(lon), float(lat)
        radius = item.get("radius_m", 50)
        try:
            radius = int(radius)
        except (TypeError, ValueError):
            radius = -1
        if not 5 <= radius <= 1000:
            cleaner.fail(f"{prefix}.radius_m", _("打卡半径应在 5 到 1000 米之间"))
        building = item.get("building")
        facility = item.get("facility")
        for key, obj in (("building", building), ("facility", facility)):
            if obj is not None and not obj.region.path.startswith(region.path):
                cleaner.fail(f"{prefix}.{key}", _("不在本网格之内"))
        cleaned.append(
            {
                "id": pk,
                "name": name,
                "lon": lon,
                "lat": lat,
                "radius_m": radius,
                "building": building,
                "facility": facility,
            }
        )
    return cleaned


def _save_checkpoints(plan: PatrolPlan, cleaned: list, existing: dict) -> None:
    kept = set()
    for order, item in enumerate(cleaned):
        checkpoint = existing.get(item["id"]) or Checkpoint(plan=plan)
        checkpoint.order = order
        checkpoint.name = item["name"]
        checkpoint.lon = item["lon"]
        checkpoint.lat = item["lat"]
        checkpoint.radius_m = item["radius_m"]
        checkpoint.building = item["building"]
        checkpoint.facility = item["facility"]
        checkpoint.save()
        kept.add(checkpoint.pk)
    # A removed point's check-ins stay (their checkpoint becomes empty); its plate is void.
    Checkpoint.objects.filter(plan=plan).exclude(pk__in=kept).delete()


@transaction.atomic
def create_plan(
    *,
    actor,
    region: Region,
    name: str,
    checkpoints: list[dict],
    rounds=None,
    is_active: bool = True,
) -> PatrolPlan:
    """A patrol plan for one grid. `checkpoints`: dicts of name, lon, lat, radius_m (default
    50), building, facility (objects or None). `rounds`: local windows [["08:00", "12:00"],
    ...] (default twice a day)."""
    require(actor, Capability.EDIT, region)
    rounds = default_rounds() if rounds is None else rounds
    cleaner = Cleaner()
    if region.level != RegionLevel.GRID:
        cleaner.fail("region", _("巡查计划应建在网格上"))
    name = cleaner.text(name, "name", required=True, max_length=120)
    rounds = _clean_rounds(cleaner, [list(r) for r in rounds] if rounds else rounds)
    cleaned = _clean_checkpoints(cleaner, region, checkpoints, {})
    cleaner.done()
    plan = PatrolPlan.objects.create(
        region=region,
        name=name,
        rounds=rounds,
        is_active=is_active,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    _save_checkpoints(plan, cleaned, {})
    return plan


@transaction.atomic
def update_plan(
    *,
    actor,
    plan: PatrolPlan,
    name: str,
    checkpoints: list[dict],
    rounds=None,
    is_active: bool = True,
) -> PatrolPlan:
    """Replace the plan's fields and checkpoints. A checkpoint dict with the `id` of an
    existing checkpoint updates it (its QR plate stays valid); one without adds a point;
    existing points not listed are removed."""
    plan = PatrolPlan.objects.select_for_update().select_related("region").get(pk=plan.pk)
    require(actor, Capability.EDIT, plan.region)
    existing = {c.pk: c for c in Checkpoint.objects.filter(plan=plan)}
    rounds = plan.rounds if rounds is None else rounds
    cleaner = Cleaner()
    name = cleaner.text(name, "name", required=True, max_length=120)
    rounds = _clean_rounds(cleaner, [list(r) for r in rounds] if rounds else rounds)
    cleaned = _clean_checkpoints(cleaner, plan.region, checkpoints, existing)
    cleaner.done()
    plan.name = name
    plan.rounds = rounds
    plan.is_active = is_active
    plan.save()
    _save_checkpoints(plan, cleaned, existing)
    return plan


# --- runs -----------------------------------------------------------------------------------


@transaction.atomic
def start_run(*, actor, plan: PatrolPlan, now: datetime | None = None) -> PatrolRun:
    """Start walking `plan` now: the round is the window the moment lies in (or the last one
    begun, when late). One walking run per walker at a time."""
    require(actor, Capability.EDIT, plan.region)
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


@transaction.atomic
def add_track(*, actor, run: PatrolRun, points: list) -> PatrolRun:
    """Append track points [[lon, lat, epoch seconds, accuracy m], ...] to a walking run.

    All points are checked first (nothing is stored when one is wrong). Points not later
    than the last stored one are skipped, so a resent batch is stored once. The distance
    adds the legs between points whose accuracy is within the limit."""
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
        if point[3] <= limit:
            if last_good is not None:
                added += haversine_m(last_good[0], last_good[1], point[0], point[1])
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


# --- findings -------------------------------------------------------------------------------


@transaction.atomic
def record_finding(
    *,
    actor,
    run: PatrolRun,
    note: str,
    lon: float | None = None,
    lat: float | None = None,
    check_in: PatrolCheckIn | None = None,
    photo=None,
) -> PatrolFinding:
    run = _locked_run(run)
    require(actor, Capability.EDIT, run.region)
    _walker_only(actor, run)
    _walking(run)
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=True, max_length=2000)
    if _clean_point(cleaner, lon, lat, "lon", required=False):
        lon, lat = float(lon), float(lat)
    else:
        lon = lat = None
    if check_in is not None and check_in.run_id != run.pk:
        cleaner.fail("check_in", _("打卡不属于本次巡查"))
    cleaner.done()
    if lon is None and check_in is not None and check_in.lon is not None:
        lon, lat = check_in.lon, check_in.lat
    finding = PatrolFinding.objects.create(
        run=run, check_in=check_in, region=run.region, note=note, lon=lon, lat=lat
    )
    if photo is not None:
        from frontline.core.services.attachments import attach_file

        attach_file(actor=actor, owner=finding, uploaded_file=photo, note=_("巡查发现照片"))
    return finding


def _locked_finding(finding: PatrolFinding) -> PatrolFinding:
    finding = (
        PatrolFinding.objects.select_for_update().select_related("region", "run").get(pk=finding.pk)
    )
    if finding.is_handed_on:
        raise DomainError(_("该发现已转为隐患或社区呼叫"), code="finding_handed_on")
    return finding


def _title_of(note: str) -> str:
    first = note.strip().splitlines()[0] if note.strip() else ""
    return first[:60] or _("巡查发现")


def _copy_photos(actor, finding: PatrolFinding, owner) -> None:
    from django.core.files import File

    from frontline.core.services.attachments import attach_file, attachments_of

    for attachment in attachments_of(finding).order_by("id"):
        with attachment.file.open("rb") as stored:
            attach_file(
                actor=actor,
                owner=owner,
                uploaded_file=File(stored, name=attachment.original_name),
                note=attachment.note,
            )


@transaction.atomic
def finding_to_hazard(*, actor, finding: PatrolFinding, title: str = "", source: str = "patrol"):
    """Hand the finding on as a hazard report (发现) in the run's grid, with its position and
    photos. Once only."""
    from frontline.hazards.services import report_hazard

    finding = _locked_finding(finding)
    hazard = report_hazard(
        actor=actor,
        region=finding.region,
        title=(title or "").strip() or _title_of(finding.note),
        description=finding.note,
        source=source,
        lon=finding.lon,
        lat=finding.lat,
    )
    _copy_photos(actor, finding, hazard)
    finding.hazard = hazard
    finding.save(update_fields=["hazard"])
    return hazard


@transaction.atomic
def finding_to_call(
    *, actor, finding: PatrolFinding, category: str, department, title: str = "", address=""
):
    """Hand the finding on as a community call (社区呼叫) to a department. Once only."""
    from frontline.community.services.calls import raise_call

    finding = _locked_finding(finding)
    building = None
    if finding.check_in_id and finding.check_in.checkpoint_id:
        building = finding.check_in.checkpoint.building
    call = raise_call(
        actor=actor,
        region=finding.region,
        title=(title or "").strip() or _title_of(finding.note),
        category=category,
        department=department,
        description=finding.note,
        address=address,
        lon=finding.lon,
        lat=finding.lat,
        building=building,
    )
    _copy_photos(actor, finding, call)
    finding.call = call
    finding.save(update_fields=["call"])
    return call


# --- coverage -------------------------------------------------------------------------------


@dataclass
class GridCoverage:
    region: Region
    rounds_due: int = 0
    rounds_done: int = 0
    finished_runs: int = 0
    walking_runs: int = 0
    plans: int = 0

    @property
    def patrolled(self) -> bool:
        return self.finished_runs > 0

    @property
    def percent(self) -> int:
        if not self.rounds_due:
            return 0
        return min(100, round(100 * self.rounds_done / self.rounds_due))


@dataclass
class WalkerPunctuality:
    user_id: int
    name: str
    rounds_due: int = 0
    punctual: int = 0
    runs: int = 0
    grids: set = field(default_factory=set)

    @property
    def percent(self) -> int:
        if not self.rounds_due:
            return 0
        return min(100, round(100 * self.punctual / self.rounds_due))


def _plans_by_grid(user) -> dict[int, list[PatrolPlan]]:
    plans: dict[int, list[PatrolPlan]] = {}
    for plan in (
        PatrolPlan.objects.visible_to(user)
        .filter(is_active=True)
        .only("id", "region_id", "rounds", "name")
    ):
        plans.setdefault(plan.region_id, []).append(plan)
    return plans


def coverage_for_day(user, day: date) -> list[GridCoverage]:
    """Per visible grid for one local day: rounds due (the active plans' rounds), rounds
    done (distinct plan rounds with a finished run) and runs. Three queries."""
    grids = list(Region.objects.visible_to(user).filter(level=RegionLevel.GRID).order_by("code"))
    plans = _plans_by_grid(user)
    rows = {grid.pk: GridCoverage(region=grid) for grid in grids}
    for region_id, grid_plans in plans.items():
        row = rows.get(region_id)
        if row is not None:
            row.plans = len(grid_plans)
            row.rounds_due = sum(plan.rounds_per_day for plan in grid_plans)
    done: dict[int, set] = {}
    runs = (
        PatrolRun.objects.visible_to(user)
        .filter(day=day)
        .exclude(state=RunState.ABANDONED)
        .values_list("region_id", "plan_id", "round", "state")
    )
    for region_id, plan_id, number, state in runs:
        row = rows.get(region_id)
        if row is None:
            continue
        if state == RunState.FINISHED:
            row.finished_runs += 1
            done.setdefault(region_id, set()).add((plan_id, number))
        else:
            row.walking_runs += 1
    for region_id, pairs in done.items():
        rows[region_id].rounds_done = min(len(pairs), rows[region_id].rounds_due or len(pairs))
    return list(rows.values())


def punctuality(user, first: date, last: date) -> list[WalkerPunctuality]:
    """Per grid worker over [first, last]: rounds due in the grids they hold a grid-worker
    role for (or walked in), and rounds they started inside the round's window."""
    from frontline.core.models import RoleAssignment
    from frontline.core.roles import Role

    days = (last - first).days + 1
    plans = _plans_by_grid(user)
    plan_by_id = {plan.pk: plan for group in plans.values() for plan in group}
    walkers: dict[int, WalkerPunctuality] = {}

    def walker(user_id: int, name: str) -> WalkerPunctuality:
        row = walkers.get(user_id)
        if row is None:
            row = walkers[user_id] = WalkerPunctuality(user_id=user_id, name=name)
        return row

    grid_ids = set(
        Region.objects.visible_to(user).filter(level=RegionLevel.GRID).values_list("pk", flat=True)
    )
    assignments = RoleAssignment.objects.filter(
        role=Role.GRID_WORKER, revoked_at__isnull=True, region_id__in=grid_ids
    ).values_list("user_id", "user__person__name", "user__username", "region_id")
    for user_id, person_name, username, region_id in assignments:
        walker(user_id, person_name or username).grids.add(region_id)
    runs = (
        PatrolRun.objects.visible_to(user)
        .filter(day__gte=first, day__lte=last)
        .exclude(state=RunState.ABANDONED)
        .values_list(
            "walker_id",
            "walker__person__name",
            "walker__username",
            "region_id",
            "plan_id",
            "day",
            "round",
            "started_at",
        )
    )
    punctual: dict[int, set] = {}
    for walker_id, person_name, username, region_id, plan_id, day, number, started in runs:
        row = walker(walker_id, person_name or username)
        row.runs += 1
        row.grids.add(region_id)
        plan = plan_by_id.get(plan_id)
        if plan is None:
            continue
        probe = PatrolRun(plan=plan, day=day, round=number, started_at=started)
        if started_in_window(probe, plan):
            punctual.setdefault(walker_id, set()).add((plan_id, day, number))
    for row in walkers.values():
        row.rounds_due = days * sum(
            plan.rounds_per_day for grid in row.grids for plan in plans.get(grid, [])
        )
        row.punctual = min(len(punctual.get(row.user_id, ())), row.rounds_due)
    return sorted(walkers.values(), key=lambda r: (r.percent, r.name))


def call_departments(user, region: Region) -> list:
    """The departments a finding of `region` may be called to (the calls service decides:
    the grid's township and county departments, and those below in the user's scope)."""
    from frontline.community.services.calls import suggested_departments

    return suggested_departments(user, region)


def building_or_none(user, pk) -> Building | None:
    if not pk:
        return None
    return Building.objects.visible_to(user).filter(pk=pk).first()


def facility_or_none(user, pk) -> SafetyFacility | None:
    if not pk:
        return None
    return SafetyFacility.objects.visible_to(user).filter(pk=pk).first()
