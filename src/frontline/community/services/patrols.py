"""Patrol plans (巡查计划) and their checkpoints, the rounds of a day, and who may supervise.

This is the ground the other patrol services stand on: a plan's rounds decide which round a
run belongs to and whether it started on time (`patrol_runs`, `patrol_coverage`), and
`may_supervise` decides who sees other people's tracks and may stop a forgotten run (the
run page, the API and the map layers). Walking a plan is in `patrol_runs`, findings in
`patrol_findings`, the day's coverage and punctuality in `patrol_coverage`.
"""

from __future__ import annotations

import itertools
import math
import re
from datetime import datetime, time

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.community.models import (
    Building,
    Checkpoint,
    PatrolPlan,
    PatrolRun,
    SafetyFacility,
)
from frontline.community.models.patrols import default_rounds
from frontline.core.models import Region, RegionLevel
from frontline.core.models.regions import LEVEL_ORDER
from frontline.core.roles import Capability, Role
from frontline.core.scoping import active_assignments
from frontline.core.services.validation import Cleaner, require

MAX_ROUNDS = 6
MAX_CHECKPOINTS = 100
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


# --- who may do what ------------------------------------------------------------------------


# Who supervises patrols: the station and the county. A department liaison also edits
# business data of the township (their calls), but another person's track is not theirs.
SUPERVISING_ROLES = frozenset({Role.COUNTY_ADMIN, Role.STATION_CHIEF, Role.STATION_STAFF})


def may_supervise(user, region: Region) -> bool:
    """A station or county role over the grid's township or above. They see other people's
    tracks and may abandon a forgotten run; a grid worker sees their own track."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser and getattr(user, "_frontline_token", None) is None:
        return True
    township = LEVEL_ORDER.index(RegionLevel.TOWNSHIP)
    for assignment in active_assignments(user):
        if assignment.role not in SUPERVISING_ROLES:
            continue
        if not region.path.startswith(assignment.region.path):
            continue
        if LEVEL_ORDER.index(RegionLevel(assignment.region.level)) <= township:
            return True
    return False


def may_walk(user, region: Region) -> bool:
    """Who may start a patrol of a grid: its grid worker, or the station and county (who
    sometimes walk a grid themselves)."""
    for assignment in active_assignments(user):
        if assignment.role == Role.GRID_WORKER and region.path.startswith(assignment.region.path):
            return True
    return may_supervise(user, region)


def may_see_track(user, run: PatrolRun) -> bool:
    return run.walker_id == getattr(user, "pk", None) or may_supervise(user, run.region)


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


# --- lookups for the plan editor ------------------------------------------------------------


def building_or_none(user, pk) -> Building | None:
    if not pk:
        return None
    return Building.objects.visible_to(user).filter(pk=pk).first()


def facility_or_none(user, pk) -> SafetyFacility | None:
    if not pk:
        return None
    return SafetyFacility.objects.visible_to(user).filter(pk=pk).first()
