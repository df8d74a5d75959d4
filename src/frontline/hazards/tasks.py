"""Background work of the hazards app, found by Huey's autodiscovery of `tasks` modules."""

from __future__ import annotations

from frontline.core.worker import sweep
from frontline.hazards.services import escalation


@sweep("escalate_overdue_hazards", minutes=5)
def escalate_overdue_hazards():
    return escalation.escalate_overdue_hazards()
