"""Map layers of today's patrols: the tracks as lines and the check-ins as points (flagged
ones marked red).

A movement track is personal data: a user sees their own runs, and other people's only with
EDIT over the grid's township or above (the station, the county). The check-in points reveal
where a person was too and follow the same rule. Both are scoped through `visible_to`.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from frontline.community.models import PatrolCheckIn, PatrolRun
from frontline.community.models.patrols import CheckInFlag
from frontline.community.services.patrols import may_supervise
from frontline.core.maps import Bbox, LayerParams, MapLayer, in_bbox, point_feature, register_layer

TRACK_COLOUR = "#e8590c"
OK_COLOUR = "#2e9e57"
FLAGGED_COLOUR = "#d92d20"


def _allowed(user, run_walker_id: int, region) -> bool:
    return run_walker_id == getattr(user, "pk", None) or may_supervise(user, region)


def _overlaps(coords: list, bbox: Bbox | None) -> bool:
    if bbox is None:
        return True
    lons = [c[0] for c in coords]
    lats = [c[1] for c in coords]
    return not (
        max(lons) < bbox[0] or min(lons) > bbox[2] or max(lats) < bbox[1] or min(lats) > bbox[3]
    )


def track_rows(user, bbox: Bbox | None, params: LayerParams) -> list:
    runs = (
        PatrolRun.objects.visible_to(user)
        .filter(day=timezone.localdate())
        .select_related("region", "plan", "walker__person")
        .only(
            "id",
            "track",
            "walker_id",
            "state",
            "round",
            "distance_m",
            "region__path",
            "region__name",
            "region__level",
            "plan__name",
            "walker__username",
            "walker__person__name",
        )
        .order_by("id")
    )
    rows = []
    for run in runs:
        track = run.track or []
        if len(track) < 2 or not _allowed(user, run.walker_id, run.region):
            continue
        if not _overlaps(track, bbox):
            continue
        rows.append(run)
        if len(rows) > params.limit:
            break
    return rows


def track_feature(run: PatrolRun, params: LayerParams) -> dict:
    if "run_url" not in params.memo:
        params.memo["run_url"] = reverse("patrol_run", args=[0])[:-2]
    walker = getattr(getattr(run.walker, "person", None), "name", "") or run.walker.username
    url = f"{params.memo['run_url']}{run.pk}/"
    return {
        "type": "Feature",
        "geometry": {
            "type": "LineString",
            "coordinates": [[round(p[0], 6), round(p[1], 6)] for p in run.track],
        },
        "properties": {
            "id": run.pk,
            "role": "track",
            "name": f"{run.plan.name} {walker}",
            "state": run.state,
            "url": url,
            "popup": params.popup(
                "community/patrols/map_popup.html",
                title=run.plan.name,
                lines=[
                    walker,
                    run.region.name,
                    f"{run.get_state_display()} · {round(run.distance_m)} m",
                ],
                url=url,
            ),
        },
    }


def check_in_rows(user, bbox: Bbox | None, params: LayerParams) -> list:
    items = in_bbox(
        PatrolCheckIn.objects.visible_to(user).filter(run__day=timezone.localdate()), bbox
    ).select_related("run__region", "checkpoint")
    rows = []
    for item in items.order_by("id")[: params.limit * 2 + 1]:
        if _allowed(user, item.run.walker_id, item.run.region):
            rows.append(item)
        if len(rows) > params.limit:
            break
    return rows


def check_in_feature(item: PatrolCheckIn, params: LayerParams) -> dict:
    if "run_url" not in params.memo:
        params.memo["run_url"] = reverse("patrol_run", args=[0])[:-2]
    flagged = item.flag != CheckInFlag.OK
    url = f"{params.memo['run_url']}{item.run_id}/"
    name = item.checkpoint.name if item.checkpoint_id else ""
    return point_feature(
        item.lon,
        item.lat,
        params,
        id=item.pk,
        name=name,
        kind="flagged" if flagged else "ok",
        color=FLAGGED_COLOUR if flagged else OK_COLOUR,
        glyph="!" if flagged else "✓",
        url=url,
        popup=params.popup(
            "community/patrols/map_popup.html",
            title=name,
            lines=[item.get_flag_display(), timezone.localtime(item.at).strftime("%H:%M")],
            url=url,
        ),
    )


TRACKS = MapLayer(
    key="patrol_tracks",
    name=_("今日巡查轨迹"),
    kind="polygons",
    queryset=track_rows,
    feature=track_feature,
    style={"color": TRACK_COLOUR, "weight": 4},
    default_on=False,
    order=60,
    legend=({"label": _("巡查轨迹"), "color": TRACK_COLOUR, "shape": "line"},),
)

CHECK_INS = MapLayer(
    key="patrol_check_ins",
    name=_("今日巡查打卡"),
    kind="points",
    queryset=check_in_rows,
    feature=check_in_feature,
    style={
        "color": OK_COLOUR,
        "glyph": "✓",
        "radius": 9,
        "kinds": {
            "ok": {"color": OK_COLOUR, "glyph": "✓"},
            "flagged": {"color": FLAGGED_COLOUR, "glyph": "!"},
        },
    },
    default_on=False,
    order=61,
    legend=(
        {"label": _("正常打卡"), "color": OK_COLOUR, "glyph": "✓", "shape": "pin"},
        {"label": _("异常打卡"), "color": FLAGGED_COLOUR, "glyph": "!", "shape": "pin"},
    ),
)

register_layer(TRACKS)
register_layer(CHECK_INS)
