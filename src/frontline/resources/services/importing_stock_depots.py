"""The depot register (储备库名册) as XLSX: export and import with a row-by-row report.

Like the building and enterprise ledgers: fixed Chinese headers; every row is checked
first; a file with errors imports nothing unless the user then asks for the valid rows
(`valid_rows_only=True`) — the register is keyed by region code and depot name and
re-importing a corrected file only updates, so importing part of it is safe, unlike the
stock ledger. Rows are written through `services/depots.py`, so each created or changed
depot gets its timeline row. The storage-location column adds the codes a depot lacks and
never removes one (a place may still hold goods).
"""

from __future__ import annotations

import re

from django.db import transaction
from django.utils.translation import gettext as _

from frontline.core.models import Person, Region
from frontline.core.roles import Capability, can
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.services.importing import (
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
from frontline.resources.models import Depot, DepotKind, DepotStatus, StorageLocation
from frontline.resources.services import depots as services

DEPOT_COLUMNS: dict[str, str] = {
    "region": "区划代码",
    "name": "名称",
    "kind": "类型",
    "address": "地址",
    "lon": "经度",
    "lat": "纬度",
    "keeper": "保管人",
    "area_m2": "面积（平方米）",
    "capacity_m3": "库容（立方米）",
    "status": "状态",
    "locations": "库位",
    "notes": "备注",
}
REQUIRED_COLUMNS = ("region", "name", "kind")
_SPLIT = re.compile(r"[、,，;；\s]+")


def export_depots(*, actor, queryset=None) -> bytes:
    visible = Depot.objects.visible_to(actor) if actor is not None else Depot.objects
    if queryset is not None:
        visible = queryset & visible.all()
    kinds, statuses = _labels(DepotKind), _labels(DepotStatus)
    rows = (
        [
            depot.region.code,
            depot.name,
            kinds.get(depot.kind, depot.kind),
            depot.address,
            depot.lon,
            depot.lat,
            depot.keeper.name if depot.keeper else "",
            depot.area_m2,
            depot.capacity_m3,
            statuses.get(depot.status, depot.status),
            "、".join(location.code for location in depot.locations.all()),
            depot.notes,
        ]
        for depot in visible.select_related("region", "keeper")
        .prefetch_related("locations")
        .order_by("region__code", "kind", "name", "pk")
    )
    return _workbook_bytes("储备库", DEPOT_COLUMNS.values(), rows)


class _Keepers:
    """Keepers named in the file, among the people the importer sees."""

    def __init__(self, actor, names: set[str]) -> None:
        people = Person.objects.visible_to(actor) if actor is not None else Person.objects
        self.by_name: dict[str, list[Person]] = {}
        for chunk in _chunks(sorted(names - {""})):
            for person in people.filter(name__in=chunk).select_related("region"):
                self.by_name.setdefault(person.name, []).append(person)

    def find(self, cleaner: Cleaner, name: str, region: Region | None, current=None):
        """The person of that name in the depot's region subtree. Names repeat (a station's
        陈秋 and a grid's 陈秋), so the depot's current keeper wins, then a person filed at the
        depot's own region; only then is a repeated name an error."""
        if not name or region is None:
            return None
        if current is not None and current.keeper_id is not None:
            for person in self.by_name.get(name, []):
                if person.pk == current.keeper_id:
                    return person
        fits = [
            person
            for person in self.by_name.get(name, [])
            if region.path.startswith(person.region.path)
            or person.region.path.startswith(region.path)
        ]
        exact = [person for person in fits if person.region_id == region.pk]
        if len(fits) > 1 and len(exact) == 1:
            return exact[0]
        if not fits:
            cleaner.fail("keeper", _("保管人不存在或不在储备库所属区划之内"))
        elif len(fits) > 1:
            cleaner.fail("keeper", _("有多个同名人员，无法确定保管人"))
        return fits[0] if len(fits) == 1 else None


def _location_codes(cleaner: Cleaner, text: str) -> list[str]:
    codes = [code for code in _SPLIT.split(text) if code]
    if any(len(code) > 32 for code in codes):
        cleaner.fail("locations", _("库位编号最多 32 个字符"))
    return list(dict.fromkeys(codes))


def import_depots(*, actor, file, valid_rows_only: bool = False) -> ImportReport:
    """Check every row, then (when the file is clean, or the user asked for the valid rows)
    create or update the depots in one transaction."""
    if actor is not None:
        require(actor, Capability.MANAGE_RESOURCES, None)
    rows = read_rows(file)
    positions = _columns(rows[0], DEPOT_COLUMNS, REQUIRED_COLUMNS)
    report = ImportReport(valid_rows_only=valid_rows_only)
    records: list[tuple[int, dict]] = []
    for number, row in enumerate(rows[1:], start=2):
        values = {name: (row[pos] if pos < len(row) else None) for name, pos in positions.items()}
        if all(_text(v) == "" for v in values.values()):
            continue
        records.append((number, values))
    report.total = len(records)

    regions: dict[str, Region] = {}
    for chunk in _chunks(sorted({_text(v["region"]) for _n, v in records})):
        regions.update({r.code: r for r in Region.objects.filter(code__in=chunk)})
    existing: dict[tuple[int, str], Depot] = {}
    for chunk in _chunks([r.pk for r in regions.values()]):
        for depot in Depot.objects.filter(region_id__in=chunk).select_related("region", "keeper"):
            existing[(depot.region_id, depot.name)] = depot
    keepers = _Keepers(actor, {_text(v.get("keeper")) for _n, v in records})
    may: dict[int, bool] = {}
    seen: dict[tuple[int, str], int] = {}
    valid: list[tuple[dict, Depot | None, list[str]]] = []

    for number, values in records:
        cleaner = Cleaner()
        data = {
            name: _text(value) if name not in ("lon", "lat", "area_m2", "capacity_m3") else value
            for name, value in values.items()
            if name not in ("region", "keeper", "locations")
        }
        if "kind" in data:
            data["kind"] = _choice_value(data["kind"], DepotKind)
        if "status" in data:
            data["status"] = _choice_value(data["status"], DepotStatus) or DepotStatus.IN_USE
        region = regions.get(_text(values["region"]))
        if region is not None and region.pk not in may:
            may[region.pk] = actor is None or can(actor, Capability.MANAGE_RESOURCES, region)
        if region is None or not may[region.pk]:
            cleaner.fail("region", _("区划代码不存在或不在您的管辖范围内"))
            region = None
        services.check_depot_region(cleaner, region)
        name = _text(values.get("name"))
        current = existing.get((region.pk, name)) if region is not None else None
        if current is None:
            data.setdefault("lon", None)
            data.setdefault("lat", None)
        data = services.clean_depot(cleaner, data)
        if "keeper" in positions:
            data["keeper"] = keepers.find(
                cleaner, _text(values.get("keeper")), region, current=current
            )
        codes = _location_codes(cleaner, _text(values.get("locations")))
        if region is not None and name:
            key = (region.pk, name)
            if key in seen:
                cleaner.fail(
                    "name", _("与第 %(n)d 行重复（同一区划内的同名储备库）") % {"n": seen[key]}
                )
            seen.setdefault(key, number)
        if cleaner.details:
            for field, message in cleaner.details.items():
                report.errors.append(RowError(number, DEPOT_COLUMNS.get(field, ""), message))
            continue
        data["region"] = region
        valid.append((data, current, codes))

    if report.errors and not valid_rows_only:
        return report
    _write(actor, valid, report)
    report.imported = True
    return report


def _differs(stored, imported) -> bool:
    """A spreadsheet may give a float back a few ulps off: the same point, not an update."""
    if isinstance(stored, float) and isinstance(imported, (float, int)):
        return abs(stored - imported) > 1e-7 * max(1.0, abs(stored))
    if isinstance(stored, (Person, Region)) or isinstance(imported, (Person, Region)):
        return getattr(stored, "pk", None) != getattr(imported, "pk", None)
    return stored != imported


@transaction.atomic
def _write(actor, valid, report: ImportReport) -> None:
    for data, current, codes in valid:
        if current is None:
            depot = services.create_depot(actor=actor, **data)
            report.created += 1
            have: set[str] = set()
        else:
            depot = current
            changes = {
                name: value
                for name, value in data.items()
                if _differs(getattr(current, name), value)
            }
            if changes:
                depot = services.update_depot(actor=actor, depot=depot, **changes)
                report.updated += 1
            have = set(StorageLocation.objects.filter(depot=depot).values_list("code", flat=True))
        for code in codes:
            if code not in have:
                services.add_location(actor=actor, depot=depot, code=code)
