"""The in-app inbox: my notifications, unread count, mark read."""

from datetime import datetime

from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.pagination import paginate

from frontline.core import services
from frontline.core.models import Channel, Notification
from frontline.core.pagination import Pages
from frontline.core.schemas import ObjectId

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    kind: str
    subject: str
    body: str
    link: str
    urgent: bool
    status: str
    created_at: datetime
    read_at: datetime | None


class UnreadOut(Schema):
    unread: int


class MarkedOut(Schema):
    marked: int


def _inbox(request):
    # The inbox is the recipient's own: scope is the recipient, not a region.
    return Notification.objects.filter(recipient=request.user, channel=Channel.IN_APP)


@router.get("/notifications", response=list[NotificationOut], summary="我的站内消息")
@paginate(Pages)
def list_notifications(request, unread: bool = False):
    inbox = _inbox(request)
    if unread:
        inbox = inbox.filter(read_at__isnull=True)
    return inbox.order_by("-created_at", "-id")


@router.get("/notifications/unread-count", response=UnreadOut, summary="未读消息数")
def unread_count(request):
    return {"unread": _inbox(request).filter(read_at__isnull=True).count()}


@router.post("/notifications/read-all", response=MarkedOut, summary="全部标为已读")
def read_all(request):
    return {"marked": services.mark_all_read(actor=request.user)}


@router.post("/notifications/{notification_id}/read", response=NotificationOut, summary="标为已读")
def read_one(request, notification_id: ObjectId):
    notification = get_object_or_404(_inbox(request), pk=notification_id)
    return services.mark_read(actor=request.user, notification=notification)
