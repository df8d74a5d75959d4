"""Organizations and people, and the logged clear view of personal data."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from frontline.core import request_id
from frontline.core.errors import InvalidInput, PermissionDenied
from frontline.core.models import (
    Organization,
    OrganizationKind,
    Person,
    Region,
    SensitiveAccess,
)
from frontline.core.roles import Capability, can
from frontline.core.services.validation import Cleaner, require


def _clean_organization(cleaner: Cleaner, data: dict) -> dict:
    checks = {
        "name": lambda v: cleaner.text(v, "name", required=True, max_length=120),
        "kind": lambda v: cleaner.choice(v, "kind", OrganizationKind),
        "duty_phone": lambda v: cleaner.phone(v, "duty_phone"),
        "address": lambda v: cleaner.text(v, "address", required=False, max_length=200),
    }
    cleaned = {f: checks[f](v) if f in checks else v for f, v in data.items()}
    if (cleaned.get("lon") is None) != (cleaned.get("lat") is None):
        cleaner.fail("lat", _("经度和纬度需同时填写"))
    return cleaned


def _save_organization(organization: Organization) -> Organization:
    try:
        with transaction.atomic():
            organization.save()
    except IntegrityError:
        raise InvalidInput(_("同一区划内已有同名单位"), details={"name": _("名称重复")}) from None
    return organization


@transaction.atomic
def create_organization(
    *,
    actor,
    name: str,
    kind: str,
    region: Region,
    parent: Organization | None = None,
    duty_phone: str = "",
    address: str = "",
    lon: float | None = None,
    lat: float | None = None,
) -> Organization:
    require(actor, Capability.MANAGE_PEOPLE, region)
    cleaner = Cleaner()
    data = _clean_organization(
        cleaner,
        {
            "name": name,
            "kind": kind,
            "duty_phone": duty_phone,
            "address": address,
            "lon": lon,
            "lat": lat,
        },
    )
    cleaner.done()
    return _save_organization(Organization(region=region, parent=parent, **data))


ORGANIZATION_FIELDS = {"name", "kind", "parent", "duty_phone", "address", "lon", "lat"}


@transaction.atomic
def update_organization(*, actor, organization: Organization, **changes) -> Organization:
    require(actor, Capability.MANAGE_PEOPLE, organization.region)
    unknown = set(changes) - ORGANIZATION_FIELDS
    if unknown:
        raise InvalidInput(_("不能修改这些字段"), details={f: _("不可修改") for f in unknown})
    cleaner = Cleaner()
    # A coordinate is always checked together with the other one, changed or stored.
    changes = _clean_organization(
        cleaner, {"lon": organization.lon, "lat": organization.lat, **changes}
    )
    parent = changes.get("parent")
    if parent is not None and parent.pk == organization.pk:
        cleaner.fail("parent", _("上级单位不能是自己"))
    cleaner.done()
    for field, value in changes.items():
        setattr(organization, field, value)
    return _save_organization(organization)


def _check_organization_region(
    cleaner: Cleaner, organization: Organization | None, region: Region
) -> None:
    """A person sits in the subtree of their organization, or above it (a county officer
    attached to a township station)."""
    if organization is None:
        return
    related = region.path.startswith(organization.region.path) or (
        organization.region.path.startswith(region.path)
    )
    if not related:
        cleaner.fail("organization", _("单位不在人员所属区划之内"))


def _clean_person(cleaner: Cleaner, data: dict) -> dict:
    checks = {
        "name": lambda v: cleaner.text(v, "name", required=True, max_length=50),
        "position": lambda v: cleaner.text(v, "position", required=False, max_length=60),
        "mobile": cleaner.mobile,
        "office_phone": lambda v: cleaner.phone(v, "office_phone"),
        "id_number": cleaner.id_number,
    }
    return {f: checks[f](v) if f in checks else v for f, v in data.items()}


@transaction.atomic
def create_person(
    *,
    actor,
    name: str,
    region: Region,
    organization: Organization | None = None,
    position: str = "",
    mobile: str = "",
    office_phone: str = "",
    id_number: str = "",
) -> Person:
    require(actor, Capability.MANAGE_PEOPLE, region)
    cleaner = Cleaner()
    data = _clean_person(
        cleaner,
        {
            "name": name,
            "position": position,
            "mobile": mobile,
            "office_phone": office_phone,
            "id_number": id_number,
        },
    )
    _check_organization_region(cleaner, organization, region)
    cleaner.done()
    person = Person(
        region=region, organization=organization, mobile_tail=data["mobile"][-4:], **data
    )
    person.save()
    return person


PERSON_FIELDS = {
    "name",
    "organization",
    "region",
    "position",
    "mobile",
    "office_phone",
    "id_number",
}


@transaction.atomic
def update_person(*, actor, person: Person, **changes) -> Person:
    require(actor, Capability.MANAGE_PEOPLE, person.region)
    unknown = set(changes) - PERSON_FIELDS
    if unknown:
        raise InvalidInput(_("不能修改这些字段"), details={f: _("不可修改") for f in unknown})
    if "region" in changes:
        require(actor, Capability.MANAGE_PEOPLE, changes["region"])
    cleaner = Cleaner()
    changes = _clean_person(cleaner, changes)
    _check_organization_region(
        cleaner,
        changes.get("organization", person.organization),
        changes.get("region", person.region),
    )
    cleaner.done()
    if "mobile" in changes:
        person.mobile_tail = changes["mobile"][-4:]
    for field, value in changes.items():
        setattr(person, field, value)
    person.save()
    return person


@transaction.atomic
def reveal_personal_field(
    *, actor, obj, field: str, reason: str = "", remote_addr: str | None = None
) -> str:
    """Return a sensitive field in clear and log the view. Masked is the default everywhere."""
    if field not in getattr(obj, "SENSITIVE_FIELDS", {}):
        raise InvalidInput(_("该字段不可查看"), details={"field": _("未知的敏感字段")})
    needed = getattr(obj, "REVEAL_CAPABILITY", Capability.VIEW_PERSONAL_DATA)
    if not can(actor, needed, obj.region):
        raise PermissionDenied(_("您没有查看个人敏感信息明文的权限"))
    SensitiveAccess.objects.create(
        user=actor,
        content_type=ContentType.objects.get_for_model(obj),
        object_id=str(obj.pk),
        field=field,
        reason=reason[:200],
        request_id=request_id.current_request_id() or "",
        remote_addr=remote_addr,
    )
    return getattr(obj, field) or ""


def nearest_station(region) -> Organization | None:
    """The 应急管理站 (or community rescue station) on the region itself or nearest above it:
    who a hazard's or an alarm's supervised task goes to."""
    codes = [code for code in region.path.split("/") if code][::-1]
    stations = {
        org.region.code: org
        for org in Organization.objects.filter(
            kind__in=[OrganizationKind.STATION, OrganizationKind.COMMUNITY_STATION],
            region__code__in=codes,
        )
        .select_related("region")
        .order_by("-id")
    }
    return next((stations[code] for code in codes if code in stations), None)
