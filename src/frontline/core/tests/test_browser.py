"""One real browser walk through the shell: log in through the form, see only the scope.

Runs Debian's Chromium through Playwright (never a downloaded browser). Set
FRONTLINE_SCREENSHOT=/some/file.png to keep a picture of the home page.
"""

import os

import pytest

from frontline.core.testing import PASSWORD, build_world, make_organization, make_person
from frontline.core.tests.conftest import needs_chromium

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
]


def log_in(browser, base_url: str, username: str, **context_options):
    context = browser.new_context(locale="zh-CN", **context_options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{base_url}/people/")
    assert "/login/" in page.url, "anonymous visitors are sent to the login page"
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/people/")
    return page


def table_text(page) -> str:
    return page.inner_text("table.data-table")


def test_each_persona_sees_only_its_scope(live_server, transactional_db, browser):
    world = build_world()
    organization = make_organization(world.grid, name="州山村微型消防站")
    make_person(world.grid, name="网格张三", organization=organization, mobile="13812345678")
    make_person(world.sibling_township, name="安昌李四", mobile="13900001111")
    base = live_server.url

    # The grid worker: its grid and nothing of the sibling township.
    page = log_in(browser, base, "gridworker")
    people = table_text(page)
    assert "网格张三" in people and "138****5678" in people
    assert "安昌李四" not in people and "13812345678" not in people
    page.goto(f"{base}/regions/")
    regions = table_text(page)
    assert world.grid.name in regions and world.sibling_township.name not in regions
    response = page.goto(f"{base}/regions/{world.sibling_township.code}/")
    assert response.status == 404
    assert "不在您的管辖范围内" in page.inner_text("main")
    page.context.close()

    # The county administrator: both townships, and people of both.
    page = log_in(browser, base, "parent")
    people = table_text(page)
    assert "网格张三" in people and "安昌李四" in people
    page.goto(f"{base}/regions/{world.county.code}/")
    regions = table_text(page)
    assert world.township.name in regions and world.sibling_township.name in regions
    page.goto(f"{base}/")
    page.wait_for_selector("#people-chart canvas")
    assert "工作台" in page.inner_text("main")
    screenshot = os.environ.get("FRONTLINE_SCREENSHOT")
    if screenshot:
        page.screenshot(path=screenshot, full_page=True)
    page.context.close()

    # On a phone the navigation folds behind the menu button.
    page = log_in(browser, base, "parent", viewport={"width": 375, "height": 740})
    nav = page.locator("#site-nav")
    assert not nav.is_visible(), "the navigation is folded away on a phone"
    page.click("[data-menu-toggle]")
    assert nav.is_visible()
    assert page.get_attribute("[data-menu-toggle]", "aria-expanded") == "true"
    page.click("#site-nav >> text=区划")
    page.wait_for_url(f"{base}/regions/")
    assert world.county.name in table_text(page)
    page.context.close()


def test_phone_pages_stay_within_the_screen(live_server, transactional_db, browser):
    world = build_world()
    organization = make_organization(world.township, name="柯岩街道应急管理站（综合应急救援队）")
    for index in range(3):
        make_person(
            world.township,
            name=f"欧阳明{index}",
            organization=organization,
            position="应急管理站站长助理",
            mobile=f"1380000{index:04d}",
        )
    base = live_server.url
    page = log_in(browser, base, "same", viewport={"width": 375, "height": 740})
    page.goto(f"{base}/tokens/")
    page.fill("input[name=name]", "县级平台对接（长名称测试）")
    page.click("form.stacked-form button[type=submit]")
    page.wait_for_selector("[data-clear-token]")
    for url in ("/people/", "/organizations/", "/tokens/"):
        page.goto(f"{base}{url}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{url} is {width}px wide on a 375px phone"
    page.goto(f"{base}/people/")
    cell = page.locator("table.data-table td.nowrap a", has_text="欧阳明0")
    assert cell.bounding_box()["height"] < 30, "a name stays on one line"
    page.context.close()
