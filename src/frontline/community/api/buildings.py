"""/api/v1 of community buildings (一楼一档) and public safety facilities: lists, details,
create and change, the building ledger as XLSX, the logged clear view of the responsible
person's phone, and the checks of a facility."""

from datetime import date, datetime
from typing import Annotated

from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import (
    Field,
    File,
    FilterLookup,
    FilterSchema,
    Form,
    Query,
    Router,
    Schema,
    Status,
    UploadedFile,
)
from ninja.pagination import paginate

from frontline.community.models import (
    Building,
    BuildingStructure,
    BuildingUse,
    FacilityCheck,
    FacilityKind,
    FacilityStatus,
    SafetyFacility,
)
from frontline.community.models.buildings import UNSAFE_CHARGING, high_rise_q
from frontline.community.services import buildings as building_services
from frontline.community.services import facilities as facility_services
from frontline.community.services import importing_buildings as importing
from frontline.core import services as core_services
from frontline.core.errors import InvalidInput
from frontline.core.models import Person, Region
from frontline.core.pagination import Pages
from frontline.core.schemas import ObjectId, region_subtree_q
from frontline.hazards.schemas_objects import ImportReportOut

router = Router(tags=["community"])


# --- schemas --------------------------------------------------------------------------------


class BuildingOut(Schema):
    id: int
    name: str
    address: str
    region_id: int
    region_code: str = Field(alias="region.code")
    region_name: str = Field(alias="region.name")
    lon: float | None
    lat: float | None
    use: BuildingUse
    use_label: str = Field(alias="get_use_display")
    structure: BuildingStructure
    structure_label: str = Field(alias="get_structure_display")
    floors_above: int
    floors_below: int
    height_m: float | None
    is_high_rise: bool
    year_built: int | None
    floor_area: float | None
    dwelling_units: int
    hydrants: int
    extinguishers: int
    smoke_alarms: int
    has_sprinklers: bool
    has_fire_alarm_system: bool
    exits: int
    stairs: int
    ebike_charging: str
    charging_is_unsafe: bool
    responsible_name: str
    responsible_phone_masked: str
    notes: str
    qr_token: str
    updated_at: datetime


class _BuildingFields(Schema):
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    floors_below: int | None = Field(None, ge=0, le=20)
    height_m: float | None = Field(None, ge=0, le=1000)
    year_built: int | None = Field(None, ge=0, le=9999)
    floor_area: float | None = Field(None, ge=0)
    dwelling_units: int | None = Field(None, ge=0, le=100_000)
    hydrants: int | None = Field(None, ge=0, le=32_767)
    extinguishers: int | None = Field(None, ge=0, le=32_767)
    smoke_alarms: int | None = Field(None, ge=0, le=32_767)
    has_sprinklers: bool | None = None
    has_fire_alarm_system: bool | None = None
    exits: int | None = Field(None, ge=0, le=100)
    stairs: int | None = Field(None, ge=0, le=100)
    ebike_charging: str | None = Field(None, max_length=20)
    responsible_name: str | None = Field(None, max_length=50)
    responsible_phone: str | None = Field(None, max_length=32)
    notes: str | None = Field(None, max_length=2000)


class BuildingIn(_BuildingFields):
    name: str = Field(min_length=1, max_length=120)
    address: str = Field(min_length=1, max_length=200)
    region_code: str = Field(min_length=6, max_length=15)
    use: str = Field(max_length=20)
    structure: str = Field(max_length=24)
    floors_above: int = Field(1, ge=0, le=200)


class BuildingPatch(_BuildingFields):
    name: str | None = Field(None, min_length=1, max_length=120)
    address: str | None = Field(None, min_length=1, max_length=200)
    region_code: str | None = Field(None, min_length=6, max_length=15)
    use: str | None = Field(None, max_length=20)
    structure: str | None = Field(None, max_length=24)
    floors_above: int | None = Field(None, ge=0, le=200)


class BuildingFilter(FilterSchema):
    use: BuildingUse | None = None
    structure: BuildingStructure | None = None
    high_rise: bool | None = Field(None, description="高层建筑（GB 50016）")
    unsafe_charging: bool | None = Field(None, description="发现入户/楼道或飞线充电")
    region: str | None = Field(None, description="区划代码（含下级）")
    q: Annotated[str | None, FilterLookup(["name__icontains", "address__icontains"])] = Field(
        None, description="名称或地址包含"
    )

    def filter_region(self, value):
        return region_subtree_q(value)

    def filter_high_rise(self, value):
        if value is None:
            return Q()
        return high_rise_q() if value else ~high_rise_q()

    def filter_unsafe_charging(self, value):
        if value is None:
            return Q()
        unsafe = Q(ebike_charging__in=UNSAFE_CHARGING)
        return unsafe if value else ~unsafe


class RevealIn(Schema):
    field: str = Field(pattern="^responsible_phone$")
    reason: str = Field("", max_length=200)


class RevealOut(Schema):
    field: str
    value: str


class FacilityOut(Schema):
    id: int
    name: str
    kind: FacilityKind
    kind_label: str = Field(alias="get_kind_display")
    status: FacilityStatus
    status_label: str = Field(alias="get_status_display")
    region_id: int
    region_code: str = Field(alias="region.code")
    region_name: str = Field(alias="region.name")
    address: str
    lon: float
    lat: float
    building_id: int | None
    keeper_id: int | None
    check_every_days: int
    last_checked_at: datetime | None
    next_check_due: date
    is_overdue: bool
    notes: str
    qr_token: str
    updated_at: datetime

    @staticmethod
    def resolve_is_overdue(obj) -> bool:
        return obj.is_overdue()


class FacilityIn(Schema):
    kind: str = Field(max_length=24)
    name: str = Field(min_length=1, max_length=120)
    region_code: str = Field(min_length=6, max_length=15)
    address: str = Field("", max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    building_id: ObjectId | None = None
    keeper_id: ObjectId | None = None
    check_every_days: int | None = Field(None, ge=0, le=10_000)
    notes: str = Field("", max_length=2000)


class FacilityPatch(Schema):
    kind: str | None = Field(None, max_length=24)
    name: str | None = Field(None, min_length=1, max_length=120)
    region_code: str | None = Field(None, min_length=6, max_length=15)
    address: str | None = Field(None, max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    building_id: ObjectId | None = None
    keeper_id: ObjectId | None = None
    status: str | None = Field(None, max_length=16)
    check_every_days: int | None = Field(None, ge=0, le=10_000)
    notes: str | None = Field(None, max_length=2000)


class FacilityFilter(FilterSchema):
    kind: FacilityKind | None = None
    status: FacilityStatus | None = None
    overdue: bool | None = Field(None, description="逾期未检（已撤除的除外）")
    building: Annotated[ObjectId | None, FilterLookup("building_id")] = None
    region: str | None = Field(None, description="区划代码（含下级）")
    q: Annotated[str | None, FilterLookup(["name__icontains", "address__icontains"])] = None

    def filter_region(self, value):
        return region_subtree_q(value)

    def filter_overdue(self, value):
        if value is None:
            return Q()
        overdue = Q(next_check_due__lt=timezone.localdate()) & ~Q(status=FacilityStatus.RETIRED)
        return overdue if value else ~overdue


class CheckIn(Schema):
    status: str = Field(max_length=16)
    note: str = Field("", max_length=2000)


class CheckOut(Schema):
    id: int
    facility_id: int
    at: datetime
    status: FacilityStatus
    status_label: str = Field(alias="get_status_display")
    note: str
    checked_by_id: int | None
    patrol_check_in_id: int | None


# --- helpers --------------------------------------------------------------------------------


def _region(request, code: str) -> Region:
    region = Region.objects.visible_to(request.user).filter(code=code).first()
    if region is None:
        raise InvalidInput(
            _("区划不存在"), details={"region_code": _("区划不存在或不在管辖范围内")}
        )
    return region


def _visible_or_invalid(request, queryset, pk, field: str, message):
    if pk is None:
        return None
    found = queryset.visible_to(request.user).filter(pk=pk).first()
    if found is None:
        raise InvalidInput(message, details={field: message})
    return found


def _buildings(request):
    return Building.objects.visible_to(request.user).select_related("region")


def _facilities(request):
    return SafetyFacility.objects.visible_to(request.user).select_related("region")


def _without_nones(data: dict) -> dict:
    """A create payload without the optional fields left out: the service's defaults apply."""
    return {name: value for name, value in data.items() if value is not None}


# --- buildings ------------------------------------------------------------------------------


@router.get("/buildings", response=list[BuildingOut], summary="楼栋列表（一楼一档）")
@paginate(Pages)
def list_buildings(request, filters: Query[BuildingFilter]):
    return filters.filter(_buildings(request)).order_by("region__code", "name", "id")


@router.get("/buildings/export", summary="导出楼栋台账（XLSX，电话脱敏）")
def export_buildings(request, filters: Query[BuildingFilter]):
    content = importing.export_buildings(
        actor=request.user, queryset=filters.filter(_buildings(request))
    )
    response = HttpResponse(content, content_type=importing.XLSX_CONTENT_TYPE)
    name = f"buildings-{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = (
        f"attachment; filename=\"buildings.xlsx\"; filename*=UTF-8''{name}"
    )
    return response


@router.post(
    "/buildings/import",
    response=ImportReportOut,
    summary="导入楼栋台账（XLSX，按区划代码+楼栋名称新增或更新），返回逐行校验报告",
)
def import_buildings(request, file: File[UploadedFile], valid_rows_only: Form[bool] = False):
    report = importing.import_buildings(
        actor=request.user, file=file, valid_rows_only=valid_rows_only
    )
    return report.as_dict()


@router.get("/buildings/{building_id}", response=BuildingOut, summary="楼栋详情")
def building_detail(request, building_id: ObjectId):
    return get_object_or_404(_buildings(request), pk=building_id)


@router.post("/buildings", response={201: BuildingOut}, summary="新建楼栋")
def create_building(request, payload: BuildingIn):
    data = _without_nones(payload.dict())
    region = _region(request, data.pop("region_code"))
    building = building_services.create_building(actor=request.user, region=region, **data)
    return Status(201, get_object_or_404(_buildings(request), pk=building.pk))


@router.patch("/buildings/{building_id}", response=BuildingOut, summary="修改楼栋")
def update_building(request, building_id: ObjectId, payload: BuildingPatch):
    building = get_object_or_404(_buildings(request), pk=building_id)
    changes = payload.dict(exclude_unset=True)
    if "region_code" in changes:
        changes["region"] = _region(request, changes.pop("region_code"))
    building_services.update_building(actor=request.user, building=building, **changes)
    return get_object_or_404(_buildings(request), pk=building.pk)


@router.post(
    "/buildings/{building_id}/reveal",
    response=RevealOut,
    summary="查看责任人电话明文（记录访问日志）",
)
def reveal_building_field(request, building_id: ObjectId, payload: RevealIn):
    building = get_object_or_404(_buildings(request), pk=building_id)
    value = core_services.reveal_personal_field(
        actor=request.user,
        obj=building,
        field=payload.field,
        reason=payload.reason,
        remote_addr=request.META.get("REMOTE_ADDR"),
    )
    return {"field": payload.field, "value": value}


# --- facilities -----------------------------------------------------------------------------


def _links(request, data: dict) -> dict:
    if "building_id" in data:
        data["building"] = _visible_or_invalid(
            request,
            Building.objects,
            data.pop("building_id"),
            "building_id",
            _("楼栋不存在或不可见"),
        )
    if "keeper_id" in data:
        data["keeper"] = _visible_or_invalid(
            request, Person.objects, data.pop("keeper_id"), "keeper_id", _("人员不存在或不可见")
        )
    return data


@router.get("/facilities", response=list[FacilityOut], summary="公共安全设施列表")
@paginate(Pages)
def list_facilities(request, filters: Query[FacilityFilter]):
    return filters.filter(_facilities(request)).order_by("region__code", "kind", "name", "id")


@router.get("/facilities/{facility_id}", response=FacilityOut, summary="设施详情")
def facility_detail(request, facility_id: ObjectId):
    return get_object_or_404(_facilities(request), pk=facility_id)


@router.post("/facilities", response={201: FacilityOut}, summary="登记设施（自动计算下次检查日期）")
def create_facility(request, payload: FacilityIn):
    data = _links(request, _without_nones(payload.dict()))
    region = _region(request, data.pop("region_code"))
    facility = facility_services.create_facility(actor=request.user, region=region, **data)
    return Status(201, get_object_or_404(_facilities(request), pk=facility.pk))


@router.patch("/facilities/{facility_id}", response=FacilityOut, summary="修改设施")
def update_facility(request, facility_id: ObjectId, payload: FacilityPatch):
    facility = get_object_or_404(
        _facilities(request).select_related("building__region", "keeper__region"), pk=facility_id
    )
    changes = _links(request, payload.dict(exclude_unset=True))
    if "region_code" in changes:
        changes["region"] = _region(request, changes.pop("region_code"))
    facility_services.update_facility(actor=request.user, facility=facility, **changes)
    return get_object_or_404(_facilities(request), pk=facility.pk)


@router.get("/facilities/{facility_id}/checks", response=list[CheckOut], summary="设施的检查记录")
@paginate(Pages)
def list_checks(request, facility_id: ObjectId):
    facility = get_object_or_404(_facilities(request), pk=facility_id)
    return FacilityCheck.objects.filter(facility=facility).order_by("-at", "-id")


@router.post(
    "/facilities/{facility_id}/checks",
    response={201: CheckOut},
    summary="记录一次检查（更新状态、最近检查和下次检查日期）",
)
def record_check(request, facility_id: ObjectId, payload: CheckIn):
    facility = get_object_or_404(_facilities(request), pk=facility_id)
    check = facility_services.record_facility_check(
        actor=request.user, facility=facility, status=payload.status, note=payload.note
    )
    return Status(201, check)
