"""A community call in a real phone-sized browser: the grid worker calls the fire station
(category → department suggested by htmx), the station's liaison reports on site and the fix
with a photo, is refused when trying to close, and the caller confirms and rates it."""

import re
from urllib.parse import urlparse

import pytest

from frontline.community.models import CallState, CommunityCall
from frontline.community.testing import make_department
from frontline.community.tests.test_calls import make_liaison
from frontline.core.models import OrganizationKind, TaskState
from frontline.core.testing import PASSWORD, build_world
from frontline.core.tests.conftest import needs_chromium

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PHONE = {"width": 375, "height": 740}

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture
def media_root(settings, tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


def _jpeg() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), "green").save(buffer, "JPEG")
    return buffer.getvalue()


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
    page.goto(f"{base}/login/?next=/calls/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/calls/")
    return context, page


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"page is {width}px wide on a 375px phone"


def test_call_loop_on_a_phone(live_server, transactional_db, browser, media_root):
    world = build_world()
    make_department(world.township, "柯岩供电所")
    brigade = make_department(world.township, "柯岩消防救援站", kind=OrganizationKind.FIRE_BRIGADE)
    make_liaison(brigade, world.township, "liaison")
    base = live_server.url
    errors: list[str] = []

    # 1. The grid worker calls: fire → the fire station comes first in the list.
    context, page = _page(
        browser,
        base,
        "gridworker",
        errors,
        geolocation={"longitude": 120.405, "latitude": 30.005},
        permissions=["geolocation"],
    )
    page.goto(f"{base}/calls/new/")
    page.check("input[name=category][value=fire]")
    page.wait_for_function(
        "document.querySelector('#id_department option:nth-child(2)').textContent.startsWith('★')"
    )
    page.select_option("#id_department", str(brigade.pk))
    page.fill("#id_title", "楼道电动车充电起火隐患")
    page.click("#locate-button")
    page.wait_for_function("document.querySelector('input[name=lon]').value !== ''")
    _fits(page)
    page.click("#call-form button[type=submit]")
    page.wait_for_url(re.compile(r"/calls/\d+/$"))
    call = CommunityCall.objects.get()
    assert call.department == brigade and abs(call.lon - 120.405) < 1e-6
    assert page.inner_text("[data-testid=state]") == "已呼叫"
    _fits(page)
    context.close()

    detail = f"{base}/calls/{call.pk}/"

    # 2. The fire station's liaison reports on site, then the fix with a photo.
    context, page = _page(browser, base, "liaison", errors)
    page.goto(detail)
    page.locator("details[data-action=on-site] button[type=submit]").click()
    page.wait_for_selector("text=已到场报到")
    form = page.locator("details[data-action=fixed] form")
    form.locator("textarea[name=note]").fill("已清理楼道，电动车移至集中充电点")
    form.locator("input[name=photos]").set_input_files(
        [{"name": "after.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}]
    )
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=已报告整改完成，等待呼叫人确认")
    assert page.inner_text("[data-testid=state]") == "待确认"
    assert page.locator("details[data-action=confirm]").count() == 0
    assert page.locator(".timeline img").count() == 1
    context.close()

    # 3. The caller confirms and rates it.
    context, page = _page(browser, base, "gridworker", errors)
    page.goto(detail)
    form = page.locator("details[data-action=confirm] form")
    form.locator("input[name=rating][value='4']").check()
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=已确认办结，感谢评价")
    assert page.inner_text("[data-testid=state]") == "已办结"
    _fits(page)
    page.goto(f"{base}/calls/public/")
    assert "4★" in page.inner_text("body")
    _fits(page)
    context.close()

    call.refresh_from_db()
    assert call.state == CallState.CLOSED and call.rating == 4
    assert call.task.state == TaskState.VERIFIED
    assert errors == [], f"script errors: {errors}"
