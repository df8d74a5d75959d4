"""The map page: a full-height Leaflet map of the user's scope with the registered layers."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _


def map_strings() -> dict[str, str]:
    """Every string the map's script shows, translated here (the script has no gettext)."""
    return {
        "layers": _("图层"),
        "legend": _("图例"),
        "loading": _("正在加载…"),
        "loaded": _("已加载"),
        "features": _("个要素"),
        "truncated": _("要素过多，仅显示前 %(limit)s 个，请放大地图查看全部。"),
        "load_failed": _("图层加载失败，请稍后重试。"),
        "zoom_in_to_see": _("放大到 %(zoom)s 级以上显示"),
        "no_boundary": _("辖区尚未录入边界，无法定位地图。请在“区划”中维护边界。"),
        "no_tiles": _("无底图（内网模式）"),
        "base_map": _("底图："),
        "fullscreen": _("全屏"),
        "exit_fullscreen": _("退出全屏"),
        "fit_scope": _("回到辖区"),
        "close": _("收起"),
        "zoom_in": _("放大"),
        "zoom_out": _("缩小"),
        "scope": _("辖区范围"),
    }


@login_required
def map_page(request):
    context = {
        "map_setup": {
            "strings": map_strings(),
            "layers_url": reverse("api:list_layers"),
            "config_url": reverse("api:get_config"),
            # The layer key is appended by the script.
            "features_url": reverse("api:list_layers") + "/",
        }
    }
    return render(request, "core/map.html", context)
