"""The live alarm console in a real phone-sized browser: a critical alarm ingested while the
page is open appears within 5 s without a reload, flashing, and is acknowledged from the
console. Debian's Chromium through Playwright, nothing but the live server reachable."""

from urllib.parse import urlparse

import pytest
from django.utils import timezone

from frontline.core.testing import PASSWORD, build_world
from frontline.core.tests.conftest import browser, needs_chromium  # noqa: F401
from frontline.monitoring.default_rules import DEFAULT_RULES
from frontline.monitoring.models import Alarm, AlarmState, Rule
from frontline.monitoring.readings import Reading
from frontline.monitoring.services.ingest import ingest_readings
from frontline.monitoring.services.rules import forget_rules
from frontline.monitoring.testing import make_device

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PHONE = {"width": 375, "height": 740}

pytestmark = [pytest.mark.browser, needs_chromium]


def test_a_new_critical_alarm_appears_within_5_seconds_and_is_acknowledged(
    live_server,
    transactional_db,
    browser,  # noqa: F811 (the fixture imported above)
):
    world = build_world()
    if not Rule.objects.filter(device__isnull=True).exists():
        # An earlier transactional test flushed the rules seeded by the migration.
        Rule.objects.bulk_create(Rule(**fields) for fields in DEFAULT_RULES)
        forget_rules()
    make_device(world.village, kind="combustible_gas", code="gas-live", location="食堂后厨")
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
    page.goto(f"{base}/login/?next=/monitoring/")
    page.fill("input[name=username]", "same")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/monitoring/")
    page.wait_for_selector("[data-testid=no-alarms]")
    page.evaluate("window.__loadedOnce = true")  # gone if the page reloads

    # The gas detector reports 40 %LEL: committed at once (no test transaction here).
    ingest_readings([Reading("gas-live", "gas", 40, timezone.now())], source="test")
    alarm = Alarm.objects.get()
    card = page.locator(f"#alarm-{alarm.pk}")
    card.wait_for(timeout=5_000)
    assert page.evaluate("window.__loadedOnce") is True, "the console reloaded"
    assert "sev-critical" in card.get_attribute("class")
    assert "is-new" in card.get_attribute("class"), "a new alarm is highlighted"
    assert "可燃气体泄漏" in card.inner_text() and "食堂后厨" in card.inner_text()
    assert page.inner_text("[data-severity-count=critical]") == "1"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"console is {width}px wide on a 375px phone"

    card.locator("button[data-action=acknowledge]").click()
    page.wait_for_selector(f"#alarm-{alarm.pk}[data-state=acknowledged]", timeout=5_000)
    assert page.inner_text("[data-testid=unacknowledged]") == "0"
    assert page.evaluate("window.__loadedOnce") is True
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.ACKNOWLEDGED and alarm.acknowledged_by == world.same

    # A note half typed survives the refreshes; then the alarm is cleared with it.
    card.locator("details[id^=clear-] summary").click()
    note = card.locator("textarea[name=note]").first
    note.fill("现场核查：阀门已关闭")
    page.wait_for_timeout(3_500)  # at least one refresh of the feed
    assert note.input_value() == "现场核查：阀门已关闭"
    card.locator("details[id^=clear-] button[type=submit]").click()
    page.wait_for_selector("[data-testid=no-alarms]", timeout=5_000)
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.CLEARED
    assert alarm.events.last().note == "现场核查：阀门已关闭"

    # The device page draws its last 24 hours with ECharts (served locally).
    page.goto(f"{base}/monitoring/devices/{alarm.device_id}/")
    page.wait_for_selector("[data-metric=gas] canvas", timeout=5_000)
    for path in ("", "/monitoring/devices/", "/monitoring/rules/"):
        if path:
            page.goto(f"{base}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1, f"{path or 'device page'} is {width}px wide"
    context.close()
    assert errors == [], f"script errors: {errors}"
