"""The records a community call leaves, replayed for the demo (`demo_calls.py` decides how
each call went): its `CommunityCallEvent` timeline with the escalation sweep's escalations
between the steps, the department's supervised task in the state the steps leave it with its
own timeline, and the `HJ-…` / `DB-…` numbers by the services' rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from frontline.community.models import CallState, CommunityCall, CommunityCallEvent
from frontline.community.services.calls_rules import (
    URGENT_CATEGORIES,
    escalate_interval,
    rework_window,
)
from frontline.core.models import (
    SupervisedTask,
    SupervisedTaskEvent,
    TaskPriority,
    TaskState,
)
from frontline.core.services import supervision

ON_SITE_NOTES = ["已到场，正在核查情况", "已到场，设置警示并组织处置", "已到场报到", ""]
FIXED_NOTES = [
    "已督促整改完成，现场已恢复正常",
    "已完成维修并复查，隐患消除",
    "已清理完毕，并告知相关人员注意事项",
    "已依法处置并责令整改，复查合格",
]
REJECT_REASONS = ["现场复查仍未整改到位", "只做了临时处理，问题依旧", "整改照片与现场不符"]
WITHDRAW_REASONS = ["误报，现场核实无此情况", "已由网格员现场劝导解决", "重复呼叫，已合并处理"]


@dataclass
class Story:
    """How one call went: its final state and the times of its steps."""

    state: str
    raised_at: datetime
    arrived_at: datetime | None = None
    fixes: list[datetime] = field(default_factory=list)  # each report of a fix
    rejects: list[datetime] = field(default_factory=list)  # each fix sent back
    closed_at: datetime | None = None
    rating: int | None = None


def number_rows(rows, model, kind: str, key) -> None:
    """`<kind>-<region code>-<year>-<5 digits>`, per region and year in the order of the rows,
    after any number already there (the services' `save_with_number` rule)."""
    last: dict[str, int] = {}
    for number in model.objects.filter(number__startswith=f"{kind}-").values_list(
        "number", flat=True
    ):
        prefix, sequence = number.rsplit("-", 1)
        last[prefix] = max(last.get(prefix, 0), int(sequence))
    for row in rows:
        code, at = key(row)
        prefix = f"{kind}-{code}-{timezone.localtime(at).year}"
        last[prefix] = last.get(prefix, 0) + 1
        row.number = f"{prefix}-{last[prefix]:05d}"


# --- the call's timeline ---------------------------------------------------------------------


def call_timeline(
    call, story: Story, now: datetime, liaison, regions, rng
) -> list[CommunityCallEvent]:
    """The call's events in order, the sweep's escalations replayed between the steps; sets
    `escalation_level` and `next_escalation_at` as the sweep and the steps leave them."""
    township = regions.get(call.region.code[:9])
    county = regions.get(call.region.code[:6])
    interval = escalate_interval()
    events = [
        CommunityCallEvent(
            at=call.raised_at,
            actor=call.raised_by,
            kind="called",
            to_state=CallState.CALLED,
            note=call.description,
            data={
                "department": call.department.name,
                "arrive_by": call.arrive_by.isoformat(),
                "fix_by": call.fix_by.isoformat(),
            },
        )
    ]
    # The steps after raising, in time order: (at, kind, to_state, actor, note, data).
    steps = []
    if story.state == CallState.WITHDRAWN:
        steps.append(
            (
                story.closed_at,
                "withdrawn",
                CallState.WITHDRAWN,
                call.raised_by,
                rng.choice(WITHDRAW_REASONS),
                {},
            )
        )
    if story.arrived_at is not None:
        lon = round(call.lon + rng.uniform(-0.0002, 0.0002), 6) if call.lon else None
        lat = round(call.lat + rng.uniform(-0.0002, 0.0002), 6) if call.lat else None
        data = {"on_time": story.arrived_at <= call.arrive_by}
        if lon is not None:
            data.update(lon=lon, lat=lat)
        steps.append(
            (
                story.arrived_at,
                "on_site",
                CallState.ON_SITE,
                liaison,
                rng.choice(ON_SITE_NOTES),
                data,
            )
        )
    for index, fixed in enumerate(story.fixes):
        steps.append(
            (
                fixed,
                "fixed",
                CallState.FIXED,
                liaison,
                rng.choice(FIXED_NOTES),
                {"on_time": fixed <= call.fix_by},
            )
        )
        if index < len(story.rejects):
            steps.append(
                (
                    story.rejects[index],
                    "rejected",
                    CallState.ON_SITE,
                    call.raised_by,
                    rng.choice(REJECT_REASONS),
                    {},
                )
            )
    if story.state == CallState.CLOSED:
        steps.append(
            (
                story.closed_at,
                "closed",
                CallState.CLOSED,
                call.raised_by,
                call.rating_note,
                {"rating": call.rating},
            )
        )
    state = CallState.CALLED
    next_look = call.arrive_by
    level = 0
    for at, kind, to_state, actor, note, data in [*steps, (now, None, None, None, "", {})]:
        # The sweep: while the call is called or on site, it escalates at each look that
        # finds a deadline passed, and looks again one interval later.
        while next_look is not None and next_look < at and next_look <= now:
            late_arrival = state == CallState.CALLED and call.arrive_by <= next_look
            if not (late_arrival or call.fix_by <= next_look):
                break
            level += 1
            why = "超过报到时限未到场" if late_arrival else "超过整改时限未整改完成"
            reached = [township.name] if township else []
            if level >= 2 and county is not None:
                reached.append(county.name)
            events.append(
                CommunityCallEvent(
                    at=next_look,
                    kind="escalated",
                    from_state=state,
                    to_state=state,
                    note=f"{why}，第 {level} 次升级，已通报{'、'.join(reached)}",
                    data={"reason": "arrive" if late_arrival else "fix", "level": level},
                )
            )
            next_look = next_look + interval
        if kind is None:
            break
        events.append(
            CommunityCallEvent(
                at=at,
                actor=actor,
                kind=kind,
                from_state=state,
                to_state=to_state,
                note=note,
                data=data,
            )
        )
        state = to_state
        if state == CallState.ON_SITE:
            next_look = call.fix_by if call.fix_by > at else at + interval
        else:
            next_look = None
    call.escalation_level = level
    call.next_escalation_at = (
        next_look if call.state in (CallState.CALLED, CallState.ON_SITE) else None
    )
    call.updated_at = events[-1].at
    return events


# --- the department's supervised task --------------------------------------------------------


# call event → (task event kind, the task state after it); on site is two task steps.
TASK_STEPS = {
    "fixed": ("completed", TaskState.DONE),
    "rejected": ("returned", TaskState.RETURNED),
    "closed": ("verified", TaskState.VERIFIED),
    "withdrawn": ("verified", TaskState.VERIFIED),
}


def department_tasks(calls, timelines, now):
    subject_type = ContentType.objects.get_for_model(CommunityCall)
    tasks, all_events = [], []
    for call, timeline in zip(calls, timelines, strict=True):
        task = SupervisedTask(
            title=f"社区呼叫：{call.title}",
            description=f"呼叫编号 {call.number}。{call.description}",
            priority=TaskPriority.URGENT
            if call.category in URGENT_CATEGORIES
            else TaskPriority.NORMAL,
            region=call.region,
            subject_type=subject_type,
            subject_id=str(call.pk),
            assignee_organization=call.department,
            created_by=call.raised_by,
            state=TaskState.ASSIGNED,
            respond_by=call.arrive_by,
            due_at=call.fix_by,
            created_at=call.raised_at,
        )
        events = [
            SupervisedTaskEvent(
                at=call.raised_at,
                actor=call.raised_by,
                kind="assigned",
                to_state=TaskState.ASSIGNED,
                note=task.description,
            )
        ]
        for event in timeline:
            if event.kind == "on_site":
                task.acknowledged_at = event.at
                events.append(
                    SupervisedTaskEvent(
                        at=event.at,
                        actor=event.actor,
                        kind="acknowledged",
                        from_state=task.state,
                        to_state=TaskState.ACKNOWLEDGED,
                        note=event.note,
                    )
                )
                data = {k: event.data[k] for k in ("lon", "lat") if k in event.data}
                events.append(
                    SupervisedTaskEvent(
                        at=event.at,
                        actor=event.actor,
                        kind="arrived",
                        from_state=TaskState.ACKNOWLEDGED,
                        to_state=TaskState.ON_SITE,
                        note=event.note,
                        data=data,
                    )
                )
                task.state = TaskState.ON_SITE
                continue
            if event.kind not in TASK_STEPS:
                continue
            kind, to_state = TASK_STEPS[event.kind]
            data = {}
            if event.kind == "withdrawn":
                data = {"settled_by_subject": True}
                note = f"呼叫人已撤回呼叫：{event.note}"
                actor = None
            elif event.kind == "closed":
                note = f"呼叫人确认整改到位，评价 {call.rating} 分。{event.note}"
                actor = event.actor
            else:
                note, actor = event.note, event.actor
            if event.kind == "rejected" and task.due_at <= event.at:
                new_due = event.at + rework_window()
                data = {"old_due_at": task.due_at.isoformat(), "due_at": new_due.isoformat()}
                task.due_at = new_due
            events.append(
                SupervisedTaskEvent(
                    at=event.at,
                    actor=actor,
                    kind=kind,
                    from_state=task.state,
                    to_state=to_state,
                    note=note,
                    data=data,
                )
            )
            task.state = to_state
            if to_state == TaskState.DONE:
                task.done_at = event.at
            elif to_state == TaskState.RETURNED:
                task.done_at = None
            elif to_state == TaskState.VERIFIED:
                task.verified_at = event.at
        task.next_remind_at = supervision.next_reminder(task, now)
        task._events = events
        tasks.append(task)
    number_rows(
        tasks, SupervisedTask, supervision.NUMBER_PREFIX, lambda t: (t.region.code, t.created_at)
    )
    SupervisedTask.objects.bulk_create(tasks, batch_size=500)
    for task, timeline in zip(tasks, timelines, strict=True):
        timeline[0].data["task"] = task.number  # the `called` event names the task
        for event in task._events:
            event.task = task
            all_events.append(event)
    SupervisedTaskEvent.objects.bulk_create(all_events, batch_size=1000)
    return tasks, all_events
