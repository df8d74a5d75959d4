"""The map page in a real browser with no network beyond this server: the boundaries show.

Runs Debian's Chromium through Playwright (never a downloaded browser). Every request to a
host other than the live server is aborted, as on a station intranet.
"""

import os
from urllib.parse import urlparse

import pytest

from frontline.core.models import RegionLevel
from frontline.core.testing import PASSWORD, build_world
from frontline.core.tests.conftest import needs_chromium

LOCAL_HOSTS = {"127.0.0.1", "localhost"}

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
]


def test_map_shows_the_boundaries_with_no_network(live_server, transactional_db, browser):
    world = build_world()
    townships = [world.township, world.sibling_township]
    assert all(region.level == RegionLevel.TOWNSHIP for region in townships)
    base = live_server.url

    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    blocked: list[str] = []
    errors: list[str] = []

    def only_local(route):
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(f"{base}/login/?next=/map/")
    page.fill("input[name=username]", "parent")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/map/")
    page.wait_for_selector("#map-shell[data-ready=true]")

    # Boundaries are SVG paths in Leaflet's overlay pane: the county outline and both
    # townships at least.
    paths = page.locator(".leaflet-overlay-pane svg path")
    page.wait_for_function(
        "n => document.querySelectorAll('.leaflet-overlay-pane svg path').length >= n",
        arg=len(townships),
    )
    assert paths.count() >= len(townships)
    labels = page.inner_text(".leaflet-pane")
    assert labels.strip(), "region names are written on the map"
    assert world.other_county.name not in labels
    # The layer switcher and the scale bar are there, and nothing tried to leave the machine.
    assert page.locator(".map-panel input[data-layer=regions]").is_checked()
    assert page.locator(".leaflet-control-scale").count() == 1
    assert blocked == [], f"requests to other hosts: {blocked}"
    assert errors == [], f"script errors: {errors}"

    screenshot = os.environ.get("FRONTLINE_SCREENSHOT")
    if screenshot:
        page.screenshot(path=screenshot)
    context.close()
