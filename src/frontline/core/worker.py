"""The background worker: Huey, and the registry of periodic sweeps.

A sweep finds its work in the database every time it runs (overdue tasks, queued
notifications, silent devices), so a worker that crashed or was stopped loses nothing: the
next sweep on any worker picks the work up again. Sweeps must be idempotent.

    from frontline.core.worker import sweep

    @sweep("escalate_overdue_tasks", minutes=1)
    def escalate_overdue_tasks():
        ...

Huey stores its queue in SQLite under var/ by default, in Redis when REDIS_URL is set
(settings.HUEY). `frontline worker` runs the consumer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, lock_task

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sweep:
    name: str
    minutes: int
    function: Callable[[], object]


SWEEPS: dict[str, Sweep] = {}


def sweep(name: str, *, minutes: int = 1):
    """Register a periodic sweep run every `minutes` by the worker.

    The lock keeps two workers from running the same sweep at once; the sweep itself must
    still claim rows with conditional updates when several workers share the queue.
    """

    def decorator(function: Callable[[], object]) -> Callable[[], object]:
        if name in SWEEPS:
            raise ValueError(f"sweep {name!r} registered twice")
        SWEEPS[name] = Sweep(name=name, minutes=minutes, function=function)

        @db_periodic_task(crontab(minute=f"*/{minutes}"), name=f"sweep.{name}")
        @lock_task(f"sweep.{name}")
        def periodic():
            started = time.monotonic()
            result = function()
            logger.info("sweep %s done in %.2f s: %s", name, time.monotonic() - started, result)
            return result

        return function

    return decorator


def run_all_sweeps() -> dict[str, object]:
    """Run every sweep once, in this process (tests, `frontline worker --once`)."""
    return {name: entry.function() for name, entry in sorted(SWEEPS.items())}


__all__ = ["HUEY", "SWEEPS", "Sweep", "run_all_sweeps", "sweep"]
