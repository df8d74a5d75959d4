"""What the team, equipment and expert endpoints share: the event schema, lookups that
answer 422 for a region or person outside the scope, capability and coordinate checks."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _
from ninja import Schema

from frontline.core.errors import InvalidInput
from frontline.core.geo import to_wgs84
from frontline.core.models import Person, Region
from frontline.core.schemas_tasks import actor_name
from frontline.resources.models import Capability, ResourceEvent, unpack_capabilities

TIMELINE_SHOWN = 50


class EventOut(Schema):
    at: datetime
    kind: str
    from_state: str
    to_state: str
    note: str
    actor_name: str | None = None
    data: dict

    @staticmethod
    def resolve_actor_name(obj) -> str | None:
        return actor_name(obj.actor)


def events_of(subject: str, object_id: int) -> list[ResourceEvent]:
    """The latest events of one object, oldest first."""
    rows = (
        ResourceEvent.objects.filter(subject=subject, object_id=object_id)
        .select_related("actor__person")
        .order_by("-at", "-id")[:TIMELINE_SHOWN]
    )
    return list(reversed(rows))


def region_or_422(request, code: str, field: str = "region_code") -> Region:
    region = Region.objects.visible_to(request.user).filter(code=code).first()
    if region is None:
        raise InvalidInput(_("区划不存在"), details={field: _("区划不存在或不在管辖范围内")})
    return region


def person_or_422(request, person_id: int | None, field: str = "person_id") -> Person | None:
    if person_id is None:
        return None
    person = Person.objects.visible_to(request.user).select_related("region")
    person = person.filter(pk=person_id).first()
    if person is None:
        raise InvalidInput(
            _("输入有误，请检查标注的字段"), details={field: _("人员不存在或不在您的管辖范围内")}
        )
    return person


def capability_or_422(value: str | None) -> str | None:
    if value and value not in Capability.values:
        message = _("未知的救援能力")
        raise InvalidInput(message, details={"capability": message})
    return value or None


def wgs84(lon, lat, system: str) -> tuple:
    if lon is None or lat is None:
        return lon, lat
    if system not in ("wgs84", "gcj02", "bd09"):
        raise InvalidInput(
            _("坐标系不正确"), details={"coord_system": _("应为 wgs84、gcj02 或 bd09")}
        )
    return to_wgs84(lon, lat, system)


def capability_labels(stored: str) -> list[str]:
    labels = dict(Capability.choices)
    return [str(labels.get(code, code)) for code in unpack_capabilities(stored)]
