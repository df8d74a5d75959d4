"""Teams, equipment and experts on a 390 px phone in a real browser: no page is wider than the
screen, the status buttons work, and the week timeline scrolls inside its own box."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from frontline.core.testing import PASSWORD, build_world, make_person
from frontline.core.tests.conftest import browser, needs_chromium  # noqa: F401
from frontline.resources.models import RescueTeam, TeamKind, TeamStatus
from frontline.resources.services import teams as services
from frontline.resources.testing import make_equipment, make_expert, make_member, make_team

PHONE = {"width": 390, "height": 780}
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

pytestmark = [pytest.mark.browser, needs_chromium]


def _fits(page, url: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"{url} is {width}px wide on a 390px phone"


def test_pages_fit_a_phone_and_the_status_button_works(live_server, transactional_db, browser):  # noqa: F811
    world = build_world()
    team = make_team(
        world.township,
        kind=TeamKind.MICRO_FIRE_STATION,
        name="州山村微型消防站",
        min_on_duty=3,
        capabilities=["firefighting", "lighting", "medical"],
        duty_phone="0575-84123456",
    )
    now = timezone.now()
    for n in range(4):
        member = make_member(
            team, person=make_person(world.village, name=f"队员{n}", mobile="13900001111")
        )
        services.create_shift(
            actor=None,
            team=team,
            member=member,
            starts_at=now - timedelta(hours=2),
            ends_at=now + timedelta(hours=10 + n),
        )
    equipment = make_equipment(world.township, team=team, name="消防车", kind="fire_engine")
    expert = make_expert(world.township, specialty="危险化学品泄漏处置")

    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
    context.set_default_timeout(60_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def only_local(route):
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            route.abort()

    page.route("**/*", only_local)
    base = live_server.url
    page.goto(f"{base}/login/?next=/teams/")
    page.fill("input[name=username]", "same")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/teams/")
    _fits(page, "/teams/")
    assert page.text_content("[data-testid=ready]").strip() == "4"

    for url in (
        f"/teams/{team.pk}/",
        f"/teams/{team.pk}/roster/",
        "/equipment/",
        f"/equipment/{equipment.pk}/",
        "/experts/",
        f"/experts/{expert.pk}/",
        "/teams/new/",
    ):
        page.goto(base + url)
        _fits(page, url)

    page.goto(f"{base}/teams/{team.pk}/")
    assert page.locator(".week .bar").count() == 4
    page.fill(".status-buttons input[name=note]", "火警出动")
    page.click(".status-buttons button[value=deployed]")
    page.wait_for_selector("[data-testid=status]:has-text('出动中')")
    assert RescueTeam.objects.get(pk=team.pk).status == TeamStatus.DEPLOYED
    _fits(page, "after the status change")
    assert errors == []
    context.close()
