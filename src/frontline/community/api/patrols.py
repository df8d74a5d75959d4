"""/api/v1 of community patrols (网格巡查): plans with checkpoints, runs, GPS and QR check-ins,
track points, findings handed on as a hazard or a community call, and the day's coverage.

A plan, run or finding outside the user's scope is a 404; a step the run's state does not
allow is a 409; bad input a 422 with field messages. The track of a run is personal data:
it is returned only to the walker and to the station or county (EDIT over the township).
"""

from datetime import date, datetime

from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from frontline.community.models import (
    Checkpoint,
    PatrolCheckIn,
    PatrolFinding,
    PatrolPlan,
    PatrolRun,
)
from frontline.community.services import (
    patrol_coverage,
    patrol_findings,
    patrol_runs,
    patrols,
)
from frontline.core.errors import InvalidInput
from frontline.core.models import Region
from frontline.core.pagination import Pages
from frontline.core.schemas import ObjectId

router = Router(tags=["community"])


# --- schemas --------------------------------------------------------------------------------


class CheckpointOut(Schema):
    id: int
    order: int
    name: str
    lon: float
    lat: float
    radius_m: int
    building_id: int | None
    facility_id: int | None
    qr_token: str = Field(description="印在点位铭牌二维码中的令牌（/patrol/qr/<token>/）")


class PlanOut(Schema):
    id: int
    name: str
    region_id: int
    region_code: str = Field(alias="region.code")
    region_name: str = Field(alias="region.name")
    rounds: list[list[str]] = Field(description='每轮巡查的本地时段，如 [["08:00","12:00"]]')
    is_active: bool
    checkpoints: list[CheckpointOut] = Field(alias="checkpoint_list")


class CheckpointIn(Schema):
    id: ObjectId | None = Field(None, description="已有点位的 id（保留其二维码）；新点位不填")
    name: str
    lon: float
    lat: float
    radius_m: int = 50
    building_id: ObjectId | None = None
    facility_id: ObjectId | None = None


class PlanIn(Schema):
    region_code: str = Field(description="网格代码（15 位）")
    name: str
    rounds: list[list[str]] | None = None
    is_active: bool = True
    checkpoints: list[CheckpointIn]


class PlanUpdate(Schema):
    name: str
    rounds: list[list[str]] | None = None
    is_active: bool = True
    checkpoints: list[CheckpointIn]


class CheckInOut(Schema):
    id: int
    checkpoint_id: int | None
    checkpoint_name: str | None = Field(None, alias="checkpoint.name")
    at: datetime
    method: str
    lon: float | None
    lat: float | None
    accuracy_m: float | None
    distance_m: float | None
    flag: str = Field(description="ok / beyond_radius / poor_accuracy / no_position")
    flag_label: str = Field(alias="get_flag_display")
    note: str


class FindingOut(Schema):
    id: int
    run_id: int
    check_in_id: int | None
    at: datetime
    note: str
    lon: float | None
    lat: float | None
    hazard_id: int | None
    call_id: int | None


class RunOut(Schema):
    id: int
    plan_id: int
    plan_name: str = Field(alias="plan.name")
    region_id: int
    region_code: str = Field(alias="region.code")
    region_name: str = Field(alias="region.name")
    walker_id: int
    state: str
    state_label: str = Field(alias="get_state_display")
    day: date
    round: int
    started_at: datetime
    finished_at: datetime | None
    distance_m: float
    points_total: int
    points_checked: int
    note: str


class RunDetail(RunOut):
    check_ins: list[CheckInOut] = Field(alias="check_in_list")
    findings: list[FindingOut] = Field(alias="finding_list")
    track: list[list[float]] | None = Field(
        None, description="[[经度, 纬度, 时间戳秒, 精度米], ...]；仅本人和乡镇及以上可见"
    )


class RunFilter(Schema):
    region_code: str | None = None
    walker_id: ObjectId | None = None
    day: date | None = None
    state: str | None = None
    flagged: bool | None = Field(None, description="只看有异常打卡的巡查")


class CheckInIn(Schema):
    checkpoint_id: ObjectId
    lon: float | None = None
    lat: float | None = None
    accuracy_m: float | None = None
    note: str = ""
    facility_status: str | None = Field(None, description="绑定设施的点位：normal / faulty")


class QrIn(Schema):
    token: str
    note: str = ""


class TrackIn(Schema):
    points: list[list[float]] = Field(description="[[经度, 纬度, 时间戳秒, 精度米], ...]")


class NoteIn(Schema):
    note: str = ""


class FindingIn(Schema):
    note: str
    lon: float | None = None
    lat: float | None = None
    check_in_id: ObjectId | None = None


class HazardIn(Schema):
    title: str = ""


class CallIn(Schema):
    title: str = ""
    category: str
    department_id: ObjectId
    address: str = ""


class HandedOut(Schema):
    finding: FindingOut
    hazard_id: int | None = None
    call_id: int | None = None


class GridCoverageOut(Schema):
    region_id: int
    region_code: str
    region_name: str
    plans: int
    rounds_due: int
    rounds_done: int
    finished_runs: int
    walking_runs: int
    patrolled: bool


class WalkerOut(Schema):
    user_id: int
    name: str
    rounds_due: int
    punctual: int
    runs: int
    percent: int


class CoverageOut(Schema):
    day: date
    grids: list[GridCoverageOut]
    not_patrolled: list[str] = Field(description="有巡查计划但当天没有完成巡查的网格代码")
    punctuality_from: date
    punctuality_to: date
    punctuality: list[WalkerOut]


# --- helpers --------------------------------------------------------------------------------


def _plans(request):
    points = Checkpoint.objects.order_by("order", "id")
    return (
        PatrolPlan.objects.visible_to(request.user)
        .select_related("region")
        .prefetch_related(Prefetch("checkpoints", queryset=points, to_attr="checkpoint_list"))
    )


def _plan_or_404(request, plan_id: int) -> PatrolPlan:
    plan = _plans(request).filter(pk=plan_id).first()
    if plan is None:
        raise Http404
    return plan


def _run_or_404(request, run_id: int) -> PatrolRun:
    run = (
        PatrolRun.objects.visible_to(request.user)
        .select_related("plan", "region")
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        raise Http404
    return run


def _run_detail(request, run_id: int) -> PatrolRun:
    run = _run_or_404(request, run_id)
    run.check_in_list = list(
        PatrolCheckIn.objects.filter(run=run).select_related("checkpoint").order_by("at", "id")
    )
    run.finding_list = list(PatrolFinding.objects.filter(run=run).order_by("at", "id"))
    if not patrols.may_see_track(request.user, run):
        run.track = None
    return run


def _checkpoints_in(request, items: list[CheckpointIn]) -> list[dict]:
    result = []
    for item in items:
        data = item.dict()
        data["building"] = patrols.building_or_none(request.user, data.pop("building_id"))
        data["facility"] = patrols.facility_or_none(request.user, data.pop("facility_id"))
        result.append(data)
    return result


def _finding_or_404(request, finding_id: int) -> PatrolFinding:
    finding = (
        PatrolFinding.objects.visible_to(request.user)
        .select_related("run", "region", "check_in__checkpoint")
        .filter(pk=finding_id)
        .first()
    )
    if finding is None:
        raise Http404
    return finding


# --- plans ----------------------------------------------------------------------------------


@router.get("/patrol/plans", response=list[PlanOut], summary="巡查计划列表")
@paginate(Pages)
def list_plans(request, region_code: str | None = None):
    plans = _plans(request).order_by("region__code", "name", "id")
    if region_code:
        region = Region.objects.visible_to(request.user).filter(code=region_code).first()
        plans = plans.within(region.path) if region else plans.none()
    return plans


@router.get("/patrol/plans/{plan_id}", response=PlanOut, summary="巡查计划（含点位）")
def plan_detail(request, plan_id: ObjectId):
    return _plan_or_404(request, plan_id)


@router.post("/patrol/plans", response={201: PlanOut}, summary="新建巡查计划")
def create_plan(request, payload: PlanIn):
    region = Region.objects.visible_to(request.user).filter(code=payload.region_code).first()
    if region is None:
        raise InvalidInput(
            _("区划不存在"), details={"region_code": _("区划不存在或不在管辖范围内")}
        )
    plan = patrols.create_plan(
        actor=request.user,
        region=region,
        name=payload.name,
        rounds=payload.rounds,
        is_active=payload.is_active,
        checkpoints=_checkpoints_in(request, payload.checkpoints),
    )
    return Status(201, _plan_or_404(request, plan.pk))


@router.put("/patrol/plans/{plan_id}", response=PlanOut, summary="修改巡查计划和点位")
def update_plan(request, plan_id: ObjectId, payload: PlanUpdate):
    patrols.update_plan(
        actor=request.user,
        plan=_plan_or_404(request, plan_id),
        name=payload.name,
        rounds=payload.rounds,
        is_active=payload.is_active,
        checkpoints=_checkpoints_in(request, payload.checkpoints),
    )
    return _plan_or_404(request, plan_id)


# --- runs -----------------------------------------------------------------------------------


@router.get(
    "/patrol/runs", response=list[RunOut], summary="巡查记录（可按网格、巡查人、日期、异常筛选）"
)
@paginate(Pages)
def list_runs(request, filters: Query[RunFilter]):
    runs = PatrolRun.objects.visible_to(request.user).select_related("plan", "region")
    if filters.region_code:
        region = Region.objects.visible_to(request.user).filter(code=filters.region_code).first()
        runs = runs.within(region.path) if region else runs.none()
    if filters.walker_id:
        runs = runs.filter(walker_id=filters.walker_id)
    if filters.day:
        runs = runs.filter(day=filters.day)
    if filters.state:
        runs = runs.filter(state=filters.state)
    if filters.flagged is not None:
        flagged = PatrolCheckIn.objects.exclude(flag="ok").values("run_id")
        runs = runs.filter(pk__in=flagged) if filters.flagged else runs.exclude(pk__in=flagged)
    return runs.order_by("-started_at", "-id")


@router.get("/patrol/runs/{run_id}", response=RunDetail, summary="巡查记录详情（打卡、发现、轨迹）")
def run_detail(request, run_id: ObjectId):
    return _run_detail(request, run_id)


@router.post("/patrol/plans/{plan_id}/runs", response={201: RunDetail}, summary="开始巡查")
def start_run(request, plan_id: ObjectId):
    run = patrol_runs.start_run(actor=request.user, plan=_plan_or_404(request, plan_id))
    return Status(201, _run_detail(request, run.pk))


@router.post("/patrol/runs/{run_id}/check-ins", response={201: CheckInOut}, summary="定位打卡")
def check_in(request, run_id: ObjectId, payload: CheckInIn):
    run = _run_or_404(request, run_id)
    checkpoint = (
        Checkpoint.objects.visible_to(request.user).filter(pk=payload.checkpoint_id).first()
    )
    if checkpoint is None:
        raise InvalidInput(_("点位不存在"), details={"checkpoint": _("点位不存在")})
    item = patrol_runs.check_in(
        actor=request.user,
        run=run,
        checkpoint=checkpoint,
        lon=payload.lon,
        lat=payload.lat,
        accuracy_m=payload.accuracy_m,
        note=payload.note,
        facility_status=payload.facility_status,
    )
    return Status(201, item)


@router.post("/patrol/runs/{run_id}/check-ins/qr", response={201: CheckInOut}, summary="扫码打卡")
def check_in_by_qr(request, run_id: ObjectId, payload: QrIn):
    item = patrol_runs.check_in_by_qr(
        actor=request.user, run=_run_or_404(request, run_id), token=payload.token, note=payload.note
    )
    return Status(201, item)


@router.post("/patrol/runs/{run_id}/track", response={204: None}, summary="上传轨迹点")
def add_track(request, run_id: ObjectId, payload: TrackIn):
    patrol_runs.add_track(
        actor=request.user, run=_run_or_404(request, run_id), points=payload.points
    )
    return Status(204, None)


@router.post("/patrol/runs/{run_id}/findings", response={201: FindingOut}, summary="记录发现问题")
def record_finding(request, run_id: ObjectId, payload: FindingIn):
    run = _run_or_404(request, run_id)
    check_in = None
    if payload.check_in_id:
        check_in = PatrolCheckIn.objects.filter(pk=payload.check_in_id, run=run).first()
        if check_in is None:
            raise InvalidInput(_("打卡不存在"), details={"check_in": _("打卡不属于本次巡查")})
    finding = patrol_findings.record_finding(
        actor=request.user,
        run=run,
        note=payload.note,
        lon=payload.lon,
        lat=payload.lat,
        check_in=check_in,
    )
    return Status(201, finding)


@router.post("/patrol/runs/{run_id}/finish", response=RunDetail, summary="结束巡查")
def finish_run(request, run_id: ObjectId, payload: NoteIn):
    patrol_runs.finish_run(actor=request.user, run=_run_or_404(request, run_id), note=payload.note)
    return _run_detail(request, run_id)


@router.post("/patrol/runs/{run_id}/abandon", response=RunDetail, summary="中止巡查")
def abandon_run(request, run_id: ObjectId, payload: NoteIn):
    patrol_runs.abandon_run(actor=request.user, run=_run_or_404(request, run_id), note=payload.note)
    return _run_detail(request, run_id)


@router.post(
    "/patrol/findings/{finding_id}/hazard", response={201: HandedOut}, summary="发现转为隐患"
)
def finding_to_hazard(request, finding_id: ObjectId, payload: HazardIn):
    finding = _finding_or_404(request, finding_id)
    hazard = patrol_findings.finding_to_hazard(
        actor=request.user, finding=finding, title=payload.title
    )
    finding.refresh_from_db()
    return Status(201, {"finding": finding, "hazard_id": hazard.pk})


@router.post(
    "/patrol/findings/{finding_id}/call", response={201: HandedOut}, summary="发现转为社区呼叫"
)
def finding_to_call(request, finding_id: ObjectId, payload: CallIn):
    finding = _finding_or_404(request, finding_id)
    department = next(
        (
            unit
            for unit in patrol_findings.call_departments(request.user, finding.region)
            if unit.pk == payload.department_id
        ),
        None,
    )
    if department is None:
        raise InvalidInput(
            _("输入有误，请检查标注的字段"),
            details={"department_id": _("部门不存在或不在您的管辖范围内")},
        )
    call = patrol_findings.finding_to_call(
        actor=request.user,
        finding=finding,
        category=payload.category,
        department=department,
        title=payload.title,
        address=payload.address,
    )
    finding.refresh_from_db()
    return Status(201, {"finding": finding, "call_id": call.pk})


# --- coverage -------------------------------------------------------------------------------


@router.get(
    "/patrol/coverage", response=CoverageOut, summary="巡查覆盖：未巡网格、轮次完成、准时率"
)
def coverage(
    request,
    day: date | None = None,
    punctuality_from: date | None = None,
    punctuality_to: date | None = None,
):
    day = day or timezone.localdate()
    last = punctuality_to or day
    first = punctuality_from or last.replace(day=1)
    if first > last or (last - first).days > 366:
        raise InvalidInput(
            _("输入有误，请检查标注的字段"),
            details={"punctuality_from": _("统计期间应不超过一年且起始不晚于结束")},
        )
    grids = patrol_coverage.coverage_for_day(request.user, day)
    return {
        "day": day,
        "grids": [
            {
                "region_id": row.region.pk,
                "region_code": row.region.code,
                "region_name": row.region.name,
                "plans": row.plans,
                "rounds_due": row.rounds_due,
                "rounds_done": row.rounds_done,
                "finished_runs": row.finished_runs,
                "walking_runs": row.walking_runs,
                "patrolled": row.patrolled,
            }
            for row in grids
        ],
        "not_patrolled": [row.region.code for row in grids if row.rounds_due and not row.patrolled],
        "punctuality_from": first,
        "punctuality_to": last,
        "punctuality": [
            {
                "user_id": row.user_id,
                "name": row.name,
                "rounds_due": row.rounds_due,
                "punctual": row.punctual,
                "runs": row.runs,
                "percent": row.percent,
            }
            for row in patrol_coverage.punctuality(request.user, first, last)
        ],
    }
