"""Photos and documents attached to any object, as evidence."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.scoping import ScopedQuerySet


class AttachmentKind(models.TextChoices):
    IMAGE = "image", _("图片")
    PDF = "pdf", _("PDF 文档")
    DOCX = "docx", _("Word 文档")
    XLSX = "xlsx", _("Excel 表格")


def attachment_path(instance, filename: str) -> str:
    # Stored under a content hash, never under the uploader's file name.
    return f"attachments/{instance.uploaded_at:%Y/%m}/{instance.sha256}{instance.extension}"


def thumbnail_path(instance, filename: str) -> str:
    return f"thumbnails/{instance.uploaded_at:%Y/%m}/{instance.sha256}.jpg"


class Attachment(models.Model):
    owner_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    owner_id = models.CharField(max_length=64)
    owner = GenericForeignKey("owner_type", "owner_id")
    # Copied from the owner so scope checks need no generic join.
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("类型"), max_length=8, choices=AttachmentKind.choices)
    file = models.FileField(_("文件"), upload_to=attachment_path, max_length=255)
    thumbnail = models.FileField(_("缩略图"), upload_to=thumbnail_path, max_length=255, blank=True)
    original_name = models.CharField(_("原文件名"), max_length=255)
    extension = models.CharField(max_length=8)
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField(max_length=64, db_index=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    taken_at = models.DateTimeField(_("拍摄时间"), null=True, blank=True)
    lon = models.FloatField(_("拍摄经度"), null=True, blank=True)
    lat = models.FloatField(_("拍摄纬度"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "附件")
        verbose_name_plural = pgettext_lazy("plural", "附件")
        ordering = ["-uploaded_at", "-id"]
        indexes = [models.Index(fields=["owner_type", "owner_id"])]

    def __str__(self) -> str:
        return self.original_name
