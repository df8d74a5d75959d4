"""The resident import from XLSX: households on the fly, a row-by-row report, nothing of a
bad row stored."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from frontline.community.models import Household, Mobility, Resident
from frontline.community.services.importing_residents import (
    RESIDENT_COLUMNS,
    import_residents,
)
from frontline.community.testing import make_building, make_household, make_resident
from frontline.community.tests.test_residents import id_number
from frontline.core.crypto import keyed_digest
from frontline.core.errors import InvalidInput, PermissionDenied
from frontline.core.models import RegionLevel
from frontline.core.roles import Role
from frontline.core.testing import make_person, make_region, make_user

HEADERS = list(RESIDENT_COLUMNS.values())
GRID = "330603001001001"
ID_A = id_number("33060319400101123")
ID_B = id_number("33060319550505224")
ID_C = id_number("33060320150606321")


def xlsx(rows: list[dict], headers: list[str] = HEADERS) -> io.BytesIO:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(header, "") for header in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def row(**values) -> dict:
    base = {"网格代码": GRID, "门牌地址": "州山村1号", "姓名": "张三", "与户主关系": "户主"}
    return {**base, **values}


def test_a_clean_file_creates_households_on_the_fly_and_encrypted_residents(world):
    building = make_building(world.grid, name="3幢")
    existing = make_household(world.grid, address="州山村9号")
    make_person(world.grid, name="包保人甲")

    report = import_residents(
        actor=world.same,
        file=xlsx(
            [
                row(
                    身份证号=ID_A,
                    联系电话="13812345678",
                    重点人群类别="独居老人、依赖电动医疗设备",
                    行动能力="需担架",
                    包保责任人="包保人甲",
                    健康与照护说明="制氧机",
                ),
                row(姓名="李四", 与户主关系="配偶", 身份证号=ID_B),
                row(门牌地址="3单元502", 楼栋="3幢", 姓名="王五", 出生年份=2015),
                row(门牌地址="州山村9号", 姓名="赵六"),
            ]
        ),
    )

    assert report.errors == [] and report.imported
    assert (report.total, report.created, report.households_created) == (4, 4, 2)
    first = Resident.objects.get(name="张三")
    assert first.id_number == ID_A and first.birth_year == 1940 and first.gender == "male"
    assert first.category_list == ["elderly_alone", "medical_device"] and first.is_vulnerable
    assert first.mobility == Mobility.STRETCHER and first.helper.name == "包保人甲"
    assert first.phone_tail == "5678" and first.health_notes == "制氧机"
    assert first.id_digest and first.created_at is not None
    assert Resident.objects.get(name="李四").household_id == first.household_id
    flat = Household.objects.get(address="3单元502")
    assert flat.building_id == building.pk and flat.lon == building.lon
    assert Resident.objects.get(name="王五").birth_year == 2015
    assert Resident.objects.get(name="赵六").household_id == existing.pk


def test_every_bad_row_is_reported_and_a_file_with_errors_imports_nothing(world):
    make_resident(make_household(world.grid), id_number=ID_C, id_digest=keyed_digest(ID_C))
    make_region("330603002001001", RegionLevel.GRID, name="安昌网格")

    report = import_residents(
        actor=world.same,
        file=xlsx(
            [
                row(身份证号=ID_A),  # 2: fine
                row(姓名="坏号", 身份证号=ID_A[:-1] + ("0" if ID_A[-1] != "0" else "1")),  # 3
                row(姓名="重复", 门牌地址="新户88号", 身份证号=ID_A),  # 4: same as row 2
                row(姓名="已登记", 身份证号=ID_C),  # 5: already in the database
                row(姓名="外区", 网格代码="330603002001001"),  # 6: grid outside the scope
                row(姓名="无网格", 网格代码="999999999999999"),  # 7
                row(姓名="类别", 重点人群类别="独居老人、外星人"),  # 8
                row(姓名="", 行动能力="会飞", 包保责任人="查无此人"),  # 9
            ]
        ),
    )

    assert not report.imported
    found = {(e.row, e.column): e.message for e in report.errors}
    assert found == {
        (3, "身份证号"): "应为 18 位身份证号码且校验位正确",
        (4, "身份证号"): "与第 2 行的身份证号重复",
        (5, "身份证号"): "该身份证号已登记",
        (6, "网格代码"): "网格代码不存在或不在您的管辖范围内",
        (7, "网格代码"): "网格代码不存在或不在您的管辖范围内",
        (8, "重点人群类别"): "未知的重点人群类别：外星人",
        (9, "姓名"): "此字段为必填项",
        (9, "行动能力"): "请选择",
        (9, "包保责任人"): "本村社区及上级区划中没有此人",
    }
    assert [e.row for e in report.errors] == sorted(e.row for e in report.errors)
    assert Resident.objects.count() == 1 and Household.objects.count() == 1


def test_valid_rows_only_keeps_the_good_rows_and_nothing_of_the_bad_ones(world):
    report = import_residents(
        actor=world.same,
        valid_rows_only=True,
        file=xlsx(
            [
                row(身份证号=ID_A),
                row(姓名="重复", 门牌地址="只为坏行新建的户", 身份证号=ID_A),
                row(姓名="好的", 门牌地址="州山村2号", 身份证号=ID_B),
            ]
        ),
    )

    assert report.imported and report.created == 2 and report.error_rows == 1
    assert set(Resident.objects.values_list("name", flat=True)) == {"张三", "好的"}
    assert not Household.objects.filter(address="只为坏行新建的户").exists()


def test_a_file_without_the_required_columns_or_not_xlsx_is_refused(world):
    with pytest.raises(InvalidInput) as missing:
        import_residents(actor=world.same, file=xlsx([], headers=["姓名"]))
    assert missing.value.details == {"file": "缺少必需的列：网格代码、门牌地址"}

    with pytest.raises(InvalidInput):
        import_residents(actor=world.same, file=io.BytesIO(b"name,id\n"))


def test_who_may_not_read_the_roll_may_not_import(world):
    for role in (Role.LEADER, Role.LIAISON):
        with pytest.raises(PermissionDenied):
            import_residents(actor=make_user(role, world.township), file=xlsx([row()]))
    assert not Resident.objects.exists()


def test_import_through_the_api_and_the_page(world):
    client = world.client_for(world.grid_worker)
    upload = SimpleUploadedFile("r.xlsx", xlsx([row(身份证号=ID_A)]).getvalue())
    answer = client.post("/api/v1/residents/import", {"file": upload})
    assert answer.status_code == 200, answer.content
    assert answer.json()["created"] == 1 and answer.json()["households_created"] == 1

    upload = SimpleUploadedFile("r.xlsx", xlsx([row(姓名="再来", 身份证号=ID_A)]).getvalue())
    page = client.post("/residents/import/", {"file": upload})
    assert page.status_code == 422
    assert "该身份证号已登记" in page.content.decode()

    leader = world.client_for(make_user(Role.LEADER, world.township))
    upload = SimpleUploadedFile("r.xlsx", xlsx([row()]).getvalue())
    assert leader.post("/api/v1/residents/import", {"file": upload}).status_code == 403
    assert Resident.objects.count() == 1
