"""The building ledger as XLSX: good rows, bad rows reported by row number with nothing of
them stored, valid rows only, upsert by grid and name, export masks the phone and round-trips;
the import page and the API."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from frontline.community.models import Building
from frontline.community.services.importing_buildings import (
    BUILDING_COLUMNS,
    export_buildings,
    import_buildings,
)
from frontline.community.testing import make_building
from frontline.core.errors import InvalidInput, PermissionDenied
from frontline.core.roles import Role
from frontline.core.testing import make_user

HEADERS = list(BUILDING_COLUMNS.values())


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


def row(name: str, region: str, **kw) -> list:
    values = {
        "楼栋名称": name,
        "地址": "州山路1号",
        "区划代码": region,
        "用途": "住宅",
        "结构": "砖混",
        "地上层数": 6,
        "地下层数": 0,
        "建筑高度（米）": 18.5,
        "建成年份": 1999,
        "建筑面积（㎡）": 2400,
        "户数": 24,
        "室内消火栓": 6,
        "灭火器": 12,
        "烟感报警器": 24,
        "自动喷水灭火系统": "否",
        "火灾自动报警系统": "是",
        "安全出口": 2,
        "疏散楼梯": 1,
        "电动自行车充电": "集中充电棚",
        "消防安全责任人": "王大伯",
        "责任人电话": "13812345678",
        "经度": 120.405,
        "纬度": 30.005,
        "备注": "",
    } | kw
    return [values[header] for header in HEADERS]


def read(content: bytes) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()


def test_good_rows_are_imported(world):
    rows = [
        row("1幢", world.grid.code, 电动自行车充电="发现飞线充电"),
        row("2幢", world.grid.code, 用途="mixed", 自动喷水灭火系统="是"),
        row("村部", world.village.code, 用途="公共建筑", 责任人电话=""),
    ]
    report = import_buildings(actor=world.same, file=xlsx(rows))
    assert report.imported and report.errors == [] and (report.created, report.updated) == (3, 0)
    first = Building.objects.get(name="1幢")
    assert first.region == world.grid and first.charging_is_unsafe and first.exits == 2
    assert first.responsible_phone == "13812345678" and first.has_fire_alarm_system
    assert Building.objects.get(name="2幢").use == "mixed"
    assert Building.objects.get(name="村部").responsible_phone == ""


def test_bad_rows_are_reported_by_row_and_nothing_of_them_is_stored(world):
    grid = world.grid.code
    rows = [
        row("好楼", grid),
        row("坏楼1", grid, 用途="城堡", 地上层数="很多"),
        row("坏楼2", world.sibling_township.code),
        row("好楼", grid),
        row("坏楼3", grid, 经度=None, 建成年份=2999),
        row("坏楼4", grid, 地上层数=5, 疏散楼梯=0, 责任人电话="打电话"),
        row("坏楼5", world.township.code),
    ]
    report = import_buildings(actor=world.same, file=xlsx(rows))
    assert not report.imported and report.total == 7 and not Building.objects.exists()
    errors = {(e.row, e.column): e.message for e in report.errors}
    assert errors[(3, "用途")] == "请选择"
    assert errors[(3, "地上层数")] == "应为整数"
    assert errors[(4, "区划代码")] == "区划代码不存在或不在您的管辖范围内"
    assert errors[(5, "楼栋名称")] == "与第 2 行重复（同一网格内的同名楼栋）"
    assert errors[(6, "经度")] == "经度和纬度需同时填写"
    assert errors[(6, "建成年份")] == "建成年份不能晚于今年"
    assert errors[(7, "疏散楼梯")] == "两层及以上的楼栋至少应有 1 部疏散楼梯"
    assert errors[(7, "责任人电话")].startswith("电话号码格式不正确")
    assert errors[(8, "区划代码")] == "应登记到村（社区）或网格"
    assert report.error_rows == 6 and report.valid_rows == 1

    report = import_buildings(actor=world.same, file=xlsx(rows), valid_rows_only=True)
    assert report.imported and report.created == 1
    assert list(Building.objects.values_list("name", flat=True)) == ["好楼"]


def test_upsert_keeps_a_masked_phone_and_columns_left_out(world):
    existing = make_building(
        world.grid, name="1幢", responsible_phone="13900001111", year_built=1988, floors_above=5
    )
    headers = ["楼栋名称", "地址", "区划代码", "用途", "结构", "地上层数", "责任人电话"]
    rows = [["1幢", "新地址", world.grid.code, "住宅", "砖混", 7, "139****1111"]]
    report = import_buildings(actor=world.same, file=xlsx(rows, headers))
    assert report.imported and (report.created, report.updated) == (0, 1)
    existing.refresh_from_db()
    assert existing.address == "新地址" and existing.floors_above == 7
    assert existing.responsible_phone == "13900001111" and existing.year_built == 1988


def test_export_masks_the_phone_and_round_trips(world):
    # A position a spreadsheet gives back a few ulps off: still the same building.
    make_building(world.grid, name="甲楼", responsible_phone="13812345678", year_built=2005,
                  lon=120.41170000000001, lat=30.01)  # fmt: skip
    make_building(world.sibling_township, name="看不见")
    content = export_buildings(actor=world.same)
    rows = read(content)
    assert rows[0] == HEADERS and len(rows) == 2
    exported = dict(zip(HEADERS, rows[1], strict=True))
    assert exported["责任人电话"] == "138****5678" and "13812345678" not in str(rows)
    assert exported["用途"] == "住宅" and exported["结构"] == "砖混"
    assert exported["区划代码"] == world.grid.code
    report = import_buildings(actor=world.same, file=io.BytesIO(content))
    assert report.imported and report.errors == [] and (report.created, report.updated) == (0, 0)
    assert Building.objects.get(name="甲楼").responsible_phone == "13812345678"


def test_bad_files_and_permissions(world):
    with pytest.raises(InvalidInput) as caught:
        import_buildings(actor=world.same, file=io.BytesIO(b"name,address\n"))
    assert "file" in caught.value.details
    with pytest.raises(InvalidInput) as caught:
        import_buildings(actor=world.same, file=xlsx([], headers=["楼栋名称", "地址"]))
    assert "区划代码" in caught.value.details["file"]
    with pytest.raises(PermissionDenied):
        import_buildings(
            actor=make_user(Role.LEADER, world.township, "leader"),
            file=xlsx([row("1幢", world.grid.code)]),
        )


def test_import_page_and_export_page(world):
    client = world.client_for(world.same)
    assert "导入楼栋台账" in client.get("/buildings/import/").content.decode()
    upload = xlsx([row("好楼", world.grid.code), row("坏楼", world.grid.code, 用途="城堡")])
    upload.name = "楼栋.xlsx"
    answer = client.post("/buildings/import/", {"file": upload})
    html = answer.content.decode()
    assert answer.status_code == 200 and "整个文件未导入" in html and "城堡" not in html
    assert "导入有效行（1 行）" in html and not Building.objects.exists()
    done = client.post("/buildings/import/", {"action": "valid_rows"})
    assert done.status_code == 200 and "已导入：新增 1 条" in done.content.decode()
    assert list(Building.objects.values_list("name", flat=True)) == ["好楼"]
    again = client.post("/buildings/import/", {"action": "valid_rows"})
    assert again.status_code == 302  # the kept file is used once

    Building.objects.update(responsible_phone="13812345678")
    exported = client.get("/buildings/export.xlsx?q=好")
    assert exported["Content-Type"].startswith("application/vnd.openxmlformats")
    assert read(exported.content)[1][HEADERS.index("责任人电话")] == "138****5678"
    assert len(read(world.client_for(world.sibling).get("/buildings/export.xlsx").content)) == 1
    leader = make_user(Role.LEADER, world.township, "leader")
    assert world.client_for(leader).get("/buildings/import/").status_code == 403


def test_import_and_export_api(world):
    client = world.client_for(world.same)
    upload = xlsx([row("接口楼", world.grid.code)])
    upload.name = "buildings.xlsx"
    answer = client.post("/api/v1/buildings/import", {"file": upload})
    assert answer.status_code == 200 and answer.json()["created"] == 1
    bad = xlsx([row("坏", world.grid.code, 地上层数=0)])
    bad.name = "bad.xlsx"
    body = client.post("/api/v1/buildings/import", {"file": bad}).json()
    assert not body["imported"] and body["errors"] == [
        {"row": 2, "column": "地上层数", "message": "不能小于 1"}
    ]
    exported = client.get("/api/v1/buildings/export")
    assert exported.status_code == 200 and len(read(exported.content)) == 2
    assert world.client_for(None).get("/api/v1/buildings/export").status_code == 401
