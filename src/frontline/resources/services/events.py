"""Timeline rows of teams, equipment, shelters, experts and depots (`ResourceEvent`)."""

from __future__ import annotations

from frontline.core.request_id import current_request_id
from frontline.resources.models import ResourceEvent

SUBJECTS = {
    "RescueTeam": "team",
    "Equipment": "equipment",
    "Shelter": "shelter",
    "Expert": "expert",
    "Depot": "depot",
}


def record_event(
    obj, *, actor, kind: str, from_state: str = "", to_state: str = "", note: str = "", **data
) -> ResourceEvent:
    """One row on `obj`'s timeline, in the caller's transaction."""
    return ResourceEvent.objects.create(
        region_id=obj.region_id,
        subject=SUBJECTS[type(obj).__name__],
        object_id=obj.pk,
        actor=actor if actor is not None and actor.is_authenticated else None,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        note=note,
        data=data,
        request_id=current_request_id() or "",
    )


def timeline(obj):
    """`obj`'s events, oldest first."""
    return ResourceEvent.objects.filter(
        subject=SUBJECTS[type(obj).__name__], object_id=obj.pk
    ).select_related("actor")
