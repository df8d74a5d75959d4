"""The hazard loop in a real phone-sized browser: a grid worker reports with a photo, the
station confirms, another account reports the rectification with an after photo, the chief
verifies, and the hazard is 核销. Debian's Chromium through Playwright, nothing but the
live server reachable."""

import re
from urllib.parse import urlparse

import pytest

from frontline.core.roles import Role
from frontline.core.testing import PASSWORD, build_world, make_user
from frontline.hazards.models import Hazard, HazardState
from frontline.hazards.tests.conftest import jpeg_bytes, needs_chromium

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PHONE = {"width": 375, "height": 740}

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.usefixtures("media_root")]


def _page(browser, base: str, username: str, errors: list[str], **options):
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, **options)
    context.set_default_timeout(15_000)
    page = context.new_page()

    def only_local(route):
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            route.abort()

    page.route("**/*", only_local)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base}/login/?next=/hazards/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/hazards/")
    return context, page


def _photo(name: str, colour: str) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": jpeg_bytes(colour, (320, 240))}


def test_report_confirm_rectify_verify_on_a_phone(live_server, transactional_db, browser):
    world = build_world()
    make_user(Role.STATION_CHIEF, world.township, "chief")
    make_user(Role.ENTERPRISE_OFFICER, world.village, "rectifier")
    base = live_server.url
    errors: list[str] = []

    # 1. The grid worker reports from the phone, with a photo and the phone's position.
    context, page = _page(
        browser,
        base,
        "gridworker",
        errors,
        geolocation={"longitude": 120.405, "latitude": 30.005},
        permissions=["geolocation"],
    )
    page.goto(f"{base}/hazards/report/")
    page.fill("input[name=title]", "楼道堆放电动车充电")
    page.set_input_files("#photos", [_photo("before.jpg", "red")])
    page.click("#locate-button")
    page.wait_for_function("document.querySelector('input[name=lon]').value !== ''")
    page.click("#hazard-report button[type=submit]")
    page.wait_for_url(re.compile(r"/hazards/\d+/$"))
    hazard = Hazard.objects.get()
    assert hazard.region == world.grid
    assert abs(hazard.lon - 120.405) < 1e-6
    assert "等待应急管理站确认" in page.inner_text("body")
    # The page fits the phone: nothing wider than the screen.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"page is {width}px wide on a 375px phone"
    context.close()

    detail = f"{base}/hazards/{hazard.pk}/"

    # 2. The station staff confirms and grades it.
    context, page = _page(browser, base, "same", errors)
    page.goto(detail)
    form = page.locator("details[data-action=confirm] form")
    form.locator("select[name=level]").select_option("general")
    form.locator("input[name=responsible_person]").fill("王网格长")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=已确认定级")
    assert page.inner_text("[data-testid=state]") == "确认"
    context.close()

    # 3. Another account rectifies and reports it with an after photo.
    context, page = _page(browser, base, "rectifier", errors)
    page.goto(detail)
    page.click("details[data-action=rectified] summary")
    form = page.locator("details[data-action=rectified] form")
    form.locator("textarea[name=note]").fill("电动车已清出楼道，张贴禁止停放告示")
    form.locator("input[name=photos]").set_input_files([_photo("after.jpg", "green")])
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=已报告整改完成，等待验收")
    assert page.inner_text("[data-testid=state]") == "待验收"
    assert page.locator(".photo-strip img").count() == 1
    assert page.locator("details[data-action=verify]").count() == 0
    context.close()

    # 4. The chief verifies: 核销.
    context, page = _page(browser, base, "chief", errors)
    page.goto(detail)
    form = page.locator("details[data-action=verify] form")
    form.locator("textarea[name=note]").fill("现场复查合格")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=已验收核销")
    assert page.inner_text("[data-testid=state]") == "核销"
    context.close()

    hazard.refresh_from_db()
    assert hazard.state == HazardState.CLOSED
    assert hazard.rectifier.username == "rectifier" and hazard.verifier.username == "chief"
    assert errors == [], f"script errors: {errors}"
