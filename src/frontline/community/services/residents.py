"""Residents (居民) and the vulnerable people among them (重点人群): add, update, move,
remove, and the logged clear view of a protected field.

The ID number, the phone, the categories and the health notes are encrypted at rest; the
ID number is found again through `id_digest`, a keyed HMAC of the normalised number
(`core.crypto.keyed_digest`), which also refuses a person registered twice. Birth year and
gender follow from a valid ID number when they are not given.
"""

from __future__ import annotations

from functools import cache

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from frontline.community.models import (
    Gender,
    Household,
    Mobility,
    Relation,
    Resident,
    VulnerableCategory,
)
from frontline.community.services.households import check_local_person
from frontline.core.crypto import keyed_digest
from frontline.core.errors import InvalidInput
from frontline.core.models import Person
from frontline.core.roles import Capability
from frontline.core.services.people import reveal_personal_field
from frontline.core.services.validation import Cleaner, require

CATEGORY_ORDER = list(VulnerableCategory.values)
# The choices as sets, once: the import checks them for every row.
_RELATIONS = frozenset(Relation.values)
_GENDERS = frozenset(Gender.values)
_MOBILITIES = frozenset(Mobility.values)


@cache
def category_labels_zh() -> dict[str, str]:
    """value → Chinese label (files are Chinese whatever the page language)."""
    with translation.override("zh-hans"):
        return {value: str(label) for value, label in VulnerableCategory.choices}


def id_digest(id_number: str) -> str | None:
    """The keyed digest of a normalised ID number, None when there is none (NULLs do not
    collide in the unique index)."""
    return keyed_digest(id_number) if id_number else None


def facts_from_id(id_number: str) -> tuple[int, str]:
    """Birth year and gender written in a (valid) GB 11643 number: digits 7–10 are the year,
    the 17th digit is odd for a man."""
    return int(id_number[6:10]), Gender.MALE if int(id_number[16]) % 2 else Gender.FEMALE


@cache
def _codes_by_label() -> dict[str, str]:
    return {label: code for code, label in category_labels_zh().items()}


def parse_categories(cleaner: Cleaner, value, field: str = "categories") -> list[str]:
    """Categories from a list, or a text separated by 、 , ， or spaces; values or Chinese
    labels. Returns the values in the order of `VulnerableCategory`, without repeats."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        for separator in ("、", "，", ",", ";", "；", " "):
            value = value.replace(separator, "\n")
        items = [item.strip() for item in value.split("\n") if item.strip()]
    else:
        items = [str(item).strip() for item in value if str(item).strip()]
    by_label = _codes_by_label()
    codes = set()
    unknown = []
    for item in items:
        code = item if item in CATEGORY_ORDER else by_label.get(item)
        if code is None:
            unknown.append(item)
        else:
            codes.add(code)
    if unknown:
        cleaner.fail(field, _("未知的重点人群类别：%(names)s") % {"names": "、".join(unknown)})
    return [code for code in CATEGORY_ORDER if code in codes]


def clean_resident(cleaner: Cleaner, data: dict) -> dict:
    """Check the given fields (only those present) and derive what follows from them:
    birth year and gender from the ID number, `phone_tail`, `is_vulnerable`, `id_digest`."""
    cleaned = dict(data)
    if "name" in data:
        cleaned["name"] = cleaner.text(data["name"], "name", required=True, max_length=50)
    if "relation" in data:
        cleaned["relation"] = data["relation"] or Relation.OTHER
        if cleaned["relation"] not in _RELATIONS:
            cleaner.fail("relation", _("请选择"))
    if data.get("gender") and data["gender"] not in _GENDERS:
        cleaner.fail("gender", _("请选择"))
    if data.get("mobility") and data["mobility"] not in _MOBILITIES:
        cleaner.fail("mobility", _("请选择"))
    if "birth_year" in data and data["birth_year"] not in (None, ""):
        year = data["birth_year"]
        if not isinstance(year, int) or not 1880 <= year <= timezone.localdate().year:
            cleaner.fail("birth_year", _("出生年份不正确"))
    if "health_notes" in data:
        cleaned["health_notes"] = cleaner.text(
            data["health_notes"], "health_notes", required=False, max_length=2000
        )
    if "phone" in data:
        phone = cleaner.phone(data["phone"], "phone")
        cleaned["phone"] = phone
        cleaned["phone_tail"] = "".join(ch for ch in phone if ch.isdigit())[-4:]
    if "categories" in data:
        codes = parse_categories(cleaner, data["categories"])
        cleaned["categories"] = ",".join(codes)
        cleaned["is_vulnerable"] = bool(codes)
    if "id_number" in data:
        number = cleaner.id_number("".join((data["id_number"] or "").split()))
        cleaned["id_number"] = number
        cleaned["id_digest"] = id_digest(number) if "id_number" not in cleaner.details else None
        if number and "id_number" not in cleaner.details:
            year, gender = facts_from_id(number)
            if cleaned.get("birth_year") in (None, ""):
                cleaned["birth_year"] = year
            elif cleaned["birth_year"] != year:
                cleaner.fail("birth_year", _("与身份证号中的出生年份不符"))
            if not cleaned.get("gender"):
                cleaned["gender"] = gender
            elif cleaned["gender"] != gender:
                cleaner.fail("gender", _("与身份证号中的性别不符"))
    if cleaned.get("birth_year") == "":
        cleaned["birth_year"] = None
    return cleaned


def check_helpers(cleaner: Cleaner, data: dict, household: Household) -> None:
    helper, backup = data.get("helper"), data.get("backup_helper")
    check_local_person(cleaner, helper, household.region, "helper")
    check_local_person(cleaner, backup, household.region, "backup_helper")
    if helper is not None and backup is not None and helper.pk == backup.pk:
        cleaner.fail("backup_helper", _("备用包保人不能与包保责任人相同"))


def check_id_unique(cleaner: Cleaner, digest: str | None, instance_pk: int | None) -> None:
    if digest is None or "id_number" in cleaner.details:
        return
    taken = Resident.objects.filter(id_digest=digest)
    if instance_pk is not None:
        taken = taken.exclude(pk=instance_pk)
    if taken.exists():
        cleaner.fail("id_number", _("该身份证号已登记（同一人不能重复登记）"))


def _save(resident: Resident) -> Resident:
    try:
        with transaction.atomic():
            resident.save()
    except IntegrityError:  # a concurrent registration of the same ID number
        message = _("该身份证号已登记（同一人不能重复登记）")
        raise InvalidInput(message, details={"id_number": message}) from None
    return resident


@transaction.atomic
def create_resident(
    *,
    actor,
    household: Household,
    name: str,
    relation: str = Relation.OTHER,
    id_number: str = "",
    gender: str = "",
    birth_year: int | None = None,
    phone: str = "",
    categories=(),
    health_notes: str = "",
    mobility: str = "",
    helper: Person | None = None,
    backup_helper: Person | None = None,
) -> Resident:
    require(actor, Capability.EDIT, household.region)
    require(actor, Capability.VIEW_RESIDENTS, household.region)
    cleaner = Cleaner()
    data = clean_resident(
        cleaner,
        {
            "name": name,
            "relation": relation,
            "gender": gender,
            "birth_year": birth_year,
            "id_number": id_number,
            "phone": phone,
            "categories": categories,
            "health_notes": health_notes,
            "mobility": mobility,
        },
    )
    data["helper"], data["backup_helper"] = helper, backup_helper
    check_helpers(cleaner, data, household)
    check_id_unique(cleaner, data.get("id_digest"), None)
    cleaner.done()
    resident = Resident(household=household, region=household.region, **data)
    return _save(resident)


RESIDENT_FIELDS = {
    "name",
    "relation",
    "id_number",
    "gender",
    "birth_year",
    "phone",
    "categories",
    "health_notes",
    "mobility",
    "helper",
    "backup_helper",
}


@transaction.atomic
def update_resident(*, actor, resident: Resident, **changes) -> Resident:
    require(actor, Capability.EDIT, resident.region)
    require(actor, Capability.VIEW_RESIDENTS, resident.region)
    unknown = set(changes) - RESIDENT_FIELDS
    if unknown:
        raise InvalidInput(_("不能修改这些字段"), details={f: _("不可修改") for f in unknown})
    cleaner = Cleaner()
    if changes.get("id_number"):
        # A new ID number brings its own birth year and gender unless they change too.
        changes.setdefault("birth_year", None)
        changes.setdefault("gender", "")
    data = clean_resident(cleaner, changes)
    check_helpers(
        cleaner,
        {
            "helper": data.get("helper", resident.helper),
            "backup_helper": data.get("backup_helper", resident.backup_helper),
        },
        resident.household,
    )
    if "id_number" in changes:
        check_id_unique(cleaner, data.get("id_digest"), resident.pk)
    cleaner.done()
    for field, value in data.items():
        setattr(resident, field, value)
    return _save(resident)


@transaction.atomic
def move_resident(*, actor, resident: Resident, household: Household) -> Resident:
    """A resident who moves to another household (in the same grid or elsewhere in the
    actor's scope): the helpers stay when they are still local, otherwise they are cleared."""
    require(actor, Capability.EDIT, resident.region)
    require(actor, Capability.EDIT, household.region)
    require(actor, Capability.VIEW_RESIDENTS, household.region)
    if household.pk == resident.household_id:
        message = _("该居民已在此住户")
        raise InvalidInput(message, details={"household": message})
    for field in ("helper", "backup_helper"):
        cleaner = Cleaner()
        check_local_person(cleaner, getattr(resident, field), household.region, field)
        if cleaner.details:
            setattr(resident, field, None)
    resident.household = household
    resident.region = household.region
    return _save(resident)


@transaction.atomic
def remove_resident(*, actor, resident: Resident) -> None:
    """Delete a resident who moved away or died (the generic change log keeps the deletion,
    with the protected fields masked)."""
    require(actor, Capability.EDIT, resident.region)
    require(actor, Capability.VIEW_RESIDENTS, resident.region)
    resident.delete()


def reveal_resident_field(
    *, actor, resident: Resident, field: str, reason: str, remote_addr: str | None = None
) -> str:
    """The clear value of one protected field, logged (core `reveal_personal_field` checks
    `view_resident_data` within the resident's region). A reason is required here: a
    resident's health is viewed for a purpose, and the log says which."""
    reason = (reason or "").strip()
    if not reason:
        message = _("请填写查看事由")
        raise InvalidInput(message, details={"reason": message})
    value = reveal_personal_field(
        actor=actor, obj=resident, field=field, reason=reason, remote_addr=remote_addr
    )
    if field == "categories":
        labels = {code: str(label) for code, label in VulnerableCategory.choices}
        return "、".join(labels.get(code, code) for code in value.split(",") if code)
    return value
