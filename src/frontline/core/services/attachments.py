"""Photos and documents attached to any regional object, kept as evidence.

The type of an upload is read from its content, never from its name or the browser's content
type: images are decoded with Pillow, PDFs checked for their header and trailer, DOCX/XLSX
opened as ZIP packages. A refused upload stores nothing. The original is stored byte for byte
(its EXIF stays: it is the evidence); the thumbnail is a small re-encoded JPEG without EXIF.

Reading goes through `Attachment.objects.visible_to(user)` like every regional object;
`attachments_of(owner)` narrows that to one object.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import struct
import unicodedata
import warnings
import zipfile
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import IO

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone as django_timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from frontline.core.errors import InvalidInput
from frontline.core.models import Attachment, AttachmentKind, Region
from frontline.core.roles import Capability
from frontline.core.services.validation import Cleaner, require

DEFAULT_MAX_MB = 20
THUMBNAIL_SIZE = 320
THUMBNAIL_QUALITY = 82
CHUNK = 64 * 1024
# The members of an Office package that are read, decompressed, at most (zip bombs).
ZIP_MEMBER_LIMIT = 64 * 1024 * 1024
ZIP_CONTENT_TYPES_LIMIT = 1024 * 1024
ZIP_MAX_ENTRIES = 10_000
PDF_WINDOW = 1024
# Phones write EXIF times in local time without a zone; the stations are in China.
EXIF_TIME_ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")

IMAGE_FORMATS = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp"}
# The decoders Pillow may try (a multi-picture JPEG opens through the JPEG one as "MPO").
_DECODERS = ["JPEG", "PNG", "WEBP"]
CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Accepted by the file picker; the server decides from the content anyway.
ACCEPT = ",".join(
    [
        ".jpg",
        ".jpeg",
        ".png",
        ".webp",
        ".pdf",
        ".docx",
        ".xlsx",
        *sorted(set(CONTENT_TYPES.values())),
    ]
)
_OFFICE = {
    # kind: (main part, its content type in [Content_Types].xml, extension)
    AttachmentKind.DOCX: (
        "word/document.xml",
        b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        ".docx",
    ),
    AttachmentKind.XLSX: (
        "xl/workbook.xml",
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        ".xlsx",
    ),
}
# Models that cannot own attachments although they carry a region.
_NOT_OWNERS = {"core.attachment", "core.roleassignment"}


# --- settings ------------------------------------------------------------------------------


def max_upload_mb() -> int:
    return int(getattr(settings, "FRONTLINE_UPLOAD_MAX_MB", DEFAULT_MAX_MB))


def max_upload_bytes() -> int:
    return max_upload_mb() * 1024 * 1024


def max_image_pixels() -> int:
    default = Image.MAX_IMAGE_PIXELS or 89_478_485
    return int(getattr(settings, "FRONTLINE_UPLOAD_MAX_PIXELS", default))


def content_type_of(attachment: Attachment) -> str:
    return CONTENT_TYPES.get(attachment.extension, "application/octet-stream")


# --- owners --------------------------------------------------------------------------------


def owner_label(owner) -> str:
    """ "core.person" for a Person: how the API and the pages name an owner's model."""
    return owner._meta.label_lower


def owner_model(label: str):
    """The model named "app_label.model", if it may own attachments: it carries a region and
    is read through a scoped manager. Anything else is bad input."""
    error = InvalidInput(
        _("不支持的附件所属对象类型"), details={"owner_type": _("不支持的对象类型")}
    )
    label = (label or "").strip().lower()
    if label.count(".") != 1 or label in _NOT_OWNERS:
        raise error
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        raise error from None
    manager = model._default_manager
    has_region = model is Region or any(
        field.name == "region" and field.is_relation and field.related_model is Region
        for field in model._meta.get_fields()
    )
    if not has_region or not hasattr(manager, "visible_to"):
        raise error
    return model


def attachments_of(owner):
    """Every attachment of one object (chain `.visible_to(user)` for a reader)."""
    return Attachment.objects.filter(
        owner_type=ContentType.objects.get_for_model(owner), owner_id=str(owner.pk)
    )


def sync_attachment_region(owner) -> int:
    """Called by services that move an object to another region: its attachments follow, so
    they stay visible to exactly the people who see the object."""
    return attachments_of(owner).exclude(region=owner.region).update(region=owner.region)


# --- content checks ------------------------------------------------------------------------


@dataclass
class Inspected:
    kind: str
    extension: str
    width: int | None = None
    height: int | None = None
    taken_at: datetime | None = None
    lon: float | None = None
    lat: float | None = None
    thumbnail: bytes | None = None


def _refuse(message) -> InvalidInput:
    return InvalidInput(message, details={"file": str(message)})


def _unsupported() -> InvalidInput:
    return _refuse(_("不支持的文件类型：仅限 JPG、PNG、WebP 图片和 PDF、DOCX、XLSX 文档"))


def _measure(uploaded_file: IO[bytes]) -> int:
    """The size of the upload, refused as soon as it passes the limit: Django's uploads
    declare the size they received, so nothing is read for that; a plain file object is
    counted, and the count stops at the limit."""
    limit = max_upload_bytes()
    too_large = _refuse(_("文件过大（最大 %(mb)d MB）") % {"mb": max_upload_mb()})
    size = getattr(uploaded_file, "size", None)
    if size is None:
        uploaded_file.seek(0)
        size = 0
        while size <= limit:
            block = uploaded_file.read(min(CHUNK, limit + 1 - size))
            if not block:
                break
            size += len(block)
    if size > limit:
        raise too_large
    if size == 0:
        raise _refuse(_("文件为空"))
    return size


def _sha256(uploaded_file: IO[bytes]) -> str:
    digest = hashlib.sha256()
    uploaded_file.seek(0)
    for block in iter(lambda: uploaded_file.read(CHUNK), b""):
        digest.update(block)
    return digest.hexdigest()


def inspect_upload(uploaded_file: IO[bytes], size: int) -> Inspected:
    """The kind of the upload, judged from its content; InvalidInput when it is none of the
    accepted kinds or is damaged."""
    uploaded_file.seek(0)
    head = uploaded_file.read(16)
    if head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _inspect_image(uploaded_file)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _inspect_image(uploaded_file)
    if head.startswith(b"%PDF-"):
        return _inspect_pdf(uploaded_file, size)
    if head.startswith(b"PK\x03\x04"):
        return _inspect_office(uploaded_file)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        # OLE compound file: .doc/.xls, or a DOCX/XLSX protected with a password.
        raise _refuse(_("不支持旧版 Office 格式或加密文档：请另存为未加密的 DOCX、XLSX 后上传"))
    raise _unsupported()


def _open_image(uploaded_file: IO[bytes]) -> Image.Image:
    uploaded_file.seek(0)
    image = Image.open(uploaded_file, formats=_DECODERS)
    width, height = image.size
    if width * height > max_image_pixels():
        raise _refuse(
            _("图片像素过多（最多 %(mp)d 百万像素）") % {"mp": max_image_pixels() // 1_000_000}
        )
    return image


def _inspect_image(uploaded_file: IO[bytes]) -> Inspected:
    broken = _refuse(_("图片已损坏，无法读取"))
    with warnings.catch_warnings():
        # Pillow warns before it refuses a decompression bomb: treat the warning as a refusal.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with _open_image(uploaded_file) as image:
                image.verify()
            # verify() leaves the image unusable: reopen it to decode every pixel (a truncated
            # JPEG fails here) and to make the thumbnail.
            with _open_image(uploaded_file) as image:
                image_format = image.format
                width, height = image.size
                exif = _safe_exif(image)
                if image_format in ("JPEG", "MPO"):
                    # Decode at a reduced scale: enough for the thumbnail, far less memory.
                    image.draft("RGB", (THUMBNAIL_SIZE * 2, THUMBNAIL_SIZE * 2))
                image.load()
                thumbnail = _thumbnail(image)
        except InvalidInput:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _refuse(
                _("图片像素过多（最多 %(mp)d 百万像素）") % {"mp": max_image_pixels() // 1_000_000}
            ) from None
        except UnidentifiedImageError:
            raise broken from None
        except (OSError, ValueError, SyntaxError, EOFError, struct.error):
            raise broken from None
    if image_format not in IMAGE_FORMATS:
        raise _unsupported()
    orientation = exif.get(ExifTags.Base.Orientation) if exif is not None else None
    if orientation in (5, 6, 7, 8):  # rotated by a quarter turn: shown the other way round
        width, height = height, width
    taken_at, lon, lat = read_exif(exif)
    return Inspected(
        kind=AttachmentKind.IMAGE,
        extension=IMAGE_FORMATS[image_format],
        width=width,
        height=height,
        taken_at=taken_at,
        lon=lon,
        lat=lat,
        thumbnail=thumbnail,
    )


def _safe_exif(image: Image.Image) -> Image.Exif | None:
    try:
        return image.getexif()
    except Exception:  # damaged EXIF must not refuse a good photo
        return None


def _thumbnail(image: Image.Image) -> bytes:
    """A JPEG at most THUMBNAIL_SIZE px on its longer side, turned upright, without EXIF."""
    image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    with contextlib.suppress(Exception):  # a broken orientation tag leaves it as stored
        image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, "white")
        image.paste(rgba, mask=rgba.getchannel("A"))
    elif image.mode != "RGB":
        image = image.convert("RGB")
    out = io.BytesIO()
    # No exif= and no icc_profile=: nothing of the original's metadata is copied.
    image.save(out, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    return out.getvalue()


def read_exif(exif: Image.Exif | None) -> tuple[datetime | None, float | None, float | None]:
    """(taken_at as aware UTC, lon, lat) from a photo's EXIF; None for whatever is missing or
    malformed. Coordinates are kept as the phone wrote them (WGS-84)."""
    if exif is None:
        return None, None, None
    taken_at = lon = lat = None
    with contextlib.suppress(Exception):
        details = exif.get_ifd(ExifTags.IFD.Exif)
        taken_at = _exif_time(
            details.get(ExifTags.Base.DateTimeOriginal),
            details.get(ExifTags.Base.OffsetTimeOriginal),
        )
    with contextlib.suppress(Exception):
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        lat = _exif_degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef))
        lon = _exif_degrees(
            gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef)
        )
        # Cameras without a fix write zeros.
        usable = lat is not None and lon is not None and (lat, lon) != (0, 0)
        if not usable or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            lat = lon = None
    return taken_at, lon, lat


def _text(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "ignore")
    return str(value or "").strip("\x00 ").strip()


def _exif_time(value, offset) -> datetime | None:
    text = _text(value)
    if not text:
        return None
    try:
        moment = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone = EXIF_TIME_ZONE
    offset_text = _text(offset)
    if len(offset_text) == 6 and offset_text[0] in "+-" and offset_text[3] == ":":
        with contextlib.suppress(ValueError):
            sign = -1 if offset_text[0] == "-" else 1
            delta = timedelta(hours=int(offset_text[1:3]), minutes=int(offset_text[4:6]))
            zone = timezone(sign * delta)
    return moment.replace(tzinfo=zone).astimezone(UTC)


def _exif_degrees(value, ref) -> float | None:
    if value is None:
        return None
    parts = [float(part) for part in value] if isinstance(value, tuple | list) else [float(value)]
    if not parts or len(parts) > 3 or not all(math.isfinite(part) for part in parts):
        return None
    degrees = sum(part / 60**index for index, part in enumerate(parts))
    if _text(ref).upper() in ("S", "W"):
        degrees = -degrees
    return round(degrees, 7)


def _inspect_pdf(uploaded_file: IO[bytes], size: int) -> Inspected:
    uploaded_file.seek(max(0, size - PDF_WINDOW))
    tail = uploaded_file.read(PDF_WINDOW)
    if b"%%EOF" not in tail:
        raise _refuse(_("PDF 文件不完整或已损坏"))
    return Inspected(kind=AttachmentKind.PDF, extension=".pdf")


def _inspect_office(uploaded_file: IO[bytes]) -> Inspected:
    broken = _refuse(_("文档已损坏，无法读取"))
    uploaded_file.seek(0)
    try:
        with zipfile.ZipFile(uploaded_file) as package:
            members = package.infolist()
            if len(members) > ZIP_MAX_ENTRIES:
                raise broken
            if any(member.flag_bits & 0x1 for member in members):
                raise _refuse(_("文档已加密，请去除密码后再上传"))
            names = {member.filename for member in members}
            kind = next(
                (kind for kind, (main, _type, _ext) in _OFFICE.items() if main in names), None
            )
            if "[Content_Types].xml" not in names or kind is None:
                raise _unsupported()
            main, main_type, extension = _OFFICE[kind]
            content_types = _read_member(package, "[Content_Types].xml", ZIP_CONTENT_TYPES_LIMIT)
            if main_type not in content_types:
                # A macro-enabled workbook or a template renamed to .docx/.xlsx.
                raise _unsupported()
            _read_member(package, main, ZIP_MEMBER_LIMIT, keep=False)
    except InvalidInput:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        raise broken from None
    except NotImplementedError:  # a compression method zipfile does not know
        raise broken from None
    return Inspected(kind=kind, extension=extension)


def _read_member(package: zipfile.ZipFile, name: str, limit: int, *, keep: bool = True) -> bytes:
    """Decompress one member, at most `limit` bytes whatever its header claims; reading it to
    the end checks its CRC."""
    info = package.getinfo(name)
    if info.file_size > limit:
        raise _refuse(_("文档内容过大，无法检查"))
    kept = bytearray()
    total = 0
    with package.open(info) as member:
        while block := member.read(CHUNK):
            total += len(block)
            if total > limit:
                raise _refuse(_("文档内容过大，无法检查"))
            if keep:
                kept += block
    return bytes(kept)


def clean_original_name(name: str | None, extension: str) -> str:
    """The name the user knows the file by, without a client's folder, control characters or
    excess length; a file with no usable name is called after its type."""
    text = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()
    if not text or text in (".", ".."):
        text = pgettext("file name", "附件") + extension
    if len(text) > 255:
        stem, ext = os.path.splitext(text)
        text = stem[: 255 - len(ext[:16])] + ext[:16]
    return text


# --- writes --------------------------------------------------------------------------------


def attach_file(*, actor, owner, uploaded_file, note: str = "") -> Attachment:
    """Store an upload as an attachment of `owner` (any object with a region, or a region).

    Refused (InvalidInput, nothing stored) when the file is too large, empty, of a kind not
    accepted, or damaged. Needs the edit capability for the owner's region.
    """
    region = getattr(owner, "region", None)
    if owner is None or getattr(owner, "pk", None) is None or region is None:
        raise InvalidInput(_("附件所属对象不存在"), details={"owner": _("对象不存在")})
    require(actor, Capability.EDIT, region)
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=False, max_length=200)
    cleaner.done()
    if uploaded_file is None:
        raise _refuse(_("请选择要上传的文件"))

    size = _measure(uploaded_file)
    found = inspect_upload(uploaded_file, size)
    attachment = Attachment(
        owner_type=ContentType.objects.get_for_model(owner),
        owner_id=str(owner.pk),
        region=region,
        kind=found.kind,
        original_name=clean_original_name(getattr(uploaded_file, "name", ""), found.extension),
        extension=found.extension,
        size=size,
        sha256=_sha256(uploaded_file),
        width=found.width,
        height=found.height,
        taken_at=found.taken_at,
        lon=found.lon,
        lat=found.lat,
        note=note,
        uploaded_by=actor if getattr(actor, "pk", None) else None,
        uploaded_at=django_timezone.now(),
    )
    stored: list[tuple[object, str]] = []
    try:
        with transaction.atomic():
            uploaded_file.seek(0)
            attachment.file.save(attachment.sha256 + found.extension, uploaded_file, save=False)
            stored.append((attachment.file.storage, attachment.file.name))
            if found.thumbnail is not None:
                attachment.thumbnail.save(
                    attachment.sha256 + ".jpg", ContentFile(found.thumbnail), save=False
                )
                stored.append((attachment.thumbnail.storage, attachment.thumbnail.name))
            attachment.save()
    except BaseException:
        # The row was not written: take the files away again so nothing is half-stored.
        for storage, name in stored:
            with contextlib.suppress(Exception):
                storage.delete(name)
        raise
    return attachment


def delete_attachment(*, actor, attachment: Attachment) -> None:
    """Remove an attachment; its files go once the deletion is committed."""
    require(actor, Capability.EDIT, attachment.region)
    files = [
        (field.storage, field.name) for field in (attachment.file, attachment.thumbnail) if field
    ]
    with transaction.atomic():
        attachment.delete()

        def remove_files() -> None:
            for storage, name in files:
                with contextlib.suppress(Exception):
                    storage.delete(name)

        transaction.on_commit(remove_files)
