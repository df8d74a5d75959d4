"""Background work of the resources app, found by Huey's autodiscovery of `tasks` modules.

The near-expiry sweep runs once a day. The core's `sweep` decorator schedules by minutes
within the hour (`*/N`), which cannot say "daily", so the periodic task is declared here
with its own crontab and the same lock; it is still entered in the core's registry so
`frontline worker --once` and the tests run it with the other sweeps. Running it more often
would do no harm: the service tells about each lot once (`expiry_alerted_at`).
"""

from __future__ import annotations

import logging
import time

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from frontline.core.worker import SWEEPS, Sweep
from frontline.resources.services import stock

logger = logging.getLogger(__name__)

NEAR_EXPIRY_SWEEP = "notify_near_expiry_stock"
# Huey's crontab is in UTC (settings.HUEY["utc"]): 23:30 UTC is 07:30 in Asia/Shanghai, so
# the notice is waiting when the keeper starts the day.
NEAR_EXPIRY_SCHEDULE = crontab(hour="23", minute="30")


def notify_near_expiry_stock() -> int:
    return stock.sweep_near_expiry()


@db_periodic_task(NEAR_EXPIRY_SCHEDULE, name=f"sweep.{NEAR_EXPIRY_SWEEP}")
@lock_task(f"sweep.{NEAR_EXPIRY_SWEEP}")
def near_expiry_sweep():
    started = time.monotonic()
    told = notify_near_expiry_stock()
    logger.info(
        "sweep %s done in %.2f s: %s lots", NEAR_EXPIRY_SWEEP, time.monotonic() - started, told
    )
    return told


SWEEPS.setdefault(
    NEAR_EXPIRY_SWEEP,
    Sweep(name=NEAR_EXPIRY_SWEEP, minutes=24 * 60, function=notify_near_expiry_stock),
)


# The equipment and certificate sweeps register themselves on import.
from frontline.resources import tasks_units  # noqa: E402, F401
