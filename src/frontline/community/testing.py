"""Builders for the community tests (and for other apps' tests that need a building, a
household or a patrol plan). They write rows directly; the services have their own tests."""

from __future__ import annotations

import itertools
from datetime import timedelta

from django.utils import timezone

from frontline.community.models import (
    Building,
    BuildingStructure,
    BuildingUse,
    Checkpoint,
    FacilityKind,
    Household,
    PatrolPlan,
    Relation,
    Resident,
    SafetyFacility,
)
from frontline.core.models import Organization, OrganizationKind

_serial = itertools.count(1)

# The world's grid is the square [120.40, 120.42] × [30.00, 30.02]; this is its centre.
GRID_LON, GRID_LAT = 120.41, 30.01


def make_building(region, name: str | None = None, **kw) -> Building:
    number = next(_serial)
    return Building.objects.create(
        region=region,
        name=name or f"{number}幢",
        address=kw.pop("address", f"州山路{number}号"),
        lon=kw.pop("lon", GRID_LON + 0.0001 * (number % 50)),
        lat=kw.pop("lat", GRID_LAT),
        use=kw.pop("use", BuildingUse.RESIDENTIAL),
        structure=kw.pop("structure", BuildingStructure.BRICK_CONCRETE),
        **kw,
    )


def make_household(region, address: str | None = None, **kw) -> Household:
    return Household.objects.create(
        region=region,
        address=address or f"州山路{next(_serial)}号",
        lon=kw.pop("lon", GRID_LON),
        lat=kw.pop("lat", GRID_LAT),
        **kw,
    )


def make_resident(household: Household, name: str | None = None, **kw) -> Resident:
    categories = kw.pop("categories", [])
    return Resident.objects.create(
        household=household,
        region=household.region,
        name=name or f"居民{next(_serial)}",
        relation=kw.pop("relation", Relation.HEAD),
        categories=",".join(categories),
        is_vulnerable=bool(categories),
        **kw,
    )


def make_facility(region, kind: str = FacilityKind.HYDRANT, **kw) -> SafetyFacility:
    number = next(_serial)
    return SafetyFacility.objects.create(
        region=region,
        kind=kind,
        name=kw.pop("name", f"设施{number}"),
        lon=kw.pop("lon", GRID_LON),
        lat=kw.pop("lat", GRID_LAT),
        next_check_due=kw.pop("next_check_due", timezone.localdate() + timedelta(days=30)),
        **kw,
    )


def make_plan(region, points: int = 3, **kw) -> PatrolPlan:
    """A plan with `points` checkpoints 100 m apart going east from the grid's centre."""
    plan = PatrolPlan.objects.create(region=region, name=kw.pop("name", "日常巡查"), **kw)
    for order in range(points):
        Checkpoint.objects.create(
            plan=plan,
            order=order,
            name=f"点位{order + 1}",
            lon=GRID_LON + 0.00104 * order,  # ≈ 100 m at 30° N
            lat=GRID_LAT,
        )
    return plan


def make_department(region, name: str = "街道消防工作站", **kw) -> Organization:
    return Organization.objects.create(
        region=region, name=name, kind=kw.pop("kind", OrganizationKind.DEPARTMENT), **kw
    )


def walk_every_checkpoint(run, actor, now=None) -> None:
    """Check in at every checkpoint of the run's plan, standing on it: a complete round."""
    from frontline.community.services.patrol_runs import check_in

    for checkpoint in run.plan.checkpoints.all():
        check_in(actor=actor, run=run, checkpoint=checkpoint, lon=checkpoint.lon,
                 lat=checkpoint.lat, accuracy_m=5, now=now)  # fmt: skip
