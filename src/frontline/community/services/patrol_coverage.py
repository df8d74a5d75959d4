"""Patrol coverage (巡查覆盖) and punctuality (准时率): which grids were patrolled on a day,
rounds done against due, and how punctual each grid worker is over a period.

The figures behind the coverage page and /api/v1/patrol/coverage; each uses a constant
number of queries. The rules are in docs/community-patrols.md (Rounds and punctuality).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from frontline.community.models import PatrolPlan, PatrolRun
from frontline.community.models.patrols import RunState
from frontline.community.services.patrols import started_in_window
from frontline.core.models import Region, RegionLevel


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
        """At least one round walked in full (see models.patrols.complete_runs)."""
        return self.rounds_done > 0

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
        .values_list("region_id", "plan_id", "round", "state", "points_checked", "points_total")
    )
    for region_id, plan_id, number, state, checked, total in runs:
        row = rows.get(region_id)
        if row is None:
            continue
        if state == RunState.FINISHED:
            row.finished_runs += 1
            if checked >= total:  # see models.patrols.complete_runs
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
