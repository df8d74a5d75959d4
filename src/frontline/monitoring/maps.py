"""The map layer of monitoring devices: a pin per device coloured by its state: an open
critical alarm red, a fault orange, offline grey, online green."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from frontline.core.maps import Bbox, LayerParams, MapLayer, in_bbox, point_feature, register_layer
from frontline.monitoring.kinds import DeviceKind
from frontline.monitoring.models import Device, DeviceStatus
from frontline.monitoring.queries import with_critical_flag

COLOURS = {
    "alarm": "#d92d20",
    DeviceStatus.FAULT: "#f08c00",
    DeviceStatus.OFFLINE: "#8a94a6",
    DeviceStatus.ONLINE: "#1a7f37",
}
GLYPH = "监"


def colour_key(device) -> str:
    if getattr(device, "has_critical", False):
        return "alarm"
    return device.status if device.status in COLOURS else DeviceStatus.OFFLINE


def device_rows(user, bbox: Bbox | None, params: LayerParams):
    queryset = in_bbox(Device.objects.visible_to(user).filter(is_active=True), bbox)
    kinds = [k for k in params.query.get("kind", "").split(",") if k in DeviceKind.values]
    if kinds:
        queryset = queryset.filter(kind__in=kinds)
    statuses = [s for s in params.query.get("status", "").split(",") if s in DeviceStatus.values]
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    return (
        with_critical_flag(queryset)
        .select_related("region")
        .only("id", "code", "name", "kind", "status", "lon", "lat", "location", "region__name")
        .order_by("id")
    )


def device_feature(device, params: LayerParams) -> dict:
    memo = params.memo
    if "device_url" not in memo:
        memo["device_url"] = reverse("device_detail", args=[0])[:-2]
        memo["device_kinds"] = {k: str(v) for k, v in DeviceKind.choices}
        memo["device_states"] = {
            **{k: str(v) for k, v in DeviceStatus.choices},
            "alarm": str(_("紧急告警")),
        }
    key = colour_key(device)
    url = f"{memo['device_url']}{device.pk}/"
    kind_label = memo["device_kinds"].get(device.kind, device.kind)
    state_label = memo["device_states"].get(key, key)
    return point_feature(
        device.lon,
        device.lat,
        params,
        id=device.pk,
        name=device.name,
        code=device.code,
        kind=device.kind,
        kind_label=kind_label,
        status=device.status,
        state=key,
        glyph=GLYPH,
        color=COLOURS[key],
        url=url,
        popup=params.popup(
            "monitoring/map_popup.html",
            device=device,
            kind_label=kind_label,
            state_label=state_label,
            url=url,
        ),
    )


DEVICES = MapLayer(
    key="monitoring.devices",
    name=_("监测设备（按状态）"),
    kind="points",
    queryset=device_rows,
    feature=device_feature,
    style={"color": COLOURS[DeviceStatus.ONLINE], "glyph": GLYPH, "radius": 10},
    cluster=True,
    default_on=False,
    order=40,
    legend=tuple(
        {"label": label, "color": COLOURS[key], "glyph": GLYPH, "shape": "pin"}
        for key, label in (
            ("alarm", _("有紧急告警")),
            (DeviceStatus.FAULT, _("故障")),
            (DeviceStatus.OFFLINE, _("离线")),
            (DeviceStatus.ONLINE, _("在线")),
        )
    ),
)

register_layer(DEVICES)
