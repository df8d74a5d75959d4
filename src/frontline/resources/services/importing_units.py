"""Teams, equipment and experts as XLSX: export (mobiles masked) and import with a row-by-row
report.

It follows the enterprise ledger (`hazards/services/importing.py`, whose reading, report and
workbook helpers it uses): fixed Chinese headers whatever the language of the page; every
row is checked first, with the same checks as the forms; a file with errors imports nothing
unless the user asks for the valid rows (`valid_rows_only=True`). The writes go through the
services in one transaction, so every created or changed unit gets its timeline event and
is saved through the model (the nearby-search index watches MAX(updated_at)). A column left
out of the file leaves that field unchanged.

Keys: a team is its region and name; equipment and experts carry the 系统编号 (id) the
export writes, and a row without one creates a new unit (an expert row without one reuses
the person of the same name and mobile in that region, if any). Status columns are exported
for reading and ignored on import: a status changes through its own service, with a note.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.utils.translation import gettext as _

from frontline.core.crypto import mask_phone
from frontline.core.errors import DomainError
from frontline.core.models import Person, Region
from frontline.core.roles import Capability as Can
from frontline.core.roles import can
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.services.importing import (
    XLSX_CONTENT_TYPE,
    ImportReport,
    RowError,
    _choice_value,
    _chunks,
    _columns,
    _labels,
    _text,
    _workbook_bytes,
    read_rows,
)
from frontline.resources.models import (
    Capability,
    Depot,
    Equipment,
    EquipmentKind,
    EquipmentStatus,
    Expert,
    ExpertAvailability,
    ExpertField,
    RescueTeam,
    TeamKind,
    TeamStatus,
    unpack_capabilities,
)
from frontline.resources.services import equipment as equipment_services
from frontline.resources.services import experts as expert_services
from frontline.resources.services import teams as team_services
from frontline.resources.services.teams import related

__all__ = [
    "XLSX_CONTENT_TYPE",
    "export_equipment",
    "export_experts",
    "export_teams",
    "import_equipment",
    "import_experts",
    "import_teams",
]

TEAM_COLUMNS: dict[str, str] = {
    "name": "队伍名称",
    "kind": "队伍类型",
    "region": "区划代码",
    "address": "驻地",
    "lon": "经度",
    "lat": "纬度",
    "capabilities": "救援能力",
    "duty_phone": "值班电话",
    "min_on_duty": "最少在岗人数",
    "response_minutes": "到场承诺（分钟）",
    "notes": "备注",
    "leader": "队长",
    "status": "状态",
    "member_count": "在队人数",
}
EQUIPMENT_COLUMNS: dict[str, str] = {
    "id": "系统编号",
    "name": "名称",
    "kind": "类型",
    "model": "型号",
    "serial_no": "出厂编号",
    "plate_no": "车牌号",
    "capabilities": "救援能力",
    "team": "配属队伍",
    "depot": "存放仓库",
    "base_address": "停放地点",
    "lon": "经度",
    "lat": "纬度",
    "next_inspection_due": "下次检验",
    "next_maintenance_due": "下次保养",
    "region": "区划代码",
    "notes": "备注",
    "status": "状态",
}
EXPERT_COLUMNS: dict[str, str] = {
    "id": "系统编号",
    "name": "姓名",
    "mobile": "手机号",
    "region": "区划代码",
    "field": "专业领域",
    "specialty": "专长",
    "title": "职称",
    "employer": "工作单位",
    "notes": "备注",
    "availability": "可用状态",
}
# Written for the reader, ignored on import.
EXPORT_ONLY = {"leader", "status", "member_count", "availability"}


def _capability_text(stored: str, labels: dict[str, str]) -> str:
    return "、".join(labels.get(code, code) for code in unpack_capabilities(stored))


def _visible(model, actor, queryset):
    visible = model.objects.visible_to(actor) if actor is not None else model.objects.all()
    return visible if queryset is None else queryset & visible.all()


# --- export ------------------------------------------------------------------------------------


def export_teams(*, actor, queryset=None) -> bytes:
    kinds, statuses, caps = _labels(TeamKind), _labels(TeamStatus), _labels(Capability)
    teams = team_services.with_readiness(_visible(RescueTeam, actor, queryset))
    rows = (
        [
            t.name,
            kinds.get(t.kind, t.kind),
            t.region.code,
            t.address,
            t.lon,
            t.lat,
            _capability_text(t.capabilities, caps),
            t.duty_phone,
            t.min_on_duty,
            t.response_minutes,
            t.notes,
            t.leader.name if t.leader else "",
            statuses.get(t.status, t.status),
            t.member_count,
        ]
        for t in teams.select_related("region", "leader")
        .order_by("region__code", "kind", "name", "pk")
        .iterator(chunk_size=2000)
    )
    return _workbook_bytes("救援队伍", TEAM_COLUMNS.values(), rows)


def export_equipment(*, actor, queryset=None) -> bytes:
    kinds, statuses, caps = _labels(EquipmentKind), _labels(EquipmentStatus), _labels(Capability)
    rows = (
        [
            e.pk,
            e.name,
            kinds.get(e.kind, e.kind),
            e.model,
            e.serial_no,
            e.plate_no,
            _capability_text(e.capabilities, caps),
            e.team.name if e.team else "",
            e.depot.name if e.depot else "",
            e.base_address,
            e.lon,
            e.lat,
            e.next_inspection_due,
            e.next_maintenance_due,
            e.region.code,
            e.notes,
            statuses.get(e.status, e.status),
        ]
        for e in _visible(Equipment, actor, queryset)
        .select_related("region", "team", "depot")
        .order_by("region__code", "kind", "name", "pk")
        .iterator(chunk_size=2000)
    )
    return _workbook_bytes("装备", EQUIPMENT_COLUMNS.values(), rows)


def export_experts(*, actor, queryset=None) -> bytes:
    """Mobiles masked: an export leaves the platform; the clear view is logged one at a time."""
    fields, availability = _labels(ExpertField), _labels(ExpertAvailability)
    rows = (
        [
            x.pk,
            x.person.name,
            mask_phone(x.person.mobile),
            x.region.code,
            fields.get(x.field, x.field),
            x.specialty,
            x.title,
            x.employer,
            x.notes,
            availability.get(x.availability, x.availability),
        ]
        for x in _visible(Expert, actor, queryset)
        .select_related("region", "person")
        .order_by("region__code", "field", "pk")
        .iterator(chunk_size=2000)
    )
    return _workbook_bytes("应急专家", EXPERT_COLUMNS.values(), rows)


# --- the import frame --------------------------------------------------------------------------


@dataclass
class _Context:
    actor: object
    regions: dict[str, Region]
    answers: dict[int, bool]

    def region(self, cleaner: Cleaner, code) -> Region | None:
        region = self.regions.get(_text(code))
        if region is None or not self.may_manage(region):
            cleaner.fail("region", _("区划代码不存在或不在您的管辖范围内"))
            return None
        return region

    def may_manage(self, region: Region) -> bool:
        if self.actor is None:
            return True
        if region.pk not in self.answers:
            self.answers[region.pk] = can(self.actor, Can.MANAGE_RESOURCES, region)
        return self.answers[region.pk]


Check = Callable[[int, dict, Cleaner], tuple[dict, object]]


def _run_import(
    *,
    actor,
    file,
    columns: dict[str, str],
    required: tuple[str, ...],
    prepare: Callable[[list[dict], _Context], Check],
    write: Callable[[dict, object], bool],
    valid_rows_only: bool,
) -> ImportReport:
    """Read, check every row (`prepare` loads what the rows refer to and returns the row
    check), then write the valid rows in one transaction unless some row failed."""
    if actor is not None:
        require(actor, Can.MANAGE_RESOURCES, None)
    rows = read_rows(file)
    positions = _columns(rows[0], columns, required)
    positions = {k: v for k, v in positions.items() if k not in EXPORT_ONLY}
    report = ImportReport(valid_rows_only=valid_rows_only)
    records: list[tuple[int, dict]] = []
    for number, row in enumerate(rows[1:], start=2):
        values = {name: (row[pos] if pos < len(row) else None) for name, pos in positions.items()}
        if all(_text(v) == "" for v in values.values()):
            continue
        records.append((number, values))
    report.total = len(records)
    codes = sorted({_text(v.get("region")) for _n, v in records})
    regions: dict[str, Region] = {}
    for chunk in _chunks(codes):
        regions.update({r.code: r for r in Region.objects.filter(code__in=chunk)})
    check = prepare([v for _n, v in records], _Context(actor, regions, {}))
    valid = []
    for number, values in records:
        cleaner = Cleaner()
        data, current = check(number, values, cleaner)
        if cleaner.details:
            for name, message in cleaner.details.items():
                report.errors.append(RowError(number, columns.get(name, ""), message))
            continue
        valid.append((number, data, current))
    if report.errors and not valid_rows_only:
        return report
    try:
        with transaction.atomic():
            for number, data, current in valid:
                try:
                    created = write(data, current)
                except DomainError as exc:
                    details = exc.details or {"": exc.message}
                    for name, message in details.items():
                        report.errors.append(RowError(number, columns.get(name, ""), str(message)))
                    raise
                if created:
                    report.created += 1
                else:
                    report.updated += 1
    except DomainError:
        # A row the checks passed but the service refused (a name taken meanwhile): nothing
        # of the file is kept, and the row is reported like the others.
        report.created = report.updated = 0
        return report
    report.imported = True
    return report


def _date(cleaner: Cleaner, value, field_name: str) -> date | None:
    if value is None or _text(value) == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(_text(value).replace("/", "-"))
    except ValueError:
        cleaner.fail(field_name, _("日期格式应为 2026-05-01"))
        return None


def _keep_stored(data: dict, *names: str) -> None:
    """An empty cell of these columns keeps the stored value of an existing row (a position
    or a rule is never erased by a blank)."""
    for name in names:
        if name in data and data[name] is None:
            del data[name]


def _texts(values: dict, names: tuple[str, ...]) -> dict:
    return {name: _text(values[name]) for name in names if name in values}


# --- teams -------------------------------------------------------------------------------------


def _changes(current, data: dict) -> dict:
    return {name: value for name, value in data.items() if getattr(current, name) != value}


def import_teams(*, actor, file, valid_rows_only: bool = False) -> ImportReport:
    """Create or update teams by region and name."""

    def prepare(rows: list[dict], context: _Context) -> Check:
        existing: dict[tuple[int, str], RescueTeam] = {}
        for chunk in _chunks([r.pk for r in context.regions.values()]):
            for team in RescueTeam.objects.filter(region_id__in=chunk):
                existing[(team.region_id, team.name)] = team
        seen: dict[tuple[int, str], int] = {}

        def check(number: int, values: dict, cleaner: Cleaner):
            data = _texts(values, ("name", "address", "capabilities", "duty_phone", "notes"))
            for name in ("lon", "lat", "min_on_duty", "response_minutes"):
                if name in values:
                    data[name] = values[name]
            if "kind" in values:
                data["kind"] = _choice_value(_text(values["kind"]), TeamKind)
            data = team_services.clean_team(cleaner, data)
            region = context.region(cleaner, values["region"])
            current = None
            if region is not None and data.get("name") and "name" not in cleaner.details:
                key = (region.pk, data["name"])
                if key in seen:
                    message = _("与第 %(n)d 行重复（同一区划内的同名队伍）") % {"n": seen[key]}
                    cleaner.fail("name", message)
                seen.setdefault(key, number)
                current = existing.get(key)
            if current is None and data.get("lon") is None and "lon" not in cleaner.details:
                cleaner.fail("lon", _("新队伍须填写经纬度"))
            if current is not None:
                _keep_stored(data, "min_on_duty", "lon", "lat")
            data["region"] = region
            return data, current

        return check

    def write(data: dict, current: RescueTeam | None) -> bool:
        region = data.pop("region")
        if current is None:
            team_services.create_team(actor=actor, region=region, **data)
            return True
        changes = _changes(current, data)
        if changes:
            team_services.update_team(actor=actor, team=current, **changes)
        return False

    return _run_import(
        actor=actor,
        file=file,
        columns=TEAM_COLUMNS,
        required=("name", "kind", "region"),
        prepare=prepare,
        write=write,
        valid_rows_only=valid_rows_only,
    )


# --- equipment ---------------------------------------------------------------------------------


def _by_name(model, actor, names: set[str]) -> dict[str, list]:
    """Visible teams or depots by name (a name may repeat across townships)."""
    found: dict[str, list] = {}
    if not names:
        return found
    visible = model.objects.visible_to(actor) if actor is not None else model.objects.all()
    for chunk in _chunks(sorted(names)):
        for row in visible.filter(name__in=chunk).select_related("region"):
            found.setdefault(row.name, []).append(row)
    return found


def _home(cleaner: Cleaner, field_name: str, text: str, region, candidates: dict):
    """The one team (or depot) of that name related to the row's region, or a row error."""
    if not text:
        return None
    matches = [c for c in candidates.get(text, []) if region is None or related(region, c.region)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        cleaner.fail(field_name, _("“%(name)s”不存在或不在您的管辖范围内") % {"name": text})
    else:
        cleaner.fail(field_name, _("“%(name)s”有重名，请在系统中选择") % {"name": text})
    return None


def import_equipment(*, actor, file, valid_rows_only: bool = False) -> ImportReport:
    """Update the equipment of the 系统编号 given, create the rows without one. The team
    and depot are given by name."""

    def prepare(rows: list[dict], context: _Context) -> Check:
        ids = set()
        for values in rows:
            text = _text(values.get("id"))
            if text.isdigit():
                ids.add(int(text))
        visible = Equipment.objects.visible_to(actor) if actor is not None else Equipment.objects
        existing = {}
        for chunk in _chunks(sorted(ids)):
            existing.update(
                {e.pk: e for e in visible.filter(pk__in=chunk).select_related("team", "depot")}
            )
        teams = _by_name(RescueTeam, actor, {_text(v.get("team")) for v in rows} - {""})
        depots = _by_name(Depot, actor, {_text(v.get("depot")) for v in rows} - {""})
        seen: dict[int, int] = {}

        def check(number: int, values: dict, cleaner: Cleaner):
            current = None
            text = _text(values.get("id"))
            if text:
                current = existing.get(int(text)) if text.isdigit() else None
                if current is None:
                    cleaner.fail("id", _("系统编号不存在或不在您的管辖范围内"))
                elif current.pk in seen:
                    cleaner.fail("id", _("与第 %(n)d 行重复") % {"n": seen[current.pk]})
                else:
                    seen[current.pk] = number
            names = ("name", "model", "serial_no", "plate_no", "capabilities", "base_address")
            data = _texts(values, (*names, "notes"))
            for name in ("lon", "lat"):
                if name in values:
                    data[name] = values[name]
            if "kind" in values:
                data["kind"] = _choice_value(_text(values["kind"]), EquipmentKind)
            for name in ("next_inspection_due", "next_maintenance_due"):
                if name in values:
                    data[name] = _date(cleaner, values[name], name)
            region = context.region(cleaner, values["region"])
            if current is not None and region is not None and region.pk != current.region_id:
                cleaner.fail("region", _("装备不能通过导入改变所属区划"))
            if "team" in values:
                data["team"] = _home(cleaner, "team", _text(values["team"]), region, teams)
            if "depot" in values:
                data["depot"] = _home(cleaner, "depot", _text(values["depot"]), region, depots)
            home = data.get("team") or data.get("depot")
            if current is None and data.get("lon") in (None, "") and home is not None:
                data["lon"], data["lat"] = home.lon, home.lat
            checked = equipment_services.clean_equipment(cleaner, dict(data))
            if current is None and checked.get("lon") is None and "lon" not in cleaner.details:
                cleaner.fail("lon", _("请填写经纬度，或填写配属队伍/存放仓库"))
            if data.get("team") is not None and data.get("depot") is not None:
                cleaner.fail("depot", _("装备只能配属一支队伍或存放于一个仓库，不能同时填写"))
            if current is not None:
                _keep_stored(checked, "lon", "lat")
            checked["region"] = region
            return checked, current

        return check

    def write(data: dict, current: Equipment | None) -> bool:
        region = data.pop("region")
        if current is None:
            equipment_services.create_equipment(actor=actor, region=region, **data)
            return True
        changes = _changes(current, data)
        if changes:
            equipment_services.update_equipment(actor=actor, equipment=current, **changes)
        return False

    return _run_import(
        actor=actor,
        file=file,
        columns=EQUIPMENT_COLUMNS,
        required=("name", "kind", "region"),
        prepare=prepare,
        write=write,
        valid_rows_only=valid_rows_only,
    )


# --- experts -----------------------------------------------------------------------------------


def import_experts(*, actor, file, valid_rows_only: bool = False) -> ImportReport:
    """Update the expert of the 系统编号 given (name and mobile belong to the person's
    file and are not changed here); a row without one registers an expert: the person of
    that name and mobile in the region when there is one, else a new person."""

    def prepare(rows: list[dict], context: _Context) -> Check:
        ids = {int(_text(v.get("id"))) for v in rows if _text(v.get("id")).isdigit()}
        visible = Expert.objects.visible_to(actor) if actor is not None else Expert.objects
        existing = {}
        for chunk in _chunks(sorted(ids)):
            existing.update({x.pk: x for x in visible.filter(pk__in=chunk)})
        tails = {_text(v.get("mobile"))[-4:] for v in rows} - {""}
        people: dict[tuple[int, str, str], Person] = {}
        for chunk in _chunks(sorted(tails)):
            for person in Person.objects.filter(
                mobile_tail__in=chunk, region_id__in=[r.pk for r in context.regions.values()]
            ).select_related("expert"):
                people[(person.region_id, person.name, person.mobile)] = person
        seen: dict[object, int] = {}

        def check(number: int, values: dict, cleaner: Cleaner):
            current = None
            text = _text(values.get("id"))
            if text:
                current = existing.get(int(text)) if text.isdigit() else None
                if current is None:
                    cleaner.fail("id", _("系统编号不存在或不在您的管辖范围内"))
            data = _texts(values, ("specialty", "title", "employer", "notes"))
            if "field" in values:
                data["field"] = _choice_value(_text(values["field"]), ExpertField)
            data = expert_services.clean_expert(cleaner, data)
            region = context.region(cleaner, values["region"])
            if current is not None and region is not None and region.pk != current.region_id:
                cleaner.fail("region", _("专家不能通过导入改变所属区划"))
            if current is None and "field" not in values:
                cleaner.fail("field", _("此字段为必填项"))
            if current is None and region is not None:
                name = cleaner.text(_text(values.get("name")), "name", required=True, max_length=50)
                mobile = cleaner.mobile(_text(values.get("mobile")), "mobile")
                if not mobile and "mobile" not in cleaner.details:
                    cleaner.fail("mobile", _("新登记的专家须填写手机号"))
                person = people.get((region.pk, name, mobile))
                if person is not None and hasattr(person, "expert"):
                    current = person.expert
                elif person is not None:
                    data["person"] = person
                else:
                    data.update(name=name, mobile=mobile)
            key = current.pk if current is not None else (region, data.get("name"))
            if key in seen and not cleaner.details:
                cleaner.fail("name", _("与第 %(n)d 行重复") % {"n": seen[key]})
            seen.setdefault(key, number)
            data["region"] = region
            return data, current

        return check

    def write(data: dict, current: Expert | None) -> bool:
        region = data.pop("region")
        if current is None:
            expert_services.create_expert(actor=actor, region=region, **data)
            return True
        data.pop("person", None)
        changes = _changes(current, data)
        if changes:
            expert_services.update_expert(actor=actor, expert=current, **changes)
        return False

    return _run_import(
        actor=actor,
        file=file,
        columns=EXPERT_COLUMNS,
        required=("name", "region", "field"),
        prepare=prepare,
        write=write,
        valid_rows_only=valid_rows_only,
    )
