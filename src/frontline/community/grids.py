"""What a grid holds, read for the grid pages and the grid worker's day: figures per grid,
the objects inside a grid, its open items. Read-only; every query goes through the user's
scope.

An object belongs to a grid when its region is the grid (or below it) or, for objects filed
at the village level with a position (enterprises, places, devices, hazards), when that
position lies inside the grid's boundary: the seed's stations file a factory under its
village, yet the grid worker walks past it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.utils import timezone
from shapely.geometry import Point, shape

from frontline.community.models import (
    OPEN_CALL_STATES,
    Building,
    CommunityCall,
    FacilityStatus,
    GridPost,
    Household,
    PatrolPlan,
    PatrolRun,
    Resident,
    SafetyFacility,
)
from frontline.community.models.patrols import complete_runs
from frontline.core.models import Region, RegionLevel
from frontline.core.roles import Capability, can
from frontline.core.scoping import subtree_q

VISIT_EVERY_DAYS = 30


def grids_for(user):
    return Region.objects.visible_to(user).filter(level=RegionLevel.GRID).select_related("parent")


def can_see_residents(user, region: Region | None = None) -> bool:
    return can(user, Capability.VIEW_RESIDENTS, region)


# --- figures of many grids at once ---------------------------------------------------------


@dataclass
class GridFigures:
    buildings: int = 0
    households: int = 0
    residents: int = 0
    vulnerable: int = 0
    facilities: int = 0
    facilities_overdue: int = 0
    runs_today: int = 0
    rounds_today: int = 0
    open_calls: int = 0


def _counts(queryset, field: str = "region_id") -> Counter:
    return Counter(
        {row[field]: row["n"] for row in queryset.values(field).annotate(n=Count("pk")).order_by()}
    )


def figures_of(grids: list[Region], *, with_residents: bool, today: date | None = None) -> dict:
    """{grid id: GridFigures}: one grouped query per figure, whatever the number of grids.
    The grids come from the caller's scoped query; what lies in them is in that scope."""
    today = today or timezone.localdate()
    ids = [grid.pk for grid in grids]
    buildings = _counts(Building.objects.filter(region_id__in=ids))
    households = _counts(Household.objects.filter(region_id__in=ids))
    facilities = SafetyFacility.objects.filter(region_id__in=ids).exclude(
        status=FacilityStatus.RETIRED
    )
    all_facilities = _counts(facilities)
    overdue = _counts(facilities.filter(next_check_due__lt=today))
    runs = _counts(PatrolRun.objects.filter(complete_runs(), region_id__in=ids, day=today))
    calls = _counts(CommunityCall.objects.filter(region_id__in=ids, state__in=OPEN_CALL_STATES))
    residents, vulnerable = Counter(), Counter()
    if with_residents:
        residents = _counts(Resident.objects.filter(region_id__in=ids))
        vulnerable = _counts(Resident.objects.filter(region_id__in=ids, is_vulnerable=True))
    rounds = _rounds_due(ids)
    return {
        pk: GridFigures(
            buildings=buildings[pk],
            households=households[pk],
            residents=residents[pk],
            vulnerable=vulnerable[pk],
            facilities=all_facilities[pk],
            facilities_overdue=overdue[pk],
            runs_today=runs[pk],
            rounds_today=rounds[pk],
            open_calls=calls[pk],
        )
        for pk in ids
    }


def _rounds_due(grid_ids: list[int]) -> Counter:
    due: Counter = Counter()
    plans = PatrolPlan.objects.filter(region_id__in=grid_ids, is_active=True)
    for region_id, rounds in plans.values_list("region_id", "rounds"):
        due[region_id] += len(rounds or [])
    return due


# --- one grid ------------------------------------------------------------------------------


def inside(queryset, grid: Region, *, limit: int = 200) -> list:
    """Objects of `queryset` (already scoped) filed in the grid, or filed above it with a
    position inside its boundary. At most `limit`."""
    in_grid = subtree_q("region__path", [grid.path])
    if grid.boundary is None or grid.min_lon is None:
        return list(queryset.filter(in_grid)[:limit])
    near = Q(
        lon__gte=grid.min_lon,
        lon__lte=grid.max_lon,
        lat__gte=grid.min_lat,
        lat__lte=grid.max_lat,
        region__path__lt=grid.path,
    )
    polygon = shape(grid.boundary)
    found = []
    for obj in queryset.filter(in_grid | near).select_related("region")[: limit * 3]:
        if obj.region.path.startswith(grid.path) or polygon.contains(Point(obj.lon, obj.lat)):
            found.append(obj)
            if len(found) == limit:
                break
    return found


def grid_people(grid: Region) -> dict[str, list[GridPost]]:
    """Active posts by role, people loaded."""
    posts = (
        GridPost.objects.filter(region=grid, ended_on__isnull=True)
        .select_related("person__user")
        .order_by("role", "person__name")
    )
    grouped: dict[str, list[GridPost]] = {}
    for post in posts:
        grouped.setdefault(post.role, []).append(post)
    return grouped


def overdue_facilities_in(user, grids, today: date | None = None):
    today = today or timezone.localdate()
    return (
        SafetyFacility.objects.visible_to(user)
        .filter(region__in=grids, next_check_due__lt=today)
        .exclude(status=FacilityStatus.RETIRED)
        .select_related("region")
        .order_by("next_check_due", "id")
    )


def residents_to_visit(user, grids, today: date | None = None):
    """Vulnerable residents of these grids not visited for VISIT_EVERY_DAYS, the longest
    waiting first; only for a user who may see the roll."""
    if not can_see_residents(user):
        return Resident.objects.none()
    today = today or timezone.localdate()
    since = timezone.make_aware(datetime.combine(today - timedelta(days=VISIT_EVERY_DAYS), time()))
    return (
        Resident.objects.visible_to(user)
        .filter(region__in=grids, is_vulnerable=True)
        .filter(Q(last_visited_at__isnull=True) | Q(last_visited_at__lt=since))
        .select_related("household", "helper")
        .order_by("last_visited_at", "id")
    )


def my_grids(user) -> list[Region]:
    """The grids of the user's grid-worker assignments (and the grids below a village
    assignment), in code order."""
    from frontline.core.scoping import active_assignments

    paths = [a.region.path for a in active_assignments(user) if a.role == "grid_worker"]
    if not paths:
        return []
    return list(
        Region.objects.filter(subtree_q("path", paths), level=RegionLevel.GRID).order_by("code")
    )
