"""The grid pages: every grid of the scope with its figures, one grid with its people,
buildings, places, facilities, devices and open items, and the grid worker's day on the
phone."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from frontline.community import grids as queries
from frontline.community.models import (
    OPEN_CALL_STATES,
    Building,
    CommunityCall,
    FacilityStatus,
    GridRole,
    PatrolPlan,
    PatrolRun,
    RunState,
    SafetyFacility,
)
from frontline.core.models import Region, RegionLevel
from frontline.core.models.supervision import OPEN_STATES as OPEN_TASK_STATES
from frontline.core.services.supervision import assigned_to_q, visible_tasks
from frontline.core.views.common import paginate, scoped_object_or_404
from frontline.hazards.models import Enterprise, Hazard, Place
from frontline.hazards.models.hazards import OPEN_HAZARD_STATES
from frontline.monitoring.models import OPEN_ALARM_STATES, Alarm, Device, DeviceStatus


@login_required
def grid_list(request):
    user = request.user
    grids = queries.grids_for(user).order_by("code")
    search = request.GET.get("q", "").strip()
    if search:
        grids = grids.filter(Q(name__contains=search) | Q(code__startswith=search))
    page = paginate(request, grids)
    with_residents = queries.can_see_residents(user)
    figures = queries.figures_of(list(page.object_list), with_residents=with_residents)
    rows = [(grid, figures[grid.pk]) for grid in page.object_list]
    not_patrolled = sum(1 for _grid, f in rows if f.rounds_today and not f.runs_today)
    return render(
        request,
        "community/grids/list.html",
        {
            "page": page,
            "rows": rows,
            "search": search,
            "with_residents": with_residents,
            "not_patrolled": not_patrolled,
        },
    )


def _grid_or_404(user, code: str) -> Region:
    grid = scoped_object_or_404(user, Region.objects.select_related("parent__parent"), code=code)
    if grid.level != RegionLevel.GRID:
        raise Http404
    return grid


@login_required
def grid_detail(request, code: str):
    user = request.user
    grid = _grid_or_404(user, code)
    with_residents = queries.can_see_residents(user, grid)
    figures = queries.figures_of([grid], with_residents=with_residents)[grid.pk]
    today = timezone.localdate()
    devices = queries.inside(Device.objects.visible_to(user), grid)
    device_status = {status: 0 for status in DeviceStatus.values}
    for device in devices:
        device_status[device.status] += 1
    context = {
        "grid": grid,
        "figures": figures,
        "with_residents": with_residents,
        "people": [
            (GridRole(role).label, posts) for role, posts in queries.grid_people(grid).items()
        ],
        "buildings": Building.objects.visible_to(user).filter(region=grid).order_by("name")[:20],
        "enterprises": queries.inside(Enterprise.objects.visible_to(user), grid, limit=50),
        "places": queries.inside(Place.objects.visible_to(user), grid, limit=50),
        "overdue": queries.overdue_facilities_in(user, [grid], today)[:20],
        "facility_kinds": _facility_kinds(user, grid),
        "devices": devices[:50],
        "device_status": [(DeviceStatus(s).label, s, n) for s, n in device_status.items()],
        "hazards": [
            h
            for h in queries.inside(
                Hazard.objects.visible_to(user).filter(state__in=OPEN_HAZARD_STATES), grid
            )
        ][:20],
        "alarms": Alarm.objects.visible_to(user)
        .filter(device__in=[d.pk for d in devices], state__in=OPEN_ALARM_STATES)
        .select_related("device")[:20],
        "calls": CommunityCall.objects.visible_to(user)
        .filter(region=grid, state__in=OPEN_CALL_STATES)
        .select_related("department")[:20],
        "tasks": visible_tasks(user)
        .filter(region=grid, state__in=OPEN_TASK_STATES)
        .order_by("due_at")[:20],
        "runs": PatrolRun.objects.visible_to(user)
        .filter(region=grid, day=today)
        .select_related("walker__person", "plan")
        .order_by("started_at"),
    }
    return render(request, "community/grids/detail.html", context)


def _facility_kinds(user, grid) -> list[tuple[str, int, int]]:
    """(kind label, count, of which not in order) for the grid."""
    rows: dict[str, list[int]] = {}
    facilities = SafetyFacility.objects.visible_to(user).filter(region=grid)
    for facility in facilities.exclude(status=FacilityStatus.RETIRED).only("kind", "status"):
        row = rows.setdefault(facility.get_kind_display(), [0, 0])
        row[0] += 1
        row[1] += facility.status != FacilityStatus.NORMAL
    return [(label, total, bad) for label, (total, bad) in sorted(rows.items())]


@login_required
def my_day(request):
    """The grid worker's day, for the phone: today's patrol, the vulnerable people waiting
    for a visit, my tasks and calls, the facilities overdue for a check, and the buttons to
    report something."""
    user = request.user
    grids = queries.my_grids(user)
    today = timezone.localdate()
    plans = list(
        PatrolPlan.objects.visible_to(user)
        .filter(region__in=grids, is_active=True)
        .select_related("region")
        .order_by("region__code", "name")
    )
    runs = list(
        PatrolRun.objects.visible_to(user)
        .filter(walker=user, day=today)
        .select_related("plan")
        .order_by("started_at")
    )
    rounds_due = sum(plan.rounds_per_day for plan in plans)
    rounds_done = min(rounds_due, sum(1 for run in runs if run.is_complete))
    walking = next((run for run in runs if run.state == RunState.WALKING), None)
    to_visit = queries.residents_to_visit(user, grids, today)
    tasks = (
        visible_tasks(user)
        .filter(assigned_to_q(user), state__in=OPEN_TASK_STATES)
        .order_by("due_at")[:20]
    )
    calls = (
        CommunityCall.objects.visible_to(user)
        .filter(raised_by=user, state__in=OPEN_CALL_STATES)
        .select_related("department")
        .order_by("fix_by")[:20]
    )
    context = {
        "grids": grids,
        "plans": plans,
        "runs": runs,
        "walking": walking,
        "rounds_due": rounds_due,
        "rounds_done": min(rounds_done, rounds_due),
        "rounds_percent": round(100 * min(rounds_done, rounds_due) / rounds_due)
        if rounds_due
        else 0,
        "to_visit": to_visit[:20],
        "to_visit_count": to_visit.count(),
        "tasks": tasks,
        "calls": calls,
        "overdue": queries.overdue_facilities_in(user, grids, today)[:20],
        "today": today,
    }
    return render(request, "community/grids/my_day.html", context)
