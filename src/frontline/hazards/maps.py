"""Map layers of the supervised objects: enterprises and places, pins coloured by risk
colour (red, orange, yellow, blue; grey when not yet assessed)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from frontline.core.maps import Bbox, LayerParams, MapLayer, in_bbox, point_feature, register_layer
from frontline.hazards.models import Enterprise, Industry, Place, PlaceCategory, RiskColour

RISK_COLOURS = {
    RiskColour.RED: "#d92d20",
    RiskColour.ORANGE: "#f08c00",
    RiskColour.YELLOW: "#e3b600",
    RiskColour.BLUE: "#1f6fd1",
    "": "#8a94a6",
}


def _colours(params: LayerParams) -> dict[str, str]:
    labels = params.memo.get("risk_labels")
    if labels is None:
        labels = params.memo["risk_labels"] = {
            **{value: str(label) for value, label in RiskColour.choices},
            "": str(_("未评估")),
        }
    return labels


def _rows(model, user, bbox: Bbox | None, params: LayerParams, kind_field: str, kinds):
    queryset = in_bbox(model.objects.visible_to(user), bbox).select_related("region")
    colours = [c for c in params.query.get("colour", "").split(",") if c in RiskColour.values]
    if colours:
        queryset = queryset.filter(risk_colour__in=colours)
    wanted = [k for k in params.query.get("kind", "").split(",") if k in kinds.values]
    if wanted:
        queryset = queryset.filter(**{f"{kind_field}__in": wanted})
    return queryset.only(
        "id", "name", kind_field, "risk_colour", "lon", "lat", "address", "region__name"
    ).order_by("id")


def _feature(obj, params: LayerParams, *, url_name: str, glyph: str, kind: str, choices):
    memo_key = f"{url_name}_url"
    if memo_key not in params.memo:
        params.memo[memo_key] = reverse(url_name, args=[0])[:-2]
        params.memo[f"{url_name}_kinds"] = {k: str(v) for k, v in choices.choices}
    colour_labels = _colours(params)
    url = f"{params.memo[memo_key]}{obj.pk}/"
    kind_value = getattr(obj, kind)
    kind_label = params.memo[f"{url_name}_kinds"].get(kind_value, kind_value)
    colour_label = colour_labels.get(obj.risk_colour, "")
    return point_feature(
        obj.lon,
        obj.lat,
        params,
        id=obj.pk,
        name=obj.name,
        kind=kind_value,
        kind_label=kind_label,
        risk_colour=obj.risk_colour,
        glyph=glyph,
        color=RISK_COLOURS.get(obj.risk_colour, RISK_COLOURS[""]),
        url=url,
        popup=params.popup(
            "hazards/objects/map_popup.html",
            obj=obj,
            kind_label=kind_label,
            colour_label=colour_label,
            url=url,
        ),
    )


def _legend(glyph: str) -> tuple[dict, ...]:
    rows = [
        {"label": label, "color": RISK_COLOURS[value], "glyph": glyph, "shape": "pin"}
        for value, label in RiskColour.choices
    ]
    rows.append({"label": _("未评估"), "color": RISK_COLOURS[""], "glyph": glyph, "shape": "pin"})
    return tuple(rows)


ENTERPRISES = MapLayer(
    key="enterprises",
    name=_("企业（按风险等级）"),
    kind="points",
    queryset=lambda user, bbox, params: _rows(Enterprise, user, bbox, params, "industry", Industry),
    feature=lambda obj, params: _feature(
        obj, params, url_name="enterprise_detail", glyph="企", kind="industry", choices=Industry
    ),
    style={"color": RISK_COLOURS[""], "glyph": "企", "radius": 12},
    cluster=True,
    default_on=True,
    order=30,
    legend=_legend("企"),
)

PLACES = MapLayer(
    key="places",
    name=_("场所（按风险等级）"),
    kind="points",
    queryset=lambda user, bbox, params: _rows(Place, user, bbox, params, "category", PlaceCategory),
    feature=lambda obj, params: _feature(
        obj, params, url_name="place_detail", glyph="场", kind="category", choices=PlaceCategory
    ),
    style={"color": RISK_COLOURS[""], "glyph": "场", "radius": 11},
    cluster=True,
    default_on=False,
    order=31,
    legend=_legend("场"),
)

register_layer(ENTERPRISES)
register_layer(PLACES)
