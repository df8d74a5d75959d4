"""Admin for master data (zh-hans).

Every queryset is scoped to the user; permissions come from the user's roles, not from Django
model permissions (county administrators are made staff by `services.grant_role`); every save
goes through the services. A form is first checked by running its service inside a savepoint
that is rolled back, so a rule of the field becomes a form error instead of a server error.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

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
        # Moving a unit to another region is not a change the service offers.
        return ("region",) if obj is not None else ()

    def call_service(self, actor, data, instance):
        changes = {name: data.get(name) for name in self.editable}
        for name in ("duty_phone", "address"):
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

    @admin.display(description=_("手机号"))
    def mobile_display(self, obj):
        return obj.mobile_masked

    def call_service(self, actor, data, instance):
        changes = {name: data.get(name) for name in self.editable}
        changes["position"] = changes["position"] or ""
        changes["office_phone"] = changes["office_phone"] or ""
        secrets = {"mobile": data.get("new_mobile"), "id_number": data.get("new_id_number")}
        if instance is None:
            secrets = {name: value or "" for name, value in secrets.items()}
            return services.create_person(actor=actor, **changes, **secrets)
        changes.update({name: value for name, value in secrets.items() if value})
        return services.update_person(actor=actor, person=instance, **changes)


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
    fields = (*list_display, "created_by")
    actions = ("revoke_tokens",)

    def region_of(self, obj):
        return obj.assignment.region

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
    list_display = ("at", "user", "content_type", "object_id", "field", "reason", "remote_addr")
    list_filter = ("field",)
    list_select_related = ("user", "content_type")
    search_fields = ("user__username", "object_id")
    fields = (*list_display, "request_id")
    date_hierarchy = "at"


@admin.register(AccountEvent)
class AccountEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "user", "kind", "actor", "note")
    list_filter = ("kind",)
    list_select_related = ("user", "actor")
    search_fields = ("user__username", "kind")
    fields = ("at", "user", "kind", "actor", "from_state", "to_state", "note", "data", "request_id")
    date_hierarchy = "at"


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
