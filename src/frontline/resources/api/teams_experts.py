"""/api/v1 of experts (应急专家): list and detail with the mobile masked, the writes, and the
logged clear view of the mobile (`POST /experts/{id}/reveal`, the way the core reveals a
person's field: a SensitiveAccess row per view, only with VIEW_PERSONAL_DATA). Included by
`api/teams.py`."""

from datetime import datetime

from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from frontline.core import services as core_services
from frontline.core.errors import InvalidInput
from frontline.core.pagination import Pages
from frontline.core.schemas import ObjectId
from frontline.core.scoping import subtree_q
from frontline.core.views.common import client_addr
from frontline.resources.api.teams_common import (
    EventOut,
    events_of,
    person_or_422,
    region_or_422,
)
from frontline.resources.models import Expert, ExpertAvailability, ExpertField
from frontline.resources.services import experts as services

router = Router(tags=["resources"])


class ExpertOut(Schema):
    id: int
    person_id: int
    name: str = Field(alias="person.name")
    mobile_masked: str = Field(alias="person.mobile_masked", description="手机号（脱敏）")
    region_code: str = Field(alias="region.code")
    region_name: str = Field(alias="region.name")
    field: str
    field_label: str = Field(alias="get_field_display")
    specialty: str
    title: str
    employer: str
    availability: str
    availability_label: str = Field(alias="get_availability_display")
    updated_at: datetime


class ExpertDetail(ExpertOut):
    notes: str
    timeline: list[EventOut] = Field(description="最近的事件，先早后晚")


class ExpertFilter(Schema):
    field: str | None = Field(None, max_length=20, description="专业领域")
    availability: str | None = Field(None, max_length=12)
    region: str | None = Field(None, max_length=20, description="区划代码（含下级）")
    q: str | None = Field(None, max_length=100, description="姓名、专长或单位包含，或手机尾号")


class ExpertIn(Schema):
    region_code: str = Field(max_length=20)
    field: str = Field(max_length=20)
    person_id: ObjectId | None = Field(None, description="人员库中的人员；空则按姓名、手机号新建")
    name: str = Field("", max_length=50)
    mobile: str = Field("", max_length=20)
    specialty: str = Field("", max_length=200)
    title: str = Field("", max_length=40)
    employer: str = Field("", max_length=120)
    notes: str = Field("", max_length=2000)


class ExpertPatch(Schema):
    field: str | None = Field(None, max_length=20)
    specialty: str | None = Field(None, max_length=200)
    title: str | None = Field(None, max_length=40)
    employer: str | None = Field(None, max_length=120)
    notes: str | None = Field(None, max_length=2000)


class ExpertAvailabilityIn(Schema):
    availability: str = Field(max_length=12, description="available、busy 或 unavailable")
    note: str = Field("", max_length=500)


class ExpertRevealIn(Schema):
    reason: str = Field("", max_length=200)


class ExpertRevealOut(Schema):
    field: str
    value: str


def experts_of(request):
    return Expert.objects.visible_to(request.user).select_related("person", "region")


def expert_or_404(request, expert_id: int) -> Expert:
    expert = experts_of(request).filter(pk=expert_id).first()
    if expert is None:
        raise Http404
    return expert


def _detail(request, expert_id: int) -> Expert:
    expert = expert_or_404(request, expert_id)
    expert.timeline = events_of("expert", expert.pk)
    return expert


@router.get(
    "/experts", response=list[ExpertOut], summary="应急专家列表（按领域、可用状态筛选；手机号脱敏）"
)
@paginate(Pages)
def list_experts(request, filters: Query[ExpertFilter]):
    queryset = experts_of(request)
    if filters.field:
        if filters.field not in ExpertField.values:
            raise InvalidInput(_("专业领域不正确"), details={"field": _("不在可选值之内")})
        queryset = queryset.filter(field=filters.field)
    if filters.availability:
        if filters.availability not in ExpertAvailability.values:
            raise InvalidInput(_("可用状态不正确"), details={"availability": _("不在可选值之内")})
        queryset = queryset.filter(availability=filters.availability)
    if filters.region:
        region = region_or_422(request, filters.region, "region")
        queryset = queryset.filter(subtree_q("region__path", [region.path]))
    if filters.q:
        text = filters.q
        queryset = queryset.filter(
            Q(person__name__icontains=text)
            | Q(specialty__icontains=text)
            | Q(employer__icontains=text)
            | Q(person__mobile_tail=text)
        )
    return queryset.order_by("region__code", "field", "pk")


@router.get("/experts/{expert_id}", response=ExpertDetail, summary="专家详情（手机号脱敏）")
def expert_detail(request, expert_id: ObjectId):
    return _detail(request, expert_id)


@router.post("/experts", response={201: ExpertDetail}, summary="登记应急专家")
def create_expert(request, payload: ExpertIn):
    data = payload.dict()
    region = region_or_422(request, data.pop("region_code"))
    person = person_or_422(request, data.pop("person_id"))
    expert = services.create_expert(actor=request.user, region=region, person=person, **data)
    return Status(201, _detail(request, expert.pk))


@router.patch("/experts/{expert_id}", response=ExpertDetail, summary="修改专家信息")
def update_expert(request, expert_id: ObjectId, payload: ExpertPatch):
    expert = expert_or_404(request, expert_id)
    services.update_expert(actor=request.user, expert=expert, **payload.dict(exclude_unset=True))
    return _detail(request, expert_id)


@router.post("/experts/{expert_id}/availability", response=ExpertDetail, summary="改变专家可用状态")
def set_availability(request, expert_id: ObjectId, payload: ExpertAvailabilityIn):
    expert = expert_or_404(request, expert_id)
    services.set_expert_availability(
        actor=request.user, expert=expert, availability=payload.availability, note=payload.note
    )
    return _detail(request, expert_id)


@router.post(
    "/experts/{expert_id}/reveal",
    response=ExpertRevealOut,
    summary="查看专家手机号明文（需查看个人敏感信息权限，记录访问日志）",
)
def reveal_mobile(request, expert_id: ObjectId, payload: ExpertRevealIn):
    expert = expert_or_404(request, expert_id)
    value = core_services.reveal_personal_field(
        actor=request.user,
        obj=expert.person,
        field="mobile",
        reason=payload.reason,
        remote_addr=client_addr(request),
    )
    return {"field": "mobile", "value": value}
