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
from axes.utils import reset as axes_reset
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.db.models import Prefetch, Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from frontline.core import services
from frontline.core.errors import DomainError
from frontline.core.forms import regions_with
from frontline.core.models import (
    AccountEvent,
    ApiToken,
    DemoDataset,
    Organization,
    Person,
    Region,
    RoleAssignment,
    SensitiveAccess,
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


# --- master data ---------------------------------------------------------------------------


@admin.register(Region)
class RegionAdmin(ScopedAdmin):
    capability = Capability.MANAGE_REGIONS
    list_display = ("code", "name", "level", "parent", "is_virtual", "population")
    list_filter = ("level", "is_virtual")
    search_fields = ("code", "name")
    list_select_related = ("parent",)
    ordering = ("path",)
    add_fields = ("code", "name", "level", "parent", "is_virtual", "population", "boundary")
    change_fields = ("code", "level", "parent", "is_virtual", "population", "name", "boundary")
    fixed_on_change = ("code", "level", "parent", "is_virtual", "population")

    def get_fields(self, request, obj=None):
        return self.change_fields if obj is not None else self.add_fields

    def get_readonly_fields(self, request, obj=None):
        return self.fixed_on_change if obj is not None else ()

    def call_service(self, actor, data, instance):
        if instance is None:
            return services.create_region(
                actor=actor,
                code=data["code"],
                name=data["name"],
                level=data["level"],
                parent=data.get("parent"),
                boundary=data.get("boundary"),
                is_virtual=data.get("is_virtual", False),
                population=data.get("population"),
            )
        return services.update_region(
            actor=actor, region=instance, name=data["name"], boundary=data.get("boundary")
        )


@admin.register(Organization)
class OrganizationAdmin(ScopedAdmin):
    list_display = ("name", "kind", "region", "parent", "duty_phone")
    list_filter = ("kind",)
    search_fields = ("name",)
    list_select_related = ("region", "parent")
    fields = ("name", "kind", "region", "parent", "duty_phone", "address", "lon", "lat")
    editable = ("name", "kind", "parent", "duty_phone", "address", "lon", "lat")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        # Moving a unit to another region is not a change the service offers; a parent
        # outside the scope is shown but kept (the select could not offer it).
        fixed = ("region",)
        if out_of_scope(request.user, obj.parent_id):
            fixed += ("parent",)
        return fixed

    def call_service(self, actor, data, instance):
        # Read-only fields are not in the form, so they are not passed and stay as they are.
        changes = {name: data.get(name) for name in self.editable if name in data}
        for name in ("duty_phone", "address"):
            if name in changes:
                changes[name] = changes[name] or ""
        if instance is None:
            return services.create_organization(actor=actor, region=data["region"], **changes)
        return services.update_organization(actor=actor, organization=instance, **changes)


class PersonAdminForm(ServiceAdminForm):
    # Write-only: the admin never shows personal data in clear (that needs a logged reveal).
    new_mobile = forms.CharField(label=_("手机号"), max_length=20, required=False)
    new_id_number = forms.CharField(label=_("身份证号"), max_length=18, required=False)
    field_aliases = {"mobile": "new_mobile", "id_number": "new_id_number"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            for name, masked in (
                ("new_mobile", self.instance.mobile_masked),
                ("new_id_number", self.instance.id_number_masked),
            ):
                self.fields[name].help_text = _("留空表示不修改。当前：%(value)s") % {
                    "value": masked or "—"
                }


@admin.register(Person)
class PersonAdmin(ScopedAdmin):
    form = PersonAdminForm
    list_display = ("name", "region", "organization", "position", "mobile_display", "office_phone")
    search_fields = ("name", "mobile_tail")
    list_select_related = ("region", "organization")
    fields = (
        "name",
        "region",
        "organization",
        "position",
        "new_mobile",
        "office_phone",
        "new_id_number",
    )
    editable = ("name", "region", "organization", "position", "office_phone")
    actions = ("create_accounts",)

    @admin.display(description=_("手机号"))
    def mobile_display(self, obj):
        return obj.mobile_masked

    def get_readonly_fields(self, request, obj=None):
        # A unit outside the scope is shown but kept (the select could not offer it).
        if obj is not None and out_of_scope(request.user, obj.organization_id):
            return ("organization",)
        return ()

    def call_service(self, actor, data, instance):
        changes = {name: data.get(name) for name in self.editable if name in data}
        for name in ("position", "office_phone"):
            if name in changes:
                changes[name] = changes[name] or ""
        secrets = {"mobile": data.get("new_mobile"), "id_number": data.get("new_id_number")}
        if instance is None:
            secrets = {name: value or "" for name, value in secrets.items()}
            return services.create_person(actor=actor, **changes, **secrets)
        changes.update({name: value for name, value in secrets.items() if value})
        return services.update_person(actor=actor, person=instance, **changes)

    def has_manage_accounts_permission(self, request):
        return can(request.user, Capability.MANAGE_ACCOUNTS)

    @admin.action(description=_("为所选人员创建登录账号"), permissions=["manage_accounts"])
    def create_accounts(self, request, queryset):
        """Creates the accounts through the service and shows each initial password once.

        The answer is rendered, not redirected: the passwords are shown in this response and
        never stored in a session or a message cookie.
        """
        created = 0
        for person in queryset.select_related("region", "user").order_by("pk"):
            if person.user_id is not None:
                self.message_user(
                    request,
                    gettext("“%(name)s”已有登录账号 %(username)s，已跳过")
                    % {"name": person.name, "username": person.user.get_username()},
                    messages.WARNING,
                )
                continue
            username, password = free_username(person), new_password()
            try:
                services.create_account(
                    actor=request.user, person=person, username=username, password=password
                )
            except DomainError as exc:
                self.message_user(request, f"{person.name}: {exc.message}", messages.WARNING)
                continue
            created += 1
            self.message_user(
                request,
                gettext("已为“%(name)s”创建登录账号：用户名 %(username)s，初始密码 %(password)s")
                % {"name": person.name, "username": username, "password": password},
                messages.SUCCESS,
            )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("新建的登录账号"),
            "opts": self.model._meta,
            "created": created,
            "accounts_url": reverse("admin:auth_user_changelist"),
            "back_url": reverse("admin:core_person_changelist"),
        }
        response = TemplateResponse(request, "admin/core/person/accounts_created.html", context)
        response["Cache-Control"] = "no-store"
        return response


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


# --- accounts ------------------------------------------------------------------------------


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ScopedAdmin):
    capability = Capability.MANAGE_ACCOUNTS
    list_display = ("user", "role", "region", "granted_by", "granted_at", "revoked_at")
    list_filter = ("role",)
    search_fields = ("user__username", "region__name", "region__code")
    list_select_related = ("user", "region", "granted_by")
    fields = ("user", "role", "region")
    actions = ("revoke_assignments",)

    def has_change_permission(self, request, obj=None):
        # An assignment is granted or revoked, never edited.
        return False

    def call_service(self, actor, data, instance):
        return services.grant_role(
            actor=actor, user=data["user"], role=data["role"], region=data["region"]
        )

    @admin.action(description=_("撤销所选角色授权"))
    def revoke_assignments(self, request, queryset):
        done = 0
        for assignment in queryset.filter(revoked_at__isnull=True).select_related("user"):
            try:
                services.revoke_role(actor=request.user, assignment=assignment)
            except DomainError as exc:
                self.message_user(request, f"{assignment}: {exc.message}", messages.WARNING)
            else:
                done += 1
        self.message_user(
            request, ngettext("已撤销 %(n)d 项授权", "已撤销 %(n)d 项授权", done) % {"n": done}
        )


@admin.register(ApiToken)
class ApiTokenAdmin(ScopedAdmin):
    capability = Capability.MANAGE_ACCOUNTS
    read_only = True
    list_display = (
        "name",
        "key_prefix",
        "assignment",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    search_fields = ("name", "key_prefix", "assignment__user__username")
    list_select_related = ("assignment__region", "assignment__user")
    fields = (*list_display, "issued_by")
    readonly_fields = ("issued_by",)
    actions = ("revoke_tokens",)

    def region_of(self, obj):
        return obj.assignment.region

    @admin.display(description=_("签发人"))
    def issued_by(self, obj):
        return obj.created_by

    @admin.action(description=_("撤销所选令牌"))
    def revoke_tokens(self, request, queryset):
        done = 0
        for token in queryset.filter(revoked_at__isnull=True).select_related("assignment__user"):
            try:
                services.revoke_token(actor=request.user, token=token)
            except DomainError as exc:
                self.message_user(request, f"{token}: {exc.message}", messages.WARNING)
            else:
                done += 1
        self.message_user(
            request, ngettext("已撤销 %(n)d 个令牌", "已撤销 %(n)d 个令牌", done) % {"n": done}
        )


@admin.register(SensitiveAccess)
class SensitiveAccessAdmin(ReadOnlyAdmin):
    list_display = (
        "at",
        "viewer",
        "object_type",
        "object_ref",
        "field_label",
        "reason",
        "remote_addr",
    )
    list_filter = (code_filter("field", _("字段"), SENSITIVE_FIELD_LABELS),)
    list_select_related = ("user", "content_type")
    search_fields = ("user__username", "object_id")
    fields = (*list_display, "request_id")
    readonly_fields = ("viewer", "object_type", "object_ref", "field_label")
    date_hierarchy = "at"

    @admin.display(description=_("查看人"), ordering="user__username")
    def viewer(self, obj):
        return obj.user

    @admin.display(description=_("对象类型"))
    def object_type(self, obj):
        model = obj.content_type.model_class()
        return model._meta.verbose_name if model is not None else obj.content_type.model

    @admin.display(description=_("对象编号"))
    def object_ref(self, obj):
        return obj.object_id

    @admin.display(description=_("字段"), ordering="field")
    def field_label(self, obj):
        return label_of(SENSITIVE_FIELD_LABELS, obj.field)


@admin.register(AccountEvent)
class AccountEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "account", "kind_label", "actor", "note")
    list_filter = (code_filter("kind", _("事件"), ACCOUNT_EVENT_LABELS),)
    list_select_related = ("user", "actor")
    search_fields = ("user__username", "kind")
    fields = (
        "at",
        "account",
        "kind_label",
        "actor",
        "from_state",
        "to_state",
        "note",
        "data",
        "request_id",
    )
    readonly_fields = ("account", "kind_label")
    date_hierarchy = "at"

    @admin.display(description=_("账号"), ordering="user__username")
    def account(self, obj):
        return obj.user

    @admin.display(description=_("事件"), ordering="kind")
    def kind_label(self, obj):
        return label_of(ACCOUNT_EVENT_LABELS, obj.kind)


@admin.register(DemoDataset)
class DemoDatasetAdmin(ScopedAdmin):
    capability = Capability.MANAGE_REGIONS
    read_only = True
    list_display = ("scale", "seed", "created_at")
    fields = ("scale", "seed", "created_at", "summary")

    def scope(self, request, queryset):
        # A global marker that the data are generated: no region, nothing personal.
        return queryset

    def region_of(self, obj):
        return None


# --- accounts (Django's users) and the change log ------------------------------------------


def account_regions(account) -> list[Region]:
    """Where an account belongs: its person's region and the regions of its active roles."""
    person = getattr(account, "person", None)
    regions = [person.region] if person is not None else []
    active = getattr(account, "active_roles", None)
    if active is None:
        active = account.role_assignments.filter(revoked_at__isnull=True).select_related("region")
    return regions + [assignment.region for assignment in active]


if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class AccountAdmin(DjangoUserAdmin):
    """Accounts attached to the scope, for holders of 管理账号和角色.

    A non-superuser may (de)activate an account, set its password through Django's password
    form (it looks the account up in this scoped queryset) and clear a login lockout; flags,
    groups and permissions stay with superusers. An account is managed only by someone who
    holds the capability over its person's region and every region of its roles, so a station
    chief cannot take over the county administrator whose person sits in their township.
    Accounts are created on 人员 (action 为所选人员创建登录账号) through the service.
    """

    list_display = (
        "username",
        "display_name",
        "person_link",
        "role_list",
        "is_active",
        "last_login",
    )
    list_filter = ("is_active",)
    search_fields = ("username", "first_name", "person__name")
    ordering = ("username",)
    list_per_page = 50
    actions = ("unlock_accounts",)
    scoped_readonly = (
        "username",
        "display_name",
        "person_link",
        "role_list",
        "last_login",
        "date_joined",
    )
    scoped_fieldsets = (
        (None, {"fields": ("username", "display_name", "person_link", "role_list")}),
        (_("登录"), {"fields": ("password", "is_active", "last_login", "date_joined")}),
    )

    def get_queryset(self, request):
        active_roles = RoleAssignment.objects.filter(revoked_at__isnull=True).select_related(
            "region"
        )
        queryset = (
            super()
            .get_queryset(request)
            .select_related("person__region")
            .prefetch_related(
                Prefetch("role_assignments", queryset=active_roles, to_attr="active_roles")
            )
        )
        return queryset.filter(pk__in=users_in_scope(request.user).values("pk"))

    # -- permissions: roles, not Django model permissions

    def _manages(self, request, account=None) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        if user.is_superuser:
            return True
        if account is None:
            return can(user, Capability.MANAGE_ACCOUNTS)
        if account.is_superuser:
            return False
        regions = account_regions(account)
        return bool(regions) and all(
            can(user, Capability.MANAGE_ACCOUNTS, region) for region in regions
        )

    def has_module_permission(self, request):
        return self._manages(request)

    def has_view_permission(self, request, obj=None):
        return self._manages(request)

    def has_change_permission(self, request, obj=None):
        return self._manages(request, obj)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fieldsets(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        return self.scoped_fieldsets

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return ("display_name", "person_link", "role_list")
        return self.scoped_readonly

    # -- columns

    @admin.display(description=_("姓名"), ordering="first_name")
    def display_name(self, obj):
        person = getattr(obj, "person", None)
        return person.name if person is not None else obj.get_full_name()

    @admin.display(description=_("关联人员"))
    def person_link(self, obj):
        person = getattr(obj, "person", None)
        if person is None:
            return None
        url = reverse("admin:core_person_change", args=[person.pk])
        return format_html('<a href="{}">{}（{}）</a>', url, person.name, person.region.name)

    @admin.display(description=_("角色"))
    def role_list(self, obj):
        active = getattr(obj, "active_roles", None)
        if active is None:
            active = obj.role_assignments.filter(revoked_at__isnull=True).select_related("region")
        if not active:
            return None
        return format_html_join(
            "、", "{}@{}", ((a.get_role_display(), a.region.name) for a in active)
        )

    # -- actions

    @admin.action(description=_("解除登录锁定"))
    def unlock_accounts(self, request, queryset):
        done = 0
        for account in queryset:
            if not self._manages(request, account):
                self.message_user(
                    request,
                    gettext("无权管理账号 %(username)s") % {"username": account.get_username()},
                    messages.WARNING,
                )
                continue
            # django-axes keeps the failed-login counters in its own tables; deleting them
            # ends the lockout and changes nothing else: no account, role or person is written.
            axes_reset(username=account.get_username())
            done += 1
        self.message_user(
            request,
            ngettext("已解除 %(n)d 个账号的登录锁定", "已解除 %(n)d 个账号的登录锁定", done)
            % {"n": done},
        )


if admin.site.is_registered(LogEntry):
    admin.site.unregister(LogEntry)


@admin.register(LogEntry)
class ChangeLogAdmin(admin.ModelAdmin):
    """django-auditlog's before/after log, read-only, for holders of 管理账号和角色: entries
    written by accounts attached to the scope."""

    list_display = (
        "time",
        "actor_name",
        "action_label",
        "object_label",
        "change_list",
        "request_ref",
    )
    list_select_related = ("actor", "content_type")
    list_filter = (code_filter("action", _("操作"), CHANGE_ACTION_LABELS),)
    search_fields = ("object_repr", "actor__username", "cid")
    date_hierarchy = "timestamp"
    list_per_page = 50
    fields = (
        "time",
        "actor_name",
        "action_label",
        "object_label",
        "change_list",
        "request_ref",
        "source_addr",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if scope_paths(request.user) is None:
            return queryset
        return queryset.filter(actor__in=users_in_scope(request.user))

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_view_permission(self, request, obj=None):
        user = request.user
        return user.is_active and user.is_staff and can(user, Capability.MANAGE_ACCOUNTS)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("时间"), ordering="timestamp")
    def time(self, obj):
        return timezone.localtime(obj.timestamp).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description=_("操作人"), ordering="actor__username")
    def actor_name(self, obj):
        return obj.actor

    @admin.display(description=_("来源地址"))
    def source_addr(self, obj):
        return obj.remote_addr

    @admin.display(description=_("操作"), ordering="action")
    def action_label(self, obj):
        return label_of(CHANGE_ACTION_LABELS, obj.action)

    @admin.display(description=_("对象"))
    def object_label(self, obj):
        model = obj.content_type.model_class()
        kind = model._meta.verbose_name if model is not None else obj.content_type.model
        return f"{kind} · {obj.object_repr}"

    @admin.display(description=_("变更内容"))
    def change_list(self, obj):
        changes = obj.changes_display_dict
        if not changes:
            return None
        return format_html_join(
            mark_safe("<br>"),
            "{}：{} → {}",
            ((field, values[0], values[1]) for field, values in changes.items()),
        )

    @admin.display(description=_("请求编号"), ordering="cid")
    def request_ref(self, obj):
        return obj.cid
