"""Fixtures of the resources tests: the browser (from the core's conftest)."""

from frontline.core.tests.conftest import browser, needs_chromium  # noqa: F401
