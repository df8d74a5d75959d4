"""/api/v1 of shelters and evacuee registration.

Shelters: list (filters class, level, status, region, free places), detail with occupancy,
percentage, needs summary and recent timeline; POST open / close. Evacuees: POST check-in
(one person or a whole family), POST check-out, and the masked list of a shelter's stays.
A shelter outside the user's scope is a 404; a closed or full shelter, a person already
present elsewhere, or a stay already closed a 409; the wrong role a 403; bad input a 422.
Names, ID numbers, phones and needs are masked here always: the clear view is a logged
page action with a reason.
"""

from datetime import datetime
from typing import Annotated

from django.db.models import F, Q
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Field, FilterLookup, FilterSchema, Query, Router, Schema, Status
from ninja.pagination import paginate

from frontline.community.models import Resident
from frontline.core.crypto import mask_id_number, mask_name, mask_phone
from frontline.core.errors import InvalidInput
from frontline.core.pagination import Pages
from frontline.core.schemas import ObjectId, region_subtree_q
from frontline.core.schemas_tasks import actor_name
from frontline.resources.models import (
    Evacuee,
    EvacueeNeed,
    Gender,
    Shelter,
    ShelterClass,
    ShelterLevel,
    ShelterStatus,
)
from frontline.resources.services import evacuees as evacuee_services
from frontline.resources.services import shelters as services
from frontline.resources.services.events import timeline

router = Router(tags=["resources"])

EVENTS_SHOWN = 50


# --- schemas ---------------------------------------------------------------------------------


class ShelterOut(Schema):
    id: int
    name: str
    shelter_class: ShelterClass
    shelter_class_label: str = Field(alias="get_shelter_class_display")
    level: ShelterLevel
    level_label: str = Field(alias="get_level_display")
    status: ShelterStatus
    status_label: str = Field(alias="get_status_display")
    region_code: str = Field(alias="region.code")
    region_name: str = Field(alias="region.name")
    address: str
    lon: float = Field(description="经度（WGS-84）")
    lat: float = Field(description="纬度（WGS-84）")
    usable_area_m2: float = Field(description="有效避难面积（平方米）")
    area_capacity: int = Field(description="按每人 1.5 平方米可容纳人数")
    capacity: int = Field(description="容纳人数")
    capacity_reason: str = Field(description="容纳人数超出面积标准的理由")
    occupancy: int = Field(description="当前安置人数")
    occupancy_percent: int = Field(description="安置率（%）")
    free: int = Field(description="剩余床位")
    facilities: list[str] = Field(alias="facility_list", description="配套设施代码")
    opened_at: datetime | None
    updated_at: datetime

    @staticmethod
    def resolve_free(obj) -> int:
        return services.free_places(obj)


class ManagerOut(Schema):
    id: int
    name: str
    mobile: str = Field(description="脱敏手机号")

    @staticmethod
    def resolve_mobile(obj) -> str:
        return mask_phone(obj.mobile)


class EventOut(Schema):
    id: int
    at: datetime
    kind: str
    from_state: str
    to_state: str
    note: str
    actor_name: str | None = None
    data: dict

    @staticmethod
    def resolve_actor_name(obj) -> str | None:
        return actor_name(obj.actor)


class ShelterDetail(ShelterOut):
    notes: str
    manager: ManagerOut | None
    needs: dict[str, int] = Field(description="在场人员按需求统计（含 total）")
    timeline: list[EventOut] = Field(description="最近的事件，新的在前")


class ShelterFilter(FilterSchema):
    shelter_class: ShelterClass | None = None
    level: ShelterLevel | None = None
    status: ShelterStatus | None = None
    region: str | None = Field(None, description="区划代码（含下级）")
    free: bool | None = Field(None, description="true：开放且有空余床位")
    q: Annotated[str | None, FilterLookup(["name__icontains", "address__icontains"])] = Field(
        None, max_length=100, description="名称或地址包含"
    )

    def filter_region(self, value):
        return region_subtree_q(value)

    def filter_free(self, value):
        if value is None:
            return Q()
        query = Q(status=ShelterStatus.OPEN, occupancy__lt=F("capacity"))
        return query if value else ~query


class NoteIn(Schema):
    note: str = Field("", max_length=2000)


class PersonIn(Schema):
    name: str = Field("", max_length=50, description="姓名（关联居民档案时可留空）")
    gender: Gender | None = None
    age: int | None = Field(None, ge=0, le=130)
    id_number: str = Field("", max_length=25, description="身份证号（校验位正确的 18 位）")
    phone: str = Field("", max_length=32)
    needs: list[EvacueeNeed] = Field(default_factory=list, max_length=20)
    needs_note: str = Field("", max_length=500)
    bed_no: str = Field("", max_length=20)
    home_address: str = Field("", max_length=200, description="留空取家庭原住址")
    resident_id: ObjectId | None = Field(None, description="社区居民档案编号")


class CheckInIn(Schema):
    people: list[PersonIn] = Field(max_length=evacuee_services.MAX_PEOPLE)
    household_head: str = Field("", max_length=50, description="户主（留空取第一人）")
    home_address: str = Field("", max_length=200)
    group_no: int | None = Field(None, ge=1, description="加入已有家庭编号；留空新编")
    at: datetime | None = Field(None, description="入住时间，默认现在")


class CheckOutIn(Schema):
    evacuee_ids: list[ObjectId] = Field(max_length=500)
    destination: str = Field("", max_length=120, description="去向")
    at: datetime | None = Field(None, description="离开时间，默认现在")


class EvacueeOut(Schema):
    """One stay, masked."""

    id: int
    shelter_id: int
    group_no: int | None
    household_head: str
    name: str
    gender: str
    age: int | None
    id_number: str
    phone: str
    has_needs: bool = Field(description="是否有特殊需求（明文仅在页面记录查看）")
    bed_no: str
    checked_in_at: datetime
    checked_out_at: datetime | None
    destination: str
    resident_id: int | None

    @staticmethod
    def resolve_household_head(obj) -> str:
        return mask_name(obj.household_head)

    @staticmethod
    def resolve_name(obj) -> str:
        return mask_name(obj.name)

    @staticmethod
    def resolve_id_number(obj) -> str:
        return mask_id_number(obj.id_number)

    @staticmethod
    def resolve_phone(obj) -> str:
        return mask_phone(obj.phone)

    @staticmethod
    def resolve_has_needs(obj) -> bool:
        return bool(obj.needs or obj.needs_note)


class CheckInOut(Schema):
    shelter: ShelterOut
    evacuees: list[EvacueeOut]


# --- shelters --------------------------------------------------------------------------------


def _shelters(request):
    return Shelter.objects.visible_to(request.user).select_related("region", "manager")


def _shelter_or_404(request, shelter_id: int) -> Shelter:
    shelter = _shelters(request).filter(pk=shelter_id).first()
    if shelter is None:
        raise Http404
    return shelter


def _detail(request, shelter_id: int) -> Shelter:
    shelter = _shelter_or_404(request, shelter_id)
    shelter.needs = services.needs_summary(shelter)
    events = timeline(shelter).select_related("actor__person").order_by("-at", "-id")
    shelter.timeline = list(events[:EVENTS_SHOWN])
    return shelter


@router.get(
    "/shelters",
    response=list[ShelterOut],
    summary="避难场所列表（按类别、级别、状态、区划、是否有空位筛选）",
)
@paginate(Pages)
def list_shelters(request, filters: Query[ShelterFilter]):
    return filters.filter(_shelters(request)).order_by(
        "region__code", "shelter_class", "name", "id"
    )


@router.get("/shelters/{shelter_id}", response=ShelterDetail, summary="避难场所详情（含安置情况）")
def shelter_detail(request, shelter_id: ObjectId):
    return _detail(request, shelter_id)


@router.post("/shelters/{shelter_id}/open", response=ShelterDetail, summary="开放避难场所")
def open_shelter(request, shelter_id: ObjectId, payload: NoteIn):
    services.open_shelter(
        actor=request.user, shelter=_shelter_or_404(request, shelter_id), note=payload.note
    )
    return _detail(request, shelter_id)


@router.post(
    "/shelters/{shelter_id}/close",
    response=ShelterDetail,
    summary="关闭避难场所（场内仍有人员时拒绝）",
)
def close_shelter(request, shelter_id: ObjectId, payload: NoteIn):
    services.close_shelter(
        actor=request.user, shelter=_shelter_or_404(request, shelter_id), note=payload.note
    )
    return _detail(request, shelter_id)


# --- evacuees --------------------------------------------------------------------------------


def _arrival(request, person: PersonIn) -> evacuee_services.Arrival:
    resident = None
    if person.resident_id is not None:
        # The service checks that the registrar may read the record (422 otherwise); an
        # unknown id gets the same answer as one out of scope.
        resident = Resident.objects.filter(pk=person.resident_id).first() or Resident(
            pk=person.resident_id
        )
    return evacuee_services.Arrival(
        name=person.name,
        gender=person.gender or "",
        age=person.age,
        id_number=person.id_number,
        phone=person.phone,
        needs=list(person.needs),
        needs_note=person.needs_note,
        bed_no=person.bed_no,
        home_address=person.home_address,
        resident=resident,
    )


@router.post(
    "/shelters/{shelter_id}/check-in",
    response={201: CheckInOut},
    summary="登记入住（一人或一户）",
)
def check_in(request, shelter_id: ObjectId, payload: CheckInIn):
    shelter = _shelter_or_404(request, shelter_id)
    stays = evacuee_services.check_in(
        actor=request.user,
        shelter=shelter,
        people=[_arrival(request, person) for person in payload.people],
        household_head=payload.household_head,
        home_address=payload.home_address,
        group_no=payload.group_no,
        at=payload.at,
    )
    return Status(201, {"shelter": _shelter_or_404(request, shelter_id), "evacuees": stays})


@router.post(
    "/shelters/{shelter_id}/check-out",
    response=CheckInOut,
    summary="办理离开（一人或多人）",
)
def check_out(request, shelter_id: ObjectId, payload: CheckOutIn):
    shelter = _shelter_or_404(request, shelter_id)
    ids = sorted(set(payload.evacuee_ids))
    stays = list(Evacuee.objects.visible_to(request.user).filter(shelter=shelter, pk__in=ids))
    if len(stays) != len(ids):
        found = {stay.pk for stay in stays}
        missing = "、".join(str(pk) for pk in ids if pk not in found)
        message = _("不是本场所的登记人员：%(ids)s") % {"ids": missing}
        raise InvalidInput(_("输入有误，请检查标注的字段"), details={"evacuee_ids": message})
    done = evacuee_services.check_out(
        actor=request.user, evacuees=stays, destination=payload.destination, at=payload.at
    )
    return {"shelter": _shelter_or_404(request, shelter_id), "evacuees": done}


@router.get(
    "/shelters/{shelter_id}/evacuees",
    response=list[EvacueeOut],
    summary="避难场所的登记人员（脱敏；present=true 仅在场）",
)
@paginate(Pages)
def list_evacuees(request, shelter_id: ObjectId, present: bool | None = None):
    shelter = _shelter_or_404(request, shelter_id)
    stays = Evacuee.objects.visible_to(request.user).filter(shelter=shelter)
    if present is not None:
        stays = stays.filter(checked_out_at__isnull=present)
    return stays.order_by("checked_in_at", "id")
