"""The escalation sweep of community calls: a call not on site by `arrive_by` or not fixed
by `fix_by` escalates to the station, from the second time on to the county as well, and
again after every `escalate_interval()` while it stays overdue.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.community.models import CallState, CommunityCall
from frontline.community.services.calls import record_event
from frontline.community.services.calls_people import (
    call_link,
    county_of,
    county_users,
    department_users,
    local_time,
    station_users,
    township_of,
)
from frontline.community.services.calls_rules import escalate_interval, next_escalation
from frontline.core.services.notifications import notify_users

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
        following = next_escalation(call, now)
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
    record_event(
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
        "arrive": local_time(call.arrive_by),
        "fix": local_time(call.fix_by),
    }
    notify_users(
        {u.pk: u for u in recipients}.values(),
        kind="call_escalated",
        subject=subject,
        body=body,
        link=call_link(call),
        related=call,
        urgent=True,
    )
    notify_users(
        department_users(call),
        kind="call_overdue",
        subject=subject,
        body=body,
        link=call_link(call),
        related=call,
        urgent=True,
        webhooks=False,
    )
    return "escalated"
