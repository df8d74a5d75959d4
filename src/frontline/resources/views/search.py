"""The resources overview (/resources/): what the scope holds, in counts and charts, and the
nearby search on a map: click a point, choose a capability (or a supply) and a radius, get
the nearest available teams, equipment or depots as a list and as markers.

The search form works without scripts (a GET of this page); with htmx it swaps only the
results (`resource_nearby`), and the map redraws its markers from the JSON in them.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from frontline.core.errors import InvalidInput
from frontline.core.geo import from_wgs84
from frontline.core.maps import map_config, tile_config
from frontline.resources.models import Capability, EquipmentStatus, SupplyItem
from frontline.resources.services import search as services

TEMPLATES = "resources/"
MODES = ("team", "equipment", "supplies")
DEFAULT_RADIUS_KM = 10
RADIUS_CHOICES = (1, 3, 5, 10, 20, 50)
# Colours of the equipment pie, by status (the same as the map's).
STATUS_COLOURS = {
    EquipmentStatus.AVAILABLE: "#15803d",
    EquipmentStatus.IN_USE: "#1f6fd1",
    EquipmentStatus.MAINTENANCE: "#f08c00",
    EquipmentStatus.OUT_OF_ORDER: "#8a94a6",
}
# The ledgers of the resources, by URL name and the path they live at.
LINKS = (
    ("depot_list", "/depots/", gettext_lazy("物资储备库")),
    ("team_list", "/teams/", gettext_lazy("救援队伍")),
    ("equipment_list", "/equipment/", gettext_lazy("装备车辆")),
    ("expert_list", "/experts/", gettext_lazy("应急专家")),
    ("shelter_list", "/shelters/", gettext_lazy("避难场所")),
)


def _links() -> list[dict]:
    links = []
    for name, path, label in LINKS:
        try:
            url = reverse(name)
        except NoReverseMatch:
            url = path
        links.append({"url": url, "label": label})
    return links


@login_required
def resource_home(request):
    user = request.user
    stats = services.overview(user)
    search = _search(request)
    context = {
        "stats": stats,
        "links": _links(),
        "charts": _charts(stats),
        "form": search["form"],
        "search": search,
        "capabilities": Capability.choices,
        "items": list(SupplyItem.objects.filter(is_active=True).values_list("code", "name")),
        "radius_choices": RADIUS_CHOICES,
        "map_setup": {
            **map_config(user),
            "strings": {
                "picked": _("搜索中心"),
                "radius": _("搜索范围"),
                "located": _("我的位置"),
                "no_location": _("无法获取当前位置"),
            },
        },
    }
    return render(request, TEMPLATES + "home.html", context, status=search["status"])


@login_required
def resource_nearby(request):
    """The results alone, for htmx."""
    search = _search(request)
    return render(
        request, TEMPLATES + "search_results.html", {"search": search}, status=search["status"]
    )


def _search(request) -> dict:
    """Run the search the query string asks for (nothing when no point is given)."""
    data = request.GET
    form = {
        "mode": data.get("mode") if data.get("mode") in MODES else "team",
        "capability": data.get("capability", ""),
        "item": data.get("item", ""),
        "min_quantity": data.get("min_quantity", "1"),
        "radius_km": data.get("radius_km", str(DEFAULT_RADIUS_KM)),
        "lon": data.get("lon", ""),
        "lat": data.get("lat", ""),
        "coord_system": data.get("coord_system", "wgs84"),
    }
    search = {"form": form, "asked": False, "errors": {}, "units": [], "depots": [], "status": 200}
    if not form["lon"] and not form["lat"]:
        return search
    search["asked"] = True
    try:
        point = services.clean_point(
            form["lon"], form["lat"], form["radius_km"], form["coord_system"]
        )
        if form["mode"] == "supplies":
            answer = services.nearby_supplies(
                user=request.user,
                point=point,
                item=form["item"],
                min_quantity=services.clean_min_quantity(form["min_quantity"]),
            )
            search["depots"] = answer.results
            search["supply_name"] = answer.name
        else:
            answer = services.nearby_units(
                user=request.user,
                point=point,
                kind=form["mode"],
                capability=services.clean_capability(form["capability"]),
            )
            search["units"] = answer.results
    except InvalidInput as error:
        search["errors"] = error.details
        search["message"] = str(error.message)
        search["status"] = 422
        return search
    # What the map draws: the centre, the radius and the results, in the map's system.
    crs = tile_config()["crs"]
    center = from_wgs84(point.lon, point.lat, crs)
    search["map"] = {
        "center": [round(center[0], 6), round(center[1], 6)],
        "radius_m": point.radius_km * 1000,
        "markers": [_marker(row, crs, form["mode"]) for row in search["units"] or search["depots"]],
    }
    return search


def _marker(row, crs: str, mode: str) -> dict:
    lon, lat = from_wgs84(row.lon, row.lat, crs)
    label = f"{row.name} · {row.distance_km:.1f} km"
    if mode == "supplies":
        label += f" · {row.quantity}"
    return {"at": [round(lon, 6), round(lat, 6)], "label": label, "url": row.url}


def _charts(stats: dict) -> dict:
    """ECharts data: equipment by status (pie), open shelters' occupancy (stacked bars),
    near-expiry lots per depot (bars). A chart with nothing to show is left out."""
    charts: dict = {}
    pie = [row for row in stats["equipment"] if row["count"]]
    if pie:
        charts["equipment"] = {
            "type": "pie",
            "title": _("装备状态"),
            "items": [
                {
                    "name": str(row["label"]),
                    "value": row["count"],
                    "color": STATUS_COLOURS.get(row["status"], "#8a94a6"),
                }
                for row in pie
            ],
        }
    if stats["open_shelters"]:
        rows = stats["open_shelters"]
        charts["shelters"] = {
            "type": "bar",
            "stacked": True,
            "labels": [row["name"] for row in rows],
            "series": [
                {
                    "name": _("已安置"),
                    "values": [row["occupancy"] for row in rows],
                    "color": "#d92d20",
                },
                {
                    "name": _("剩余容量"),
                    "values": [max(0, row["capacity"] - row["occupancy"]) for row in rows],
                    "color": "#9fd3ae",
                },
            ],
        }
    if stats["near_expiry"]:
        rows = stats["near_expiry"]
        charts["expiry"] = {
            "type": "bar",
            "labels": [row["depot__name"] for row in rows],
            "series": [
                {
                    "name": _("临期或过期批次"),
                    "values": [row["n"] for row in rows],
                    "color": "#f08c00",
                }
            ],
        }
    return charts
