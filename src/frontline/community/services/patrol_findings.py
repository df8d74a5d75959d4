"""Patrol findings (巡查发现): what the walker notes on the way, and its hand-on with one tap
as a hazard report (转为隐患) or a community call (社区呼叫).

A finding is handed on once; its photos are copied to the hazard or call it becomes, so the
station sees them there.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from frontline.community.models import PatrolCheckIn, PatrolFinding, PatrolRun
from frontline.community.services.patrol_runs import _locked_run, _walker_only, _walking
from frontline.community.services.patrols import _clean_point
from frontline.core.errors import DomainError
from frontline.core.models import Region
from frontline.core.roles import Capability
from frontline.core.services.validation import Cleaner, require


@transaction.atomic
def record_finding(
    *,
    actor,
    run: PatrolRun,
    note: str,
    lon: float | None = None,
    lat: float | None = None,
    check_in: PatrolCheckIn | None = None,
    photo=None,
) -> PatrolFinding:
    run = _locked_run(run)
    require(actor, Capability.EDIT, run.region)
    _walker_only(actor, run)
    _walking(run)
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=True, max_length=2000)
    if _clean_point(cleaner, lon, lat, "lon", required=False):
        lon, lat = float(lon), float(lat)
    else:
        lon = lat = None
    if check_in is not None and check_in.run_id != run.pk:
        cleaner.fail("check_in", _("打卡不属于本次巡查"))
    cleaner.done()
    if lon is None and check_in is not None and check_in.lon is not None:
        lon, lat = check_in.lon, check_in.lat
    finding = PatrolFinding.objects.create(
        run=run, check_in=check_in, region=run.region, note=note, lon=lon, lat=lat
    )
    if photo is not None:
        from frontline.core.services.attachments import attach_file

        attach_file(actor=actor, owner=finding, uploaded_file=photo, note=_("巡查发现照片"))
    return finding


def _locked_finding(finding: PatrolFinding) -> PatrolFinding:
    finding = (
        PatrolFinding.objects.select_for_update().select_related("region", "run").get(pk=finding.pk)
    )
    if finding.is_handed_on:
        raise DomainError(_("该发现已转为隐患或社区呼叫"), code="finding_handed_on")
    return finding


def _title_of(note: str) -> str:
    first = note.strip().splitlines()[0] if note.strip() else ""
    return first[:60] or _("巡查发现")


def _copy_photos(actor, finding: PatrolFinding, owner) -> None:
    from django.core.files import File

    from frontline.core.services.attachments import attach_file, attachments_of

    for attachment in attachments_of(finding).order_by("id"):
        with attachment.file.open("rb") as stored:
            attach_file(
                actor=actor,
                owner=owner,
                uploaded_file=File(stored, name=attachment.original_name),
                note=attachment.note,
            )


def _building_of(finding: PatrolFinding):
    """The building of the checkpoint the finding was made at, if it has one."""
    if finding.check_in_id and finding.check_in.checkpoint_id:
        return finding.check_in.checkpoint.building
    return None


@transaction.atomic
def finding_to_hazard(*, actor, finding: PatrolFinding, title: str = "", source: str = "patrol"):
    """Hand the finding on as a hazard report (发现) in the run's grid, with its position and
    photos. Once only."""
    from frontline.hazards.services import report_hazard

    finding = _locked_finding(finding)
    hazard = report_hazard(
        actor=actor,
        region=finding.region,
        title=(title or "").strip() or _title_of(finding.note),
        description=finding.note,
        source=source,
        building=_building_of(finding),
        lon=finding.lon,
        lat=finding.lat,
    )
    _copy_photos(actor, finding, hazard)
    finding.hazard = hazard
    finding.save(update_fields=["hazard"])
    return hazard


@transaction.atomic
def finding_to_call(
    *, actor, finding: PatrolFinding, category: str, department, title: str = "", address=""
):
    """Hand the finding on as a community call (社区呼叫) to a department. Once only."""
    from frontline.community.services.calls import raise_call

    finding = _locked_finding(finding)
    building = _building_of(finding)
    call = raise_call(
        actor=actor,
        region=finding.region,
        title=(title or "").strip() or _title_of(finding.note),
        category=category,
        department=department,
        description=finding.note,
        address=address,
        lon=finding.lon,
        lat=finding.lat,
        building=building,
    )
    _copy_photos(actor, finding, call)
    finding.call = call
    finding.save(update_fields=["call"])
    return call


def call_departments(user, region: Region) -> list:
    """The departments a finding of `region` may be called to (the calls service decides:
    the grid's township and county departments, and those below in the user's scope)."""
    from frontline.community.services.calls_people import suggested_departments

    return suggested_departments(user, region)
