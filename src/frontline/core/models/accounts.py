"""Role assignments (role + region scope) and API tokens bound to one assignment."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.models.audit import EventBase
from frontline.core.roles import Role
from frontline.core.scoping import ScopedQuerySet


class RoleAssignment(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登录账号"),
        on_delete=models.CASCADE,
        related_name="role_assignments",
    )
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    region = models.ForeignKey(
        "core.Region", verbose_name=_("管辖范围"), on_delete=models.PROTECT, related_name="+"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("授权人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    granted_at = models.DateTimeField(_("授权时间"), default=timezone.now)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "角色授权")
        verbose_name_plural = pgettext_lazy("plural", "角色授权")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "region"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_active_assignment_per_role_region",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} @ {self.region.name}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ApiTokenQuerySet(ScopedQuerySet):
    scope_path_field = "assignment__region__path"


class ApiToken(models.Model):
    """A bearer token for an integration. Only a SHA-256 of the secret is stored."""

    name = models.CharField(_("名称"), max_length=100)
    assignment = models.ForeignKey(
        RoleAssignment,
        verbose_name=_("绑定的角色授权"),
        on_delete=models.CASCADE,
        related_name="tokens",
    )
    key_prefix = models.CharField(_("前缀"), max_length=16, unique=True)
    token_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "接口令牌")
        verbose_name_plural = pgettext_lazy("plural", "接口令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        if self.revoked_at is not None or not self.assignment.is_active:
            return False
        return self.expires_at is None or self.expires_at > now


class AccountEvent(EventBase):
    """Timeline of an account: created, role granted or revoked, token issued or revoked."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_events"
    )

    class Meta(EventBase.Meta):
        verbose_name = pgettext_lazy("singular", "账号事件")
        verbose_name_plural = pgettext_lazy("plural", "账号事件")
