"""Admin of accounts, role assignments and API tokens."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from frontline.core import services
from frontline.core.admin.base import (
    ScopedAdmin,
    users_in_scope,
)
from frontline.core.errors import DomainError
from frontline.core.models import (
    ApiToken,
    Region,
    RoleAssignment,
)
from frontline.core.roles import Capability, can

User = get_user_model()


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

    # -- writes go through the services (events, permission on every region of the account)

    def save_model(self, request, obj, form, change):
        if request.user.is_superuser and not change:
            return super().save_model(request, obj, form, change)
        if "is_active" in form.changed_data:
            services.set_account_active(
                actor=request.user, user=obj, active=form.cleaned_data["is_active"]
            )
        if request.user.is_superuser:
            # Flags, groups and permissions are for superusers only, edited as Django does.
            extra = set(form.changed_data) - {"is_active"}
            if extra:
                super().save_model(request, obj, form, change)

    def get_change_password_form(self):
        actor_holder = self

        class ServicePasswordForm(AdminPasswordChangeForm):
            def save(self, commit=True):
                return services.set_account_password(
                    actor=actor_holder._request.user,
                    user=self.user,
                    password=self.cleaned_data["password1"],
                )

        return ServicePasswordForm

    def user_change_password(self, request, id, form_url=""):
        self._request = request
        self.change_password_form = self.get_change_password_form()
        return super().user_change_password(request, id, form_url)

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
            services.unlock_account(actor=request.user, user=account)
            done += 1
        self.message_user(
            request,
            ngettext("已解除 %(n)d 个账号的登录锁定", "已解除 %(n)d 个账号的登录锁定", done)
            % {"n": done},
        )
