"""The sweep of supervised tasks, registered with the worker.

Imported by `frontline.core.tasks` (Huey's autodiscovery finds `tasks` modules only), so the
worker runs it every minute. The work itself is the service `escalate_overdue_tasks`: it
claims every due task with a conditional UPDATE, so running it twice is harmless.
"""

from __future__ import annotations

from frontline.core.services import supervision_sweep
from frontline.core.worker import sweep


@sweep("escalate_overdue_tasks", minutes=1)
def escalate_overdue_tasks():
    return supervision_sweep.escalate_overdue_tasks()
