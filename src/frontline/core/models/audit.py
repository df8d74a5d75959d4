"""Event timelines and the access log of clear views of personal data.

The generic before/after change log of every model is django-auditlog's LogEntry; domain
timelines (who moved what from which state to which, with a note) subclass `EventBase`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class EventBase(models.Model):
    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(_("事件"), max_length=40)
    from_state = models.CharField(_("原状态"), max_length=32, blank=True)
    to_state = models.CharField(_("新状态"), max_length=32, blank=True)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(_("附加数据"), default=dict, blank=True)
    request_id = models.CharField(_("请求编号"), max_length=64, blank=True)

    class Meta:
        abstract = True
        ordering = ["at", "id"]


class SensitiveAccess(models.Model):
    """One clear view of a protected field (个人信息保护法 Art. 51 logs)."""

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("查看人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    field = models.CharField(_("字段"), max_length=64)
    reason = models.CharField(_("事由"), max_length=200, blank=True)
    request_id = models.CharField(_("请求编号"), max_length=64, blank=True)
    remote_addr = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "敏感信息查看记录")
        verbose_name_plural = pgettext_lazy("plural", "敏感信息查看记录")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.user} {self.field} {self.at:%Y-%m-%d %H:%M}"
