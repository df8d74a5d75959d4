"""Device pages: the list with latest values and status, the device with a 24-hour chart
per metric, its alarms and rules, registration (the token is shown once) and token
rotation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from frontline.core.errors import DomainError, PermissionDenied
from frontline.core.models import Region
from frontline.core.roles import Capability, can
from frontline.core.views.common import forbidden, paginate, scoped_object_or_404
from frontline.monitoring import queries
from frontline.monitoring.kinds import DeviceKind
from frontline.monitoring.models import Alarm, Device, DeviceStatus
from frontline.monitoring.schemas import latest_values
from frontline.monitoring.services import rule_editing
from frontline.monitoring.services.devices import register_device, rotate_device_token
from frontline.monitoring.views.forms import DeviceForm

CHART_POINTS = 1000  # per metric on the page; the API gives up to 5,000
RECENT_ALARMS = 20


@login_required
def device_list(request):
    user = request.user
    devices = queries.devices_for(user)
    kind = request.GET.get("kind", "")
    if kind in DeviceKind.values:
        devices = devices.filter(kind=kind)
    status = request.GET.get("status", "")
    if status in DeviceStatus.values:
        devices = devices.filter(status=status)
    q = request.GET.get("q", "").strip()[:100]
    if q:
        devices = devices.filter(
            Q(code__icontains=q) | Q(name__icontains=q) | Q(location__icontains=q)
        )
    region_code = request.GET.get("region", "").strip()[:15]
    if region_code:
        region = Region.objects.visible_to(user).filter(code=region_code).first()
        devices = devices.within(region.path) if region else devices.none()
    page = paginate(request, devices.order_by("region__code", "code"))
    for device in page:
        device.values = latest_values(device)
    context = {
        "page": page,
        "kind": kind,
        "status": status,
        "q": q,
        "region_code": region_code,
        "kinds": DeviceKind.choices,
        "statuses": DeviceStatus.choices,
        "can_register": can(user, Capability.EDIT),
    }
    return render(request, "monitoring/device_list.html", context)


def _visible_device(request, pk: int) -> Device:
    return scoped_object_or_404(
        request.user, Device.objects.select_related(*queries.DEVICE_RELATED), pk=pk
    )


def _chart_data(device: Device) -> list[dict]:
    since, until = queries.default_window(None, None)
    series = queries.series_of(device, metric=None, since=since, until=until, limit=CHART_POINTS)
    return [
        {
            "metric": s["metric"],
            "label": s["label"],
            "unit": s["unit"],
            "boolean": s["boolean"],
            "points": [[int(at.timestamp() * 1000), value] for at, value in s["points"]],
        }
        for s in series
        if s["points"]
    ]


@login_required
def device_detail(request, pk: int):
    user = request.user
    device = _visible_device(request, pk)
    device.values = latest_values(device)
    alarms = list(
        Alarm.objects.filter(device=device)
        .select_related("region")
        .order_by("-last_at", "-id")[:RECENT_ALARMS]
    )
    rules = queries.effective_rules(device)
    overridden = {r.alarm_type for r in rules if r.device_id is not None}
    choices = [r for r in rules if r.device_id is None and r.alarm_type not in overridden]
    context = {
        "device": device,
        "open_alarms": [a for a in alarms if a.is_open],
        "recent_alarms": [a for a in alarms if not a.is_open],
        "rules": rules,
        "override_choices": choices,
        "can_edit": can(user, Capability.EDIT, device.region),
        "can_edit_rules": rule_editing.can_edit_device_rules(user, device),
        "chart": _chart_data(device),
        "now": timezone.now(),
    }
    return render(request, "monitoring/device_detail.html", context)


@login_required
def device_register(request):
    user = request.user
    if not can(user, Capability.EDIT):
        return forbidden(request, _("您没有登记设备的权限"))
    form = DeviceForm(request.POST or None, user=user)
    if request.method != "POST":
        return render(request, "monitoring/device_register.html", {"form": form})
    if not form.is_valid():
        return render(request, "monitoring/device_register.html", {"form": form}, status=422)
    data = form.cleaned_data
    try:
        device, token = register_device(actor=user, **data)
    except DomainError as exc:
        if exc.status == 403:
            return forbidden(request, exc.message)
        if exc.status != 422:
            raise
        for name, message in exc.details.items():
            form.add_error(name if name in form.fields else None, str(message))
        if not exc.details:
            form.add_error(None, str(exc.message))
        return render(request, "monitoring/device_register.html", {"form": form}, status=422)
    context = {"device": device, "token": token, "registered": True}
    return render(request, "monitoring/device_token.html", context, status=201)


@login_required
@require_POST
def device_rotate_token(request, pk: int):
    device = _visible_device(request, pk)
    try:
        token = rotate_device_token(actor=request.user, device=device)
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    context = {"device": device, "token": token, "registered": False}
    return render(request, "monitoring/device_token.html", context)


@login_required
@require_POST
def device_override(request, pk: int):
    """为本设备设置专用规则: a copy of the default, then edited on the rule page."""
    device = _visible_device(request, pk)
    try:
        rule = rule_editing.create_override(
            actor=request.user, device=device, alarm_type=request.POST.get("alarm_type", "")
        )
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    except DomainError as exc:
        details = "；".join(str(m) for m in exc.details.values())
        messages.error(request, f"{exc.message}{('：' + details) if details else ''}")
        return redirect("device_detail", pk=device.pk)
    messages.success(request, _("已为本设备设置专用规则，请修改阈值"))
    return redirect(f"{reverse('rule_list')}?device={device.pk}#rule-{rule.pk}")
