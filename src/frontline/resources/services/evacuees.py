"""Evacuee registration (避难人员登记, GB/T 33744): check-in of one person or a whole family,
check-out with where they went, and the logged clear views of the register.

Occupancy is kept on the shelter in the same transaction as the registration. The place is
taken with a conditional UPDATE (`occupancy + n <= capacity` and the shelter open), like the
stock ledger's `_take`: of two registrars filling the last bed at the same moment exactly one
succeeds, on SQLite and PostgreSQL; the other is told the shelter is full.

A person is in one shelter at a time: an ID number already registered as present in any
shelter of the same county is refused (409) — people are moved (checked out with the other
shelter as destination, then checked in there), not duplicated. ID numbers are encrypted at
rest; each stay also keeps the keyed digest of its number (`id_digest`), so the check is one
indexed lookup, and a partial unique index (one open stay per digest) makes the database
refuse the second of two check-ins of the same person racing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.community.models import Resident
from frontline.community.services.households import visible_residents
from frontline.core import request_id
from frontline.core.crypto import keyed_digest
from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.models import SensitiveAccess
from frontline.core.roles import Capability, can
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.services.objects import clean_number
from frontline.resources.models import Evacuee, EvacueeNeed, Gender, Shelter, ShelterStatus
from frontline.resources.services.events import record_event
from frontline.resources.services.shelters import settle_status

# A family registered in one go; a bus of forty is several check-ins.
MAX_PEOPLE = 30
MAX_AGE = 130
NEED_ORDER = {value: index for index, value in enumerate(EvacueeNeed.values)}
# What one clear view of a stay shows, as logged in SensitiveAccess.field.
CLEAR_FIELDS = "name,id_number,phone,needs,needs_note"


class ShelterFull(DomainError):
    """No free place for everyone of the check-in (or the shelter is not open)."""

    code = "shelter_full"


@dataclass
class Arrival:
    """One person of a check-in. Empty fields are taken from the linked resident's record
    (or, for age and gender, from the ID number) when there is one."""

    name: str = ""
    gender: str = ""
    age: int | None = None
    id_number: str = ""
    phone: str = ""
    needs: list[str] = field(default_factory=list)
    needs_note: str = ""
    bed_no: str = ""
    home_address: str = ""
    resident: Resident | None = None


# --- checks ----------------------------------------------------------------------------------


def facts_from_id(id_number: str, today: date) -> tuple[int, str]:
    """Age on `today` and gender written in a valid GB 11643 number (birth date in digits
    7–14, the 17th digit odd for a man)."""
    born = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return max(age, 0), Gender.MALE if int(id_number[16]) % 2 else Gender.FEMALE


def pack_needs(values) -> str:
    known = sorted({v for v in values or () if v in NEED_ORDER}, key=NEED_ORDER.get)
    return ",".join(known)


def _clean_arrival(cleaner: Cleaner, index: int, person: Arrival, today: date) -> dict:
    prefix = f"people.{index}."
    resident = person.resident
    if resident is not None:
        # The resident's record fills what the registrar left empty.
        person.name = person.name or resident.name
        person.gender = person.gender or resident.gender
        person.id_number = person.id_number or resident.id_number
        person.phone = person.phone or resident.phone
        if person.age is None and resident.birth_year:
            person.age = today.year - resident.birth_year
        if not person.home_address and resident.household_id:
            person.home_address = resident.household.address
    row = {
        "name": cleaner.text(person.name, prefix + "name", required=True, max_length=50),
        "phone": cleaner.phone(person.phone, prefix + "phone"),
        "needs_note": cleaner.text(
            person.needs_note, prefix + "needs_note", required=False, max_length=500
        ),
        "bed_no": cleaner.text(person.bed_no, prefix + "bed_no", required=False, max_length=20),
        "home_address": cleaner.text(
            person.home_address, prefix + "home_address", required=False, max_length=200
        ),
        "resident": resident,
    }
    number = cleaner.id_number("".join((person.id_number or "").split()), prefix + "id_number")
    row["id_number"] = number if prefix + "id_number" not in cleaner.details else ""
    gender = person.gender or ""
    if gender and gender not in Gender.values:
        cleaner.fail(prefix + "gender", _("请选择"))
    age = clean_number(
        cleaner, person.age, prefix + "age", minimum=0, maximum=MAX_AGE, integer=True
    )
    if row["id_number"]:
        try:
            id_age, id_gender = facts_from_id(row["id_number"], today)
        except ValueError:  # a check digit that fits a birth date that does not exist
            cleaner.fail(prefix + "id_number", _("身份证号中的出生日期不正确"))
            row["id_number"] = ""
        else:
            age = id_age if age is None else age
            gender = gender or id_gender
    row["age"], row["gender"] = age, gender
    unknown = [v for v in person.needs or () if v not in NEED_ORDER]
    if unknown:
        cleaner.fail(prefix + "needs", _("未知的特殊需求：%(v)s") % {"v": "、".join(unknown)})
    row["needs"] = pack_needs(person.needs)
    return row


def _present_elsewhere(actor, shelter: Shelter, numbers: dict[str, int]) -> None:
    """Refuse (409) ID numbers already present in a shelter."""
    if not numbers:
        return
    by_digest = {keyed_digest(number): index for number, index in numbers.items()}
    present = (
        Evacuee.objects.present()
        .filter(id_digest__in=list(by_digest))
        .values_list("id_digest", "shelter_id", "shelter__name")
        .first()
    )
    if present is not None:
        digest, shelter_id, shelter_name = present
        _refuse_duplicate(actor, shelter, by_digest[digest], shelter_id, shelter_name)


def _refuse_duplicate(actor, shelter: Shelter, index: int, shelter_id, shelter_name) -> None:
    if shelter_id == shelter.pk:
        where = _("本场所")
    elif shelter_id is None:
        where = _("另一避难场所")
    elif actor is None or Shelter.objects.visible_to(actor).filter(pk=shelter_id).exists():
        where = shelter_name
    else:
        where = _("另一避难场所")
    message = _(
        "该身份证号的人员已在%(where)s登记在场，不能重复登记；如需转移，请先在原场所办理离开"
    ) % {"where": where}
    raise DomainError(
        message,
        code="already_registered",
        details={f"people.{index}.id_number": message},
    )


def _next_group(shelter: Shelter) -> int:
    top = Evacuee.objects.filter(shelter=shelter).aggregate(top=Max("group_no"))["top"]
    return (top or 0) + 1


def _when(at: datetime | None, field_name: str) -> datetime:
    now = timezone.now()
    if at is None:
        return now
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at > now + timedelta(minutes=5):
        message = _("时间不能晚于现在")
        raise InvalidInput(message, details={field_name: message})
    return at


# --- check-in and check-out ------------------------------------------------------------------


@transaction.atomic
def check_in(
    *,
    actor,
    shelter: Shelter,
    people: list[Arrival],
    household_head: str = "",
    home_address: str = "",
    group_no: int | None = None,
    at: datetime | None = None,
) -> list[Evacuee]:
    """Register one person or a whole family arriving together (one group number, the head
    of household's name on every row). Refused when the shelter is closed or has fewer free
    places than people (409), when an ID number is already present in the county (409), or
    for bad input (422, fields `people.<n>.<field>`). A resident of the community roll is
    linked when given, or found by the ID number among the residents the registrar may read."""
    require(actor, Capability.REGISTER_EVACUEES, shelter.region)
    at = _when(at, "at")
    today = timezone.localdate(at)
    if not people:
        raise InvalidInput(_("至少登记一人"), details={"people": _("至少登记一人")})
    if len(people) > MAX_PEOPLE:
        message = _("一次最多登记 %(n)d 人") % {"n": MAX_PEOPLE}
        raise InvalidInput(message, details={"people": message})
    cleaner = Cleaner()
    head = cleaner.text(household_head, "household_head", required=False, max_length=50)
    address = cleaner.text(home_address, "home_address", required=False, max_length=200)
    if group_no is not None:
        group_no = clean_number(
            cleaner, group_no, "group_no", minimum=1, maximum=10_000_000, integer=True
        )
    residents = visible_residents(actor) if actor is not None else Resident.objects.all()
    rows = []
    numbers: dict[str, int] = {}
    for index, person in enumerate(people):
        if person.resident is not None and not residents.filter(pk=person.resident.pk).exists():
            cleaner.fail(f"people.{index}.resident", _("居民档案不存在或不在您的管辖范围内"))
            person.resident = None
        row = _clean_arrival(cleaner, index, person, today)
        if row["id_number"]:
            if row["id_number"] in numbers:
                cleaner.fail(
                    f"people.{index}.id_number",
                    _("与第 %(n)d 人的身份证号重复") % {"n": numbers[row["id_number"]] + 1},
                )
            numbers.setdefault(row["id_number"], index)
        rows.append(row)
    cleaner.done()
    # The shelter object may be stale: whether it is open is decided by `_take_places`.
    _present_elsewhere(actor, shelter, numbers)
    _take_places(shelter, len(rows))
    _link_residents(residents, rows)
    if group_no is None:
        group_no = _next_group(shelter)
    head = head or rows[0]["name"]
    user = actor if actor is not None and actor.is_authenticated else None
    arrivals = [
        Evacuee(
            shelter=shelter,
            household_head=head,
            group_no=group_no,
            home_address=row.pop("home_address") or address,
            id_digest=keyed_digest(row["id_number"]) if row["id_number"] else "",
            checked_in_at=at,
            checked_in_by=user,
            **row,
        )
        for row in rows
    ]
    try:
        with transaction.atomic():
            stays = Evacuee.objects.bulk_create(arrivals)
    except IntegrityError:
        # Another registrar checked the same person in between our check and our insert.
        index = next(i for i, row in enumerate(rows) if row["id_number"])
        _refuse_duplicate(actor, shelter, index, None, "")
    record_event(
        shelter,
        actor=actor,
        kind="check_in",
        note=_("登记入住 %(n)d 人（家庭编号 %(g)d）") % {"n": len(stays), "g": group_no},
        count=len(stays),
        group_no=group_no,
        evacuee_ids=[stay.pk for stay in stays],
    )
    settle_status(shelter, actor=actor)
    return stays


def _take_places(shelter: Shelter, n: int) -> None:
    """Add `n` to the occupancy only while the shelter is open and has room for all of them."""
    taken = Shelter.objects.filter(
        pk=shelter.pk, status=ShelterStatus.OPEN, occupancy__lte=F("capacity") - n
    ).update(occupancy=F("occupancy") + n, updated_at=timezone.now())
    if taken:
        return
    status, occupancy, capacity = (
        Shelter.objects.filter(pk=shelter.pk).values_list("status", "occupancy", "capacity").get()
    )
    if status == ShelterStatus.CLOSED:
        raise ShelterFull(_("避难场所未开放，不能登记入住"), code="shelter_closed")
    free = max(0, capacity - occupancy)
    raise ShelterFull(
        _("避难场所已满员：剩余 %(free)d 个床位，不能安置 %(n)d 人，请转往其他场所")
        % {"free": free, "n": n},
        details={"free": free, "requested": n, "occupancy": occupancy, "capacity": capacity},
    )


def _link_residents(residents, rows: list[dict]) -> None:
    """Link the people with an ID number and no resident to the roll's record of that
    number, when the registrar may read it (one query for the family)."""
    wanted = {
        keyed_digest(row["id_number"]): row
        for row in rows
        if row["id_number"] and row["resident"] is None
    }
    if not wanted:
        return
    for resident in residents.filter(id_digest__in=list(wanted)):
        wanted[resident.id_digest]["resident"] = resident


@transaction.atomic
def check_out(
    *,
    actor,
    evacuees: list[Evacuee],
    destination: str = "",
    at: datetime | None = None,
) -> list[Evacuee]:
    """Register the departure of people of one shelter (离开登记): the time and where they
    went. Each stay is closed with a conditional UPDATE, so a stay closed twice at once
    frees one place only; a stay already closed is refused (409)."""
    if not evacuees:
        raise InvalidInput(_("请选择离开的人员"), details={"evacuee_ids": _("请选择离开的人员")})
    shelter_ids = {stay.shelter_id for stay in evacuees}
    if len(shelter_ids) != 1:
        message = _("一次只能办理同一避难场所人员的离开")
        raise InvalidInput(message, details={"evacuee_ids": message})
    shelter = Shelter.objects.select_related("region").get(pk=shelter_ids.pop())
    require(actor, Capability.REGISTER_EVACUEES, shelter.region)
    cleaner = Cleaner()
    destination = cleaner.text(destination, "destination", required=False, max_length=120)
    cleaner.done()
    at = _when(at, "at")
    ids = sorted({stay.pk for stay in evacuees})
    closed = Evacuee.objects.filter(pk__in=ids, checked_out_at__isnull=True).update(
        checked_out_at=at, destination=destination
    )
    if closed != len(ids):
        raise DomainError(
            _("所选人员中有人已办理离开，请刷新后重试"),
            code="already_checked_out",
            details={"evacuee_ids": _("已办理离开")},
        )
    early = Evacuee.objects.filter(pk__in=ids, checked_in_at__gt=at).exists()
    if early:
        message = _("离开时间不能早于入住时间")
        raise InvalidInput(message, details={"at": message})
    Shelter.objects.filter(pk=shelter.pk).update(
        occupancy=F("occupancy") - closed, updated_at=timezone.now()
    )
    record_event(
        shelter,
        actor=actor,
        kind="check_out",
        note=_("办理离开 %(n)d 人") % {"n": closed}
        + (_("，去向：%(d)s") % {"d": destination} if destination else ""),
        count=closed,
        evacuee_ids=ids,
    )
    settle_status(shelter, actor=actor)
    return list(Evacuee.objects.filter(pk__in=ids).order_by("pk"))


# --- clear views -----------------------------------------------------------------------------


@transaction.atomic
def log_clear_view(
    *, actor, shelter: Shelter, stays, reason: str, remote_addr: str | None = None
) -> int:
    """Check that the actor may see evacuees' data in clear (view_resident_data on the
    shelter's region) and a reason is given, and log one SensitiveAccess row per stay shown
    (个人信息保护法 Art. 51). Returns how many were logged."""
    reason = (reason or "").strip()
    if not reason:
        message = _("请填写查看事由")
        raise InvalidInput(message, details={"reason": message})
    if len(reason) > 200:
        message = _("最多 %(n)d 个字符") % {"n": 200}
        raise InvalidInput(message, details={"reason": message})
    if not can(actor, Capability.VIEW_RESIDENT_DATA, shelter.region):
        raise PermissionDenied(_("您没有查看安置人员敏感信息明文的权限"))
    content_type = ContentType.objects.get_for_model(Evacuee)
    request = request_id.current_request_id() or ""
    rows = [
        SensitiveAccess(
            user=actor,
            content_type=content_type,
            object_id=str(pk),
            field=CLEAR_FIELDS,
            reason=reason,
            request_id=request,
            remote_addr=remote_addr,
        )
        for pk in stays
    ]
    SensitiveAccess.objects.bulk_create(rows, batch_size=500)
    return len(rows)
