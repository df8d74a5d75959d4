"""Experts (应急专家): who to call for a chemical leak, a landslide or a flood.

An expert is a person of the core registry (their mobile is encrypted there and masked
everywhere); registering one either picks an existing person or creates the person from a
name and a mobile in the same transaction, so a refused expert leaves no stray person.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from frontline.core import services as core_services
from frontline.core.errors import DomainError, InvalidInput
from frontline.core.models import Person, Region
from frontline.core.roles import Capability as Can
from frontline.core.services.validation import Cleaner, require
from frontline.resources.models import Expert, ExpertAvailability, ExpertField
from frontline.resources.services.events import record_event
from frontline.resources.services.teams import changed_fields, related

EXPERT_FIELDS = {"field", "specialty", "title", "employer", "notes"}


def clean_expert(cleaner: Cleaner, data: dict) -> dict:
    cleaned = dict(data)
    if "field" in data:
        cleaned["field"] = cleaner.choice(data["field"], "field", ExpertField)
    for name, length in (("specialty", 200), ("title", 40), ("employer", 120), ("notes", 2000)):
        if name in data:
            cleaned[name] = cleaner.text(data[name], name, required=False, max_length=length)
    return cleaned


@transaction.atomic
def create_expert(
    *,
    actor,
    region: Region,
    field: str,
    person: Person | None = None,
    name: str = "",
    mobile: str = "",
    specialty: str = "",
    title: str = "",
    employer: str = "",
    notes: str = "",
) -> Expert:
    """Register an expert: `person` from the registry, or a new person from `name` and
    `mobile` (created in the expert's region, in this transaction)."""
    require(actor, Can.MANAGE_RESOURCES, region)
    cleaner = Cleaner()
    data = clean_expert(
        cleaner,
        {
            "field": field,
            "specialty": specialty,
            "title": title,
            "employer": employer,
            "notes": notes,
        },
    )
    if person is not None:
        if not related(region, person.region):
            cleaner.fail("person", _("人员不在专家所属区划之内"))
        elif Expert.objects.filter(person=person).exists():
            cleaner.fail("person", _("该人员已登记为专家"))
    else:
        name = cleaner.text(name, "name", required=True, max_length=50)
        mobile = cleaner.mobile(mobile, "mobile")
        if not mobile and "mobile" not in cleaner.details:
            cleaner.fail("mobile", _("请填写专家的手机号，以便联系"))
    cleaner.done()
    if person is None:
        try:
            person = core_services.create_person(
                actor=actor, name=name, region=region, mobile=mobile, position=data["title"]
            )
        except InvalidInput as exc:
            # The person's fields are the expert form's fields of the same names.
            raise InvalidInput(exc.message, details=exc.details) from None
    expert = Expert(region=region, person=person, **data)
    expert.save()
    record_event(expert, actor=actor, kind="created", to_state=expert.availability)
    return expert


@transaction.atomic
def update_expert(*, actor, expert: Expert, **changes) -> Expert:
    require(actor, Can.MANAGE_RESOURCES, expert.region)
    unknown = set(changes) - EXPERT_FIELDS
    if unknown:
        raise InvalidInput(_("不能修改这些字段"), details={f: _("不可修改") for f in unknown})
    cleaner = Cleaner()
    data = clean_expert(cleaner, changes)
    cleaner.done()
    changed = changed_fields(expert, data)
    for name, value in data.items():
        setattr(expert, name, value)
    expert.save()
    if changed:
        record_event(expert, actor=actor, kind="updated", fields=changed)
    return expert


@transaction.atomic
def set_expert_availability(*, actor, expert: Expert, availability: str, note: str = "") -> Expert:
    """可联系 / 任务中 / 暂不可用."""
    require(actor, Can.MANAGE_RESOURCES, expert.region)
    cleaner = Cleaner()
    cleaner.choice(availability, "availability", ExpertAvailability)
    note = cleaner.text(note, "note", required=False, max_length=500)
    cleaner.done()
    expert = Expert.objects.select_for_update().get(pk=expert.pk)
    if expert.availability == availability:
        raise DomainError(
            _("专家已是“%(status)s”状态") % {"status": expert.get_availability_display()},
            code="same_status",
        )
    previous = expert.availability
    expert.availability = availability
    expert.save()
    record_event(
        expert,
        actor=actor,
        kind="availability",
        from_state=previous,
        to_state=availability,
        note=note,
    )
    return expert
