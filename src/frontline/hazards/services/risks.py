"""Risk points and their grading (双重预防机制: 风险分级管控).

Two methods, both tables here and nowhere else (documented in docs/hazards-objects.md):

LEC (作业条件危险性分析法, Graham–Kinney): D = L × E × C, with L, E, C taken from the
standard value tables below.

    D > 320          red     重大风险 (极其危险，不能继续作业)
    160 ≤ D ≤ 320    orange  较大风险 (高度危险，需立即整改)
    70 ≤ D < 160     yellow  一般风险 (显著危险，需要整改)
    D < 70           blue    低风险   (一般危险 / 稍有危险)

Risk matrix (风险矩阵法): R = likelihood (1–5) × severity (1–5).

    R ≥ 20           red
    15 ≤ R ≤ 19      orange
    9 ≤ R ≤ 14       yellow
    R < 9            blue

The enterprise's or place's `risk_colour` is the colour of its worst risk point
(COLOUR_RANK), recomputed in the same transaction as every change of a risk point.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils.translation import gettext as _

from frontline.core.errors import InvalidInput
from frontline.core.roles import Capability
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.models import AssessmentMethod, Enterprise, Place, RiskColour, RiskPoint
from frontline.hazards.models.objects import COLOUR_RANK
from frontline.hazards.services.objects import clean_number

# Standard LEC values (the values an assessor picks from; anything else is a typo).
LEC_LIKELIHOOD = (0.1, 0.2, 0.5, 1, 3, 6, 10)
LEC_EXPOSURE = (0.5, 1, 2, 3, 6, 10)
LEC_CONSEQUENCE = (1, 3, 7, 15, 40, 100)

# (bound, whether the bound itself belongs to the grade, colour), highest grade first; a
# score below every bound is blue.
LEC_GRADES: tuple[tuple[float, bool, str], ...] = (
    (320, False, RiskColour.RED),  # D > 320
    (160, True, RiskColour.ORANGE),  # 160 ≤ D ≤ 320
    (70, True, RiskColour.YELLOW),  # 70 ≤ D < 160
)
MATRIX_GRADES: tuple[tuple[float, bool, str], ...] = (
    (20, True, RiskColour.RED),  # R ≥ 20
    (15, True, RiskColour.ORANGE),  # 15–19
    (9, True, RiskColour.YELLOW),  # 9–14
)
MATRIX_SCALE = (1, 2, 3, 4, 5)


def colour_for(score: float, grades) -> str:
    for bound, inclusive, colour in grades:
        if score > bound or (inclusive and score == bound):
            return colour
    return RiskColour.BLUE


def grade_lec(likelihood: float, exposure: float, consequence: float) -> tuple[float, str]:
    score = round(likelihood * exposure * consequence, 4)
    return score, colour_for(score, LEC_GRADES)


def grade_matrix(likelihood: int, severity: int) -> tuple[float, str]:
    score = float(likelihood * severity)
    return score, colour_for(score, MATRIX_GRADES)


def highest_colour(colours) -> str:
    """The worst of the colours ("" when there is none)."""
    best = ""
    for colour in colours:
        if colour and COLOUR_RANK.get(colour, 0) > COLOUR_RANK.get(best, 0):
            best = colour
    return best


def recompute_risk_colour(obj: Enterprise | Place) -> str:
    """Set the object's colour from its risk points (blank without any)."""
    colour = highest_colour(obj.risk_points.values_list("colour", flat=True).distinct())
    if obj.risk_colour != colour:
        type(obj).objects.filter(pk=obj.pk).update(risk_colour=colour)
        obj.risk_colour = colour
    return colour


# --- validation -----------------------------------------------------------------------------

RISK_POINT_FIELDS = {
    "name",
    "description",
    "method",
    "likelihood",
    "exposure",
    "consequence",
    "severity",
    "control_measures",
    "responsible_unit",
    "responsible_person",
    "assessed_at",
}


def _pick(cleaner: Cleaner, value, field: str, allowed) -> float | None:
    number = clean_number(cleaner, value, field)
    if number is None:
        if field not in cleaner.details:
            cleaner.fail(field, _("此字段为必填项"))
        return None
    if not any(abs(number - a) < 1e-9 for a in allowed):
        values = "、".join(str(a) for a in allowed)
        cleaner.fail(field, _("应为以下取值之一：%(values)s") % {"values": values})
        return None
    return number


def _clean_risk_point(cleaner: Cleaner, data: dict) -> dict:
    """Check a complete set of risk point fields and grade it."""
    cleaned = dict(data)
    cleaned["name"] = cleaner.text(data.get("name"), "name", required=True, max_length=150)
    for field, length in (
        ("description", 5000),
        ("control_measures", 5000),
    ):
        cleaned[field] = cleaner.text(data.get(field), field, required=False, max_length=length)
    cleaned["responsible_unit"] = cleaner.text(
        data.get("responsible_unit"), "responsible_unit", required=False, max_length=100
    )
    assessed_at = data.get("assessed_at")
    if assessed_at is not None and not isinstance(assessed_at, date):
        cleaner.fail("assessed_at", _("日期格式不正确"))
    method = cleaner.choice(data.get("method"), "method", AssessmentMethod)
    cleaned["score"], cleaned["colour"] = 0.0, ""
    if method == AssessmentMethod.LEC:
        l_value = _pick(cleaner, data.get("likelihood"), "likelihood", LEC_LIKELIHOOD)
        e_value = _pick(cleaner, data.get("exposure"), "exposure", LEC_EXPOSURE)
        c_value = _pick(cleaner, data.get("consequence"), "consequence", LEC_CONSEQUENCE)
        cleaned.update(likelihood=l_value, exposure=e_value, consequence=c_value, severity=None)
        if None not in (l_value, e_value, c_value):
            cleaned["score"], cleaned["colour"] = grade_lec(l_value, e_value, c_value)
    elif method == AssessmentMethod.MATRIX:
        l_value = _pick(cleaner, data.get("likelihood"), "likelihood", MATRIX_SCALE)
        s_value = _pick(cleaner, data.get("severity"), "severity", MATRIX_SCALE)
        cleaned.update(likelihood=l_value, severity=s_value, exposure=None, consequence=None)
        if l_value is not None and s_value is not None:
            cleaned["severity"] = int(s_value)
            cleaned["score"], cleaned["colour"] = grade_matrix(int(l_value), int(s_value))
    return cleaned


def _check_person(cleaner: Cleaner, person, region) -> None:
    if person is not None and not (
        person.region.path.startswith(region.path) or region.path.startswith(person.region.path)
    ):
        cleaner.fail("responsible_person", _("责任人不在该对象所属区划之内"))


@transaction.atomic
def create_risk_point(
    *,
    actor,
    enterprise: Enterprise | None = None,
    place: Place | None = None,
    name: str,
    method: str,
    likelihood: float | None = None,
    exposure: float | None = None,
    consequence: float | None = None,
    severity: int | None = None,
    description: str = "",
    control_measures: str = "",
    responsible_unit: str = "",
    responsible_person=None,
    assessed_at: date | None = None,
) -> RiskPoint:
    """A risk point of an enterprise or of a place (exactly one of them)."""
    if (enterprise is None) == (place is None):
        raise InvalidInput(
            _("风险点应属于一个企业或一个场所"), details={"enterprise": _("请选择企业或场所")}
        )
    owner = enterprise or place
    require(actor, Capability.EDIT, owner.region)
    cleaner = Cleaner()
    data = _clean_risk_point(
        cleaner,
        {
            "name": name,
            "method": method,
            "likelihood": likelihood,
            "exposure": exposure,
            "consequence": consequence,
            "severity": severity,
            "description": description,
            "control_measures": control_measures,
            "responsible_unit": responsible_unit,
            "responsible_person": responsible_person,
            "assessed_at": assessed_at,
        },
    )
    _check_person(cleaner, responsible_person, owner.region)
    cleaner.done()
    point = RiskPoint(enterprise=enterprise, place=place, region_id=owner.region_id, **data)
    point.save()
    recompute_risk_colour(owner)
    return point


@transaction.atomic
def update_risk_point(*, actor, risk_point: RiskPoint, **changes) -> RiskPoint:
    """Change fields; the point is graded again from the stored and changed values."""
    require(actor, Capability.EDIT, risk_point.region)
    unknown = set(changes) - RISK_POINT_FIELDS
    if unknown:
        raise InvalidInput(_("不能修改这些字段"), details={f: _("不可修改") for f in unknown})
    current = {field: getattr(risk_point, field) for field in RISK_POINT_FIELDS}
    if changes.get("method", current["method"]) != current["method"]:
        # A new method starts from its own factors, never from the other method's values.
        for field in ("likelihood", "exposure", "consequence", "severity"):
            current[field] = None
    cleaner = Cleaner()
    data = _clean_risk_point(cleaner, {**current, **changes})
    owner = risk_point.enterprise or risk_point.place
    if "responsible_person" in changes:
        _check_person(cleaner, changes["responsible_person"], owner.region)
    cleaner.done()
    for field, value in data.items():
        setattr(risk_point, field, value)
    risk_point.save()
    recompute_risk_colour(owner)
    return risk_point


@transaction.atomic
def delete_risk_point(*, actor, risk_point: RiskPoint) -> None:
    require(actor, Capability.EDIT, risk_point.region)
    owner = risk_point.enterprise or risk_point.place
    risk_point.delete()
    recompute_risk_colour(owner)
