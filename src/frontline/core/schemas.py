from __future__ import annotations

from datetime import datetime
from typing import Annotated

from django.db.models import Q
from ninja import Field, FilterLookup, FilterSchema, Schema

from frontline.core.models import OrganizationKind, Region, RegionLevel
from frontline.core.roles import Role
from frontline.core.scoping import subtree_q

# Database ids: anything outside a 64-bit positive integer is bad input, not a server error.
ObjectId = Annotated[int, Field(ge=1, le=2**63 - 1)]


def region_subtree_q(code: str | None) -> Q:
    if not code:
        return Q()
    path = Region.objects.filter(code=code).values_list("path", flat=True).first()
    if path is None:
        return Q(pk__in=[])
    return subtree_q("region__path", [path])


class RegionOut(Schema):
    id: int
    code: str
    name: str
    level: RegionLevel
    level_label: str = Field(alias="get_level_display")
    parent_id: int | None
    depth: int
    is_virtual: bool
    centroid_lon: float | None
    centroid_lat: float | None
    population: int | None


class RegionDetail(RegionOut):
    boundary: dict | None
    bbox: list[float] | None


class RegionNode(Schema):
    id: int
    code: str
    name: str
    level: RegionLevel
    children: list[RegionNode] = []
    children_count: int = 0


class RegionFilter(FilterSchema):
    level: RegionLevel | None = None
    parent: Annotated[str | None, FilterLookup("parent__code")] = Field(
        None, description="上级区划代码"
    )
    q: Annotated[str | None, FilterLookup(["name__icontains", "code__startswith"])] = Field(
        None, description="名称包含或代码前缀"
    )


class AssignmentOut(Schema):
    id: int
    role: Role
    role_label: str = Field(alias="get_role_display")
    region: RegionOut


class MeOut(Schema):
    id: int
    username: str
    name: str
    person_id: int | None
    is_superuser: bool
    assignments: list[AssignmentOut]
    scope: list[str] | None = Field(description="可见区划路径；null 表示全部")
    token: str | None = Field(None, description="本次请求使用的令牌前缀")


class OrganizationOut(Schema):
    id: int
    name: str
    kind: OrganizationKind
    kind_label: str = Field(alias="get_kind_display")
    region_id: int
    region_code: str = Field(alias="region.code")
    parent_id: int | None
    duty_phone: str
    address: str
    lon: float | None
    lat: float | None


class OrganizationIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    kind: OrganizationKind
    region_code: str = Field(min_length=6, max_length=15)
    parent_id: ObjectId | None = None
    duty_phone: str = Field("", max_length=32)
    address: str = Field("", max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)


class OrganizationPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=120)
    kind: OrganizationKind | None = None
    duty_phone: str | None = Field(None, max_length=32)
    address: str | None = Field(None, max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)


class OrganizationFilter(FilterSchema):
    kind: OrganizationKind | None = None
    region: str | None = Field(None, description="区划代码（含下级）")

    def filter_region(self, value):
        return region_subtree_q(value)

    q: Annotated[str | None, FilterLookup("name__icontains")] = Field(None, description="名称包含")


class PersonOut(Schema):
    id: int
    name: str
    organization_id: int | None
    organization_name: str | None = Field(None, alias="organization.name")
    region_id: int
    region_code: str = Field(alias="region.code")
    position: str
    mobile_masked: str
    office_phone: str
    has_account: bool

    @staticmethod
    def resolve_has_account(obj) -> bool:
        return obj.user_id is not None


class PersonIn(Schema):
    name: str = Field(min_length=1, max_length=50)
    region_code: str = Field(min_length=6, max_length=15)
    organization_id: ObjectId | None = None
    position: str = Field("", max_length=60)
    mobile: str = Field("", max_length=20)
    office_phone: str = Field("", max_length=32)
    id_number: str = Field("", max_length=18)


class PersonPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=50)
    organization_id: ObjectId | None = None
    position: str | None = Field(None, max_length=60)
    mobile: str | None = Field(None, max_length=20)
    office_phone: str | None = Field(None, max_length=32)
    id_number: str | None = Field(None, max_length=18)


class PersonFilter(FilterSchema):
    organization: Annotated[ObjectId | None, FilterLookup("organization_id")] = None
    region: str | None = Field(None, description="区划代码（含下级）")

    def filter_region(self, value):
        return region_subtree_q(value)

    q: Annotated[str | None, FilterLookup(["name__icontains", "mobile_tail"])] = Field(
        None, description="姓名包含或手机尾号"
    )


class RevealIn(Schema):
    field: str = Field(pattern="^(mobile|id_number)$")
    reason: str = Field("", max_length=200)


class RevealOut(Schema):
    field: str
    value: str


class LocateOut(Schema):
    region: RegionOut
    path: list[RegionOut]


class TokenOut(Schema):
    id: int
    name: str
    key_prefix: str
    assignment_id: int
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    assignment_id: ObjectId
    expires_at: datetime | None = None


class TokenCreated(TokenOut):
    token: str = Field(description="完整令牌，仅此一次返回")
