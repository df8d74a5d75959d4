import io
from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from frontline.core.errors import InvalidInput
from frontline.core.testing import assert_page_matrix, make_person
from frontline.hazards import services
from frontline.hazards.models import Hazard, HazardLevel, HazardState, RiskPoint
from frontline.hazards.services import ledgers
from frontline.hazards.services.ledgers import LedgerFilters
from frontline.hazards.testing import make_enterprise, make_hazard, make_place


def aware(*args) -> datetime:
    return timezone.make_aware(datetime(*args))


def put(hazard, **fields):
    """Test set-up: place a hazard somewhere in its loop without walking every step."""
    Hazard.objects.filter(pk=hazard.pk).update(**fields)
    hazard.refresh_from_db()
    return hazard


@pytest.fixture
def q2_dataset(world):
    """A small known dataset around 2026 Q2 (1 April – 30 June, Asia/Shanghai)."""
    factory = make_enterprise(world.village, name="平安烟花厂")
    shop = make_place(world.sibling_township, name="安昌小超市")
    found = aware(2026, 4, 10)
    # Township 1: three found in Q2 (one major), one closed on time, one overdue.
    put(
        make_hazard(world.village, enterprise=factory, title="超员作业"),
        found_at=found,
        level=HazardLevel.MAJOR,
        state=HazardState.CLOSED,
        due_at=aware(2026, 5, 10),
        rectified_at=aware(2026, 5, 1),
        closed_at=aware(2026, 5, 20),
        responsible_person="张厂长",
    )
    put(
        make_hazard(world.village, enterprise=factory, title="防静电装置缺失"),
        found_at=found,
        level=HazardLevel.GENERAL,
        state=HazardState.RECTIFYING,
        due_at=aware(2026, 6, 1),
        responsible_person="李主任",
    )
    put(make_hazard(world.grid, title="消防通道堵塞"), found_at=found)
    # Found in Q1: not found in Q2, but closed late in Q2.
    put(
        make_hazard(world.village, title="灭火器过期"),
        found_at=aware(2026, 3, 1),
        level=HazardLevel.GENERAL,
        state=HazardState.CLOSED,
        due_at=aware(2026, 4, 1),
        rectified_at=aware(2026, 4, 11),
        closed_at=aware(2026, 4, 11),
    )
    # Township 2: one found, rejected one does not count.
    put(make_hazard(world.sibling_township, place=shop), found_at=found)
    put(make_hazard(world.sibling_township), found_at=found, state=HazardState.REJECTED)
    return factory, shop


NOW = aware(2026, 7, 5)


def test_quarterly_statistics_on_a_known_dataset(world, q2_dataset):
    with CaptureQueriesContext(connection) as queries:
        stats = services.quarterly_statistics(world.parent, 2026, 2, now=NOW)
    assert len(queries) <= 4
    rows = {row.name: row for row in stats.rows}
    keqiao, anchang = rows["柯岩街道"], rows["安昌街道"]
    assert (keqiao.found, keqiao.found_major, keqiao.found_general, keqiao.found_ungraded) == (
        3,
        1,
        1,
        1,
    )
    assert (keqiao.closed, keqiao.closed_major) == (2, 1)
    # Due in Q2: 10 May (done 1 May: on time), 1 June (open: overdue). 1 April is Q2 too
    # (00:00 local on 1 April), rectified 11 April: late.
    assert (keqiao.due, keqiao.on_time, keqiao.overdue) == (3, 1, 2)
    assert keqiao.on_time_rate == 33.3
    # Closed in Q2: 40 days (10 Apr → 20 May) and 41 days (1 Mar → 11 Apr).
    assert keqiao.average_days_to_close == 40.5
    assert (anchang.found, anchang.closed, anchang.on_time_rate) == (1, 0, None)
    assert stats.total.found == 4
    assert stats.due_on.isoformat() == "2026-07-15"

    mine = services.quarterly_statistics(world.same, 2026, 2, now=NOW)
    assert [row.name for row in mine.rows] == ["柯岩街道"]
    assert mine.total.found == 3


def test_quarter_is_checked(world):
    with pytest.raises(InvalidInput):
        services.quarterly_statistics(world.same, 2026, 5)


def test_hazard_ledger_xlsx_round_trip_is_scoped_and_in_chinese(world, q2_dataset):
    content = services.ledger_xlsx(world.same, ledgers.HAZARDS, now=NOW)
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("隐患编号", "所属区划", "检查对象", "隐患描述")
    assert "整改责任人" in rows[0]
    body = rows[1:]
    assert len(body) == 4  # the other township's hazards are not exported
    by_title = {row[3]: row for row in body}
    assert by_title["超员作业"][2] == "平安烟花厂"
    assert by_title["超员作业"][4] == "重大隐患"
    assert by_title["防静电装置缺失"][10] == "是"  # overdue on 5 July
    assert by_title["防静电装置缺失"][9] == "李主任"
    assert isinstance(by_title["超员作业"][6], datetime)
    assert by_title["超员作业"][6] == datetime(2026, 4, 10)


def test_rectification_ledger_says_whether_on_time(world, q2_dataset):
    rows = list(services.ledger_rows(world.parent, ledgers.RECTIFICATIONS, now=NOW))
    assert ledgers.headers(ledgers.RECTIFICATIONS)[-1] == "是否按期整改"
    on_time = {row[3]: row[-1] for row in rows}
    assert on_time == {"超员作业": "是", "防静电装置缺失": "否", "灭火器过期": "否"}


def test_responsibility_ledger_lists_risk_points_and_open_hazard_people(world, q2_dataset):
    factory, _shop = q2_dataset
    person = make_person(world.village, name="赵安全")
    RiskPoint.objects.create(
        region=world.village,
        enterprise=factory,
        name="1号涉药工房",
        method="lec",
        score=320,
        colour="red",
        responsible_person=person,
        responsible_unit="生产部",
    )
    with CaptureQueriesContext(connection) as queries:
        rows = list(services.ledger_rows(world.parent, ledgers.RESPONSIBILITIES))
    assert len(queries) <= 6
    factory_row = next(row for row in rows if row[1] == "平安烟花厂")
    assert factory_row[4:8] == ("1号涉药工房", "重大风险（红）", "赵安全", "生产部")
    assert factory_row[8] == 1 and factory_row[9] == "李主任"
    assert any(row[1] == "安昌小超市" for row in rows)
    mine = list(services.ledger_rows(world.same, ledgers.RESPONSIBILITIES))
    assert [row[1] for row in mine] == ["平安烟花厂"]
    content = services.ledger_xlsx(world.same, ledgers.RESPONSIBILITIES)
    header = next(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert header[0] == "对象类型" and header[6] == "风险点责任人"


def test_ledger_filters(world, q2_dataset):
    filters = LedgerFilters.from_mapping({"level": "major"})
    assert [row[3] for row in services.ledger_rows(world.parent, "hazards", filters=filters)] == [
        "超员作业"
    ]
    filters = LedgerFilters.from_mapping({"region": world.sibling_township.code})
    assert ledgers.ledger_count(world.parent, "hazards", filters=filters) == 2
    assert ledgers.ledger_count(world.same, "hazards", filters=filters) == 0
    with pytest.raises(InvalidInput) as error:
        LedgerFilters.from_mapping({"state": "x", "found_from": "2026-13-01"})
    assert set(error.value.details) == {"state", "found_from"}


def test_dashboard_numbers_by_township_and_category(world, q2_dataset):
    numbers = services.dashboard_numbers(world.parent, now=NOW)
    townships = {row["name"]: row for row in numbers["by_township"]}
    assert townships["柯岩街道"]["open"] == 2
    assert townships["柯岩街道"]["overdue"] == 1
    assert townships["安昌街道"]["open"] == 1
    assert numbers["totals"]["open"] == 3
    categories = {row["label"]: row["count"] for row in numbers["by_category"]}
    assert categories["纺织"] == 1 and categories["小商店"] == 1


# --- API and pages -----------------------------------------------------------------------


def test_ledger_api_pages_and_exports(world, q2_dataset):
    client = world.client_for(world.same)
    page = client.get("/api/v1/ledgers/hazards?page_size=2").json()
    assert page["count"] == 4 and len(page["rows"]) == 2
    assert page["headers"][0] == "隐患编号"
    assert client.get("/api/v1/ledgers/nothing").status_code == 422
    export = client.get("/api/v1/ledgers/rectifications/xlsx")
    assert export.status_code == 200
    assert load_workbook(io.BytesIO(export.content)).active["A1"].value == "隐患编号"
    stats = client.get("/api/v1/statistics/quarterly?year=2026&quarter=2").json()
    assert stats["total"]["found"] == 3
    outsider = world.client_for(world.outsider).get("/api/v1/ledgers/hazards").json()
    assert outsider["count"] == 0
    assert world.client_for(None).get("/api/v1/ledgers/hazards").status_code == 401
    dashboard = client.get("/api/v1/statistics/dashboard")
    assert dashboard.status_code == 200


def test_ledger_api_query_count_does_not_grow_with_rows(world, q2_dataset):
    client = world.client_for(world.parent)
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/ledgers/hazards")
    for _ in range(10):
        make_hazard(world.village)
    with CaptureQueriesContext(connection) as more:
        client.get("/api/v1/ledgers/hazards")
    assert len(more) == len(few)


def test_ledger_and_statistics_pages(world, q2_dataset):
    client = world.client_for(world.same)
    for url in (
        "/ledgers/hazards/",
        "/ledgers/rectifications/",
        "/ledgers/responsibilities/",
        "/ledgers/statistics/?year=2026&quarter=2",
        "/ledgers/dashboard/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    html = client.get("/ledgers/hazards/").content.decode()
    assert "超员作业" in html and "安昌小超市" not in html
    export = client.get("/ledgers/hazards/xlsx")
    assert export.status_code == 200
    assert len(list(load_workbook(io.BytesIO(export.content)).active.iter_rows())) == 5
    assert client.get("/ledgers/unknown/").status_code == 404
    anonymous = world.client_for(None).get("/ledgers/hazards/")
    assert anonymous.status_code == 302


def test_statistics_page_of_region_outside_scope_is_404(world, q2_dataset):
    assert_page_matrix(world, f"/ledgers/hazards/?region={world.township.code}")
