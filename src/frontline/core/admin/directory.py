"""Admin of the jurisdiction tree, organizations and people."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from frontline.core import services
from frontline.core.admin.base import (
    ScopedAdmin,
    ServiceAdminForm,
    free_username,
    new_password,
    out_of_scope,
)
from frontline.core.errors import DomainError
from frontline.core.models import (
    Organization,
    Person,
    Region,
)
from frontline.core.roles import Capability, can

User = get_user_model()


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
