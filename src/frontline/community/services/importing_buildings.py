"""The building ledger (一楼一档) as XLSX: export (phones masked) and import with a
row-by-row report.

It follows the enterprise and place ledgers (`hazards/services/importing.py`, whose reading,
report and workbook helpers it uses): fixed Chinese headers whatever the language of the
page; every row is checked first; a file with errors imports nothing unless the user asks for
the valid rows (`valid_rows_only=True`), and nothing of a bad row is ever stored. The key of a
row is the region code and the building's name: a building of that name in that grid is
updated, any other row creates one. A column left out of the file leaves that field
unchanged; a masked phone (138****5678, as the export writes it) keeps the stored number.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.community.models import Building, BuildingStructure, BuildingUse, EbikeCharging
from frontline.community.services.buildings import (
    check_building,
    check_place_region,
    clean_building,
)
from frontline.core.crypto import mask_phone
from frontline.core.models import Region
from frontline.core.roles import Capability
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.services.importing import (
    BATCH,
    XLSX_CONTENT_TYPE,
    ImportReport,
    RowError,
    _choice_value,
    _chunks,
    _columns,
    _labels,
    _Scope,
    _text,
    _workbook_bytes,
    read_rows,
)

__all__ = ["XLSX_CONTENT_TYPE", "export_buildings", "import_buildings"]

# field → header. The order is the order of the exported columns.
BUILDING_COLUMNS: dict[str, str] = {
    "name": "楼栋名称",
    "address": "地址",
    "region": "区划代码",
    "use": "用途",
    "structure": "结构",
    "floors_above": "地上层数",
    "floors_below": "地下层数",
    "height_m": "建筑高度（米）",
    "year_built": "建成年份",
    "floor_area": "建筑面积（㎡）",
    "dwelling_units": "户数",
    "hydrants": "室内消火栓",
    "extinguishers": "灭火器",
    "smoke_alarms": "烟感报警器",
    "has_sprinklers": "自动喷水灭火系统",
    "has_fire_alarm_system": "火灾自动报警系统",
    "exits": "安全出口",
    "stairs": "疏散楼梯",
    "ebike_charging": "电动自行车充电",
    "responsible_name": "消防安全责任人",
    "responsible_phone": "责任人电话",
    "lon": "经度",
    "lat": "纬度",
    "notes": "备注",
}
REQUIRED_COLUMNS = ("name", "address", "region", "use", "structure")
_TEXT_FIELDS = ("name", "address", "responsible_name", "responsible_phone", "notes")
_CHOICES = {"use": BuildingUse, "structure": BuildingStructure, "ebike_charging": EbikeCharging}


# --- export ---------------------------------------------------------------------------------


def export_buildings(*, actor, queryset=None) -> bytes:
    """The buildings the actor sees (or `queryset`, narrowed to them) as XLSX. The phone is
    masked: an export leaves the platform, and the clear view is logged one field at a time."""
    visible = Building.objects.visible_to(actor) if actor is not None else Building.objects
    if queryset is not None:
        visible = queryset & visible.all()
    labels = {field: _labels(choices) for field, choices in _CHOICES.items()}

    def cells(b: Building) -> list:
        return [
            b.name,
            b.address,
            b.region.code,
            labels["use"].get(b.use, b.use),
            labels["structure"].get(b.structure, b.structure),
            b.floors_above,
            b.floors_below,
            b.height_m,
            b.year_built,
            b.floor_area,
            b.dwelling_units,
            b.hydrants,
            b.extinguishers,
            b.smoke_alarms,
            "是" if b.has_sprinklers else "否",
            "是" if b.has_fire_alarm_system else "否",
            b.exits,
            b.stairs,
            labels["ebike_charging"].get(b.ebike_charging, b.ebike_charging),
            b.responsible_name,
            mask_phone(b.responsible_phone),
            b.lon,
            b.lat,
            b.notes,
        ]

    rows = (
        cells(b)
        for b in visible.select_related("region")
        .order_by("region__code", "name", "pk")
        .iterator(chunk_size=2000)
    )
    return _workbook_bytes("楼栋", BUILDING_COLUMNS.values(), rows)


# --- import ---------------------------------------------------------------------------------


def _row_values(row, positions: dict[str, int]) -> dict:
    values = {name: (row[pos] if pos < len(row) else None) for name, pos in positions.items()}
    for name in _TEXT_FIELDS:
        if name in values:
            values[name] = _text(values[name])
    for name, choices in _CHOICES.items():
        if name in values:
            values[name] = _choice_value(_text(values[name]), choices)
    return values


def import_buildings(*, actor, file, valid_rows_only: bool = False) -> ImportReport:
    """Check every row, then (when the file is clean, or the user asked for the valid rows)
    create or update the buildings in one transaction."""
    if actor is not None:
        require(actor, Capability.EDIT, None)
    rows = read_rows(file)
    positions = _columns(rows[0], BUILDING_COLUMNS, REQUIRED_COLUMNS)
    report = ImportReport(valid_rows_only=valid_rows_only)

    records: list[tuple[int, dict]] = []
    for number, row in enumerate(rows[1:], start=2):
        values = {name: (row[pos] if pos < len(row) else None) for name, pos in positions.items()}
        if all(_text(v) == "" for v in values.values()):
            continue
        records.append((number, _row_values(row, positions)))
    report.total = len(records)

    regions: dict[str, Region] = {}
    for chunk in _chunks(sorted({_text(v["region"]) for _n, v in records})):
        regions.update({r.code: r for r in Region.objects.filter(code__in=chunk)})
    existing: dict[tuple[int, str], Building] = {}
    for chunk in _chunks([r.pk for r in regions.values()]):
        for building in Building.objects.filter(region_id__in=chunk):
            existing[(building.region_id, building.name)] = building
    scope = _Scope(actor)
    seen: dict[tuple[int, str], int] = {}
    valid: list[tuple[dict, Building | None]] = []

    for number, values in records:
        cleaner = Cleaner()
        data = {name: value for name, value in values.items() if name != "region"}
        keep_phone = "*" in data.get("responsible_phone", "")
        if keep_phone:
            data.pop("responsible_phone")
        data = clean_building(cleaner, data)
        region = regions.get(_text(values["region"]))
        if region is None or not scope.may_edit(region):
            cleaner.fail("region", _("区划代码不存在或不在您的管辖范围内"))
            region = None
        check_place_region(cleaner, region)
        current = None
        if region is not None and "name" not in cleaner.details:
            key = (region.pk, data["name"])
            if key in seen:
                cleaner.fail(
                    "name", _("与第 %(n)d 行重复（同一网格内的同名楼栋）") % {"n": seen[key]}
                )
            seen.setdefault(key, number)
            current = existing.get(key)
        stored = {"floors_above": 1, "stairs": 1}
        if current is not None:
            stored = {f: getattr(current, f) for f in stored}
        check_building(cleaner, stored | data)
        if cleaner.details:
            for name, message in cleaner.details.items():
                report.errors.append(RowError(number, BUILDING_COLUMNS.get(name, ""), message))
            continue
        if keep_phone and current is None:
            data["responsible_phone"] = ""
        data["region"] = region
        valid.append((data, current))

    if report.errors and not valid_rows_only:
        return report
    _write(valid, report)
    report.imported = True
    return report


def _differs(stored, imported) -> bool:
    """A spreadsheet may give a float back a few ulps off (120.41170000000001 → 120.4117):
    that is the same position or area, not an update."""
    if isinstance(stored, float) and isinstance(imported, float):
        return abs(stored - imported) > 1e-7 * max(1.0, abs(stored))
    return stored != imported


@transaction.atomic
def _write(valid: list[tuple[dict, Building | None]], report: ImportReport) -> None:
    """New rows in bulk; an existing building is updated only in the fields that differ."""
    new: list[Building] = []
    updated = 0
    now = timezone.now()
    for data, current in valid:
        if current is None:
            new.append(Building(**data))
            continue
        changes = {
            name: value for name, value in data.items() if _differs(getattr(current, name), value)
        }
        if not changes:
            continue
        Building.objects.filter(pk=current.pk).update(**changes, updated_at=now)
        updated += 1
    Building.objects.bulk_create(new, batch_size=BATCH)
    report.created = len(new)
    report.updated = updated
