"""Map layer of the open community calls (社区呼叫 / 吹哨报到): one pin per call still being
handled, coloured by state (已呼叫 orange, 已报到 blue, 待确认 green), red when a time limit
has passed (with the escalation level in the popup). Scoped like the calls' pages: the
user's region scope plus the calls sent to the user's own department. Registered when
imported (by the app's `ready()`)."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from frontline.community.models import OPEN_CALL_STATES, CallCategory, CallState, CommunityCall
from frontline.community.services.calls_people import visible_calls
from frontline.community.services.calls_rules import is_overdue, overdue_q
from frontline.core.maps import Bbox, LayerParams, MapLayer, in_bbox, point_feature, register_layer

GLYPH = "哨"
STATE_COLOURS = {
    CallState.CALLED: "#f08c00",
    CallState.ON_SITE: "#1f6fd1",
    CallState.FIXED: "#15803d",
}
OVERDUE_COLOUR = "#d92d20"


def _labels(params: LayerParams, choices) -> dict[str, str]:
    """value → label of a TextChoices, translated once per request."""
    key = f"labels_{choices.__name__}"
    if key not in params.memo:
        params.memo[key] = {value: str(label) for value, label in choices.choices}
    return params.memo[key]


def call_rows(user, bbox: Bbox | None, params: LayerParams):
    """Open calls in view. `?state=called,on_site` narrows the states, `?category=fire,gas`
    the categories, `?overdue=1` keeps the late ones."""
    states = [s for s in params.query.get("state", "").split(",") if s in OPEN_CALL_STATES]
    queryset = CommunityCall.objects.filter(state__in=states or OPEN_CALL_STATES)
    categories = [
        c for c in params.query.get("category", "").split(",") if c in CallCategory.values
    ]
    if categories:
        queryset = queryset.filter(category__in=categories)
    if params.query.get("overdue") == "1":
        queryset = queryset.filter(overdue_q(params.memo.setdefault("now", timezone.now())))
    return (
        visible_calls(user, in_bbox(queryset, bbox))
        .select_related("region", "department")
        .only(
            "id", "number", "title", "category", "state", "address", "lon", "lat",
            "raised_at", "arrive_by", "fix_by", "arrived_at", "fixed_at",
            "escalation_level", "region__name", "department__name",
        )
        .order_by("id")
    )  # fmt: skip


def call_feature(call: CommunityCall, params: LayerParams) -> dict:
    now = params.memo.setdefault("now", timezone.now())
    if "call_url" not in params.memo:
        params.memo["call_url"] = reverse("call_detail", args=[0])[:-2]
    url = f"{params.memo['call_url']}{call.pk}/"
    overdue = is_overdue(call, now)
    state_label = _labels(params, CallState).get(call.state, call.state)
    category_label = _labels(params, CallCategory).get(call.category, call.category)
    return point_feature(
        call.lon,
        call.lat,
        params,
        id=call.pk,
        name=f"{call.number} {call.title}",
        kind=call.state,
        kind_label=state_label,
        category=call.category,
        overdue=overdue,
        escalation_level=call.escalation_level,
        glyph=GLYPH,
        color=OVERDUE_COLOUR if overdue else STATE_COLOURS.get(call.state, "#8a94a6"),
        url=url,
        popup=params.popup(
            "community/calls/map_popup.html",
            call=call,
            state_label=state_label,
            category_label=category_label,
            overdue=overdue,
            late_arrival=call.arrived_at is None and call.arrive_by < now,
            late_fix=call.fixed_at is None and call.fix_by < now,
            url=url,
        ),
    )


CALLS = MapLayer(
    key="community.calls",
    name=_("社区呼叫（办理中）"),
    kind="points",
    queryset=call_rows,
    feature=call_feature,
    style={"color": STATE_COLOURS[CallState.CALLED], "glyph": GLYPH, "radius": 12},
    cluster=True,
    min_zoom=10,
    default_on=False,
    order=46,
    legend=(
        *(
            {"label": label, "color": STATE_COLOURS[value], "glyph": GLYPH, "shape": "pin"}
            for value, label in CallState.choices
            if value in STATE_COLOURS
        ),
        {"label": _("逾期"), "color": OVERDUE_COLOUR, "glyph": GLYPH, "shape": "pin"},
    ),
)

register_layer(CALLS)
