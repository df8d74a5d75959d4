"""Schemas of the inspection, notice, ledger and statistics API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.db.models import Q
from ninja import Field, FilterSchema, Schema

from frontline.core.schemas import ObjectId, region_subtree_q
from frontline.core.schemas_tasks import actor_name
from frontline.hazards.models import InspectionEventKind, InspectionForm, ItemOutcome


class ChecklistItemOut(Schema):
    id: int
    order: int
    text: str
    legal_basis: str
    major_if_failed: bool


class ChecklistOut(Schema):
    id: int
    code: str
    name: str
    description: str


class ChecklistDetail(ChecklistOut):
    items: list[ChecklistItemOut]


class PersonRef(Schema):
    id: int
    name: str


class InspectionOut(Schema):
    id: int
    number: str
    region_code: str = Field(alias="region.code")
    region_name: str = Field(alias="region.name")
    enterprise_id: int | None
    enterprise_name: str | None = Field(None, alias="enterprise.name")
    place_id: int | None
    place_name: str | None = Field(None, alias="place.name")
    template_id: int
    template_name: str = Field(alias="template.name")
    plan_id: int | None
    form: InspectionForm
    form_label: str = Field(alias="get_form_display")
    participants: str
    started_at: datetime
    submitted_at: datetime | None


class ResultOut(Schema):
    id: int
    item_id: int
    outcome: ItemOutcome
    note: str
    hazard_id: int | None = None
    hazard_number: str | None = None


class InspectionEventOut(Schema):
    id: int
    at: datetime
    kind: InspectionEventKind
    kind_label: str = Field(alias="get_kind_display")
    from_state: str = Field(
        description="检查项事件：原结果（pass / fail / na）；提交：open；其余为空"
    )
    to_state: str = Field(
        description="检查项事件：新结果（pass / fail / na）；开始：open；提交：submitted"
    )
    note: str
    actor_id: int | None
    actor_name: str | None = None
    result_id: int | None
    item_id: int | None = Field(None, description="检查项事件的检查项")
    hazard_id: int | None
    hazard_number: str | None = Field(None, alias="hazard.number")
    notice_id: int | None
    notice_number: str | None = Field(None, alias="notice.number")
    attachment_id: int | None
    data: dict

    @staticmethod
    def resolve_actor_name(obj) -> str | None:
        return actor_name(obj.actor)

    @staticmethod
    def resolve_item_id(obj) -> int | None:
        return obj.data.get("item_id")


class InspectionDetail(InspectionOut):
    summary: str
    inspectors: list[PersonRef] = Field(alias="inspector_list")
    results: list[ResultOut] = Field(alias="result_rows")
    missing_item_ids: list[int] = Field(alias="missing_ids")
    events: list[InspectionEventOut] = Field(alias="event_list", description="事件时间线，先早后晚")


class InspectionFilter(FilterSchema):
    region: str | None = Field(None, description="区划代码（含下级）")
    form: InspectionForm | None = None
    submitted: bool | None = Field(None, description="是否已提交")
    enterprise_id: ObjectId | None = None
    place_id: ObjectId | None = None

    def filter_region(self, value):
        return region_subtree_q(value)

    def filter_submitted(self, value):
        if value is None:
            return Q()
        return Q(submitted_at__isnull=not value)


class InspectionIn(Schema):
    template_id: ObjectId
    form: InspectionForm
    enterprise_id: ObjectId | None = None
    place_id: ObjectId | None = None
    plan_id: ObjectId | None = None
    inspector_ids: list[ObjectId] = []
    participants: str = Field("", max_length=300)


class ResultIn(Schema):
    item_id: ObjectId
    outcome: ItemOutcome
    note: str = Field("", max_length=500)


class SubmitIn(Schema):
    summary: str = Field("", max_length=5000)


class HazardRef(Schema):
    id: int
    number: str
    title: str
    state: str


class NoticeIn(Schema):
    hazard_ids: list[ObjectId]
    due_at: datetime


class NoticeOut(Schema):
    id: int
    number: str
    inspection_id: int
    issued_at: datetime
    due_at: datetime
    hazards: list[HazardRef]


class PlanIn(Schema):
    name: str = Field(..., max_length=150)
    region_code: str = Field(..., max_length=15)
    template_id: ObjectId
    form: InspectionForm
    interval_days: int = Field(30, ge=1, le=366)
    starts_on: date
    ends_on: date
    enterprise_ids: list[ObjectId] = []
    place_ids: list[ObjectId] = []


class PlanOut(Schema):
    id: int
    name: str
    region_code: str = Field(alias="region.code")
    template_id: int
    form: InspectionForm
    interval_days: int
    starts_on: date
    ends_on: date


class CoverageRowOut(Schema):
    kind: Literal["enterprise", "place"]
    id: int
    name: str
    last_inspected_at: datetime | None
    covered: bool


class CoverageOut(Schema):
    since: datetime
    total: int
    inspected: int
    percent: float
    rows: list[CoverageRowOut]


class LedgerPage(Schema):
    kind: str
    title: str
    headers: list[str]
    rows: list[list]
    count: int
    page: int
    page_size: int


class StatisticsRowOut(Schema):
    code: str
    name: str
    found: int
    found_general: int
    found_major: int
    found_ungraded: int
    closed: int
    closed_major: int
    due: int
    on_time: int
    overdue: int
    on_time_rate: float | None
    average_days_to_close: float | None


class QuarterlyOut(Schema):
    year: int
    quarter: int
    starts: datetime
    ends: datetime
    due_on: date
    rows: list[StatisticsRowOut]
    total: StatisticsRowOut


class DashboardOut(Schema):
    totals: dict[str, int]
    by_township: list[dict]
    by_category: list[dict]
    by_source: list[dict]
