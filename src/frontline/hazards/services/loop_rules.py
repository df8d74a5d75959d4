"""The rules of the hazard loop: deadlines, the transition table, who may do what, and the
helpers every transition uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from frontline.core.errors import DomainError, PermissionDenied
from frontline.core.models import (
    Region,
    RegionLevel,
    RoleAssignment,
)
from frontline.core.roles import ROLE_CAPABILITIES, Capability, Role, can
from frontline.core.scoping import active_assignments
from frontline.core.services.notifications import notify_users
from frontline.core.services.validation import Cleaner
from frontline.hazards.models import (
    Hazard,
    HazardLevel,
    HazardState,
    ListedSupervision,
    TreatmentPlan,
)
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


def in_queue_order(queryset):
    """The work queue: open hazards by deadline (so the overdue ones lead), then open ones
    still without a deadline, then closed and rejected ones; newest first within each.
    `Hazard.queue_rank` and `queue_due` are kept by the database for this order."""
    return queryset.order_by("queue_rank", "queue_due", "-found_at", "-id")


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
