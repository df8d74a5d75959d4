"""Roles and what each may do. A role is always held for a region (its scope)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COUNTY_ADMIN = "county_admin", _("区县管理员")
    LEADER = "leader", _("领导(只读)")
    STATION_CHIEF = "station_chief", _("站长")
    STATION_STAFF = "station_staff", _("站内工作人员/值班员")
    GRID_WORKER = "grid_worker", _("网格员")
    LIAISON = "liaison", _("部门联络员")
    ENTERPRISE_OFFICER = "enterprise_officer", _("企业安全员")
    EXPERT = "expert", _("专家")


class Capability(models.TextChoices):
    EDIT = "edit", _("录入和修改业务数据")
    MANAGE_REGIONS = "manage_regions", _("维护行政区划")
    MANAGE_PEOPLE = "manage_people", _("维护组织和人员")
    MANAGE_ACCOUNTS = "manage_accounts", _("管理账号和角色")
    VIEW_PERSONAL_DATA = "view_personal_data", _("查看个人敏感信息明文")
    # The resident roll and the vulnerable people in it (masked), and the clear view of a
    # resident's protected fields: the grid worker who visits them needs both, a station
    # clerk the roll only.
    VIEW_RESIDENTS = "view_residents", _("查看居民和重点人群名册（脱敏）")
    VIEW_RESIDENT_DATA = "view_resident_data", _("查看居民敏感信息明文")
    # Depots, stock, teams, equipment, shelters and experts are the station's and the
    # county's to keep; a grid worker helps register evacuees at a shelter.
    MANAGE_RESOURCES = "manage_resources", _("管理应急物资、队伍、装备和避难场所")
    REGISTER_EVACUEES = "register_evacuees", _("登记避难场所安置人员")


ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.COUNTY_ADMIN: frozenset(Capability.values),
    Role.LEADER: frozenset(),
    Role.STATION_CHIEF: frozenset(
        {
            Capability.EDIT,
            Capability.MANAGE_PEOPLE,
            Capability.MANAGE_ACCOUNTS,
            Capability.VIEW_PERSONAL_DATA,
            Capability.VIEW_RESIDENTS,
            Capability.VIEW_RESIDENT_DATA,
            Capability.MANAGE_RESOURCES,
            Capability.REGISTER_EVACUEES,
        }
    ),
    Role.STATION_STAFF: frozenset(
        {
            Capability.EDIT,
            Capability.MANAGE_PEOPLE,
            Capability.VIEW_RESIDENTS,
            Capability.MANAGE_RESOURCES,
            Capability.REGISTER_EVACUEES,
        }
    ),
    Role.GRID_WORKER: frozenset(
        {
            Capability.EDIT,
            Capability.VIEW_RESIDENTS,
            Capability.VIEW_RESIDENT_DATA,
            Capability.REGISTER_EVACUEES,
        }
    ),
    Role.LIAISON: frozenset({Capability.EDIT}),
    Role.ENTERPRISE_OFFICER: frozenset({Capability.EDIT}),
    Role.EXPERT: frozenset(),
}


def can(user, capability: str, region=None) -> bool:
    """Whether the user holds `capability` through an assignment that covers `region`
    (any assignment when region is None)."""
    from frontline.core.scoping import active_assignments

    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser and getattr(user, "_frontline_token", None) is None:
        return True
    for assignment in active_assignments(user):
        if capability not in ROLE_CAPABILITIES.get(assignment.role, ()):
            continue
        if region is None or region.path.startswith(assignment.region.path):
            return True
    return False


def roles_of(user) -> set[str]:
    from frontline.core.scoping import active_assignments

    return {assignment.role for assignment in active_assignments(user)}
