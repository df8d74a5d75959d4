"""Periodic sweeps of the community app (registered with the worker when imported).

`escalate_overdue_calls` runs every minute: it escalates community calls not on site by
their `arrive_by` or not fixed by their `fix_by`, claiming each call with a conditional
UPDATE of `next_escalation_at`, so running it twice (or on two workers) is harmless.
"""

from __future__ import annotations

from frontline.community.services import calls_escalation
from frontline.core.worker import sweep


@sweep("escalate_overdue_calls", minutes=1)
def escalate_overdue_calls():
    return calls_escalation.escalate_overdue_calls()
