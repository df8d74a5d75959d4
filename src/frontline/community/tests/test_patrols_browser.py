"""A whole patrol in a real phone-sized browser (390×844): the grid worker logs in, opens 我的巡查,
starts, checks in at every checkpoint with the phone's (emulated) position — one of them from
too far, which is stored and shown as flagged — records a finding with a photo, turns it into
a hazard in one tap, and finishes. Debian's Chromium through Playwright, nothing but the live
server reachable. Then the database is asserted."""

import re
from urllib.parse import urlparse

import pytest

from frontline.community.models import PatrolCheckIn, PatrolFinding, PatrolRun
from frontline.community.models.patrols import CheckInFlag, RunState
from frontline.community.testing import make_plan
from frontline.core.services.attachments import attachments_of
from frontline.core.testing import PASSWORD, build_world
from frontline.hazards.models import Hazard, HazardSource
from frontline.hazards.tests.conftest import jpeg_bytes, media_root, needs_chromium  # noqa: F401

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PHONE = {"width": 390, "height": 844}

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.usefixtures("media_root")]


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"{page.url} is {width}px wide on a 390px phone"


def test_a_grid_worker_walks_a_whole_patrol_on_a_phone(live_server, transactional_db, browser):
    world = build_world()
    plan = make_plan(world.grid, points=3)
    checkpoints = list(plan.checkpoints.order_by("order"))
    base = live_server.url
    errors: list[str] = []

    first = checkpoints[0]
    context = browser.new_context(
        locale="zh-CN",
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        geolocation={"longitude": first.lon, "latitude": first.lat, "accuracy": 5},
        permissions=["geolocation"],
    )
    context.set_default_timeout(30_000)
    page = context.new_page()

    def only_local(route):
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            route.abort()

    page.route("**/*", only_local)
    page.on("pageerror", lambda error: errors.append(str(error)))

    # Log in and open 我的巡查.
    page.goto(f"{base}/login/?next=/patrol/")
    page.fill("input[name=username]", "gridworker")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/patrol/")
    assert "日常巡查" in page.inner_text("body")
    _fits(page)

    # Start.
    page.click(f"li[data-plan='{plan.pk}'] form button[type=submit]")
    page.wait_for_url(re.compile(r"/patrol/runs/\d+/$"))
    assert page.inner_text("[data-testid=run-state]") == "巡查中"
    _fits(page)

    # Check in at every checkpoint; the second from about 200 m north of it.
    for index, checkpoint in enumerate(checkpoints):
        latitude = checkpoint.lat + (0.0018 if index == 1 else 0.0)
        context.set_geolocation({"longitude": checkpoint.lon, "latitude": latitude, "accuracy": 5})
        item = f"li[data-checkpoint='{checkpoint.pk}']"
        page.click(f"{item} [data-checkin]")
        page.wait_for_selector(f"{item} [data-testid=flag]")
    flagged = page.locator(f"li[data-checkpoint='{checkpoints[1].pk}']")
    assert "超出点位范围" in flagged.inner_text()
    assert "is-flagged" in flagged.get_attribute("class")
    assert page.inner_text("[data-testid=progress]") == "2/3"
    _fits(page)

    # Back to the second point, standing on it this time: the round is now complete.
    second = checkpoints[1]
    context.set_geolocation({"longitude": second.lon, "latitude": second.lat, "accuracy": 5})
    page.click(f"li[data-checkpoint='{second.pk}'] [data-checkin]")
    page.wait_for_selector("[data-testid=progress]:has-text('3/3')")

    # A finding with a photo, turned into a hazard in one tap.
    page.fill("#finding-note", "3号楼楼道堆放杂物，堵塞安全出口")
    page.set_input_files(
        "#finding-form input[name=photo]",
        [
            {
                "name": "finding.jpg",
                "mimeType": "image/jpeg",
                "buffer": jpeg_bytes("red", (320, 240)),
            }
        ],
    )
    page.click("#finding-form button[type=submit]")
    page.wait_for_selector("[data-action=to-hazard]")
    page.click("[data-action=to-hazard]")
    page.wait_for_selector("[data-testid=hazard-link]")
    _fits(page)

    # Finish.
    page.fill("#finish-form textarea[name=note]", "全部点位已巡查")
    page.click("#finish-form button[value=finish]")
    page.wait_for_selector("[data-testid=run-state]:has-text('已完成')")
    _fits(page)
    context.close()

    # The station sees the run with its flagged check-in and the day's coverage.
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.route("**/*", only_local)
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error} {error.stack}"))
    page.goto(f"{base}/login/?next=/patrol/coverage/")
    page.fill("input[name=username]", "same")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/patrol/coverage/")
    assert page.inner_text("[data-testid=missing-count]") == "0"
    assert "1/2" in page.inner_text(f"tr[data-grid='{world.grid.code}']")
    page.wait_for_selector("#punctuality-chart canvas")
    _fits(page)
    page.goto(f"{base}/patrol/runs/?flagged=1")
    page.click("table a")
    page.wait_for_url(re.compile(r"/patrol/runs/\d+/$"))
    assert "超出点位范围" in page.inner_text("#checkins-title + .table-wrap")
    page.wait_for_selector("#run-map .leaflet-interactive")
    _fits(page)
    context.close()

    run = PatrolRun.objects.get()
    assert (run.state, run.walker, run.region) == (RunState.FINISHED, world.grid_worker, world.grid)
    assert (run.points_total, run.points_checked, run.note) == (3, 3, "全部点位已巡查")
    check_ins = list(PatrolCheckIn.objects.filter(run=run).order_by("at", "id"))
    assert [c.checkpoint_id for c in check_ins] == [c.pk for c in checkpoints] + [second.pk]
    assert [c.flag for c in check_ins] == [
        CheckInFlag.OK,
        CheckInFlag.BEYOND_RADIUS,
        CheckInFlag.OK,
        CheckInFlag.OK,
    ]
    assert check_ins[1].distance_m == pytest.approx(200, abs=5)
    assert all(c.accuracy_m == 5 for c in check_ins)
    finding = PatrolFinding.objects.get()
    hazard = Hazard.objects.get()
    assert finding.hazard == hazard
    assert (hazard.region, hazard.source, hazard.reported_by) == (
        world.grid,
        HazardSource.PATROL,
        world.grid_worker,
    )
    assert hazard.title == "3号楼楼道堆放杂物，堵塞安全出口"
    assert hazard.lon == pytest.approx(second.lon, abs=1e-6)  # where the phone last was
    assert attachments_of(hazard).count() == 1 and attachments_of(finding).count() == 1
    # The page sent the phone's positions as the track while it was open.
    assert run.track, "no track point was sent"
    assert errors == [], f"script errors: {errors}"
