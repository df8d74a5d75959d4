"""The community calls of the demo, run on the test world (its township is the home one)."""

import itertools
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from shapely.geometry import shape

from frontline.community import demo_calls
from frontline.community.demo_calls import generate_calls
from frontline.community.models import CallState, CommunityCall, CommunityCallEvent
from frontline.community.services import calls_rules as rules
from frontline.community.services.calls_people import visible_calls
from frontline.community.testing import make_department
from frontline.community.tests.test_calls import make_liaison
from frontline.core.demo.framework import SCALES, DemoContext, make_rngs
from frontline.core.models import (
    OrganizationKind,
    Region,
    SupervisedTask,
    SupervisedTaskEvent,
    TaskState,
)

# The task state each call state leaves (the call services keep them in step).
TASK_STATE = {
    CallState.CALLED: {TaskState.ASSIGNED},
    CallState.ON_SITE: {TaskState.ON_SITE, TaskState.RETURNED},
    CallState.FIXED: {TaskState.DONE},
    CallState.CLOSED: {TaskState.VERIFIED},
    CallState.WITHDRAWN: {TaskState.VERIFIED},
}


class Plan:
    def __init__(self, region):
        self.polygon = shape(region.boundary)


@pytest.fixture
def ctx(world, monkeypatch):
    monkeypatch.setattr(demo_calls, "CALLS_TARGET", 120)
    rng, np_rng = make_rngs(7, "community.calls")
    regions = {r.code: r for r in Region.objects.select_related("parent")}
    return DemoContext(
        scale=SCALES["district"],
        seed=7,
        rng=rng,
        np_rng=np_rng,
        state={"regions": regions, "plans": {code: Plan(r) for code, r in regions.items()}},
        counts=Counter(),
    )


@pytest.fixture
def units(world):
    """The departments a grid of the test world may call, each with a liaison."""
    made = [
        make_department(world.township, "柯岩派出所"),
        make_department(world.township, "柯岩水利站"),
        make_department(world.county, "柯桥区住房和城乡建设局"),
        make_department(world.county, "柯桥区消防救援大队", kind=OrganizationKind.FIRE_BRIGADE),
        make_department(world.township, "柯岩街道办事处", kind=OrganizationKind.GOVERNMENT),
        make_department(world.sibling_township, "安昌派出所"),  # not on the grid's branch
    ]
    for index, unit in enumerate(made):
        make_liaison(unit, unit.region, f"liaison{index}")
    return made


def test_demo_calls_cover_every_state_with_tasks_in_step(ctx, world, units):
    generate_calls(ctx)
    calls = list(CommunityCall.objects.select_related("task", "department", "region"))
    assert len(calls) == 120 == ctx.counts["community_calls"]
    states = Counter(c.state for c in calls)
    assert set(states) == set(CallState.values), states
    assert states[CallState.CLOSED] > len(calls) / 2
    # Raised by the grid worker of the grid, to departments on the grid's branch.
    assert {c.raised_by_id for c in calls} == {world.grid_worker.pk}
    assert {c.region_id for c in calls} == {world.grid.pk}
    assert all(c.department.region.path in c.region.path for c in calls)
    assert units[-1].pk not in {c.department_id for c in calls}
    # Each with its supervised task, in the state the call's steps leave it.
    for call in calls:
        task = call.task
        assert task is not None and task.subject_id == str(call.pk)
        assert task.state in TASK_STATE[call.state], (call.number, call.state, task.state)
        assert task.assignee_organization_id == call.department_id
        assert task.respond_by == call.arrive_by and task.created_at == call.raised_at
    assert SupervisedTask.objects.count() == len(calls)
    assert SupervisedTaskEvent.objects.filter(kind="assigned").count() == len(calls)


def test_demo_call_times_are_ordered_and_numbers_unique(ctx, world, units):
    generate_calls(ctx)
    now = timezone.now()
    calls = list(CommunityCall.objects.all())
    for call in calls:
        times = [call.raised_at, call.arrived_at, call.fixed_at, call.closed_at]
        known = [t for t in times if t is not None]
        assert known == sorted(known) and known[-1] <= now, call.number
        assert call.raised_at > now - timedelta(days=demo_calls.DAYS + 1)
        assert call.arrive_by == call.raised_at + rules.arrive_limit(call.category)
        assert call.fix_by == call.raised_at + rules.fix_limit(call.category)
        if call.state == CallState.CLOSED:
            assert call.arrived_at and call.fixed_at and 1 <= call.rating <= 5
            if call.rating <= 2:
                assert call.rating_note
        if call.state == CallState.WITHDRAWN:
            assert call.arrived_at is None and call.closed_at
        if call.state == CallState.CALLED:
            assert call.arrived_at is None and call.closed_at is None
    numbers = [c.number for c in calls]
    assert len(set(numbers)) == len(numbers)
    year = timezone.localtime(min(c.raised_at for c in calls)).year
    first = min(calls, key=lambda c: (c.raised_at, c.pk))
    assert first.number == f"HJ-{world.grid.code}-{year}-00001"
    tasks = list(SupervisedTask.objects.values_list("number", flat=True))
    assert len(set(tasks)) == len(tasks) and all(n.startswith("DB-") for n in tasks)


def test_demo_call_timelines_follow_the_loop_and_the_sweep(ctx, world, units):
    generate_calls(ctx)
    now = timezone.now()
    calls = list(CommunityCall.objects.prefetch_related("events"))
    overdue = [c for c in calls if rules.is_overdue(c, now)]
    assert overdue, "some open calls are overdue"
    for call in overdue:
        # Late by less than two intervals: escalated once or twice, next look in the future.
        assert call.escalation_level in (1, 2), call.number
        assert call.next_escalation_at > now
    escalated = Counter(c.escalation_level for c in calls)
    assert escalated[1] and escalated[2]
    for call in calls:
        events = sorted(call.events.all(), key=lambda e: (e.at, e.pk))
        assert events[0].kind == "called" and events[0].data["task"] == call.task.number
        assert [e.at for e in events] == sorted(e.at for e in events)
        steps = [e for e in events if e.kind != "escalated"]
        for before, after in itertools.pairwise(steps):
            assert after.from_state == before.to_state, call.number
        assert steps[-1].to_state == call.state
        levels = [e.data["level"] for e in events if e.kind == "escalated"]
        assert levels == list(range(1, call.escalation_level + 1))
        if call.state in (CallState.FIXED, CallState.CLOSED, CallState.WITHDRAWN):
            assert call.next_escalation_at is None
    assert CommunityCallEvent.objects.filter(kind="rejected").exists()
    # The sweep, run now, finds nothing due: the stored looks are in the future.
    from frontline.community.services.calls_escalation import escalate_overdue_calls

    assert escalate_overdue_calls(now)["escalated"] == 0


def test_demo_calls_are_scoped_like_the_services_say(ctx, world, units):
    generate_calls(ctx)
    assert visible_calls(world.same).count() == CommunityCall.objects.count()
    assert not visible_calls(world.sibling).exists()
    assert not visible_calls(world.outsider).exists()
