"""XLSX export and import of teams, equipment and experts: round trips, row-by-row errors,
nothing imported from a file with errors unless the valid rows are asked for, scope."""

from __future__ import annotations

import io

from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from frontline.core.models import Person
from frontline.core.testing import make_person
from frontline.resources.models import Equipment, Expert, RescueTeam, ResourceEvent
from frontline.resources.services import importing_units as units
from frontline.resources.testing import make_depot, make_equipment, make_expert, make_team


def workbook(headers, rows) -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return buffer


def read(content: bytes) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()


TEAM_HEADERS = ["队伍名称", "队伍类型", "区划代码", "经度", "纬度", "救援能力", "最少在岗人数"]


def test_team_import_reports_every_bad_row_and_imports_nothing(world):
    rows = [
        ["水上救援队", "综合应急救援队", "330603001", 120.41, 30.01, "水上救援、排涝", ""],
        ["微型消防站", "微型消防站", "330603001001", 120.42, 30.02, "灭火", ""],
        ["坏能力队", "志愿者队伍", "330603001", 120.41, 30.01, "隐身", ""],
        ["别人的队", "志愿者队伍", "330603002", 120.51, 30.01, "", ""],
        ["水上救援队", "综合应急救援队", "330603001", 120.41, 30.01, "", ""],
        ["没坐标队", "志愿者队伍", "330603001", "", "", "", ""],
    ]
    report = units.import_teams(actor=world.same, file=workbook(TEAM_HEADERS, rows))
    assert not report.imported and report.total == 6 and report.error_rows == 4
    problems = {(e.row, e.column) for e in report.errors}
    assert {(4, "救援能力"), (5, "区划代码"), (6, "队伍名称"), (7, "经度")} <= problems
    assert not RescueTeam.objects.exists() and not ResourceEvent.objects.exists()

    valid = units.import_teams(
        actor=world.same, file=workbook(TEAM_HEADERS, rows), valid_rows_only=True
    )
    assert valid.imported and valid.created == 2
    micro = RescueTeam.objects.get(name="微型消防站")
    assert micro.min_on_duty == 3 and micro.capabilities == ",firefighting,"
    assert ResourceEvent.objects.filter(subject="team", kind="created").count() == 2


def test_team_export_reimports_as_updates(world):
    team = make_team(world.township, name="柯岩救援队", capabilities=["drainage"], min_on_duty=2)
    make_team(world.sibling_township, name="安昌救援队")
    content = units.export_teams(actor=world.same)
    sheet = read(content)
    assert sheet[0][: len(units.TEAM_COLUMNS)] == list(units.TEAM_COLUMNS.values())
    assert [row[0] for row in sheet[1:]] == ["柯岩救援队"]
    sheet[1][sheet[0].index("值班电话")] = "0575-84123456"
    report = units.import_teams(actor=world.same, file=workbook(sheet[0], sheet[1:]))
    assert report.imported and (report.created, report.updated) == (0, 1), report.as_dict()
    team.refresh_from_db()
    assert team.duty_phone == "0575-84123456" and team.capabilities == ",drainage,"
    assert team.min_on_duty == 2


EQUIPMENT_HEADERS = [
    "系统编号",
    "名称",
    "类型",
    "区划代码",
    "配属队伍",
    "存放仓库",
    "下次检验",
    "车牌号",
]


def test_equipment_import_and_round_trip(world):
    team = make_team(world.township, name="柯岩救援队", lon=120.43, lat=30.03)
    depot = make_depot(world.township, name="柯岩救灾物资库")
    hidden = make_team(world.sibling_township, name="安昌救援队")
    rows = [
        ["", "冲锋舟", "冲锋舟/救生艇", "330603001", "柯岩救援队", "", "2026-10-01", ""],
        ["", "抽水泵", "pump", "330603001", "", "柯岩救灾物资库", "", ""],
        ["", "越界泵", "pump", "330603001", hidden.name, "", "", ""],
        ["", "日期错", "pump", "330603001", "柯岩救援队", "", "明年", ""],
        ["99999", "不存在", "pump", "330603001", "柯岩救援队", "", "", ""],
        ["", "两处都放", "pump", "330603001", "柯岩救援队", "柯岩救灾物资库", "", ""],
    ]
    report = units.import_equipment(actor=world.same, file=workbook(EQUIPMENT_HEADERS, rows))
    assert not report.imported and report.error_rows == 4
    assert {e.row for e in report.errors} == {4, 5, 6, 7}
    assert not Equipment.objects.exists()
    report = units.import_equipment(
        actor=world.same, file=workbook(EQUIPMENT_HEADERS, rows), valid_rows_only=True
    )
    assert report.created == 2
    boat = Equipment.objects.get(name="冲锋舟")
    assert boat.team == team and (boat.lon, boat.lat) == (120.43, 30.03)
    assert str(boat.next_inspection_due) == "2026-10-01"
    assert Equipment.objects.get(name="抽水泵").depot == depot

    sheet = read(units.export_equipment(actor=world.same))
    header = sheet[0]
    row = next(r for r in sheet[1:] if r[header.index("名称")] == "冲锋舟")
    row[header.index("型号")] = "CF-5"
    report = units.import_equipment(actor=world.same, file=workbook(header, [row]))
    assert report.imported and report.updated == 1, report.as_dict()
    boat.refresh_from_db()
    assert boat.model == "CF-5" and boat.team == team


EXPERT_HEADERS = ["系统编号", "姓名", "手机号", "区划代码", "专业领域", "专长"]


def test_expert_import_creates_people_once_and_exports_masked(world):
    known = make_person(world.township, name="钱教授", mobile="13700001111")
    rows = [
        ["", "钱教授", "13700001111", "330603001", "危险化学品", "泄漏处置"],
        ["", "孙工", "13700002222", "330603001", "geology", ""],
        ["", "无号", "", "330603001", "消防", ""],
        ["", "外人", "13700003333", "330603002", "消防", ""],
    ]
    report = units.import_experts(actor=world.same, file=workbook(EXPERT_HEADERS, rows))
    assert report.error_rows == 2 and not Expert.objects.exists()
    people = Person.objects.count()
    report = units.import_experts(
        actor=world.same, file=workbook(EXPERT_HEADERS, rows), valid_rows_only=True
    )
    assert report.created == 2
    assert Expert.objects.get(person=known).specialty == "泄漏处置"
    assert Person.objects.count() == people + 1  # 孙工 only; 钱教授 reused
    sheet = read(units.export_experts(actor=world.same))
    mobiles = [row[sheet[0].index("手机号")] for row in sheet[1:]]
    assert "137****1111" in mobiles and "13700001111" not in mobiles
    # Re-importing the export (masked mobiles) updates in place.
    sheet[1][sheet[0].index("职称")] = "教授"
    report = units.import_experts(actor=world.same, file=workbook(sheet[0], sheet[1:]))
    assert report.imported and report.created == 0, report.as_dict()
    assert Expert.objects.filter(title="教授").count() == 1


def test_import_pages_and_export_are_scoped(world):
    make_expert(world.township)
    make_equipment(world.township, name="本镇泵")
    make_equipment(world.sibling_township, name="邻镇泵")
    client = world.client_for(world.same)
    exported = client.get("/equipment/export/")
    names = [row[1] for row in read(exported.content)[1:]]
    assert names == ["本镇泵"]
    assert client.get("/teams/export/").status_code == 200
    assert client.get("/experts/export/").status_code == 200
    for url in ("/teams/import/", "/equipment/import/", "/experts/import/"):
        assert client.get(url).status_code == 200
    bad = workbook(TEAM_HEADERS, [["坏队", "不存在的类型", "330603001", 120.4, 30.0, "", ""]])
    page = client.post("/teams/import/", {"file": bad})
    assert page.status_code == 422 and "队伍类型" in page.content.decode()
    assert client.post("/teams/import/", {"action": "valid_rows"}).status_code == 302
    good = workbook(TEAM_HEADERS, [["好队", "志愿者队伍", "330603001", 120.4, 30.0, "", ""]])
    imported = client.post("/teams/import/", {"file": good})
    assert imported.status_code == 200 and RescueTeam.objects.filter(name="好队").exists()
    not_xlsx = client.post("/teams/import/", {"file": io.BytesIO(b"name,kind\n")})
    assert not_xlsx.status_code == 422
