"""/api/v1 of community calls (社区呼叫 / 吹哨报到) and grid staffing (网格岗位, 十户一长).

Calls: list, detail with timeline and actions, raise, and one POST per step: on-site,
fixed (department side), confirm, reject, withdraw (caller side). A call outside the
user's scope (and not sent to the user's organization) is a 404; a step the state does not
allow, or a department trying to close, is a 409; the wrong side a 403; bad input a 422.
"""

from datetime import date, datetime
from typing import Annotated

from django.db.models import Prefetch, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, FilterLookup, FilterSchema, Query, Router, Schema, Status
from ninja.pagination import paginate

from frontline.community.models import (
    CallCategory,
    CallState,
    CommunityCall,
    CommunityCallEvent,
    GridPost,
    GridRole,
    Household,
)
from frontline.community.services import calls as services
from frontline.community.services import calls_people as people
from frontline.community.services import calls_rules as rules
from frontline.community.services import staffing
from frontline.core.errors import InvalidInput
from frontline.core.geo import to_wgs84
from frontline.core.models import Organization, Person, Region
from frontline.core.pagination import Pages
from frontline.core.schemas import ObjectId, region_subtree_q
from frontline.core.schemas_tasks import actor_name

router = Router(tags=["community"])

_RELATED = ("region", "department", "raised_by__person", "task")


# --- schemas -------------------------------------------------------------------------------


class CallOut(Schema):
    id: int
    number: str = Field(description="呼叫编号，如 HJ-330603001001001-2026-00012")
    title: str
    description: str
    category: CallCategory
    category_label: str = Field(alias="get_category_display")
    state: CallState
    state_label: str = Field(alias="get_state_display")
    region_code: str = Field(alias="region.code")
    region_name: str = Field(alias="region.name")
    address: str
    lon: float | None = Field(None, description="经度（WGS-84）")
    lat: float | None = Field(None, description="纬度（WGS-84）")
    building_id: int | None
    department_id: int
    department_name: str = Field(alias="department.name")
    task_id: int | None = Field(description="责任部门的督办任务")
    raised_by_name: str | None = None
    raised_at: datetime
    arrive_by: datetime = Field(description="报到时限")
    fix_by: datetime = Field(description="整改时限")
    arrived_at: datetime | None
    fixed_at: datetime | None
    closed_at: datetime | None
    escalation_level: int = Field(description="已升级次数")
    next_escalation_at: datetime | None
    rating: int | None = Field(description="满意度评价 1–5")
    rating_note: str
    is_overdue: bool = Field(description="未到场已过报到时限，或未整改已过整改时限")

    @staticmethod
    def resolve_raised_by_name(obj) -> str | None:
        return actor_name(obj.raised_by)

    @staticmethod
    def resolve_is_overdue(obj) -> bool:
        return rules.is_overdue(obj)


class CallEventOut(Schema):
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


class CallDetail(CallOut):
    timeline: list[CallEventOut] = Field(description="事件时间线，先早后晚")
    actions: list[str] = Field(description="当前用户可执行的操作")


class CallFilter(FilterSchema):
    state: CallState | None = None
    category: CallCategory | None = None
    department: ObjectId | None = Field(None, description="责任部门编号")
    open: bool | None = Field(None, description="true：未办结（已呼叫、已报到、待确认）")
    overdue: bool | None = Field(None, description="true：超过报到或整改时限")
    region: str | None = Field(None, description="区划代码（含下级）")
    q: Annotated[str | None, FilterLookup(["title__icontains", "number__icontains"])] = Field(
        None, max_length=100, description="事项或编号包含"
    )

    def filter_department(self, value):
        return Q() if value is None else Q(department_id=value)

    def filter_open(self, value):
        if value is None:
            return Q()
        query = Q(
            state__in=[s.value for s in (CallState.CALLED, CallState.ON_SITE, CallState.FIXED)]
        )
        return query if value else ~query

    def filter_overdue(self, value):
        if value is None:
            return Q()
        query = rules.overdue_q(timezone.now())
        return query if value else ~query

    def filter_region(self, value):
        return region_subtree_q(value)


class CallIn(Schema):
    region_code: str = Field(max_length=20, description="所属区划（网格或村社区）代码")
    title: str = Field(max_length=400)
    category: str = Field(max_length=32, description="类别：fire、water、power、gas…")
    department_id: ObjectId
    description: str = Field("", max_length=10000)
    address: str = Field("", max_length=400)
    lon: float | None = None
    lat: float | None = None
    coord_system: str = Field("wgs84", description="wgs84、gcj02 或 bd09")
    building_id: ObjectId | None = None


class OnSiteIn(Schema):
    note: str = Field("", max_length=4000)
    lon: float | None = None
    lat: float | None = None
    coord_system: str = "wgs84"


class FixedIn(Schema):
    note: str = Field(max_length=4000, description="整改情况（必填）")
    photo_ids: list[ObjectId] = Field(default_factory=list, description="本呼叫的图片附件")


class ConfirmIn(Schema):
    rating: int = Field(description="满意度 1–5")
    note: str = Field("", max_length=4000, description="评价意见（2 分及以下必填）")


class ReasonIn(Schema):
    reason: str = Field(max_length=4000)


class DepartmentOut(Schema):
    id: int
    name: str
    kind: str
    region_name: str = Field(alias="region.name")
    suggested: bool = False


# --- calls ---------------------------------------------------------------------------------


def _calls(request):
    return people.visible_calls(request.user).select_related(*_RELATED)


def _call_or_404(request, call_id: int) -> CommunityCall:
    call = _calls(request).filter(pk=call_id).first()
    if call is None:
        raise Http404
    return call


def _detail(request, call_id: int) -> CommunityCall:
    events = CommunityCallEvent.objects.select_related("actor__person").order_by("at", "id")
    call = (
        _calls(request)
        .prefetch_related(Prefetch("events", queryset=events, to_attr="timeline"))
        .filter(pk=call_id)
        .first()
    )
    if call is None:
        raise Http404
    call.actions = people.allowed_actions(request.user, call)
    return call


def _coords(lon, lat, system):
    if lon is not None and lat is not None:
        return to_wgs84(lon, lat, system)
    return lon, lat


@router.get(
    "/calls",
    response=list[CallOut],
    summary="社区呼叫列表（按状态、类别、部门、逾期、区划筛选；新的在前）",
)
@paginate(Pages)
def list_calls(request, filters: Query[CallFilter]):
    return filters.filter(_calls(request)).order_by("-raised_at", "-id")


@router.get(
    "/calls/departments",
    response=list[DepartmentOut],
    summary="可呼叫的责任部门（按类别推荐的在前）",
)
def call_departments(request, region: str, category: str | None = None):
    found = Region.objects.visible_to(request.user).filter(code=region).first()
    if found is None:
        raise InvalidInput(_("区划不存在"), details={"region": _("区划不存在或不在管辖范围内")})
    return people.suggested_departments(request.user, found, category)


@router.get("/calls/{call_id}", response=CallDetail, summary="社区呼叫详情（含时间线）")
def call_detail(request, call_id: ObjectId):
    return _detail(request, call_id)


@router.post("/calls", response={201: CallDetail}, summary="发起社区呼叫（吹哨）")
def raise_call(request, payload: CallIn):
    region = Region.objects.visible_to(request.user).filter(code=payload.region_code).first()
    if region is None:
        raise InvalidInput(
            _("区划不存在"), details={"region_code": _("区划不存在或不在管辖范围内")}
        )
    department = Organization.objects.filter(pk=payload.department_id).first()
    allowed = {d.pk for d in people.suggested_departments(request.user, region)}
    if department is None or department.pk not in allowed:
        raise InvalidInput(
            _("输入有误，请检查标注的字段"),
            details={"department_id": _("不存在或不能向该部门呼叫")},
        )
    building = None
    if payload.building_id is not None:
        from frontline.community.models import Building

        building = Building.objects.visible_to(request.user).filter(pk=payload.building_id).first()
        if building is None:
            raise InvalidInput(
                _("输入有误，请检查标注的字段"),
                details={"building_id": _("不存在或不在您的管辖范围内")},
            )
    lon, lat = _coords(payload.lon, payload.lat, payload.coord_system)
    call = services.raise_call(
        actor=request.user,
        region=region,
        title=payload.title,
        category=payload.category,
        department=department,
        description=payload.description,
        address=payload.address,
        lon=lon,
        lat=lat,
        building=building,
    )
    return Status(201, _detail(request, call.pk))


@router.post("/calls/{call_id}/on-site", response=CallDetail, summary="责任部门到场报到")
def on_site(request, call_id: ObjectId, payload: OnSiteIn):
    lon, lat = _coords(payload.lon, payload.lat, payload.coord_system)
    services.report_on_site(
        actor=request.user, call=_call_or_404(request, call_id), note=payload.note, lon=lon, lat=lat
    )
    return _detail(request, call_id)


@router.post("/calls/{call_id}/fixed", response=CallDetail, summary="责任部门报告整改完成")
def fixed(request, call_id: ObjectId, payload: FixedIn):
    services.report_fixed(
        actor=request.user,
        call=_call_or_404(request, call_id),
        note=payload.note,
        photo_ids=payload.photo_ids,
    )
    return _detail(request, call_id)


@router.post(
    "/calls/{call_id}/confirm",
    response=CallDetail,
    summary="呼叫人确认整改并评价，办结（责任部门不能办结）",
)
def confirm(request, call_id: ObjectId, payload: ConfirmIn):
    services.confirm_fix(
        actor=request.user,
        call=_call_or_404(request, call_id),
        rating=payload.rating,
        note=payload.note,
    )
    return _detail(request, call_id)


@router.post("/calls/{call_id}/reject", response=CallDetail, summary="呼叫人退回整改")
def reject(request, call_id: ObjectId, payload: ReasonIn):
    services.reject_fix(
        actor=request.user, call=_call_or_404(request, call_id), reason=payload.reason
    )
    return _detail(request, call_id)


@router.post("/calls/{call_id}/withdraw", response=CallDetail, summary="呼叫人撤回呼叫（到场前）")
def withdraw(request, call_id: ObjectId, payload: ReasonIn):
    services.withdraw_call(
        actor=request.user, call=_call_or_404(request, call_id), reason=payload.reason
    )
    return _detail(request, call_id)


# --- grid staffing -------------------------------------------------------------------------


class PostOut(Schema):
    id: int
    region_code: str = Field(alias="region.code")
    region_name: str = Field(alias="region.name")
    person_id: int
    person_name: str = Field(alias="person.name")
    organization_name: str | None = Field(None, alias="person.organization.name")
    role: GridRole
    role_label: str = Field(alias="get_role_display")
    started_on: date
    ended_on: date | None
    is_active: bool


class PostIn(Schema):
    region_code: str = Field(max_length=20, description="网格代码")
    person_id: ObjectId
    role: str = Field(
        max_length=32, description="grid_leader、grid_worker、part_time、group_leader"
    )
    started_on: date | None = None


class EndPostIn(Schema):
    ended_on: date | None = None


class GroupLeaderIn(Schema):
    household_ids: list[ObjectId] = Field(max_length=500)
    person_id: ObjectId | None = Field(None, description="空：取消十户长")


class GroupLeaderOut(Schema):
    changed: int


def _grid_or_422(request, code: str, field: str = "region_code") -> Region:
    region = Region.objects.visible_to(request.user).filter(code=code).first()
    if region is None:
        raise InvalidInput(_("区划不存在"), details={field: _("区划不存在或不在管辖范围内")})
    return region


def _person_or_422(request, person_id: int | None) -> Person | None:
    if person_id is None:
        return None
    person = Person.objects.visible_to(request.user).filter(pk=person_id).first()
    if person is None:
        raise InvalidInput(
            _("输入有误，请检查标注的字段"),
            details={"person_id": _("不存在或不在您的管辖范围内")},
        )
    return person


@router.get("/grid-posts", response=list[PostOut], summary="网格岗位（网格员、网格长、十户长）")
@paginate(Pages)
def list_posts(request, region: str | None = None, active: bool | None = None):
    posts = GridPost.objects.visible_to(request.user).select_related(
        "region", "person__organization"
    )
    if region:
        posts = posts.filter(region_subtree_q(region))
    if active is not None:
        posts = posts.filter(ended_on__isnull=active)
    return posts.order_by("region__code", "ended_on", "role", "id")


@router.get("/grid-posts/{post_id}", response=PostOut, summary="网格岗位详情")
def post_detail(request, post_id: ObjectId):
    post = (
        GridPost.objects.visible_to(request.user)
        .select_related("region", "person__organization")
        .filter(pk=post_id)
        .first()
    )
    if post is None:
        raise Http404
    return post


@router.post("/grid-posts", response={201: PostOut}, summary="任命网格岗位")
def appoint(request, payload: PostIn):
    post = staffing.appoint_post(
        actor=request.user,
        region=_grid_or_422(request, payload.region_code),
        person=_person_or_422(request, payload.person_id),
        role=payload.role,
        started_on=payload.started_on,
    )
    return Status(
        201, GridPost.objects.select_related("region", "person__organization").get(pk=post.pk)
    )


@router.post("/grid-posts/{post_id}/end", response=PostOut, summary="岗位离任")
def end(request, post_id: ObjectId, payload: EndPostIn):
    post = GridPost.objects.visible_to(request.user).filter(pk=post_id).first()
    if post is None:
        raise Http404
    staffing.end_post(actor=request.user, post=post, ended_on=payload.ended_on)
    return GridPost.objects.select_related("region", "person__organization").get(pk=post.pk)


@router.post("/group-leaders", response=GroupLeaderOut, summary="设置住户的十户长（十户一长）")
def group_leader(request, payload: GroupLeaderIn):
    households = list(
        Household.objects.visible_to(request.user).filter(pk__in=payload.household_ids)
    )
    if len(households) != len(set(payload.household_ids)):
        raise InvalidInput(
            _("输入有误，请检查标注的字段"),
            details={"household_ids": _("部分住户不存在或不在您的管辖范围内")},
        )
    changed = staffing.set_group_leader(
        actor=request.user,
        households=households,
        person=_person_or_422(request, payload.person_id),
    )
    return {"changed": changed}
