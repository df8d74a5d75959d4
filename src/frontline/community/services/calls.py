"""Community calls (社区呼叫、部门到位、限时督办、整改落实 — 吹哨报到).

    call = raise_call(actor=grid_worker, region=grid, title="消防通道被占", category="fire",
                      department=brigade)
    report_on_site(actor=liaison, call=call, lon=120.4, lat=30.0)   # 部门到位
    report_fixed(actor=liaison, call=call, note="已清理")             # 整改落实
    confirm_fix(actor=grid_worker, call=call, rating=5)              # 呼叫人确认、评价、办结

The loop lives here; the rules (time limits, steps, overdue) in `calls_rules.py`, who is
who and who hears in `calls_people.py`, the escalation sweep in `calls_escalation.py`, the
monthly public list in `calls_monthly.py`.

The department gets a supervised task (`core.services.supervision`) whose state moves with
the call's: raising assigns it (respond_by = arrive_by, due_at = fix_by), on site
acknowledges it and reports arrival, fixed completes it, a rejected fix returns it, the
caller's confirmation verifies it and a withdrawal settles it. Only the caller closes a call
(or, when the caller's account is gone, the station chief of the region); the department that
tries is refused with a 409.

Every change writes a `CommunityCallEvent` in the same transaction; notifications go through
the outbox. Deadlines are stored on the call (`arrive_by`, `fix_by`, `next_escalation_at`);
the sweep (`escalate_overdue_calls`) only compares them with the clock.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.community.models import CallCategory, CallState, CommunityCall, CommunityCallEvent
from frontline.community.services.calls_people import (
    DEPARTMENT_KINDS,
    caller_users,
    department_users,
    is_caller_side,
    is_department_user,
    local_time,
    notify_call,
    station_users,
)
from frontline.community.services.calls_rules import (
    NUMBER_PREFIX,
    TRANSITIONS,
    URGENT_CATEGORIES,
    Side,
    Transition,
    arrive_limit,
    fix_limit,
    next_escalation,
    rework_window,
)
from frontline.core import request_id
from frontline.core.errors import DomainError, PermissionDenied
from frontline.core.models import TaskPriority, TaskState
from frontline.core.numbers import save_with_number
from frontline.core.roles import Capability
from frontline.core.services import supervision
from frontline.core.services.validation import Cleaner, require

__all__ = [
    "confirm_fix",
    "raise_call",
    "record_event",
    "reject_fix",
    "report_fixed",
    "report_on_site",
    "withdraw_call",
]

# --- helpers -------------------------------------------------------------------------------


def record_event(
    call: CommunityCall, *, actor, kind: str, from_state="", to_state="", note="", **data
):
    return CommunityCallEvent.objects.create(
        call=call,
        actor=actor if getattr(actor, "pk", None) else None,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        note=note,
        data={k: v for k, v in data.items() if v is not None},
        request_id=request_id.current_request_id() or "",
    )


def _locked(call: CommunityCall) -> CommunityCall:
    """Reload the row locked for this transaction and refresh the caller's object."""
    fresh = CommunityCall.objects.select_for_update().get(pk=call.pk)
    for field in CommunityCall._meta.concrete_fields:
        setattr(call, field.attname, getattr(fresh, field.attname))
    return call


def _guard(actor, call: CommunityCall, name: str) -> Transition:
    _locked(call)
    transition = TRANSITIONS[name]
    if name == "confirm" and actor is not None and is_department_user(actor, call):
        raise DomainError(
            _("责任部门不能自行办结呼叫：须由呼叫人确认整改到位后办结"),
            code="department_cannot_close",
        )
    if call.state not in transition.sources:
        raise DomainError(
            _("呼叫%(state)s，不能%(action)s")
            % {"state": call.get_state_display(), "action": _(transition.label)},
            code="illegal_transition",
            details={
                "state": call.state,
                "action": name,
                "allowed": [n for n, t in TRANSITIONS.items() if call.state in t.sources],
            },
        )
    if actor is None:
        return transition
    if transition.side == Side.DEPARTMENT and not is_department_user(actor, call):
        raise PermissionDenied(
            _("只有责任部门（%(department)s）的人员可以%(action)s")
            % {"department": call.department.name, "action": _(transition.label)}
        )
    if transition.side == Side.CALLER and not is_caller_side(actor, call):
        raise PermissionDenied(
            _("只有呼叫人可以%(action)s（呼叫人账号停用时由所在乡镇站长办理）")
            % {"action": _(transition.label)}
        )
    return transition


def _move(actor, call: CommunityCall, transition: Transition, *, note="", **data):
    from_state = call.state
    call.state = transition.to_state
    call.save()
    record_event(
        call,
        actor=actor,
        kind=transition.event,
        from_state=from_state,
        to_state=call.state,
        note=note,
        **data,
    )


# --- services ------------------------------------------------------------------------------


@transaction.atomic
def raise_call(
    *,
    actor,
    region,
    title,
    category,
    department,
    description="",
    address="",
    lon=None,
    lat=None,
    building=None,
) -> CommunityCall:
    """呼叫 (吹哨): a grid worker or the station calls a department to a matter. The
    department gets a supervised task (respond by = arrive by, due = fix by) and a
    notification."""
    require(actor, Capability.EDIT, region)
    now = timezone.now()
    cleaner = Cleaner()
    title = cleaner.text(title, "title", required=True, max_length=200)
    description = cleaner.text(description, "description", required=False, max_length=5000)
    address = cleaner.text(address, "address", required=False, max_length=200)
    category = cleaner.choice(category, "category", CallCategory)
    if department is None:
        cleaner.fail("department", _("请选择责任部门"))
    elif department.kind not in DEPARTMENT_KINDS:
        cleaner.fail("department", _("请选择职能部门或消防、救援队伍"))
    elif not supervision._same_branch(department.region, region):
        cleaner.fail("department", _("该部门不在呼叫所属区划的上下级范围内"))
    elif actor is not None and is_department_user(
        actor, CommunityCall(department_id=department.pk)
    ):
        cleaner.fail("department", _("不能向本单位呼叫"))
    if (lon is None) != (lat is None):
        cleaner.fail("lon", _("经度和纬度须同时填写"))
    elif lon is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90):
        cleaner.fail("lon", _("坐标超出范围"))
    if building is not None and not supervision._same_branch(building.region, region):
        cleaner.fail("building", _("楼栋不在呼叫所属区划内"))
    cleaner.done()
    if building is not None:
        address = address or building.address
        if lon is None and building.lon is not None:
            lon, lat = building.lon, building.lat
    call = CommunityCall(
        region=region,
        title=title,
        description=description,
        category=category,
        address=address,
        lon=lon,
        lat=lat,
        building=building,
        department=department,
        raised_by=actor,
        raised_at=now,
        arrive_by=now + arrive_limit(category),
        fix_by=now + fix_limit(category),
        state=CallState.CALLED,
    )
    call.next_escalation_at = call.arrive_by
    save_with_number(call, kind=NUMBER_PREFIX, region_code=region.code, now=now)
    urgent = category in URGENT_CATEGORIES
    task = supervision.assign_task(
        actor=actor,
        title=_("社区呼叫：%(title)s") % {"title": title},
        region=region,
        due_at=call.fix_by,
        respond_by=call.arrive_by,
        assignee_organization=department,
        description=_("呼叫编号 %(number)s。%(text)s")
        % {"number": call.number, "text": description},
        priority=TaskPriority.URGENT if urgent else TaskPriority.NORMAL,
        subject=call,
    )
    call.task = task
    call.save(update_fields=["task", "updated_at"])
    record_event(
        call,
        actor=actor,
        kind="called",
        to_state=CallState.CALLED,
        note=description,
        department=department.name,
        arrive_by=call.arrive_by.isoformat(),
        fix_by=call.fix_by.isoformat(),
        task=task.number,
    )
    notify_call(
        department_users(call),
        actor,
        call,
        "call_raised",
        _("社区呼叫（吹哨报到）：%(title)s"),
        _("编号 %(number)s，地点 %(address)s。请于 %(arrive)s 前到场报到，%(fix)s 前整改完成。")
        % {
            "number": call.number,
            "address": address or region.name,
            "arrive": local_time(call.arrive_by),
            "fix": local_time(call.fix_by),
        },
        urgent=urgent,
        sms=urgent,
    )
    return call


@transaction.atomic
def report_on_site(
    *, actor, call: CommunityCall, note: str = "", lon: float | None = None, lat=None
) -> CommunityCall:
    """部门到位: the department reports on site (its task is acknowledged and marked arrived)."""
    transition = _guard(actor, call, "on-site")
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=False, max_length=2000)
    if (lon is None) != (lat is None):
        cleaner.fail("lon", _("经度和纬度须同时填写"))
    elif lon is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90):
        cleaner.fail("lon", _("坐标超出范围"))
    cleaner.done()
    now = timezone.now()
    call.arrived_at = now
    call.next_escalation_at = next_escalation(call, now, CallState.ON_SITE)
    _move(actor, call, transition, note=note, lon=lon, lat=lat, on_time=now <= call.arrive_by)
    task = call.task
    if task is not None:
        if task.state == TaskState.ASSIGNED:
            supervision.acknowledge_task(actor=actor, task=task, note=note)
        if task.state in (TaskState.ACKNOWLEDGED, TaskState.RETURNED):
            supervision.arrive_on_site(actor=actor, task=task, note=note, lon=lon, lat=lat)
    notify_call(
        caller_users(call) + station_users(call.region),
        actor,
        call,
        "call_on_site",
        _("部门已到场：%(title)s"),
        _("%(department)s 已于 %(at)s 到场报到。")
        % {"department": call.department.name, "at": local_time(now)},
    )
    return call


@transaction.atomic
def report_fixed(*, actor, call: CommunityCall, note: str, photo_ids=None) -> CommunityCall:
    """整改落实: the department reports the fix, saying what was done (photos optional:
    image attachments of this call). The call waits for the caller's confirmation."""
    transition = _guard(actor, call, "fixed")
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=True, max_length=2000)
    ids = _photos(call, photo_ids, cleaner)
    cleaner.done()
    now = timezone.now()
    call.fixed_at = now
    call.next_escalation_at = None
    _move(actor, call, transition, note=note, photo_ids=ids or None, on_time=now <= call.fix_by)
    if call.task is not None and call.task.state in (
        TaskState.ACKNOWLEDGED,
        TaskState.ON_SITE,
        TaskState.RETURNED,
    ):
        supervision.complete_task(actor=actor, task=call.task, note=note)
    notify_call(
        caller_users(call),
        actor,
        call,
        "call_fixed",
        _("呼叫事项已整改，请确认并评价：%(title)s"),
        note,
    )
    return call


def _photos(call: CommunityCall, photo_ids, cleaner: Cleaner) -> list[int]:
    from django.contrib.contenttypes.models import ContentType

    from frontline.core.models import Attachment, AttachmentKind

    ids: list[int] = []
    for value in photo_ids or []:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            cleaner.fail("photo_ids", _("照片编号不正确"))
            return []
    ids = sorted(set(ids))
    if not ids:
        return []
    found = set(
        Attachment.objects.filter(
            pk__in=ids,
            owner_type=ContentType.objects.get_for_model(CommunityCall),
            owner_id=str(call.pk),
            kind=AttachmentKind.IMAGE,
        ).values_list("pk", flat=True)
    )
    if found != set(ids):
        cleaner.fail("photo_ids", _("照片须为本呼叫的图片附件"))
    return ids


@transaction.atomic
def confirm_fix(*, actor, call: CommunityCall, rating: int, note: str = "") -> CommunityCall:
    """确认办结: the caller (or, when the caller's account is gone, the station chief)
    confirms the fix and rates it 1–5. The department's task is verified. A department
    that tries is refused (409 department_cannot_close)."""
    transition = _guard(actor, call, "confirm")
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=False, max_length=2000)
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        cleaner.fail("rating", _("请评 1 至 5 分"))
    if rating and rating <= 2 and not note:
        cleaner.fail("note", _("评价为不满意时请说明原因"))
    cleaner.done()
    now = timezone.now()
    call.closed_at = now
    call.rating = rating
    call.rating_note = note
    call.next_escalation_at = None
    _move(actor, call, transition, note=note, rating=rating)
    if call.task is not None and call.task.state == TaskState.DONE:
        supervision.verify_task(
            actor=actor,
            task=call.task,
            note=_("呼叫人确认整改到位，评价 %(rating)d 分。%(note)s")
            % {"rating": rating, "note": note},
        )
    notify_call(
        department_users(call) + station_users(call.region),
        actor,
        call,
        "call_closed",
        _("呼叫已办结：%(title)s"),
        _("呼叫人评价 %(rating)d 分。%(note)s") % {"rating": rating, "note": note},
    )
    return call


@transaction.atomic
def reject_fix(*, actor, call: CommunityCall, reason: str) -> CommunityCall:
    """整改不到位: the caller sends the fix back; the call is on site again and the
    department's task is returned. The fix deadline of the call does not move (the public
    list judges against it); when it has passed, the task gets `rework_window()`."""
    transition = _guard(actor, call, "reject")
    cleaner = Cleaner()
    reason = cleaner.text(reason, "reason", required=True, max_length=2000)
    cleaner.done()
    now = timezone.now()
    call.fixed_at = None
    call.next_escalation_at = next_escalation(call, now, CallState.ON_SITE)
    _move(actor, call, transition, note=reason)
    task = call.task
    if task is not None and task.state == TaskState.DONE:
        due_at = None if task.due_at > now else now + rework_window()
        supervision.return_task(actor=actor, task=task, reason=reason, due_at=due_at)
    notify_call(
        department_users(call),
        actor,
        call,
        "call_rejected",
        _("呼叫人认为整改不到位：%(title)s"),
        reason,
    )
    return call


@transaction.atomic
def withdraw_call(*, actor, call: CommunityCall, reason: str) -> CommunityCall:
    """撤回: the caller withdraws the call before the department is on site (raised by
    mistake, solved otherwise). The department's task is settled."""
    transition = _guard(actor, call, "withdraw")
    cleaner = Cleaner()
    reason = cleaner.text(reason, "reason", required=True, max_length=2000)
    cleaner.done()
    call.closed_at = timezone.now()
    call.next_escalation_at = None
    _move(actor, call, transition, note=reason)
    if call.task is not None:
        supervision.settle_task(
            task=call.task, note=_("呼叫人已撤回呼叫：%(reason)s") % {"reason": reason}
        )
    notify_call(
        department_users(call),
        actor,
        call,
        "call_withdrawn",
        _("社区呼叫已撤回：%(title)s"),
        reason,
    )
    return call
