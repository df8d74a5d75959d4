"""/api/v1 of households, residents and home visits.

Everything is read through `visible_households` / `visible_residents` (the scope narrowed to
where the user holds `view_residents`): a list answers 403 to a user without it anywhere, a
detail outside it 404. Protected fields leave only masked; the clear value of one field is
`POST /residents/{id}/reveal` with a reason, logged as a SensitiveAccess row.
"""

from datetime import datetime, timedelta

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, FilterSchema, Form, Query, Router, Schema, Status, UploadedFile
from ninja.pagination import paginate

from frontline.community.models import Building, Mobility, Relation, VulnerableCategory
from frontline.community.services import households as household_services
from frontline.community.services import importing_residents
from frontline.community.services import residents as resident_services
from frontline.community.services.households import (
    may_read_roll,
    visible_households,
    visible_residents,
)
from frontline.core.crypto import mask_name
from frontline.core.errors import InvalidInput, PermissionDenied
from frontline.core.models import Person, Region
from frontline.core.pagination import Pages
from frontline.core.schemas import ObjectId, region_subtree_q

router = Router(tags=["community-households"])


# --- schemas --------------------------------------------------------------------------------


class HouseholdOut(Schema):
    id: int
    address: str
    region_id: int
    region_code: str = Field(alias="region.code")
    region_name: str = Field(alias="region.name")
    building_id: int | None
    lon: float | None
    lat: float | None
    group_leader_id: int | None
    dilapidated: bool
    low_lying: bool
    geohazard: bool
    home_risks: list[str]
    notes: str
    updated_at: datetime


class HouseholdIn(Schema):
    region_code: str = Field(min_length=6, max_length=15)
    address: str = Field(min_length=1, max_length=200)
    building_id: ObjectId | None = None
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    group_leader_id: ObjectId | None = None
    dilapidated: bool = False
    low_lying: bool = False
    geohazard: bool = False
    notes: str = Field("", max_length=2000)


class HouseholdPatch(Schema):
    address: str | None = Field(None, min_length=1, max_length=200)
    building_id: ObjectId | None = None
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    group_leader_id: ObjectId | None = None
    dilapidated: bool | None = None
    low_lying: bool | None = None
    geohazard: bool | None = None
    notes: str | None = Field(None, max_length=2000)


class HouseholdFilter(FilterSchema):
    region: str | None = Field(None, description="区划代码（含下级）")
    q: str | None = Field(None, description="门牌地址包含")
    building_id: ObjectId | None = None

    def filter_region(self, value):
        return region_subtree_q(value)

    def filter_q(self, value):
        from django.db.models import Q

        return Q(address__icontains=value) if value else Q()


class ResidentOut(Schema):
    """A resident as every list and detail shows them: masked."""

    id: int
    household_id: int
    household_address: str = Field(alias="household.address")
    region_code: str = Field(alias="region.code")
    name_masked: str
    gender: str
    birth_year: int | None
    relation: str
    id_number_masked: str
    phone_masked: str
    is_vulnerable: bool
    categories_masked: str
    mobility: str
    helper_id: int | None
    backup_helper_id: int | None
    last_visited_at: datetime | None
    updated_at: datetime

    @staticmethod
    def resolve_name_masked(obj) -> str:
        return mask_name(obj.name)

    @staticmethod
    def resolve_categories_masked(obj) -> str:
        return "***" if obj.is_vulnerable else ""


class ResidentIn(Schema):
    household_id: ObjectId
    name: str = Field(min_length=1, max_length=50)
    relation: Relation = Relation.OTHER
    id_number: str = Field("", max_length=32)
    gender: str = Field("", max_length=8)
    birth_year: int | None = Field(None, ge=1880, le=2100)
    phone: str = Field("", max_length=32)
    categories: list[VulnerableCategory] = []
    health_notes: str = Field("", max_length=2000)
    mobility: Mobility | None = None
    helper_id: ObjectId | None = None
    backup_helper_id: ObjectId | None = None


class ResidentPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=50)
    relation: Relation | None = None
    id_number: str | None = Field(None, max_length=32)
    gender: str | None = Field(None, max_length=8)
    birth_year: int | None = Field(None, ge=1880, le=2100)
    phone: str | None = Field(None, max_length=32)
    categories: list[VulnerableCategory] | None = None
    health_notes: str | None = Field(None, max_length=2000)
    mobility: Mobility | None = None
    helper_id: ObjectId | None = None
    backup_helper_id: ObjectId | None = None


class ResidentFilter(Schema):
    region: str | None = Field(None, description="区划代码（含下级）")
    household_id: ObjectId | None = None
    vulnerable: bool | None = None
    mobility: Mobility | None = None
    category: VulnerableCategory | None = Field(
        None, description="重点人群类别（类别加密存储，在服务端逐行解密筛选）"
    )
    without_helper: bool | None = None
    not_visited_days: int | None = Field(None, ge=1, le=3650)


class MoveIn(Schema):
    household_id: ObjectId


class VisitIn(Schema):
    resident_id: ObjectId | None = None
    at: datetime | None = None
    note: str = Field("", max_length=2000)


class VisitOut(Schema):
    id: int
    household_id: int
    resident_id: int | None
    at: datetime
    visitor_id: int | None
    note: str


class ResidentRevealIn(Schema):
    field: str = Field(pattern="^(name|id_number|phone|categories|health_notes)$")
    reason: str = Field(max_length=200)


class RevealOut(Schema):
    field: str
    value: str


class ImportReportOut(Schema):
    total: int
    created: int
    households_created: int
    error_rows: int
    valid_rows: int
    imported: bool
    valid_rows_only: bool
    errors: list[dict]


# --- helpers --------------------------------------------------------------------------------


def _roll_or_403(request) -> None:
    if not may_read_roll(request.user):
        raise PermissionDenied(_("您没有查看居民名册的权限"))


def _households(request):
    return visible_households(request.user).select_related("region")


def _residents(request):
    return visible_residents(request.user).select_related("region", "household")


def _found(queryset, pk, field: str, message):
    if pk is None:
        return None
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise InvalidInput(message, details={field: message})
    return found


def _person(request, pk, field: str):
    return _found(Person.objects.visible_to(request.user), pk, field, _("人员不存在或不可见"))


def _building(request, pk):
    return _found(Building.objects.visible_to(request.user), pk, "building_id", _("楼栋不存在"))


def _relations(request, changes: dict) -> dict:
    """Ids of the payload → objects the user sees (or 422)."""
    if "building_id" in changes:
        changes["building"] = _building(request, changes.pop("building_id"))
    for field in ("group_leader", "helper", "backup_helper"):
        if f"{field}_id" in changes:
            changes[field] = _person(request, changes.pop(f"{field}_id"), f"{field}_id")
    return changes


def filter_residents(residents, filters: ResidentFilter):
    """The filters of the roll and the vulnerable-people list (pages and API). Categories
    are encrypted: the category filter decrypts the scoped vulnerable rows in Python."""
    if filters.region:
        residents = residents.filter(region_subtree_q(filters.region))
    if filters.household_id:
        residents = residents.filter(household_id=filters.household_id)
    if filters.vulnerable is not None:
        residents = residents.filter(is_vulnerable=filters.vulnerable)
    if filters.mobility:
        residents = residents.filter(mobility=filters.mobility)
    if filters.without_helper:
        residents = residents.filter(helper__isnull=True)
    if filters.not_visited_days:
        since = timezone.now() - timedelta(days=filters.not_visited_days)
        residents = residents.exclude(last_visited_at__gte=since)
    if filters.category:
        candidates = residents.filter(is_vulnerable=True).values_list("pk", "categories")
        wanted = filters.category
        matching = [pk for pk, codes in candidates if wanted in codes.split(",")]
        residents = residents.filter(pk__in=matching)
    return residents


# --- households -----------------------------------------------------------------------------


@router.get("/households", response=list[HouseholdOut], summary="住户列表")
@paginate(Pages)
def list_households(request, filters: Query[HouseholdFilter]):
    _roll_or_403(request)
    return filters.filter(_households(request)).order_by("region__code", "address", "id")


@router.get("/households/{household_id}", response=HouseholdOut, summary="住户详情")
def household_detail(request, household_id: ObjectId):
    return get_object_or_404(_households(request), pk=household_id)


@router.post("/households", response={201: HouseholdOut}, summary="新建住户")
def create_household(request, payload: HouseholdIn):
    _roll_or_403(request)
    data = payload.dict()
    code = data.pop("region_code")
    region = Region.objects.visible_to(request.user).filter(code=code).first()
    if region is None:
        message = _("区划不存在或不在管辖范围内")
        raise InvalidInput(message, details={"region_code": message})
    data = _relations(request, data)
    household = household_services.create_household(actor=request.user, region=region, **data)
    return Status(201, get_object_or_404(_households(request), pk=household.pk))


@router.patch("/households/{household_id}", response=HouseholdOut, summary="修改住户")
def update_household(request, household_id: ObjectId, payload: HouseholdPatch):
    household = get_object_or_404(_households(request), pk=household_id)
    changes = _relations(request, payload.dict(exclude_unset=True))
    household_services.update_household(actor=request.user, household=household, **changes)
    return get_object_or_404(_households(request), pk=household.pk)


@router.get("/households/{household_id}/visits", response=list[VisitOut], summary="走访记录")
@paginate(Pages)
def list_visits(request, household_id: ObjectId):
    household = get_object_or_404(_households(request), pk=household_id)
    return household.visits.order_by("-at", "-id")


@router.post("/households/{household_id}/visits", response={201: VisitOut}, summary="登记走访")
def record_visit(request, household_id: ObjectId, payload: VisitIn):
    household = get_object_or_404(_households(request), pk=household_id)
    resident = _found(
        visible_residents(request.user), payload.resident_id, "resident_id", _("居民不存在")
    )
    visit = household_services.record_visit(
        actor=request.user,
        household=household,
        resident=resident,
        at=payload.at,
        note=payload.note,
    )
    return Status(201, visit)


# --- residents ------------------------------------------------------------------------------


@router.get("/residents", response=list[ResidentOut], summary="居民列表（脱敏）")
@paginate(Pages)
def list_residents(request, filters: Query[ResidentFilter]):
    _roll_or_403(request)
    return filter_residents(_residents(request), filters).order_by(
        "region__code", "household__address", "id"
    )


@router.get("/residents/export", summary="导出居民名册（XLSX，全部脱敏）")
def export_residents(request, filters: Query[ResidentFilter]):
    _roll_or_403(request)
    queryset = filter_residents(_residents(request), filters)
    content = importing_residents.export_residents(actor=request.user, queryset=queryset)
    response = HttpResponse(content, content_type=importing_residents.XLSX_CONTENT_TYPE)
    name = f"residents-{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@router.post(
    "/residents/import", response=ImportReportOut, summary="导入居民（XLSX），返回逐行校验报告"
)
def import_residents(request, file: File[UploadedFile], valid_rows_only: Form[bool] = False):
    _roll_or_403(request)
    report = importing_residents.import_residents(
        actor=request.user, file=file, valid_rows_only=valid_rows_only
    )
    return report.as_dict()


@router.get("/residents/{resident_id}", response=ResidentOut, summary="居民详情（脱敏）")
def resident_detail(request, resident_id: ObjectId):
    return get_object_or_404(_residents(request), pk=resident_id)


@router.post("/residents", response={201: ResidentOut}, summary="登记居民")
def create_resident(request, payload: ResidentIn):
    _roll_or_403(request)
    data = payload.dict()
    household = _found(
        _households(request), data.pop("household_id"), "household_id", _("住户不存在")
    )
    data["mobility"] = data["mobility"] or ""
    data = _relations(request, data)
    resident = resident_services.create_resident(actor=request.user, household=household, **data)
    return Status(201, get_object_or_404(_residents(request), pk=resident.pk))


@router.patch("/residents/{resident_id}", response=ResidentOut, summary="修改居民")
def update_resident(request, resident_id: ObjectId, payload: ResidentPatch):
    resident = get_object_or_404(_residents(request), pk=resident_id)
    changes = _relations(request, payload.dict(exclude_unset=True))
    if "mobility" in changes:
        changes["mobility"] = changes["mobility"] or ""
    resident_services.update_resident(actor=request.user, resident=resident, **changes)
    return get_object_or_404(_residents(request), pk=resident.pk)


@router.post("/residents/{resident_id}/move", response=ResidentOut, summary="迁入其他住户")
def move_resident(request, resident_id: ObjectId, payload: MoveIn):
    resident = get_object_or_404(_residents(request), pk=resident_id)
    household = _found(_households(request), payload.household_id, "household_id", _("住户不存在"))
    resident_services.move_resident(actor=request.user, resident=resident, household=household)
    return get_object_or_404(_residents(request), pk=resident.pk)


@router.delete("/residents/{resident_id}", response={204: None}, summary="注销居民")
def remove_resident(request, resident_id: ObjectId):
    resident = get_object_or_404(_residents(request), pk=resident_id)
    resident_services.remove_resident(actor=request.user, resident=resident)
    return Status(204, None)


@router.post(
    "/residents/{resident_id}/reveal",
    response=RevealOut,
    summary="查看居民敏感字段明文（须填写事由，记录访问日志）",
)
def reveal_resident_field(request, resident_id: ObjectId, payload: ResidentRevealIn):
    resident = get_object_or_404(_residents(request), pk=resident_id)
    value = resident_services.reveal_resident_field(
        actor=request.user,
        resident=resident,
        field=payload.field,
        reason=payload.reason,
        remote_addr=request.META.get("REMOTE_ADDR"),
    )
    return {"field": payload.field, "value": value}
