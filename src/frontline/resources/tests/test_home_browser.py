"""/resources/ in a real phone-sized browser: the charts draw, a tap on the map picks the
search centre, the search swaps in the nearest teams as a list and as numbered markers, and
nothing is wider than the phone."""

from urllib.parse import urlparse

import pytest

from frontline.core.testing import PASSWORD, build_world
from frontline.core.tests.conftest import browser, needs_chromium  # noqa: F401
from frontline.resources.models import EquipmentStatus, ShelterStatus
from frontline.resources.services import search_index
from frontline.resources.testing import make_equipment, make_shelter, make_team

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PHONE = {"width": 390, "height": 844}

pytestmark = [pytest.mark.browser, needs_chromium]


def test_nearby_search_on_a_phone(live_server, transactional_db, browser):  # noqa: F811
    search_index.forget_indexes()
    world = build_world()
    near = make_team(world.township, capabilities=["water_rescue"], lon=120.43, lat=30.05)
    make_team(world.township, capabilities=["water_rescue"], lon=120.46, lat=30.05)
    make_equipment(world.township, status=EquipmentStatus.MAINTENANCE)
    make_equipment(world.township)
    make_shelter(world.township, status=ShelterStatus.OPEN, occupancy=300, name="州山小学")
    base = live_server.url
    errors: list[str] = []

    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
    context.set_default_timeout(15_000)
    page = context.new_page()

    def only_local(route):
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            route.abort()

    page.route("**/*", only_local)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base}/login/?next=/resources/")
    page.fill("input[name=username]", "same")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/resources/")

    # The charts are drawn (ECharts puts a canvas in each).
    page.wait_for_selector("[data-resource-chart='chart-equipment'] canvas")
    page.wait_for_selector("[data-resource-chart='chart-shelters'] canvas")
    # The supplies fields hide while looking for teams.
    assert page.locator("select[name=item]").is_hidden()

    # A tap in the middle of the map fills the point; a known point is then typed in.
    page.locator("#nearby-map").click()
    assert page.input_value("input[name=lon]") != ""
    page.fill("input[name=lon]", "120.42")
    page.fill("input[name=lat]", "30.05")
    page.select_option("select[name=capability]", "water_rescue")
    page.select_option("select[name=radius_km]", "5")
    page.click(".nearby-form button[type=submit]")
    page.wait_for_selector(f"#nearby-results li[data-id='{near.pk}']")
    assert page.locator("#nearby-results li").count() == 2
    assert page.locator(".nearby-pin").count() == 2  # numbered markers on the map
    assert page.url == f"{base}/resources/"  # htmx swapped the results only

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"page is {width}px wide on a {PHONE['width']}px phone"
    context.close()
    assert errors == [], f"script errors: {errors}"
