"""Attachments on pages: the htmx panel any detail page includes with
`{% load attachments %}{% attachments_panel obj %}`, upload and delete, and the scoped views
that stream the files (uploads are never served from /media/)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from frontline.core import services
from frontline.core.errors import InvalidInput, PermissionDenied
from frontline.core.models import Attachment, AttachmentKind
from frontline.core.roles import Capability, can
from frontline.core.services.attachments import (
    ACCEPT,
    content_type_of,
    max_upload_mb,
    owner_label,
    owner_model,
)
from frontline.core.views.common import scoped_object_or_404

PANEL_TEMPLATE = "core/attachments/_panel.html"
# Thumbnails are shown in a box of this size on the panel.
SHOWN_SIZE = 160


def file_response(attachment: Attachment, *, thumbnail: bool = False, download: bool = False):
    """Stream an attachment (or its thumbnail) from the storage, under its original name.

    Images and PDFs open in the browser unless `download`; Office documents always download.
    Only JPEG, PNG, WebP and PDF are ever shown inline (never SVG or HTML), with nosniff, so a
    crafted file cannot run script in the site's origin.
    """
    field = attachment.thumbnail if thumbnail else attachment.file
    if not field:
        raise Http404
    try:
        handle = field.storage.open(field.name, "rb")
    except FileNotFoundError:
        raise Http404 from None
    if thumbnail:
        content_type = "image/jpeg"
        stem = attachment.original_name.rsplit(".", 1)[0]
        filename = f"{stem}-{_('缩略图')}.jpg"
    else:
        content_type = content_type_of(attachment)
        filename = attachment.original_name
    inline = attachment.kind in (AttachmentKind.IMAGE, AttachmentKind.PDF) and not download
    response = FileResponse(
        handle, content_type=content_type, as_attachment=not inline, filename=filename
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- the panel -----------------------------------------------------------------------------


def _shown_size(attachment: Attachment) -> tuple[int, int]:
    """Width and height of the thumbnail inside the panel's box, so the page does not jump
    while thumbnails load."""
    width, height = attachment.width or SHOWN_SIZE, attachment.height or SHOWN_SIZE
    scale = min(SHOWN_SIZE / width, SHOWN_SIZE / height, 1)
    return max(1, round(width * scale)), max(1, round(height * scale))


def panel_context(user, owner, *, errors=None, message=None, next_url: str = "") -> dict:
    attachments = list(
        services.attachments_of(owner)
        .visible_to(user)
        .select_related("uploaded_by")
        .order_by("-uploaded_at", "-id")
    )
    for attachment in attachments:
        attachment.shown_width, attachment.shown_height = _shown_size(attachment)
        attachment.type_label = attachment.extension.lstrip(".").upper()
    label = owner_label(owner)
    app_label, model_name = label.split(".")
    return {
        "owner": owner,
        "owner_app": app_label,
        "owner_model": model_name,
        "panel_id": f"attachments-{app_label}-{model_name}-{owner.pk}",
        "attachments": attachments,
        "can_edit": can(user, Capability.EDIT, owner.region),
        "max_mb": max_upload_mb(),
        "accept": ACCEPT,
        "errors": errors or [],
        "message": message,
        "next_url": next_url,
    }


def _visible_owner(request, app_label: str, model_name: str, owner_id: int):
    try:
        model = owner_model(f"{app_label}.{model_name}")
    except InvalidInput:
        raise Http404 from None
    return scoped_object_or_404(request.user, model.objects.all(), pk=owner_id)


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _next_url(request) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


def _answer(request, owner, *, errors=None, message=None, status=200):
    """The refreshed panel for htmx; without JavaScript, back to the page with a message."""
    next_url = _next_url(request)
    if not _is_htmx(request):
        for error in errors or []:
            messages.error(request, error)
        if message:
            messages.success(request, message)
        if next_url:
            return redirect(next_url)
        if hasattr(owner, "get_absolute_url"):
            return redirect(owner.get_absolute_url())
    context = panel_context(request.user, owner, errors=errors, message=message, next_url=next_url)
    return render(request, PANEL_TEMPLATE, context, status=status)


@login_required
@require_GET
def attachment_panel(request, app_label: str, model_name: str, owner_id: int):
    owner = _visible_owner(request, app_label, model_name, owner_id)
    context = panel_context(request.user, owner, next_url=_next_url(request))
    return render(request, PANEL_TEMPLATE, context)


@login_required
@require_POST
def attachment_upload(request, app_label: str, model_name: str, owner_id: int):
    owner = _visible_owner(request, app_label, model_name, owner_id)
    try:
        attachment = services.attach_file(
            actor=request.user,
            owner=owner,
            uploaded_file=request.FILES.get("file"),
            note=request.POST.get("note", ""),
        )
    except PermissionDenied as exc:
        return _answer(request, owner, errors=[str(exc.message)], status=403)
    except InvalidInput as exc:
        labels = {"note": _("说明")}
        errors = [
            f"{labels[field]}：{text}" if field in labels else str(text)
            for field, text in exc.details.items()
        ] or [str(exc.message)]
        return _answer(request, owner, errors=errors, status=422)
    message = _("已上传“%(name)s”") % {"name": attachment.original_name}
    return _answer(request, owner, message=message)


@login_required
@require_POST
def attachment_delete(request, pk: int):
    attachment = scoped_object_or_404(request.user, Attachment.objects.all(), pk=pk)
    owner = attachment.owner
    if owner is None:
        raise Http404
    try:
        services.delete_attachment(actor=request.user, attachment=attachment)
    except PermissionDenied as exc:
        return _answer(request, owner, errors=[str(exc.message)], status=403)
    message = _("已删除“%(name)s”") % {"name": attachment.original_name}
    return _answer(request, owner, message=message)


@login_required
@require_GET
def attachment_file(request, pk: int):
    attachment = scoped_object_or_404(request.user, Attachment.objects.all(), pk=pk)
    return file_response(attachment, download=request.GET.get("download") == "1")


@login_required
@require_GET
def attachment_thumbnail(request, pk: int):
    attachment = scoped_object_or_404(request.user, Attachment.objects.all(), pk=pk)
    return file_response(attachment, thumbnail=True)
