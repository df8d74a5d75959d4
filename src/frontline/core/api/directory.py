"""Core endpoints: me, regions (list, tree, locate), organizations, people, tokens."""

from django.db.models import Count
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.pagination import paginate

from frontline.core import services
from frontline.core.errors import InvalidInput
from frontline.core.geo import get_locator
from frontline.core.models import ApiToken, Organization, Person, Region, RoleAssignment
from frontline.core.pagination import Pages
from frontline.core.schemas import (
    LocateOut,
    MeOut,
    ObjectId,
    OrganizationFilter,
    OrganizationIn,
    OrganizationOut,
    OrganizationPatch,
    PersonFilter,
    PersonIn,
    PersonOut,
    PersonPatch,
    RegionDetail,
    RegionFilter,
    RegionNode,
    RegionOut,
    RevealIn,
    RevealOut,
    TokenCreated,
    TokenIn,
    TokenOut,
)
from frontline.core.scoping import active_assignments, scope_paths, subtree_q

router = Router(tags=["core"])


def visible_region(request, code: str) -> Region:
    """A region by code, 404 when it does not exist or lies outside the scope."""
    return get_object_or_404(Region.objects.visible_to(request.user), code=code)


# --- me ------------------------------------------------------------------------------------


@router.get("/me", response=MeOut, summary="当前用户、角色和可见范围")
def me(request):
    user = request.user
    token = getattr(user, "_frontline_token", None)
    person = getattr(user, "person", None) if hasattr(user, "person") else None
    return {
        "id": user.pk,
        "username": user.get_username(),
        "name": person.name if person else (user.get_full_name() or user.get_username()),
        "person_id": person.pk if person else None,
        "is_superuser": user.is_superuser,
        "assignments": active_assignments(user),
        "scope": scope_paths(user),
        "token": token.key_prefix if token else None,
    }


# --- regions -------------------------------------------------------------------------------


@router.get("/regions", response=list[RegionOut], summary="区划列表（可按层级、上级、名称筛选）")
@paginate(Pages, page_size=100)
def list_regions(request, filters: Query[RegionFilter]):
    return filters.filter(Region.objects.visible_to(request.user)).order_by("code")


@router.get("/regions/tree", response=list[RegionNode], summary="区划树")
def region_tree(request, root: str | None = None, depth: int = 2):
    """The tree below `root` (default: the top of the user's scope), `depth` levels deep."""
    depth = max(1, min(depth, 4))
    visible = Region.objects.visible_to(request.user)
    if root:
        roots = [get_object_or_404(visible, code=root)]
    else:
        paths = scope_paths(request.user)
        roots = list(
            visible.filter(parent__isnull=True) if paths is None else visible.filter(path__in=paths)
        )
    if not roots:
        return []
    rows = (
        visible.filter(subtree_q("path", [r.path for r in roots]))
        .filter(depth__lte=max(r.depth for r in roots) + depth)
        .annotate(children_count=Count("children"))
        .values("id", "code", "name", "level", "parent_id", "path", "depth", "children_count")
    )
    nodes = {row["id"]: {**row, "children": []} for row in rows}
    result = []
    for node in sorted(nodes.values(), key=lambda n: n["code"]):
        parent = nodes.get(node["parent_id"])
        if parent is not None:
            parent["children"].append(node)
        else:
            result.append(node)
    return result


@router.get("/regions/locate", response=LocateOut, summary="按坐标查找所在区划（WGS-84）")
def locate_region(request, lon: float, lat: float):
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput(_("坐标超出范围"), details={"lon": _("经度 -180~180，纬度 -90~90")})
    region_id = get_locator().locate(lon, lat)
    if region_id is None:
        raise InvalidInput(
            _("该位置不在任何已知区划内"), details={"lon": _("请检查坐标系（应为 WGS-84）")}
        )
    region = get_object_or_404(Region.objects.visible_to(request.user), pk=region_id)
    path = [*region.ancestors().visible_to(request.user), region]
    return {"region": region, "path": path}


@router.get("/regions/{code}", response=RegionDetail, summary="区划详情（含边界）")
def region_detail(request, code: str):
    region = visible_region(request, code)
    bbox = None
    if region.min_lon is not None:
        bbox = [region.min_lon, region.min_lat, region.max_lon, region.max_lat]
    region.bbox = bbox
    return region


# --- organizations -------------------------------------------------------------------------


@router.get("/organizations", response=list[OrganizationOut], summary="单位列表")
@paginate(Pages)
def list_organizations(request, filters: Query[OrganizationFilter]):
    queryset = Organization.objects.visible_to(request.user).select_related("region")
    return filters.filter(queryset).order_by("region__code", "name")


@router.get("/organizations/{organization_id}", response=OrganizationOut, summary="单位详情")
def organization_detail(request, organization_id: ObjectId):
    return get_object_or_404(
        Organization.objects.visible_to(request.user).select_related("region"),
        pk=organization_id,
    )


def _visible_organization(request, organization_id: ObjectId | None) -> Organization | None:
    if organization_id is None:
        return None
    organization = Organization.objects.visible_to(request.user).filter(pk=organization_id).first()
    if organization is None:
        raise InvalidInput(_("单位不存在"), details={"organization_id": _("单位不存在或不可见")})
    return organization


def _region_for_input(request, code: str) -> Region:
    region = Region.objects.visible_to(request.user).filter(code=code).first()
    if region is None:
        raise InvalidInput(
            _("区划不存在"), details={"region_code": _("区划不存在或不在管辖范围内")}
        )
    return region


@router.post("/organizations", response={201: OrganizationOut}, summary="新建单位")
def create_organization(request, payload: OrganizationIn):
    organization = services.create_organization(
        actor=request.user,
        name=payload.name,
        kind=payload.kind,
        region=_region_for_input(request, payload.region_code),
        parent=_visible_organization(request, payload.parent_id),
        duty_phone=payload.duty_phone,
        address=payload.address,
        lon=payload.lon,
        lat=payload.lat,
    )
    return Status(201, organization)


@router.patch("/organizations/{organization_id}", response=OrganizationOut, summary="修改单位")
def update_organization(request, organization_id: ObjectId, payload: OrganizationPatch):
    organization = get_object_or_404(
        Organization.objects.visible_to(request.user), pk=organization_id
    )
    changes = payload.dict(exclude_unset=True)
    return services.update_organization(actor=request.user, organization=organization, **changes)


# --- people --------------------------------------------------------------------------------


def _people(request):
    return Person.objects.visible_to(request.user).select_related("region", "organization")


@router.get("/people", response=list[PersonOut], summary="人员列表（手机号脱敏）")
@paginate(Pages)
def list_people(request, filters: Query[PersonFilter]):
    return filters.filter(_people(request)).order_by("region__code", "name", "id")


@router.get("/people/{person_id}", response=PersonOut, summary="人员详情（手机号脱敏）")
def person_detail(request, person_id: ObjectId):
    return get_object_or_404(_people(request), pk=person_id)


@router.post("/people", response={201: PersonOut}, summary="新建人员")
def create_person(request, payload: PersonIn):
    person = services.create_person(
        actor=request.user,
        name=payload.name,
        region=_region_for_input(request, payload.region_code),
        organization=_visible_organization(request, payload.organization_id),
        position=payload.position,
        mobile=payload.mobile,
        office_phone=payload.office_phone,
        id_number=payload.id_number,
    )
    return Status(201, get_object_or_404(_people(request), pk=person.pk))


@router.patch("/people/{person_id}", response=PersonOut, summary="修改人员")
def update_person(request, person_id: ObjectId, payload: PersonPatch):
    person = get_object_or_404(Person.objects.visible_to(request.user), pk=person_id)
    changes = payload.dict(exclude_unset=True)
    if "organization_id" in changes:
        changes["organization"] = _visible_organization(request, changes.pop("organization_id"))
    services.update_person(actor=request.user, person=person, **changes)
    return get_object_or_404(_people(request), pk=person.pk)


@router.post(
    "/people/{person_id}/reveal", response=RevealOut, summary="查看敏感字段明文（记录访问日志）"
)
def reveal_person_field(request, person_id: ObjectId, payload: RevealIn):
    person = get_object_or_404(Person.objects.visible_to(request.user), pk=person_id)
    value = services.reveal_personal_field(
        actor=request.user,
        obj=person,
        field=payload.field,
        reason=payload.reason,
        remote_addr=request.META.get("REMOTE_ADDR"),
    )
    return {"field": payload.field, "value": value}


# --- tokens --------------------------------------------------------------------------------


@router.get("/tokens", response=list[TokenOut], summary="我的接口令牌")
def list_tokens(request):
    return ApiToken.objects.filter(assignment__user=request.user).order_by("-created_at")


@router.post("/tokens", response={201: TokenCreated}, summary="签发接口令牌（绑定一个角色授权）")
def create_token(request, payload: TokenIn):
    if getattr(request.user, "_frontline_token", None) is not None:
        raise InvalidInput(_("令牌不能再签发令牌"), details={"assignment_id": _("请登录后签发")})
    assignment = RoleAssignment.objects.filter(
        pk=payload.assignment_id, user=request.user, revoked_at__isnull=True
    ).first()
    if assignment is None:
        raise InvalidInput(_("角色授权不存在"), details={"assignment_id": _("不是您的有效授权")})
    record, token = services.issue_token(
        actor=request.user, assignment=assignment, name=payload.name, expires_at=payload.expires_at
    )
    return Status(201, {**TokenOut.from_orm(record).dict(), "token": token})


@router.delete("/tokens/{token_id}", response={204: None}, summary="撤销令牌")
def delete_token(request, token_id: ObjectId):
    token = get_object_or_404(ApiToken.objects.filter(assignment__user=request.user), pk=token_id)
    services.revoke_token(actor=request.user, token=token)
    return Status(204, None)
