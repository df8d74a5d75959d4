"""The closed loop of a hazard (事故隐患闭环): 发现 → 确认 → 管控 → 整改 → 待验收 → 核销.

Side paths: 不予认定 (from 发现), 退回整改 (from 待验收), 延期申请 / 批准 / 不批准,
重大隐患治理方案 (五到位, required before a major hazard's rectification starts) and
挂牌督办 (listed supervision of a major hazard).

Every step is one service: keyword-only, `actor=`, one transaction, a guard read from the
single `TRANSITIONS` table, a `HazardEvent`, notifications queued in the same transaction
and the next reminder stored in `next_remind_at`. An illegal step raises `DomainError`
(code "illegal_transition", HTTP 409) with a Chinese reason.

Deadlines (see docs/hazards.md): rectification due 15 days after confirmation for a general
hazard and 60 days for a major one unless the confirmer sets another date; never more than
90 days after confirmation, extensions included. Verification is due 10 days after the
rectification is reported. All four figures are settings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from frontline.core.errors import DomainError, PermissionDenied
from frontline.core.models import (
    Attachment,
    AttachmentKind,
    Organization,
    OrganizationKind,
    Region,
    RegionLevel,
    RoleAssignment,
    TaskPriority,
)
from frontline.core.roles import ROLE_CAPABILITIES, Capability, Role, can
from frontline.core.scoping import active_assignments
from frontline.core.services.notifications import notify_users
from frontline.core.services.supervision import assign_task
from frontline.core.services.validation import Cleaner
from frontline.hazards.models import (
    Hazard,
    HazardLevel,
    HazardState,
    ListedSupervision,
    TreatmentPlan,
)
from frontline.hazards.models.hazards import OPEN_HAZARD_STATES
from frontline.hazards.services.reporting import hazard_event

# --- configuration -------------------------------------------------------------------------

DEFAULT_GENERAL_DAYS = 15
DEFAULT_MAJOR_DAYS = 60
DEFAULT_MAX_DAYS = 90
DEFAULT_VERIFY_DAYS = 10
DEFAULT_TASK_DAYS = 7


def _days(name: str, default: int) -> timedelta:
    return timedelta(days=int(getattr(settings, name, default)))


def default_due_days(level: str) -> timedelta:
    """Rectification time given at confirmation when the confirmer gives no date."""
    if level == HazardLevel.MAJOR:
        return _days("FRONTLINE_HAZARD_MAJOR_DAYS", DEFAULT_MAJOR_DAYS)
    return _days("FRONTLINE_HAZARD_GENERAL_DAYS", DEFAULT_GENERAL_DAYS)


def max_rectification() -> timedelta:
    """No deadline, extensions included, lies further than this after confirmation."""
    return _days("FRONTLINE_HAZARD_MAX_DAYS", DEFAULT_MAX_DAYS)


def verify_window() -> timedelta:
    """The verifying level answers a rectification report within this time."""
    return _days("FRONTLINE_HAZARD_VERIFY_DAYS", DEFAULT_VERIFY_DAYS)


def overdue_task_window() -> timedelta:
    """Time the supervised task opened for an overdue hazard gives its assignee."""
    return _days("FRONTLINE_HAZARD_OVERDUE_TASK_DAYS", DEFAULT_TASK_DAYS)


# --- the state machine ---------------------------------------------------------------------


class Who:
    STATION = "station"  # 站长/站内工作人员/区县管理员 at township level or above
    EDITOR = "editor"  # anyone who may edit in the hazard's region
    VERIFIER = "verifier"  # station for a general hazard, the supervising level for a major
    SUPERVISING = "supervising"  # EDIT on the region named as supervising level


@dataclass(frozen=True)
class Transition:
    name: str  # as in URLs: confirm, reject, control, plan, start, ...
    label: str  # Chinese verb for messages and buttons (gettext_noop)
    sources: tuple[str, ...]
    target: str | None  # None: no state change
    event: str
    who: str
    major_only: bool = False


_ACTIVE = (HazardState.CONFIRMED, HazardState.CONTROLLED, HazardState.RECTIFYING)

TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        Transition(
            "confirm",
            gettext_noop("确认定级"),
            (HazardState.FOUND,),
            HazardState.CONFIRMED,
            "confirmed",
            Who.STATION,
        ),
        Transition(
            "reject",
            gettext_noop("不予认定"),
            (HazardState.FOUND,),
            HazardState.REJECTED,
            "rejected",
            Who.STATION,
        ),
        Transition(
            "control",
            gettext_noop("采取管控措施"),
            (HazardState.CONFIRMED,),
            HazardState.CONTROLLED,
            "controlled",
            Who.EDITOR,
        ),
        Transition(
            "plan",
            gettext_noop("提交治理方案"),
            (HazardState.CONFIRMED, HazardState.CONTROLLED),
            None,
            "plan_submitted",
            Who.EDITOR,
            major_only=True,
        ),
        Transition(
            "start",
            gettext_noop("开始整改"),
            (HazardState.CONFIRMED, HazardState.CONTROLLED),
            HazardState.RECTIFYING,
            "rectification_started",
            Who.EDITOR,
        ),
        Transition(
            "request-extension",
            gettext_noop("申请延期"),
            _ACTIVE,
            None,
            "extension_requested",
            Who.EDITOR,
        ),
        Transition(
            "approve-extension",
            gettext_noop("批准延期"),
            _ACTIVE,
            None,
            "extension_approved",
            Who.STATION,
        ),
        Transition(
            "deny-extension",
            gettext_noop("不批准延期"),
            _ACTIVE,
            None,
            "extension_denied",
            Who.STATION,
        ),
        Transition(
            "rectified",
            gettext_noop("报告整改完成"),
            _ACTIVE,
            HazardState.PENDING_VERIFICATION,
            "rectified",
            Who.EDITOR,
        ),
        Transition(
            "verify",
            gettext_noop("验收核销"),
            (HazardState.PENDING_VERIFICATION,),
            HazardState.CLOSED,
            "closed",
            Who.VERIFIER,
        ),
        Transition(
            "return",
            gettext_noop("退回整改"),
            (HazardState.PENDING_VERIFICATION,),
            HazardState.RECTIFYING,
            "returned",
            Who.VERIFIER,
        ),
        Transition(
            "list",
            gettext_noop("挂牌督办"),
            (*_ACTIVE, HazardState.PENDING_VERIFICATION),
            None,
            "listed",
            Who.SUPERVISING,
            major_only=True,
        ),
    ]
}

STATION_ROLES = (Role.STATION_CHIEF, Role.STATION_STAFF, Role.COUNTY_ADMIN)
_ABOVE_VILLAGE = (RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY, RegionLevel.TOWNSHIP)


# --- who is who ----------------------------------------------------------------------------


def _superuser(user) -> bool:
    return bool(user.is_superuser and getattr(user, "_frontline_token", None) is None)


def is_station(user, region: Region) -> bool:
    """Station staff or chief (or the county administrator) at township level or above,
    with edit rights over `region`: who confirms, grades, rejects and decides extensions."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if _superuser(user):
        return True
    for assignment in active_assignments(user):
        if (
            assignment.role in STATION_ROLES
            and Capability.EDIT in ROLE_CAPABILITIES.get(assignment.role, ())
            and assignment.region.level in _ABOVE_VILLAGE
            and region.path.startswith(assignment.region.path)
        ):
            return True
    return False


def township_of(region: Region) -> Region:
    """The township (乡镇街道) above or at `region`; the region itself above that level."""
    if region.level == RegionLevel.TOWNSHIP or region.level in _ABOVE_VILLAGE:
        return region
    for ancestor in region.ancestors().order_by("-depth"):
        if ancestor.level == RegionLevel.TOWNSHIP:
            return ancestor
    return region


def supervising_region(hazard: Hazard) -> Region:
    """Who closes a major hazard: the level of its listed supervision, else the county
    (the township's parent)."""
    listed = listed_of(hazard)
    if listed is not None:
        return listed.supervising_region
    township = township_of(hazard.region)
    return township.parent if township.parent_id is not None else township


def listed_of(hazard: Hazard) -> ListedSupervision | None:
    try:
        return hazard.listed_supervision
    except ListedSupervision.DoesNotExist:
        return None


def plan_of(hazard: Hazard) -> TreatmentPlan | None:
    try:
        return hazard.treatment_plan
    except TreatmentPlan.DoesNotExist:
        return None


def may_verify(user, hazard: Hazard) -> bool:
    if hazard.is_major:
        return can(user, Capability.EDIT, supervising_region(hazard))
    return is_station(user, hazard.region)


def _may(user, hazard: Hazard, who: str) -> bool:
    if who == Who.STATION:
        return is_station(user, hazard.region)
    if who == Who.EDITOR:
        return can(user, Capability.EDIT, hazard.region)
    if who == Who.VERIFIER:
        return may_verify(user, hazard)
    if who == Who.SUPERVISING:
        # The county (or a level above it) lists a hazard of its townships.
        return can(user, Capability.EDIT, supervising_region(hazard))
    return False


def allowed_actions(user, hazard: Hazard) -> list[str]:
    """The steps this user may take on the hazard now (buttons, `actions` in the API)."""
    result = []
    for name, transition in TRANSITIONS.items():
        if hazard.state not in transition.sources:
            continue
        if transition.major_only and not hazard.is_major:
            continue
        pending = hazard.extension_requested_until is not None
        if name == "request-extension" and pending:
            continue
        if name in ("approve-extension", "deny-extension") and not pending:
            continue
        if name == "plan" and plan_of(hazard) is not None:
            continue
        if name == "list" and listed_of(hazard) is not None:
            continue
        if name == "start" and hazard.is_major and plan_of(hazard) is None:
            continue
        if name == "rectified" and hazard.is_major and hazard.state != HazardState.RECTIFYING:
            continue
        if not _may(user, hazard, transition.who):
            continue
        if name == "verify" and user.pk == hazard.rectifier_id:
            continue
        result.append(name)
    return result


def overdue_first(queryset, now: datetime | None = None):
    """Open and overdue first (oldest deadline first), then open by deadline, then closed
    ones, newest first."""
    now = now or timezone.now()
    rank = Case(
        When(state__in=OPEN_HAZARD_STATES, due_at__lt=now, then=Value(0)),
        When(state__in=OPEN_HAZARD_STATES, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return queryset.annotate(urgency_rank=rank).order_by(
        "urgency_rank", F("due_at").asc(nulls_last=True), "-found_at", "-id"
    )


# --- helpers -------------------------------------------------------------------------------


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _local(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


def link(hazard: Hazard) -> str:
    try:
        return reverse("hazard_detail", args=[hazard.pk])
    except NoReverseMatch:  # the pages are not mounted (an API-only deployment)
        return ""


def _locked(hazard: Hazard) -> Hazard:
    """Reload the row locked for this transaction, so the state checked is the state
    changed. The caller's object is refreshed in place."""
    fresh = Hazard.objects.select_for_update().get(pk=hazard.pk)
    for field in Hazard._meta.concrete_fields:
        setattr(hazard, field.attname, getattr(fresh, field.attname))
    return hazard


def _illegal(hazard: Hazard, transition: Transition, reason: str | None = None) -> DomainError:
    message = reason or _("隐患当前为「%(state)s」，不能%(action)s") % {
        "state": hazard.get_state_display(),
        "action": _(transition.label),
    }
    allowed = [n for n, t in TRANSITIONS.items() if hazard.state in t.sources]
    return DomainError(
        message,
        code="illegal_transition",
        details={"state": hazard.state, "action": transition.name, "allowed": allowed},
    )


def _guard(actor, hazard: Hazard, name: str) -> Transition:
    """Lock the row, then check the state and the actor's side of the step."""
    transition = TRANSITIONS[name]
    _locked(hazard)
    if hazard.state not in transition.sources:
        raise _illegal(hazard, transition)
    if transition.major_only and not hazard.is_major:
        raise _illegal(
            hazard,
            transition,
            _("只有重大隐患才能%(action)s") % {"action": _(transition.label)},
        )
    if actor is not None and not _may(actor, hazard, transition.who):
        raise PermissionDenied(_permission_message(transition, hazard))
    return transition


def _permission_message(transition: Transition, hazard: Hazard) -> str:
    if transition.who == Who.STATION:
        return _("只有乡镇（街道）及以上应急管理站站长、工作人员可以%(action)s") % {
            "action": _(transition.label)
        }
    if transition.who in (Who.VERIFIER, Who.SUPERVISING) and hazard.is_major:
        return _("重大隐患须由督办层级（%(region)s）%(action)s") % {
            "region": supervising_region(hazard).name,
            "action": _(transition.label),
        }
    if transition.who == Who.VERIFIER:
        return _("只有乡镇（街道）及以上应急管理站站长、工作人员可以%(action)s") % {
            "action": _(transition.label)
        }
    return _("您没有此操作的权限")


def next_reminder(hazard: Hazard) -> datetime | None:
    """When the sweep looks at the hazard next: its rectification deadline while it is
    being rectified and not yet under a supervised task, its verification deadline while
    it waits for verification. Stored at every transition."""
    if hazard.state in _ACTIVE and hazard.supervised_task_id is None:
        return hazard.due_at
    if hazard.state == HazardState.PENDING_VERIFICATION:
        return hazard.verify_due_at
    return None


def _save(hazard: Hazard) -> None:
    hazard.next_remind_at = next_reminder(hazard)
    hazard.save()


def _move(actor, hazard: Hazard, transition: Transition, *, note: str = "", **data):
    from_state = hazard.state
    if transition.target is not None:
        hazard.state = transition.target
    _save(hazard)
    return hazard_event(
        hazard=hazard,
        actor=actor,
        kind=transition.event,
        from_state=from_state,
        note=note,
        data={k: v for k, v in data.items() if v is not None},
    )


def station_users(region: Region) -> list:
    """Accounts holding a station role on the township of `region` (or on the region
    itself above township level)."""
    return role_users(township_of(region))


def role_users(region: Region) -> list:
    User = get_user_model()
    user_ids = RoleAssignment.objects.filter(
        region=region, role__in=STATION_ROLES, revoked_at__isnull=True
    ).values("user_id")
    return list(User.objects.filter(pk__in=user_ids, is_active=True))


def verifier_users(hazard: Hazard) -> list:
    if hazard.is_major:
        return role_users(supervising_region(hazard))
    return station_users(hazard.region)


def _notify(
    users,
    actor,
    hazard: Hazard,
    kind: str,
    subject: str,
    body: str = "",
    *,
    values: dict | None = None,
    **kw,
):
    """Queue a notification about the hazard to `users`, never to the actor. `subject` may
    name %(number)s, %(title)s and the keys of `values`."""
    recipients = [u for u in users if u is not None and (actor is None or u.pk != actor.pk)]
    if not recipients:
        return
    notify_users(
        recipients,
        kind=kind,
        subject=subject % {"number": hazard.number, "title": hazard.title, **(values or {})},
        body=body,
        link=link(hazard),
        related=hazard,
        **kw,
    )


def _users(*ids) -> list:
    ids = [i for i in ids if i is not None]
    if not ids:
        return []
    return list(get_user_model().objects.filter(pk__in=ids, is_active=True))


def _check_deadline(
    value: datetime | None, field: str, *, now: datetime, start: datetime, cleaner: Cleaner
) -> datetime | None:
    """A deadline after now and at most the maximum rectification time after `start`."""
    value = _aware(value)
    if value is None:
        return None
    limit = start + max_rectification()
    if value <= now:
        cleaner.fail(field, _("期限不能早于当前时间"))
    elif value > limit:
        cleaner.fail(
            field,
            _("期限不能晚于确认后 %(days)d 天（%(limit)s）")
            % {"days": max_rectification().days, "limit": _local(limit)},
        )
    return value


# --- services ------------------------------------------------------------------------------


@transaction.atomic
def confirm_hazard(
    *,
    actor,
    hazard: Hazard,
    level: str,
    responsible_person: str,
    level_basis: str = "",
    due_at: datetime | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Hazard:
    """确认定级: the station grades the hazard, names who answers for its rectification and
    sets the deadline (default per level; never in the past, never beyond 90 days)."""
    now = now or timezone.now()
    transition = _guard(actor, hazard, "confirm")
    cleaner = Cleaner()
    level = cleaner.choice(level, "level", HazardLevel)
    level_basis = cleaner.text(
        level_basis, "level_basis", required=level == HazardLevel.MAJOR, max_length=300
    )
    responsible_person = cleaner.text(
        responsible_person, "responsible_person", required=True, max_length=50
    )
    note = cleaner.text(note, "note", required=False, max_length=2000)
    due_at = _check_deadline(due_at, "due_at", now=now, start=now, cleaner=cleaner)
    cleaner.done()
    hazard.level = level
    hazard.level_basis = level_basis
    hazard.responsible_person = responsible_person
    hazard.confirmed_at = now
    hazard.due_at = due_at or now + default_due_days(level)
    _move(
        actor,
        hazard,
        transition,
        note=note,
        level=level,
        level_basis=level_basis,
        responsible_person=responsible_person,
        due_at=hazard.due_at.isoformat(),
    )
    _notify(
        [*_users(hazard.reported_by_id), *station_users(hazard.region)],
        actor,
        hazard,
        "hazard_confirmed",
        _("隐患已确认（%(level)s）：%(title)s"),
        _("编号 %(number)s，整改责任人 %(person)s，整改期限 %(due)s。")
        % {"number": hazard.number, "person": responsible_person, "due": _local(hazard.due_at)},
        values={"level": hazard.get_level_display()},
        urgent=hazard.is_major,
    )
    return hazard


@transaction.atomic
def reject_hazard(*, actor, hazard: Hazard, reason: str) -> Hazard:
    """不予认定: the report is not a hazard (already removed, a duplicate, not a safety
    matter). The reason is required and goes back to the reporter."""
    transition = _guard(actor, hazard, "reject")
    cleaner = Cleaner()
    reason = cleaner.text(reason, "reason", required=True, max_length=2000)
    cleaner.done()
    _move(actor, hazard, transition, note=reason)
    _notify(
        _users(hazard.reported_by_id),
        actor,
        hazard,
        "hazard_rejected",
        _("上报的隐患不予认定：%(title)s"),
        reason,
    )
    return hazard


@transaction.atomic
def control_hazard(*, actor, hazard: Hazard, measures: str) -> Hazard:
    """管控 (optional step): interim measures while rectification is prepared."""
    transition = _guard(actor, hazard, "control")
    cleaner = Cleaner()
    measures = cleaner.text(measures, "measures", required=True, max_length=2000)
    cleaner.done()
    _move(actor, hazard, transition, note=measures)
    _notify(
        station_users(hazard.region),
        actor,
        hazard,
        "hazard_controlled",
        _("隐患已采取管控措施：%(title)s"),
        measures,
    )
    return hazard


PLAN_TEXT_FIELDS = {
    "current_state": 5000,
    "danger_analysis": 5000,
    "goal": 5000,
    "measures": 5000,
    "responsible_unit": 100,
    "responsible_person": 50,
    "safety_measures": 5000,
    "emergency_plan": 5000,
}


@transaction.atomic
def submit_treatment_plan(
    *,
    actor,
    hazard: Hazard,
    current_state: str,
    danger_analysis: str,
    goal: str,
    measures: str,
    funds,
    responsible_unit: str,
    responsible_person: str,
    time_limit,
    safety_measures: str,
    emergency_plan: str,
) -> TreatmentPlan:
    """重大隐患治理方案 (五到位: measures, funds, deadline, responsible person, emergency plan),
    required before a major hazard's rectification starts. The time limit lies within the
    hazard's deadline."""
    transition = _guard(actor, hazard, "plan")
    if plan_of(hazard) is not None:
        raise DomainError(_("该隐患已有治理方案"), code="plan_exists")
    cleaner = Cleaner()
    texts = {
        name: cleaner.text(value, name, required=True, max_length=PLAN_TEXT_FIELDS[name])
        for name, value in (
            ("current_state", current_state),
            ("danger_analysis", danger_analysis),
            ("goal", goal),
            ("measures", measures),
            ("responsible_unit", responsible_unit),
            ("responsible_person", responsible_person),
            ("safety_measures", safety_measures),
            ("emergency_plan", emergency_plan),
        )
    }
    amount = None
    try:
        amount = Decimal(str(funds)) if funds not in (None, "") else None
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite():
        cleaner.fail("funds", _("请填写治理经费（万元）"))
    elif amount < 0 or amount >= Decimal("1e10"):
        cleaner.fail("funds", _("经费金额不正确"))
    if time_limit is None:
        cleaner.fail("time_limit", _("此字段为必填项"))
    elif hazard.due_at is not None and time_limit > timezone.localtime(hazard.due_at).date():
        cleaner.fail(
            "time_limit",
            _("治理时限不能晚于整改期限（%(due)s）") % {"due": _local(hazard.due_at)},
        )
    cleaner.done()
    plan = TreatmentPlan.objects.create(
        hazard=hazard,
        funds=amount.quantize(Decimal("0.01")),
        time_limit=time_limit,
        approved_at=timezone.now(),
        **texts,
    )
    hazard.treatment_plan = plan
    _move(
        actor,
        hazard,
        transition,
        note=texts["measures"],
        funds=str(plan.funds),
        time_limit=time_limit.isoformat(),
        responsible_unit=texts["responsible_unit"],
        responsible_person=texts["responsible_person"],
    )
    _notify(
        verifier_users(hazard),
        actor,
        hazard,
        "hazard_plan_submitted",
        _("重大隐患治理方案已提交：%(title)s"),
        texts["goal"],
    )
    return plan


@transaction.atomic
def start_rectification(*, actor, hazard: Hazard, note: str = "") -> Hazard:
    """整改: work begins. A major hazard needs its treatment plan first."""
    transition = _guard(actor, hazard, "start")
    if hazard.is_major and plan_of(hazard) is None:
        raise _illegal(hazard, transition, _("重大隐患须先提交治理方案（五到位）才能开始整改"))
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=False, max_length=2000)
    cleaner.done()
    _move(actor, hazard, transition, note=note)
    return hazard


@transaction.atomic
def request_extension(*, actor, hazard: Hazard, until: datetime, reason: str) -> Hazard:
    """延期申请: the rectifying side asks for a later deadline, at most 90 days after
    confirmation. The station decides."""
    now = timezone.now()
    transition = _guard(actor, hazard, "request-extension")
    if hazard.extension_requested_until is not None:
        raise _illegal(hazard, transition, _("已有待审批的延期申请"))
    cleaner = Cleaner()
    reason = cleaner.text(reason, "reason", required=True, max_length=300)
    if until is None:
        cleaner.fail("until", _("此字段为必填项"))
    until = _check_deadline(
        until, "until", now=now, start=hazard.confirmed_at or now, cleaner=cleaner
    )
    if until is not None and hazard.due_at is not None and until <= hazard.due_at:
        cleaner.fail("until", _("延期后的期限应晚于原整改期限"))
    cleaner.done()
    hazard.extension_requested_until = until
    hazard.extension_reason = reason
    _move(actor, hazard, transition, note=reason, until=until.isoformat())
    _notify(
        station_users(hazard.region),
        actor,
        hazard,
        "hazard_extension_requested",
        _("隐患整改申请延期，待审批：%(title)s"),
        _("申请延期至 %(until)s。%(reason)s") % {"until": _local(until), "reason": reason},
    )
    return hazard


def _requester_id(hazard: Hazard) -> int | None:
    return (
        hazard.events.filter(kind="extension_requested")
        .order_by("-at", "-id")
        .values_list("actor_id", flat=True)
        .first()
    )


@transaction.atomic
def approve_extension(*, actor, hazard: Hazard, note: str = "") -> Hazard:
    """批准延期: the requested date becomes the deadline."""
    transition = _guard(actor, hazard, "approve-extension")
    if hazard.extension_requested_until is None:
        raise _illegal(hazard, transition, _("没有待审批的延期申请"))
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=False, max_length=2000)
    cleaner.done()
    old_due = hazard.due_at
    hazard.due_at = hazard.extension_requested_until
    hazard.extension_requested_until = None
    _move(
        actor,
        hazard,
        transition,
        note=note,
        old_due_at=old_due.isoformat() if old_due else None,
        due_at=hazard.due_at.isoformat(),
    )
    _notify(
        _users(_requester_id(hazard)),
        actor,
        hazard,
        "hazard_extension_approved",
        _("隐患整改延期已批准：%(title)s"),
        _("新的整改期限：%(due)s。") % {"due": _local(hazard.due_at)},
    )
    return hazard


@transaction.atomic
def deny_extension(*, actor, hazard: Hazard, reason: str) -> Hazard:
    """不批准延期: the deadline stays; the reason goes back to the requester."""
    transition = _guard(actor, hazard, "deny-extension")
    if hazard.extension_requested_until is None:
        raise _illegal(hazard, transition, _("没有待审批的延期申请"))
    cleaner = Cleaner()
    reason = cleaner.text(reason, "reason", required=True, max_length=2000)
    cleaner.done()
    requested = hazard.extension_requested_until
    hazard.extension_requested_until = None
    _move(actor, hazard, transition, note=reason, requested_until=requested.isoformat())
    _notify(
        _users(_requester_id(hazard)),
        actor,
        hazard,
        "hazard_extension_denied",
        _("隐患整改延期未获批准：%(title)s"),
        reason,
    )
    return hazard


def _after_photos(hazard: Hazard, photo_ids, cleaner: Cleaner) -> list[int]:
    """The after-evidence: image attachments of this hazard, uploaded after it was confirmed
    (a photo from before is not evidence of the rectification)."""
    ids: list[int] = []
    for value in photo_ids or []:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            cleaner.fail("after_photo_ids", _("照片编号不正确"))
            return []
    ids = sorted(set(ids))
    if not ids:
        cleaner.fail("after_photo_ids", _("请上传至少一张整改后的现场照片"))
        return []
    photos = Attachment.objects.filter(
        pk__in=ids,
        owner_type=ContentType.objects.get_for_model(Hazard),
        owner_id=str(hazard.pk),
        kind=AttachmentKind.IMAGE,
    )
    if hazard.confirmed_at is not None:
        photos = photos.filter(uploaded_at__gte=hazard.confirmed_at)
    found = set(photos.values_list("pk", flat=True))
    if found != set(ids):
        cleaner.fail(
            "after_photo_ids",
            _("整改后照片须为本隐患在确认之后上传的图片附件"),
        )
    return ids


@transaction.atomic
def report_rectified(
    *, actor, hazard: Hazard, note: str, after_photo_ids, now: datetime | None = None
) -> Hazard:
    """整改完成 → 待验收: says what was done, with at least one photo taken after. The
    reporter is recorded as the rectifier (who may then not verify). Verification is due
    within 10 days."""
    now = now or timezone.now()
    transition = _guard(actor, hazard, "rectified")
    if hazard.is_major and hazard.state != HazardState.RECTIFYING:
        raise _illegal(hazard, transition, _("重大隐患须按治理方案开始整改后才能报告整改完成"))
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=True, max_length=2000)
    ids = _after_photos(hazard, after_photo_ids, cleaner)
    cleaner.done()
    hazard.rectifier = actor if getattr(actor, "pk", None) else None
    hazard.rectified_at = now
    hazard.verify_due_at = now + verify_window()
    hazard.extension_requested_until = None
    _move(
        actor,
        hazard,
        transition,
        note=note,
        after_photo_ids=ids,
        verify_due_at=hazard.verify_due_at.isoformat(),
    )
    _notify(
        verifier_users(hazard),
        actor,
        hazard,
        "hazard_rectified",
        _("隐患已整改，待验收：%(title)s"),
        _("编号 %(number)s，请于 %(due)s 前验收。")
        % {"number": hazard.number, "due": _local(hazard.verify_due_at)},
        urgent=hazard.is_major,
    )
    return hazard


@transaction.atomic
def verify_hazard(*, actor, hazard: Hazard, note: str = "") -> Hazard:
    """验收核销: the verifier accepts the rectification and closes the hazard. Whoever
    rectified does not verify; a major hazard is closed by the supervising level, with its
    written opinion (resuming production) as the note."""
    transition = _guard(actor, hazard, "verify")
    if actor is not None and hazard.rectifier_id == actor.pk:
        raise DomainError(_("验收人不能是整改人：谁整改，谁不验收"), code="verifier_is_rectifier")
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=hazard.is_major, max_length=2000)
    cleaner.done()
    now = timezone.now()
    hazard.verifier = actor if getattr(actor, "pk", None) else None
    hazard.closed_at = now
    listed = listed_of(hazard)
    if listed is not None and listed.lifted_at is None:
        listed.lifted_at = now
        listed.save(update_fields=["lifted_at"])
    _move(actor, hazard, transition, note=note, late=hazard.is_overdue(now) or None)
    _notify(
        _users(hazard.reported_by_id, hazard.rectifier_id),
        actor,
        hazard,
        "hazard_closed",
        _("隐患已验收核销：%(title)s"),
        note,
    )
    return hazard


@transaction.atomic
def return_for_rework(
    *, actor, hazard: Hazard, reason: str, due_at: datetime | None = None
) -> Hazard:
    """退回整改: the verifier does not accept the work; back to 整改 with the reason (and,
    when the deadline has passed, perhaps a new one within the 90 days)."""
    now = timezone.now()
    transition = _guard(actor, hazard, "return")
    cleaner = Cleaner()
    reason = cleaner.text(reason, "reason", required=True, max_length=2000)
    due_at = _check_deadline(
        due_at, "due_at", now=now, start=hazard.confirmed_at or now, cleaner=cleaner
    )
    cleaner.done()
    rectifier_id = hazard.rectifier_id
    old_due = hazard.due_at
    if due_at is not None:
        hazard.due_at = due_at
    hazard.rectified_at = None
    hazard.verify_due_at = None
    _move(
        actor,
        hazard,
        transition,
        note=reason,
        old_due_at=old_due.isoformat() if due_at and old_due else None,
        due_at=due_at.isoformat() if due_at else None,
    )
    _notify(
        _users(rectifier_id),
        actor,
        hazard,
        "hazard_returned",
        _("隐患整改被退回：%(title)s"),
        reason,
    )
    return hazard


@transaction.atomic
def list_for_supervision(
    *,
    actor,
    hazard: Hazard,
    supervising_region: Region,
    document_number: str,
    deadline: datetime,
) -> ListedSupervision:
    """挂牌督办 of a major hazard by a government level above its township: that level
    then closes it. The deadline lies within 90 days of confirmation."""
    now = timezone.now()
    transition = _guard(actor, hazard, "list")
    if listed_of(hazard) is not None:
        raise DomainError(_("该隐患已挂牌督办"), code="already_listed")
    cleaner = Cleaner()
    document_number = cleaner.text(document_number, "document_number", required=True, max_length=60)
    township = township_of(hazard.region)
    if supervising_region is None:
        cleaner.fail("supervising_region", _("此字段为必填项"))
    elif supervising_region.pk == township.pk or not township.path.startswith(
        supervising_region.path
    ):
        cleaner.fail("supervising_region", _("督办层级应为隐患所在乡镇（街道）的上级"))
    elif actor is not None and not can(actor, Capability.EDIT, supervising_region):
        raise PermissionDenied(_("只有督办层级的工作人员可以挂牌督办"))
    if deadline is None:
        cleaner.fail("deadline", _("此字段为必填项"))
    deadline = _check_deadline(
        deadline, "deadline", now=now, start=hazard.confirmed_at or now, cleaner=cleaner
    )
    cleaner.done()
    listed = ListedSupervision.objects.create(
        hazard=hazard,
        supervising_region=supervising_region,
        document_number=document_number,
        deadline=deadline,
        listed_at=now,
    )
    hazard.listed_supervision = listed
    _move(
        actor,
        hazard,
        transition,
        note=document_number,
        supervising_region=supervising_region.code,
        document_number=document_number,
        deadline=deadline.isoformat(),
    )
    _notify(
        station_users(hazard.region),
        actor,
        hazard,
        "hazard_listed",
        _("重大隐患已挂牌督办：%(title)s"),
        _("督办文号 %(doc)s，督办层级 %(region)s，期限 %(deadline)s。")
        % {
            "doc": document_number,
            "region": supervising_region.name,
            "deadline": _local(deadline),
        },
        urgent=True,
    )
    return listed


# --- the sweep -----------------------------------------------------------------------------


def escalate_overdue_hazards(now: datetime | None = None) -> dict[str, int]:
    """Open hazards whose stored reminder has come: an overdue rectification gets one
    supervised task (督办任务) for the responsible station, linked to the hazard, and the
    station and the supervising level are told; an overdue verification is reminded to
    the verifiers. Each hazard is claimed with a conditional UPDATE of `next_remind_at`,
    so a second run or a second worker does nothing twice."""
    now = now or timezone.now()
    counts = {"escalated": 0, "reminded": 0, "skipped": 0}
    due = (
        Hazard.objects.filter(state__in=OPEN_HAZARD_STATES, next_remind_at__lte=now)
        .order_by("next_remind_at", "id")
        .values_list("pk", flat=True)
    )
    for pk in list(due[:1000]):
        counts[_handle_due_hazard(pk, now)] += 1
    return counts


def responsible_organization(hazard: Hazard) -> Organization | None:
    """The 应急管理站 of the hazard's township (the nearest station above the hazard)."""
    paths = [p for p in hazard.region.path.split("/") if p]
    codes = paths[::-1]
    stations = {
        org.region.code: org
        for org in Organization.objects.filter(
            kind__in=[OrganizationKind.STATION, OrganizationKind.COMMUNITY_STATION],
            region__code__in=codes,
        )
        .select_related("region")
        .order_by("-id")
    }
    for code in codes:
        if code in stations:
            return stations[code]
    return None


@transaction.atomic
def _handle_due_hazard(pk: int, now: datetime) -> str:
    hazard = (
        Hazard.objects.select_related("region")
        .filter(pk=pk, state__in=OPEN_HAZARD_STATES, next_remind_at__lte=now)
        .first()
    )
    if hazard is None:
        return "skipped"
    claimed = Hazard.objects.filter(
        pk=hazard.pk, state=hazard.state, next_remind_at=hazard.next_remind_at
    ).update(next_remind_at=None)
    if not claimed:
        return "skipped"
    hazard.next_remind_at = None
    if hazard.state == HazardState.PENDING_VERIFICATION:
        hazard_event(
            hazard=hazard,
            actor=None,
            kind="verify_overdue",
            from_state=hazard.state,
            note=_("超过验收期限未验收"),
            data={"verify_due_at": hazard.verify_due_at.isoformat()},
        )
        _notify(
            verifier_users(hazard),
            None,
            hazard,
            "hazard_verify_overdue",
            _("隐患超过验收期限未验收：%(title)s"),
            _("编号 %(number)s，验收期限 %(due)s。")
            % {"number": hazard.number, "due": _local(hazard.verify_due_at)},
            urgent=True,
        )
        return "reminded"
    if hazard.supervised_task_id is not None:
        return "skipped"
    organization = responsible_organization(hazard)
    body = _("隐患 %(number)s「%(title)s」超过整改期限 %(due)s 仍未整改完成，请督促整改。") % {
        "number": hazard.number,
        "title": hazard.title,
        "due": _local(hazard.due_at),
    }
    url = link(hazard)
    task = None
    if organization is not None:
        task = assign_task(
            actor=None,
            title=(_("督办逾期隐患：%(title)s") % {"title": hazard.title})[:200],
            region=hazard.region,
            due_at=max(now, timezone.now()) + overdue_task_window(),
            assignee_organization=organization,
            description=f"{body}\n{url}" if url else body,
            priority=TaskPriority.URGENT if hazard.is_major else TaskPriority.NORMAL,
            subject=hazard,
        )
        Hazard.objects.filter(pk=hazard.pk).update(supervised_task=task)
        hazard.supervised_task = task
    hazard_event(
        hazard=hazard,
        actor=None,
        kind="overdue",
        from_state=hazard.state,
        note=_("超过整改期限未整改完成，已下达督办任务 %(number)s") % {"number": task.number}
        if task
        else _("超过整改期限未整改完成（未找到负责的应急管理站，未下达督办任务）"),
        data={"due_at": hazard.due_at.isoformat(), "task_id": task.pk if task else None},
    )
    recipients = station_users(hazard.region)
    if hazard.is_major:
        recipients += role_users(supervising_region(hazard))
    _notify(
        recipients,
        None,
        hazard,
        "hazard_overdue",
        _("隐患逾期未整改：%(title)s"),
        body,
        urgent=True,
    )
    return "escalated"


# --- reporting from the field: where, and how often ----------------------------------------

DEFAULT_REPORT_LIMIT = 10
DEFAULT_REPORT_WINDOW_MINUTES = 10


class TooManyReports(DomainError):
    """More reports from one account than the window allows (HTTP 429)."""

    status = 429
    code = "rate_limited"


def check_report_rate(user, *, now: float | None = None) -> None:
    """At most `FRONTLINE_HAZARD_REPORT_LIMIT` reports per account in
    `FRONTLINE_HAZARD_REPORT_WINDOW_MINUTES` (fixed windows in the Django cache). Counts
    the attempt; raises TooManyReports past the limit."""
    limit = int(getattr(settings, "FRONTLINE_HAZARD_REPORT_LIMIT", DEFAULT_REPORT_LIMIT))
    minutes = int(
        getattr(settings, "FRONTLINE_HAZARD_REPORT_WINDOW_MINUTES", DEFAULT_REPORT_WINDOW_MINUTES)
    )
    window = minutes * 60
    bucket = int((now if now is not None else time.time()) // window)
    key = f"frontline:hazard-report:{getattr(user, 'pk', None)}:{bucket}"
    cache.add(key, 0, timeout=window + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 60)
        count = 1
    if count > limit:
        raise TooManyReports(
            _("上报过于频繁：每 %(minutes)d 分钟最多上报 %(limit)d 条，请稍后再试")
            % {"minutes": minutes, "limit": limit}
        )


def report_regions(user):
    """Regions where the user may report (edit), finest last."""
    from frontline.core.forms import regions_with

    return regions_with(user, Capability.EDIT).order_by("path")


def region_for_report(user, *, lon: float | None = None, lat: float | None = None):
    """The region a report from the field belongs to: the finest region whose boundary
    holds the point, when the user may report there; else the user's own region when they
    hold exactly one place to report in; else None (the user chooses)."""
    allowed = report_regions(user)
    if lon is not None and lat is not None:
        from frontline.core.geo import get_locator

        region_id = get_locator().locate(lon, lat)
        if region_id is not None:
            found = allowed.filter(pk=region_id).first()
            if found is not None:
                return found
    assignments = [
        a for a in active_assignments(user) if Capability.EDIT in ROLE_CAPABILITIES.get(a.role, ())
    ]
    if len(assignments) == 1:
        return allowed.filter(pk=assignments[0].region_id).first()
    return None


__all__ = [
    "TRANSITIONS",
    "TooManyReports",
    "allowed_actions",
    "approve_extension",
    "check_report_rate",
    "confirm_hazard",
    "control_hazard",
    "deny_extension",
    "escalate_overdue_hazards",
    "list_for_supervision",
    "overdue_first",
    "region_for_report",
    "reject_hazard",
    "report_rectified",
    "request_extension",
    "return_for_rework",
    "start_rectification",
    "submit_treatment_plan",
    "verify_hazard",
]
