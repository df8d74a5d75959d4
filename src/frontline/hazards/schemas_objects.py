"""API schemas of the supervised objects: enterprises, places, major hazard installations,
risk points, and the spreadsheet import report."""

from datetime import date, datetime
from typing import Annotated

from django.db.models import Q
from ninja import Field, FilterLookup, FilterSchema, Schema

from frontline.core.schemas import ObjectId, region_subtree_q
from frontline.hazards.models import AssessmentMethod, Industry, PlaceCategory, RiskColour

# --- enterprises ----------------------------------------------------------------------------


class EnterpriseOut(Schema):
    id: int
    name: str
    credit_code: str
    industry: Industry
    industry_label: str = Field(alias="get_industry_display")
    above_scale: bool
    employees: int | None
    legal_representative: str
    safety_officer: str
    safety_officer_phone_masked: str
    address: str
    lon: float | None
    lat: float | None
    region_id: int
    region_code: str = Field(alias="region.code")
    region_name: str = Field(alias="region.name")
    risk_colour: str
    qr_token: str
    updated_at: datetime


class EnterpriseIn(Schema):
    name: str = Field(min_length=1, max_length=150)
    credit_code: str = Field(min_length=1, max_length=40)
    industry: str = Field(max_length=20)
    region_code: str = Field(min_length=6, max_length=15)
    above_scale: bool = False
    employees: int | None = Field(None, ge=0, le=10_000_000)
    legal_representative: str = Field("", max_length=50)
    safety_officer: str = Field("", max_length=50)
    safety_officer_phone: str = Field("", max_length=32)
    address: str = Field("", max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)


class EnterprisePatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=150)
    credit_code: str | None = Field(None, min_length=1, max_length=40)
    industry: str | None = Field(None, max_length=20)
    region_code: str | None = Field(None, min_length=6, max_length=15)
    above_scale: bool | None = None
    employees: int | None = Field(None, ge=0, le=10_000_000)
    legal_representative: str | None = Field(None, max_length=50)
    safety_officer: str | None = Field(None, max_length=50)
    safety_officer_phone: str | None = Field(None, max_length=32)
    address: str | None = Field(None, max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)


class EnterpriseFilter(FilterSchema):
    industry: Industry | None = None
    risk_colour: RiskColour | None = None
    above_scale: bool | None = None
    region: str | None = Field(None, description="区划代码（含下级）")
    q: str | None = Field(None, description="名称包含或统一社会信用代码前缀")

    def filter_region(self, value):
        return region_subtree_q(value)

    def filter_q(self, value):
        if not value:
            return Q()
        return Q(name__icontains=value) | Q(credit_code__startswith=value.strip().upper())


# --- places ---------------------------------------------------------------------------------


class PlaceOut(Schema):
    id: int
    name: str
    category: PlaceCategory
    category_label: str = Field(alias="get_category_display")
    is_crowded: bool
    operator: str
    operator_phone_masked: str
    floor_area: float | None
    enterprise_id: int | None
    address: str
    lon: float | None
    lat: float | None
    region_id: int
    region_code: str = Field(alias="region.code")
    region_name: str = Field(alias="region.name")
    risk_colour: str
    qr_token: str
    updated_at: datetime

    @staticmethod
    def resolve_operator_phone_masked(obj) -> str:
        from frontline.core.crypto import mask_phone

        return mask_phone(obj.operator_phone)


class PlaceIn(Schema):
    name: str = Field(min_length=1, max_length=150)
    category: str = Field(max_length=20)
    region_code: str = Field(min_length=6, max_length=15)
    operator: str = Field("", max_length=50)
    operator_phone: str = Field("", max_length=32)
    floor_area: float | None = Field(None, ge=0)
    enterprise_id: ObjectId | None = None
    address: str = Field("", max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)


class PlacePatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=150)
    category: str | None = Field(None, max_length=20)
    region_code: str | None = Field(None, min_length=6, max_length=15)
    operator: str | None = Field(None, max_length=50)
    operator_phone: str | None = Field(None, max_length=32)
    floor_area: float | None = Field(None, ge=0)
    enterprise_id: ObjectId | None = None
    address: str | None = Field(None, max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)


class PlaceFilter(FilterSchema):
    category: PlaceCategory | None = None
    risk_colour: RiskColour | None = None
    enterprise: Annotated[ObjectId | None, FilterLookup("enterprise_id")] = None
    region: str | None = Field(None, description="区划代码（含下级）")
    q: Annotated[str | None, FilterLookup(["name__icontains", "address__icontains"])] = Field(
        None, description="名称或地址包含"
    )

    def filter_region(self, value):
        return region_subtree_q(value)


# --- major hazard installations -------------------------------------------------------------


class Substance(Schema):
    name: str = Field(max_length=50)
    quantity_t: float = Field(ge=0)
    threshold_t: float = Field(gt=0)


class MajorHazardOut(Schema):
    id: int
    enterprise_id: int
    name: str
    level: int
    level_label: str = Field(alias="get_level_display")
    substances: list[dict]
    filing_number: str
    region_id: int


class MajorHazardIn(Schema):
    enterprise_id: ObjectId
    name: str = Field(min_length=1, max_length=150)
    level: int = Field(ge=1, le=4)
    substances: list[Substance] = []
    filing_number: str = Field("", max_length=60)


class MajorHazardPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=150)
    level: int | None = Field(None, ge=1, le=4)
    substances: list[Substance] | None = None
    filing_number: str | None = Field(None, max_length=60)


class MajorHazardFilter(FilterSchema):
    enterprise: Annotated[ObjectId | None, FilterLookup("enterprise_id")] = None
    level: int | None = None
    region: str | None = Field(None, description="区划代码（含下级）")

    def filter_region(self, value):
        return region_subtree_q(value)


# --- risk points ----------------------------------------------------------------------------


class RiskPointOut(Schema):
    id: int
    name: str
    enterprise_id: int | None
    place_id: int | None
    region_id: int
    description: str
    method: AssessmentMethod
    likelihood: float | None
    exposure: float | None
    consequence: float | None
    severity: int | None
    score: float
    colour: RiskColour
    colour_label: str = Field(alias="get_colour_display")
    control_measures: str
    responsible_unit: str
    responsible_person_id: int | None
    assessed_at: date | None
    updated_at: datetime


class RiskPointIn(Schema):
    enterprise_id: ObjectId | None = None
    place_id: ObjectId | None = None
    name: str = Field(min_length=1, max_length=150)
    method: str = Field(max_length=8)
    likelihood: float | None = None
    exposure: float | None = None
    consequence: float | None = None
    severity: int | None = None
    description: str = Field("", max_length=5000)
    control_measures: str = Field("", max_length=5000)
    responsible_unit: str = Field("", max_length=100)
    responsible_person_id: ObjectId | None = None
    assessed_at: date | None = None


class RiskPointPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=150)
    method: str | None = Field(None, max_length=8)
    likelihood: float | None = None
    exposure: float | None = None
    consequence: float | None = None
    severity: int | None = None
    description: str | None = Field(None, max_length=5000)
    control_measures: str | None = Field(None, max_length=5000)
    responsible_unit: str | None = Field(None, max_length=100)
    responsible_person_id: ObjectId | None = None
    assessed_at: date | None = None


class RiskPointFilter(FilterSchema):
    enterprise: Annotated[ObjectId | None, FilterLookup("enterprise_id")] = None
    place: Annotated[ObjectId | None, FilterLookup("place_id")] = None
    colour: RiskColour | None = None
    method: AssessmentMethod | None = None
    region: str | None = Field(None, description="区划代码（含下级）")
    q: Annotated[str | None, FilterLookup("name__icontains")] = None

    def filter_region(self, value):
        return region_subtree_q(value)


# --- import ---------------------------------------------------------------------------------


class RowErrorOut(Schema):
    row: int
    column: str
    message: str


class ImportReportOut(Schema):
    total: int
    created: int
    updated: int
    error_rows: int
    valid_rows: int
    imported: bool
    valid_rows_only: bool
    errors: list[RowErrorOut]
