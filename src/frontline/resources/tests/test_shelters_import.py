"""Shelters as XLSX: the export (scoped, masked manager phone), the import with a row-by-row
report (nothing imported from a file with errors unless the valid rows are asked for), the
area rule in the file, updates by region and name, and the pages around them."""

from __future__ import annotations

import io

from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from frontline.core.roles import Role
from frontline.core.testing import make_person, make_user
from frontline.resources.models import ResourceEvent, Shelter, ShelterStatus
from frontline.resources.services import evacuees as ev
from frontline.resources.services import shelters as services
from frontline.resources.services.importing_shelters import (
    SHELTER_COLUMNS,
    export_shelters,
    import_shelters,
)
from frontline.resources.testing import make_shelter

HEADERS = [
    "名称",
    "区划代码",
    "类别",
    "级别",
    "地址",
    "经度",
    "纬度",
    "有效避难面积（平方米）",
    "容纳人数",
    "超出面积标准的理由",
    "配套设施",
    "管理人",
]


def xlsx(rows: list[list], headers: list[str] = HEADERS) -> io.BytesIO:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    buffer.name = "shelters.xlsx"
    return buffer


def read(content: bytes) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()


def row(world, name="柯岩中学", **kw) -> list:
    values = {
        "region": world.township.code,
        "class": "Ⅲ类",
        "level": "乡镇（街道）级",
        "address": "柯岩大道1号",
        "lon": 120.41,
        "lat": 30.01,
        "area": 1500,
        "capacity": None,
        "reason": None,
        "facilities": "应急供水、应急供电",
        "manager": None,
    }
    values.update(kw)
    return [name, *values.values()]


def test_export_is_scoped_and_masks_the_phone(world):
    manager = make_person(world.township, name="王站长", mobile="13812345678")
    ours = make_shelter(world.township, name="柯岩中学", manager=manager, facilities="water,power")
    make_shelter(world.sibling_township, name="安昌中学")
    rows = read(export_shelters(actor=world.same))
    assert rows[0] == list(SHELTER_COLUMNS.values())
    assert [r[0] for r in rows[1:]] == ["柯岩中学"]
    line = dict(zip(rows[0], rows[1], strict=True))
    assert line["管理人"] == "王站长" and line["管理人电话"] == "138****5678"
    assert line["配套设施"] == "应急供水、应急供电" and line["状态"] == "未启用"
    assert line["容纳人数"] == ours.capacity
    county = read(export_shelters(actor=world.parent))
    assert len(county) == 3


def test_a_file_with_errors_imports_nothing_and_reports_each_row(world):
    make_person(world.village, name="李管理")
    file = xlsx(
        [
            row(world, "好场所", manager="李管理"),
            row(world, "超标场所", area=150, capacity=500),
            row(world, "越界场所", region=world.sibling_township.code),
            row(world, "坏坐标", lon="东经", facilities="温泉"),
            row(world, "好场所"),
        ]
    )
    report = import_shelters(actor=world.same, file=file)
    assert not report.imported and report.total == 5 and report.error_rows == 4
    errors = {(e.row, e.column) for e in report.errors}
    assert (3, "容纳人数") in errors
    assert (4, "区划代码") in errors
    assert (5, "经度") in errors and (5, "配套设施") in errors
    assert (6, "名称") in errors  # the same name twice in one region
    assert not Shelter.objects.exists()

    file.seek(0)
    partial = import_shelters(actor=world.same, file=file, valid_rows_only=True)
    assert partial.imported and partial.created == 1
    shelter = Shelter.objects.get()
    assert (shelter.name, shelter.capacity, shelter.status) == ("好场所", 1000, "closed")
    assert shelter.facilities == "water,power" and shelter.manager.name == "李管理"
    assert ResourceEvent.objects.filter(object_id=shelter.pk, kind="created").exists()


def test_import_updates_by_region_and_name_and_keeps_the_area_rule(world):
    shelter = make_shelter(world.township, name="柯岩中学", area_m2=1500)
    services.open_shelter(actor=world.same, shelter=shelter)
    ev.check_in(
        actor=world.same, shelter=shelter, people=[ev.Arrival(name=f"人{i}") for i in range(5)]
    )
    file = xlsx(
        [
            row(world, "柯岩中学", area=150, capacity=120, reason="双层床铺", facilities="床铺"),
            row(world, "新场所", **{"class": "I", "level": "village"}),
        ]
    )
    report = import_shelters(actor=world.same, file=file)
    assert report.imported and (report.created, report.updated) == (1, 1), report.as_dict()
    shelter.refresh_from_db()
    assert (shelter.capacity, shelter.capacity_reason, shelter.facilities) == (
        120,
        "双层床铺",
        "beds",
    )
    assert shelter.status == ShelterStatus.OPEN and shelter.occupancy == 5
    assert Shelter.objects.get(name="新场所").shelter_class == "I"
    below = import_shelters(
        actor=world.same, file=xlsx([row(world, "柯岩中学", area=3, capacity=None)])
    )
    assert not below.imported and "当前安置人数 5" in below.errors[0].message


def test_the_import_page_and_who_may_use_it(world):
    client = world.client_for(world.same)
    assert client.get("/shelters/import/").status_code == 200
    bad = client.post(
        "/shelters/import/", {"file": xlsx([row(world, "甲"), row(world, "乙", area=-1)])}
    )
    html = bad.content.decode()
    assert bad.status_code == 200 and "整个文件未导入" in html and "有效避难面积" in html
    valid = client.post("/shelters/import/", {"action": "valid_rows"})
    assert valid.status_code == 200 and "已导入" in valid.content.decode()
    assert list(Shelter.objects.values_list("name", flat=True)) == ["甲"]
    missing = client.post("/shelters/import/", {"file": xlsx([["甲"]], headers=["名称"])})
    assert missing.status_code == 422 and "缺少必需的列" in missing.content.decode()
    leader = make_user(Role.LEADER, world.township)
    assert world.client_for(leader).get("/shelters/import/").status_code == 403
    exported = client.get("/shelters/export/?status=closed")
    assert exported.status_code == 200 and read(exported.content)[1][0] == "甲"
