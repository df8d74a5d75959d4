"""The depot pages on a 390 px phone in a real browser: the depot page, an issue posted
through the form, the stocktake sheet, the movements ledger and the stock card all fit the
screen (tables stack into label / value rows) and raise no script errors."""

from urllib.parse import urlparse

import pytest

from frontline.core.testing import PASSWORD, build_world
from frontline.core.tests.conftest import needs_chromium
from frontline.resources.models import StockMovement
from frontline.resources.services import depots as depot_services
from frontline.resources.services import stock
from frontline.resources.testing import make_depot, make_item

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PHONE = {"width": 390, "height": 844}

pytestmark = [pytest.mark.browser, needs_chromium]


def _fits(page, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"{what} is {width}px wide on a 390px phone"


def test_depot_pages_on_a_phone(live_server, transactional_db, browser):
    world = build_world()
    depot = make_depot(world.township, name="柯岩街道救灾物资库")
    tent = make_item("1999851", "救灾帐篷（12平方米单帐篷）", unit="顶")
    depot_services.add_location(actor=None, depot=depot, code="A-01-02", name="一号库房东侧货架")
    stock.receive_stock(
        actor=None,
        depot=depot,
        lines=[stock.Receipt(item=tent, quantity=20, lot_no="LOT-2026-0001")],
    )
    depot_services.set_minimum(actor=None, depot=depot, item=tent, minimum=30)
    base = live_server.url
    errors: list[str] = []
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if urlparse(route.request.url).hostname in LOCAL_HOSTS
            else route.abort()
        ),
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{base}/login/?next=/depots/")
        page.fill("input[name=username]", "same")
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(f"{base}/depots/")
        _fits(page, "the depot list")

        page.click(f"a[href='/depots/{depot.pk}/']")
        page.wait_for_url(f"{base}/depots/{depot.pk}/")
        assert page.locator("[data-testid=stock]").is_visible()
        _fits(page, "the depot page")

        page.click(f"a[href='/depots/{depot.pk}/issue/']")
        _fits(page, "the issue form")
        page.select_option("select[name=purpose]", "incident")
        page.fill("input[name=incident_ref]", "SJ-2026-007 山洪")
        page.fill("input[name=lines-0-item]", tent.code)
        page.fill("input[name=lines-0-quantity]", "25")
        page.click("[data-testid=movement-form] button.primary")
        assert "库存不足" in page.locator(".line.has-error").inner_text()
        page.fill("input[name=lines-0-quantity]", "5")
        page.click("[data-testid=movement-form] button.primary")
        movement = StockMovement.objects.get(kind="issue")
        page.wait_for_url(f"{base}/stock/movements/{movement.pk}/")
        _fits(page, "the movement page")

        for path in ("receive", "transfer", "adjust"):
            page.goto(f"{base}/depots/{depot.pk}/{path}/")
            _fits(page, f"the {path} form")
        page.goto(f"{base}/depots/{depot.pk}/stocktake/")
        _fits(page, "the stocktake sheet")
        page.goto(f"{base}/stock/movements/")
        _fits(page, "the movements ledger")
        page.goto(f"{base}/depots/{depot.pk}/items/{tent.pk}/")
        _fits(page, "the stock card")
        page.goto(f"{base}/stock/import/")
        _fits(page, "the ledger import")
    finally:
        context.close()
    assert errors == []
