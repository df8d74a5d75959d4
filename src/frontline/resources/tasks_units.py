"""The daily sweeps of equipment and teams, registered with the worker (the lead imports this
module into `frontline.resources.tasks`, which Huey's autodiscovery finds).

Like the near-expiry sweep of the stock (`tasks.py`), they run once a day in the morning: the
core's `sweep` decorator schedules by minutes within the hour and cannot say "daily", so each
periodic task is declared here with its own crontab and lock, and entered in the core's
registry so `frontline worker --once` and the tests run it with the other sweeps. Running
them more often does no harm: each item is told once per due date (the memory is an event on
the equipment's or team's timeline, see the services).
"""

from __future__ import annotations

import logging
import time

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from frontline.core.worker import SWEEPS, Sweep
from frontline.resources.services import equipment, teams

logger = logging.getLogger(__name__)

EQUIPMENT_DUE_SWEEP = "notify_equipment_due"
CERTIFICATES_SWEEP = "notify_expiring_certificates"
# Huey's crontab is in UTC: 23:40 UTC is 07:40 in Asia/Shanghai, just after the stock's
# near-expiry notice, so both are waiting when the station starts the day.
SCHEDULE = crontab(hour="23", minute="40")


def notify_equipment_due() -> dict:
    return equipment.notify_equipment_due()


def notify_expiring_certificates() -> dict:
    return teams.notify_expiring_certificates()


def _logged(name: str, function) -> dict:
    started = time.monotonic()
    result = function()
    logger.info("sweep %s done in %.2f s: %s", name, time.monotonic() - started, result)
    return result


@db_periodic_task(SCHEDULE, name=f"sweep.{EQUIPMENT_DUE_SWEEP}")
@lock_task(f"sweep.{EQUIPMENT_DUE_SWEEP}")
def equipment_due_sweep():
    return _logged(EQUIPMENT_DUE_SWEEP, notify_equipment_due)


@db_periodic_task(SCHEDULE, name=f"sweep.{CERTIFICATES_SWEEP}")
@lock_task(f"sweep.{CERTIFICATES_SWEEP}")
def certificates_sweep():
    return _logged(CERTIFICATES_SWEEP, notify_expiring_certificates)


for _name, _function in (
    (EQUIPMENT_DUE_SWEEP, notify_equipment_due),
    (CERTIFICATES_SWEEP, notify_expiring_certificates),
):
    SWEEPS.setdefault(_name, Sweep(name=_name, minutes=24 * 60, function=_function))
