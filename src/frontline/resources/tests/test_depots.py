"""Depots: the services (register, edit, storage places, minimum levels) with their checks,
scope and timeline; the list and the depot's page (scope matrix, counts, queries that do
not grow with rows); the forms; the depot register as XLSX."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.models import Notification
from frontline.core.testing import assert_page_matrix, make_person, page_queries
from frontline.resources.models import (
    Depot,
    DepotKind,
    DepotStatus,
    ResourceEvent,
    StockMinimum,
    StorageLocation,
)
from frontline.resources.services import depots as services
from frontline.resources.services import stock
from frontline.resources.services.importing_stock_depots import (
    DEPOT_COLUMNS,
    export_depots,
    import_depots,
)
from frontline.resources.testing import make_depot, make_item

LON, LAT = 120.40, 30.00


@pytest.fixture
def depot(world):
    return make_depot(world.township, name="柯岩街道救灾物资库")


@pytest.fixture
def tent(db):
    return make_item("1999811", "帐篷", unit="顶")


def events(depot) -> list[str]:
    return list(
        ResourceEvent.objects.filter(subject="depot", object_id=depot.pk)
        .order_by("at", "id")
        .values_list("kind", flat=True)
    )


# --- services --------------------------------------------------------------------------------


def test_create_and_edit_a_depot(world):
    keeper = make_person(world.village, name="王保管")
    depot = services.create_depot(
        actor=world.same,
        region=world.township,
        name="柯岩街道森林防火物资库",
        kind=DepotKind.FOREST_FIRE,
        lon=LON,
        lat=LAT,
        keeper=keeper,
        area_m2=120,
    )
    assert depot.keeper == keeper and events(depot) == ["created"]
    services.update_depot(actor=world.same, depot=depot, status=DepotStatus.SUSPENDED)
    services.update_depot(actor=world.same, depot=depot, address="柯岩大道 1 号", lon=LON + 0.01)
    services.update_depot(actor=world.same, depot=depot, address="柯岩大道 1 号")  # no change
    depot.refresh_from_db()
    assert (depot.status, depot.lat, depot.lon) == (DepotStatus.SUSPENDED, LAT, LON + 0.01)
    assert events(depot) == ["created", "status_changed", "updated"]
    change = ResourceEvent.objects.get(subject="depot", kind="status_changed")
    assert (change.from_state, change.to_state) == ("in_use", "suspended")


def test_depot_input_is_checked(world, depot):
    with pytest.raises(InvalidInput) as refused:
        services.create_depot(
            actor=world.same,
            region=world.grid,
            name=depot.name,
            kind="warehouse",
            lon=None,
            lat=None,
        )
    assert set(refused.value.details) == {"region", "kind", "lon"}
    with pytest.raises(InvalidInput) as refused:
        services.create_depot(
            actor=world.same,
            region=world.township,
            name=depot.name,
            kind="relief",
            lon=LAT,
            lat=LON,
        )
    assert set(refused.value.details) == {"name", "lat"}  # swapped: 120 is no latitude
    with pytest.raises(InvalidInput) as refused:
        services.create_depot(
            actor=world.same, region=world.township, name="新库", kind="relief", lon=30.0, lat=60.0
        )
    assert refused.value.details == {"lon": "坐标不在中国境内，请检查经纬度是否填反"}
    outsider = make_person(world.sibling_township)
    with pytest.raises(InvalidInput) as refused:
        services.update_depot(actor=world.same, depot=depot, keeper=outsider)
    assert refused.value.details == {"keeper": "保管人不在储备库所属区划之内"}
    with pytest.raises(PermissionDenied):
        services.update_depot(actor=world.sibling, depot=depot, name="别的名字")
    with pytest.raises(PermissionDenied):
        services.update_depot(actor=world.same, depot=depot, region=world.sibling_township)


def test_storage_locations(world, depot, tent):
    location = services.add_location(actor=world.same, depot=depot, code="A-01", name="一号架")
    with pytest.raises(InvalidInput):
        services.add_location(actor=world.same, depot=depot, code="A-01")
    services.update_location(actor=world.same, location=location, code="A-02")
    stock.receive_stock(
        actor=None,
        depot=depot,
        lines=[stock.Receipt(item=tent, quantity=2, location=location)],
    )
    with pytest.raises(DomainError) as refused:
        services.remove_location(actor=world.same, location=location)
    assert "还有物资" in str(refused.value.message)
    empty = services.add_location(actor=world.same, depot=depot, code="B-01")
    services.remove_location(actor=world.same, location=empty)
    assert list(StorageLocation.objects.values_list("code", flat=True)) == ["A-02"]
    assert events(depot)[-4:] == [
        "location_added",
        "location_changed",
        "location_added",
        "location_removed",
    ]


def test_a_minimum_above_the_stock_raises_the_alert_at_once(world, depot, tent):
    stock.receive_stock(actor=None, depot=depot, lines=[stock.Receipt(item=tent, quantity=5)])
    row = services.set_minimum(actor=world.same, depot=depot, item=tent, minimum=10)
    assert row.low_since is not None
    assert Notification.objects.filter(kind=stock.LOW_STOCK_KIND).exists()
    with pytest.raises(InvalidInput):
        services.set_minimum(actor=world.same, depot=depot, item=tent, minimum=0)
    row = services.set_minimum(actor=world.same, depot=depot, item=tent, minimum=3)
    assert row.low_since is None
    services.remove_minimum(actor=world.same, minimum=row)
    assert not StockMinimum.objects.exists()
    assert events(depot) == ["minimum_set", "minimum_set", "minimum_removed"]


# --- pages -----------------------------------------------------------------------------------


def test_depot_pages_answer_by_scope(world, depot, tent):
    stock.receive_stock(actor=None, depot=depot, lines=[stock.Receipt(item=tent, quantity=2)])
    assert_page_matrix(world, f"/depots/{depot.pk}/")
    assert_page_matrix(world, f"/depots/{depot.pk}/items/{tent.pk}/")
    for persona in ("sibling", "outsider"):
        listed = world.client_for(getattr(world, persona)).get("/depots/").content.decode()
        assert depot.name not in listed
    assert depot.name in world.client_for(world.parent).get("/depots/").content.decode()


def _stock(depot, item, n: int, expiry=None, at=None):
    stock.receive_stock(
        actor=None,
        depot=depot,
        lines=[stock.Receipt(item=item, quantity=n, expiry_date=expiry)],
        at=at,
    )


def test_the_list_counts_stock_per_depot(world, depot, tent):
    water = make_item("1999812", "饮用水", unit="箱", expiry_warning_days=30)
    today = timezone.localdate()
    _stock(depot, tent, 3)
    _stock(depot, water, 4, expiry=today + timedelta(days=10))
    _stock(depot, water, 4, expiry=today - timedelta(days=1), at=timezone.now() - timedelta(days=9))
    StockMinimum.objects.create(depot=depot, item=tent, minimum=5)
    html = world.client_for(world.same).get("/depots/").content.decode()
    row = html.split(f'data-depot="{depot.pk}"')[1].split("</tr>")[0]
    for name, value in {"items": 2, "lots": 3, "near": 1, "expired": 1, "low": 1}.items():
        assert f'data-count="{name}">{value}<' in row, name


def test_list_and_depot_page_queries_do_not_grow_with_rows(world, depot, tent):
    client = world.client_for(world.same)
    _stock(depot, tent, 1, expiry=timezone.localdate() + timedelta(days=5))
    services.set_minimum(actor=None, depot=depot, item=tent, minimum=3)
    services.add_location(actor=None, depot=depot, code="A-01")
    _, few_list = page_queries(client, "/depots/")
    _, few_page = page_queries(client, f"/depots/{depot.pk}/")
    for n in range(6):
        other = make_depot(world.township, name=f"第{n}库")
        item = make_item(f"19998{20 + n}", f"物资{n}")
        _stock(other, item, 2, expiry=timezone.localdate() + timedelta(days=n))
        _stock(depot, item, 2, expiry=timezone.localdate() - timedelta(days=1))
        services.set_minimum(actor=None, depot=other, item=item, minimum=5)
        services.set_minimum(actor=None, depot=depot, item=item, minimum=1)
        services.add_location(actor=world.same, depot=depot, code=f"B-{n}")
    list_response, many_list = page_queries(client, "/depots/")
    page_response, many_page = page_queries(client, f"/depots/{depot.pk}/")
    assert list_response.status_code == page_response.status_code == 200
    assert len(many_list) == len(few_list), [q["sql"] for q in many_list.captured_queries]
    assert len(many_page) == len(few_page), [q["sql"] for q in many_page.captured_queries]


def test_the_depot_page_shows_stock_against_minimum_and_expiring_lots(world, depot, tent):
    today = timezone.localdate()
    _stock(depot, tent, 4, expiry=today + timedelta(days=3))
    services.set_minimum(actor=None, depot=depot, item=tent, minimum=8)
    html = world.client_for(world.same).get(f"/depots/{depot.pk}/").content.decode()
    assert 'data-testid="warned"' in html and "临期" in html
    assert "width: 50%" in html and "低于下限" in html
    assert f"/depots/{depot.pk}/receive/" in html
    readonly = world.client_for(world.parent).get(f"/depots/{depot.pk}/").content.decode()
    assert "width: 50%" in readonly  # the county reads it too


def test_depot_forms(world, depot):
    client = world.client_for(world.same)
    form = {
        "name": "柯岩街道防汛物资库",
        "kind": "flood",
        "region": world.township.code,
        "lon": LON,
        "lat": LAT,
        "status": "in_use",
    }
    response = client.post("/depots/new/", form)
    created = Depot.objects.get(name="柯岩街道防汛物资库")
    assert response.status_code == 302 and response["Location"] == f"/depots/{created.pk}/"
    response = client.post("/depots/new/", form)
    assert response.status_code == 422 and "该区划内已有同名储备库" in response.content.decode()
    response = client.post(f"/depots/{created.pk}/edit/", form | {"status": "suspended"})
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.status == "suspended"
    assert world.client_for(world.sibling).get(f"/depots/{depot.pk}/edit/").status_code == 404
    assert world.client_for(world.grid_worker).get("/depots/new/").status_code == 403


def test_locations_and_minimums_on_the_depot_page(world, depot, tent):
    client = world.client_for(world.same)
    url = f"/depots/{depot.pk}/"
    response = client.post(url + "locations/", {"location-code": "A-01", "location-name": "一号架"})
    assert response.status_code == 302 and response["Location"] == url + "#locations"
    location = StorageLocation.objects.get(depot=depot)
    client.post(url + f"locations/{location.pk}/", {"location-code": "A-09", "location-name": ""})
    location.refresh_from_db()
    assert location.code == "A-09"
    response = client.post(
        url + "minimums/", {"minimum-item": f"{tent.code} 帐篷", "minimum-minimum": 6}
    )
    assert StockMinimum.objects.get(depot=depot).minimum == 6
    response = client.post(
        url + "minimums/", {"minimum-item": "不存在的物资", "minimum-minimum": 6}
    )
    assert "找不到该物资" in client.get(url).content.decode()
    minimum = StockMinimum.objects.get()
    client.post(url + f"minimums/{minimum.pk}/remove/")
    client.post(url + f"locations/{location.pk}/", {"action": "remove"})
    assert not StockMinimum.objects.exists() and not StorageLocation.objects.exists()
    sibling = world.client_for(world.sibling)
    assert sibling.post(url + "locations/", {"location-code": "X"}).status_code == 404


# --- the register as XLSX --------------------------------------------------------------------

HEADERS = list(DEPOT_COLUMNS.values())


def xlsx(rows: list[dict]) -> io.BytesIO:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append([row.get(header) for header in HEADERS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def depot_row(name: str, region: str, **kw) -> dict:
    return {
        "区划代码": region,
        "名称": name,
        "类型": "救灾物资库",
        "地址": "柯岩大道1号",
        "经度": LON,
        "纬度": LAT,
        "状态": "在用",
        "库位": "A-01、A-02",
    } | kw


def test_the_register_imports_row_by_row(world, depot):
    keeper = make_person(world.township, name="李保管")
    rows = [
        depot_row("新库", world.township.code, 保管人=keeper.name),  # 2
        depot_row(depot.name, world.township.code, 类型="flood", 库位="C-01"),  # 3: update
        depot_row("越权库", world.sibling_township.code),  # 4
        depot_row("网格库", world.grid.code),  # 5
        depot_row("无坐标库", world.township.code, 经度=None, 纬度=None),  # 6
        depot_row("新库", world.township.code),  # 7: duplicate of row 2
        depot_row("怪库", world.township.code, 类型="仓库", 保管人="查无此人"),  # 8
    ]
    report = import_depots(actor=world.same, file=xlsx(rows))
    assert not report.imported and Depot.objects.count() == 1
    assert {(e.row, e.column) for e in report.errors} == {
        (4, "区划代码"),
        (5, "区划代码"),
        (6, "经度"),
        (7, "名称"),
        (8, "类型"),
        (8, "保管人"),
    }
    report = import_depots(actor=world.same, file=xlsx(rows), valid_rows_only=True)
    assert report.imported and (report.created, report.updated) == (1, 1)
    new = Depot.objects.get(name="新库")
    assert new.keeper == keeper and new.kind == "relief"
    assert sorted(new.locations.values_list("code", flat=True)) == ["A-01", "A-02"]
    depot.refresh_from_db()
    assert depot.kind == "flood" and list(depot.locations.values_list("code", flat=True)) == [
        "C-01"
    ]
    # Export and import again: nothing changes.
    content = export_depots(actor=world.same)
    exported = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
    assert exported[0] == HEADERS and len(exported) == 3
    report = import_depots(actor=world.same, file=io.BytesIO(content))
    assert report.imported and (report.created, report.updated) == (0, 0)


def test_a_keeper_whose_name_repeats_in_the_township_exports_and_imports_back(world, depot):
    keeper = make_person(world.township, name="陈秋")
    make_person(world.grid, name="陈秋")
    services.update_depot(actor=world.same, depot=depot, keeper=keeper)
    other = make_depot(world.township, name="新库")
    content = export_depots(actor=world.same)

    report = import_depots(actor=world.same, file=io.BytesIO(content))

    assert report.imported and report.errors == []
    depot.refresh_from_db()
    assert depot.keeper == keeper
    # A new depot with a repeated name: the person filed at the depot's own region is meant.
    rows = [depot_row(other.name, world.township.code, 保管人="陈秋")]
    assert import_depots(actor=world.same, file=xlsx(rows)).imported
    other.refresh_from_db()
    assert other.keeper == keeper


def test_the_register_pages(world, depot):
    client = world.client_for(world.same)
    response = client.get("/depots/export.xlsx")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd")
    bad = xlsx(
        [depot_row("越权库", world.sibling_township.code), depot_row("好库", world.township.code)]
    )
    upload = SimpleUploadedFile("depots.xlsx", bad.getvalue())
    response = client.post("/depots/import/", {"file": upload})
    assert response.status_code == 200 and "导入有效行（1 行）" in response.content.decode()
    response = client.post("/depots/import/", {"action": "valid_rows"})
    assert response.status_code == 200 and Depot.objects.filter(name="好库").exists()
    assert world.client_for(world.grid_worker).get("/depots/import/").status_code == 403
