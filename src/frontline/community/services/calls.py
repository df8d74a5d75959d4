"""Community calls (社区呼叫、部门到位、限时督办、整改落实 — 吹哨报到).

    call = raise_call(actor=grid_worker, region=grid, title="消防通道被占", category="fire",
                      department=brigade)
    report_on_site(actor=liaison, call=call, lon=120.4, lat=30.0)   # 部门到位
    report_fixed(actor=liaison, call=call, note="已清理")             # 整改落实
    confirm_fix(actor=grid_worker, call=call, rating=5)              # 呼叫人确认、评价、办结

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

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from frontline.community.models import (
    CallCategory,
    CallState,
    CommunityCall,
    CommunityCallEvent,
)
from frontline.core import request_id
from frontline.core.errors import DomainError, PermissionDenied
from frontline.core.models import (
    Organization,
    OrganizationKind,
    Region,
    RegionLevel,
    RoleAssignment,
    TaskPriority,
    TaskState,
)
from frontline.core.numbers import save_with_number
from frontline.core.roles import Capability, Role, can
from frontline.core.scoping import active_assignments, scope_paths, subtree_q
from frontline.core.services import supervision
from frontline.core.services.notifications import notify_users
from frontline.core.services.validation import Cleaner, require

NUMBER_PREFIX = "HJ"

# --- configuration -------------------------------------------------------------------------

URGENT_CATEGORIES = frozenset({CallCategory.FIRE, CallCategory.GAS, CallCategory.POWER})
DEFAULT_ARRIVE_MINUTES = {c: 30 for c in URGENT_CATEGORIES}
DEFAULT_ARRIVE_MINUTES_OTHER = 120
DEFAULT_FIX_HOURS = {CallCategory.FIRE: 24, CallCategory.GAS: 24}
DEFAULT_FIX_HOURS_OTHER = 72
DEFAULT_ESCALATE_MINUTES = 60
DEFAULT_REWORK_HOURS = 24

# Units a call may go to: departments, and the fire and rescue teams.
DEPARTMENT_KINDS = (
    OrganizationKind.DEPARTMENT,
    OrganizationKind.FIRE_BRIGADE,
    OrganizationKind.FULLTIME_FIRE_TEAM,
    OrganizationKind.MICRO_FIRE_STATION,
    OrganizationKind.RESCUE_SQUAD,
    OrganizationKind.SOCIAL_RESCUE,
    OrganizationKind.GOVERNMENT,
)
FIRE_KINDS = (
    OrganizationKind.FIRE_BRIGADE,
    OrganizationKind.FULLTIME_FIRE_TEAM,
    OrganizationKind.MICRO_FIRE_STATION,
)
# Words in a department's name that suggest it for a category (the region's own
# departments are named as people call them: 供电所, 自来水公司, 派出所…).
CATEGORY_KEYWORDS: dict[str, tuple[str, ...]] = {
    CallCategory.FIRE: ("消防",),
    CallCategory.WATER: ("水", "防汛", "水利"),
    CallCategory.POWER: ("电",),
    CallCategory.GAS: ("燃气", "天然气", "液化气"),
    CallCategory.POLICE: ("派出所", "公安", "警"),
    CallCategory.HOUSING: ("住建", "房", "建设"),
    CallCategory.ROADS: ("交通", "交警", "公路", "道路"),
    CallCategory.MARKET: ("市场监管", "市场"),
    CallCategory.HEALTH: ("卫生", "卫健", "医院"),
    CallCategory.ENVIRONMENT: ("环境", "环卫", "综合执法", "城管"),
    CallCategory.OTHER: (),
}


def _setting(name: str, default):
    return getattr(settings, name, None) or default


def arrive_limit(category: str) -> timedelta:
    """Time the department has to report on site. `FRONTLINE_CALL_ARRIVE_MINUTES` (a dict
    category → minutes) overrides the defaults: 30 min for fire, gas and power, 2 h else."""
    table = _setting("FRONTLINE_CALL_ARRIVE_MINUTES", {})
    minutes = table.get(category) or DEFAULT_ARRIVE_MINUTES.get(
        category, DEFAULT_ARRIVE_MINUTES_OTHER
    )
    return timedelta(minutes=int(minutes))


def fix_limit(category: str) -> timedelta:
    """Time the department has to fix. `FRONTLINE_CALL_FIX_HOURS` (category → hours)
    overrides the defaults: 24 h for fire and gas, 72 h else."""
    table = _setting("FRONTLINE_CALL_FIX_HOURS", {})
    hours = table.get(category) or DEFAULT_FIX_HOURS.get(category, DEFAULT_FIX_HOURS_OTHER)
    return timedelta(hours=int(hours))


def escalate_interval() -> timedelta:
    """While a call is overdue, it escalates again after this long."""
    return timedelta(
        minutes=int(_setting("FRONTLINE_CALL_ESCALATE_MINUTES", DEFAULT_ESCALATE_MINUTES))
    )


def rework_window() -> timedelta:
    """After a rejected fix whose deadline has passed, the department's task gets this long."""
    return timedelta(hours=int(_setting("FRONTLINE_CALL_REWORK_HOURS", DEFAULT_REWORK_HOURS)))


# --- who is who ----------------------------------------------------------------------------


class Side(enum.StrEnum):
    CALLER = "caller"  # 呼叫方: the caller (or the station chief when the caller is gone)
    DEPARTMENT = "department"  # 责任部门: the people of the department


@dataclass(frozen=True)
class Transition:
    name: str  # as in URLs
    label: str
    side: Side
    sources: tuple[str, ...]
    to_state: str
    event: str


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        Transition(
            "on-site",
            gettext_noop("到场报到"),
            Side.DEPARTMENT,
            (CallState.CALLED,),
            CallState.ON_SITE,
            "on_site",
        ),
        Transition(
            "fixed",
            gettext_noop("报告整改完成"),
            Side.DEPARTMENT,
            (CallState.ON_SITE,),
            CallState.FIXED,
            "fixed",
        ),
        Transition(
            "confirm",
            gettext_noop("确认整改并评价"),
            Side.CALLER,
            (CallState.FIXED,),
            CallState.CLOSED,
            "closed",
        ),
        Transition(
            "reject",
            gettext_noop("整改不到位，退回"),
            Side.CALLER,
            (CallState.FIXED,),
            CallState.ON_SITE,
            "rejected",
        ),
        Transition(
            "withdraw",
            gettext_noop("撤回呼叫"),
            Side.CALLER,
            (CallState.CALLED,),
            CallState.WITHDRAWN,
            "withdrawn",
        ),
    ]
}


def is_department_user(user, call: CommunityCall) -> bool:
    """A person of the call's department (the task's assignee side)."""
    _person, organization_id = supervision._person_of(user)
    return organization_id is not None and organization_id == call.department_id


def caller_is_gone(call: CommunityCall) -> bool:
    """The caller's account was closed, or no longer may edit in the call's region."""
    caller = call.raised_by
    return not caller.is_active or not can(caller, Capability.EDIT, call.region)


def is_station_chief(user, region: Region) -> bool:
    return any(
        a.role == Role.STATION_CHIEF and region.path.startswith(a.region.path)
        for a in active_assignments(user)
    )


def is_caller_side(user, call: CommunityCall) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if user.pk == call.raised_by_id:
        return True
    return caller_is_gone(call) and is_station_chief(user, call.region)


def side_of(user, call: CommunityCall) -> Side | None:
    if is_department_user(user, call):
        return Side.DEPARTMENT
    if is_caller_side(user, call):
        return Side.CALLER
    return None


def allowed_actions(user, call: CommunityCall) -> list[str]:
    """Actions this user may take on the call now (buttons on the page, `actions` in the API)."""
    side = side_of(user, call)
    return [name for name, t in TRANSITIONS.items() if t.side == side and call.state in t.sources]


def visible_calls(user, queryset=None):
    """Calls in the user's scope, plus the calls sent to the user's organization (a county
    department's liaison answers a call of a village)."""
    queryset = CommunityCall.objects.all() if queryset is None else queryset
    paths = scope_paths(user)
    if paths is None:
        return queryset
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    scope = subtree_q("region__path", paths) if paths else Q(pk__in=[])
    _person, organization_id = supervision._person_of(user)
    if organization_id is not None:
        scope |= Q(department_id=organization_id)
    return queryset.filter(scope)


def overdue_q(now: datetime | None = None) -> Q:
    """Calls past a deadline they still owe: not on site by `arrive_by`, not fixed by
    `fix_by`."""
    now = now or timezone.now()
    return Q(state=CallState.CALLED, arrive_by__lt=now) | Q(
        state__in=(CallState.CALLED, CallState.ON_SITE), fix_by__lt=now
    )


def is_overdue(call: CommunityCall, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    if call.state == CallState.CALLED and call.arrive_by < now:
        return True
    return call.state in (CallState.CALLED, CallState.ON_SITE) and call.fix_by < now


def arrived_on_time(call: CommunityCall) -> bool | None:
    if call.arrived_at is None:
        return None
    return call.arrived_at <= call.arrive_by


def fixed_on_time(call: CommunityCall) -> bool | None:
    if call.fixed_at is None:
        return None
    return call.fixed_at <= call.fix_by


# --- regions and people --------------------------------------------------------------------


def township_of(region: Region) -> Region:
    """The township (乡镇街道) at or above `region`; the region itself above that level."""
    if region.level in (RegionLevel.TOWNSHIP, RegionLevel.COUNTY, RegionLevel.CITY):
        return region
    if region.level == RegionLevel.PROVINCE:
        return region
    for ancestor in region.ancestors().order_by("-depth"):
        if ancestor.level == RegionLevel.TOWNSHIP:
            return ancestor
    return region


def county_of(region: Region) -> Region | None:
    if region.level == RegionLevel.COUNTY:
        return region
    for ancestor in region.ancestors().order_by("-depth"):
        if ancestor.level == RegionLevel.COUNTY:
            return ancestor
    return None


def _role_users(region: Region | None, roles) -> list:
    if region is None:
        return []
    User = get_user_model()
    user_ids = RoleAssignment.objects.filter(
        region=region, role__in=roles, revoked_at__isnull=True
    ).values("user_id")
    return list(User.objects.filter(pk__in=user_ids, is_active=True))


def station_users(region: Region) -> list:
    """The station of the call's township: its chief and staff."""
    return _role_users(township_of(region), (Role.STATION_CHIEF, Role.STATION_STAFF))


def county_users(region: Region) -> list:
    """The county bureau: the county administrators (and station chiefs held on the county)."""
    return _role_users(county_of(region), (Role.COUNTY_ADMIN, Role.STATION_CHIEF))


def department_users(call: CommunityCall) -> list:
    User = get_user_model()
    return list(
        User.objects.filter(person__organization_id=call.department_id, is_active=True).distinct()
    )


def _caller_users(call: CommunityCall) -> list:
    if call.raised_by.is_active:
        return [call.raised_by]
    return [
        u
        for u in _role_users(township_of(call.region), (Role.STATION_CHIEF,))
        if u.pk != call.raised_by_id
    ]


def suggested_departments(user, region: Region, category: str | None = None) -> list:
    """Departments the user may call for `region`: units of a department kind at the
    region or above it (a grid calls the township's and the county's departments, whether
    or not the caller's scope shows them), and those below it in the user's scope; those
    whose kind or name fits the category come first."""
    above = [c for c in region.path.split("/") if c]
    below = Organization.objects.visible_to(user).within(region.path).values("pk")
    units = list(
        Organization.objects.filter(kind__in=DEPARTMENT_KINDS)
        .filter(Q(region__code__in=above) | Q(pk__in=below))
        .select_related("region")
        .order_by("name", "id")
    )
    if not category:
        return units
    words = CATEGORY_KEYWORDS.get(category, ())

    def fits(unit: Organization) -> bool:
        if category == CallCategory.FIRE and unit.kind in FIRE_KINDS:
            return True
        return any(word in unit.name for word in words)

    for unit in units:
        unit.suggested = fits(unit)
    return sorted(units, key=lambda u: (not u.suggested,))


# --- helpers -------------------------------------------------------------------------------


def _event(call: CommunityCall, *, actor, kind: str, from_state="", to_state="", note="", **data):
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


def _link(call: CommunityCall) -> str:
    try:
        return reverse("call_detail", args=[call.pk])
    except NoReverseMatch:
        return ""


def _local(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


def _notify(users, actor, call: CommunityCall, kind: str, subject: str, body: str = "", **kw):
    actor_pk = getattr(actor, "pk", None)
    notify_users(
        [u for u in users if u.pk != actor_pk],
        kind=kind,
        subject=subject % {"title": call.title, "number": call.number},
        body=body,
        link=_link(call),
        related=call,
        **kw,
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
    _event(
        call,
        actor=actor,
        kind=transition.event,
        from_state=from_state,
        to_state=call.state,
        note=note,
        **data,
    )


def _next_escalation(call: CommunityCall, now: datetime, state=None) -> datetime | None:
    """When the sweep should look at the call next (in `state`, by default its own): at the
    deadline it owes, or — when that has passed — after the escalation interval; never for a
    fixed or finished call."""
    state = state or call.state
    if state == CallState.CALLED:
        deadline = call.arrive_by
    elif state == CallState.ON_SITE:
        deadline = call.fix_by
    else:
        return None
    return deadline if deadline > now else now + escalate_interval()


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
    _event(
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
    _notify(
        department_users(call),
        actor,
        call,
        "call_raised",
        _("社区呼叫（吹哨报到）：%(title)s"),
        _("编号 %(number)s，地点 %(address)s。请于 %(arrive)s 前到场报到，%(fix)s 前整改完成。")
        % {
            "number": call.number,
            "address": address or region.name,
            "arrive": _local(call.arrive_by),
            "fix": _local(call.fix_by),
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
    call.next_escalation_at = _next_escalation(call, now, CallState.ON_SITE)
    _move(actor, call, transition, note=note, lon=lon, lat=lat, on_time=now <= call.arrive_by)
    task = call.task
    if task is not None:
        if task.state == TaskState.ASSIGNED:
            supervision.acknowledge_task(actor=actor, task=task, note=note)
        if task.state in (TaskState.ACKNOWLEDGED, TaskState.RETURNED):
            supervision.arrive_on_site(actor=actor, task=task, note=note, lon=lon, lat=lat)
    _notify(
        _caller_users(call) + station_users(call.region),
        actor,
        call,
        "call_on_site",
        _("部门已到场：%(title)s"),
        _("%(department)s 已于 %(at)s 到场报到。")
        % {"department": call.department.name, "at": _local(now)},
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
    _notify(
        _caller_users(call),
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
    _notify(
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
    call.next_escalation_at = _next_escalation(call, now, CallState.ON_SITE)
    _move(actor, call, transition, note=reason)
    task = call.task
    if task is not None and task.state == TaskState.DONE:
        due_at = None if task.due_at > now else now + rework_window()
        supervision.return_task(actor=actor, task=task, reason=reason, due_at=due_at)
    _notify(
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
    _notify(
        department_users(call),
        actor,
        call,
        "call_withdrawn",
        _("社区呼叫已撤回：%(title)s"),
        reason,
    )
    return call


# --- escalation ----------------------------------------------------------------------------


def escalate_overdue_calls(now: datetime | None = None) -> dict[str, int]:
    """Escalate every call not on site by `arrive_by` or not fixed by `fix_by` whose stored
    `next_escalation_at` has come. Each call is one transaction, claimed by a conditional
    UPDATE of `next_escalation_at`: a second worker or a rerun finds the claim gone."""
    now = now or timezone.now()
    counts = {"escalated": 0, "skipped": 0}
    due = (
        CommunityCall.objects.filter(
            state__in=(CallState.CALLED, CallState.ON_SITE), next_escalation_at__lte=now
        )
        .order_by("next_escalation_at", "id")
        .values_list("pk", flat=True)
    )
    for pk in list(due[:1000]):
        counts[_escalate_one(pk, now)] += 1
    return counts


@transaction.atomic
def _escalate_one(pk: int, now: datetime) -> str:
    call = (
        CommunityCall.objects.select_related("region", "department")
        .filter(pk=pk, state__in=(CallState.CALLED, CallState.ON_SITE), next_escalation_at__lte=now)
        .first()
    )
    if call is None:
        return "skipped"
    late_arrival = call.state == CallState.CALLED and call.arrive_by <= now
    late_fix = call.fix_by <= now
    following = now + escalate_interval()
    if not (late_arrival or late_fix):
        # The look came early (a deadline moved): look again at the deadline owed.
        following = _next_escalation(call, now)
        CommunityCall.objects.filter(pk=call.pk, next_escalation_at=call.next_escalation_at).update(
            next_escalation_at=following
        )
        return "skipped"
    claimed = CommunityCall.objects.filter(
        pk=call.pk, state=call.state, next_escalation_at=call.next_escalation_at
    ).update(
        next_escalation_at=following,
        escalation_level=F("escalation_level") + 1,
        updated_at=now,
    )
    if not claimed:
        return "skipped"
    call.next_escalation_at = following
    call.escalation_level += 1
    why = _("超过报到时限未到场") if late_arrival else _("超过整改时限未整改完成")
    township = township_of(call.region)
    recipients = station_users(call.region)
    reached = [township.name]
    if call.escalation_level >= 2:
        county = county_of(call.region)
        recipients += county_users(call.region)
        if county is not None:
            reached.append(county.name)
    _event(
        call,
        actor=None,
        kind="escalated",
        from_state=call.state,
        to_state=call.state,
        note=_("%(why)s，第 %(level)d 次升级，已通报%(to)s")
        % {"why": why, "level": call.escalation_level, "to": "、".join(reached)},
        reason="arrive" if late_arrival else "fix",
        level=call.escalation_level,
    )
    subject = _("社区呼叫%(why)s（第 %(level)d 次升级）：%(title)s") % {
        "why": why,
        "level": call.escalation_level,
        "title": call.title,
    }
    body = _(
        "编号 %(number)s，责任部门 %(department)s，报到时限 %(arrive)s，整改时限 %(fix)s。"
    ) % {
        "number": call.number,
        "department": call.department.name,
        "arrive": _local(call.arrive_by),
        "fix": _local(call.fix_by),
    }
    notify_users(
        {u.pk: u for u in recipients}.values(),
        kind="call_escalated",
        subject=subject,
        body=body,
        link=_link(call),
        related=call,
        urgent=True,
    )
    notify_users(
        department_users(call),
        kind="call_overdue",
        subject=subject,
        body=body,
        link=_link(call),
        related=call,
        urgent=True,
        webhooks=False,
    )
    return "escalated"


# --- the monthly public list (每月公示) --------------------------------------------------------


@dataclass
class MonthlyRow:
    call: CommunityCall
    caller: str  # masked: 张*
    minutes_to_arrive: int | None
    hours_to_fix: float | None
    arrived_on_time: bool | None
    fixed_on_time: bool | None
    on_time: bool | None  # None: still undecided, or withdrawn


@dataclass
class MonthlyGroup:
    key: str
    label: str
    calls: int = 0
    decided: int = 0
    on_time: int = 0
    rated: int = 0
    rating_sum: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return round(100 * self.on_time / self.decided, 1) if self.decided else None

    @property
    def average_rating(self) -> float | None:
        return round(self.rating_sum / self.rated, 2) if self.rated else None

    def add(self, row: MonthlyRow) -> None:
        self.calls += 1
        if row.on_time is not None:
            self.decided += 1
            self.on_time += int(row.on_time)
        if row.call.rating:
            self.rated += 1
            self.rating_sum += row.call.rating


@dataclass
class MonthlyReport:
    year: int
    month: int
    rows: list[MonthlyRow]
    total: MonthlyGroup
    by_category: list[MonthlyGroup]
    by_department: list[MonthlyGroup]

    @property
    def label(self) -> str:
        return f"{self.year}-{self.month:02d}"


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The month in Asia/Shanghai as aware datetimes [start, end)."""
    start = timezone.make_aware(datetime(year, month, 1))
    end = timezone.make_aware(datetime(year + month // 12, month % 12 + 1, 1))
    return start, end


def _outcome(call: CommunityCall, now: datetime) -> bool | None:
    """On time (arrived by arrive_by and fixed by fix_by), late, or not decided yet.
    A withdrawn call is not judged."""
    if call.state == CallState.WITHDRAWN:
        return None
    arrived = arrived_on_time(call)
    if arrived is False or (call.arrived_at is None and call.arrive_by < now):
        return False
    fixed = fixed_on_time(call)
    if fixed is not None:
        return bool(arrived) and fixed
    if call.fix_by < now:
        return False
    return None


def monthly_report(user, year: int, month: int, *, now: datetime | None = None) -> MonthlyReport:
    """Every call raised in the month in the user's scope, with its times, on-time verdict
    and rating; callers' names masked. One query."""
    from frontline.core.crypto import mask_name

    now = now or timezone.now()
    start, end = month_bounds(year, month)
    calls = (
        visible_calls(user)
        .filter(raised_at__gte=start, raised_at__lt=end)
        .select_related("region", "department", "raised_by__person")
        .order_by("raised_at", "id")
    )
    rows: list[MonthlyRow] = []
    total = MonthlyGroup("all", _("合计"))
    categories = {c.value: MonthlyGroup(c.value, str(c.label)) for c in CallCategory}
    departments: dict[int, MonthlyGroup] = {}
    for call in calls:
        try:
            name = call.raised_by.person.name
        except call.raised_by._meta.model.person.RelatedObjectDoesNotExist:
            name = call.raised_by.get_username()
        arrive = (
            int((call.arrived_at - call.raised_at).total_seconds() // 60)
            if call.arrived_at
            else None
        )
        fix = (
            round((call.fixed_at - call.raised_at).total_seconds() / 3600, 1)
            if call.fixed_at
            else None
        )
        row = MonthlyRow(
            call=call,
            caller=mask_name(name),
            minutes_to_arrive=arrive,
            hours_to_fix=fix,
            arrived_on_time=arrived_on_time(call),
            fixed_on_time=fixed_on_time(call),
            on_time=_outcome(call, now),
        )
        rows.append(row)
        total.add(row)
        categories[call.category].add(row)
        department = departments.setdefault(
            call.department_id, MonthlyGroup(str(call.department_id), call.department.name)
        )
        department.add(row)
    return MonthlyReport(
        year=year,
        month=month,
        rows=rows,
        total=total,
        by_category=[g for g in categories.values() if g.calls],
        by_department=sorted(departments.values(), key=lambda g: (-g.calls, g.label)),
    )


def _yes_no(value: bool | None) -> str:
    if value is None:
        return "—"
    return _("是") if value else _("否")


MONTHLY_HEADERS = (
    gettext_noop("编号"),
    gettext_noop("呼叫时间"),
    gettext_noop("所属区划"),
    gettext_noop("类别"),
    gettext_noop("事项"),
    gettext_noop("责任部门"),
    gettext_noop("呼叫人"),
    gettext_noop("状态"),
    gettext_noop("到场用时（分钟）"),
    gettext_noop("整改用时（小时）"),
    gettext_noop("按时到场"),
    gettext_noop("按时整改"),
    gettext_noop("按期办结"),
    gettext_noop("满意度评价"),
)


def monthly_xlsx(report: MonthlyReport) -> bytes:
    """The public list as a workbook: the calls, then the totals per category and per
    department."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    bold = Font(bold=True)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("呼叫清单")
    sheet.append([_(h) for h in MONTHLY_HEADERS])
    for cell in sheet[1]:
        cell.font = bold
    sheet.freeze_panes = "A2"
    for row in report.rows:
        call = row.call
        sheet.append(
            [
                call.number,
                timezone.localtime(call.raised_at).replace(tzinfo=None),
                call.region.name,
                call.get_category_display(),
                call.title,
                call.department.name,
                row.caller,
                call.get_state_display(),
                row.minutes_to_arrive,
                row.hours_to_fix,
                _yes_no(row.arrived_on_time),
                _yes_no(row.fixed_on_time),
                _yes_no(row.on_time),
                call.rating,
            ]
        )
        sheet.cell(row=sheet.max_row, column=2).number_format = "yyyy-mm-dd hh:mm"
    for letter, width in zip(
        "ABCDEFGHIJKLMN", (30, 17, 14, 12, 30, 18, 8, 8, 10, 10, 8, 8, 8, 8), strict=True
    ):
        sheet.column_dimensions[letter].width = width
    totals = workbook.create_sheet(_("汇总"))
    heads = [_("分组"), _("名称"), _("呼叫数"), _("已判定"), _("按期"), _("按期率（%）")]
    totals.append([*heads, _("平均评分")])
    for cell in totals[1]:
        cell.font = bold
    groups = [(_("合计"), report.total)]
    groups += [(_("类别"), g) for g in report.by_category]
    groups += [(_("责任部门"), g) for g in report.by_department]
    for kind, group in groups:
        totals.append(
            [
                kind,
                group.label,
                group.calls,
                group.decided,
                group.on_time,
                group.on_time_rate,
                group.average_rating,
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
