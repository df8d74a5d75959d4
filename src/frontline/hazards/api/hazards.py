"""Hazards (事故隐患): list, detail with timeline and attachments, report, and one POST per
step of the loop 发现 → 确认 → 管控 → 整改 → 待验收 → 核销.

A hazard outside the user's scope is a 404; a step the state does not allow is a 409 with a
Chinese reason; bad input is a 422 with field messages; too many reports a 429.
"""

from django.db.models import Prefetch
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.pagination import paginate

from frontline.core.errors import InvalidInput
from frontline.core.geo import to_wgs84
from frontline.core.models import Region
from frontline.core.pagination import IdsFirst, Pages
from frontline.core.schemas import ObjectId
from frontline.core.services.attachments import attachments_of
from frontline.hazards import services
from frontline.hazards.models import Enterprise, HazardEvent, Place
from frontline.hazards.models.hazards import Hazard
from frontline.hazards.schemas_hazards import (
    ConfirmIn,
    ControlIn,
    ExtensionIn,
    HazardDetail,
    HazardFilter,
    HazardIn,
    HazardOut,
    ListIn,
    NoteIn,
    PlanIn,
    ReasonIn,
    RectifiedIn,
    ReturnIn,
)
from frontline.hazards.services.field_reports import (
    check_report_rate,
    region_for_report,
)
from frontline.hazards.services.loop_rules import (
    allowed_actions,
    in_queue_order,
)

router = Router(tags=["hazards"])

_RELATED = ("region", "enterprise", "place")


def _hazards(request):
    return Hazard.objects.visible_to(request.user).select_related(*_RELATED)


def _hazard_or_404(request, hazard_id: int) -> Hazard:
    hazard = (
        _hazards(request)
        .select_related("treatment_plan", "listed_supervision__supervising_region")
        .filter(pk=hazard_id)
        .first()
    )
    if hazard is None:
        raise Http404
    return hazard


def _detail(request, hazard_id: int) -> Hazard:
    events = HazardEvent.objects.select_related("actor__person").order_by("at", "id")
    hazard = (
        _hazards(request)
        .select_related("treatment_plan", "listed_supervision__supervising_region")
        .prefetch_related(Prefetch("events", queryset=events, to_attr="timeline"))
        .filter(pk=hazard_id)
        .first()
    )
    if hazard is None:
        raise Http404
    hazard.attachments = list(
        attachments_of(hazard)
        .visible_to(request.user)
        .select_related("region", "owner_type", "uploaded_by")
        .order_by("uploaded_at", "id")
    )
    hazard.actions = allowed_actions(request.user, hazard)
    return hazard


@router.get(
    "/hazards",
    response=list[HazardOut],
    summary="隐患列表（可按状态、等级、来源、逾期、区划、企业、场所、关键字筛选；逾期在前）",
)
@paginate(Pages)
def list_hazards(request, filters: Query[HazardFilter]):
    hazards = Hazard.objects.visible_in_order(request.user).select_related(*_RELATED)
    return IdsFirst(in_queue_order(filters.filter(hazards)))


@router.get("/hazards/{hazard_id}", response=HazardDetail, summary="隐患详情（含时间线、附件）")
def hazard_detail(request, hazard_id: ObjectId):
    return _detail(request, hazard_id)


def _visible(model, request, pk, field: str):
    if pk is None:
        return None
    found = model.objects.visible_to(request.user).filter(pk=pk).first()
    if found is None:
        raise InvalidInput(
            _("输入有误，请检查标注的字段"), details={field: _("不存在或不在您的管辖范围内")}
        )
    return found


@router.post("/hazards", response={201: HazardDetail}, summary="上报隐患（限频：10 分钟 10 条）")
def report(request, payload: HazardIn):
    check_report_rate(request.user)
    lon, lat = payload.lon, payload.lat
    if lon is not None and lat is not None:
        lon, lat = to_wgs84(lon, lat, payload.coord_system)
    if payload.region_code:
        region = Region.objects.visible_to(request.user).filter(code=payload.region_code).first()
        if region is None:
            raise InvalidInput(
                _("区划不存在"), details={"region_code": _("区划不存在或不在管辖范围内")}
            )
    else:
        region = region_for_report(request.user, lon=lon, lat=lat)
        if region is None:
            raise InvalidInput(
                _("请指定所属区划"),
                details={"region_code": _("无法按位置确定所属区划，请选择区划")},
            )
    hazard = services.report_hazard(
        actor=request.user,
        region=region,
        title=payload.title,
        description=payload.description,
        source=payload.source,
        enterprise=_visible(Enterprise, request, payload.enterprise_id, "enterprise_id"),
        place=_visible(Place, request, payload.place_id, "place_id"),
        lon=lon,
        lat=lat,
        reporter_name=payload.reporter_name,
        reporter_phone=payload.reporter_phone,
    )
    return Status(201, _detail(request, hazard.pk))


@router.post("/hazards/{hazard_id}/confirm", response=HazardDetail, summary="确认定级")
def confirm(request, hazard_id: ObjectId, payload: ConfirmIn):
    services.confirm_hazard(
        actor=request.user,
        hazard=_hazard_or_404(request, hazard_id),
        level=payload.level,
        level_basis=payload.level_basis,
        responsible_person=payload.responsible_person,
        due_at=payload.due_at,
        note=payload.note,
    )
    return _detail(request, hazard_id)


@router.post("/hazards/{hazard_id}/reject", response=HazardDetail, summary="不予认定")
def reject(request, hazard_id: ObjectId, payload: ReasonIn):
    services.reject_hazard(
        actor=request.user, hazard=_hazard_or_404(request, hazard_id), reason=payload.reason
    )
    return _detail(request, hazard_id)


@router.post("/hazards/{hazard_id}/control", response=HazardDetail, summary="采取管控措施")
def control(request, hazard_id: ObjectId, payload: ControlIn):
    services.control_hazard(
        actor=request.user, hazard=_hazard_or_404(request, hazard_id), measures=payload.measures
    )
    return _detail(request, hazard_id)


@router.post(
    "/hazards/{hazard_id}/plan", response=HazardDetail, summary="提交重大隐患治理方案（五到位）"
)
def plan(request, hazard_id: ObjectId, payload: PlanIn):
    services.submit_treatment_plan(
        actor=request.user, hazard=_hazard_or_404(request, hazard_id), **payload.dict()
    )
    return _detail(request, hazard_id)


@router.post("/hazards/{hazard_id}/start", response=HazardDetail, summary="开始整改")
def start(request, hazard_id: ObjectId, payload: NoteIn):
    services.start_rectification(
        actor=request.user, hazard=_hazard_or_404(request, hazard_id), note=payload.note
    )
    return _detail(request, hazard_id)


@router.post("/hazards/{hazard_id}/request-extension", response=HazardDetail, summary="申请延期")
def request_extension(request, hazard_id: ObjectId, payload: ExtensionIn):
    services.request_extension(
        actor=request.user,
        hazard=_hazard_or_404(request, hazard_id),
        until=payload.until,
        reason=payload.reason,
    )
    return _detail(request, hazard_id)


@router.post("/hazards/{hazard_id}/approve-extension", response=HazardDetail, summary="批准延期")
def approve_extension(request, hazard_id: ObjectId, payload: NoteIn):
    services.approve_extension(
        actor=request.user, hazard=_hazard_or_404(request, hazard_id), note=payload.note
    )
    return _detail(request, hazard_id)


@router.post("/hazards/{hazard_id}/deny-extension", response=HazardDetail, summary="不批准延期")
def deny_extension(request, hazard_id: ObjectId, payload: ReasonIn):
    services.deny_extension(
        actor=request.user, hazard=_hazard_or_404(request, hazard_id), reason=payload.reason
    )
    return _detail(request, hazard_id)


@router.post(
    "/hazards/{hazard_id}/rectified",
    response=HazardDetail,
    summary="报告整改完成（须附整改后照片）",
)
def rectified(request, hazard_id: ObjectId, payload: RectifiedIn):
    services.report_rectified(
        actor=request.user,
        hazard=_hazard_or_404(request, hazard_id),
        note=payload.note,
        after_photo_ids=payload.after_photo_ids,
    )
    return _detail(request, hazard_id)


@router.post(
    "/hazards/{hazard_id}/verify", response=HazardDetail, summary="验收核销（整改人不能验收）"
)
def verify(request, hazard_id: ObjectId, payload: NoteIn):
    services.verify_hazard(
        actor=request.user, hazard=_hazard_or_404(request, hazard_id), note=payload.note
    )
    return _detail(request, hazard_id)


@router.post("/hazards/{hazard_id}/return", response=HazardDetail, summary="退回整改")
def return_(request, hazard_id: ObjectId, payload: ReturnIn):
    services.return_for_rework(
        actor=request.user,
        hazard=_hazard_or_404(request, hazard_id),
        reason=payload.reason,
        due_at=payload.due_at,
    )
    return _detail(request, hazard_id)


@router.post("/hazards/{hazard_id}/list", response=HazardDetail, summary="挂牌督办（重大隐患）")
def list_(request, hazard_id: ObjectId, payload: ListIn):
    hazard = _hazard_or_404(request, hazard_id)
    region = Region.objects.filter(code=payload.supervising_region_code).first()
    if region is None:
        raise InvalidInput(_("区划不存在"), details={"supervising_region_code": _("区划不存在")})
    try:
        services.list_for_supervision(
            actor=request.user,
            hazard=hazard,
            supervising_region=region,
            document_number=payload.document_number,
            deadline=payload.deadline,
        )
    except InvalidInput as exc:
        exc.details = {
            ("supervising_region_code" if k == "supervising_region" else k): v
            for k, v in exc.details.items()
        }
        raise
    return _detail(request, hazard_id)
