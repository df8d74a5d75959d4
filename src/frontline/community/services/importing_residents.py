"""The resident roll as XLSX: export (masked) and import with a row-by-row report.

One row per resident; the household is found or created on the fly from the grid code and
the door address. The import follows the ledgers of the hazards app: every row is checked
first; a file with errors imports nothing unless the user chose to import the valid rows
(`valid_rows_only=True`); a bad row is never partly stored (neither its resident nor a
household that only it would have created). The writes are one transaction and use bulk
inserts: the cost that remains per row is the AES-GCM encryption of its protected fields
and the keyed digest of its ID number (see docs/community-residents.md for the figures).

The import adds residents; it does not update them (a resident already registered, found by
the digest of their ID number, is reported as a duplicate).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from frontline.community.models import (
    Building,
    Household,
    Mobility,
    Relation,
    Resident,
)
from frontline.community.services.households import check_local_person, visible_residents
from frontline.community.services.residents import clean_resident
from frontline.core.bulk import insert_rows
from frontline.core.crypto import encryptor, mask_id_number, mask_name, mask_phone
from frontline.core.errors import InvalidInput
from frontline.core.models import Person, Region, RegionLevel
from frontline.core.roles import Capability, can
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.services.importing import (
    XLSX_CONTENT_TYPE,
    ImportReport,
    RowError,
    read_rows,
)

__all__ = [
    "RESIDENT_COLUMNS",
    "XLSX_CONTENT_TYPE",
    "ResidentImportReport",
    "export_residents",
    "import_residents",
]

# field → header; the order of the exported columns.
RESIDENT_COLUMNS: dict[str, str] = {
    "grid": "网格代码",
    "address": "门牌地址",
    "building": "楼栋",
    "name": "姓名",
    "relation": "与户主关系",
    "gender": "性别",
    "birth_year": "出生年份",
    "id_number": "身份证号",
    "phone": "联系电话",
    "categories": "重点人群类别",
    "mobility": "行动能力",
    "helper": "包保责任人",
    "backup_helper": "备用包保人",
    "health_notes": "健康与照护说明",
}
REQUIRED_COLUMNS = ("grid", "address", "name")


def _labels(choices) -> dict[str, str]:
    with translation.override("zh-hans"):
        return {value: str(label) for value, label in choices.choices}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _chunks(items: list, size: int = 900):
    for start in range(0, len(items), size):
        yield items[start : start + size]


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


# --- export ---------------------------------------------------------------------------------


def export_residents(*, actor, queryset=None) -> bytes:
    """The residents the actor may read (or `queryset`, narrowed to them) as XLSX, masked:
    name 张*, ID 330603********1234, phone 138****5678, categories and health "***". An
    export leaves the platform; clear values are viewed one field at a time, logged."""
    visible = visible_residents(actor) if actor is not None else Resident.objects.all()
    if queryset is not None:
        visible = queryset & visible
    relations = _labels(Relation)
    mobility = _labels(Mobility)
    genders = {"male": "男", "female": "女"}
    rows = (
        [
            r.region.code,
            r.household.address,
            r.household.building.name if r.household.building_id else "",
            mask_name(r.name),
            relations.get(r.relation, r.relation),
            genders.get(r.gender, ""),
            r.birth_year,
            mask_id_number(r.id_number),
            mask_phone(r.phone),
            "***" if r.is_vulnerable else "",
            mobility.get(r.mobility, ""),
            r.helper.name if r.helper_id else "",
            r.backup_helper.name if r.backup_helper_id else "",
            "***" if r.health_notes else "",
        ]
        for r in visible.select_related("region", "household__building", "helper", "backup_helper")
        .order_by("region__code", "household__address", "pk")
        .iterator(chunk_size=2000)
    )
    return _workbook_bytes("居民", RESIDENT_COLUMNS.values(), rows)


# --- import ---------------------------------------------------------------------------------


@dataclass
class ResidentImportReport(ImportReport):
    households_created: int = 0

    def as_dict(self) -> dict:
        return {**super().as_dict(), "households_created": self.households_created}


def _columns(header: list) -> dict[str, int]:
    positions = {_text(title): index for index, title in enumerate(header)}
    found = {name: positions[t] for name, t in RESIDENT_COLUMNS.items() if t in positions}
    missing = [RESIDENT_COLUMNS[name] for name in REQUIRED_COLUMNS if name not in found]
    if missing:
        message = _("缺少必需的列：%(columns)s") % {"columns": "、".join(missing)}
        raise InvalidInput(message, details={"file": message})
    return found


class _Grids:
    """Grids by code, and whether the actor may write residents there (asked once each)."""

    def __init__(self, actor, codes: Iterable[str]) -> None:
        self.by_code: dict[str, Region] = {}
        for chunk in _chunks(sorted(codes)):
            self.by_code.update(
                {r.code: r for r in Region.objects.filter(code__in=chunk, level=RegionLevel.GRID)}
            )
        self.actor = actor
        self.answers: dict[int, bool] = {}

    def get(self, code: str) -> Region | None:
        region = self.by_code.get(code)
        if region is None:
            return None
        if region.pk not in self.answers:
            self.answers[region.pk] = self.actor is None or (
                can(self.actor, Capability.EDIT, region)
                and can(self.actor, Capability.VIEW_RESIDENTS, region)
            )
        return region if self.answers[region.pk] else None


class _People:
    """Helpers named in the file: a person of that name visible to the actor and local to
    the household (its village or above); a name that fits two local people is ambiguous."""

    def __init__(self, actor, names: set[str]) -> None:
        people = Person.objects.visible_to(actor) if actor is not None else Person.objects
        self.by_name: dict[str, list[Person]] = {}
        for chunk in _chunks(sorted(names)):
            for person in people.filter(name__in=chunk).select_related("region"):
                self.by_name.setdefault(person.name, []).append(person)
        self.cache: dict[tuple[str, int], tuple[Person | None, str]] = {}

    def find(self, name: str, region: Region) -> tuple[Person | None, str]:
        key = (name, region.pk)
        if key not in self.cache:
            local = []
            for person in self.by_name.get(name, []):
                cleaner = Cleaner()
                check_local_person(cleaner, person, region, "helper")
                if not cleaner.details:
                    local.append(person)
            if not local:
                self.cache[key] = (None, _("本村社区及上级区划中没有此人"))
            elif len(local) > 1:
                self.cache[key] = (None, _("有多名同名人员，请在系统中指定"))
            else:
                self.cache[key] = (local[0], "")
        return self.cache[key]


def import_residents(*, actor, file, valid_rows_only: bool = False) -> ResidentImportReport:
    if actor is not None:
        require(actor, Capability.EDIT, None)
        require(actor, Capability.VIEW_RESIDENTS, None)
    rows = read_rows(file)
    positions = _columns(rows[0])
    report = ResidentImportReport(valid_rows_only=valid_rows_only)

    records: list[tuple[int, dict]] = []
    for index, row in enumerate(rows[1:], start=2):
        width = len(row)
        values = {name: _text(row[pos]) if pos < width else "" for name, pos in positions.items()}
        if any(values.values()):
            records.append((index, values))
    report.total = len(records)
    if not records:
        return report

    grids = _Grids(actor, {v["grid"] for _n, v in records})
    region_ids = sorted({r.pk for r in grids.by_code.values()})
    households: dict[tuple[int, str], int] = {}
    buildings: dict[tuple[int, str], Building] = {}
    for chunk in _chunks(region_ids):
        for pk, region_id, address in Household.objects.filter(region_id__in=chunk).values_list(
            "pk", "region_id", "address"
        ):
            households[(region_id, address)] = pk
        for building in Building.objects.filter(region_id__in=chunk).only(
            "pk", "region_id", "name", "lon", "lat"
        ):
            buildings.setdefault((building.region_id, building.name), building)
    helper_names = {v.get(f, "") for _n, v in records for f in ("helper", "backup_helper")}
    people = _People(actor, helper_names - {""})

    relations = {label: value for value, label in _labels(Relation).items()}
    mobilities = {label: value for value, label in _labels(Mobility).items()}
    genders = {"男": "male", "女": "female"}
    seen_ids: dict[str, int] = {}

    # New households are keyed by (grid, address) and made once; a household counts only
    # when a valid row needs it.
    new_households: dict[tuple[int, str], Building | None] = {}
    valid: list[tuple[tuple[int, str], dict]] = []

    for number, values in records:
        cleaner = Cleaner()
        data: dict = {"name": values["name"]}
        for name in ("id_number", "phone", "categories", "health_notes"):
            if name in positions:
                data[name] = values[name]
        if "relation" in positions:
            text = values["relation"]
            data["relation"] = relations.get(text, text) or Relation.OTHER
        if "gender" in positions and values["gender"]:
            data["gender"] = genders.get(values["gender"], values["gender"])
        if values.get("birth_year"):
            year = values["birth_year"]
            data["birth_year"] = int(year) if year.isdigit() else -1
        if values.get("mobility"):
            text = values["mobility"]
            data["mobility"] = mobilities.get(text, text)
        data = clean_resident(cleaner, data)
        address = cleaner.text(values["address"], "address", required=True, max_length=200)

        region = grids.get(values["grid"])
        if region is None:
            cleaner.fail("grid", _("网格代码不存在或不在您的管辖范围内"))
        else:
            for field in ("helper", "backup_helper"):
                name = values.get(field, "")
                if name:
                    person, problem = people.find(name, region)
                    if problem:
                        cleaner.fail(field, problem)
                    data[field] = person
            helper, backup = data.get("helper"), data.get("backup_helper")
            if helper is not None and backup is not None and helper.pk == backup.pk:
                cleaner.fail("backup_helper", _("备用包保人不能与包保责任人相同"))
            building_name = values.get("building", "")
            if building_name and (region.pk, building_name) not in buildings:
                cleaner.fail("building", _("本网格内没有此楼栋"))

        digest = data.get("id_digest")
        if digest is not None and "id_number" not in cleaner.details:
            first = seen_ids.get(digest)
            if first is not None:
                cleaner.fail("id_number", _("与第 %(n)d 行的身份证号重复") % {"n": first})
            else:
                seen_ids[digest] = number

        if cleaner.details:
            for name, message in cleaner.details.items():
                report.errors.append(RowError(number, RESIDENT_COLUMNS.get(name, ""), message))
            continue
        key = (region.pk, address)
        if key not in households and key not in new_households:
            new_households[key] = buildings.get((region.pk, values.get("building", "")))
        valid.append((key, data))

    # Duplicates against the database: one query per 900 digests, after the rows' own check
    # (every first occurrence, so a row with other errors hears of this one too).
    digests = list(seen_ids)
    taken: set[str] = set()
    table = connection.ops.quote_name(Resident._meta.db_table)
    with connection.cursor() as cursor:
        for chunk in _chunks(digests):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"SELECT id_digest FROM {table} WHERE id_digest IN ({marks})", chunk)
            taken.update(digest for (digest,) in cursor.fetchall())
    if taken:
        numbers = {digest: number for digest, number in seen_ids.items() if digest in taken}
        for number in sorted(numbers.values()):
            report.errors.append(
                RowError(number, RESIDENT_COLUMNS["id_number"], _("该身份证号已登记"))
            )
        valid = [(key, data) for key, data in valid if data.get("id_digest") not in taken]
        report.errors.sort(key=lambda error: error.row)

    if report.errors and not valid_rows_only:
        return report
    _write(valid, new_households, households, report)
    report.imported = True
    return report


# The columns written for each new row, in order (the rest keep their database defaults).
_HOUSEHOLD_COLUMNS = (
    "region_id",
    "building_id",
    "address",
    "lon",
    "lat",
    "dilapidated",
    "low_lying",
    "geohazard",
    "notes",
    "created_at",
    "updated_at",
)
_RESIDENT_COLUMNS = (
    "household_id",
    "region_id",
    "name",
    "gender",
    "birth_year",
    "relation",
    "id_number",
    "id_digest",
    "phone",
    "phone_tail",
    "is_vulnerable",
    "categories",
    "health_notes",
    "mobility",
    "helper_id",
    "backup_helper_id",
    "created_at",
    "updated_at",
)


@transaction.atomic
def _write(valid, new_households, households, report: ResidentImportReport) -> None:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    needed = {key for key, _data in valid}
    fresh = [(key, building) for key, building in new_households.items() if key in needed]
    insert_rows(
        Household,
        _HOUSEHOLD_COLUMNS,
        [
            (
                region_id,
                building.pk if building else None,
                address,
                building.lon if building else None,
                building.lat if building else None,
                False,
                False,
                False,
                "",
                now,
                now,
            )
            for (region_id, address), building in fresh
        ],
    )
    ids = dict(households)
    region_ids = sorted({region_id for (region_id, _address), _building in fresh})
    for chunk in _chunks(region_ids):
        for pk, region_id, address in Household.objects.filter(region_id__in=chunk).values_list(
            "pk", "region_id", "address"
        ):
            ids[(region_id, address)] = pk
    seal = encryptor()
    rows = []
    for key, data in valid:
        helper, backup = data.get("helper"), data.get("backup_helper")
        rows.append(
            (
                ids[key],
                key[0],
                data["name"],
                data.get("gender", ""),
                data.get("birth_year"),
                data.get("relation", Relation.OTHER),
                seal(data.get("id_number", "")),
                data.get("id_digest"),
                seal(data.get("phone", "")),
                data.get("phone_tail", ""),
                data.get("is_vulnerable", False),
                seal(data.get("categories", "")),
                seal(data.get("health_notes", "")),
                data.get("mobility", ""),
                helper.pk if helper else None,
                backup.pk if backup else None,
                now,
                now,
            )
        )
    insert_rows(Resident, _RESIDENT_COLUMNS, rows)
    report.households_created = len(fresh)
    report.created = len(rows)
