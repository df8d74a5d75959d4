"""Public safety facilities (公共安全设施) and their periodic checks.

A facility stores the day its next check is due (`next_check_due`); it is set when the
facility is registered and each time a check is recorded, never recomputed by a cron, so the
lists and the sweep filter on it directly. `record_facility_check` is also what a patrol
check-in at a checkpoint bound to a facility calls.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.community.models import (
    DEFAULT_CHECK_DAYS,
    Building,
    FacilityCheck,
    FacilityKind,
    FacilityStatus,
    PatrolCheckIn,
    SafetyFacility,
)
from frontline.community.services.buildings import (
    PLACE_LEVELS,
    check_place_region,
    clean_place_location,
)
from frontline.core.models import Notification, Person, Region, RoleAssignment
from frontline.core.roles import Capability, Role
from frontline.core.services.attachments import sync_attachment_region
from frontline.core.services.notifications import Outbox
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.services.objects import _unknown_fields, clean_number

MAX_CHECK_DAYS = 3650
OVERDUE_KIND = "facility_check_overdue"

FACILITY_FIELDS = {
    "region",
    "kind",
    "name",
    "address",
    "lon",
    "lat",
    "building",
    "status",
    "check_every_days",
    "keeper",
    "notes",
}


def default_check_days(kind: str) -> int:
    return DEFAULT_CHECK_DAYS.get(kind, DEFAULT_CHECK_DAYS[FacilityKind.OTHER])


def _related(cleaner: Cleaner, field: str, other_region, region: Region | None, message) -> None:
    """A building or keeper of the same subtree as the facility (above or below it)."""
    if other_region is None or region is None:
        return
    if not (region.path.startswith(other_region.path) or other_region.path.startswith(region.path)):
        cleaner.fail(field, message)


def clean_facility(cleaner: Cleaner, data: dict) -> dict:
    """Check the given facility fields (only those present)."""
    cleaned = dict(data)
    if "kind" in data:
        cleaned["kind"] = cleaner.choice(data["kind"], "kind", FacilityKind)
    if "name" in data:
        cleaned["name"] = cleaner.text(data["name"], "name", required=True, max_length=120)
    if "address" in data:
        cleaned["address"] = cleaner.text(
            data["address"], "address", required=False, max_length=200
        )
    if "status" in data:
        cleaned["status"] = cleaner.choice(data["status"], "status", FacilityStatus)
    if "check_every_days" in data:
        cleaned["check_every_days"] = clean_number(
            cleaner,
            data["check_every_days"],
            "check_every_days",
            minimum=1,
            maximum=MAX_CHECK_DAYS,
            integer=True,
        )
    if "notes" in data:
        cleaned["notes"] = cleaner.text(data["notes"], "notes", required=False, max_length=2000)
    clean_place_location(cleaner, cleaned)
    return cleaned


def _check_links(cleaner: Cleaner, region: Region, building, keeper) -> None:
    _related(
        cleaner,
        "building",
        building.region if building is not None else None,
        region,
        _("楼栋不在设施所属区划之内"),
    )
    _related(
        cleaner,
        "keeper",
        keeper.region if keeper is not None else None,
        region,
        _("管护人不在设施所属区划之内"),
    )


def _due_after(day: date, every_days: int) -> date:
    return day + timedelta(days=every_days)


@transaction.atomic
def create_facility(
    *,
    actor,
    region: Region,
    kind: str,
    name: str,
    lon: float | None = None,
    lat: float | None = None,
    address: str = "",
    building: Building | None = None,
    status: str = FacilityStatus.NORMAL,
    check_every_days: int | None = None,
    keeper: Person | None = None,
    notes: str = "",
) -> SafetyFacility:
    """Register a facility. Without coordinates it takes its building's; without a check
    period, the default of its kind (DEFAULT_CHECK_DAYS). Its first check is due one period
    from today."""
    require(actor, Capability.EDIT, region)
    if lon is None and lat is None and building is not None:
        lon, lat = building.lon, building.lat
    cleaner = Cleaner()
    data = clean_facility(
        cleaner,
        {
            "kind": kind,
            "name": name,
            "address": address,
            "lon": lon,
            "lat": lat,
            "status": status,
            "check_every_days": check_every_days,
            "notes": notes,
        },
    )
    if data["lon"] is None and "lon" not in cleaner.details and "lat" not in cleaner.details:
        cleaner.fail("lon", _("请填写设施的经纬度（或选择已有坐标的楼栋）"))
    check_place_region(cleaner, region)
    _check_links(cleaner, region, building, keeper)
    cleaner.done()
    if data["check_every_days"] is None:
        data["check_every_days"] = default_check_days(data["kind"])
    facility = SafetyFacility(
        region=region,
        building=building,
        keeper=keeper,
        next_check_due=_due_after(timezone.localdate(), data["check_every_days"]),
        **data,
    )
    facility.save()
    return facility


@transaction.atomic
def update_facility(*, actor, facility: SafetyFacility, **changes) -> SafetyFacility:
    """Change the given fields. A new check period moves the due day: one period after the
    last check (or after registration when never checked). Retiring is a status like any
    other: a retired facility is never overdue."""
    require(actor, Capability.EDIT, facility.region)
    _unknown_fields(changes, FACILITY_FIELDS)
    region = changes.pop("region", facility.region)
    moved = region.pk != facility.region_id
    if moved:
        require(actor, Capability.EDIT, region)
    building = changes.pop("building", facility.building)
    keeper = changes.pop("keeper", facility.keeper)
    cleaner = Cleaner()
    data = clean_facility(cleaner, {"lon": facility.lon, "lat": facility.lat, **changes})
    if data.get("lon") is None and "lon" not in cleaner.details:
        cleaner.fail("lon", _("请填写设施的经纬度"))
    if "check_every_days" in data and data["check_every_days"] is None:
        data["check_every_days"] = default_check_days(data.get("kind", facility.kind))
    if moved:
        check_place_region(cleaner, region)
    _check_links(cleaner, region, building, keeper)
    cleaner.done()
    period_changed = (
        "check_every_days" in data and data["check_every_days"] != facility.check_every_days
    )
    for field, value in data.items():
        setattr(facility, field, value)
    facility.region, facility.building, facility.keeper = region, building, keeper
    if period_changed:
        since = facility.last_checked_at or facility.created_at
        facility.next_check_due = _due_after(timezone.localdate(since), facility.check_every_days)
    facility.save()
    if moved:
        sync_attachment_region(facility)
    return facility


CHECK_STATUSES = (FacilityStatus.NORMAL, FacilityStatus.FAULTY, FacilityStatus.MISSING)


@transaction.atomic
def record_facility_check(
    *,
    actor,
    facility: SafetyFacility,
    status: str,
    note: str = "",
    patrol_check_in: PatrolCheckIn | None = None,
) -> FacilityCheck:
    """One check of a facility, on the spot or at a patrol checkpoint bound to it: stores the
    check, and sets the facility's status, `last_checked_at` and a new `next_check_due` (one
    check period from today) in the same transaction."""
    require(actor, Capability.EDIT, facility.region)
    cleaner = Cleaner()
    if status not in CHECK_STATUSES:
        cleaner.fail("status", _("请选择检查结果"))
    note = cleaner.text(note, "note", required=False, max_length=2000)
    cleaner.done()
    # The row is locked so two checks recorded at once leave the later one's state.
    facility = SafetyFacility.objects.select_for_update().get(pk=facility.pk)
    now = timezone.now()
    check = FacilityCheck.objects.create(
        facility=facility,
        at=now,
        checked_by=actor if actor is not None and actor.is_authenticated else None,
        status=status,
        note=note,
        patrol_check_in=patrol_check_in,
    )
    facility.status = status
    facility.last_checked_at = now
    facility.next_check_due = _due_after(timezone.localdate(now), facility.check_every_days)
    facility.save(update_fields=["status", "last_checked_at", "next_check_due", "updated_at"])
    return check


# --- overdue checks ---------------------------------------------------------------------------


def overdue_facilities(user, today: date | None = None):
    """The facilities the user sees whose check is overdue (retired ones never are), the most
    overdue first: what the grid worker's day page lists."""
    return (
        SafetyFacility.objects.visible_to(user)
        .exclude(status=FacilityStatus.RETIRED)
        .filter(next_check_due__lt=today or timezone.localdate())
        .select_related("region", "building")
        .order_by("next_check_due", "id")
    )


def _grid_workers(facilities: list[SafetyFacility]) -> dict[int, list]:
    """facility id → the active accounts holding the grid worker role on the facility's grid
    or above it up to its village."""
    paths = set()
    for facility in facilities:
        codes = [code for code in facility.region.path.split("/") if code]
        paths |= {"/".join(codes[:n]) + "/" for n in range(1, len(codes) + 1)}
    assignments = list(
        RoleAssignment.objects.filter(
            role=Role.GRID_WORKER,
            revoked_at__isnull=True,
            user__is_active=True,
            region__level__in=PLACE_LEVELS,
            region__path__in=sorted(paths),
        ).select_related("user", "region")
    )
    return {
        facility.pk: [a.user for a in assignments if facility.region.path.startswith(a.region.path)]
        for facility in facilities
    }


def _already_notified():
    """Whether the sweep told someone since the current due day passed: a notification about
    this facility created after its `next_check_due`. A recorded check moves the due day past
    every earlier notification, so each due day is announced once."""
    return Exists(
        Notification.objects.filter(
            kind=OVERDUE_KIND,
            related_type=ContentType.objects.get_for_model(SafetyFacility),
            related_id=Cast(OuterRef("pk"), output_field=CharField()),
            created_at__date__gt=OuterRef("next_check_due"),
        )
    )


def notify_overdue_facility_checks(today: date | None = None) -> dict:
    """The sweep: each facility whose check is overdue and not yet announced for this due day
    is announced, in the inbox, to the grid workers of its grid (and of its village). A
    facility nobody works is retried on the next run, so a worker appointed later hears of it."""
    today = today or timezone.localdate()
    due = list(
        SafetyFacility.objects.exclude(status=FacilityStatus.RETIRED)
        .filter(next_check_due__lt=today)
        .alias(told=_already_notified())
        .filter(told=False)
        .select_related("region")
        .order_by("next_check_due", "id")
    )
    if not due:
        return {"unannounced": 0, "notified": 0}
    workers = _grid_workers(due)
    kinds = dict(FacilityKind.choices)
    outbox = Outbox()
    announced = 0
    with transaction.atomic():
        for facility in due:
            users = workers.get(facility.pk) or []
            if not users:
                continue
            days = (today - facility.next_check_due).days
            outbox.notify_users(
                users,
                kind=OVERDUE_KIND,
                subject=_("设施检查逾期：%(name)s") % {"name": facility.name},
                body=_("%(kind)s“%(name)s”（%(region)s）应于 %(due)s 前检查，已逾期 %(days)d 天。")
                % {
                    "kind": kinds.get(facility.kind, facility.kind),
                    "name": facility.name,
                    "region": facility.region.name,
                    "due": facility.next_check_due.isoformat(),
                    "days": days,
                },
                link=reverse("facility_detail", args=[facility.pk]),
                related=facility,
                webhooks=False,
            )
            announced += 1
        outbox.send()
    return {"unannounced": len(due), "notified": announced}
