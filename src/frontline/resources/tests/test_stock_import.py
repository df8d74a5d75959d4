"""The stock ledger from a spreadsheet: a good file books every kind of movement exactly as
the services would (and the ledger re-derives to the same stock); each kind of bad row is
reported with its row number and nothing at all is written; the upload is checked for type
and size; the low-stock check runs once per depot and item; an exported ledger imports
again to the same rows; the import page."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from frontline.core.errors import InvalidInput, PermissionDenied
from frontline.core.models import Notification
from frontline.core.testing import make_organization
from frontline.resources.models import (
    DepotStatus,
    LedgerEntry,
    MovementKind,
    StockLot,
    StockMinimum,
    StockMovement,
    StorageLocation,
)
from frontline.resources.services import stock
from frontline.resources.services.exporting_stock import export_movements
from frontline.resources.services.importing_stock import STOCK_COLUMNS, import_stock_ledger
from frontline.resources.testing import make_depot, make_item, make_shelter

HEADERS = list(STOCK_COLUMNS.values())


def xlsx(rows: list[dict], headers: list[str] = HEADERS) -> io.BytesIO:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(header) for header in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def read(content: bytes) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()


def ago(days: int, hour: int = 9) -> datetime:
    day = timezone.localdate() - timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, 0)


def day(days: int):
    return timezone.localdate() + timedelta(days=days)


def state():
    return (
        StockMovement.objects.count(),
        LedgerEntry.objects.count(),
        sorted(StockLot.objects.values_list("pk", "quantity")),
    )


@pytest.fixture
def depot(world):
    depot = make_depot(world.township, name="柯岩街道救灾物资库")
    StorageLocation.objects.create(depot=depot, code="A-01")
    return depot


@pytest.fixture
def flood(world):
    return make_depot(world.township, name="柯岩街道防汛物资库")


@pytest.fixture
def items(db):
    return {
        "tent": make_item("1999801", "帐篷", unit="顶"),
        "water": make_item("1999802", "饮用水", unit="箱", shelf_life_days=365),
    }


def receive(depot, item, n, at, **kw) -> dict:
    return {
        "日期": at,
        "业务类型": "入库",
        "储备库": depot.name,
        "物资编码": item.code,
        "数量": n,
    } | kw


def test_every_kind_of_movement_is_booked_as_the_services_would(world, depot, flood, items):
    tent, water = items["tent"], items["water"]
    unit = make_organization(world.township, name="柯岩街道应急救援队")
    rows = [
        receive(depot, tent, 50, ago(10), 批号="T1", 库位="A-01", **{"单据号": "R1"}),
        receive(depot, water, 30, ago(10), 批号="W1", 生产日期=day(-100), **{"单据号": "R1"}),
        receive(depot, water, 20, ago(10, 10), 批号="W2", 有效期至=day(400)),
        {
            "日期": ago(5),
            "业务类型": "出库",
            "储备库": depot.name,
            "物资编码": water.code,
            "数量": 40,
            "出库用途": "突发事件处置",
            "事件编号/名称": "SJ-2026-001 山洪",
        },
        {
            "日期": ago(4),
            "业务类型": "出库",
            "储备库": depot.name,
            "物资编码": tent.code,
            "数量": 5,
            "出库用途": "调配给单位",
            "领用单位": unit.name,
        },
        {
            "日期": ago(3),
            "业务类型": "调拨",
            "储备库": depot.name,
            "物资编码": tent.code,
            "数量": 10,
            "批号": "T1",
            "调入库": flood.name,
            "事由/说明": "汛前前置",
        },
        {
            "日期": ago(2),
            "业务类型": "调整",
            "储备库": depot.name,
            "物资编码": tent.code,
            "数量": -2,
            "批号": "T1",
            "事由/说明": "受潮损坏",
        },
        {
            "日期": ago(1),
            "业务类型": "盘点",
            "储备库": depot.name,
            "物资编码": water.code,
            "数量": 9,
            "批号": "W2",
            "单据号": "PD1",
        },
        {
            "日期": ago(1),
            "业务类型": "盘点",
            "储备库": depot.name,
            "物资编码": tent.code,
            "数量": 33,
            "批号": "T1",
            "单据号": "PD1",
        },
    ]
    report = import_stock_ledger(actor=world.same, file=xlsx(rows))
    assert report.errors == [] and report.imported
    assert (report.total, report.movements) == (9, 7)
    assert stock.on_hand(depot) == {tent.pk: 33, water.pk: 9}
    assert stock.on_hand(flood) == {tent.pk: 10}
    # FEFO: the issue of 40 took all 30 of W1 (expires first) and 10 of W2.
    w1 = StockLot.objects.get(depot=depot, lot_no="W1")
    assert w1.quantity == 0 and w1.expiry_date == day(-100) + timedelta(days=365)
    issue = StockMovement.objects.get(kind=MovementKind.ISSUE, purpose="incident")
    assert sorted(issue.entries.values_list("lot__lot_no", "delta")) == [("W1", -30), ("W2", -10)]
    assert issue.incident_ref == "SJ-2026-001 山洪" and issue.actor == world.same
    assert StockMovement.objects.get(purpose="unit").recipient == unit
    # The stocktake: book 10 of W2 counted 9, book 33 of T1 counted 33.
    take = StockMovement.objects.get(kind=MovementKind.STOCKTAKE)
    assert sorted(take.entries.values_list("counted", "delta")) == [(9, -1), (33, 0)]
    # Numbers continue per prefix, region and year; times are Beijing times.
    receipt = StockMovement.objects.filter(kind=MovementKind.RECEIVE).order_by("number").first()
    assert receipt.number == f"RK-{world.township.code}-{ago(10).year}-00001"
    assert receipt.entries.count() == 2
    assert timezone.localtime(receipt.at).replace(tzinfo=None) == ago(10)
    # Lot balances on the entries are the running balance of the lot.
    t1 = StockLot.objects.get(depot=depot, lot_no="T1")
    assert list(t1.entries.order_by("at", "pk").values_list("balance", flat=True)) == [
        50,
        45,
        35,
        33,
        33,
    ]
    assert stock.rederive_stock().mismatches == []


def test_numbers_continue_after_existing_movements(world, depot, items):
    stock.receive_stock(
        actor=world.same, depot=depot, lines=[stock.Receipt(item=items["tent"], quantity=1)]
    )
    later = timezone.localtime() + timedelta(minutes=1)
    rows = [receive(depot, items["tent"], 3, later.replace(tzinfo=None, microsecond=0))]
    report = import_stock_ledger(actor=world.same, file=xlsx(rows))
    assert report.imported
    numbers = sorted(StockMovement.objects.values_list("number", flat=True))
    assert [n[-5:] for n in numbers] == ["00001", "00002"]
    assert stock.rederive_stock().mismatches == []


def _refused(world, rows, actor=None):
    before = state()
    report = import_stock_ledger(actor=actor or world.same, file=xlsx(rows))
    assert not report.imported
    assert state() == before, "a refused file writes nothing"
    return {(error.row, error.column): error.message for error in report.errors}


def test_bad_rows_are_reported_by_row_and_nothing_is_written(world, depot, flood, items):
    tent = items["tent"]
    sibling = make_depot(world.sibling_township, name="安昌街道救灾物资库")
    stopped = make_depot(world.township, name="停用库", status=DepotStatus.SUSPENDED)
    ok = receive(depot, tent, 10, ago(9), 批号="T1")
    rows = [
        ok,  # 2: good
        receive(depot, tent, 1, ago(8)) | {"业务类型": "领用"},  # 3
        receive(depot, tent, 1, "昨天"),  # 4
        receive(depot, tent, 1, ago(-2)),  # 5: in two days
        receive(sibling, tent, 1, ago(8)),  # 6: out of scope
        receive(depot, tent, 1, ago(8)) | {"物资编码": "9999999"},  # 7
        receive(depot, tent, 0, ago(8)),  # 8
        receive(depot, tent, 1.5, ago(8)),  # 9
        receive(depot, tent, 1, ago(8), 生产日期=day(-1), 有效期至=day(-10)),  # 10
        receive(depot, tent, 1, ago(8), 库位="Z-99"),  # 11
        receive(stopped, tent, 1, ago(8)),  # 12
        {**ok, "日期": ago(7), "业务类型": "调拨", "调入库": sibling.name},  # 13
        {**ok, "日期": ago(7), "业务类型": "调拨", "调入库": depot.name},  # 14
        {**ok, "日期": ago(7), "业务类型": "出库"},  # 15: no purpose
        {**ok, "日期": ago(7), "业务类型": "出库", "出库用途": "突发事件处置"},  # 16
        {**ok, "日期": ago(7), "业务类型": "出库", "出库用途": "调配给单位"},  # 17
        {**ok, "日期": ago(7), "业务类型": "出库", "出库用途": "报废", "允许发出过期物资": "是"},
        {**ok, "日期": ago(7), "业务类型": "调整", "数量": -1},  # 19: no reason
        {**ok, "日期": ago(7), "业务类型": "调整", "批号": "", "事由/说明": "x", "数量": 1},  # 20
        {**ok, "日期": ago(6), "业务类型": "出库", "出库用途": "演练/培训", "数量": 11},  # 21
        {**ok, "日期": ago(6), "业务类型": "调整", "数量": -11, "事由/说明": "丢失"},  # 22
        {**ok, "日期": ago(6), "业务类型": "盘点", "数量": 8, "单据号": "P"},  # 23
        {**ok, "日期": ago(6), "业务类型": "盘点", "数量": 7, "单据号": "P"},  # 24: same lot
        {**ok, "日期": ago(6), "业务类型": "调整", "批号": "NOPE", "事由/说明": "x"},  # 25
        {**ok, "日期": ago(20), "业务类型": "调整", "事由/说明": "补记", "数量": 1},  # 26: order
        receive(depot, tent, 1, ago(5), **{"单据号": "D"}),  # 27
        receive(flood, tent, 1, ago(5), **{"单据号": "D"}),  # 28: another depot, same doc
        receive(depot, tent, 1, ago(4), **{"单据号": "E"}),  # 29
        receive(depot, tent, 1, ago(4)),  # 30
        receive(depot, tent, 1, ago(4), **{"单据号": "E"}),  # 31: not adjacent
    ]
    errors = _refused(world, rows)
    expected = {
        (3, "业务类型"),
        (4, "日期"),
        (5, "日期"),
        (6, "储备库"),
        (7, "物资编码"),
        (8, "数量"),
        (9, "数量"),
        (10, "有效期至"),
        (11, "库位"),
        (12, "储备库"),
        (13, "调入库"),
        (14, "调入库"),
        (15, "出库用途"),
        (16, "事件编号/名称"),
        (17, "领用单位"),
        (18, "事由/说明"),
        (19, "事由/说明"),
        (20, "批号"),
        (21, "数量"),
        (22, "数量"),
        (24, "批号"),
        (25, "批号"),
        (26, "日期"),
        (28, "单据号"),
        (31, "单据号"),
    }
    assert set(errors) == expected, sorted(set(errors) ^ expected)
    assert errors[(6, "储备库")] == "储备库不存在或不在您的管辖范围内"
    assert errors[(13, "调入库")] == "储备库不存在或不在您的管辖范围内"
    assert errors[(21, "数量")] == "帐篷 库存不足：可发出 10 顶，需要 11 顶"
    assert "按时间先后" in errors[(26, "日期")]
    assert not {row for row, _column in errors} & {2, 23, 27, 29, 30}


def test_a_file_imported_twice_is_refused_the_second_time(world, depot, items):
    rows = [
        receive(depot, items["tent"], 10, ago(3), 单据号="RK2026-0007"),
        receive(depot, items["water"], 5, ago(3), 单据号="RK2026-0007"),
        receive(depot, items["tent"], 2, ago(2)),
    ]
    first = import_stock_ledger(actor=world.same, file=xlsx(rows))
    assert first.imported
    booked = StockMovement.objects.get(source_number="RK2026-0007")

    errors = _refused(world, rows)

    assert errors == {
        (2, "单据号"): f"单据号 RK2026-0007 已在本库登记过（{booked.number}），请勿重复导入"
    }


def test_a_depots_own_export_cannot_be_imported_back_into_it(world, depot, items):
    stock.receive_stock(
        actor=world.same,
        depot=depot,
        lines=[stock.Receipt(item=items["tent"], quantity=4)],
        at=timezone.now() - timedelta(days=1),
    )
    exported = read(export_movements(actor=world.same))
    rows = [dict(zip(exported[0], row, strict=True)) for row in exported[1:]]

    errors = _refused(world, rows)

    assert list(errors.values()) == [
        f"单据号 {rows[0]['单据号']} 已在本库登记过（{rows[0]['单据号']}），请勿重复导入"
    ]


def test_an_expired_lot_needs_the_override_and_a_reason(world, depot, items):
    water = items["water"]
    stock.receive_stock(
        actor=None,
        depot=depot,
        lines=[stock.Receipt(item=water, quantity=5, lot_no="OLD", expiry_date=day(-3))],
        at=timezone.now() - timedelta(days=30),
    )
    issue = {
        "日期": ago(0, 0),
        "业务类型": "出库",
        "储备库": depot.name,
        "物资编码": water.code,
        "数量": 5,
        "出库用途": "报废",
    }
    errors = _refused(world, [issue])
    assert list(errors) == [(2, "允许发出过期物资")]
    assert "已过期" in errors[(2, "允许发出过期物资")]
    report = import_stock_ledger(
        actor=world.same,
        file=xlsx([issue | {"允许发出过期物资": "是", "事由/说明": "过期报废"}]),
    )
    assert report.imported and stock.on_hand(depot) == {water.pk: 0}
    assert StockMovement.objects.get(kind=MovementKind.ISSUE).expired_override


def test_a_movement_whose_line_fails_leaves_no_trace_in_the_replay(world, depot, items):
    """Two lines of one document; the second is short. The first line's units are not
    counted as gone for the rows after it (all lines or none)."""
    tent = items["tent"]
    rows = [
        receive(depot, tent, 10, ago(5)),
        {
            "日期": ago(4),
            "业务类型": "出库",
            "储备库": depot.name,
            "物资编码": tent.code,
            "数量": 6,
            "出库用途": "演练/培训",
            "单据号": "X",
        },
        {
            "日期": ago(4),
            "业务类型": "出库",
            "储备库": depot.name,
            "物资编码": tent.code,
            "数量": 6,
            "出库用途": "演练/培训",
            "单据号": "X",
        },
        {
            "日期": ago(3),
            "业务类型": "出库",
            "储备库": depot.name,
            "物资编码": tent.code,
            "数量": 10,
            "出库用途": "演练/培训",
        },
    ]
    errors = _refused(world, rows)
    assert list(errors) == [(4, "数量")]


def test_scope_and_right_are_checked(world, depot, items):
    rows = [receive(depot, items["tent"], 1, ago(1))]
    errors = _refused(world, rows, actor=world.sibling)
    assert errors == {(2, "储备库"): "储备库不存在或不在您的管辖范围内"}
    report = import_stock_ledger(actor=world.parent, file=xlsx(rows))
    assert report.imported
    with pytest.raises(PermissionDenied):
        import_stock_ledger(actor=world.grid_worker, file=xlsx(rows))


def test_same_named_depots_need_the_region_code(world, depot, items):
    make_depot(world.sibling_township, name=depot.name)
    rows = [receive(depot, items["tent"], 1, ago(1))]
    errors = _refused(world, rows, actor=world.parent)
    assert errors == {(2, "储备库"): "有多个同名储备库，请填写区划代码"}
    rows[0]["区划代码"] = world.township.code
    assert import_stock_ledger(actor=world.parent, file=xlsx(rows)).imported


def test_the_upload_is_checked(world, settings):
    with pytest.raises(InvalidInput) as refused:
        import_stock_ledger(actor=world.same, file=io.BytesIO(b"date,kind\n1,2\n"))
    assert "XLSX" in str(refused.value.message)
    settings.FRONTLINE_UPLOAD_MAX_MB = 0
    with pytest.raises(InvalidInput) as refused:
        import_stock_ledger(actor=world.same, file=xlsx([]))
    assert "文件过大" in str(refused.value.message)
    settings.FRONTLINE_UPLOAD_MAX_MB = 20
    with pytest.raises(InvalidInput) as refused:
        import_stock_ledger(actor=world.same, file=xlsx([], headers=["日期", "数量"]))
    assert "缺少必需的列" in str(refused.value.message)


def test_low_stock_is_checked_once_per_depot_and_item(world, depot, items):
    tent = items["tent"]
    StockMinimum.objects.create(depot=depot, item=tent, minimum=20)
    issue = {
        "业务类型": "出库",
        "储备库": depot.name,
        "物资编码": tent.code,
        "出库用途": "演练/培训",
    }
    rows = [
        receive(depot, tent, 30, ago(3)),
        issue | {"日期": ago(2), "数量": 5},
        issue | {"日期": ago(2, 10), "数量": 10},
        issue | {"日期": ago(1), "数量": 1},
    ]
    assert import_stock_ledger(actor=world.same, file=xlsx(rows)).imported
    assert StockMinimum.objects.get().low_since is not None
    alerts = Notification.objects.filter(kind=stock.LOW_STOCK_KIND)
    assert alerts.count() == len(stock.responsible_users(depot)) >= 1


def test_an_exported_ledger_imports_again_to_the_same_rows(world, depot, flood, items):
    tent, water = items["tent"], items["water"]
    sibling_a = make_depot(world.sibling_township, name=depot.name)
    StorageLocation.objects.create(depot=sibling_a, code="A-01")
    make_depot(world.sibling_township, name=flood.name)
    shelter = make_shelter(world.township, name="州山村避难点")
    make_shelter(world.sibling_township, name="州山村避难点")
    past = timezone.now() - timedelta(days=3)
    location = StorageLocation.objects.get(depot=depot)
    stock.receive_stock(
        actor=world.same,
        depot=depot,
        lines=[
            stock.Receipt(item=tent, quantity=40, lot_no="T1", location=location),
            stock.Receipt(item=water, quantity=25, production_date=day(-30)),
        ],
        supplier="县应急管理局",
        at=past,
    )
    stock.issue_stock(
        actor=world.same,
        depot=depot,
        lines=[stock.Take(item=water, quantity=5)],
        purpose="shelter",
        shelter=shelter,
        at=past + timedelta(hours=1),
    )
    stock.transfer_stock(
        actor=world.same,
        depot=depot,
        to_depot=flood,
        lines=[stock.Take(item=tent, quantity=12)],
        reason="汛前前置",
        at=past + timedelta(hours=2),
    )
    lot = StockLot.objects.get(depot=depot, item=tent)
    stock.adjust_stock(
        actor=world.same, lot=lot, delta=-1, reason="损坏", at=past + timedelta(hours=3)
    )
    water_lot = StockLot.objects.get(depot=depot, item=water)
    stock.record_stocktake(
        actor=world.same,
        depot=depot,
        counts=[stock.Count(lot=lot, counted=27), stock.Count(lot=water_lot, counted=19)],
        at=past + timedelta(hours=4),
    )
    original = read(export_movements(actor=world.same))
    # The same ledger, moved to the sibling township's depots of the same names.
    region, to_region = HEADERS.index("区划代码"), HEADERS.index("调入库区划代码")
    moved = []
    for row in original[1:]:
        row = list(row)
        row[region] = world.sibling_township.code
        if row[to_region]:
            row[to_region] = world.sibling_township.code
        moved.append(dict(zip(HEADERS, row, strict=True)))
    report = import_stock_ledger(actor=world.parent, file=xlsx(moved))
    assert report.imported, report.errors
    again = read(
        export_movements(
            actor=world.parent,
            movements=StockMovement.objects.filter(depot__region=world.sibling_township),
        )
    )
    skip = {region, to_region, HEADERS.index("单据号")}
    assert len(again) == len(original) == 8

    def same(a, b) -> bool:
        if isinstance(a, float) or isinstance(b, float):
            return abs(float(a) - float(b)) < 1e-6
        return a == b

    for before, after in zip(original[1:], again[1:], strict=True):
        for index, (a, b) in enumerate(zip(before, after, strict=True)):
            if index not in skip:
                assert same(a, b), (HEADERS[index], a, b)
    assert stock.rederive_stock().mismatches == []


def test_the_import_page(world, depot, items):
    client = world.client_for(world.same)
    page = client.get("/stock/import/")
    assert page.status_code == 200 and "导入物资台账" in page.content.decode()
    bad = [receive(depot, items["tent"], 0, ago(1))]
    response = client.post("/stock/import/", {"file": _upload(xlsx(bad))})
    assert response.status_code == 422
    assert "数量应在 1 至" in response.content.decode()
    good = [receive(depot, items["tent"], 3, ago(1))]
    response = client.post("/stock/import/", {"file": _upload(xlsx(good))})
    assert response.status_code == 200 and 'data-testid="import-done"' in response.content.decode()
    assert stock.on_hand(depot) == {items["tent"].pk: 3}
    response = client.post("/stock/import/", {"file": _upload(io.BytesIO(b"not a workbook"))})
    assert response.status_code == 422 and "XLSX" in response.content.decode()
    assert world.client_for(world.grid_worker).get("/stock/import/").status_code == 403


def _upload(content: io.BytesIO):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("ledger.xlsx", content.getvalue())
