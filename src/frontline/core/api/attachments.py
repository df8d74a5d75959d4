"""Attachments: upload (multipart), list by owner, metadata, file and thumbnail, delete.

Files are streamed through these scoped endpoints, never from /media/.
"""

from datetime import datetime

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from frontline.core import services
from frontline.core.errors import InvalidInput
from frontline.core.models import Attachment, AttachmentKind
from frontline.core.pagination import Pages
from frontline.core.schemas import ObjectId
from frontline.core.services.attachments import content_type_of, owner_model
from frontline.core.views.attachments import file_response

router = Router(tags=["attachments"])


class AttachmentOut(Schema):
    id: int
    owner: str = Field(description="所属对象，如 core.person:12")
    owner_type: str = Field(description="所属对象类型，如 core.person")
    owner_id: str
    region_code: str = Field(alias="region.code")
    kind: AttachmentKind
    kind_label: str = Field(alias="get_kind_display")
    original_name: str
    extension: str
    content_type: str
    size: int = Field(description="字节")
    sha256: str
    width: int | None = Field(None, description="图片宽度（按拍摄方向摆正后）")
    height: int | None = None
    taken_at: datetime | None = Field(None, description="拍摄时间（EXIF）")
    lon: float | None = Field(None, description="拍摄经度（EXIF，WGS-84）")
    lat: float | None = Field(None, description="拍摄纬度（EXIF，WGS-84）")
    note: str
    uploaded_by: str | None = None
    uploaded_at: datetime
    file_url: str
    thumbnail_url: str | None = None

    @staticmethod
    def resolve_owner_type(obj) -> str:
        return f"{obj.owner_type.app_label}.{obj.owner_type.model}"

    @staticmethod
    def resolve_owner(obj) -> str:
        return f"{obj.owner_type.app_label}.{obj.owner_type.model}:{obj.owner_id}"

    @staticmethod
    def resolve_content_type(obj) -> str:
        return content_type_of(obj)

    @staticmethod
    def resolve_uploaded_by(obj) -> str | None:
        return obj.uploaded_by.get_username() if obj.uploaded_by else None

    @staticmethod
    def resolve_file_url(obj) -> str:
        return reverse("api:attachment_file_api", kwargs={"attachment_id": obj.pk})

    @staticmethod
    def resolve_thumbnail_url(obj) -> str | None:
        if not obj.thumbnail:
            return None
        return reverse("api:attachment_thumbnail_api", kwargs={"attachment_id": obj.pk})


def _attachments(request, base=None):
    base = Attachment.objects.all() if base is None else base
    return base.visible_to(request.user).select_related("region", "owner_type", "uploaded_by")


def _visible_owner(request, owner_type: str, owner_id: int):
    """The owner through its own scoped manager: 422 for a type that cannot own attachments,
    404 when the object does not exist or lies outside the scope."""
    model = owner_model(owner_type)
    return get_object_or_404(model.objects.visible_to(request.user), pk=owner_id)


def _parse_owner(text: str) -> tuple[str, int]:
    owner_type, _sep, owner_id = text.partition(":")
    if not owner_id.isdigit() or not 1 <= int(owner_id) < 2**63:
        raise InvalidInput(
            _("输入有误，请检查标注的字段"),
            details={"owner": _("格式应为 类型:编号，如 core.person:12")},
        )
    return owner_type, int(owner_id)


@router.post(
    "/attachments",
    response={201: AttachmentOut},
    summary="上传附件（multipart：owner_type、owner_id、file、note）",
)
def upload_attachment(
    request,
    owner_type: Form[str],
    owner_id: Form[ObjectId],
    # Optional here so that a missing file gets the service's Chinese message on "file".
    file: File[UploadedFile | None] = None,
    note: Form[str] = "",
):
    """Images (JPG, PNG, WebP) and documents (PDF, DOCX, XLSX), judged by their content. The
    size limit is `FRONTLINE_UPLOAD_MAX_MB` (20 MB by default)."""
    owner = _visible_owner(request, owner_type, owner_id)
    attachment = services.attach_file(
        actor=request.user, owner=owner, uploaded_file=file, note=note
    )
    return Status(201, _attachments(request).get(pk=attachment.pk))


@router.get("/attachments", response=list[AttachmentOut], summary="附件列表（可按所属对象筛选）")
@paginate(Pages)
def list_attachments(request, owner: str | None = None, kind: AttachmentKind | None = None):
    """`owner=core.person:12` lists the attachments of one object."""
    base = None
    if owner:
        base = services.attachments_of(_visible_owner(request, *_parse_owner(owner)))
    attachments = _attachments(request, base)
    if kind:
        attachments = attachments.filter(kind=kind)
    return attachments.order_by("-uploaded_at", "-id")


@router.get("/attachments/{attachment_id}", response=AttachmentOut, summary="附件信息")
def attachment_detail(request, attachment_id: ObjectId):
    return get_object_or_404(_attachments(request), pk=attachment_id)


@router.get(
    "/attachments/{attachment_id}/file",
    summary="下载附件原文件",
    url_name="attachment_file_api",
    response={200: None},
)
def attachment_file(request, attachment_id: ObjectId, download: bool = False):
    """The original, byte for byte (EXIF kept). Images and PDFs are sent inline unless
    `download=true`."""
    attachment = get_object_or_404(_attachments(request), pk=attachment_id)
    return file_response(attachment, download=download)


@router.get(
    "/attachments/{attachment_id}/thumbnail",
    summary="图片缩略图（JPEG，最长边 320 像素）",
    url_name="attachment_thumbnail_api",
    response={200: None},
)
def attachment_thumbnail(request, attachment_id: ObjectId):
    attachment = get_object_or_404(_attachments(request), pk=attachment_id)
    return file_response(attachment, thumbnail=True)


@router.delete("/attachments/{attachment_id}", response={204: None}, summary="删除附件")
def delete_attachment(request, attachment_id: ObjectId):
    attachment = get_object_or_404(_attachments(request), pk=attachment_id)
    services.delete_attachment(actor=request.user, attachment=attachment)
    return Status(204, None)
