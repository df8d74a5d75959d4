"""Huey finds `tasks` modules only: this one imports the community's sweeps so the worker
registers them."""

from frontline.community import tasks_calls, tasks_facilities  # noqa: F401
