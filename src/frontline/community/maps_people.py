"""Map layers of the community app (registered when imported): households with vulnerable
people, for users who may read the resident roll.

One pin a household, coloured by the heaviest mobility need among its vulnerable people
(needs a stretcher red, needs help orange, walks blue): what rescuers must bring. The popup
says how many and how they move, never who: names and categories stay on the resident page.
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from frontline.community.models import Mobility
from frontline.community.services.households import visible_households
from frontline.core.maps import Bbox, LayerParams, MapLayer, in_bbox, point_feature, register_layer
from frontline.core.roles import Capability

NEED_COLOURS = {
    Mobility.STRETCHER: "#d92d20",
    Mobility.NEEDS_HELP: "#f08c00",
    Mobility.WALKS: "#1f6fd1",
}


def _rows(user, bbox: Bbox | None, params: LayerParams):
    vulnerable = Q(residents__is_vulnerable=True)
    return (
        in_bbox(visible_households(user), bbox)
        .filter(vulnerable)
        .annotate(
            vulnerable_count=Count("residents", filter=vulnerable),
            stretcher_count=Count(
                "residents", filter=vulnerable & Q(residents__mobility=Mobility.STRETCHER)
            ),
            needs_help_count=Count(
                "residents", filter=vulnerable & Q(residents__mobility=Mobility.NEEDS_HELP)
            ),
        )
        .only("id", "address", "lon", "lat")
        .order_by("id")
    )


def need_of(household) -> str:
    if household.stretcher_count:
        return Mobility.STRETCHER
    if household.needs_help_count:
        return Mobility.NEEDS_HELP
    return Mobility.WALKS


def _feature(household, params: LayerParams) -> dict:
    if "household_url" not in params.memo:
        params.memo["household_url"] = reverse("household_detail", args=[0])[:-2]
        params.memo["needs"] = {value: str(label) for value, label in Mobility.choices}
    need = need_of(household)
    url = f"{params.memo['household_url']}{household.pk}/"
    return point_feature(
        household.lon,
        household.lat,
        params,
        id=household.pk,
        name=household.address,
        count=household.vulnerable_count,
        need=need,
        glyph=str(household.vulnerable_count) if household.vulnerable_count < 10 else "+",
        color=NEED_COLOURS[need],
        url=url,
        popup=params.popup(
            "community/households/map_popup.html",
            household=household,
            need_label=params.memo["needs"][need],
            url=url,
        ),
    )


VULNERABLE_HOUSEHOLDS = MapLayer(
    key="community.vulnerable_households",
    name=_("重点人群住户"),
    kind="points",
    queryset=_rows,
    feature=_feature,
    style={"color": NEED_COLOURS[Mobility.WALKS], "glyph": "重", "radius": 11},
    cluster=True,
    default_on=False,
    capability=Capability.VIEW_RESIDENTS,
    order=45,
    legend=tuple(
        {"label": label, "color": NEED_COLOURS[value], "glyph": "重", "shape": "pin"}
        for value, label in Mobility.choices
    ),
)

register_layer(VULNERABLE_HOUSEHOLDS)
