"""The well-known demo accounts: one per role, all with the same password."""

from __future__ import annotations

from typing import NamedTuple

from django.contrib.auth import get_user_model

from frontline.core.models import RoleAssignment
from frontline.core.roles import Role

DEMO_PASSWORD = "frontline-demo"

# (role, username). Scopes: the county 柯桥区 for county / leader / expert, its first
# township 柯岩街道 for chief / duty / liaison, one grid there for grid, one firm's village for
# safety.
DEMO_ACCOUNTS: list[tuple[str, str]] = [
    (Role.COUNTY_ADMIN, "county"),
    (Role.LEADER, "leader"),
    (Role.STATION_CHIEF, "chief"),
    (Role.STATION_STAFF, "duty"),
    (Role.GRID_WORKER, "grid"),
    (Role.LIAISON, "liaison"),
    (Role.ENTERPRISE_OFFICER, "safety"),
    (Role.EXPERT, "expert"),
]
WELL_KNOWN_USERNAMES = {username for _, username in DEMO_ACCOUNTS}


class DemoAccount(NamedTuple):
    role_label: str
    username: str
    password: str
    scope: str


def demo_accounts() -> list[DemoAccount]:
    """Rows to print after seeding (`frontline demo`, `frontline seed-demo`): only the
    accounts that exist in this database."""
    users = {
        user.username: user
        for user in get_user_model().objects.filter(username__in=WELL_KNOWN_USERNAMES)
    }
    rows = []
    for role, username in DEMO_ACCOUNTS:
        user = users.get(username)
        if user is None:
            continue
        assignment = (
            RoleAssignment.objects.filter(user=user, role=role, revoked_at__isnull=True)
            .select_related("region")
            .order_by("region__code")
            .first()
        )
        scope = assignment.region.name if assignment is not None else ""
        rows.append(DemoAccount(str(Role(role).label), username, DEMO_PASSWORD, scope))
    return rows
