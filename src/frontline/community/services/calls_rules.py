"""The rules of community calls: time limits, the loop's steps, overdue and on time.

Everything here is pure: no writes, no queries but the settings. The loop itself is in
`calls.py`, who may do what in `calls_people.py`, the sweep in `calls_escalation.py` and the
monthly public list in `calls_monthly.py`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from frontline.community.models import CallCategory, CallState, CommunityCall

# Calls are numbered HJ-<region code>-<year>-<5 digits> by `core.numbers.save_with_number`.
NUMBER_PREFIX = "HJ"

# --- configuration -------------------------------------------------------------------------

URGENT_CATEGORIES = frozenset({CallCategory.FIRE, CallCategory.GAS, CallCategory.POWER})
DEFAULT_ARRIVE_MINUTES = {c: 30 for c in URGENT_CATEGORIES}
DEFAULT_ARRIVE_MINUTES_OTHER = 120
DEFAULT_FIX_HOURS = {CallCategory.FIRE: 24, CallCategory.GAS: 24}
DEFAULT_FIX_HOURS_OTHER = 72
DEFAULT_ESCALATE_MINUTES = 60
DEFAULT_REWORK_HOURS = 24


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


# --- the loop's steps ---------------------------------------------------------------------


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


# --- overdue, on time, the next look of the sweep ----------------------------------------


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


def next_escalation(call: CommunityCall, now: datetime, state=None) -> datetime | None:
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
