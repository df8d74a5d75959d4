"""/api/v1 of rescue teams: list (with readiness now), detail (members with masked phones,
who is on duty, equipment, timeline), the teams available now for dispatch, and the writes:
create, change, status, members, certificates and duty shifts. Equipment and experts are in
`teams_equipment.py` and `teams_experts.py`, included below.

A team outside the user's scope is a 404; bad input (an unknown capability, a person of
another township, an overlapping shift) a 422 with Chinese field messages; a status the team
already has a 409. A member's mobile is masked here; the clear view is the core's logged
`POST /people/{id}/reveal`.
"""

from datetime import date, datetime, timedelta

from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from frontline.core.errors import InvalidInput
from frontline.core.pagination import Pages
from frontline.core.schemas import ObjectId
from frontline.core.scoping import subtree_q
from frontline.resources.api.teams_common import (
    EventOut,
    capability_labels,
    capability_or_422,
    events_of,
    person_or_422,
    region_or_422,
    wgs84,
)
from frontline.resources.models import (
    DutyShift,
    Equipment,
    MemberCertificate,
    RescueTeam,
    TeamKind,
    TeamMember,
    TeamStatus,
    capability_q,
    unpack_capabilities,
)
from frontline.resources.services import teams as services
from frontline.resources.services.teams_duty import YEARS

router = Router(tags=["resources"])

MAX_WINDOW_DAYS = 31


# --- team schemas ----------------------------------------------------------------------------


class TeamOut(Schema):
    id: int
    name: str
    kind: str
    kind_label: str = Field(alias="get_kind_display")
    status: str
    status_label: str = Field(alias="get_status_display")
    region_code: str = Field(alias="region.code")
    region_name: str = Field(alias="region.name")
    address: str
    lon: float = Field(description="经度（WGS-84）")
    lat: float = Field(description="纬度（WGS-84）")
    capabilities: list[str]
    capability_labels: list[str]
    leader_id: int | None
    leader_name: str | None = Field(None, alias="leader.name")
    duty_phone: str = Field(description="值班电话（单位电话，不脱敏）")
    min_on_duty: int = Field(description="最少在岗人数，0 表示无要求")
    response_minutes: int | None
    member_count: int = Field(description="在队人数")
    ready_now: int = Field(description="此刻在班且可出勤的人数")
    meets_rule: bool = Field(description="在岗人数是否达到要求")
    updated_at: datetime

    @staticmethod
    def resolve_capabilities(obj) -> list[str]:
        return unpack_capabilities(obj.capabilities)

    @staticmethod
    def resolve_capability_labels(obj) -> list[str]:
        return capability_labels(obj.capabilities)

    @staticmethod
    def resolve_meets_rule(obj) -> bool:
        return services.readiness_of(obj).meets


class CertificateOut(Schema):
    id: int
    name: str
    number: str
    issued_by: str
    expires_on: date | None


class MemberOut(Schema):
    id: int
    person_id: int
    name: str = Field(alias="person.name")
    mobile_masked: str = Field(alias="person.mobile_masked", description="手机号（脱敏）")
    role: str
    role_label: str = Field(alias="get_role_display")
    skills: str
    joined_on: date | None
    left_on: date | None
    is_available: bool
    on_duty_now: bool = False
    certificates: list[CertificateOut] = Field(alias="certificate_list")


class ShiftOut(Schema):
    id: int
    team_id: int
    member_id: int
    name: str = Field(alias="member.person.name")
    starts_at: datetime
    ends_at: datetime


class EquipmentBrief(Schema):
    id: int
    name: str
    kind_label: str = Field(alias="get_kind_display")
    plate_no: str
    status: str
    status_label: str = Field(alias="get_status_display")


class TeamDetail(TeamOut):
    members: list[MemberOut] = Field(alias="member_list")
    on_duty: list[ShiftOut] = Field(description="此刻覆盖的班次")
    equipment: list[EquipmentBrief] = Field(alias="equipment_list")
    timeline: list[EventOut] = Field(description="最近的事件，先早后晚")


class TeamIn(Schema):
    region_code: str = Field(max_length=20)
    name: str = Field(max_length=120)
    kind: str = Field(max_length=24, description="队伍类型，如 rescue_squad、micro_fire_station")
    lon: float | None = None
    lat: float | None = None
    coord_system: str = Field("wgs84", description="wgs84、gcj02 或 bd09")
    address: str = Field("", max_length=200)
    capabilities: list[str] = Field(default_factory=list, max_length=20)
    leader_id: ObjectId | None = None
    duty_phone: str = Field("", max_length=32)
    min_on_duty: int | None = Field(None, description="空：按类型（微型消防站 3 人）")
    response_minutes: int | None = None
    notes: str = Field("", max_length=2000)


class TeamPatch(Schema):
    name: str | None = Field(None, max_length=120)
    kind: str | None = Field(None, max_length=24)
    lon: float | None = None
    lat: float | None = None
    coord_system: str = "wgs84"
    address: str | None = Field(None, max_length=200)
    capabilities: list[str] | None = Field(None, max_length=20)
    leader_id: ObjectId | None = None
    duty_phone: str | None = Field(None, max_length=32)
    min_on_duty: int | None = None
    response_minutes: int | None = None
    notes: str | None = Field(None, max_length=2000)


class StatusIn(Schema):
    status: str = Field(max_length=16)
    note: str = Field("", max_length=500)


class MemberIn(Schema):
    person_id: ObjectId
    role: str = Field("member", max_length=12)
    skills: str = Field("", max_length=200)
    joined_on: date | None = None


class MemberPatch(Schema):
    role: str | None = Field(None, max_length=12)
    skills: str | None = Field(None, max_length=200)
    joined_on: date | None = None


class AvailabilityIn(Schema):
    is_available: bool
    note: str = Field("", max_length=500)


class NoteIn(Schema):
    note: str = Field("", max_length=500)


class CertificateIn(Schema):
    name: str = Field(max_length=80)
    number: str = Field("", max_length=60)
    issued_by: str = Field("", max_length=80)
    expires_on: date | None = None


class ShiftIn(Schema):
    member_id: ObjectId
    starts_at: datetime
    ends_at: datetime


# --- lookups ---------------------------------------------------------------------------------


def teams_of(request, now: datetime | None = None):
    queryset = RescueTeam.objects.visible_to(request.user).select_related("region", "leader")
    return services.with_readiness(queryset, now)


def team_or_404(request, team_id: int) -> RescueTeam:
    team = teams_of(request).filter(pk=team_id).first()
    if team is None:
        raise Http404
    return team


def member_or_404(request, team: RescueTeam, member_id: int) -> TeamMember:
    member = (
        TeamMember.objects.filter(team=team, pk=member_id)
        .select_related("person", "team__region")
        .first()
    )
    if member is None:
        raise Http404
    return member


def team_detail_of(request, team_id: int) -> RescueTeam:
    team = team_or_404(request, team_id)
    now = timezone.now()
    on_duty = list(
        DutyShift.objects.covering(now)
        .filter(team=team)
        .select_related("member__person")
        .order_by("starts_at", "pk")
    )
    ready = {s.member_id for s in on_duty}
    certificates = Prefetch(
        "certificates",
        queryset=MemberCertificate.objects.order_by("expires_on", "pk"),
        to_attr="certificate_list",
    )
    team.member_list = list(
        TeamMember.objects.filter(team=team, left_on__isnull=True)
        .select_related("person")
        .prefetch_related(certificates)
        .order_by("role", "pk")
    )
    for member in team.member_list:
        member.on_duty_now = member.pk in ready and member.is_available
    team.on_duty = on_duty
    team.equipment_list = list(Equipment.objects.filter(team=team).order_by("kind", "name", "pk"))
    team.timeline = events_of("team", team.pk)
    return team


# --- teams -----------------------------------------------------------------------------------


class TeamFilter(Schema):
    capability: str | None = Field(None, max_length=20, description="具备的救援能力")
    status: str | None = Field(None, max_length=16)
    kind: str | None = Field(None, max_length=24)
    region: str | None = Field(None, max_length=20, description="区划代码（含下级）")
    q: str | None = Field(None, max_length=100, description="名称包含")
    ready: bool | None = Field(None, description="true：在岗人数达到要求")


def filter_teams(request, queryset, filters: TeamFilter):
    capability = capability_or_422(filters.capability)
    if capability:
        queryset = queryset.filter(capability_q(capability))
    if filters.status:
        if filters.status not in TeamStatus.values:
            raise InvalidInput(_("状态不正确"), details={"status": _("不在可选值之内")})
        queryset = queryset.filter(status=filters.status)
    if filters.kind:
        if filters.kind not in TeamKind.values:
            raise InvalidInput(_("队伍类型不正确"), details={"kind": _("不在可选值之内")})
        queryset = queryset.filter(kind=filters.kind)
    if filters.region:
        region = region_or_422(request, filters.region, "region")
        queryset = queryset.filter(subtree_q("region__path", [region.path]))
    if filters.q:
        queryset = queryset.filter(name__icontains=filters.q)
    if filters.ready is not None:
        rule = services.meets_rule_q()
        queryset = queryset.filter(rule if filters.ready else ~rule)
    return queryset


@router.get(
    "/teams",
    response=list[TeamOut],
    summary="救援队伍列表（按能力、状态、类型、区划筛选；含此刻在岗人数）",
)
@paginate(Pages)
def list_teams(request, filters: Query[TeamFilter]):
    return filter_teams(request, teams_of(request), filters).order_by(
        "region__code", "kind", "name", "pk"
    )


@router.get(
    "/teams/available",
    response=list[TeamOut],
    summary="此刻可调派的队伍（待命且在岗人数达标），供突发事件调度",
)
@paginate(Pages)
def list_available_teams(request, capability: str | None = None):
    capability = capability_or_422(capability)
    teams = services.available_teams(request.user, capability).select_related("region", "leader")
    return teams.order_by("region__code", "kind", "name", "pk")


@router.get("/teams/{team_id}", response=TeamDetail, summary="队伍详情（队员手机号脱敏）")
def team_detail(request, team_id: ObjectId):
    return team_detail_of(request, team_id)


def _team_fields(request, payload, *, partial: bool) -> dict:
    data = payload.dict(exclude_unset=partial)
    system = data.pop("coord_system", "wgs84")
    data.pop("region_code", None)
    if "lon" in data or "lat" in data:
        data["lon"], data["lat"] = wgs84(data.get("lon"), data.get("lat"), system)
    if "leader_id" in data:
        data["leader"] = person_or_422(request, data.pop("leader_id"), "leader_id")
    return data


@router.post("/teams", response={201: TeamDetail}, summary="新建救援队伍")
def create_team(request, payload: TeamIn):
    region = region_or_422(request, payload.region_code)
    team = services.create_team(
        actor=request.user, region=region, **_team_fields(request, payload, partial=False)
    )
    return Status(201, team_detail_of(request, team.pk))


@router.patch("/teams/{team_id}", response=TeamDetail, summary="修改队伍信息")
def update_team(request, team_id: ObjectId, payload: TeamPatch):
    team = team_or_404(request, team_id)
    services.update_team(
        actor=request.user, team=team, **_team_fields(request, payload, partial=True)
    )
    return team_detail_of(request, team_id)


@router.post(
    "/teams/{team_id}/status",
    response=TeamDetail,
    summary="改变队伍状态（available 待命、deployed 出动中、resting 休整、unavailable 不可用）",
)
def set_status(request, team_id: ObjectId, payload: StatusIn):
    team = team_or_404(request, team_id)
    services.set_team_status(
        actor=request.user, team=team, status=payload.status, note=payload.note
    )
    return team_detail_of(request, team_id)


# --- members ---------------------------------------------------------------------------------


@router.post("/teams/{team_id}/members", response={201: TeamDetail}, summary="添加队员")
def add_member(request, team_id: ObjectId, payload: MemberIn):
    team = team_or_404(request, team_id)
    services.add_member(
        actor=request.user,
        team=team,
        person=person_or_422(request, payload.person_id),
        role=payload.role,
        skills=payload.skills,
        joined_on=payload.joined_on,
    )
    return Status(201, team_detail_of(request, team_id))


@router.patch(
    "/teams/{team_id}/members/{member_id}", response=TeamDetail, summary="修改队员职务、技能"
)
def update_member(request, team_id: ObjectId, member_id: ObjectId, payload: MemberPatch):
    member = member_or_404(request, team_or_404(request, team_id), member_id)
    services.update_member(actor=request.user, member=member, **payload.dict(exclude_unset=True))
    return team_detail_of(request, team_id)


@router.post(
    "/teams/{team_id}/members/{member_id}/availability",
    response=TeamDetail,
    summary="队员可出勤/不可出勤（病假、外出）",
)
def member_availability(request, team_id: ObjectId, member_id: ObjectId, payload: AvailabilityIn):
    member = member_or_404(request, team_or_404(request, team_id), member_id)
    services.set_member_availability(
        actor=request.user, member=member, is_available=payload.is_available, note=payload.note
    )
    return team_detail_of(request, team_id)


@router.post(
    "/teams/{team_id}/members/{member_id}/leave",
    response=TeamDetail,
    summary="队员离队（未开始的班次取消）",
)
def member_leave(request, team_id: ObjectId, member_id: ObjectId, payload: NoteIn):
    member = member_or_404(request, team_or_404(request, team_id), member_id)
    services.remove_member(actor=request.user, member=member, note=payload.note)
    return team_detail_of(request, team_id)


@router.post(
    "/teams/{team_id}/members/{member_id}/certificates",
    response={201: TeamDetail},
    summary="登记队员资格证书",
)
def add_certificate(request, team_id: ObjectId, member_id: ObjectId, payload: CertificateIn):
    member = member_or_404(request, team_or_404(request, team_id), member_id)
    services.add_certificate(actor=request.user, member=member, **payload.dict())
    return Status(201, team_detail_of(request, team_id))


@router.delete(
    "/teams/{team_id}/certificates/{certificate_id}", response={204: None}, summary="删除证书"
)
def remove_certificate(request, team_id: ObjectId, certificate_id: ObjectId):
    team = team_or_404(request, team_id)
    certificate = (
        MemberCertificate.objects.filter(member__team=team, pk=certificate_id)
        .select_related("member__person", "member__team__region")
        .first()
    )
    if certificate is None:
        raise Http404
    services.remove_certificate(actor=request.user, certificate=certificate)
    return Status(204, None)


# --- shifts ----------------------------------------------------------------------------------


def _window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The asked window, by default this week (Monday 00:00 Asia/Shanghai, 7 days)."""
    message = _("时间范围应在 %(n)d 天之内且结束晚于开始") % {"n": MAX_WINDOW_DAYS}
    for name, value in (("start", start), ("end", end)):
        if value is not None and not YEARS[0] <= value.year <= YEARS[1]:
            raise InvalidInput(message, details={name: _("日期时间超出范围")})
    if start is None:
        today = timezone.localdate()
        monday = today - timedelta(days=today.weekday())
        start = timezone.make_aware(datetime.combine(monday, datetime.min.time()))
    elif timezone.is_naive(start):
        start = timezone.make_aware(start)
    if end is None:
        end = start + timedelta(days=7)
    elif timezone.is_naive(end):
        end = timezone.make_aware(end)
    if end <= start or end - start > timedelta(days=MAX_WINDOW_DAYS):
        raise InvalidInput(message, details={"end": message})
    return start, end


@router.get(
    "/teams/{team_id}/shifts", response=list[ShiftOut], summary="队伍班次（默认本周，最长 31 天）"
)
def list_shifts(
    request, team_id: ObjectId, start: datetime | None = None, end: datetime | None = None
):
    team = team_or_404(request, team_id)
    return list(services.shifts_between(team, *_window(start, end)))


@router.post("/teams/{team_id}/shifts", response={201: ShiftOut}, summary="排班（同一人不得重叠）")
def create_shift(request, team_id: ObjectId, payload: ShiftIn):
    team = team_or_404(request, team_id)
    member = TeamMember.objects.filter(pk=payload.member_id, team=team).first()
    if member is None:
        raise InvalidInput(
            _("输入有误，请检查标注的字段"), details={"member_id": _("不是本队队员")}
        )
    shift = services.create_shift(
        actor=request.user,
        team=team,
        member=member,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
    )
    return Status(201, DutyShift.objects.select_related("member__person").get(pk=shift.pk))


@router.delete("/teams/{team_id}/shifts/{shift_id}", response={204: None}, summary="删除班次")
def delete_shift(request, team_id: ObjectId, shift_id: ObjectId):
    team = team_or_404(request, team_id)
    shift = (
        DutyShift.objects.filter(team=team, pk=shift_id)
        .select_related("member__person", "team__region")
        .first()
    )
    if shift is None:
        raise Http404
    services.delete_shift(actor=request.user, shift=shift)
    return Status(204, None)


# Equipment and experts share the prefix and the tag; their routes are declared after the
# teams' so that /teams/available is matched before /teams/{team_id}.
router.add_router("", "frontline.resources.api.teams_equipment.router")
router.add_router("", "frontline.resources.api.teams_experts.router")
