"""Checklists, inspections item by item, failed item → hazard, rectification notices and
inspection plans with their coverage.

An inspection, notice or plan outside the user's scope is a 404; a step the record does not
allow (already submitted, already converted) is a 409; bad input is a 422.
"""

from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.pagination import paginate

from frontline.core.errors import InvalidInput
from frontline.core.models import Person, Region
from frontline.core.pagination import Pages
from frontline.core.schemas import ObjectId
from frontline.hazards import services
from frontline.hazards.models import (
    ChecklistItem,
    ChecklistTemplate,
    Enterprise,
    Hazard,
    Inspection,
    InspectionEvent,
    InspectionPlan,
    InspectionResult,
    Place,
    RectificationNotice,
)
from frontline.hazards.schemas_inspections import (
    ChecklistDetail,
    ChecklistOut,
    CoverageOut,
    HazardRef,
    InspectionDetail,
    InspectionFilter,
    InspectionIn,
    InspectionOut,
    NoticeIn,
    NoticeOut,
    PlanIn,
    PlanOut,
    ResultIn,
    SubmitIn,
)

router = Router(tags=["inspections"])

_RELATED = ("region", "enterprise", "place", "template")


def inspections_for(user):
    return Inspection.objects.visible_to(user).select_related(*_RELATED)


def inspection_detail(user, inspection_id: int) -> Inspection:
    """One visible inspection with its results (and their hazards), inspectors and events:
    five queries whatever the number of items and events."""
    results = InspectionResult.objects.select_related("hazard").order_by("item__order")
    events = InspectionEvent.objects.select_related("actor__person", "hazard", "notice").order_by(
        "at", "id"
    )
    inspection = (
        inspections_for(user)
        .prefetch_related(
            Prefetch("results", queryset=results, to_attr="result_list"),
            Prefetch("events", queryset=events, to_attr="event_list"),
            "inspectors",
        )
        .filter(pk=inspection_id)
        .first()
    )
    if inspection is None:
        raise Http404
    return inspection


def _detail_out(inspection: Inspection) -> Inspection:
    rows = []
    for result in inspection.result_list:
        hazard = getattr(result, "hazard", None)
        rows.append(
            {
                "id": result.pk,
                "item_id": result.item_id,
                "outcome": result.outcome,
                "note": result.note,
                "hazard_id": hazard.pk if hazard else None,
                "hazard_number": hazard.number if hazard else None,
            }
        )
    answered = {r.item_id for r in inspection.result_list}
    items = ChecklistItem.objects.filter(template_id=inspection.template_id).order_by("order")
    inspection.result_rows = rows
    inspection.inspector_list = list(inspection.inspectors.all())
    inspection.missing_ids = [pk for pk in items.values_list("pk", flat=True) if pk not in answered]
    return inspection


def _visible(model, user, pk, field: str):
    if pk is None:
        return None
    found = model.objects.visible_to(user).filter(pk=pk).first()
    if found is None:
        raise InvalidInput(
            _("输入有误，请检查标注的字段"), details={field: _("不存在或不在您的管辖范围内")}
        )
    return found


@router.get("/checklists", response=list[ChecklistOut], summary="检查表")
def list_checklists(request):
    return ChecklistTemplate.objects.filter(is_active=True).order_by("name")


@router.get("/checklists/{template_id}", response=ChecklistDetail, summary="检查表及检查项")
def checklist_detail(request, template_id: ObjectId):
    template = ChecklistTemplate.objects.prefetch_related("items").filter(pk=template_id).first()
    if template is None:
        raise Http404
    return template


@router.get("/inspections", response=list[InspectionOut], summary="检查记录列表")
@paginate(Pages)
def list_inspections(request, filters: Query[InspectionFilter]):
    return filters.filter(inspections_for(request.user)).order_by("-started_at", "-id")


@router.get("/inspections/{inspection_id}", response=InspectionDetail, summary="检查记录详情")
def get_inspection(request, inspection_id: ObjectId):
    return _detail_out(inspection_detail(request.user, inspection_id))


@router.post("/inspections", response={201: InspectionDetail}, summary="开始检查")
def create_inspection(request, payload: InspectionIn):
    user = request.user
    template = ChecklistTemplate.objects.filter(pk=payload.template_id).first()
    if template is None:
        raise InvalidInput(
            _("输入有误，请检查标注的字段"), details={"template_id": _("检查表不存在")}
        )
    inspectors = list(Person.objects.visible_to(user).filter(pk__in=payload.inspector_ids))
    if len(inspectors) != len(set(payload.inspector_ids)):
        raise InvalidInput(
            _("输入有误，请检查标注的字段"),
            details={"inspector_ids": _("不存在或不在您的管辖范围内")},
        )
    try:
        inspection = services.start_inspection(
            actor=user,
            template=template,
            form=payload.form,
            enterprise=_visible(Enterprise, user, payload.enterprise_id, "enterprise_id"),
            place=_visible(Place, user, payload.place_id, "place_id"),
            plan=_visible(InspectionPlan, user, payload.plan_id, "plan_id"),
            inspectors=inspectors,
            participants=payload.participants,
        )
    except InvalidInput as exc:
        exc.details = {
            (f"{k}_id" if k in {"enterprise", "place", "plan", "template"} else k): v
            for k, v in exc.details.items()
        }
        raise
    return Status(201, _detail_out(inspection_detail(user, inspection.pk)))


def _inspection_or_404(user, inspection_id: int) -> Inspection:
    inspection = inspections_for(user).filter(pk=inspection_id).first()
    if inspection is None:
        raise Http404
    return inspection


@router.put(
    "/inspections/{inspection_id}/results", response=InspectionDetail, summary="填写一个检查项"
)
def put_result(request, inspection_id: ObjectId, payload: ResultIn):
    inspection = _inspection_or_404(request.user, inspection_id)
    item = ChecklistItem.objects.filter(pk=payload.item_id).first()
    if item is None:
        raise InvalidInput(_("输入有误，请检查标注的字段"), details={"item_id": _("检查项不存在")})
    try:
        services.record_result(
            actor=request.user,
            inspection=inspection,
            item=item,
            outcome=payload.outcome,
            note=payload.note,
        )
    except InvalidInput as exc:
        exc.details = {("item_id" if k == "item" else k): v for k, v in exc.details.items()}
        raise
    return _detail_out(inspection_detail(request.user, inspection_id))


@router.post(
    "/inspections/{inspection_id}/submit",
    response=InspectionDetail,
    summary="提交检查记录（须全部检查项已填写，提交后不可修改）",
)
def submit(request, inspection_id: ObjectId, payload: SubmitIn):
    inspection = _inspection_or_404(request.user, inspection_id)
    services.submit_inspection(actor=request.user, inspection=inspection, summary=payload.summary)
    return _detail_out(inspection_detail(request.user, inspection_id))


@router.post(
    "/inspections/{inspection_id}/results/{result_id}/hazard",
    response={201: HazardRef},
    summary="不合格项转为隐患（每项一次）",
)
def convert(request, inspection_id: ObjectId, result_id: ObjectId):
    inspection = _inspection_or_404(request.user, inspection_id)
    result = InspectionResult.objects.filter(pk=result_id, inspection=inspection).first()
    if result is None:
        raise Http404
    hazard = services.hazard_from_failed_item(actor=request.user, result=result)
    return Status(201, hazard)


def _notice_out(notice: RectificationNotice) -> dict:
    return {
        "id": notice.pk,
        "number": notice.number,
        "inspection_id": notice.inspection_id,
        "issued_at": notice.issued_at,
        "due_at": notice.due_at,
        "hazards": list(notice.hazards.order_by("number")),
    }


@router.post(
    "/inspections/{inspection_id}/notices",
    response={201: NoticeOut},
    summary="下达责令限期整改指令书",
)
def create_notice(request, inspection_id: ObjectId, payload: NoticeIn):
    inspection = _inspection_or_404(request.user, inspection_id)
    hazards = list(Hazard.objects.visible_to(request.user).filter(pk__in=payload.hazard_ids))
    if len(hazards) != len(set(payload.hazard_ids)):
        raise InvalidInput(
            _("输入有误，请检查标注的字段"),
            details={"hazard_ids": _("不存在或不在您的管辖范围内")},
        )
    try:
        notice = services.issue_rectification_notice(
            actor=request.user, inspection=inspection, hazards=hazards, due_at=payload.due_at
        )
    except InvalidInput as exc:
        exc.details = {("hazard_ids" if k == "hazards" else k): v for k, v in exc.details.items()}
        raise
    return Status(201, _notice_out(notice))


def _notice_or_404(user, notice_id: int) -> RectificationNotice:
    notice = (
        RectificationNotice.objects.visible_to(user)
        .select_related("region", "inspection__enterprise", "inspection__place")
        .filter(pk=notice_id)
        .first()
    )
    if notice is None:
        raise Http404
    return notice


@router.get("/notices/{notice_id}", response=NoticeOut, summary="整改指令书")
def get_notice(request, notice_id: ObjectId):
    return _notice_out(_notice_or_404(request.user, notice_id))


DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def docx_response(notice: RectificationNotice) -> HttpResponse:
    from urllib.parse import quote

    response = HttpResponse(services.notice_docx(notice), content_type=DOCX_TYPE)
    name = quote(f"责令限期整改指令书-{notice.number}.docx")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{name}"
    return response


@router.get("/notices/{notice_id}/docx", summary="整改指令书（Word 文档）")
def get_notice_docx(request, notice_id: ObjectId):
    return docx_response(_notice_or_404(request.user, notice_id))


@router.get("/inspection-plans", response=list[PlanOut], summary="检查计划列表")
@paginate(Pages)
def list_plans(request):
    return InspectionPlan.objects.visible_to(request.user).select_related("region")


@router.post("/inspection-plans", response={201: PlanOut}, summary="制定检查计划")
def create_plan(request, payload: PlanIn):
    user = request.user
    region = Region.objects.visible_to(user).filter(code=payload.region_code).first()
    if region is None:
        raise InvalidInput(
            _("区划不存在"), details={"region_code": _("区划不存在或不在管辖范围内")}
        )
    template = ChecklistTemplate.objects.filter(pk=payload.template_id).first()
    if template is None:
        raise InvalidInput(
            _("输入有误，请检查标注的字段"), details={"template_id": _("检查表不存在")}
        )
    enterprises = list(Enterprise.objects.visible_to(user).filter(pk__in=payload.enterprise_ids))
    places = list(Place.objects.visible_to(user).filter(pk__in=payload.place_ids))
    details = {}
    if len(enterprises) != len(set(payload.enterprise_ids)):
        details["enterprise_ids"] = _("不存在或不在您的管辖范围内")
    if len(places) != len(set(payload.place_ids)):
        details["place_ids"] = _("不存在或不在您的管辖范围内")
    if details:
        raise InvalidInput(_("输入有误，请检查标注的字段"), details=details)
    try:
        plan = services.create_inspection_plan(
            actor=user,
            name=payload.name,
            region=region,
            template=template,
            form=payload.form,
            interval_days=payload.interval_days,
            starts_on=payload.starts_on,
            ends_on=payload.ends_on,
            enterprises=enterprises,
            places=places,
        )
    except InvalidInput as exc:
        exc.details = {
            ({"enterprises": "enterprise_ids", "places": "place_ids"}.get(k, k)): v
            for k, v in exc.details.items()
        }
        raise
    return Status(201, plan)


@router.get(
    "/inspection-plans/{plan_id}/coverage",
    response=CoverageOut,
    summary="计划覆盖率（周期内已检查的对象）",
)
def plan_coverage(request, plan_id: ObjectId):
    plan = InspectionPlan.objects.visible_to(request.user).filter(pk=plan_id).first()
    if plan is None:
        raise Http404
    coverage = services.plan_coverage(plan)
    return {
        "since": coverage.since,
        "total": coverage.total,
        "inspected": coverage.inspected,
        "percent": coverage.percent,
        "rows": [
            {
                "kind": row.kind,
                "id": row.target.pk,
                "name": row.target.name,
                "last_inspected_at": row.last_inspected_at,
                "covered": row.covered,
            }
            for row in coverage.rows
        ],
    }
