"""Accounts, role assignments and API tokens, each change with an account event."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.core import request_id
from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.models import AccountEvent, ApiToken, Person, Region, RoleAssignment
from frontline.core.roles import Capability, Role
from frontline.core.services.validation import _clean_text, require
from frontline.core.tokens import new_token

User = get_user_model()


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


def _require_manages_account(actor, user) -> None:
    """Managing an account needs the capability over every region it is attached to: its
    person's and each of its roles'. A station chief cannot take over a county officer."""
    if actor is None or actor.is_superuser:
        return
    if user.is_superuser:
        raise PermissionDenied(_("只有系统管理员可以管理系统管理员账号"))
    regions = [a.region for a in RoleAssignment.objects.filter(user=user).select_related("region")]
    person = Person.objects.filter(user=user).select_related("region").first()
    if person is not None:
        regions.append(person.region)
    if not regions:
        raise PermissionDenied(_("您没有此操作的权限"))
    for region in regions:
        require(actor, Capability.MANAGE_ACCOUNTS, region)


@transaction.atomic
def set_account_active(*, actor, user, active: bool) -> User:
    _require_manages_account(actor, user)
    # Compare with the stored value: a form may already have set the attribute in memory.
    if User.objects.filter(pk=user.pk, is_active=active).exists():
        user.is_active = active
        return user
    user.is_active = active
    user.save(update_fields=["is_active"])
    _account_event(actor=actor, user=user, kind="account_enabled" if active else "account_disabled")
    return user


@transaction.atomic
def set_account_password(*, actor, user, password: str) -> User:
    """An administrator sets a new password (forgotten password, new colleague)."""
    _require_manages_account(actor, user)
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(
            _("密码不符合要求"), details={"password": " ".join(exc.messages)}
        ) from None
    user.set_password(password)
    user.save(update_fields=["password"])
    _account_event(actor=actor, user=user, kind="password_set")
    return user


@transaction.atomic
def unlock_account(*, actor, user) -> User:
    """End a lockout after repeated wrong passwords (django-axes counters)."""
    from axes.utils import reset

    _require_manages_account(actor, user)
    reset(username=user.get_username())
    _account_event(actor=actor, user=user, kind="account_unlocked")
    return user
