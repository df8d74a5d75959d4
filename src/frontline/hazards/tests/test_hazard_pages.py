"""The hazard pages: list, detail with its steps, the phone report page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from frontline.core.geo import wgs84_to_bd09
from frontline.core.models import Attachment
from frontline.core.roles import Role
from frontline.core.testing import assert_page_matrix, make_user, page_queries
from frontline.hazards import services
from frontline.hazards.models import Hazard, HazardState
from frontline.hazards.testing import make_hazard
from frontline.hazards.tests.conftest import upload

pytestmark = pytest.mark.usefixtures("media_root", "clear_cache")


def test_detail_page_follows_the_scope(world):
    hazard = make_hazard(world.village, actor=world.same)
    assert_page_matrix(world, f"/hazards/{hazard.pk}/")
    page = world.client_for(world.same).get(f"/hazards/{hazard.pk}/").content.decode()
    assert hazard.number in page and "确认定级" in page and "不予认定" in page
    assert 'class="stepper"' in page


def test_list_page_shows_chips_overdue_first_and_scope(world):
    late = make_hazard(world.village, actor=world.same, title="逾期的隐患")
    services.confirm_hazard(actor=world.same, hazard=late, level="general", responsible_person="王")
    Hazard.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(days=2))
    make_hazard(world.village, actor=world.same, title="新的隐患")
    page = world.client_for(world.same).get("/hazards/").content.decode()
    assert page.index("逾期的隐患") < page.index("新的隐患")
    assert "is-overdue" in page and "未核销" in page
    assert "逾期的隐患" not in world.client_for(world.sibling).get("/hazards/").content.decode()
    filtered = world.client_for(world.same).get("/hazards/?overdue=1").content.decode()
    assert "新的隐患" not in filtered
    found = world.client_for(world.same).get("/hazards/?state=found").content.decode()
    assert "新的隐患" in found and "逾期的隐患" not in found
    anonymous = world.client_for(None).get("/hazards/")
    assert anonymous.status_code == 302


def test_list_page_query_count_does_not_grow(world):
    client = world.client_for(world.same)
    make_hazard(world.village, actor=world.same)
    client.get("/hazards/")
    _, few = page_queries(client, "/hazards/")
    for _i in range(6):
        make_hazard(world.village, actor=world.same)
    _, many = page_queries(client, "/hazards/")
    assert len(many) == len(few)


def test_phone_report_page_with_photo(world):
    client = world.client_for(world.grid_worker)
    page = client.get("/hazards/report/").content.decode()
    assert 'capture="environment"' in page and 'accept="image/*"' in page
    assert world.grid.name in page  # preselected: the worker's only region
    response = client.post(
        "/hazards/report/",
        {
            "title": "楼道堆放电动车",
            "description": "三楼楼道",
            "source": "grid_worker",
            "region": world.grid.code,
            "lon": "120.405",
            "lat": "30.005",
            "coord_system": "wgs84",
            "photos": [upload("before.jpg", "red")],
        },
    )
    hazard = Hazard.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/hazards/{hazard.pk}/"
    assert hazard.region == world.grid and hazard.reported_by == world.grid_worker
    assert hazard.lon == 120.405
    photo = Attachment.objects.get()
    assert photo.owner_id == str(hazard.pk) and photo.kind == "image"


def test_report_page_converts_bd09_and_locates_the_region(world):
    lon, lat = 120.41, 30.01
    bd_lon, bd_lat = wgs84_to_bd09(lon, lat)
    client = world.client_for(world.same)
    response = client.post(
        "/hazards/report/",
        {
            "title": "群众举报：仓库违规住人",
            "source": "public_report",
            "lon": f"{bd_lon:.8f}",
            "lat": f"{bd_lat:.8f}",
            "coord_system": "bd09",
            "reporter_name": "李女士",
            "reporter_phone": "13912345678",
        },
    )
    assert response.status_code == 302
    hazard = Hazard.objects.get()
    assert hazard.region == world.grid
    assert abs(hazard.lon - lon) < 1e-5 and abs(hazard.lat - lat) < 1e-5
    assert hazard.reporter_phone == "13912345678"


def test_report_page_refuses_bad_input_and_damaged_photos(world):
    client = world.client_for(world.grid_worker)
    response = client.post("/hazards/report/", {"title": "", "source": "grid_worker"})
    assert response.status_code == 422
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg")
    response = client.post(
        "/hazards/report/",
        {"title": "隐患", "source": "grid_worker", "region": world.grid.code, "photos": [bad]},
    )
    assert response.status_code == 422
    assert "不支持的文件类型" in response.content.decode()
    assert not Hazard.objects.exists() and not Attachment.objects.exists()


def test_report_page_is_rate_limited(world, settings):
    settings.FRONTLINE_HAZARD_REPORT_LIMIT = 1
    client = world.client_for(world.grid_worker)
    data = {"title": "隐患", "source": "grid_worker", "region": world.grid.code}
    assert client.post("/hazards/report/", data).status_code == 302
    response = client.post("/hazards/report/", data)
    assert response.status_code == 429
    assert "上报过于频繁" in response.content.decode()
    assert Hazard.objects.count() == 1


def test_report_page_is_closed_to_read_only_roles(world):
    leader = make_user(Role.LEADER, world.county, "leader")
    assert world.client_for(leader).get("/hazards/report/").status_code == 403
    assert world.client_for(None).get("/hazards/report/").status_code == 302


def test_the_loop_through_the_pages(world):
    chief = make_user(Role.STATION_CHIEF, world.township, "chief")
    rectifier = make_user(Role.ENTERPRISE_OFFICER, world.village, "rectifier")
    hazard = make_hazard(world.grid, actor=world.grid_worker)
    base = f"/hazards/{hazard.pk}/"
    # The grid worker sees no step to take; the station confirms.
    assert "确认定级" not in world.client_for(world.grid_worker).get(base).content.decode()
    response = world.client_for(world.grid_worker).post(
        base + "confirm/", {"level": "general", "responsible_person": "王"}
    )
    assert response.status_code == 403
    staff = world.client_for(world.same)
    response = staff.post(base + "confirm/", {"level": "general", "responsible_person": "王"})
    assert response.status_code == 302
    hazard.refresh_from_db()
    assert hazard.state == HazardState.CONFIRMED

    worker = world.client_for(rectifier)
    response = worker.post(base + "rectified/", {"note": "已整改"})
    assert response.status_code == 422
    assert "请上传至少一张整改后的现场照片" in response.content.decode()
    response = worker.post(base + "rectified/", {"note": "已整改", "photos": [upload()]})
    assert response.status_code == 302
    hazard.refresh_from_db()
    assert hazard.state == HazardState.PENDING_VERIFICATION and hazard.rectifier == rectifier
    page = world.client_for(chief).get(base).content.decode()
    assert "photo-strip" in page and "验收核销" in page

    response = worker.post(base + "verify/", {})
    assert response.status_code == 403
    response = world.client_for(chief).post(base + "verify/", {"note": "通过"})
    assert response.status_code == 302
    hazard.refresh_from_db()
    assert hazard.state == HazardState.CLOSED and hazard.verifier == chief
    response = world.client_for(chief).post(base + "verify/", {})
    assert response.status_code == 409
    assert "隐患当前为「核销」，不能验收核销" in response.content.decode()
    assert world.client_for(chief).post(base + "nonsense/").status_code == 404
    assert world.client_for(world.sibling).post(base + "verify/").status_code == 404


def test_major_hazard_page_offers_plan_and_listing_and_runs_them(world):
    hazard = make_hazard(world.grid, actor=world.grid_worker)
    services.confirm_hazard(
        actor=world.same,
        hazard=hazard,
        level="major",
        level_basis="判定标准第三条",
        responsible_person="李",
    )
    base = f"/hazards/{hazard.pk}/"
    county = world.client_for(world.parent)
    page = county.get(base).content.decode()
    assert 'data-action="plan"' in page and 'data-action="list"' in page
    assert 'data-action="start"' not in page  # no plan yet
    assert f'<option value="{world.county.code}">' in page
    plan = {
        "current_state": "防火堤破损",
        "danger_analysis": "泄漏无法围堵",
        "goal": "修复",
        "measures": "停用、修复",
        "funds": "3.5",
        "responsible_unit": "某公司",
        "responsible_person": "李",
        "time_limit": (timezone.localdate() + timedelta(days=20)).isoformat(),
        "safety_measures": "警戒",
        "emergency_plan": "专项预案",
    }
    assert county.post(base + "plan/", {**plan, "funds": ""}).status_code == 422
    assert county.post(base + "plan/", plan).status_code == 302
    deadline = timezone.localtime() + timedelta(days=30)
    response = county.post(
        base + "list/",
        {
            "supervising_region": world.county.code,
            "document_number": "柯应急督〔2026〕9号",
            "deadline": deadline.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    page = county.get(base).content.decode()
    assert "治理方案（五到位）" in page and "柯应急督〔2026〕9号" in page
    assert 'data-action="start"' in page
