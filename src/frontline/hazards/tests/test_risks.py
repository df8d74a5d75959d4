"""Risk grading: LEC and the risk matrix, and the object's colour following its worst point."""

from __future__ import annotations

import pytest

from frontline.core.errors import InvalidInput, PermissionDenied
from frontline.core.testing import assert_queryset_matrix
from frontline.hazards import services
from frontline.hazards.models import AssessmentMethod, RiskColour, RiskPoint
from frontline.hazards.services.risks import LEC_GRADES, MATRIX_GRADES, colour_for
from frontline.hazards.testing import make_enterprise, make_place


@pytest.mark.parametrize(
    ("l_value", "e_value", "c_value", "score", "colour"),
    [
        (10, 6, 40, 2400, RiskColour.RED),
        (6, 6, 15, 540, RiskColour.RED),
        (1, 10, 40, 400, RiskColour.RED),
        (3, 6, 15, 270, RiskColour.ORANGE),
        (1, 6, 40, 240, RiskColour.ORANGE),
        (1, 2, 100, 200, RiskColour.ORANGE),
        (3, 6, 7, 126, RiskColour.YELLOW),
        (1, 10, 7, 70, RiskColour.YELLOW),
        (3, 3, 7, 63, RiskColour.BLUE),
        (0.1, 0.5, 1, 0.05, RiskColour.BLUE),
    ],
)
def test_lec_grades(l_value, e_value, c_value, score, colour):
    assert services.grade_lec(l_value, e_value, c_value) == (pytest.approx(score), colour)


def test_lec_bounds():
    assert colour_for(320, LEC_GRADES) == RiskColour.ORANGE
    assert colour_for(320.5, LEC_GRADES) == RiskColour.RED
    assert colour_for(160, LEC_GRADES) == RiskColour.ORANGE
    assert colour_for(159.9, LEC_GRADES) == RiskColour.YELLOW
    assert colour_for(70, LEC_GRADES) == RiskColour.YELLOW
    assert colour_for(69.9, LEC_GRADES) == RiskColour.BLUE


@pytest.mark.parametrize(
    ("likelihood", "severity", "colour"),
    [
        (5, 5, RiskColour.RED),
        (4, 5, RiskColour.RED),
        (4, 4, RiskColour.ORANGE),
        (3, 5, RiskColour.ORANGE),
        (3, 4, RiskColour.YELLOW),
        (3, 3, RiskColour.YELLOW),
        (2, 4, RiskColour.BLUE),
        (1, 1, RiskColour.BLUE),
    ],
)
def test_matrix_grades(likelihood, severity, colour):
    assert services.grade_matrix(likelihood, severity) == (likelihood * severity, colour)
    assert colour_for(19, MATRIX_GRADES) == RiskColour.ORANGE
    assert colour_for(14, MATRIX_GRADES) == RiskColour.YELLOW


def test_enterprise_colour_follows_its_highest_point(world):
    enterprise = make_enterprise(world.village)
    low = services.create_risk_point(
        actor=world.same,
        enterprise=enterprise,
        name="仓库",
        method=AssessmentMethod.MATRIX,
        likelihood=2,
        severity=2,
    )
    enterprise.refresh_from_db()
    assert low.colour == RiskColour.BLUE and enterprise.risk_colour == RiskColour.BLUE

    high = services.create_risk_point(
        actor=world.same,
        enterprise=enterprise,
        name="液氨储罐区",
        method=AssessmentMethod.LEC,
        likelihood=3,
        exposure=6,
        consequence=40,
    )
    enterprise.refresh_from_db()
    assert high.score == 720 and high.colour == RiskColour.RED
    assert enterprise.risk_colour == RiskColour.RED

    services.update_risk_point(actor=world.same, risk_point=high, consequence=7)
    enterprise.refresh_from_db()
    assert high.colour == RiskColour.YELLOW and enterprise.risk_colour == RiskColour.YELLOW

    services.update_risk_point(
        actor=world.same, risk_point=high, method=AssessmentMethod.MATRIX, likelihood=4, severity=4
    )
    enterprise.refresh_from_db()
    assert (high.exposure, high.consequence) == (None, None)
    assert high.colour == RiskColour.ORANGE and enterprise.risk_colour == RiskColour.ORANGE

    services.delete_risk_point(actor=world.same, risk_point=high)
    services.delete_risk_point(actor=world.same, risk_point=low)
    enterprise.refresh_from_db()
    assert enterprise.risk_colour == ""


def test_place_colour(world):
    place = make_place(world.village)
    services.create_risk_point(
        actor=world.same,
        place=place,
        name="厨房燃气",
        method=AssessmentMethod.MATRIX,
        likelihood=3,
        severity=5,
    )
    place.refresh_from_db()
    assert place.risk_colour == RiskColour.ORANGE


def test_every_wrong_field_at_once(world):
    enterprise = make_enterprise(world.village)
    with pytest.raises(InvalidInput) as caught:
        services.create_risk_point(
            actor=world.same,
            enterprise=enterprise,
            name="",
            method=AssessmentMethod.LEC,
            likelihood=4,
            exposure=None,
            consequence=40,
        )
    assert set(caught.value.details) == {"name", "likelihood", "exposure"}
    with pytest.raises(InvalidInput) as caught:
        services.create_risk_point(
            actor=world.same, enterprise=enterprise, name="x", method="matrix", likelihood=6
        )
    assert set(caught.value.details) == {"likelihood", "severity"}
    with pytest.raises(InvalidInput):
        services.create_risk_point(actor=world.same, name="x", method="matrix")
    assert not RiskPoint.objects.exists()


def test_risk_point_scoping_and_permission(world):
    enterprise = make_enterprise(world.village)
    point = services.create_risk_point(
        actor=None, enterprise=enterprise, name="配电房", method="matrix", likelihood=1, severity=3
    )
    assert point.region == world.village
    assert_queryset_matrix(RiskPoint.objects, point, world)
    with pytest.raises(PermissionDenied):
        services.update_risk_point(actor=world.sibling, risk_point=point, severity=5)
