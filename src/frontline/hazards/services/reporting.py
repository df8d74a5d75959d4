"""A hazard enters the loop: reported from an inspection, a patrol, a grid worker's phone,
the hotline, a sensor or a camera. It lands in 发现 for the station to confirm."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.core import request_id
from frontline.core.models import Region
from frontline.core.numbers import save_with_number
from frontline.core.roles import Capability
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.models import Hazard, HazardEvent, HazardSource, HazardState

NUMBER_KIND = "YH"


def township_code(region: Region) -> str:
    """Hazard numbers carry the township's 9-digit code (YH-330603101-2026-00012)."""
    codes = [code for code in region.path.split("/") if code]
    for code in codes:
        if len(code) == 9:
            return code
    return region.code


def hazard_event(
    *,
    hazard: Hazard,
    actor,
    kind: str,
    from_state: str = "",
    note: str = "",
    data: dict | None = None,
) -> HazardEvent:
    return HazardEvent.objects.create(
        hazard=hazard,
        actor=actor,
        kind=kind,
        from_state=from_state,
        to_state=hazard.state,
        note=note,
        data=data or {},
        request_id=request_id.current_request_id() or "",
    )


@transaction.atomic
def report_hazard(
    *,
    actor,
    region: Region,
    title: str,
    source: str,
    description: str = "",
    enterprise=None,
    place=None,
    building=None,
    lon: float | None = None,
    lat: float | None = None,
    inspection_result=None,
    reporter_name: str = "",
    reporter_phone: str = "",
    now=None,
) -> Hazard:
    """Create a hazard in 发现 with its first event. The object (enterprise, place or
    building), when given, must lie in the region's subtree."""
    require(actor, Capability.EDIT, region)
    now = now or timezone.now()
    cleaner = Cleaner()
    title = cleaner.text(title, "title", required=True, max_length=200)
    description = cleaner.text(description, "description", required=False, max_length=5000)
    cleaner.choice(source, "source", HazardSource)
    reporter_name = cleaner.text(reporter_name, "reporter_name", required=False, max_length=50)
    reporter_phone = cleaner.phone(reporter_phone, "reporter_phone")
    for field, obj in (("enterprise", enterprise), ("place", place), ("building", building)):
        if obj is not None and not obj.region.path.startswith(region.path):
            cleaner.fail(field, _("不在所选区划之内"))
    if (lon is None) != (lat is None):
        cleaner.fail("lat", _("经度和纬度需同时填写"))
    cleaner.done()
    hazard = Hazard(
        region=region,
        title=title,
        description=description,
        source=source,
        enterprise=enterprise,
        place=place,
        building=building,
        lon=lon,
        lat=lat,
        state=HazardState.FOUND,
        found_at=now,
        reported_by=actor,
        reporter_name=reporter_name,
        reporter_phone=reporter_phone,
        inspection_result=inspection_result,
    )
    save_with_number(hazard, kind=NUMBER_KIND, region_code=township_code(region), now=now)
    hazard_event(hazard=hazard, actor=actor, kind="reported", data={"source": source})
    return hazard
