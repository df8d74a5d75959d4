"""Who is who around a community call: the caller side and the department side, who sees
a call, who hears of it (station, county, department) and which departments one may call.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from frontline.community.models import CallCategory, CommunityCall
from frontline.community.services.calls_rules import TRANSITIONS, Side
from frontline.core.models import (
    Organization,
    OrganizationKind,
    Region,
    RegionLevel,
    RoleAssignment,
)
from frontline.core.roles import Capability, Role, can
from frontline.core.scoping import active_assignments, scope_paths, subtree_q
from frontline.core.services import supervision
from frontline.core.services.notifications import notify_users

# --- kinds of units one may call ----------------------------------------------------------

# Units a call may go to: departments, and the fire and rescue teams.
DEPARTMENT_KINDS = (
    OrganizationKind.DEPARTMENT,
    OrganizationKind.FIRE_BRIGADE,
    OrganizationKind.FULLTIME_FIRE_TEAM,
    OrganizationKind.MICRO_FIRE_STATION,
    OrganizationKind.RESCUE_SQUAD,
    OrganizationKind.SOCIAL_RESCUE,
    OrganizationKind.GOVERNMENT,
)
FIRE_KINDS = (
    OrganizationKind.FIRE_BRIGADE,
    OrganizationKind.FULLTIME_FIRE_TEAM,
    OrganizationKind.MICRO_FIRE_STATION,
)
# Words in a department's name that suggest it for a category (the region's own
# departments are named as people call them: 供电所, 自来水公司, 派出所…).
CATEGORY_KEYWORDS: dict[str, tuple[str, ...]] = {
    CallCategory.FIRE: ("消防",),
    CallCategory.WATER: ("水", "防汛", "水利"),
    CallCategory.POWER: ("电",),
    CallCategory.GAS: ("燃气", "天然气", "液化气"),
    CallCategory.POLICE: ("派出所", "公安", "警"),
    CallCategory.HOUSING: ("住建", "房", "建设"),
    CallCategory.ROADS: ("交通", "交警", "公路", "道路"),
    CallCategory.MARKET: ("市场监管", "市场"),
    CallCategory.HEALTH: ("卫生", "卫健", "医院"),
    CallCategory.ENVIRONMENT: ("环境", "环卫", "综合执法", "城管"),
    CallCategory.OTHER: (),
}


# --- sides and visibility ------------------------------------------------------------------


def is_department_user(user, call: CommunityCall) -> bool:
    """A person of the call's department (the task's assignee side)."""
    _person, organization_id = supervision._person_of(user)
    return organization_id is not None and organization_id == call.department_id


def caller_is_gone(call: CommunityCall) -> bool:
    """The caller's account was closed, or no longer may edit in the call's region."""
    caller = call.raised_by
    return not caller.is_active or not can(caller, Capability.EDIT, call.region)


def is_station_chief(user, region: Region) -> bool:
    return any(
        a.role == Role.STATION_CHIEF and region.path.startswith(a.region.path)
        for a in active_assignments(user)
    )


def is_caller_side(user, call: CommunityCall) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if user.pk == call.raised_by_id:
        return True
    return caller_is_gone(call) and is_station_chief(user, call.region)


def side_of(user, call: CommunityCall) -> Side | None:
    if is_department_user(user, call):
        return Side.DEPARTMENT
    if is_caller_side(user, call):
        return Side.CALLER
    return None


def allowed_actions(user, call: CommunityCall) -> list[str]:
    """Actions this user may take on the call now (buttons on the page, `actions` in the API)."""
    side = side_of(user, call)
    return [name for name, t in TRANSITIONS.items() if t.side == side and call.state in t.sources]


def visible_calls(user, queryset=None):
    """Calls in the user's scope, plus the calls sent to the user's organization (a county
    department's liaison answers a call of a village)."""
    queryset = CommunityCall.objects.all() if queryset is None else queryset
    paths = scope_paths(user)
    if paths is None:
        return queryset
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    scope = subtree_q("region__path", paths) if paths else Q(pk__in=[])
    _person, organization_id = supervision._person_of(user)
    if organization_id is not None:
        scope |= Q(department_id=organization_id)
    return queryset.filter(scope)


# --- regions and people --------------------------------------------------------------------


def township_of(region: Region) -> Region:
    """The township (乡镇街道) at or above `region`; the region itself above that level."""
    if region.level in (RegionLevel.TOWNSHIP, RegionLevel.COUNTY, RegionLevel.CITY):
        return region
    if region.level == RegionLevel.PROVINCE:
        return region
    for ancestor in region.ancestors().order_by("-depth"):
        if ancestor.level == RegionLevel.TOWNSHIP:
            return ancestor
    return region


def county_of(region: Region) -> Region | None:
    if region.level == RegionLevel.COUNTY:
        return region
    for ancestor in region.ancestors().order_by("-depth"):
        if ancestor.level == RegionLevel.COUNTY:
            return ancestor
    return None


def _role_users(region: Region | None, roles) -> list:
    if region is None:
        return []
    User = get_user_model()
    user_ids = RoleAssignment.objects.filter(
        region=region, role__in=roles, revoked_at__isnull=True
    ).values("user_id")
    return list(User.objects.filter(pk__in=user_ids, is_active=True))


def station_users(region: Region) -> list:
    """The station of the call's township: its chief and staff."""
    return _role_users(township_of(region), (Role.STATION_CHIEF, Role.STATION_STAFF))


def county_users(region: Region) -> list:
    """The county bureau: the county administrators (and station chiefs held on the county)."""
    return _role_users(county_of(region), (Role.COUNTY_ADMIN, Role.STATION_CHIEF))


def department_users(call: CommunityCall) -> list:
    User = get_user_model()
    return list(
        User.objects.filter(person__organization_id=call.department_id, is_active=True).distinct()
    )


def caller_users(call: CommunityCall) -> list:
    if call.raised_by.is_active:
        return [call.raised_by]
    return [
        u
        for u in _role_users(township_of(call.region), (Role.STATION_CHIEF,))
        if u.pk != call.raised_by_id
    ]


# --- whom to call --------------------------------------------------------------------------


def suggested_departments(user, region: Region, category: str | None = None) -> list:
    """Departments the user may call for `region`: units of a department kind at the
    region or above it (a grid calls the township's and the county's departments, whether
    or not the caller's scope shows them), and those below it in the user's scope; those
    whose kind or name fits the category come first."""
    above = [c for c in region.path.split("/") if c]
    below = Organization.objects.visible_to(user).within(region.path).values("pk")
    units = list(
        Organization.objects.filter(kind__in=DEPARTMENT_KINDS)
        .filter(Q(region__code__in=above) | Q(pk__in=below))
        .select_related("region")
        .order_by("name", "id")
    )
    if not category:
        return units
    words = CATEGORY_KEYWORDS.get(category, ())

    def fits(unit: Organization) -> bool:
        if category == CallCategory.FIRE and unit.kind in FIRE_KINDS:
            return True
        return any(word in unit.name for word in words)

    for unit in units:
        unit.suggested = fits(unit)
    return sorted(units, key=lambda u: (not u.suggested,))


# --- messages ------------------------------------------------------------------------------


def call_link(call: CommunityCall) -> str:
    try:
        return reverse("call_detail", args=[call.pk])
    except NoReverseMatch:
        return ""


def local_time(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


def notify_call(users, actor, call: CommunityCall, kind: str, subject: str, body: str = "", **kw):
    actor_pk = getattr(actor, "pk", None)
    notify_users(
        [u for u in users if u.pk != actor_pk],
        kind=kind,
        subject=subject % {"title": call.title, "number": call.number},
        body=body,
        link=call_link(call),
        related=call,
        **kw,
    )
