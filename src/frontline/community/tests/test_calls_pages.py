"""Pages of community calls: list, raise form, call page with its actions, monthly list."""

import io
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from frontline.community.models import CallCategory, CallState, CommunityCall
from frontline.community.services import calls as services
from frontline.community.services import calls_monthly as monthly
from frontline.community.services import calls_rules as rules
from frontline.community.testing import make_department
from frontline.community.tests import test_calls as base
from frontline.core.errors import InvalidInput
from frontline.core.testing import assert_page_matrix, page_queries

dept = base.dept
raise_one = base.raise_one


def test_call_page_follows_the_scope(world, dept):
    call = raise_one(world, dept)
    assert_page_matrix(world, f"/calls/{call.pk}/")
    liaison = world.client_for(dept["liaison"]).get(f"/calls/{call.pk}/")
    assert liaison.status_code == 200
    assert "到场报到" in liaison.content.decode()
    for action in ("on-site", "confirm", "withdraw"):
        for user in (world.sibling, world.outsider):
            response = world.client_for(user).post(f"/calls/{call.pk}/{action}/", {"reason": "x"})
            assert response.status_code == 404


def test_list_shows_overdue_in_red_with_level_and_costs_constant_queries(world, dept):
    client = world.client_for(world.same)
    raise_one(world, dept)
    response, few = page_queries(client, "/calls/")
    assert response.status_code == 200
    late = raise_one(world, dept, title="积水未排")
    for _n in range(5):
        raise_one(world, dept)
    CommunityCall.objects.filter(pk=late.pk).update(
        arrive_by=timezone.now() - timedelta(minutes=5), escalation_level=2
    )
    response, many = page_queries(client, "/calls/")
    assert len(many) == len(few)
    page = response.content.decode()
    assert 'class="is-overdue"' in page and "已升级 2 次" in page
    only = client.get("/calls/?overdue=1").content.decode()
    assert "积水未排" in only and only.count('class="is-overdue"') == 1
    assert "积水未排" not in client.get("/calls/?state=closed").content.decode()
    assert (
        client.get(f"/calls/?department={dept['department'].pk}&category=fire").status_code == 200
    )


def test_raise_from_the_form(world, dept):
    client = world.client_for(world.grid_worker)
    page = client.get("/calls/new/")
    assert page.status_code == 200 and "柯岩消防救援站" in page.content.decode()
    options = client.get(f"/calls/departments/?region={world.grid.code}&category=fire")
    assert "★ 柯岩消防救援站" in options.content.decode()
    bad = client.post("/calls/new/", {"region": world.grid.code, "title": "", "category": ""})
    assert bad.status_code == 422
    assert "此字段为必填项" in bad.content.decode()
    assert not CommunityCall.objects.exists()
    response = client.post(
        "/calls/new/",
        {
            "region": world.grid.code,
            "category": "fire",
            "department": str(dept["department"].pk),
            "title": "消防通道被占",
            "lon": "120.401",
            "lat": "30.001",
            "coord_system": "wgs84",
        },
    )
    call = CommunityCall.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/calls/{call.pk}/"
    assert call.raised_by == world.grid_worker and call.lon == pytest.approx(120.401)
    assert world.client_for(world.sibling).get("/calls/new/").status_code == 403


def test_the_loop_through_the_pages_and_the_department_refused(world, dept):
    call = raise_one(world, dept)
    liaison = world.client_for(dept["liaison"])
    caller = world.client_for(world.grid_worker)
    assert liaison.post(f"/calls/{call.pk}/on-site/", {"note": "已到"}).status_code == 302
    assert liaison.post(f"/calls/{call.pk}/fixed/", {"note": ""}).status_code == 422
    assert liaison.post(f"/calls/{call.pk}/fixed/", {"note": "已清理"}).status_code == 302
    refused = liaison.post(f"/calls/{call.pk}/confirm/", {"rating": "5"})
    assert refused.status_code == 409
    assert "责任部门不能自行办结" in refused.content.decode()
    assert (
        world.client_for(world.same).post(f"/calls/{call.pk}/confirm/", {"rating": "5"}).status_code
        == 403
    )
    page = caller.get(f"/calls/{call.pk}/").content.decode()
    assert "确认整改并评价" in page and "整改不到位，退回" in page
    assert caller.post(f"/calls/{call.pk}/confirm/", {"rating": "4"}).status_code == 302
    call.refresh_from_db()
    assert call.state == CallState.CLOSED and call.rating == 4
    page = caller.get(f"/calls/{call.pk}/").content.decode()
    assert "呼叫人确认办结" in page and "4★" in page


def test_monthly_public_list_figures(world, dept, settings):
    """Four calls in November: one on time rated 5, one late to arrive rated 2, one
    withdrawn, one still open; one call in October that must not count."""
    water = make_department(world.township, "柯岩供水所")
    now = timezone.now()

    def at(day, hour=9):
        return timezone.make_aware(datetime(2026, 11, day, hour, 0))

    def shaped(raised, arrived=None, fixed=None, state=CallState.CLOSED, rating=None, **kw):
        call = raise_one(world, kw.pop("dept", dept), **kw)
        arrive_by = raised + rules.arrive_limit(call.category)
        fix_by = raised + rules.fix_limit(call.category)
        CommunityCall.objects.filter(pk=call.pk).update(
            raised_at=raised, arrive_by=arrive_by, fix_by=fix_by, arrived_at=arrived,
            fixed_at=fixed, state=state, rating=rating,
        )  # fmt: skip
        return call

    good = shaped(at(3), at(3, 9) + timedelta(minutes=20), at(3, 15), rating=5)
    late = shaped(
        at(10), at(10, 12), at(11), rating=2, dept={"department": water},
        category=CallCategory.WATER,
    )  # fmt: skip
    shaped(at(12), state=CallState.WITHDRAWN)
    open_call = shaped(now - timedelta(minutes=5), state=CallState.CALLED)
    shaped(timezone.make_aware(datetime(2026, 10, 30, 9)), at(3), at(3), rating=1)
    report = monthly.monthly_report(world.same, 2026, 11, now=now)
    in_november = now.year == 2026 and now.month == 11
    assert [r.call.pk for r in report.rows][:2] == [good.pk, late.pk]
    assert report.total.calls == (4 if in_november else 3)
    assert report.total.decided == 2 and report.total.on_time == 1
    assert report.total.on_time_rate == 50.0
    assert report.total.average_rating == 3.5
    by_category = {g.key: g for g in report.by_category}
    assert by_category["fire"].on_time == 1 and by_category["water"].on_time == 0
    by_department = {g.label: g for g in report.by_department}
    assert by_department["柯岩供水所"].average_rating == 2.0
    first = report.rows[0]
    assert first.minutes_to_arrive == 20 and first.hours_to_fix == 6.0
    assert first.arrived_on_time is True and first.on_time is True
    assert report.rows[1].arrived_on_time is False and report.rows[1].on_time is False
    assert first.caller.endswith("*") and "*" in first.caller
    assert world.grid_worker.person.name not in first.caller
    if in_november:
        assert open_call.pk in {r.call.pk for r in report.rows}

    client = world.client_for(world.same)
    page = client.get("/calls/public/?month=2026-11")
    html = page.content.decode()
    assert page.status_code == 200 and "50.0%" in html and "3.5" in html
    assert world.grid_worker.person.name not in html
    sibling = world.client_for(world.sibling).get("/calls/public/?month=2026-11").content.decode()
    assert "data-total-calls>0<" in sibling

    export = client.get("/calls/public/export/?month=2026-11")
    assert export.status_code == 200
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(export.content))
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "编号" and len(rows) == 1 + report.total.calls
    assert rows[1][0] == good.number and rows[1][6] == first.caller and rows[1][13] == 5
    totals = list(book.worksheets[1].iter_rows(values_only=True))
    assert totals[1][:7] == ("合计", "合计", report.total.calls, 2, 1, 50.0, 3.5)


def test_public_list_costs_constant_queries(world, dept):
    client = world.client_for(world.same)
    month = timezone.localdate().strftime("%Y-%m")
    raise_one(world, dept)
    response, few = page_queries(client, f"/calls/public/?month={month}")
    assert response.status_code == 200
    other = make_department(world.township, "柯岩供电所")
    for _n in range(4):
        raise_one(world, {"department": other}, category=CallCategory.POWER)
    response, many = page_queries(client, f"/calls/public/?month={month}")
    assert len(many) == len(few)
    assert "柯岩供电所" in response.content.decode()
    assert client.get("/calls/public/?month=garbage").status_code == 200
    assert client.get("/calls/public/").status_code == 200


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_photos_of_the_call_are_shown(world, dept, media_root):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from frontline.core import services as core_services

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buffer, "JPEG")
    call = raise_one(world, dept)
    photo = core_services.attach_file(
        actor=world.grid_worker,
        owner=call,
        uploaded_file=SimpleUploadedFile("scene.jpg", buffer.getvalue(), "image/jpeg"),
    )
    page = world.client_for(world.same).get(f"/calls/{call.pk}/").content.decode()
    assert "现场照片" in page and f"/attachments/{photo.pk}/thumbnail/" in page
    # A photo of the fix that is not the call's is refused, and nothing is written.
    services.report_on_site(actor=dept["liaison"], call=call)
    with pytest.raises(InvalidInput):
        services.report_fixed(actor=dept["liaison"], call=call, note="已修", photo_ids=[10**9])
    services.report_fixed(actor=dept["liaison"], call=call, note="已修", photo_ids=[photo.pk])
    page = world.client_for(world.same).get(f"/calls/{call.pk}/").content.decode()
    assert "现场照片" not in page  # now shown with the fix in the timeline
    assert f"/attachments/{photo.pk}/thumbnail/" in page
