"""The notification outbox: every message to a person or a system is a row first.

A change writes its notifications in its own transaction; the worker delivers them after
commit, claims each row with a conditional UPDATE (so several workers never send one twice)
and retries with back-off. Nothing is sent from inside a request.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Channel(models.TextChoices):
    IN_APP = "in_app", _("站内消息")
    WEBHOOK = "webhook", _("Webhook 推送")
    SMS = "sms", _("短信")
    EMAIL = "email", _("电子邮件")


class NotificationStatus(models.TextChoices):
    QUEUED = "queued", _("待发送")
    SENT = "sent", _("已发送")
    DELIVERED = "delivered", _("已送达")
    READ = "read", _("已读")
    FAILED = "failed", _("发送失败")


class WebhookEndpoint(models.Model):
    """A receiving system: the county platform, a chat-bot gateway, a duty-room screen."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    url = models.URLField(_("地址"), max_length=500)
    secret = models.CharField(
        _("签名密钥"), max_length=200, help_text=_("用于 HMAC-SHA256 签名，接收方据此验证来源")
    )
    kinds = models.JSONField(
        _("推送的消息类型"), default=list, blank=True, help_text=_("留空表示全部类型")
    )
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "Webhook 接收方")
        verbose_name_plural = pgettext_lazy("plural", "Webhook 接收方")

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices)
    kind = models.CharField(_("消息类型"), max_length=60, db_index=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接收账号"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    recipient_person = models.ForeignKey(
        "core.Person",
        verbose_name=_("接收人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("Webhook 接收方"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
    )
    # Phone number or e-mail address, copied at queue time so a later edit of the person
    # does not redirect a message already promised.
    address = models.CharField(_("地址"), max_length=254, blank=True)
    subject = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    link = models.CharField(_("链接"), max_length=300, blank=True)
    urgent = models.BooleanField(
        _("紧急"), default=False, help_text=_("紧急消息（如报警）不受免打扰时段限制")
    )
    related_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    related_id = models.CharField(max_length=64, blank=True)
    related = GenericForeignKey("related_type", "related_id")

    status = models.CharField(
        _("状态"),
        max_length=16,
        choices=NotificationStatus.choices,
        default=NotificationStatus.QUEUED,
        db_index=True,
    )
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    last_error = models.TextField(_("最近错误"), blank=True)
    next_attempt_at = models.DateTimeField(_("下次尝试"), default=timezone.now, db_index=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "通知")
        verbose_name_plural = pgettext_lazy("plural", "通知")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["recipient", "channel", "read_at"]),
        ]

    def __str__(self) -> str:
        return f"[{self.get_channel_display()}] {self.subject}"
