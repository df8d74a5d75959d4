"""The in-app inbox: the user's own notifications, newest first."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from frontline.core import services
from frontline.core.models import Channel, Notification
from frontline.core.views.common import paginate


def own_inbox(user):
    # Notifications belong to their recipient, not to a region: selected by owner.
    return Notification.objects.filter(recipient=user, channel=Channel.IN_APP).order_by(
        "-created_at", "-id"
    )


@login_required
def inbox(request):
    messages = own_inbox(request.user)
    if request.GET.get("unread"):
        messages = messages.filter(read_at__isnull=True)
    return render(
        request,
        "core/inbox.html",
        {"page": paginate(request, messages), "only_unread": bool(request.GET.get("unread"))},
    )


@login_required
@require_POST
def inbox_open(request, pk: int):
    """Mark read and follow the message's link (to the task, alarm, … it is about)."""
    notification = get_object_or_404(own_inbox(request.user), pk=pk)
    services.mark_read(actor=request.user, notification=notification)
    link = notification.link
    if link and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}):
        return redirect(link)
    return redirect("inbox")


@login_required
@require_POST
def inbox_read_all(request):
    services.mark_all_read(actor=request.user)
    return redirect("inbox")
