"""Read-only admin of the logs: clear views of personal data, account events, the change
log, and the demo marker."""

from __future__ import annotations

from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from frontline.core.admin.base import (
    ACCOUNT_EVENT_LABELS,
    CHANGE_ACTION_LABELS,
    SENSITIVE_FIELD_LABELS,
    ReadOnlyAdmin,
    ScopedAdmin,
    code_filter,
    label_of,
    users_in_scope,
)
from frontline.core.models import (
    AccountEvent,
    DemoDataset,
    SensitiveAccess,
)
from frontline.core.roles import Capability, can
from frontline.core.scoping import scope_paths

User = get_user_model()


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
