"""Demo people and accounts: who works in each unit, and a login for those who use the system.

About 2,000 people per county. Those who work in the system (county staff, station chiefs and
staff, township leaders, liaisons, grid workers, experts, enterprise safety officers) get an
account with role assignments scoped like a real rollout: grid workers to their grids,
station people to their township, county people to the county.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from frontline.core.demo.accounts import DEMO_PASSWORD
from frontline.core.demo.district import HOME_COUNTY, RegionPlan
from frontline.core.demo.framework import DemoContext, register
from frontline.core.demo.names import MobileNumbers, person_name
from frontline.core.demo.organizations import CountyOrgs, OrgDirectory, TownshipOrgs
from frontline.core.models import AccountEvent, Organization, Person, Region, RoleAssignment
from frontline.core.roles import Role

PEOPLE_STEP = "core.people"
HOME_TOWNSHIP = HOME_COUNTY + "001"  # 柯岩街道
_EXPERT_FIELDS = [
    "化工", "危险化学品", "消防", "建筑施工", "特种设备", "电气",
    "地质灾害", "水利防汛", "森林防火", "医疗救护", "燃气", "交通运输",
]  # fmt: skip
_BUREAU_LEADERS = ["局长", "副局长", "副局长"]
_BUREAU_STAFF = [
    "应急指挥中心主任",
    "办公室主任",
    "综合减灾科科长",
    "安全生产综合监管科科长",
    "应急指挥中心值班员",
    "综合减灾科科员",
    "安全生产综合监管科科员",
    "危化品监管科科员",
    "执法大队队员",
]


@dataclass
class PersonSpec:
    name: str
    organization: Organization
    region: Region
    position: str
    mobile: str
    office_phone: str = ""
    username: str | None = None
    grants: list[tuple[str, Region]] = field(default_factory=list)


class Staffing:
    """Collects the people of a dataset before anything is written."""

    def __init__(self, rng: random.Random, first_home_grid: str | None):
        self.rng = rng
        self.mobiles = MobileNumbers(rng)
        self.people: list[PersonSpec] = []
        self.usernames: set[str] = set()
        # Well-known accounts: the first person created for each (role, scope) gets the name.
        self.well_known: dict[tuple[str, str], str] = {
            (Role.COUNTY_ADMIN, HOME_COUNTY): "county",
            (Role.LEADER, HOME_COUNTY): "leader",
            (Role.EXPERT, HOME_COUNTY): "expert",
            (Role.STATION_CHIEF, HOME_TOWNSHIP): "chief",
            (Role.STATION_STAFF, HOME_TOWNSHIP): "duty",
            (Role.LIAISON, HOME_TOWNSHIP): "liaison",
        }
        if first_home_grid is not None:
            self.well_known[(Role.GRID_WORKER, first_home_grid)] = "grid"
        self.safety_taken = False

    def add(
        self,
        organization: Organization,
        region: Region,
        position: str,
        *,
        role: str | None = None,
        scopes: list[Region] | None = None,
        login_prefix: str = "",
    ) -> PersonSpec:
        spec = PersonSpec(
            name=person_name(self.rng),
            organization=organization,
            region=region,
            position=position,
            mobile=self.mobiles.next(),
            office_phone=organization.duty_phone if role else "",
        )
        if role is not None:
            scopes = scopes or [region]
            spec.grants = [(role, scope) for scope in scopes]
            spec.username = self._username(role, scopes, login_prefix)
        self.people.append(spec)
        return spec

    def _username(self, role: str, scopes: list[Region], prefix: str) -> str:
        key = (role, scopes[0].code) if len(scopes) == 1 else None
        username = self.well_known.pop(key, None) if key else None
        home_firm = role == Role.ENTERPRISE_OFFICER and scopes[0].code.startswith(HOME_TOWNSHIP)
        if username is None and home_firm and not self.safety_taken:
            username, self.safety_taken = "safety", True
        if username is None:
            serial = 1
            while f"{prefix}{scopes[0].code}{serial:02d}" in self.usernames:
                serial += 1
            username = f"{prefix}{scopes[0].code}{serial:02d}"
        self.usernames.add(username)
        return username

    def members(self, organization: Organization, region: Region, lead: str, count: int) -> None:
        """A team without logins: a leader and `count` members."""
        self.add(organization, region, lead)
        for _ in range(count):
            self.add(organization, region, "队员")


# --- who works where -----------------------------------------------------------------------


def staff_county(staffing: Staffing, county: Region, orgs: CountyOrgs) -> None:
    rng = staffing.rng
    for position in _BUREAU_STAFF:
        staffing.add(orgs.bureau, county, position, role=Role.COUNTY_ADMIN, login_prefix="c")
    for position in _BUREAU_LEADERS:
        staffing.add(orgs.bureau, county, position, role=Role.LEADER, login_prefix="l")
    staffing.add(orgs.fire_brigade, county, "大队长")
    staffing.add(orgs.fire_brigade, county, "教导员")
    staffing.add(orgs.fire_brigade, county, "参谋（联络员）", role=Role.LIAISON, login_prefix="d")
    for station in orgs.fire_stations:
        staffing.members(station, station.region, "站长", rng.randint(5, 7))
    for department in orgs.departments:
        staffing.add(department, county, "联络员", role=Role.LIAISON, login_prefix="d")
    for expert_field in rng.sample(_EXPERT_FIELDS, 10):
        staffing.add(
            orgs.expert_group,
            county,
            f"{expert_field}专家",
            role=Role.EXPERT,
            login_prefix="x",
        )
    for team in orgs.social_teams:
        staffing.members(team, county, "队长", rng.randint(8, 12))


def staff_township(
    staffing: Staffing, township: Region, plan: RegionPlan, orgs: TownshipOrgs
) -> None:
    rng = staffing.rng
    leader_title = "办事处副主任（分管应急）" if plan.kind == "street" else "副镇长（分管应急）"
    staffing.add(orgs.government, township, leader_title, role=Role.LEADER, login_prefix="l")
    station_head = "站长" if plan.kind == "street" else "所长"
    staffing.add(orgs.station, township, station_head, role=Role.STATION_CHIEF, login_prefix="s")
    # Duty officers first: the well-known `duty` account is the first staff member.
    positions = ["值班员", "值班员", f"副{station_head}"] + ["工作人员"] * rng.randint(2, 3)
    for position in positions:
        staffing.add(orgs.station, township, position, role=Role.STATION_STAFF, login_prefix="s")
    for department in orgs.departments:
        staffing.add(department, township, "联络员", role=Role.LIAISON, login_prefix="d")
    staffing.members(orgs.squad, township, "队长", rng.randint(6, 10))
    if orgs.fulltime_fire_team is not None:
        staffing.members(orgs.fulltime_fire_team, township, "队长", rng.randint(6, 9))
    for micro in orgs.micro_fire_stations:
        staffing.members(micro, micro.region, "站长", rng.randint(5, 6))
    if orgs.community_station is not None:
        station = orgs.community_station
        staffing.members(station, station.region, "站长", 5)
    for enterprise in orgs.enterprises:
        staffing.add(enterprise, enterprise.region, "法定代表人")
        staffing.add(
            enterprise,
            enterprise.region,
            "专职安全员",
            role=Role.ENTERPRISE_OFFICER,
            login_prefix="e",
        )


def staff_village(
    staffing: Staffing, village: Region, committee: Organization, grids: list[Region]
) -> None:
    rng = staffing.rng
    secretary = "党委书记" if village.name.endswith("社区") else "党总支书记"
    if rng.random() < 0.6:  # one person holding both posts (一肩挑) is the common case
        staffing.add(committee, village, f"{secretary}、主任")
    else:
        staffing.add(committee, village, secretary)
        staffing.add(committee, village, "主任")
    for group in grid_groups(grids, rng, staffing.well_known):
        staffing.add(
            committee,
            group[0],
            "专职网格员",
            role=Role.GRID_WORKER,
            scopes=group,
            login_prefix="g",
        )


def grid_groups(grids: list[Region], rng: random.Random, well_known: dict) -> list[list[Region]]:
    """One grid worker looks after one to three neighbouring grids (about 2.3 on average). The
    well-known `grid` account must hold exactly one grid, so its grid stands alone."""
    groups: list[list[Region]] = []
    index = 0
    while index < len(grids):
        size = rng.choice([1, 2, 2, 2, 3, 3, 3])
        if (Role.GRID_WORKER, grids[index].code) in well_known:
            size = 1
        groups.append(grids[index : index + size])
        index += size
    return groups


# --- writing -------------------------------------------------------------------------------


def build_staffing(
    regions: dict[str, Region], plans: dict[str, RegionPlan], directory: OrgDirectory, rng
) -> Staffing:
    children: dict[str, list[Region]] = {}
    for region in sorted(regions.values(), key=lambda region: region.code):
        if region.parent is not None:
            children.setdefault(region.parent.code, []).append(region)
    home_grids = [code for code in regions if code.startswith(HOME_TOWNSHIP) and len(code) == 15]
    staffing = Staffing(rng, min(home_grids) if home_grids else None)
    for county_code, county_orgs in directory.counties.items():
        staff_county(staffing, regions[county_code], county_orgs)
    for township_code, township_orgs in directory.townships.items():
        staff_township(staffing, regions[township_code], plans[township_code], township_orgs)
        for village in children.get(township_code, []):
            staff_village(
                staffing,
                village,
                directory.village_committees[village.code],
                children.get(village.code, []),
            )
    return staffing


def write_people(staffing: Staffing, ctx: DemoContext) -> None:
    """Users, people, role assignments and account events, each in one bulk insert. A system
    job creating a fresh dataset bypasses services.create_account / grant_role on purpose:
    ~1,000 Argon2 hashes alone would take a minute, so every demo account shares one hash
    of DEMO_PASSWORD (computed once here)."""
    User = get_user_model()
    password_hash = make_password(DEMO_PASSWORD)
    with_login = [spec for spec in staffing.people if spec.username]
    total = len(staffing.people) + 2 * len(with_login)
    users = [
        User(
            username=spec.username,
            first_name=spec.name,
            password=password_hash,
            is_staff=any(role == Role.COUNTY_ADMIN for role, _ in spec.grants),
        )
        for spec in with_login
    ]
    User.objects.bulk_create(users, batch_size=500)
    users_by_name = {user.username: user for user in users}
    ctx.report(len(users), total)
    people = [
        Person(
            name=spec.name,
            organization=spec.organization,
            region=spec.region,
            position=spec.position,
            mobile=spec.mobile,  # encrypted by EncryptedTextField.get_prep_value on insert
            mobile_tail=spec.mobile[-4:],
            office_phone=spec.office_phone,
            user=users_by_name.get(spec.username) if spec.username else None,
        )
        for spec in staffing.people
    ]
    Person.objects.bulk_create(people, batch_size=500)
    ctx.report(len(users) + len(people), total)
    assignments = [
        RoleAssignment(user=users_by_name[spec.username], role=role, region=scope)
        for spec in with_login
        for role, scope in spec.grants
    ]
    RoleAssignment.objects.bulk_create(assignments, batch_size=500)
    AccountEvent.objects.bulk_create(_account_events(people, assignments, staffing), batch_size=500)
    ctx.report(total, total)
    ctx.count("people", len(people))
    ctx.count("accounts", len(users))
    ctx.count("role_assignments", len(assignments))
    for assignment in assignments:
        ctx.count(f"role_assignments.{assignment.role}")


def _account_events(people, assignments, staffing: Staffing) -> list[AccountEvent]:
    """The same timeline entries services.create_account and grant_role would leave."""
    events = [
        AccountEvent(
            user=person.user,
            kind="account_created",
            note="演示数据",
            data={"person": person.pk},
        )
        for person in people
        if person.user is not None
    ]
    events += [
        AccountEvent(
            user=assignment.user,
            kind="role_granted",
            note="演示数据",
            data={"role": assignment.role, "region": assignment.region.code},
        )
        for assignment in assignments
    ]
    return events


def generate_people(ctx: DemoContext) -> None:
    staffing = build_staffing(
        ctx.state["regions"], ctx.state["plans"], ctx.state["organizations"], ctx.rng
    )
    write_people(staffing, ctx)


register(PEOPLE_STEP, order=30, generate_fn=generate_people, label="人员与账号")
