"""Schemas of the hazard API (/api/v1/hazards): 发现 → 确认 → 管控 → 整改 → 待验收 → 核销."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from django.db.models import Q
from django.utils import timezone
from ninja import Field, FilterLookup, FilterSchema, Schema

from frontline.core.api.attachments import AttachmentOut
from frontline.core.crypto import mask_phone
from frontline.core.schemas import ObjectId, region_subtree_q
from frontline.core.schemas_tasks import actor_name
from frontline.hazards.models import HazardLevel, HazardSource, HazardState
from frontline.hazards.models.hazards import open_q, overdue_q
from frontline.hazards.services.loop_rules import (
    listed_of,
    plan_of,
)


class HazardOut(Schema):
    id: int
    number: str = Field(description="隐患编号，如 YH-330603101-2026-00012")
    title: str
    description: str
    state: HazardState
    state_label: str = Field(alias="get_state_display")
    level: str = Field(description="general / major；确认前为空")
    level_label: str = Field(alias="get_level_display")
    level_basis: str
    source: HazardSource
    source_label: str = Field(alias="get_source_display")
    region_id: int
    region_code: str = Field(alias="region.code")
    region_name: str = Field(alias="region.name")
    enterprise_id: int | None
    enterprise_name: str | None = Field(None, alias="enterprise.name")
    place_id: int | None
    place_name: str | None = Field(None, alias="place.name")
    lon: float | None = Field(None, description="经度（WGS-84）")
    lat: float | None = Field(None, description="纬度（WGS-84）")
    responsible_person: str
    found_at: datetime
    confirmed_at: datetime | None
    due_at: datetime | None = Field(description="整改期限")
    verify_due_at: datetime | None = Field(description="验收期限（报告整改完成后 10 天）")
    next_remind_at: datetime | None
    extension_requested_until: datetime | None = Field(description="待审批的延期申请")
    extension_reason: str
    rectified_at: datetime | None
    closed_at: datetime | None
    reported_by_id: int | None
    rectifier_id: int | None
    verifier_id: int | None
    supervised_task_id: int | None = Field(description="逾期后下达的督办任务")
    reporter_name: str
    reporter_phone: str = Field(description="举报人电话（脱敏）")
    is_overdue: bool = Field(description="未核销且已过整改期限")

    @staticmethod
    def resolve_reporter_phone(obj) -> str:
        return mask_phone(obj.reporter_phone)

    @staticmethod
    def resolve_is_overdue(obj) -> bool:
        return obj.is_overdue()


class HazardEventOut(Schema):
    id: int
    at: datetime
    kind: str
    from_state: str
    to_state: str
    note: str
    actor_id: int | None
    actor_name: str | None = None
    data: dict

    @staticmethod
    def resolve_actor_name(obj) -> str | None:
        return actor_name(obj.actor)


class TreatmentPlanOut(Schema):
    current_state: str
    danger_analysis: str
    goal: str
    measures: str
    funds: Decimal
    responsible_unit: str
    responsible_person: str
    time_limit: date
    safety_measures: str
    emergency_plan: str
    approved_at: datetime | None


class ListedSupervisionOut(Schema):
    supervising_region_code: str = Field(alias="supervising_region.code")
    supervising_region_name: str = Field(alias="supervising_region.name")
    document_number: str
    deadline: datetime
    listed_at: datetime
    lifted_at: datetime | None


class HazardDetail(HazardOut):
    timeline: list[HazardEventOut] = Field(description="事件时间线，先早后晚")
    attachments: list[AttachmentOut] = Field(description="照片和文件")
    actions: list[str] = Field(description="当前用户可执行的操作")
    treatment_plan: TreatmentPlanOut | None = None
    listed_supervision: ListedSupervisionOut | None = None

    @staticmethod
    def resolve_treatment_plan(obj):
        return plan_of(obj)

    @staticmethod
    def resolve_listed_supervision(obj):
        return listed_of(obj)


class HazardIn(Schema):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    source: HazardSource = HazardSource.GRID_WORKER
    region_code: str | None = Field(
        None,
        min_length=6,
        max_length=15,
        description="所属区划；缺省时按坐标定位，或取上报人唯一的管辖区划",
    )
    enterprise_id: ObjectId | None = None
    place_id: ObjectId | None = None
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    coord_system: Literal["wgs84", "gcj02", "bd09"] = Field(
        "wgs84", description="坐标系：手机定位为 wgs84，高德为 gcj02，百度为 bd09"
    )
    reporter_name: str = Field("", max_length=50)
    reporter_phone: str = Field("", max_length=32)


class ConfirmIn(Schema):
    level: HazardLevel
    level_basis: str = Field("", max_length=300, description="定级依据（重大隐患必填）")
    responsible_person: str = Field("", max_length=50)
    due_at: datetime | None = Field(
        None, description="整改期限；缺省一般隐患 15 天、重大隐患 60 天，最长 90 天"
    )
    note: str = Field("", max_length=2000)


class ReasonIn(Schema):
    reason: str = Field("", max_length=2000)


class NoteIn(Schema):
    note: str = Field("", max_length=2000)


class ControlIn(Schema):
    measures: str = Field("", max_length=2000, description="管控措施")


class PlanIn(Schema):
    current_state: str = Field("", max_length=5000)
    danger_analysis: str = Field("", max_length=5000)
    goal: str = Field("", max_length=5000)
    measures: str = Field("", max_length=5000)
    funds: Decimal = Field(ge=0, max_digits=12, decimal_places=2, description="经费（万元）")
    responsible_unit: str = Field("", max_length=100)
    responsible_person: str = Field("", max_length=50)
    time_limit: date
    safety_measures: str = Field("", max_length=5000)
    emergency_plan: str = Field("", max_length=5000)


class ExtensionIn(Schema):
    until: datetime = Field(description="申请延期至（确认后 90 天内）")
    reason: str = Field("", max_length=300)


class RectifiedIn(Schema):
    note: str = Field("", max_length=2000)
    after_photo_ids: list[ObjectId] = Field(
        default_factory=list,
        max_length=50,
        description="整改后照片：先以 /api/v1/attachments 上传到本隐患，再填附件编号",
    )


class ReturnIn(Schema):
    reason: str = Field("", max_length=2000)
    due_at: datetime | None = Field(None, description="新的整改期限（可选）")


class ListIn(Schema):
    supervising_region_code: str = Field(min_length=6, max_length=15)
    document_number: str = Field("", max_length=60)
    deadline: datetime


class HazardFilter(FilterSchema):
    state: HazardState | None = None
    level: HazardLevel | None = None
    source: HazardSource | None = None
    open: bool | None = Field(None, description="true：未核销；false：已核销或不予认定")
    overdue: bool | None = Field(None, description="true：未核销且已过整改期限")
    region: str | None = Field(None, description="区划代码（含下级）")
    enterprise: ObjectId | None = Field(None, description="企业编号")
    place: ObjectId | None = Field(None, description="场所编号")
    q: Annotated[
        str | None,
        FilterLookup(["title__icontains", "number__icontains", "description__icontains"]),
    ] = Field(None, max_length=100, description="描述或编号包含")

    def filter_open(self, value):
        if value is None:
            return Q()
        query = open_q()
        return query if value else ~query

    def filter_overdue(self, value):
        if value is None:
            return Q()
        query = overdue_q(timezone.now())
        return query if value else ~query

    def filter_region(self, value):
        return region_subtree_q(value)

    def filter_enterprise(self, value):
        return Q() if value is None else Q(enterprise_id=value)

    def filter_place(self, value):
        return Q() if value is None else Q(place_id=value)
