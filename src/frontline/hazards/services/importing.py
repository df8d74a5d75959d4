"""Enterprise and place ledgers as XLSX: export (openpyxl, write-only) and the enterprise
import (python-calamine) with a row-by-row report.

The file format is fixed Chinese headers (see docs/hazards-objects.md), whatever the language
of the page. An import checks every row first; a file with errors imports nothing unless the
user chose to import the valid rows (`valid_rows_only=True`). Writes are one transaction and
upsert by unified social credit code.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from frontline.core.crypto import mask_phone
from frontline.core.errors import InvalidInput
from frontline.core.models import Region
from frontline.core.roles import Capability, can
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.models import (
    Enterprise,
    Industry,
    MajorHazardInstallation,
    Place,
    PlaceCategory,
    RiskColour,
    RiskPoint,
)
from frontline.hazards.services.objects import (
    check_place_enterprise,
    clean_enterprise,
    clean_place,
)

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 50_000
BATCH = 500

# field → header. The order is the order of the exported columns.
ENTERPRISE_COLUMNS: dict[str, str] = {
    "name": "名称",
    "credit_code": "统一社会信用代码",
    "industry": "行业",
    "above_scale": "规上企业",
    "employees": "从业人员",
    "legal_representative": "法定代表人",
    "safety_officer": "安全管理员",
    "safety_officer_phone": "安全管理员电话",
    "address": "地址",
    "lon": "经度",
    "lat": "纬度",
    "region": "区划代码",
    "risk_colour": "风险等级",
}
REQUIRED_ENTERPRISE_COLUMNS = ("name", "credit_code", "industry", "region")
# Computed from the risk points: exported, ignored on import.
IGNORED_ON_IMPORT = {"risk_colour"}

PLACE_COLUMNS: dict[str, str] = {
    "name": "名称",
    "category": "场所类别",
    "operator": "经营者/负责人",
    "operator_phone": "负责人电话",
    "floor_area": "建筑面积（㎡）",
    "enterprise": "所属企业统一社会信用代码",
    "address": "地址",
    "lon": "经度",
    "lat": "纬度",
    "region": "区划代码",
    "risk_colour": "风险等级",
}
REQUIRED_PLACE_COLUMNS = ("name", "category", "region")


def _labels(choices) -> dict[str, str]:
    """value → Chinese label (the file is Chinese whatever the page language)."""
    with translation.override("zh-hans"):
        return {value: str(label) for value, label in choices.choices}


# --- export ---------------------------------------------------------------------------------


def _workbook_bytes(title: str, headers: Iterable[str], rows: Iterable[list]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    sheet.append(list(headers))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_enterprises(*, actor, queryset=None) -> bytes:
    """The enterprises the actor sees (or `queryset`, narrowed to them) as XLSX. Phones are
    masked: an export leaves the platform, and the clear view is logged one field at a time."""
    visible = Enterprise.objects.visible_to(actor) if actor is not None else Enterprise.objects
    if queryset is not None:
        visible = queryset & visible.all()
    industries = _labels(Industry)
    colours = _labels(RiskColour)
    rows = (
        [
            e.name,
            e.credit_code,
            industries.get(e.industry, e.industry),
            "是" if e.above_scale else "否",
            e.employees,
            e.legal_representative,
            e.safety_officer,
            mask_phone(e.safety_officer_phone),
            e.address,
            e.lon,
            e.lat,
            e.region.code,
            colours.get(e.risk_colour, ""),
        ]
        for e in visible.select_related("region")
        .order_by("region__code", "name", "pk")
        .iterator(chunk_size=2000)
    )
    return _workbook_bytes("企业", ENTERPRISE_COLUMNS.values(), rows)


def export_places(*, actor, queryset=None) -> bytes:
    visible = Place.objects.visible_to(actor) if actor is not None else Place.objects
    if queryset is not None:
        visible = queryset & visible.all()
    categories = _labels(PlaceCategory)
    colours = _labels(RiskColour)
    rows = (
        [
            p.name,
            categories.get(p.category, p.category),
            p.operator,
            mask_phone(p.operator_phone),
            p.floor_area,
            p.enterprise.credit_code if p.enterprise else "",
            p.address,
            p.lon,
            p.lat,
            p.region.code,
            colours.get(p.risk_colour, ""),
        ]
        for p in visible.select_related("region", "enterprise")
        .order_by("region__code", "name", "pk")
        .iterator(chunk_size=2000)
    )
    return _workbook_bytes("场所", PLACE_COLUMNS.values(), rows)


# --- import ---------------------------------------------------------------------------------


@dataclass
class RowError:
    row: int  # the spreadsheet's row number (the header is row 1)
    column: str  # the header of the column, "" for the whole row
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ImportReport:
    total: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    imported: bool = False
    valid_rows_only: bool = False

    @property
    def error_rows(self) -> int:
        return len({error.row for error in self.errors})

    @property
    def valid_rows(self) -> int:
        return self.total - self.error_rows

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "error_rows": self.error_rows,
            "valid_rows": self.valid_rows,
            "imported": self.imported,
            "valid_rows_only": self.valid_rows_only,
            "errors": [error.as_dict() for error in self.errors],
        }


def max_upload_bytes() -> int:
    return int(getattr(settings, "FRONTLINE_UPLOAD_MAX_MB", 20)) * 1024 * 1024


def _bad_file(message) -> InvalidInput:
    return InvalidInput(message, details={"file": message})


def read_rows(uploaded_file) -> list[list]:
    """All rows of the first sheet, the header first (no empty area skipped, so list
    positions are spreadsheet row numbers − 1)."""
    from python_calamine import CalamineWorkbook

    data = uploaded_file.read(max_upload_bytes() + 1)
    if len(data) > max_upload_bytes():
        raise _bad_file(_("文件过大（上限 %(n)d MB）") % {"n": max_upload_bytes() // (1024 * 1024)})
    if not data.startswith(b"PK\x03\x04"):
        raise _bad_file(_("请上传 Excel 2007 及以上版本的 XLSX 文件"))
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception:  # calamine raises its own types for every broken file
        raise _bad_file(_("无法读取该文件，请确认是有效的 XLSX 文件")) from None
    if not rows:
        raise _bad_file(_("文件中没有数据"))
    if len(rows) > MAX_ROWS + 1:
        raise _bad_file(_("一次最多导入 %(n)d 行") % {"n": MAX_ROWS})
    return rows


def _text(value) -> str:
    """A cell as text; whole numbers lose the ".0" that spreadsheets add."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _columns(header: list, columns: dict[str, str], required: Iterable[str]) -> dict[str, int]:
    positions = {_text(title): index for index, title in enumerate(header)}
    found = {name: positions[title] for name, title in columns.items() if title in positions}
    missing = [columns[name] for name in required if name not in found]
    if missing:
        raise _bad_file(_("缺少必需的列：%(columns)s") % {"columns": "、".join(missing)})
    return found


def _choice_value(text: str, choices) -> str:
    """A choice by its Chinese label or its stored value."""
    if text in choices.values:
        return text
    return {label: value for value, label in _labels(choices).items()}.get(text, text)


def _chunks(items: list, size: int = 900):
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Scope:
    """Whether the actor may edit a region, asked once per region."""

    def __init__(self, actor) -> None:
        self.actor = actor
        self.answers: dict[int, bool] = {}

    def may_edit(self, region: Region) -> bool:
        if self.actor is None:
            return True
        if region.pk not in self.answers:
            self.answers[region.pk] = can(self.actor, Capability.EDIT, region)
        return self.answers[region.pk]


def import_enterprises(*, actor, file, valid_rows_only: bool = False) -> ImportReport:
    """Check every row, then (when the file is clean, or the user asked for the valid rows)
    create or update the enterprises in one transaction. Upsert by credit code; a column
    left out of the file leaves that field unchanged; a masked phone (138****5678, as the
    export writes it) keeps the stored number."""
    if actor is not None:
        require(actor, Capability.EDIT, None)
    rows = read_rows(file)
    positions = _columns(rows[0], ENTERPRISE_COLUMNS, REQUIRED_ENTERPRISE_COLUMNS)
    positions = {k: v for k, v in positions.items() if k not in IGNORED_ON_IMPORT}
    report = ImportReport(valid_rows_only=valid_rows_only)

    records: list[tuple[int, dict]] = []
    for index, row in enumerate(rows[1:], start=2):
        values = {name: (row[pos] if pos < len(row) else None) for name, pos in positions.items()}
        if all(_text(v) == "" for v in values.values()):
            continue
        records.append((index, values))
    report.total = len(records)

    codes = {_text(v["credit_code"]).upper().replace(" ", "") for _row, v in records}
    region_codes = {_text(v["region"]) for _row, v in records}
    regions = {}
    for chunk in _chunks(sorted(region_codes)):
        regions.update({r.code: r for r in Region.objects.filter(code__in=chunk)})
    existing: dict[str, Enterprise] = {}
    for chunk in _chunks(sorted(codes)):
        existing.update(
            {
                e.credit_code: e
                for e in Enterprise.objects.filter(credit_code__in=chunk).select_related("region")
            }
        )
    scope = _Scope(actor)
    seen: dict[str, int] = {}
    valid: list[tuple[dict, Enterprise | None]] = []

    for number, values in records:
        cleaner = Cleaner()
        data = {name: values[name] for name in positions if name != "region"}
        for name in ("name", "credit_code", "legal_representative", "safety_officer", "address"):
            if name in data:
                data[name] = _text(data[name])
        if "industry" in data:
            data["industry"] = _choice_value(_text(data["industry"]), Industry)
        if "safety_officer_phone" in data:
            data["safety_officer_phone"] = _text(data["safety_officer_phone"])
        code = _text(values["credit_code"]).upper().replace(" ", "")
        current = existing.get(code)
        keep_phone = "*" in data.get("safety_officer_phone", "")
        if keep_phone:
            data.pop("safety_officer_phone")
        data = clean_enterprise(cleaner, data)
        region = regions.get(_text(values["region"]))
        if region is None or not scope.may_edit(region):
            cleaner.fail("region", _("区划代码不存在或不在您的管辖范围内"))
        if "credit_code" not in cleaner.details:
            if code in seen:
                cleaner.fail(
                    "credit_code", _("与第 %(n)d 行的统一社会信用代码重复") % {"n": seen[code]}
                )
            elif current is not None and not scope.may_edit(current.region):
                cleaner.fail("credit_code", _("该企业已由其他辖区登记，您不能修改"))
            seen.setdefault(code, number)
        if cleaner.details:
            for name, message in cleaner.details.items():
                header = ENTERPRISE_COLUMNS.get(name, "")
                report.errors.append(RowError(number, header, message))
            continue
        if keep_phone and current is None:
            data["safety_officer_phone"] = ""
        data["region"] = region
        valid.append((data, current))

    if report.errors and not valid_rows_only:
        return report
    _write_enterprises(valid, report)
    report.imported = True
    return report


@transaction.atomic
def _write_enterprises(valid: list[tuple[dict, Enterprise | None]], report: ImportReport) -> None:
    """New rows in bulk; an existing enterprise is updated only in the fields that differ,
    one UPDATE per changed row (much faster on SQLite than bulk_update's CASE expressions)."""
    new: list[Enterprise] = []
    updated = 0
    now = timezone.now()
    for data, current in valid:
        if current is None:
            new.append(Enterprise(**data))
            continue
        changes = {name: value for name, value in data.items() if getattr(current, name) != value}
        if not changes:
            continue
        Enterprise.objects.filter(pk=current.pk).update(**changes, updated_at=now)
        if "region" in changes:
            MajorHazardInstallation.objects.filter(enterprise=current).update(
                region=changes["region"]
            )
            RiskPoint.objects.filter(enterprise=current).update(region=changes["region"])
        updated += 1
    Enterprise.objects.bulk_create(new, batch_size=BATCH)
    report.created = len(new)
    report.updated = updated


def import_places(*, actor, file, valid_rows_only: bool = False) -> ImportReport:
    """Like `import_enterprises`, for places. A place has no national code: the key is the
    region code and the name (a place of the same name in the same region is updated). The
    enterprise is given by its credit code and must be visible to the importer."""
    if actor is not None:
        require(actor, Capability.EDIT, None)
    rows = read_rows(file)
    positions = _columns(rows[0], PLACE_COLUMNS, REQUIRED_PLACE_COLUMNS)
    positions = {k: v for k, v in positions.items() if k not in IGNORED_ON_IMPORT}
    report = ImportReport(valid_rows_only=valid_rows_only)

    records: list[tuple[int, dict]] = []
    for index, row in enumerate(rows[1:], start=2):
        values = {name: (row[pos] if pos < len(row) else None) for name, pos in positions.items()}
        if all(_text(v) == "" for v in values.values()):
            continue
        records.append((index, values))
    report.total = len(records)

    region_codes = sorted({_text(v["region"]) for _row, v in records})
    regions: dict[str, Region] = {}
    for chunk in _chunks(region_codes):
        regions.update({r.code: r for r in Region.objects.filter(code__in=chunk)})
    credit_codes = sorted(
        {_text(v.get("enterprise")).upper().replace(" ", "") for _row, v in records} - {""}
    )
    visible = Enterprise.objects.visible_to(actor) if actor is not None else Enterprise.objects
    enterprises: dict[str, Enterprise] = {}
    for chunk in _chunks(credit_codes):
        enterprises.update(
            {
                e.credit_code: e
                for e in visible.filter(credit_code__in=chunk).select_related("region")
            }
        )
    existing: dict[tuple[int, str], Place] = {}
    region_ids = [r.pk for r in regions.values()]
    for chunk in _chunks(region_ids):
        for place in Place.objects.filter(region_id__in=chunk).select_related("enterprise"):
            existing.setdefault((place.region_id, place.name), place)
    scope = _Scope(actor)
    seen: dict[tuple[int, str], int] = {}
    valid: list[tuple[dict, Place | None]] = []

    for number, values in records:
        cleaner = Cleaner()
        data = {name: values[name] for name in positions if name not in ("region", "enterprise")}
        for name in ("name", "operator", "address", "operator_phone"):
            if name in data:
                data[name] = _text(data[name])
        if "category" in data:
            data["category"] = _choice_value(_text(data["category"]), PlaceCategory)
        keep_phone = "*" in data.get("operator_phone", "")
        if keep_phone:
            data.pop("operator_phone")
        data = clean_place(cleaner, data)
        region = regions.get(_text(values["region"]))
        if region is None or not scope.may_edit(region):
            cleaner.fail("region", _("区划代码不存在或不在您的管辖范围内"))
            region = None
        if "enterprise" in positions:
            code = _text(values["enterprise"]).upper().replace(" ", "")
            data["enterprise"] = enterprises.get(code) if code else None
            if code and data["enterprise"] is None:
                cleaner.fail("enterprise", _("企业不存在或不可见"))
            check_place_enterprise(cleaner, data["enterprise"], region)
        current = None
        if region is not None and "name" not in cleaner.details:
            key = (region.pk, data["name"])
            if key in seen:
                cleaner.fail(
                    "name", _("与第 %(n)d 行重复（同一区划内的同名场所）") % {"n": seen[key]}
                )
            seen.setdefault(key, number)
            current = existing.get(key)
        if cleaner.details:
            for name, message in cleaner.details.items():
                report.errors.append(RowError(number, PLACE_COLUMNS.get(name, ""), message))
            continue
        if keep_phone and current is None:
            data["operator_phone"] = ""
        data["region"] = region
        valid.append((data, current))

    if report.errors and not valid_rows_only:
        return report
    _write_places(valid, report)
    report.imported = True
    return report


@transaction.atomic
def _write_places(valid: list[tuple[dict, Place | None]], report: ImportReport) -> None:
    new: list[Place] = []
    updated = 0
    now = timezone.now()
    for data, current in valid:
        if current is None:
            new.append(Place(**data))
            continue
        changes = {name: value for name, value in data.items() if getattr(current, name) != value}
        if not changes:
            continue
        Place.objects.filter(pk=current.pk).update(**changes, updated_at=now)
        updated += 1
    Place.objects.bulk_create(new, batch_size=BATCH)
    report.created = len(new)
    report.updated = updated
