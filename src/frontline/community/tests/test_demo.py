"""The community part of the demo, run on the test world (its township is the home one)."""

from collections import Counter

import pytest
from django.db import connection
from shapely.geometry import shape

from frontline.community import demo_homes
from frontline.community.demo_grid import generate_facilities, generate_patrols
from frontline.community.demo_homes import generate_residents
from frontline.community.models import (
    GridPost,
    GridRole,
    Household,
    HouseholdVisit,
    PatrolCheckIn,
    PatrolRun,
    Resident,
    SafetyFacility,
)
from frontline.core.crypto import keyed_digest
from frontline.core.demo.framework import SCALES, DemoContext, make_rngs
from frontline.core.models import Region
from frontline.core.services.validation import is_valid_id_number
from frontline.core.testing import make_person
from frontline.monitoring.models import Device
from frontline.monitoring.testing import make_device


class Plan:
    def __init__(self, region):
        self.polygon = shape(region.boundary)


@pytest.fixture
def ctx(world, monkeypatch):
    monkeypatch.setattr(demo_homes, "RESIDENTS_TARGET", 400)
    rng, np_rng = make_rngs(7, "community")
    regions = {r.code: r for r in Region.objects.select_related("parent")}
    return DemoContext(
        scale=SCALES["district"],
        seed=7,
        rng=rng,
        np_rng=np_rng,
        state={"regions": regions, "plans": {code: Plan(r) for code, r in regions.items()}},
        counts=Counter(),
    )


def test_demo_homes_are_valid_encrypted_and_cared_for(ctx, world):
    make_person(world.village, name="村干部甲")
    make_device(world.village, kind="smoke", name="州山村居家烟感")
    generate_residents(ctx)
    residents = list(Resident.objects.all())
    assert 300 <= len(residents) <= 500
    assert all(is_valid_id_number(r.id_number) for r in residents)
    assert all(r.id_digest == keyed_digest(r.id_number) for r in residents)
    assert len({r.id_digest for r in residents}) == len(residents)
    share = sum(r.is_vulnerable for r in residents) / len(residents)
    assert 0.05 < share < 0.35, share
    assert all(r.helper_id and r.mobility for r in residents if r.is_vulnerable)
    assert not Household.objects.filter(group_leader__isnull=True).exists()
    assert GridPost.objects.filter(role=GridRole.GROUP_LEADER).count() == ctx.counts[
        "households"
    ] // 10 + (1 if ctx.counts["households"] % 10 else 0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number, categories FROM community_resident WHERE categories <> ''"
        )
        stored = cursor.fetchall()
    assert stored and all(i.startswith("v1:") and c.startswith("v1:") for i, c in stored)
    visited = [r for r in residents if r.is_vulnerable and r.last_visited_at]
    assert visited and HouseholdVisit.objects.count() == len(visited)
    smoke = Device.objects.get(kind="smoke")
    assert smoke.household is not None and smoke.building == smoke.household.building


def test_demo_grids_have_facilities_posts_and_a_month_of_patrols(ctx, world):
    generate_residents(ctx)
    generate_facilities(ctx)
    generate_patrols(ctx)
    assert SafetyFacility.objects.filter(region=world.grid).exists()
    assert GridPost.objects.filter(
        role=GridRole.GRID_WORKER, person=world.grid_worker.person
    ).exists()
    runs = list(PatrolRun.objects.filter(region=world.grid))
    assert 40 <= len(runs) <= 60  # two rounds a day for 30 days, a few missed
    assert all(
        run.started_at < run.finished_at and run.points_checked <= run.points_total for run in runs
    )
    flagged = PatrolCheckIn.objects.exclude(flag="ok")
    assert all(c.distance_m > 50 for c in flagged)
