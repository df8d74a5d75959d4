"""Every state change of the core: regions, organizations, people, accounts, tokens.

Each function is keyword-only, takes `actor=`, runs in one transaction and leaves an event or
an audit entry (the generic change log records every model save).
"""

from __future__ import annotations

import re
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.core import request_id
from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.geo import boundary_summary, invalidate_locator
from frontline.core.models import (
    AccountEvent,
    ApiToken,
    Organization,
    OrganizationKind,
    Person,
    Region,
    RegionLevel,
    RoleAssignment,
    SensitiveAccess,
)
from frontline.core.models.regions import CODE_LENGTH, LEVEL_ORDER
from frontline.core.roles import Capability, Role, can
from frontline.core.tokens import new_token

User = get_user_model()


# --- helpers -------------------------------------------------------------------------------


def require(actor, capability: str, region: Region | None) -> None:
    if actor is None:  # system jobs: seeding, imports run by an operator on the server
        return
    if not can(actor, capability, region):
        raise PermissionDenied(_("您没有此操作的权限"))


class Cleaner:
    """Checks every field of one input and reports all problems at once, so a form shows
    each wrong field on the first submit instead of one error per round trip."""

    def __init__(self) -> None:
        self.details: dict[str, str] = {}

    def fail(self, field: str, message) -> None:
        self.details.setdefault(field, str(message))

    def text(self, value: str | None, field: str, *, required: bool, max_length: int) -> str:
        text = (value or "").strip()
        if required and not text:
            self.fail(field, _("此字段为必填项"))
        elif len(text) > max_length:
            self.fail(field, _("最多 %(n)d 个字符") % {"n": max_length})
        return text

    def mobile(self, value: str | None, field: str = "mobile") -> str:
        text = "".join(ch for ch in (value or "") if ch not in " -")
        if text.startswith("+86"):
            text = text[3:]
        elif text.startswith("86") and len(text) == 13:
            text = text[2:]
        if text and not _MOBILE.fullmatch(text):
            self.fail(field, _("应为 11 位手机号码，如 13812345678"))
        return text

    def phone(self, value: str | None, field: str) -> str:
        """A landline or mobile number as people write it: 0575-84123456, (0575) 8412 3456."""
        text = (value or "").strip()
        digits = [ch for ch in text if ch.isdigit()]
        if text and (not _PHONE.fullmatch(text) or not 7 <= len(digits) <= 20):
            self.fail(field, _("电话号码格式不正确，如 0575-84123456"))
        return text

    def id_number(self, value: str | None, field: str = "id_number") -> str:
        text = (value or "").strip().upper()
        if text and not is_valid_id_number(text):
            self.fail(field, _("应为 18 位身份证号码且校验位正确"))
        return text

    def choice(self, value: str | None, field: str, choices) -> str:
        if value not in choices.values:
            self.fail(field, _("请选择"))
        return value or ""

    def done(self) -> None:
        if self.details:
            raise InvalidInput(_("输入有误，请检查标注的字段"), details=self.details)


_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_PHONE = re.compile(r"[0-9+()\- ]+(?:转[0-9]+)?")


def _clean_text(value: str | None, field: str, *, required: bool, max_length: int) -> str:
    cleaner = Cleaner()
    text = cleaner.text(value, field, required=required, max_length=max_length)
    cleaner.done()
    return text


_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_ID_CHECK = "10X98765432"


def is_valid_id_number(text: str) -> bool:
    """GB 11643 resident identity number: 17 digits and an ISO 7064 MOD 11-2 check."""
    if len(text) != 18 or not text[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(text[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == text[17]


# --- regions -------------------------------------------------------------------------------


# How much of a parent's code its children repeat: GB/T 2260 province codes are "33" + "0000",
# city codes "3306" + "00"; from the county down the whole code is the prefix.
_SIGNIFICANT_PREFIX = {RegionLevel.PROVINCE: 2, RegionLevel.CITY: 4}


def _check_code(code: str, level: str, parent: Region | None, is_virtual: bool) -> None:
    if not code.isdigit() or len(code) != CODE_LENGTH[level]:
        raise InvalidInput(
            _("区划代码格式不正确"),
            details={
                "code": _("%(level)s代码应为 %(n)d 位数字")
                % {"level": RegionLevel(level).label, "n": CODE_LENGTH[level]}
            },
        )
    if parent is None:
        return
    if LEVEL_ORDER.index(RegionLevel(level)) <= LEVEL_ORDER.index(RegionLevel(parent.level)):
        raise InvalidInput(_("层级不正确"), details={"level": _("下级区划的层级必须低于上级")})
    prefix = parent.code[: _SIGNIFICANT_PREFIX.get(parent.level, len(parent.code))]
    # Development zones (功能区) carry codes of their own; their parent stays explicit.
    if not is_virtual and not parent.is_virtual and not code.startswith(prefix):
        raise InvalidInput(
            _("区划代码与上级不符"),
            details={
                "code": _("代码应以上级代码 %(p)s 开头；功能区请勾选“功能区/开发区”")
                % {"p": prefix}
            },
        )


@transaction.atomic
def create_region(
    *,
    actor,
    code: str,
    name: str,
    level: str,
    parent: Region | None = None,
    boundary: dict | None = None,
    is_virtual: bool = False,
    population: int | None = None,
) -> Region:
    require(actor, Capability.MANAGE_REGIONS, parent)
    code = _clean_text(code, "code", required=True, max_length=15)
    name = _clean_text(name, "name", required=True, max_length=100)
    if level not in RegionLevel.values:
        raise InvalidInput(_("层级不正确"), details={"level": _("未知的层级")})
    if parent is None and actor is not None and not actor.is_superuser:
        raise PermissionDenied(_("只有系统管理员可以创建顶级区划"))
    _check_code(code, level, parent, is_virtual)
    region = Region(
        code=code,
        name=name,
        level=level,
        parent=parent,
        is_virtual=is_virtual,
        population=population,
        path=(parent.path if parent else "") + code + "/",
        depth=(parent.depth + 1) if parent else 0,
    )
    _apply_boundary(region, boundary)
    try:
        with transaction.atomic():
            region.save()
    except IntegrityError:
        raise InvalidInput(_("区划代码已存在"), details={"code": _("代码重复")}) from None
    _regions_changed()
    return region


def _regions_changed() -> None:
    # Now for this connection, and again after commit for everyone else.
    invalidate_locator()
    transaction.on_commit(invalidate_locator)


def _apply_boundary(region: Region, boundary: dict | None) -> None:
    if boundary is None:
        region.boundary = None
        return
    try:
        summary = boundary_summary(boundary)
    except ValueError as exc:
        raise InvalidInput(_("边界数据无效"), details={"boundary": str(exc)}) from None
    region.boundary = boundary
    region.centroid_lon, region.centroid_lat = summary.centroid
    region.min_lon, region.min_lat, region.max_lon, region.max_lat = summary.bbox


@transaction.atomic
def update_region(
    *, actor, region: Region, name: str | None = None, boundary: dict | None = None
) -> Region:
    require(actor, Capability.MANAGE_REGIONS, region)
    if name is not None:
        region.name = _clean_text(name, "name", required=True, max_length=100)
    if boundary is not None:
        _apply_boundary(region, boundary)
    region.save()
    _regions_changed()
    return region


@transaction.atomic
def move_region(*, actor, region: Region, new_parent: Region) -> Region:
    """Re-parent a region and rewrite the paths of its whole subtree."""
    require(actor, Capability.MANAGE_REGIONS, region)
    require(actor, Capability.MANAGE_REGIONS, new_parent)
    if new_parent.path.startswith(region.path):
        raise DomainError(_("不能把区划移到它自己的下级之下"), code="region_cycle")
    old_path = region.path
    new_path = new_parent.path + region.code + "/"
    depth_change = new_parent.depth + 1 - region.depth
    for node in Region.objects.within(old_path).order_by("depth"):
        node.path = new_path + node.path[len(old_path) :]
        node.depth += depth_change
        if node.pk == region.pk:
            node.parent = new_parent
        node.save(update_fields=["path", "depth", "parent", "updated_at"])
    region.refresh_from_db()
    _regions_changed()
    return region


# --- organizations and people --------------------------------------------------------------


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
    if not can(actor, Capability.VIEW_PERSONAL_DATA, obj.region):
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


# --- accounts, roles, tokens ---------------------------------------------------------------


def _account_event(*, actor, user, kind: str, note: str = "", data: dict | None = None) -> None:
    AccountEvent.objects.create(
        actor=actor,
        user=user,
        kind=kind,
        note=note,
        data=data or {},
        request_id=request_id.current_request_id() or "",
    )


@transaction.atomic
def create_account(*, actor, person: Person, username: str, password: str | None) -> User:
    require(actor, Capability.MANAGE_ACCOUNTS, person.region)
    if person.user_id is not None:
        raise DomainError(_("此人员已有登录账号"), code="account_exists")
    username = _clean_text(username, "username", required=True, max_length=150)
    if User.objects.filter(username=username).exists():
        raise InvalidInput(_("用户名已被使用"), details={"username": _("用户名重复")})
    user = User(username=username, first_name=person.name[:150])
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    person.user = user
    person.save(update_fields=["user", "updated_at"])
    _account_event(actor=actor, user=user, kind="account_created", data={"person": person.pk})
    return user


@transaction.atomic
def grant_role(*, actor, user: User, role: str, region: Region) -> RoleAssignment:
    require(actor, Capability.MANAGE_ACCOUNTS, region)
    if role not in Role.values:
        raise InvalidInput(_("未知的角色"), details={"role": _("未知的角色")})
    existing = RoleAssignment.objects.filter(
        user=user, role=role, region=region, revoked_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    assignment = RoleAssignment.objects.create(
        user=user, role=role, region=region, granted_by=actor
    )
    if role == Role.COUNTY_ADMIN and not user.is_staff:
        # County administrators maintain master data in the admin site.
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    _account_event(
        actor=actor,
        user=user,
        kind="role_granted",
        data={"role": role, "region": region.code},
    )
    return assignment


@transaction.atomic
def revoke_role(*, actor, assignment: RoleAssignment) -> RoleAssignment:
    require(actor, Capability.MANAGE_ACCOUNTS, assignment.region)
    if assignment.revoked_at is not None:
        raise DomainError(_("该授权已撤销"), code="already_revoked")
    assignment.revoked_at = timezone.now()
    assignment.save(update_fields=["revoked_at"])
    _account_event(
        actor=actor,
        user=assignment.user,
        kind="role_revoked",
        data={"role": assignment.role, "region": assignment.region.code},
    )
    return assignment


@transaction.atomic
def issue_token(
    *, actor, assignment: RoleAssignment, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token; the clear token is returned once and never stored."""
    if actor is not None and actor.pk != assignment.user_id:
        require(actor, Capability.MANAGE_ACCOUNTS, assignment.region)
    if not assignment.is_active:
        raise DomainError(_("该授权已撤销，不能签发令牌"), code="assignment_revoked")
    token, key_prefix, token_hash = new_token()
    record = ApiToken.objects.create(
        name=_clean_text(name, "name", required=True, max_length=100),
        assignment=assignment,
        key_prefix=key_prefix,
        token_hash=token_hash,
        created_by=actor,
        expires_at=expires_at,
    )
    _account_event(
        actor=actor,
        user=assignment.user,
        kind="token_issued",
        data={"token": record.key_prefix, "name": record.name},
    )
    return record, token


@transaction.atomic
def revoke_token(*, actor, token: ApiToken) -> ApiToken:
    if actor is not None and actor.pk != token.assignment.user_id:
        require(actor, Capability.MANAGE_ACCOUNTS, token.assignment.region)
    if token.revoked_at is not None:
        raise DomainError(_("该令牌已撤销"), code="already_revoked")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    _account_event(
        actor=actor,
        user=token.assignment.user,
        kind="token_revoked",
        data={"token": token.key_prefix},
    )
    return token
