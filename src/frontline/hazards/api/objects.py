"""Supervised objects: enterprises, places, major hazard installations and risk points;
the enterprise spreadsheet import and the XLSX exports."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Status, UploadedFile
from ninja.pagination import paginate

from frontline.core.errors import InvalidInput
from frontline.core.models import Person, Region
from frontline.core.pagination import Pages
from frontline.core.schemas import ObjectId
from frontline.hazards import services
from frontline.hazards.models import Enterprise, MajorHazardInstallation, Place, RiskPoint
from frontline.hazards.schemas_objects import (
    EnterpriseFilter,
    EnterpriseIn,
    EnterpriseOut,
    EnterprisePatch,
    ImportReportOut,
    MajorHazardFilter,
    MajorHazardIn,
    MajorHazardOut,
    MajorHazardPatch,
    PlaceFilter,
    PlaceIn,
    PlaceOut,
    PlacePatch,
    RiskPointFilter,
    RiskPointIn,
    RiskPointOut,
    RiskPointPatch,
)
from frontline.hazards.services.importing import XLSX_CONTENT_TYPE

router = Router(tags=["hazards-objects"])


def _region(request, code: str, field: str = "region_code") -> Region:
    region = Region.objects.visible_to(request.user).filter(code=code).first()
    if region is None:
        raise InvalidInput(_("区划不存在"), details={field: _("区划不存在或不在管辖范围内")})
    return region


def _visible_or_invalid(request, queryset, pk, field: str, message):
    if pk is None:
        return None
    found = queryset.visible_to(request.user).filter(pk=pk).first()
    if found is None:
        raise InvalidInput(message, details={field: message})
    return found


def _xlsx(content: bytes, stem: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    name = f"{stem}-{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = (
        f"attachment; filename=\"{stem}.xlsx\"; filename*=UTF-8''{name}"
    )
    return response


# --- enterprises ----------------------------------------------------------------------------


def _enterprises(request):
    return Enterprise.objects.visible_to(request.user).select_related("region")


@router.get("/enterprises", response=list[EnterpriseOut], summary="企业列表")
@paginate(Pages)
def list_enterprises(request, filters: Query[EnterpriseFilter]):
    return filters.filter(_enterprises(request)).order_by("region__code", "name", "id")


@router.get("/enterprises/export", summary="导出企业台账（XLSX，电话脱敏）")
def export_enterprises(request, filters: Query[EnterpriseFilter]):
    queryset = filters.filter(_enterprises(request))
    content = services.export_enterprises(actor=request.user, queryset=queryset)
    return _xlsx(content, "enterprises")


@router.post(
    "/enterprises/import",
    response=ImportReportOut,
    summary="导入企业台账（XLSX），返回逐行校验报告",
)
def import_enterprises(request, file: File[UploadedFile], valid_rows_only: Form[bool] = False):
    report = services.import_enterprises(
        actor=request.user, file=file, valid_rows_only=valid_rows_only
    )
    return report.as_dict()


@router.get("/enterprises/{enterprise_id}", response=EnterpriseOut, summary="企业详情")
def enterprise_detail(request, enterprise_id: ObjectId):
    return get_object_or_404(_enterprises(request), pk=enterprise_id)


@router.post("/enterprises", response={201: EnterpriseOut}, summary="新建企业")
def create_enterprise(request, payload: EnterpriseIn):
    data = payload.dict()
    region = _region(request, data.pop("region_code"))
    enterprise = services.create_enterprise(actor=request.user, region=region, **data)
    return Status(201, get_object_or_404(_enterprises(request), pk=enterprise.pk))


@router.patch("/enterprises/{enterprise_id}", response=EnterpriseOut, summary="修改企业")
def update_enterprise(request, enterprise_id: ObjectId, payload: EnterprisePatch):
    enterprise = get_object_or_404(_enterprises(request), pk=enterprise_id)
    changes = payload.dict(exclude_unset=True)
    if "region_code" in changes:
        changes["region"] = _region(request, changes.pop("region_code"))
    services.update_enterprise(actor=request.user, enterprise=enterprise, **changes)
    return get_object_or_404(_enterprises(request), pk=enterprise.pk)


# --- places ---------------------------------------------------------------------------------


def _places(request):
    return Place.objects.visible_to(request.user).select_related("region")


def _enterprise_for_place(request, enterprise_id):
    return _visible_or_invalid(
        request, Enterprise.objects, enterprise_id, "enterprise_id", _("企业不存在或不可见")
    )


@router.get("/places", response=list[PlaceOut], summary="场所列表")
@paginate(Pages)
def list_places(request, filters: Query[PlaceFilter]):
    return filters.filter(_places(request)).order_by("region__code", "name", "id")


@router.get("/places/export", summary="导出场所台账（XLSX，电话脱敏）")
def export_places(request, filters: Query[PlaceFilter]):
    queryset = filters.filter(_places(request))
    return _xlsx(services.export_places(actor=request.user, queryset=queryset), "places")


@router.post(
    "/places/import",
    response=ImportReportOut,
    summary="导入场所台账（XLSX，按区划代码+名称新增或更新），返回逐行校验报告",
)
def import_places(request, file: File[UploadedFile], valid_rows_only: Form[bool] = False):
    report = services.import_places(actor=request.user, file=file, valid_rows_only=valid_rows_only)
    return report.as_dict()


@router.get("/places/{place_id}", response=PlaceOut, summary="场所详情")
def place_detail(request, place_id: ObjectId):
    return get_object_or_404(_places(request), pk=place_id)


@router.post("/places", response={201: PlaceOut}, summary="新建场所")
def create_place(request, payload: PlaceIn):
    data = payload.dict()
    region = _region(request, data.pop("region_code"))
    enterprise = _enterprise_for_place(request, data.pop("enterprise_id"))
    place = services.create_place(actor=request.user, region=region, enterprise=enterprise, **data)
    return Status(201, get_object_or_404(_places(request), pk=place.pk))


@router.patch("/places/{place_id}", response=PlaceOut, summary="修改场所")
def update_place(request, place_id: ObjectId, payload: PlacePatch):
    place = get_object_or_404(_places(request), pk=place_id)
    changes = payload.dict(exclude_unset=True)
    if "region_code" in changes:
        changes["region"] = _region(request, changes.pop("region_code"))
    if "enterprise_id" in changes:
        changes["enterprise"] = _enterprise_for_place(request, changes.pop("enterprise_id"))
    services.update_place(actor=request.user, place=place, **changes)
    return get_object_or_404(_places(request), pk=place.pk)


# --- major hazard installations -------------------------------------------------------------


def _major_hazards(request):
    return MajorHazardInstallation.objects.visible_to(request.user)


@router.get("/major-hazards", response=list[MajorHazardOut], summary="重大危险源列表")
@paginate(Pages)
def list_major_hazards(request, filters: Query[MajorHazardFilter]):
    return filters.filter(_major_hazards(request)).order_by("level", "name", "id")


@router.get("/major-hazards/{installation_id}", response=MajorHazardOut, summary="重大危险源详情")
def major_hazard_detail(request, installation_id: ObjectId):
    return get_object_or_404(_major_hazards(request), pk=installation_id)


@router.post("/major-hazards", response={201: MajorHazardOut}, summary="新建重大危险源")
def create_major_hazard(request, payload: MajorHazardIn):
    data = payload.dict()
    enterprise = _visible_or_invalid(
        request,
        Enterprise.objects,
        data.pop("enterprise_id"),
        "enterprise_id",
        _("企业不存在或不可见"),
    )
    installation = services.create_major_hazard(actor=request.user, enterprise=enterprise, **data)
    return Status(201, installation)


@router.patch("/major-hazards/{installation_id}", response=MajorHazardOut, summary="修改重大危险源")
def update_major_hazard(request, installation_id: ObjectId, payload: MajorHazardPatch):
    installation = get_object_or_404(_major_hazards(request), pk=installation_id)
    changes = payload.dict(exclude_unset=True)
    return services.update_major_hazard(actor=request.user, installation=installation, **changes)


# --- risk points ----------------------------------------------------------------------------


def _risk_points(request):
    return RiskPoint.objects.visible_to(request.user)


def _person(request, person_id):
    return _visible_or_invalid(
        request, Person.objects, person_id, "responsible_person_id", _("人员不存在或不可见")
    )


@router.get("/risk-points", response=list[RiskPointOut], summary="风险点列表")
@paginate(Pages)
def list_risk_points(request, filters: Query[RiskPointFilter]):
    return filters.filter(_risk_points(request)).order_by("-score", "name", "id")


@router.get("/risk-points/{risk_point_id}", response=RiskPointOut, summary="风险点详情")
def risk_point_detail(request, risk_point_id: ObjectId):
    return get_object_or_404(_risk_points(request), pk=risk_point_id)


@router.post("/risk-points", response={201: RiskPointOut}, summary="新建风险点（自动定级）")
def create_risk_point(request, payload: RiskPointIn):
    data = payload.dict()
    enterprise = _visible_or_invalid(
        request,
        Enterprise.objects,
        data.pop("enterprise_id"),
        "enterprise_id",
        _("企业不存在或不可见"),
    )
    place = _visible_or_invalid(
        request, Place.objects, data.pop("place_id"), "place_id", _("场所不存在或不可见")
    )
    person = _person(request, data.pop("responsible_person_id"))
    point = services.create_risk_point(
        actor=request.user, enterprise=enterprise, place=place, responsible_person=person, **data
    )
    return Status(201, point)


@router.patch(
    "/risk-points/{risk_point_id}", response=RiskPointOut, summary="修改风险点（重新定级）"
)
def update_risk_point(request, risk_point_id: ObjectId, payload: RiskPointPatch):
    point = get_object_or_404(
        _risk_points(request).select_related("enterprise__region", "place__region"),
        pk=risk_point_id,
    )
    changes = payload.dict(exclude_unset=True)
    if "responsible_person_id" in changes:
        changes["responsible_person"] = _person(request, changes.pop("responsible_person_id"))
    return services.update_risk_point(actor=request.user, risk_point=point, **changes)
