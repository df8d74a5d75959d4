"""A family checked in on a phone (390×844) in real Chromium, while the station watches the
shelter's page on another screen: the occupancy there changes within 5 s, without a reload.
Debian's Chromium through Playwright, nothing but the live server reachable."""

import time
from urllib.parse import urlparse

import pytest

from frontline.core.services.validation import id_check_digit
from frontline.core.testing import PASSWORD, build_world
from frontline.resources.models import Evacuee, Shelter, ShelterStatus
from frontline.resources.testing import make_shelter
from frontline.resources.tests.conftest import needs_chromium

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PHONE = {"width": 390, "height": 844}

pytestmark = [pytest.mark.browser, needs_chromium]


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"{page.url} is {width}px wide on a 390px phone"


def _only_local(route):
    if urlparse(route.request.url).hostname in LOCAL_HOSTS:
        route.continue_()
    else:
        route.abort()


def _login(browser, base, username, errors, next_url, **options):
    context = browser.new_context(locale="zh-CN", **options)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.route("**/*", _only_local)
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.goto(f"{base}/login/?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}{next_url}")
    return context, page


def test_a_family_checked_in_on_a_phone_shows_on_the_station_screen(
    live_server, transactional_db, browser
):
    world = build_world()
    # A community shelter in the grid: the grid worker of the grid registers people there.
    shelter = make_shelter(
        world.grid, name="州山村文化礼堂", area_m2=60.0, status=ShelterStatus.OPEN
    )
    base = live_server.url
    errors: list[str] = []
    path = f"/shelters/{shelter.pk}/"
    url = base + path

    # The station's screen: the shelter's page, left open.
    station, screen = _login(
        browser, base, "same", errors, path, viewport={"width": 1280, "height": 800}
    )
    assert screen.inner_text("[data-testid=occupancy]") == "0"
    screen.evaluate("window.__notReloaded = true")

    # The grid worker's phone at the door.
    phone, page = _login(
        browser, base, "gridworker", errors, path, viewport=PHONE, is_mobile=True, has_touch=True
    )
    _fits(page)
    page.click("[data-testid=check-in-link]")
    page.wait_for_url(f"{url}check-in/")
    _fits(page)
    page.fill("#id_home_address", "州山村5组12号")
    body = "33060319800101001"
    page.fill("#id_people-0-name", "陈建国")
    page.fill("#id_people-0-id_number", body + id_check_digit(body))
    page.fill("#id_people-0-phone", "13812345678")
    page.click("#add-person")
    page.fill("#id_people-1-name", "陈小雨")
    page.fill("#id_people-1-age", "6")
    page.check("input[name=people-1-needs][value=child]")
    page.click("#add-person")
    page.fill("#id_people-2-name", "陈奶奶")
    page.fill("#id_people-2-age", "82")
    page.check("input[name=people-2-needs][value=medication]")
    _fits(page)
    page.click("[data-testid=submit-check-in]")
    page.wait_for_url(url)
    registered = time.monotonic()
    assert "已登记入住 3 人" in page.inner_text("body")
    assert page.inner_text("[data-testid=occupancy]") == "3"
    assert "陈**" in page.inner_text("[data-testid=present]")
    assert "陈建国" not in page.inner_text("body")
    _fits(page)

    # The station's screen follows within 5 s, without a reload.
    screen.wait_for_selector("[data-testid=occupancy]:text-is('3')", timeout=5_000)
    waited = time.monotonic() - registered
    assert waited <= 5.0, f"the station saw the check-in after {waited:.1f}s"
    assert screen.evaluate("window.__notReloaded") is True
    assert "安置率 8%" in screen.inner_text("[data-testid=occupancy-block]")
    # The needs summary follows; the list of people offers a refresh instead of moving.
    assert screen.inner_text("[data-need=elderly] strong") == "1"
    assert screen.inner_text("[data-need=child] strong") == "1"
    screen.click("[data-testid=present-stale] a")
    screen.wait_for_selector("[data-testid=present] [data-evacuee]")
    assert screen.locator("[data-testid=present] [data-evacuee]").count() == 3
    phone.close()
    station.close()

    shelter.refresh_from_db()
    assert shelter.occupancy == 3
    stays = list(Evacuee.objects.filter(shelter=shelter).order_by("pk"))
    assert [s.name for s in stays] == ["陈建国", "陈小雨", "陈奶奶"]
    assert {s.checked_in_by for s in stays} == {world.grid_worker}
    assert len({s.group_no for s in stays}) == 1 and stays[1].needs == "child"
    assert Shelter.objects.get(pk=shelter.pk).status == ShelterStatus.OPEN
    assert errors == [], f"script errors: {errors}"
