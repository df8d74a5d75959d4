"""/api/v1 of equipment and vehicles: list (status, kind, capability, team, depot, due),
detail with the timeline, and the writes: create, change, status, a recorded inspection or
maintenance. Included by `api/teams.py`."""

from datetime import date, datetime, timedelta

from django.db.models import Q
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
    region_or_422,
    wgs84,
)
from frontline.resources.models import (
    Depot,
    Equipment,
    EquipmentKind,
    EquipmentStatus,
    RescueTeam,
    capability_q,
    unpack_capabilities,
)
from frontline.resources.services import equipment as services

router = Router(tags=["resources"])


class EquipmentOut(Schema):
    id: int
    name: str
    kind: str
    kind_label: str = Field(alias="get_kind_display")
    model: str
    serial_no: str
    plate_no: str
    capabilities: list[str]
    capability_labels: list[str]
    status: str
    status_label: str = Field(alias="get_status_display")
    region_code: str = Field(alias="region.code")
    region_name: str = Field(alias="region.name")
    team_id: int | None
    team_name: str | None = Field(None, alias="team.name")
    depot_id: int | None
    depot_name: str | None = Field(None, alias="depot.name")
    base_address: str
    lon: float = Field(description="经度（WGS-84）")
    lat: float = Field(description="纬度（WGS-84）")
    next_inspection_due: date | None
    next_maintenance_due: date | None
    due: dict[str, str] = Field(
        description="inspection/maintenance → overdue（逾期）或 soon（7 天内）"
    )
    updated_at: datetime

    @staticmethod
    def resolve_capabilities(obj) -> list[str]:
        return unpack_capabilities(obj.capabilities)

    @staticmethod
    def resolve_capability_labels(obj) -> list[str]:
        return capability_labels(obj.capabilities)

    @staticmethod
    def resolve_due(obj) -> dict[str, str]:
        return services.due_state(obj)


class EquipmentDetail(EquipmentOut):
    timeline: list[EventOut] = Field(description="最近的事件，先早后晚")


class EquipmentFilter(Schema):
    status: str | None = Field(None, max_length=16)
    kind: str | None = Field(None, max_length=20)
    capability: str | None = Field(None, max_length=20)
    team: ObjectId | None = Field(None, description="配属队伍编号")
    depot: ObjectId | None = Field(None, description="存放仓库编号")
    region: str | None = Field(None, max_length=20, description="区划代码（含下级）")
    due: bool | None = Field(None, description="true：检验或保养已逾期或 7 天内到期")
    q: str | None = Field(None, max_length=100, description="名称、车牌号或出厂编号包含")


class EquipmentIn(Schema):
    name: str = Field(max_length=120)
    kind: str = Field(max_length=20)
    region_code: str | None = Field(None, max_length=20, description="空：取队伍或仓库的区划")
    team_id: ObjectId | None = None
    depot_id: ObjectId | None = None
    model: str = Field("", max_length=80)
    serial_no: str = Field("", max_length=60)
    plate_no: str = Field("", max_length=16)
    capabilities: list[str] = Field(default_factory=list, max_length=20)
    base_address: str = Field("", max_length=200)
    lon: float | None = Field(None, description="空：取队伍或仓库的位置")
    lat: float | None = None
    coord_system: str = "wgs84"
    next_inspection_due: date | None = None
    next_maintenance_due: date | None = None
    notes: str = Field("", max_length=2000)


class EquipmentPatch(Schema):
    name: str | None = Field(None, max_length=120)
    kind: str | None = Field(None, max_length=20)
    team_id: ObjectId | None = None
    depot_id: ObjectId | None = None
    model: str | None = Field(None, max_length=80)
    serial_no: str | None = Field(None, max_length=60)
    plate_no: str | None = Field(None, max_length=16)
    capabilities: list[str] | None = Field(None, max_length=20)
    base_address: str | None = Field(None, max_length=200)
    lon: float | None = None
    lat: float | None = None
    coord_system: str = "wgs84"
    next_inspection_due: date | None = None
    next_maintenance_due: date | None = None
    notes: str | None = Field(None, max_length=2000)


class EquipmentStatusIn(Schema):
    status: str = Field(max_length=16)
    note: str = Field("", max_length=500)


class CheckIn(Schema):
    kind: str = Field(max_length=16, description="inspection 检验 或 maintenance 保养")
    done_on: date | None = Field(None, description="空：今天")
    next_due: date | None = Field(None, description="空：检验 365 天、保养 180 天之后")
    note: str = Field("", max_length=500)


def equipment_of(request):
    return Equipment.objects.visible_to(request.user).select_related("region", "team", "depot")


def equipment_or_404(request, equipment_id: int) -> Equipment:
    equipment = equipment_of(request).filter(pk=equipment_id).first()
    if equipment is None:
        raise Http404
    return equipment


def _detail(request, equipment_id: int) -> Equipment:
    equipment = equipment_or_404(request, equipment_id)
    equipment.timeline = events_of("equipment", equipment.pk)
    return equipment


def _home(request, data: dict) -> None:
    """team_id / depot_id → visible team / depot, or a 422."""
    if "team_id" in data:
        team_id = data.pop("team_id")
        data["team"] = None
        if team_id is not None:
            data["team"] = (
                RescueTeam.objects.visible_to(request.user)
                .select_related("region")
                .filter(pk=team_id)
                .first()
            )
            if data["team"] is None:
                raise InvalidInput(
                    _("输入有误，请检查标注的字段"),
                    details={"team_id": _("队伍不存在或不在您的管辖范围内")},
                )
    if "depot_id" in data:
        depot_id = data.pop("depot_id")
        data["depot"] = None
        if depot_id is not None:
            data["depot"] = (
                Depot.objects.visible_to(request.user)
                .select_related("region")
                .filter(pk=depot_id)
                .first()
            )
            if data["depot"] is None:
                raise InvalidInput(
                    _("输入有误，请检查标注的字段"),
                    details={"depot_id": _("仓库不存在或不在您的管辖范围内")},
                )


def _fields(request, payload, *, partial: bool) -> dict:
    data = payload.dict(exclude_unset=partial)
    system = data.pop("coord_system", "wgs84")
    if "lon" in data or "lat" in data:
        data["lon"], data["lat"] = wgs84(data.get("lon"), data.get("lat"), system)
    _home(request, data)
    return data


@router.get(
    "/equipment",
    response=list[EquipmentOut],
    summary="装备与车辆列表（按状态、类型、能力、队伍、仓库、到期筛选）",
)
@paginate(Pages)
def list_equipment(request, filters: Query[EquipmentFilter]):
    queryset = equipment_of(request)
    if filters.status:
        if filters.status not in EquipmentStatus.values:
            raise InvalidInput(_("状态不正确"), details={"status": _("不在可选值之内")})
        queryset = queryset.filter(status=filters.status)
    if filters.kind:
        if filters.kind not in EquipmentKind.values:
            raise InvalidInput(_("类型不正确"), details={"kind": _("不在可选值之内")})
        queryset = queryset.filter(kind=filters.kind)
    capability = capability_or_422(filters.capability)
    if capability:
        queryset = queryset.filter(capability_q(capability))
    if filters.team:
        queryset = queryset.filter(team_id=filters.team)
    if filters.depot:
        queryset = queryset.filter(depot_id=filters.depot)
    if filters.region:
        region = region_or_422(request, filters.region, "region")
        queryset = queryset.filter(subtree_q("region__path", [region.path]))
    if filters.due is not None:
        query = due_q()
        queryset = queryset.filter(query if filters.due else ~query)
    if filters.q:
        text = filters.q
        queryset = queryset.filter(
            Q(name__icontains=text)
            | Q(plate_no__icontains=text.upper())
            | Q(serial_no__icontains=text)
        )
    return queryset.order_by("region__code", "kind", "name", "pk")


def due_q(today: date | None = None) -> Q:
    """Inspection or maintenance overdue or due within DUE_SOON_DAYS."""
    horizon = (today or timezone.localdate()) + timedelta(days=services.DUE_SOON_DAYS)
    return Q(next_inspection_due__lte=horizon) | Q(next_maintenance_due__lte=horizon)


@router.get("/equipment/{equipment_id}", response=EquipmentDetail, summary="装备详情（含时间线）")
def equipment_detail(request, equipment_id: ObjectId):
    return _detail(request, equipment_id)


@router.post("/equipment", response={201: EquipmentDetail}, summary="登记装备或车辆")
def create_equipment(request, payload: EquipmentIn):
    data = _fields(request, payload, partial=False)
    code = data.pop("region_code", None)
    region = region_or_422(request, code) if code else None
    equipment = services.create_equipment(actor=request.user, region=region, **data)
    return Status(201, _detail(request, equipment.pk))


@router.patch("/equipment/{equipment_id}", response=EquipmentDetail, summary="修改装备信息")
def update_equipment(request, equipment_id: ObjectId, payload: EquipmentPatch):
    equipment = equipment_or_404(request, equipment_id)
    services.update_equipment(
        actor=request.user, equipment=equipment, **_fields(request, payload, partial=True)
    )
    return _detail(request, equipment_id)


@router.post(
    "/equipment/{equipment_id}/status",
    response=EquipmentDetail,
    summary="改变装备状态（available、in_use、maintenance、out_of_order）",
)
def set_status(request, equipment_id: ObjectId, payload: EquipmentStatusIn):
    equipment = equipment_or_404(request, equipment_id)
    services.set_equipment_status(
        actor=request.user, equipment=equipment, status=payload.status, note=payload.note
    )
    return _detail(request, equipment_id)


@router.post(
    "/equipment/{equipment_id}/checks",
    response=EquipmentDetail,
    summary="记录一次检验或保养（顺延下次到期日）",
)
def record_check(request, equipment_id: ObjectId, payload: CheckIn):
    equipment = equipment_or_404(request, equipment_id)
    services.record_check(actor=request.user, equipment=equipment, **payload.dict())
    return _detail(request, equipment_id)
