"""Attachments: types judged by content, limits, EXIF, thumbnails, nothing stored on refusal,
scope on every read, and the htmx panel."""

from __future__ import annotations

import hashlib
import io
import random
import zipfile
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template
from django.test import RequestFactory
from PIL import ExifTags, Image

from frontline.core import services
from frontline.core.errors import InvalidInput, PermissionDenied
from frontline.core.models import Attachment, AttachmentKind
from frontline.core.roles import Role
from frontline.core.testing import (
    assert_api_matrix,
    assert_page_matrix,
    make_person,
    make_user,
)

API = "/api/v1/attachments"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


def stored_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()]


# --- builders ------------------------------------------------------------------------------


def jpeg_with_exif(orientation: int = 6) -> bytes:
    """800×400 as stored, left half red and right half blue; shot at 2026-03-01 14:30:05
    Beijing time at 30°0'30"N 120°27'E."""
    image = Image.new("RGB", (800, 400), "blue")
    image.paste((255, 0, 0), (0, 0, 400, 400))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Phone"
    exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2026:03:01 14:30:05"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (30.0, 0.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (120.0, 27.0, 0.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def noisy_jpeg(size=(600, 400)) -> bytes:
    rng = random.Random(7)
    image = Image.frombytes(
        "RGB", size, bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3))
    )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def png_bytes(size=(200, 100), mode="RGBA") -> bytes:
    image = Image.new(mode, size, (0, 128, 0, 128) if mode == "RGBA" else (0, 128, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def pdf_bytes() -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
EXCEL_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def office_bytes(main: str | None, main_type: str | None) -> bytes:
    overrides = f'<Override PartName="/{main}" ContentType="{main_type}"/>' if main else ""
    content_types = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f"{overrides}</Types>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", content_types)
        package.writestr("_rels/.rels", "<Relationships/>")
        if main:
            package.writestr(main, "<document>现场检查记录</document>")
    return out.getvalue()


def docx_bytes() -> bytes:
    return office_bytes("word/document.xml", WORD_MAIN)


def xlsx_bytes() -> bytes:
    return office_bytes("xl/workbook.xml", EXCEL_MAIN)


def upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture
def person(world):
    return make_person(world.village, name="王建国")


@pytest.fixture
def leader(world):
    return make_user(Role.LEADER, world.township, "leader")


def attach(world, owner, name="现场照片.jpg", data=None, **kw):
    data = jpeg_with_exif() if data is None else data
    return services.attach_file(
        actor=world.same, owner=owner, uploaded_file=upload(name, data), **kw
    )


# --- accepted types ------------------------------------------------------------------------


def test_jpeg_keeps_exif_and_reads_time_and_place(world, person, media_root):
    data = jpeg_with_exif()
    attachment = attach(world, person, note="隐患现场")

    attachment.refresh_from_db()
    assert attachment.kind == AttachmentKind.IMAGE
    assert attachment.extension == ".jpg"
    assert attachment.original_name == "现场照片.jpg"
    assert attachment.region == world.village
    assert attachment.owner == person
    assert attachment.uploaded_by == world.same
    assert attachment.size == len(data)
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert attachment.file.name.endswith(f"{attachment.sha256}.jpg")
    assert attachment.taken_at == datetime(2026, 3, 1, 6, 30, 5, tzinfo=UTC)
    assert attachment.lat == pytest.approx(30 + 30 / 3600)
    assert attachment.lon == pytest.approx(120.45)
    # Orientation 6: stored 800×400, shown 400×800.
    assert (attachment.width, attachment.height) == (400, 800)
    with attachment.file.open("rb") as stored:
        assert stored.read() == data  # the evidence is stored as taken, EXIF and all


def test_thumbnail_is_small_upright_and_without_exif(world, person):
    attachment = attach(world, person)
    with attachment.thumbnail.open("rb") as handle, Image.open(handle) as thumb:
        assert thumb.format == "JPEG"
        assert max(thumb.size) <= 320
        assert thumb.size == (160, 320)  # turned upright
        assert not thumb.getexif()
        assert "exif" not in thumb.info
        # The stored left half (red) is on top once turned 90° clockwise.
        top = thumb.convert("RGB").getpixel((80, 20))
        bottom = thumb.convert("RGB").getpixel((80, 300))
        assert top[0] > 200 and top[2] < 60
        assert bottom[2] > 200 and bottom[0] < 60


def test_png_without_exif(world, person):
    attachment = attach(world, person, name="平面图.PNG", data=png_bytes())
    assert attachment.kind == AttachmentKind.IMAGE
    assert attachment.extension == ".png"
    assert (attachment.width, attachment.height) == (200, 100)
    assert attachment.taken_at is None and attachment.lon is None and attachment.lat is None
    with attachment.thumbnail.open("rb") as handle, Image.open(handle) as thumb:
        assert thumb.mode == "RGB" and thumb.size == (200, 100)


def test_webp_and_exif_offset(world, person):
    image = Image.new("RGB", (400, 300), "green")
    exif = Image.Exif()
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.DateTimeOriginal] = "2026:03:01 14:30:05"
    details[ExifTags.Base.OffsetTimeOriginal] = "+09:00"  # shot abroad: the offset wins
    out = io.BytesIO()
    image.save(out, "WEBP", exif=exif)
    attachment = attach(world, person, name="截图.webp", data=out.getvalue())
    assert attachment.extension == ".webp"
    assert attachment.taken_at == datetime(2026, 3, 1, 5, 30, 5, tzinfo=UTC)


def test_extension_follows_the_content_not_the_name(world, person):
    attachment = attach(world, person, name="photo.png", data=noisy_jpeg())
    assert attachment.extension == ".jpg"
    assert attachment.original_name == "photo.png"


@pytest.mark.parametrize(
    ("name", "builder", "kind", "extension"),
    [
        ("整改通知.pdf", pdf_bytes, AttachmentKind.PDF, ".pdf"),
        ("检查记录.docx", docx_bytes, AttachmentKind.DOCX, ".docx"),
        ("台账.xlsx", xlsx_bytes, AttachmentKind.XLSX, ".xlsx"),
    ],
)
def test_documents(world, person, name, builder, kind, extension):
    attachment = attach(world, person, name=name, data=builder())
    assert (attachment.kind, attachment.extension) == (kind, extension)
    assert not attachment.thumbnail
    assert attachment.width is None


def test_a_region_can_own_attachments(world):
    attachment = attach(world, world.village, name="村界.pdf", data=pdf_bytes())
    assert attachment.region == world.village
    assert list(services.attachments_of(world.village)) == [attachment]


def test_duplicate_content_gets_its_own_file(world, person):
    first = attach(world, person)
    second = attach(world, person)
    assert first.sha256 == second.sha256
    assert first.file.name != second.file.name


# --- refused input: a clear message and nothing stored -------------------------------------


def _zip_without_document() -> bytes:
    return office_bytes(None, None)


def _truncated_jpeg() -> bytes:
    data = noisy_jpeg()
    return data[: len(data) // 2]


def _macro_docx() -> bytes:
    return office_bytes(
        "word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml"
    )


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    return out.getvalue()


def _encrypted_zip() -> bytes:
    data = bytearray(docx_bytes())
    # Set the "encrypted" flag in every local and central header, as a password tool would.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (found := data.find(signature, start)) != -1:
            data[found + offset] |= 0x1
            start = found + 4
    return bytes(data)


UNSUPPORTED = "不支持的文件类型：仅限 JPG、PNG、WebP 图片和 PDF、DOCX、XLSX 文档"


@pytest.mark.parametrize(
    ("name", "builder", "message"),
    [
        ("照片.jpg", lambda: "这其实是一段文字，不是图片".encode() * 10, UNSUPPORTED),
        ("残缺.jpg", _truncated_jpeg, "图片已损坏，无法读取"),
        ("记录.docx", _zip_without_document, UNSUPPORTED),
        ("宏.docx", _macro_docx, UNSUPPORTED),
        ("setup.exe", lambda: b"MZ\x90\x00" + b"\x00" * 400, UNSUPPORTED),
        ("动图.gif", _gif, UNSUPPORTED),
        ("空.pdf", lambda: b"", "文件为空"),
        ("半截.pdf", lambda: pdf_bytes()[:-40] + b"x" * 2000, "PDF 文件不完整或已损坏"),
        ("坏.docx", lambda: docx_bytes()[:200], "文档已损坏，无法读取"),
        ("加密.docx", _encrypted_zip, "文档已加密，请去除密码后再上传"),
        ("旧版.doc", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, None),
    ],
)
def test_refused_uploads_store_nothing(world, person, media_root, name, builder, message):
    with pytest.raises(InvalidInput) as refused:
        attach(world, person, name=name, data=builder())
    assert "file" in refused.value.details
    if message is not None:
        assert str(refused.value.message) == message
        assert refused.value.details["file"] == message
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_oversized_file_is_refused_before_inspection(world, person, settings, media_root):
    settings.FRONTLINE_UPLOAD_MAX_MB = 1
    data = pdf_bytes() + b"%" * (1024 * 1024)
    with pytest.raises(InvalidInput) as refused:
        attach(world, person, name="大文件.pdf", data=data)
    assert refused.value.details == {"file": "文件过大（最大 1 MB）"}
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_size_is_counted_when_the_file_does_not_declare_it(world, person, settings):
    settings.FRONTLINE_UPLOAD_MAX_MB = 1

    class Undeclared(io.BytesIO):
        name = "流.pdf"

    with pytest.raises(InvalidInput, match="文件过大"):
        services.attach_file(
            actor=world.same, owner=person, uploaded_file=Undeclared(b"%PDF-" + b"0" * 2**21)
        )


def test_decompression_bomb_is_refused(world, person, settings, media_root):
    settings.FRONTLINE_UPLOAD_MAX_PIXELS = 10_000
    with pytest.raises(InvalidInput) as refused:
        attach(world, person, name="巨图.png", data=png_bytes((200, 100)))
    assert "像素过多" in refused.value.details["file"]
    assert stored_files(media_root) == []


def test_zip_bomb_member_is_refused(world, person, monkeypatch, media_root):
    from frontline.core.services import attachments as module

    monkeypatch.setattr(module, "ZIP_MEMBER_LIMIT", 1024)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr(
            "[Content_Types].xml", f'<Types><Override ContentType="{WORD_MAIN}"/></Types>'
        )
        package.writestr("word/document.xml", "0" * 100_000)  # compresses to a few hundred bytes
    with pytest.raises(InvalidInput, match="文档内容过大"):
        attach(world, person, name="炸弹.docx", data=out.getvalue())
    assert stored_files(media_root) == []


def test_failed_database_write_removes_the_stored_files(world, person, monkeypatch, media_root):
    def broken_save(self, *args, **kwargs):
        raise RuntimeError("database is down")

    monkeypatch.setattr(Attachment, "save", broken_save)
    with pytest.raises(RuntimeError):
        attach(world, person)
    assert stored_files(media_root) == []


def test_note_is_limited(world, person, media_root):
    with pytest.raises(InvalidInput) as refused:
        attach(world, person, note="长" * 201)
    assert "note" in refused.value.details
    assert stored_files(media_root) == []


def test_read_only_leader_may_not_upload(world, person, leader, media_root):
    with pytest.raises(PermissionDenied):
        services.attach_file(
            actor=leader, owner=person, uploaded_file=upload("a.jpg", jpeg_with_exif())
        )
    assert stored_files(media_root) == []


def test_delete_removes_files_after_commit(
    world, person, media_root, django_capture_on_commit_callbacks
):
    attachment = attach(world, person)
    assert len(stored_files(media_root)) == 2
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_attachment(actor=world.same, attachment=attachment)
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_region_follows_a_moved_owner(world, person):
    attachment = attach(world, person)
    person.region = world.grid
    person.save()
    assert services.sync_attachment_region(person) == 1
    attachment.refresh_from_db()
    assert attachment.region == world.grid


# --- scope ---------------------------------------------------------------------------------


def test_queryset_matrix(world, person):
    from frontline.core.testing import assert_queryset_matrix

    assert_queryset_matrix(Attachment.objects, attach(world, person), world)


def test_api_matrix_on_metadata_file_and_thumbnail(world, person):
    attachment = attach(world, person)
    for suffix in ("", "/file", "/thumbnail"):
        assert_api_matrix(world, f"{API}/{attachment.pk}{suffix}")


def test_page_matrix_on_file_views(world, person):
    attachment = attach(world, person)
    assert_page_matrix(world, f"/attachments/{attachment.pk}/file/")
    assert_page_matrix(world, f"/attachments/{attachment.pk}/thumbnail/")
    assert_page_matrix(world, f"/attachments/core.person/{person.pk}/")


# --- API -----------------------------------------------------------------------------------


def post(client, owner_type, owner_id, name, data, note=""):
    return client.post(
        API,
        {"owner_type": owner_type, "owner_id": owner_id, "note": note, "file": upload(name, data)},
    )


def test_api_upload_list_detail_delete(world, person, media_root):
    client = world.client_for(world.same)
    response = post(client, "core.person", person.pk, "现场照片.jpg", jpeg_with_exif(), "东侧")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["owner"] == f"core.person:{person.pk}"
    assert body["kind"] == "image" and body["content_type"] == "image/jpeg"
    assert body["note"] == "东侧" and body["uploaded_by"] == "same"
    assert body["taken_at"].startswith("2026-03-01T06:30:05")
    assert body["file_url"] == f"{API}/{body['id']}/file"
    assert body["thumbnail_url"] == f"{API}/{body['id']}/thumbnail"

    listed = client.get(API, {"owner": f"core.person:{person.pk}"}).json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == body["id"]
    assert client.get(API, {"owner": f"core.region:{world.village.pk}"}).json()["count"] == 0

    deleted = client.delete(f"{API}/{body['id']}")
    assert deleted.status_code == 204
    assert not Attachment.objects.exists()


def test_api_list_is_scoped(world, person):
    attach(world, person)
    assert world.client_for(world.parent).get(API).json()["count"] == 1
    assert world.client_for(world.sibling).get(API).json()["count"] == 0
    response = world.client_for(world.sibling).get(API, {"owner": f"core.person:{person.pk}"})
    assert response.status_code == 404


def test_api_file_has_type_and_chinese_name(world, person):
    data = jpeg_with_exif()
    attachment = attach(world, person, name="州山村 现场照片.jpg", data=data)
    response = world.client_for(world.same).get(f"{API}/{attachment.pk}/file")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("inline")
    assert f"filename*=utf-8''{quote('州山村 现场照片.jpg')}" in disposition
    assert b"".join(response.streaming_content) == data

    download = world.client_for(world.same).get(f"{API}/{attachment.pk}/file?download=true")
    assert download["Content-Disposition"].startswith("attachment")

    thumb = world.client_for(world.same).get(f"{API}/{attachment.pk}/thumbnail")
    assert thumb["Content-Type"] == "image/jpeg"


def test_api_office_documents_always_download(world, person):
    attachment = attach(world, person, name="台账.xlsx", data=xlsx_bytes())
    response = world.client_for(world.same).get(f"{API}/{attachment.pk}/file")
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"].startswith("attachment")
    assert world.client_for(world.same).get(f"{API}/{attachment.pk}/thumbnail").status_code == 404


def test_api_refusals(world, person, media_root):
    client = world.client_for(world.same)
    wrong = post(client, "core.person", person.pk, "照片.jpg", b"plain text, not a photo")
    assert wrong.status_code == 422
    assert wrong.json()["details"] == {"file": UNSUPPORTED}

    unknown = post(client, "auth.user", 1, "a.pdf", pdf_bytes())
    assert unknown.status_code == 422 and "owner_type" in unknown.json()["details"]
    assert post(client, "core.attachment", 1, "a.pdf", pdf_bytes()).status_code == 422
    assert post(client, "nothing", 1, "a.pdf", pdf_bytes()).status_code == 422

    missing = client.post(API, {"owner_type": "core.person", "owner_id": person.pk})
    assert missing.status_code == 422
    assert missing.json()["details"] == {"file": "请选择要上传的文件"}

    outside = post(world.client_for(world.sibling), "core.person", person.pk, "a.pdf", pdf_bytes())
    assert outside.status_code == 404

    bad_owner = client.get(API, {"owner": "core.person"})
    assert bad_owner.status_code == 422
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_api_read_only_leader_gets_403(world, person, leader, media_root):
    client = world.client_for(leader)
    response = post(client, "core.person", person.pk, "a.jpg", jpeg_with_exif())
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert stored_files(media_root) == []

    attachment = attach(world, person)
    assert client.get(f"{API}/{attachment.pk}/file").status_code == 200  # may read
    assert client.delete(f"{API}/{attachment.pk}").status_code == 403


def test_api_oversized_upload(world, person, settings):
    settings.FRONTLINE_UPLOAD_MAX_MB = 1
    response = post(
        world.client_for(world.same), "core.person", person.pk, "大.pdf", b"%PDF-" + b"0" * 2**21
    )
    assert response.status_code == 422
    assert response.json()["details"] == {"file": "文件过大（最大 1 MB）"}


# --- the panel -----------------------------------------------------------------------------


def render_panel(user, obj) -> str:
    request = RequestFactory().get("/people/1/")
    request.user = user
    template = Template("{% load attachments %}{% attachments_panel obj %}")
    return template.render(Context({"obj": obj, "request": request}))


def test_panel_tag_lists_attachments_with_upload_form(world, person):
    attachment = attach(world, person)
    attach(world, person, name="检查记录.docx", data=docx_bytes())
    html = render_panel(world.same, person)
    assert f"/attachments/{attachment.pk}/thumbnail/" in html
    assert "现场照片.jpg" in html and "DOCX" in html
    assert f"/attachments/core.person/{person.pk}/upload/" in html
    assert 'enctype="multipart/form-data"' in html and 'hx-encoding="multipart/form-data"' in html
    assert "单个文件不超过 20 MB" in html
    assert "拍摄位置" in html


def test_panel_for_a_reader_has_no_upload_or_delete(world, person, leader):
    attach(world, person)
    html = render_panel(leader, person)
    assert "现场照片.jpg" in html
    assert "upload/" not in html and "delete/" not in html


def test_panel_upload_shows_chinese_errors_and_stores_nothing(world, person, media_root):
    client = world.client_for(world.same)
    url = f"/attachments/core.person/{person.pk}/upload/"
    response = client.post(
        url, {"file": upload("照片.jpg", b"not an image"), "note": ""}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422
    assert UNSUPPORTED in response.content.decode()
    assert stored_files(media_root) == []

    response = client.post(
        url, {"file": upload("照片.jpg", jpeg_with_exif()), "note": "东侧"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "已上传“照片.jpg”" in response.content.decode()
    assert Attachment.objects.count() == 1


def test_panel_upload_without_javascript_goes_back(world, person):
    client = world.client_for(world.same)
    response = client.post(
        f"/attachments/core.person/{person.pk}/upload/",
        {"file": upload("a.pdf", pdf_bytes()), "next": f"/people/{person.pk}/"},
    )
    assert response.status_code == 302 and response["Location"] == f"/people/{person.pk}/"
    assert Attachment.objects.count() == 1


def test_panel_delete_and_permissions(world, person, leader, django_capture_on_commit_callbacks):
    attachment = attach(world, person)
    denied = world.client_for(leader).post(
        f"/attachments/{attachment.pk}/delete/", HTTP_HX_REQUEST="true"
    )
    assert denied.status_code == 403
    assert (
        world.client_for(world.sibling).post(f"/attachments/{attachment.pk}/delete/").status_code
        == 404
    )
    upload_denied = world.client_for(leader).post(
        f"/attachments/core.person/{person.pk}/upload/",
        {"file": upload("a.pdf", pdf_bytes())},
        HTTP_HX_REQUEST="true",
    )
    assert upload_denied.status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        deleted = world.client_for(world.same).post(
            f"/attachments/{attachment.pk}/delete/", HTTP_HX_REQUEST="true"
        )
    assert deleted.status_code == 200
    assert "暂无附件" in deleted.content.decode()
    assert not Attachment.objects.exists()


def test_unknown_owner_type_on_pages_is_404(world):
    client = world.client_for(world.same)
    assert client.get("/attachments/auth.user/1/").status_code == 404
