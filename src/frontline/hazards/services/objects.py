"""Supervised objects: enterprises, places and major hazard installations.

Every function is keyword-only, takes `actor=`, checks `Capability.EDIT` for the object's
region (and for the new region when it moves), reports every wrong field at once and runs in
one transaction. The generic change log records each save (phones masked).
"""

from __future__ import annotations

import math

from django.db import transaction
from django.utils.translation import gettext as _

from frontline.core.errors import InvalidInput
from frontline.core.models import Region
from frontline.core.roles import Capability
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.models import (
    Enterprise,
    Industry,
    MajorHazardInstallation,
    Place,
    PlaceCategory,
)

# --- unified social credit code (GB 32100-2015) --------------------------------------------

CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(body: str) -> str:
    """The 18th character for the first 17: (31 − Σ value × weight mod 31) mod 31."""
    total = sum(
        CREDIT_CODE_CHARS.index(ch) * weight
        for ch, weight in zip(body, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def normalize_credit_code(value: str | None) -> str:
    """Upper case without spaces: codes are often typed in lower case or copied with spaces."""
    return "".join((value or "").split()).upper()


def credit_code_error(code: str) -> str | None:
    """The Chinese reason a (normalized) code is wrong, or None."""
    if len(code) != 18:
        return _("统一社会信用代码应为 18 位")
    if any(ch not in CREDIT_CODE_CHARS for ch in code):
        return _("统一社会信用代码含有不允许的字符（不使用 I、O、Z、S、V）")
    if credit_code_check_char(code[:17]) != code[17]:
        return _("统一社会信用代码校验位不正确")
    return None


def is_valid_credit_code(value: str | None) -> bool:
    return credit_code_error(normalize_credit_code(value)) is None


# --- shared field checks -------------------------------------------------------------------


def clean_number(
    cleaner: Cleaner,
    value,
    field: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    integer: bool = False,
):
    """A number (or None when empty); text from a form or a spreadsheet is accepted."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        cleaner.fail(field, _("应为数字"))
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        cleaner.fail(field, _("应为整数") if integer else _("应为数字"))
        return None
    if not math.isfinite(number):
        cleaner.fail(field, _("应为数字"))
        return None
    if integer:
        if number != int(number):
            cleaner.fail(field, _("应为整数"))
            return None
        number = int(number)
    if minimum is not None and number < minimum:
        cleaner.fail(field, _("不能小于 %(n)s") % {"n": _fmt(minimum)})
    elif maximum is not None and number > maximum:
        cleaner.fail(field, _("不能大于 %(n)s") % {"n": _fmt(maximum)})
    return number


def _fmt(number: float) -> str:
    return str(int(number)) if number == int(number) else str(number)


def clean_location(cleaner: Cleaner, data: dict) -> None:
    """WGS-84 lon/lat, both or neither."""
    if "lon" in data:
        data["lon"] = clean_number(cleaner, data["lon"], "lon", minimum=-180, maximum=180)
    if "lat" in data:
        data["lat"] = clean_number(cleaner, data["lat"], "lat", minimum=-90, maximum=90)
    if (data.get("lon") is None) != (data.get("lat") is None):
        cleaner.fail("lat" if data.get("lat") is None else "lon", _("经度和纬度需同时填写"))


def clean_bool(cleaner: Cleaner, value, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in {"是", "y", "yes", "true", "1", "规上"}:
        return True
    if text in {"否", "n", "no", "false", "0", ""}:
        return False
    cleaner.fail(field, _("请填写“是”或“否”"))
    return False


def _require_region_change(actor, obj, changes: dict) -> None:
    region = changes.get("region")
    if region is not None and region.pk != obj.region_id:
        require(actor, Capability.EDIT, region)


def _unknown_fields(changes: dict, allowed: set[str]) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(_("不能修改这些字段"), details={f: _("不可修改") for f in unknown})


# --- enterprises ---------------------------------------------------------------------------

ENTERPRISE_FIELDS = {
    "name",
    "region",
    "credit_code",
    "industry",
    "above_scale",
    "employees",
    "legal_representative",
    "safety_officer",
    "safety_officer_phone",
    "address",
    "lon",
    "lat",
}


def clean_enterprise(cleaner: Cleaner, data: dict) -> dict:
    """Check the given enterprise fields (only those present). The spreadsheet import uses
    it row by row and checks the uniqueness of credit codes itself."""
    cleaned = dict(data)
    if "name" in data:
        cleaned["name"] = cleaner.text(data["name"], "name", required=True, max_length=150)
    if "credit_code" in data:
        code = normalize_credit_code(data["credit_code"])
        if not code:
            cleaner.fail("credit_code", _("此字段为必填项"))
        else:
            error = credit_code_error(code)
            if error:
                cleaner.fail("credit_code", error)
        cleaned["credit_code"] = code
    if "industry" in data:
        cleaned["industry"] = cleaner.choice(data["industry"], "industry", Industry)
    if "above_scale" in data:
        cleaned["above_scale"] = clean_bool(cleaner, data["above_scale"], "above_scale")
    if "employees" in data:
        cleaned["employees"] = clean_number(
            cleaner, data["employees"], "employees", minimum=0, maximum=10_000_000, integer=True
        )
    for field in ("legal_representative", "safety_officer"):
        if field in data:
            cleaned[field] = cleaner.text(data[field], field, required=False, max_length=50)
    if "safety_officer_phone" in data:
        cleaned["safety_officer_phone"] = cleaner.phone(
            data["safety_officer_phone"], "safety_officer_phone"
        )
    if "address" in data:
        cleaned["address"] = cleaner.text(
            data["address"], "address", required=False, max_length=200
        )
    clean_location(cleaner, cleaned)
    return cleaned


def _check_credit_code_unique(cleaner: Cleaner, code: str, instance_pk: int | None) -> None:
    if "credit_code" in cleaner.details or not code:
        return
    taken = Enterprise.objects.filter(credit_code=code)
    if instance_pk is not None:
        taken = taken.exclude(pk=instance_pk)
    if taken.exists():
        cleaner.fail("credit_code", _("该统一社会信用代码已登记"))


@transaction.atomic
def create_enterprise(
    *,
    actor,
    region: Region,
    name: str,
    credit_code: str,
    industry: str,
    above_scale: bool = False,
    employees: int | None = None,
    legal_representative: str = "",
    safety_officer: str = "",
    safety_officer_phone: str = "",
    address: str = "",
    lon: float | None = None,
    lat: float | None = None,
) -> Enterprise:
    require(actor, Capability.EDIT, region)
    cleaner = Cleaner()
    data = clean_enterprise(
        cleaner,
        {
            "name": name,
            "credit_code": credit_code,
            "industry": industry,
            "above_scale": above_scale,
            "employees": employees,
            "legal_representative": legal_representative,
            "safety_officer": safety_officer,
            "safety_officer_phone": safety_officer_phone,
            "address": address,
            "lon": lon,
            "lat": lat,
        },
    )
    _check_credit_code_unique(cleaner, data["credit_code"], None)
    cleaner.done()
    enterprise = Enterprise(region=region, **data)
    enterprise.save()
    return enterprise


@transaction.atomic
def update_enterprise(*, actor, enterprise: Enterprise, **changes) -> Enterprise:
    require(actor, Capability.EDIT, enterprise.region)
    _unknown_fields(changes, ENTERPRISE_FIELDS)
    _require_region_change(actor, enterprise, changes)
    cleaner = Cleaner()
    # A coordinate is always checked together with the other one, changed or stored.
    data = clean_enterprise(cleaner, {"lon": enterprise.lon, "lat": enterprise.lat, **changes})
    if "credit_code" in changes:
        _check_credit_code_unique(cleaner, data["credit_code"], enterprise.pk)
    cleaner.done()
    for field, value in data.items():
        setattr(enterprise, field, value)
    enterprise.save()
    if "region" in changes:
        MajorHazardInstallation.objects.filter(enterprise=enterprise).update(
            region=enterprise.region
        )
        enterprise.risk_points.update(region=enterprise.region)
    return enterprise


# --- places --------------------------------------------------------------------------------

PLACE_FIELDS = {
    "name",
    "region",
    "category",
    "operator",
    "operator_phone",
    "floor_area",
    "enterprise",
    "address",
    "lon",
    "lat",
}


def clean_place(cleaner: Cleaner, data: dict) -> dict:
    cleaned = dict(data)
    if "name" in data:
        cleaned["name"] = cleaner.text(data["name"], "name", required=True, max_length=150)
    if "category" in data:
        cleaned["category"] = cleaner.choice(data["category"], "category", PlaceCategory)
    if "operator" in data:
        cleaned["operator"] = cleaner.text(
            data["operator"], "operator", required=False, max_length=50
        )
    if "operator_phone" in data:
        cleaned["operator_phone"] = cleaner.phone(data["operator_phone"], "operator_phone")
    if "floor_area" in data:
        cleaned["floor_area"] = clean_number(
            cleaner, data["floor_area"], "floor_area", minimum=0, maximum=10_000_000
        )
    if "address" in data:
        cleaned["address"] = cleaner.text(
            data["address"], "address", required=False, max_length=200
        )
    clean_location(cleaner, cleaned)
    return cleaned


def check_place_enterprise(cleaner: Cleaner, enterprise: Enterprise | None, region) -> None:
    """A place belongs to an enterprise of the same subtree (above or below its region)."""
    if enterprise is None or region is None:
        return
    if not (
        region.path.startswith(enterprise.region.path)
        or enterprise.region.path.startswith(region.path)
    ):
        cleaner.fail("enterprise", _("企业不在场所所属区划之内"))


@transaction.atomic
def create_place(
    *,
    actor,
    region: Region,
    name: str,
    category: str,
    operator: str = "",
    operator_phone: str = "",
    floor_area: float | None = None,
    enterprise: Enterprise | None = None,
    address: str = "",
    lon: float | None = None,
    lat: float | None = None,
) -> Place:
    require(actor, Capability.EDIT, region)
    cleaner = Cleaner()
    data = clean_place(
        cleaner,
        {
            "name": name,
            "category": category,
            "operator": operator,
            "operator_phone": operator_phone,
            "floor_area": floor_area,
            "address": address,
            "lon": lon,
            "lat": lat,
        },
    )
    check_place_enterprise(cleaner, enterprise, region)
    cleaner.done()
    place = Place(region=region, enterprise=enterprise, **data)
    place.save()
    return place


@transaction.atomic
def update_place(*, actor, place: Place, **changes) -> Place:
    require(actor, Capability.EDIT, place.region)
    _unknown_fields(changes, PLACE_FIELDS)
    _require_region_change(actor, place, changes)
    cleaner = Cleaner()
    data = clean_place(cleaner, {"lon": place.lon, "lat": place.lat, **changes})
    check_place_enterprise(
        cleaner, changes.get("enterprise", place.enterprise), changes.get("region", place.region)
    )
    cleaner.done()
    for field, value in data.items():
        setattr(place, field, value)
    place.save()
    if "region" in changes:
        place.risk_points.update(region=place.region)
    return place


# --- major hazard installations (重大危险源, GB 18218) -------------------------------------

MAJOR_HAZARD_FIELDS = {"name", "level", "substances", "filing_number"}
MAX_SUBSTANCES = 50


def clean_substances(cleaner: Cleaner, value) -> list[dict]:
    """[{name, quantity_t, threshold_t}]: a name, the quantity held and the critical quantity
    of GB 18218 in tonnes. All problems are named in one message per field."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        cleaner.fail("substances", _("应为列表"))
        return []
    if len(value) > MAX_SUBSTANCES:
        cleaner.fail("substances", _("最多 %(n)d 种物质") % {"n": MAX_SUBSTANCES})
        return []
    problems: list[str] = []
    result: list[dict] = []
    for number, item in enumerate(value, 1):
        if hasattr(item, "dict"):
            item = item.dict()
        if not isinstance(item, dict):
            problems.append(_("第 %(n)d 项格式不正确") % {"n": number})
            continue
        name = str(item.get("name") or "").strip()
        row = Cleaner()
        quantity = clean_number(row, item.get("quantity_t"), "quantity_t", minimum=0)
        threshold = clean_number(row, item.get("threshold_t"), "threshold_t", minimum=0)
        if not name:
            problems.append(_("第 %(n)d 项缺少物质名称") % {"n": number})
        elif len(name) > 50:
            problems.append(_("第 %(n)d 项物质名称过长") % {"n": number})
        if quantity is None and "quantity_t" not in row.details:
            problems.append(_("第 %(n)d 项缺少数量（吨）") % {"n": number})
        if threshold is None and "threshold_t" not in row.details:
            problems.append(_("第 %(n)d 项缺少临界量（吨）") % {"n": number})
        elif threshold == 0:
            problems.append(_("第 %(n)d 项临界量应大于 0") % {"n": number})
        for message in row.details.values():
            problems.append(_("第 %(n)d 项：%(m)s") % {"n": number, "m": message})
        result.append({"name": name, "quantity_t": quantity, "threshold_t": threshold})
    if problems:
        cleaner.fail("substances", "；".join(problems))
    return result


def _clean_major_hazard(cleaner: Cleaner, data: dict) -> dict:
    cleaned = dict(data)
    if "name" in data:
        cleaned["name"] = cleaner.text(data["name"], "name", required=True, max_length=150)
    if "level" in data:
        level = clean_number(cleaner, data["level"], "level", minimum=1, maximum=4, integer=True)
        if level is None and "level" not in cleaner.details:
            cleaner.fail("level", _("请选择"))
        cleaned["level"] = level
    if "substances" in data:
        cleaned["substances"] = clean_substances(cleaner, data["substances"])
    if "filing_number" in data:
        cleaned["filing_number"] = cleaner.text(
            data["filing_number"], "filing_number", required=False, max_length=60
        )
    return cleaned


@transaction.atomic
def create_major_hazard(
    *,
    actor,
    enterprise: Enterprise,
    name: str,
    level: int,
    substances: list | None = None,
    filing_number: str = "",
) -> MajorHazardInstallation:
    require(actor, Capability.EDIT, enterprise.region)
    cleaner = Cleaner()
    data = _clean_major_hazard(
        cleaner,
        {"name": name, "level": level, "substances": substances, "filing_number": filing_number},
    )
    cleaner.done()
    installation = MajorHazardInstallation(
        enterprise=enterprise, region_id=enterprise.region_id, **data
    )
    installation.save()
    return installation


@transaction.atomic
def update_major_hazard(
    *, actor, installation: MajorHazardInstallation, **changes
) -> MajorHazardInstallation:
    require(actor, Capability.EDIT, installation.region)
    _unknown_fields(changes, MAJOR_HAZARD_FIELDS)
    cleaner = Cleaner()
    data = _clean_major_hazard(cleaner, changes)
    cleaner.done()
    for field, value in data.items():
        setattr(installation, field, value)
    installation.save()
    return installation
