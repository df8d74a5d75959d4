"""The enterprise spreadsheet: row-by-row report, all-or-nothing, valid rows only, upsert,
export round trip."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from frontline.core.errors import InvalidInput
from frontline.hazards import services
from frontline.hazards.models import Enterprise, Industry, Place
from frontline.hazards.services.importing import ENTERPRISE_COLUMNS, PLACE_COLUMNS
from frontline.hazards.testing import credit_code, make_enterprise, make_place

HEADERS = list(ENTERPRISE_COLUMNS.values())


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


def row(code: str, region: str, name: str = "企业", **kw) -> list:
    values = {
        "名称": name,
        "统一社会信用代码": code,
        "行业": "纺织",
        "规上企业": "是",
        "从业人员": 50,
        "法定代表人": "王五",
        "安全管理员": "李四",
        "安全管理员电话": "13812345678",
        "地址": "州山村1号",
        "经度": 120.41,
        "纬度": 30.01,
        "区划代码": region,
        "风险等级": "",
    } | kw
    return [values[header] for header in HEADERS]


def read(content: bytes) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()


def test_file_with_errors_imports_nothing(world):
    village = world.village.code
    rows = [
        row(credit_code(1), village, "甲"),
        row(credit_code(2)[:17] + "X", village, "乙", 行业="面包"),
        row(credit_code(3), world.sibling_township.code, "丙", 从业人员="很多"),
        row(credit_code(1), village, "丁"),
        row(credit_code(4).lower(), village, "戊", 经度=None),
    ]
    report = services.import_enterprises(actor=world.same, file=xlsx(rows))
    assert not report.imported and report.total == 5
    assert not Enterprise.objects.exists()
    errors = {(e.row, e.column): e.message for e in report.errors}
    wrong_check = credit_code(2)[17] != "X"
    assert errors[(3, "行业")] == "请选择"
    if wrong_check:
        assert errors[(3, "统一社会信用代码")] == "统一社会信用代码校验位不正确"
    assert errors[(4, "区划代码")] == "区划代码不存在或不在您的管辖范围内"
    assert errors[(4, "从业人员")] == "应为整数"
    assert errors[(5, "统一社会信用代码")] == "与第 2 行的统一社会信用代码重复"
    assert errors[(6, "经度")] == "经度和纬度需同时填写"
    assert report.error_rows == 4

    report = services.import_enterprises(actor=world.same, file=xlsx(rows), valid_rows_only=True)
    assert report.imported and report.created == 1
    assert list(Enterprise.objects.values_list("name", flat=True)) == ["甲"]


def test_upsert_by_credit_code(world):
    existing = make_enterprise(
        world.village, credit_code=credit_code(10), safety_officer_phone="13900001111"
    )
    rows = [
        row(credit_code(10), world.village.code, "新名称", 安全管理员电话="139****1111"),
        row(credit_code(11), world.grid.code, "新企业", 行业="chemicals"),
    ]
    report = services.import_enterprises(actor=world.same, file=xlsx(rows))
    assert report.imported and (report.created, report.updated) == (1, 1)
    existing.refresh_from_db()
    assert existing.name == "新名称" and existing.above_scale and existing.employees == 50
    assert existing.safety_officer_phone == "13900001111"  # the masked cell kept the number
    new = Enterprise.objects.get(credit_code=credit_code(11))
    assert new.industry == Industry.CHEMICALS and new.region == world.grid
    assert new.safety_officer_phone == "13812345678"


def test_enterprise_of_another_scope_is_not_updated(world):
    make_enterprise(world.sibling_township, credit_code=credit_code(20), name="隔壁")
    report = services.import_enterprises(
        actor=world.same, file=xlsx([row(credit_code(20), world.village.code)])
    )
    assert not report.imported
    assert report.errors[0].message == "该企业已由其他辖区登记，您不能修改"


def test_bad_files(world):
    with pytest.raises(InvalidInput) as caught:
        services.import_enterprises(actor=world.same, file=io.BytesIO(b"name,code\n"))
    assert "file" in caught.value.details
    with pytest.raises(InvalidInput) as caught:
        services.import_enterprises(actor=world.same, file=xlsx([], headers=["名称", "地址"]))
    assert "统一社会信用代码" in caught.value.details["file"]
    with pytest.raises(InvalidInput):
        services.import_enterprises(actor=world.same, file=io.BytesIO(b"PK\x03\x04broken"))


def test_export_round_trip(world):
    make_enterprise(
        world.village,
        credit_code=credit_code(30),
        name="甲企业",
        safety_officer_phone="13812345678",
        employees=8,
    )
    make_enterprise(world.sibling_township, credit_code=credit_code(31), name="看不见")
    content = services.export_enterprises(actor=world.same)
    rows = read(content)
    assert rows[0] == HEADERS and len(rows) == 2
    exported = dict(zip(HEADERS, rows[1], strict=True))
    assert exported["安全管理员电话"] == "138****5678"
    assert exported["行业"] == "纺织" and exported["规上企业"] == "否"

    report = services.import_enterprises(actor=world.same, file=io.BytesIO(content))
    # The exported file imports cleanly and changes nothing (masked phone kept).
    assert report.imported and report.errors == [] and (report.created, report.updated) == (0, 0)
    again = Enterprise.objects.get(credit_code=credit_code(30))
    assert again.safety_officer_phone == "13812345678" and again.employees == 8


def test_places_export(world):
    enterprise = make_enterprise(world.village, credit_code=credit_code(40))
    make_place(world.village, name="小网吧", enterprise=enterprise, operator_phone="13700001234")
    rows = read(services.export_places(actor=world.same))
    assert rows[0] == list(PLACE_COLUMNS.values())
    exported = dict(zip(rows[0], rows[1], strict=True))
    assert exported["负责人电话"] == "137****1234"
    assert exported["所属企业统一社会信用代码"] == credit_code(40)
    assert Place.objects.count() == 1


def test_import_and_export_api(world):
    client = world.client_for(world.same)
    upload = xlsx([row(credit_code(50), world.village.code, "接口企业")])
    upload.name = "企业.xlsx"
    answer = client.post("/api/v1/enterprises/import", {"file": upload})
    assert answer.status_code == 200, answer.json()
    assert answer.json()["imported"] and answer.json()["created"] == 1

    bad = xlsx([row("123", world.village.code, "坏")])
    bad.name = "bad.xlsx"
    answer = client.post("/api/v1/enterprises/import", {"file": bad})
    body = answer.json()
    assert not body["imported"] and body["errors"][0]["row"] == 2
    assert body["errors"][0]["column"] == "统一社会信用代码"

    mixed = xlsx([row("123", world.village.code, "坏"), row(credit_code(51), world.village.code)])
    mixed.name = "mixed.xlsx"
    answer = client.post("/api/v1/enterprises/import", {"file": mixed, "valid_rows_only": "true"})
    body = answer.json()
    assert body["imported"] and body["created"] == 1 and body["error_rows"] == 1

    exported = client.get("/api/v1/enterprises/export")
    assert exported.status_code == 200
    assert exported["Content-Type"].startswith("application/vnd.openxmlformats")
    assert len(read(exported.content)) == 3
    assert world.client_for(None).get("/api/v1/enterprises/export").status_code == 401
    assert len(read(world.client_for(world.sibling).get("/api/v1/enterprises/export").content)) == 1


PLACE_HEADERS = list(PLACE_COLUMNS.values())


def place_row(name: str, region: str, **kw) -> list:
    values = {
        "名称": name,
        "场所类别": "小餐饮",
        "经营者/负责人": "赵六",
        "负责人电话": "13512345678",
        "建筑面积（㎡）": 80,
        "所属企业统一社会信用代码": "",
        "地址": "州山村2号",
        "经度": 120.41,
        "纬度": 30.01,
        "区划代码": region,
        "风险等级": "",
    } | kw
    return [values[header] for header in PLACE_HEADERS]


def test_place_import(world):
    enterprise = make_enterprise(world.village, credit_code=credit_code(70))
    hidden = make_enterprise(world.sibling_township, credit_code=credit_code(71))
    existing = make_place(world.village, name="老店", operator_phone="13700001234")
    village = world.village.code
    rows = [
        place_row("老店", village, 负责人电话="137****1234", 场所类别="hotel"),
        place_row("新店", village, 所属企业统一社会信用代码=credit_code(70).lower()),
        place_row("坏店", village, 场所类别="大卖场", 所属企业统一社会信用代码=hidden.credit_code),
        place_row("新店", village),
    ]
    report = services.import_places(actor=world.same, file=xlsx(rows, PLACE_HEADERS))
    assert not report.imported and Place.objects.count() == 1
    errors = {(e.row, e.column): e.message for e in report.errors}
    assert errors[(4, "场所类别")] == "请选择"
    assert errors[(4, "所属企业统一社会信用代码")] == "企业不存在或不可见"
    assert errors[(5, "名称")] == "与第 3 行重复（同一区划内的同名场所）"

    report = services.import_places(
        actor=world.same, file=xlsx(rows, PLACE_HEADERS), valid_rows_only=True
    )
    assert report.imported and (report.created, report.updated) == (1, 1)
    existing.refresh_from_db()
    assert existing.category == "hotel" and existing.operator_phone == "13700001234"
    assert Place.objects.get(name="新店").enterprise == enterprise

    round_trip = services.import_places(
        actor=world.same, file=io.BytesIO(services.export_places(actor=world.same))
    )
    assert round_trip.imported and (round_trip.created, round_trip.updated) == (0, 0)

    client = world.client_for(world.same)
    upload = xlsx([place_row("接口店", village)], PLACE_HEADERS)
    upload.name = "places.xlsx"
    answer = client.post("/api/v1/places/import", {"file": upload})
    assert answer.status_code == 200 and answer.json()["created"] == 1
    page = client.get("/places/import/")
    assert page.status_code == 200 and "导入场所台账" in page.content.decode()
