"""The hazards part of the demo, run on a small hand-made plan of regions."""

from collections import Counter

import pytest
from shapely.geometry import shape

from frontline.core.demo.framework import SCALES, DemoContext, make_rngs
from frontline.core.models import Region, RegionLevel
from frontline.hazards import demo
from frontline.hazards.codes import is_valid_credit_code
from frontline.hazards.models import COLOUR_RANK, Enterprise, Hazard, HazardState


class Plan:
    def __init__(self, region):
        self.polygon = shape(region.boundary)


@pytest.fixture
def ctx(world):
    rng, np_rng = make_rngs(7, "hazards")
    regions = {r.code: r for r in Region.objects.all()}
    return DemoContext(
        scale=SCALES["district"],
        seed=7,
        rng=rng,
        np_rng=np_rng,
        state={"regions": regions, "plans": {code: Plan(r) for code, r in regions.items()}},
        counts=Counter(),
    )


def test_demo_hazards_cover_the_loop_and_stay_consistent(ctx, world):
    # A few more villages so every state shows up.
    for index in range(2, 30):
        Region.objects.create(
            code=f"330603001{index:03d}",
            name=f"村{index}",
            level=RegionLevel.VILLAGE,
            parent=world.township,
            path=f"{world.township.path}330603001{index:03d}/",
            depth=2,
            boundary=world.village.boundary,
        )
    ctx.state["regions"] = {r.code: r for r in Region.objects.all()}
    ctx.state["plans"] = {code: Plan(r) for code, r in ctx.state["regions"].items()}
    demo.generate_enterprises(ctx)
    demo.generate_hazards(ctx)
    enterprises = list(Enterprise.objects.prefetch_related("risk_points"))
    assert enterprises and all(is_valid_credit_code(e.credit_code) for e in enterprises)
    for enterprise in enterprises:
        worst = max(enterprise.risk_points.all(), key=lambda p: COLOUR_RANK[p.colour])
        assert enterprise.risk_colour == worst.colour
    states = set(Hazard.objects.values_list("state", flat=True))
    assert {HazardState.CLOSED, HazardState.FOUND, HazardState.RECTIFYING} <= states
    numbers = list(Hazard.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers))
    for hazard in Hazard.objects.filter(state=HazardState.CLOSED):
        assert hazard.confirmed_at <= hazard.rectified_at <= hazard.closed_at
        assert hazard.level
