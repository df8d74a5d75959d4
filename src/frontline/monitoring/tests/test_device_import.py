"""Bulk device registration from XLSX: the service, the page and the API."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from frontline.hazards.models import Enterprise, Place
from frontline.monitoring.models import Device
from frontline.monitoring.services.devices import authenticate_device, forget_devices_now
from frontline.monitoring.services.importing import COLUMNS, import_devices
from frontline.monitoring.testing import make_device

HEADERS = list(COLUMNS.values())


def xlsx(rows: list[list], headers: list[str] = HEADERS) -> io.BytesIO:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def row(code, name="设备", kind="独立式烟感", region="330603001001", **kw) -> list:
    values = {"code": code, "name": name, "kind": kind, "region": region, **kw}
    return [values.get(field, "") for field in COLUMNS]


@pytest.fixture
def owners(world):
    enterprise = Enterprise.objects.create(
        name="州山烟花爆竹有限公司", credit_code="91330621MA2BXXXX1A", industry="fireworks",
        region=world.village,
    )  # fmt: skip
    place = Place.objects.create(name="州山小吃店", category="restaurant", region=world.village)
    return enterprise, place


GOOD = [
    row("YG-1", "州山村居家烟感", "独立式烟感", location="3组12号", lon=120.41, lat=30.01),
    row("RS-1", "1号工房人数", "occupancy", enterprise="91330621MA2BXXXX1A",
        occupancy_limit=4, temperature_limit=35, humidity_min=45, offline_after_minutes=10),
    row("RQ-1", "后厨燃气", "可燃气体", place="州山小吃店"),
    row("148597278572545", "火灾报警控制器", "火灾报警控制器（用户信息传输装置）"),
]  # fmt: skip


@pytest.mark.django_db
def test_a_good_file_registers_every_device_with_a_fresh_token(world, owners):
    report = import_devices(actor=world.same, file=xlsx(GOOD))
    assert report.imported and report.created == 4 and not report.errors
    occupancy = Device.objects.get(code="RS-1")
    assert occupancy.kind == "occupancy" and occupancy.enterprise == owners[0]
    assert occupancy.attributes == {"occupancy_limit": 4, "temperature_limit": 35,
                                    "humidity_min": 45}  # fmt: skip
    assert occupancy.offline_after_minutes == 10
    assert Device.objects.get(code="RQ-1").place == owners[1]
    assert Device.objects.get(code="YG-1").lon == 120.41
    tokens = dict(report.tokens)
    assert sorted(tokens) == sorted(r[0] for r in GOOD)
    assert len(set(tokens.values())) == 4
    forget_devices_now()
    for code, token in tokens.items():
        assert authenticate_device(code, token)
        assert not Device.objects.filter(token_hash=token).exists()  # never in clear


@pytest.mark.django_db
def test_errors_are_reported_by_row_and_nothing_is_imported(world, owners):
    make_device(world.village, "smoke", code="TAKEN-1")
    rows = [
        GOOD[0],
        row("TAKEN-1"),  # 3: already registered
        row("bad code!", kind="雷达"),  # 4: code and kind
        row("X-2", region="999999"),  # 5: region
        row("X-3", lon=120.4),  # 6: lon without lat
        row("YG-1"),  # 7: repeats row 2
        row("X-4", kind="occupancy", occupancy_limit="很多"),  # 8
        row("X-5", region="330603002"),  # 9: the sibling township, outside the actor's
        [None] * len(HEADERS),  # an empty row is skipped
    ]
    report = import_devices(actor=world.same, file=xlsx(rows))
    assert not report.imported and report.created == 0 and report.tokens == []
    assert Device.objects.count() == 1
    by_row = {}
    for error in report.errors:
        by_row.setdefault(error.row, set()).add(error.column)
    assert by_row == {
        3: {"设备编码"},
        4: {"设备编码", "设备类型"},
        5: {"所属区划代码"},
        6: {"纬度"},
        7: {"设备编码"},
        8: {"核定人数"},
        9: {"所属区划代码"},
    }
    assert report.total == 8 and report.valid_rows == 1
    assert "第 2 行" in next(e.message for e in report.errors if e.row == 7)


@pytest.mark.django_db
def test_valid_rows_only_imports_the_good_rows(world, owners):
    rows = [*GOOD, row("X-9", kind="雷达")]
    report = import_devices(actor=world.same, file=xlsx(rows), valid_rows_only=True)
    assert report.imported and report.created == 4 and report.error_rows == 1
    assert set(Device.objects.values_list("code", flat=True)) == {r[0] for r in GOOD}


@pytest.mark.django_db
def test_missing_columns_and_other_files_are_refused(world):
    from frontline.core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="设备类型"):
        import_devices(actor=world.same, file=xlsx([], headers=["设备编码", "名称"]))
    with pytest.raises(InvalidInput):
        import_devices(actor=world.same, file=io.BytesIO(b"code,name\n"))


@pytest.mark.django_db
def test_page_offers_valid_rows_then_the_tokens_once(world, owners):
    client = world.client_for(world.same)
    url = "/monitoring/devices/import/"
    assert client.get(url).status_code == 200
    assert client.get(url + "?download=template").status_code == 200
    upload = xlsx([*GOOD, row("X-9", kind="雷达")])
    upload.name = "devices.xlsx"
    page = client.post(url, {"file": upload})
    assert page.status_code == 200 and "整个文件未导入" in page.content.decode()
    assert not Device.objects.exists()
    page = client.post(url, {"action": "valid_rows"})
    assert "已登记 4 台设备" in page.content.decode()
    download = client.get(url + "?download=tokens")
    assert download.status_code == 200 and download["Cache-Control"] == "no-store"
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(download.content))
    rows = sheet.get_sheet_by_index(0).to_python()
    assert rows[0] == ["设备编码", "令牌"] and len(rows) == 5
    forget_devices_now()
    assert all(authenticate_device(str(code), token) for code, token in rows[1:])
    # Once: a second download finds nothing.
    assert client.get(url + "?download=tokens").status_code == 302
    assert world.client_for(None).get(url).status_code == 302  # to the login page


@pytest.mark.django_db
def test_api_returns_the_report_and_the_tokens(world, owners):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from ninja.testing import TestClient

    from frontline.monitoring.api.importing import router

    client = TestClient(router)
    upload = SimpleUploadedFile("devices.xlsx", xlsx(GOOD).read())
    response = client.post(
        "/monitoring/devices/import",
        FILES={"file": upload},
        data={"valid_rows_only": "false"},
        user=world.same,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] == 4 and len(body["tokens"]) == 4 and body["errors"] == []
