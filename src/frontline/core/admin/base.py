"""Admin for master data (zh-hans).

Every queryset is scoped to the user; permissions come from the user's roles, not from Django
model permissions (county administrators are made staff by `services.grant_role`); every save
goes through the services. A form is first checked by running its service inside a savepoint
that is rolled back, so a rule of the field becomes a form error instead of a server error.
"""

from __future__ import annotations

import secrets
import string

from auditlog.models import LogEntry
from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from frontline.core.errors import DomainError
from frontline.core.forms import regions_with
from frontline.core.models import (
    Organization,
    Person,
    Region,
    RoleAssignment,
)
from frontline.core.roles import Capability, can
from frontline.core.scoping import scope_paths

User = get_user_model()

admin.site.site_header = _("基层应急管理智慧平台 · 管理后台")
admin.site.site_title = _("管理后台")
admin.site.index_title = _("基础数据维护")
# One empty mark on every page of the platform.
admin.site.empty_value_display = "—"

# Stored codes shown in the logs, in words.

SENSITIVE_FIELD_LABELS = {"mobile": _("手机号"), "id_number": _("身份证号")}
ACCOUNT_EVENT_LABELS = {
    "account_created": _("创建账号"),
    "role_granted": _("授予角色"),
    "role_revoked": _("撤销角色"),
    "token_issued": _("签发令牌"),
    "token_revoked": _("撤销令牌"),
    "account_enabled": _("启用账号"),
    "account_disabled": _("停用账号"),
    "password_set": _("重设密码"),
    "account_unlocked": _("解除登录锁定"),
}
CHANGE_ACTION_LABELS = {
    LogEntry.Action.CREATE: _("新增"),
    LogEntry.Action.UPDATE: _("修改"),
    LogEntry.Action.DELETE: _("删除"),
    LogEntry.Action.ACCESS: _("访问"),
}


def label_of(labels: dict, code) -> str:
    """The word for a stored code; an unknown code (a later app's) is shown as it is."""
    return str(labels.get(code, code))


def code_filter(field: str, title, labels: dict) -> type[admin.SimpleListFilter]:
    """A list filter over a plain text column that names the codes in words."""

    class CodeFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request, model_admin):
            return [(code, label) for code, label in labels.items()]

        def queryset(self, request, queryset):
            value = self.value()
            return queryset.filter(**{field: value}) if value else queryset

    CodeFilter.title = title
    return CodeFilter


def out_of_scope(user, organization_id) -> bool:
    """Whether a linked unit exists but lies outside what the user sees."""
    if organization_id is None:
        return False
    return not Organization.objects.visible_to(user).filter(pk=organization_id).exists()


def users_in_scope(user):
    """Accounts attached to the scope: by their person or by a role assignment in it."""
    if scope_paths(user) is None:
        return User.objects.all()
    by_person = Person.objects.visible_to(user).exclude(user=None).values("user_id")
    by_role = RoleAssignment.objects.visible_to(user).values("user_id")
    return User.objects.filter(Q(pk__in=by_person) | Q(pk__in=by_role))


# --- forms checked against the services -----------------------------------------------------


class _RollBack(Exception):
    """Ends the dry run of a service."""


class ServiceAdminForm(forms.ModelForm):
    # Set by ScopedAdmin.get_form on a per-request subclass.
    model_admin = None
    actor = None
    # Service detail keys that are named differently on the form.
    field_aliases: dict[str, str] = {}

    def clean(self):
        cleaned = super().clean()
        if self.model_admin is not None and not self.errors:
            self._dry_run(cleaned)
        return cleaned

    def _dry_run(self, cleaned) -> None:
        instance = None
        if self.instance.pk is not None:
            # A fresh copy: the service must not touch the instance the admin is editing.
            instance = type(self.instance)._default_manager.get(pk=self.instance.pk)
        try:
            with transaction.atomic():
                self.model_admin.call_service(self.actor, cleaned, instance)
                raise _RollBack
        except _RollBack:
            pass
        except DomainError as exc:
            details = exc.details or {None: exc.message}
            for name, message in details.items():
                name = self.field_aliases.get(name, name)
                self.add_error(name if name in self.fields else None, str(message))


class ScopedAdmin(admin.ModelAdmin):
    """Scoped queryset, role-based permissions, saves through services, no deletes."""

    capability: str = Capability.MANAGE_PEOPLE
    read_only = False
    form = ServiceAdminForm
    list_per_page = 50

    def scope(self, request, queryset):
        return queryset.visible_to(request.user)

    def get_queryset(self, request):
        return self.scope(request, super().get_queryset(request))

    def region_of(self, obj):
        return obj.region

    def _allowed(self, request, obj=None) -> bool:
        region = self.region_of(obj) if obj is not None else None
        return can(request.user, self.capability, region)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff and self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return request.user.is_staff and self._allowed(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self.read_only and self.has_view_permission(request, obj)

    def has_add_permission(self, request):
        return not self.read_only and self.has_view_permission(request)

    def has_delete_permission(self, request, obj=None):
        # Master data is referenced by every ledger; nothing is deleted from the admin.
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"model_admin": self, "actor": request.user})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        model = db_field.related_model
        if model is Region:
            kwargs["queryset"] = regions_with(request.user, self.capability).order_by("path")
        elif model is Organization:
            kwargs["queryset"] = Organization.objects.visible_to(request.user).select_related(
                "region"
            )
        elif model is User:
            kwargs["queryset"] = users_in_scope(request.user).order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def call_service(self, actor, data: dict, instance):
        """Create (instance None) or update through the service; return the saved object."""
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        saved = self.call_service(request.user, form.cleaned_data, obj if change else None)
        if not change:
            # The admin goes on with `obj` (its log entry, its redirect): make it the saved row.
            obj.__dict__.update(saved.__dict__)


class ReadOnlyAdmin(ScopedAdmin):
    read_only = True
    capability = Capability.MANAGE_ACCOUNTS

    def scope(self, request, queryset):
        if scope_paths(request.user) is None:
            return queryset
        return queryset.filter(user__in=users_in_scope(request.user))

    def region_of(self, obj):
        return None


PASSWORD_ALPHABET = "".join(ch for ch in string.ascii_letters + string.digits if ch not in "IlO0o1")


def new_password(length: int = 12) -> str:
    """A random initial password with lower case, upper case and digits, no look-alikes."""
    while True:
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _position in range(length))
        if (
            any(ch.islower() for ch in password)
            and any(ch.isupper() for ch in password)
            and any(ch.isdigit() for ch in password)
        ):
            return password


def free_username(person: Person) -> str:
    """`u` + the person's id, which people can read out on the phone; a suffix if taken."""
    username = f"u{person.pk}"
    while User.objects.filter(username=username).exists():
        username = f"u{person.pk}-{secrets.randbelow(1000):03d}"
    return username
