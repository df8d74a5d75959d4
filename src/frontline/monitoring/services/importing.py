"""Bulk registration of devices from XLSX, with a row-by-row report.

Same behaviour as the enterprise import (hazards/services/importing.py): fixed Chinese
headers, every row checked first, a file with errors imports nothing unless the user chose
to import the valid rows, the writes in one transaction. Devices are only created here (a
code already registered is an error of its row). Every new device gets a fresh token; the
tokens are returned once, in clear, for the user to download (`tokens_workbook`) and load
into the devices; only their hashes are stored.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from frontline.core.models import Region
from frontline.core.roles import Capability, can
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.models import Enterprise, Place
from frontline.hazards.services.importing import XLSX_CONTENT_TYPE, read_rows
from frontline.monitoring.kinds import DeviceKind
from frontline.monitoring.models import Device
from frontline.monitoring.services.devices import (
    TOKEN_PREFIX,
    clean_device,
    forget_devices,
    hash_device_token,
    new_device_token,
    owner_in_region,
)

__all__ = ["XLSX_CONTENT_TYPE", "DeviceImportReport", "import_devices", "tokens_workbook"]

# field → header, in the order of the template.
COLUMNS: dict[str, str] = {
    "code": "设备编码",
    "name": "名称",
    "kind": "设备类型",
    "region": "所属区划代码",
    "enterprise": "所属企业统一社会信用代码",
    "place": "所属场所名称",
    "location": "安装位置",
    "lon": "经度",
    "lat": "纬度",
    "offline_after_minutes": "离线判定（分钟）",
    "occupancy_limit": "核定人数",
    "warning_level": "警戒水位（m）",
    "temperature_limit": "温度上限（℃）",
    "humidity_min": "湿度下限（%RH）",
}
REQUIRED = ("code", "name", "kind", "region")
ATTRIBUTES = ("occupancy_limit", "warning_level", "temperature_limit", "humidity_min")
BATCH = 500


@dataclass
class RowError:
    row: int  # the spreadsheet's row number (the header is row 1)
    column: str  # the header of the column, "" for the whole row
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class DeviceImportReport:
    total: int = 0
    created: int = 0
    errors: list[RowError] = field(default_factory=list)
    imported: bool = False
    valid_rows_only: bool = False
    # (code, token in clear) of every device created: shown once, never stored.
    tokens: list[tuple[str, str]] = field(default_factory=list, repr=False)

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
            "error_rows": self.error_rows,
            "valid_rows": self.valid_rows,
            "imported": self.imported,
            "valid_rows_only": self.valid_rows_only,
            "errors": [error.as_dict() for error in self.errors],
            "tokens": [{"code": code, "token": token} for code, token in self.tokens],
        }


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _number(value):
    """A cell as a number when it is one (or a numeric text); else the text, so the
    cleaner reports it."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value
    text = _text(value)
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text


def _kind_labels() -> dict[str, str]:
    with translation.override("zh-hans"):
        return {str(label): value for value, label in DeviceKind.choices}


def _kind(text: str) -> str:
    if text in DeviceKind.values:
        return text
    labels = _kind_labels()
    if text in labels:
        return labels[text]
    # Short forms people type: "烟感" for "独立式烟感", "火灾报警控制器" for the long label.
    matches = {value for label, value in labels.items() if text and text in label}
    return matches.pop() if len(matches) == 1 else text


def _chunks(items: list, size: int = 900):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _lookup(model, field_name: str, keys: set, **extra) -> dict:
    found = {}
    for chunk in _chunks(sorted(keys)):
        for obj in model.objects.filter(**{f"{field_name}__in": chunk}, **extra):
            found[getattr(obj, field_name)] = obj
    return found


def import_devices(*, actor, file, valid_rows_only: bool = False) -> DeviceImportReport:
    """Check every row; when the file is clean (or the user asked for the valid rows),
    register the devices in one transaction and return their tokens in the report."""
    if actor is not None:
        require(actor, Capability.EDIT, None)
    rows = read_rows(file)
    positions = {_text(title): index for index, title in enumerate(rows[0])}
    found = {name: positions[title] for name, title in COLUMNS.items() if title in positions}
    missing = [COLUMNS[name] for name in REQUIRED if name not in found]
    if missing:
        from frontline.core.errors import InvalidInput

        message = _("缺少必需的列：%(columns)s") % {"columns": "、".join(missing)}
        raise InvalidInput(message, details={"file": message})
    report = DeviceImportReport(valid_rows_only=valid_rows_only)
    records = []
    for number, row in enumerate(rows[1:], start=2):
        values = {name: (row[pos] if pos < len(row) else None) for name, pos in found.items()}
        if any(_text(v) for v in values.values()):
            records.append((number, values))
    report.total = len(records)

    regions = _lookup(Region, "code", {_text(v["region"]) for _n, v in records})
    visible = Enterprise.objects.visible_to(actor) if actor is not None else Enterprise.objects
    credit = {_text(v.get("enterprise")).upper().replace(" ", "") for _n, v in records} - {""}
    enterprises = {}
    for chunk in _chunks(sorted(credit)):
        for e in visible.filter(credit_code__in=chunk).select_related("region"):
            enterprises[e.credit_code] = e
    names = {_text(v.get("place")) for _n, v in records} - {""}
    places: dict[str, list[Place]] = {}
    visible_places = Place.objects.visible_to(actor) if actor is not None else Place.objects
    for chunk in _chunks(sorted(names)):
        for p in visible_places.filter(name__in=chunk).select_related("region"):
            places.setdefault(p.name, []).append(p)
    codes = {_text(v["code"]) for _n, v in records}
    taken = set()
    for chunk in _chunks(sorted(codes)):
        taken.update(Device.objects.filter(code__in=chunk).values_list("code", flat=True))
    allowed: dict[int, bool] = {}
    seen: dict[str, int] = {}
    valid: list[dict] = []

    for number, values in records:
        cleaner = Cleaner()
        attributes = {}
        for name in ATTRIBUTES:
            raw = _number(values.get(name))
            if raw is None:
                continue
            if isinstance(raw, str) or raw < 0:
                cleaner.fail(name, _("应为非负数字"))
            else:
                attributes[name] = int(raw) if float(raw).is_integer() else raw
        data = clean_device(
            cleaner,
            actor,
            {
                "code": _text(values["code"]),
                "name": _text(values["name"]),
                "kind": _kind(_text(values["kind"])),
                "location": _text(values.get("location")),
                "lon": _number(values.get("lon")),
                "lat": _number(values.get("lat")),
                "attributes": attributes,
                "offline_after_minutes": _number(values.get("offline_after_minutes")),
            },
        )
        region = regions.get(_text(values["region"]))
        if region is not None and actor is not None:
            if region.pk not in allowed:
                allowed[region.pk] = can(actor, Capability.EDIT, region)
            region = region if allowed[region.pk] else None
        if region is None:
            cleaner.fail("region", _("区划代码不存在或不在您的管辖范围内"))
        code = _text(values.get("enterprise")).upper().replace(" ", "")
        enterprise = enterprises.get(code) if code else None
        if code and enterprise is None:
            cleaner.fail("enterprise", _("企业不存在或不可见"))
        place = _place(
            cleaner, places.get(_text(values.get("place")), []), region, _text(values.get("place"))
        )
        if region is not None:
            owner_in_region(cleaner, region, enterprise, place)
        if data["code"] and "code" not in cleaner.details:
            if data["code"] in taken:
                cleaner.fail("code", _("设备编码已存在"))
            elif data["code"] in seen:
                cleaner.fail("code", _("与第 %(n)d 行的设备编码重复") % {"n": seen[data["code"]]})
            seen.setdefault(data["code"], number)
        if cleaner.details:
            for name, message in cleaner.details.items():
                report.errors.append(RowError(number, COLUMNS.get(name, ""), str(message)))
            continue
        valid.append({**data, "region": region, "enterprise": enterprise, "place": place})

    if report.errors and not valid_rows_only:
        return report
    _write(valid, report)
    report.imported = True
    return report


def _place(cleaner: Cleaner, candidates: list[Place], region, name: str) -> Place | None:
    """The place of that name on the device's branch of the tree (one, or it is ambiguous)."""
    if not name:
        return None
    if region is not None:
        candidates = [
            p
            for p in candidates
            if p.region.path.startswith(region.path) or region.path.startswith(p.region.path)
        ]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        cleaner.fail("place", _("该区划内有多个同名场所，请填写更具体的区划代码"))
    else:
        cleaner.fail("place", _("场所不存在或不可见"))
    return None


@transaction.atomic
def _write(valid: list[dict], report: DeviceImportReport) -> None:
    devices, tokens = [], []
    for data in valid:
        token = new_device_token()
        tokens.append((data["code"], token))
        devices.append(
            Device(
                token_hash=hash_device_token(token),
                token_prefix=token[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + 8],
                **data,
            )
        )
    Device.objects.bulk_create(devices, batch_size=BATCH)
    forget_devices()
    report.created = len(devices)
    report.tokens = tokens


def template_workbook() -> bytes:
    """An empty file with the headers and one example row."""
    example = [
        "YG33060300120101",
        "州山村居家烟感",
        "独立式烟感",
        "330603001201",
        "",
        "",
        "州山村3组12号",
        120.4512,
        30.0811,
        240,
        "",
        "",
        "",
        "",
    ]
    return _workbook(_("设备"), list(COLUMNS.values()), [example])


def tokens_workbook(tokens: list[tuple[str, str]]) -> bytes:
    """(code, token) of the devices just registered: handed to whoever configures them."""
    return _workbook(_("设备令牌"), [COLUMNS["code"], _("令牌")], [list(t) for t in tokens])


def _workbook(title: str, headers: list, rows: list) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
