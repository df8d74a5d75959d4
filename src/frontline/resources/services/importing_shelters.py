"""Shelters as XLSX (export and import with a row-by-row report) and the evacuee register
(避难人员登记表) as XLSX.

The shelter import follows the ledgers of the hazards app: fixed Chinese headers, every row
checked first with the same checks as the form (`clean_shelter`, `check_capacity`,
`check_manager`); a file with errors imports nothing unless the user chose the valid rows;
the writes are one transaction. The key is the region code and the name: a shelter of that
name in that region is updated, others are created (closed). Status and occupancy are
exported for reading and ignored on import: they change by opening, closing and
registration only.

The register export is masked (张*, 330603********1234, 138****5678, needs "***") unless the
exporter holds `view_resident_data` on the shelter's region and states a reason, which is
logged per person exported (SensitiveAccess).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from frontline.core.crypto import mask_id_number, mask_name, mask_phone
from frontline.core.errors import InvalidInput
from frontline.core.models import Person, Region
from frontline.core.roles import Capability, can
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.services.importing import (
    XLSX_CONTENT_TYPE,
    ImportReport,
    RowError,
    _workbook_bytes,
    read_rows,
)
from frontline.resources.models import (
    Evacuee,
    EvacueeNeed,
    Gender,
    Shelter,
    ShelterClass,
    ShelterFacility,
    ShelterLevel,
    ShelterStatus,
)
from frontline.resources.services.evacuees import log_clear_view
from frontline.resources.services.events import record_event
from frontline.resources.services.shelters import (
    check_capacity,
    check_manager,
    clean_shelter,
    settle_status,
)

__all__ = [
    "REGISTER_COLUMNS",
    "SHELTER_COLUMNS",
    "XLSX_CONTENT_TYPE",
    "export_register",
    "export_shelters",
    "import_shelters",
]

# field → header; the order of the exported columns.
SHELTER_COLUMNS: dict[str, str] = {
    "name": "名称",
    "region": "区划代码",
    "shelter_class": "类别",
    "level": "级别",
    "address": "地址",
    "lon": "经度",
    "lat": "纬度",
    "usable_area_m2": "有效避难面积（平方米）",
    "capacity": "容纳人数",
    "capacity_reason": "超出面积标准的理由",
    "facilities": "配套设施",
    "manager": "管理人",
    "manager_phone": "管理人电话",
    "notes": "备注",
    "status": "状态",
    "occupancy": "当前安置人数",
}
REQUIRED_COLUMNS = ("name", "region", "shelter_class", "level", "lon", "lat", "usable_area_m2")
# Exported for reading; on import they are ignored (they change through their services).
IGNORED_ON_IMPORT = {"status", "occupancy", "manager_phone"}

REGISTER_COLUMNS = [
    "序号",
    "家庭编号",
    "户主",
    "姓名",
    "性别",
    "年龄",
    "身份证号",
    "联系电话",
    "原住址",
    "特殊需求",
    "需求说明",
    "床位/区域",
    "入住时间",
    "离开时间",
    "去向",
    "登记人",
]

SEPARATORS = ("、", "，", ",", ";", "；", " ")


def _labels(choices) -> dict[str, str]:
    """value → Chinese label (the file is Chinese whatever the page language)."""
    with translation.override("zh-hans"):
        return {value: str(label) for value, label in choices.choices}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _split(text: str) -> list[str]:
    for separator in SEPARATORS:
        text = text.replace(separator, "\n")
    return [item.strip() for item in text.split("\n") if item.strip()]


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


# --- shelters --------------------------------------------------------------------------------


def export_shelters(*, actor, queryset=None) -> bytes:
    """The shelters the actor sees (or `queryset`, narrowed to them). The manager's phone is
    masked: an export leaves the platform."""
    visible = Shelter.objects.visible_to(actor) if actor is not None else Shelter.objects.all()
    if queryset is not None:
        visible = queryset & visible
    classes = _labels(ShelterClass)
    levels = _labels(ShelterLevel)
    statuses = _labels(ShelterStatus)
    facilities = _labels(ShelterFacility)
    rows = (
        [
            s.name,
            s.region.code,
            classes.get(s.shelter_class, s.shelter_class),
            levels.get(s.level, s.level),
            s.address,
            s.lon,
            s.lat,
            s.usable_area_m2,
            s.capacity,
            s.capacity_reason,
            "、".join(facilities.get(f, f) for f in s.facility_list),
            s.manager.name if s.manager_id else "",
            mask_phone(s.manager.mobile) if s.manager_id else "",
            s.notes,
            statuses.get(s.status, s.status),
            s.occupancy,
        ]
        for s in visible.select_related("region", "manager")
        .order_by("region__code", "name", "pk")
        .iterator(chunk_size=2000)
    )
    return _workbook_bytes("避难场所", SHELTER_COLUMNS.values(), rows)


def _columns(header: list) -> dict[str, int]:
    positions = {_text(title): index for index, title in enumerate(header)}
    found = {name: positions[t] for name, t in SHELTER_COLUMNS.items() if t in positions}
    missing = [SHELTER_COLUMNS[name] for name in REQUIRED_COLUMNS if name not in found]
    if missing:
        message = _("缺少必需的列：%(columns)s") % {"columns": "、".join(missing)}
        raise InvalidInput(message, details={"file": message})
    return {name: index for name, index in found.items() if name not in IGNORED_ON_IMPORT}


def _by_label(choices, text: str) -> str:
    """A choice by its stored value, its Chinese label, or (for the classes) the label's
    first characters: "Ⅲ类", "III", "三类"."""
    if text in choices.values:
        return text
    labels = _labels(choices)
    for value, label in labels.items():
        if text == label or (text and label.startswith(text)):
            return value
    aliases = {"1": "I", "一类": "I", "2": "II", "二类": "II", "3": "III", "三类": "III"}
    if choices is ShelterClass:
        return aliases.get(text, aliases.get(text.replace("类", ""), text)).upper()
    return text


class _Managers:
    """Managers named in the file: the person of that name the actor sees whose region lies
    on the shelter's branch; two such people are ambiguous."""

    def __init__(self, actor, names: set[str]) -> None:
        people = Person.objects.visible_to(actor) if actor is not None else Person.objects.all()
        self.by_name: dict[str, list[Person]] = {}
        for person in people.filter(name__in=sorted(names)).select_related("region"):
            self.by_name.setdefault(person.name, []).append(person)

    def find(self, cleaner: Cleaner, name: str, region: Region | None) -> Person | None:
        if not name:
            return None
        fits = [
            person
            for person in self.by_name.get(name, [])
            if region is None
            or person.region.path.startswith(region.path)
            or region.path.startswith(person.region.path)
        ]
        if not fits:
            cleaner.fail("manager", _("找不到该管理人（须为本区划或上级区划登记的人员）"))
            return None
        if len(fits) > 1:
            cleaner.fail("manager", _("有多名同名人员，请在页面上选择管理人"))
            return None
        return fits[0]


def _row_values(row: list, positions: dict[str, int]) -> dict:
    return {name: (row[pos] if pos < len(row) else None) for name, pos in positions.items()}


def import_shelters(*, actor, file, valid_rows_only: bool = False) -> ImportReport:
    """Check every row, then (when the file is clean, or the user asked for the valid rows)
    create or update the shelters in one transaction. A column left out of the file leaves
    that field unchanged on an update."""
    if actor is not None:
        require(actor, Capability.MANAGE_RESOURCES, None)
    rows = read_rows(file)
    positions = _columns(rows[0])
    report = ImportReport(valid_rows_only=valid_rows_only)
    records = []
    for index, row in enumerate(rows[1:], start=2):
        values = _row_values(row, positions)
        if all(_text(v) == "" for v in values.values()):
            continue
        records.append((index, values))
    report.total = len(records)

    codes = sorted({_text(v["region"]) for _n, v in records})
    regions = {r.code: r for r in Region.objects.filter(code__in=codes)}
    allowed: dict[int, bool] = {}
    names = {_text(v.get("manager")) for _n, v in records} - {""}
    managers = _Managers(actor, names)
    existing = {
        (s.region_id, s.name): s
        for s in Shelter.objects.filter(region__code__in=codes).select_related("region")
    }
    facility_values = {label: value for value, label in _labels(ShelterFacility).items()}
    seen: dict[tuple, int] = {}
    valid: list[tuple[dict, Shelter | None]] = []

    for number, values in records:
        cleaner = Cleaner()
        region = regions.get(_text(values["region"]))
        if region is not None and region.pk not in allowed:
            allowed[region.pk] = actor is None or can(actor, Capability.MANAGE_RESOURCES, region)
        if region is None or not allowed[region.pk]:
            cleaner.fail("region", _("区划代码不存在或不在您的管辖范围内"))
            region = None
        data = {
            name: values[name]
            for name in positions
            if name not in {"region", "manager", "facilities"}
        }
        for name in ("name", "address", "notes", "capacity_reason"):
            if name in data:
                data[name] = _text(data[name])
        if "shelter_class" in data:
            data["shelter_class"] = _by_label(ShelterClass, _text(data["shelter_class"]))
        if "level" in data:
            data["level"] = _by_label(ShelterLevel, _text(data["level"]))
        if "capacity" in data and _text(data["capacity"]) == "":
            data["capacity"] = None
        if "facilities" in positions:
            data["facilities"] = [
                facility_values.get(item, item) for item in _split(_text(values["facilities"]))
            ]
        data = clean_shelter(cleaner, data)
        current = existing.get((region.pk, data.get("name"))) if region is not None else None
        capacity = data.get("capacity", current.capacity if current else None)
        reason = data.get("capacity_reason", current.capacity_reason if current else "")
        data["capacity"], data["capacity_reason"] = check_capacity(
            cleaner, data.get("usable_area_m2"), capacity, reason
        )
        capacity = data["capacity"]
        inside = current.occupancy if current is not None else 0
        if capacity is not None and capacity < inside and "capacity" not in cleaner.details:
            cleaner.fail(
                "capacity",
                _("容纳人数不能少于当前安置人数 %(n)d 人") % {"n": current.occupancy},
            )
        if "manager" in positions:
            data["manager"] = managers.find(cleaner, _text(values["manager"]), region)
            check_manager(cleaner, region, data["manager"])
        key = (region.pk if region else None, data.get("name"))
        if region is not None and "name" not in cleaner.details:
            if key in seen:
                cleaner.fail("name", _("与第 %(n)d 行重复（同一区划同名）") % {"n": seen[key]})
            seen.setdefault(key, number)
        if cleaner.details:
            for name, message in cleaner.details.items():
                report.errors.append(RowError(number, SHELTER_COLUMNS.get(name, ""), message))
            continue
        data["region"] = region
        valid.append((data, current))

    if report.errors and not valid_rows_only:
        return report
    _write(actor, valid, report)
    report.imported = True
    return report


@transaction.atomic
def _write(actor, valid: list[tuple[dict, Shelter | None]], report: ImportReport) -> None:
    """Shelters are counted in hundreds, not thousands: one save and one event each keeps the
    timeline honest at no real cost."""
    for data, current in valid:
        if current is None:
            shelter = Shelter.objects.create(**data)
            record_event(
                shelter, actor=actor, kind="created", to_state=shelter.status, note=_("导入")
            )
            report.created += 1
            continue
        current = Shelter.objects.select_for_update(of=("self",)).get(pk=current.pk)
        changed = sorted(
            name
            for name, value in data.items()
            if name != "region" and getattr(current, name) != value
        )
        if not changed:
            continue
        for name in changed:
            setattr(current, name, data[name])
        current.save()
        record_event(current, actor=actor, kind="updated", fields=changed, note=_("导入"))
        settle_status(current, actor=actor)
        report.updated += 1


# --- the evacuee register --------------------------------------------------------------------


def register_rows(stays, *, clear: bool, for_file: bool = True):
    """The rows of the register, masked unless `clear`; Chinese labels in a file, the
    page's language on a page."""
    genders = _labels(Gender) if for_file else {k: str(v) for k, v in Gender.choices}
    needs = _labels(EvacueeNeed) if for_file else {k: str(v) for k, v in EvacueeNeed.choices}
    for index, stay in enumerate(stays, start=1):
        tags = "、".join(needs.get(n, n) for n in stay.need_list)
        yield [
            index,
            stay.group_no,
            stay.household_head if clear else mask_name(stay.household_head),
            stay.name if clear else mask_name(stay.name),
            genders.get(stay.gender, ""),
            stay.age,
            stay.id_number if clear else mask_id_number(stay.id_number),
            stay.phone if clear else mask_phone(stay.phone),
            stay.home_address,
            tags if clear else ("***" if tags else ""),
            stay.needs_note if clear else ("***" if stay.needs_note else ""),
            stay.bed_no,
            _local(stay.checked_in_at),
            _local(stay.checked_out_at),
            stay.destination,
            _registrar(stay),
        ]


def _registrar(stay: Evacuee) -> str:
    user = stay.checked_in_by
    if user is None:
        return ""
    person = getattr(user, "person", None)
    return person.name if person else user.get_username()


def export_register(
    *,
    actor,
    shelter: Shelter,
    queryset=None,
    reason: str = "",
    remote_addr: str | None = None,
) -> bytes:
    """All stays of the shelter (or `queryset` of them), in registration order. Masked, or in
    clear when a reason is given — then the permission is checked and every exported person
    is logged as a clear view."""
    stays = queryset if queryset is not None else Evacuee.objects.filter(shelter=shelter)
    stays = stays.filter(shelter=shelter).select_related("checked_in_by__person")
    stays = stays.order_by("checked_in_at", "pk")
    clear = bool((reason or "").strip())
    if clear:
        log_clear_view(
            actor=actor,
            shelter=shelter,
            stays=list(stays.values_list("pk", flat=True)),
            reason=reason,
            remote_addr=remote_addr,
        )
    return _workbook_bytes(
        "避难人员登记表",
        REGISTER_COLUMNS,
        register_rows(stays.iterator(chunk_size=2000), clear=clear),
    )
