"""Demo rescue teams of every kind: the brigade's fire stations, full-time fire teams, micro
fire stations in most villages, each township's comprehensive rescue squad and community
station, militia detachments in the towns, volunteer teams, the county's social rescue teams
and its expert team. Members are people of the core registry (new ones where the core demo
has none), some with certificates; duty shifts cover yesterday to a week ahead, so "ready
now" counts real people whenever the demo is opened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from frontline.core.bulk import insert_rows
from frontline.core.demo.names import office_phone
from frontline.core.demo.organizations import short_name
from frontline.core.models import OrganizationKind, Person
from frontline.resources.demo_common import (
    NewPeople,
    Units,
    address,
    centre,
    counties,
    db_time,
    is_town,
    local_at,
    near,
    townships_of,
    villages_of,
)
from frontline.resources.demo_experts import generate_experts
from frontline.resources.models import (
    MIN_ON_DUTY,
    Capability,
    DutyShift,
    MemberCertificate,
    MemberRole,
    RescueTeam,
    ResourceEvent,
    TeamKind,
    TeamMember,
    TeamStatus,
    pack_capabilities,
)

C = Capability
CAPABILITIES = {
    TeamKind.FIRE_BRIGADE: [
        C.FIREFIGHTING,
        C.HIGH_ANGLE,
        C.HAZMAT,
        C.COLLAPSE,
        C.TRAFFIC,
        C.WATER_RESCUE,
        C.LIGHTING,
    ],
    TeamKind.FULLTIME_FIRE: [C.FIREFIGHTING, C.TRAFFIC, C.LIGHTING],
    TeamKind.MICRO_FIRE_STATION: [C.FIREFIGHTING],
    TeamKind.RESCUE_SQUAD: [C.WATER_RESCUE, C.DRAINAGE, C.EARTHWORK, C.LIGHTING, C.TRANSPORT],
    TeamKind.MILITIA: [C.FOREST_FIRE, C.EARTHWORK, C.TRANSPORT, C.DRAINAGE],
    TeamKind.SOCIAL: [C.WATER_RESCUE, C.HIGH_ANGLE, C.COLLAPSE, C.MEDICAL, C.COMMUNICATION],
    TeamKind.VOLUNTEER: [C.TRANSPORT, C.MEDICAL],
    TeamKind.EXPERT: [C.HAZMAT, C.COMMUNICATION],
}
SKILLS = {
    TeamKind.FIRE_BRIGADE: ["灭火救援", "破拆", "绳索救援", "水域救援", "危化品侦检", "消防车驾驶"],
    TeamKind.FULLTIME_FIRE: ["灭火救援", "破拆", "消防车驾驶", "水带铺设", "应急救护"],
    TeamKind.MICRO_FIRE_STATION: ["初起火灾扑救", "消防设施操作", "疏散引导", "应急救护"],
    TeamKind.RESCUE_SQUAD: [
        "抢险排涝",
        "水上救援",
        "油锯操作",
        "发电机操作",
        "无人机操作",
        "应急救护",
    ],
    TeamKind.MILITIA: ["森林扑火", "抢险排涝", "物资搬运", "风力灭火机操作"],
    TeamKind.SOCIAL: ["山地搜救", "水域救援", "绳索救援", "潜水", "无人机操作", "应急通信"],
    TeamKind.VOLUNTEER: ["物资分发", "心理疏导", "应急救护", "秩序维护", "信息报送"],
    TeamKind.EXPERT: ["现场会商", "技术研判"],
}
# (name, issued by, years valid, kinds whose members may hold it)
CERTIFICATES = [
    ("消防员职业资格证书（四级）", "浙江省消防救援总队职业技能鉴定站", None,
     {TeamKind.FIRE_BRIGADE, TeamKind.FULLTIME_FIRE, TeamKind.MICRO_FIRE_STATION}),
    ("应急救护员证", "绍兴市红十字会", 3, set(TeamKind.values)),
    ("特种作业操作证（高处作业）", "浙江省应急管理厅", 6,
     {TeamKind.FIRE_BRIGADE, TeamKind.SOCIAL, TeamKind.RESCUE_SQUAD}),
    ("民用无人机操控员执照", "中国民用航空局", 6,
     {TeamKind.RESCUE_SQUAD, TeamKind.SOCIAL, TeamKind.FIRE_BRIGADE}),
    ("潜水员证", "中国潜水打捞行业协会", 4, {TeamKind.SOCIAL, TeamKind.FIRE_BRIGADE}),
    ("森林消防扑火技能培训合格证", "绍兴市林业局", 3, {TeamKind.MILITIA, TeamKind.FULLTIME_FIRE}),
]  # fmt: skip
# Duty pattern: 24-hour shifts from 08:00; how many groups rotate (做一休一: 2).
ROTATION = {
    TeamKind.FIRE_BRIGADE: 2,
    TeamKind.FULLTIME_FIRE: 2,
    TeamKind.MICRO_FIRE_STATION: 2,
    TeamKind.RESCUE_SQUAD: 3,
    TeamKind.MILITIA: 3,
    TeamKind.SOCIAL: 3,
    TeamKind.VOLUNTEER: 4,
}
RESPONSE_MINUTES = {
    TeamKind.FIRE_BRIGADE: 5,
    TeamKind.FULLTIME_FIRE: 8,
    TeamKind.MICRO_FIRE_STATION: 3,
    TeamKind.RESCUE_SQUAD: 15,
    TeamKind.MILITIA: 30,
    TeamKind.SOCIAL: 40,
    TeamKind.VOLUNTEER: 30,
}
MIN_READY = {TeamKind.FIRE_BRIGADE: 4, TeamKind.FULLTIME_FIRE: 3, TeamKind.RESCUE_SQUAD: 2}
SHIFT_DAYS = 9  # yesterday's shift (still running before 08:00) and a week ahead
MICRO_SHARE = 0.8  # villages with a micro fire station (the core demo founds three a township)
DEPLOYMENTS = [
    "赴辖区厂房火情现场处置",
    "协助交通事故现场救援",
    "山林火情扑救",
    "配合开展防汛隐患巡查",
]


@dataclass
class Crew:
    team: RescueTeam
    people: list[tuple[Person, str]] = field(default_factory=list)  # (person, role)


def generate_teams(ctx) -> None:
    rng = ctx.rng
    experts = generate_experts(ctx)
    new_people = NewPeople(rng)
    crews: list[Crew] = []
    for county in counties(ctx):
        townships = townships_of(ctx, county)
        villages = {t.pk: villages_of(ctx, t) for t in townships}
        ids = [county.pk] + [t.pk for t in townships]
        ids += [v.pk for vs in villages.values() for v in vs]
        units = Units(ids, users=False)
        crews += _county_crews(county, units, experts, rng)
        for township in townships:
            crews += _township_crews(township, villages[township.pk], units, new_people, rng)
        ctx.report(len(crews), len(crews))
    new_people.save()
    _statuses(crews, rng)
    for crew in crews:
        chief = next((p for p, role in crew.people if role == MemberRole.CHIEF), None)
        crew.team.leader = chief
    RescueTeam.objects.bulk_create([crew.team for crew in crews], batch_size=500)
    members = _members(crews, rng)
    certificates = _certificates(members, rng)
    shifts = _shifts(crews, rng)
    events = _events(crews)
    for kind in TeamKind.values:
        ctx.count(f"teams.{kind}", sum(crew.team.kind == kind for crew in crews))
    ctx.count("teams", len(crews))
    ctx.count("team_members", len(members))
    ctx.count("certificates", certificates)
    ctx.count("duty_shifts", shifts)
    ctx.count("resource_events", events)
    ctx.count("people.resources", len(new_people.rows))


# --- who is in which team -------------------------------------------------------------------


def _team(kind: str, region, name: str, org, rng, *, extra=(), place: str = "") -> RescueTeam:
    lon, lat = (
        (org.lon, org.lat) if org is not None and org.lon else near(*centre(region), rng, 600)
    )
    return RescueTeam(
        region=region,
        name=name,
        kind=kind,
        organization=org,
        duty_phone=org.duty_phone if org is not None and org.duty_phone else office_phone(rng),
        address=place or address(region, rng),
        lon=lon,
        lat=lat,
        capabilities=pack_capabilities([*CAPABILITIES[kind], *extra]),
        min_on_duty=MIN_ON_DUTY.get(kind, MIN_READY.get(kind, 0)),
        response_minutes=RESPONSE_MINUTES.get(kind),
    )


def _crew_of(team: RescueTeam, people: list[Person]) -> Crew:
    """Roles from the positions the core demo gave (站长/队长 lead), a driver or two and a
    medic in the larger teams."""
    crew = Crew(team)
    for index, person in enumerate(people):
        if person.position in {"站长", "队长", "分队长", "所长"} and not any(
            role == MemberRole.CHIEF for _p, role in crew.people
        ):
            role = MemberRole.CHIEF
        elif index == 1:
            role = MemberRole.DEPUTY
        elif index in {2, 3} and team.kind in {TeamKind.FIRE_BRIGADE, TeamKind.FULLTIME_FIRE}:
            role = MemberRole.DRIVER
        elif index == 4 and team.kind in {TeamKind.RESCUE_SQUAD, TeamKind.SOCIAL}:
            role = MemberRole.MEDIC
        else:
            role = MemberRole.MEMBER
        crew.people.append((person, role))
    if crew.people and not any(role == MemberRole.CHIEF for _p, role in crew.people):
        crew.people[0] = (crew.people[0][0], MemberRole.CHIEF)
    return crew


def _county_crews(county, units: Units, experts, rng) -> list[Crew]:
    crews = []
    for org in units.of(OrganizationKind.FIRE_BRIGADE):
        if org.region_id == county.pk:
            continue  # the brigade's headquarters commands; its stations turn out
        team = _team(TeamKind.FIRE_BRIGADE, org.region, org.name, org, rng, place=org.name)
        crews.append(_crew_of(team, units.people.get(org.pk, [])))
    for org in units.of(OrganizationKind.SOCIAL_RESCUE, county):
        team = _team(TeamKind.SOCIAL, county, org.name, org, rng, extra=[C.TRANSPORT])
        crews.append(_crew_of(team, units.people.get(org.pk, [])))
    group = units.first(OrganizationKind.EXPERT_GROUP, county)
    if group is not None:
        team = _team(TeamKind.EXPERT, county, group.name, group, rng, place=group.name)
        people = [e.person for e in experts if e.region_id == county.pk]
        crews.append(_crew_of(team, people))
    return crews


def _township_crews(township, villages, units: Units, new_people: NewPeople, rng) -> list[Crew]:
    short = short_name(township.name)
    town = is_town(township)
    crews = []
    squad = units.first(OrganizationKind.RESCUE_SQUAD, township)
    if squad is not None:
        extra = [C.FOREST_FIRE] if town else [C.COMMUNICATION]
        team = _team(TeamKind.RESCUE_SQUAD, township, squad.name, squad, rng, extra=extra)
        team.notes = "以基干民兵为骨干组建，乡镇（街道）统一调度。"
        crews.append(_crew_of(team, units.people.get(squad.pk, [])))
    fulltime = units.first(OrganizationKind.FULLTIME_FIRE_TEAM, township)
    if fulltime is not None:
        extra = [C.FOREST_FIRE] if town else []
        team = _team(TeamKind.FULLTIME_FIRE, township, fulltime.name, fulltime, rng, extra=extra)
        crews.append(_crew_of(team, units.people.get(fulltime.pk, [])))
    government = units.first(OrganizationKind.GOVERNMENT, township)
    if town or rng.random() < 0.3:
        team = _team(TeamKind.MILITIA, township, f"{short}民兵应急分队", None, rng)
        people = [new_people.add(township, government, "分队长")]
        people += [new_people.add(township, government, "民兵") for _ in range(rng.randint(9, 15))]
        crews.append(_crew_of(team, people))
    team = _team(TeamKind.VOLUNTEER, township, f"{short}应急志愿服务队", None, rng)
    people = [new_people.add(township, None, "队长")]
    people += [new_people.add(township, None, "志愿者") for _ in range(rng.randint(9, 14))]
    crews.append(_crew_of(team, people))
    for org in units.of(OrganizationKind.COMMUNITY_STATION):
        if org.region.parent_id == township.pk:
            team = _team(TeamKind.RESCUE_SQUAD, org.region, org.name, org, rng, extra=[C.MEDICAL])
            team.response_minutes = 3  # 1 minute to respond, 3 to the scene, 5 to act
            crews.append(_crew_of(team, units.people.get(org.pk, [])))
    crews += _micro_stations(township, villages, units, new_people, rng)
    return crews


def _micro_stations(township, villages, units: Units, new_people: NewPeople, rng) -> list[Crew]:
    """The core demo founded three micro fire stations a township; most other villages keep
    one too (chief + 5–6 members from the village, 24-hour duty, 3 minutes to the scene)."""
    crews = []
    founded = {org.region_id: org for org in units.of(OrganizationKind.MICRO_FIRE_STATION)}
    for village in villages:
        org = founded.get(village.pk)
        committee = units.first(OrganizationKind.VILLAGE_COMMITTEE, village)
        extra = [C.MEDICAL] if rng.random() < 0.3 else []
        if org is not None:
            team = _team(TeamKind.MICRO_FIRE_STATION, village, org.name, org, rng, extra=extra)
            crews.append(_crew_of(team, units.people.get(org.pk, [])))
        elif rng.random() < MICRO_SHARE:
            place = f"{village.name}{'居委会' if village.name.endswith('社区') else '村委会'}一楼"
            anchor = committee if committee is not None else None
            team = _team(
                TeamKind.MICRO_FIRE_STATION,
                village,
                f"{village.name}微型消防站",
                None,
                rng,
                extra=extra,
                place=place,
            )
            if anchor is not None and anchor.lon:
                team.lon, team.lat = near(anchor.lon, anchor.lat, rng, 60)
            people = [new_people.add(village, committee, "站长")]
            people += [new_people.add(village, committee, "队员") for _ in range(rng.randint(5, 6))]
            crews.append(_crew_of(team, people))
    return crews


def _statuses(crews: list[Crew], rng) -> None:
    """Mostly standing by; a few out on a job or resting after one, one off the roster."""
    pool = [c for c in crews if c.team.kind != TeamKind.EXPERT]
    picked = rng.sample(pool, min(len(pool), max(3, len(pool) // 30)))
    for index, crew in enumerate(picked):
        status = [TeamStatus.DEPLOYED, TeamStatus.RESTING, TeamStatus.DEPLOYED][index % 3]
        if index == len(picked) - 1:
            status = TeamStatus.UNAVAILABLE
        crew.team.status = status
        crew.team._note = {
            TeamStatus.DEPLOYED: rng.choice(DEPLOYMENTS),
            TeamStatus.RESTING: "连续出动后轮休，次日恢复待命",
            TeamStatus.UNAVAILABLE: "消防车辆送修，队员并入邻近队伍执勤",
        }[status]


# --- rows -----------------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class Post:
    """A member as the demo writes it (a plain record: two thousand TeamMember instances
    cost more than the rest of the step)."""

    team: RescueTeam
    person: Person
    role: str
    skills: str
    joined_on: object
    is_available: bool
    pk: int | None = None


def _members(crews: list[Crew], rng) -> list[Post]:
    """Members as plain rows, then their ids read back by (team, person), which is
    unique."""
    today = timezone.localdate()
    adapt_date = connection.ops.adapt_datefield_value
    members = []
    for crew in crews:
        skills = SKILLS[crew.team.kind]
        team_rows = [
            Post(
                crew.team,
                person,
                role,
                "、".join(rng.sample(skills, min(len(skills), rng.randint(1, 3)))),
                today - timedelta(days=rng.randint(40, 3600)),
                # Off sick or away: on the roster but not counted as ready.
                rng.random() > 0.05 or role == MemberRole.CHIEF,
            )
            for person, role in crew.people
        ]
        crew.team._members = team_rows
        members += team_rows
    insert_rows(
        TeamMember,
        ("team_id", "person_id", "role", "skills", "joined_on", "is_available"),
        [(m.team.pk, m.person.pk, m.role, m.skills, adapt_date(m.joined_on), m.is_available)
         for m in members],
    )  # fmt: skip
    ids = {
        (team_id, person_id): pk
        for pk, team_id, person_id in TeamMember.objects.filter(
            team_id__in=[crew.team.pk for crew in crews]
        ).values_list("pk", "team_id", "person_id")
    }
    for member in members:
        member.pk = ids[(member.team.pk, member.person.pk)]
    return members


def _certificates(members: list[Post], rng) -> int:
    today = timezone.localdate()
    adapt_date = connection.ops.adapt_datefield_value
    rows = []
    for serial, member in enumerate(members, start=1):
        kind = member.team.kind
        for name, issuer, years, kinds in CERTIFICATES:
            if kind not in kinds or rng.random() > 0.22:
                continue
            expires = None
            if years:
                # Issued some time within its validity; a few lapsed or about to.
                expires = today + timedelta(days=rng.randint(-60, years * 365))
            number = f"{today.year - rng.randint(0, 5)}{serial:06d}{len(rows) % 10}"
            rows.append((member.pk, name, number, issuer, adapt_date(expires)))
    insert_rows(MemberCertificate, ("member_id", "name", "number", "issued_by", "expires_on"), rows)
    return len(rows)


def _shifts(crews: list[Crew], rng) -> int:
    """24-hour shifts from 08:00 local, groups taking turns (做一休一 for fire teams), from
    yesterday's (which covers the small hours of today) to a week ahead."""
    today = timezone.localdate()
    rows, times = [], {}
    for crew in crews:
        groups = ROTATION.get(crew.team.kind)
        if not groups:
            continue  # experts are called, not rostered
        members = list(crew.team._members)
        offset = rng.randrange(groups)
        for day_index in range(SHIFT_DAYS):
            day = today + timedelta(days=day_index - 1)
            group = (day_index + offset) % groups
            starts = local_at(day, 8)
            # The same few instants for every team: adapt each once.
            begin = times.get(starts) or times.setdefault(starts, db_time(starts))
            finish = starts + timedelta(hours=24)
            end = times.get(finish) or times.setdefault(finish, db_time(finish))
            rows += [
                (crew.team.pk, member.pk, begin, end)
                for position, member in enumerate(members)
                if position % groups == group
            ]
    # Nine thousand plain rows: straight in, without building a model instance for each.
    insert_rows(DutyShift, ("team_id", "member_id", "starts_at", "ends_at"), rows)
    return len(rows)


def _events(crews: list[Crew]) -> int:
    now = timezone.now()
    rows = [
        ResourceEvent(
            region_id=crew.team.region_id,
            subject="team",
            object_id=crew.team.pk,
            at=now - timedelta(hours=3),
            kind="status",
            from_state=TeamStatus.AVAILABLE,
            to_state=crew.team.status,
            note=crew.team._note,
        )
        for crew in crews
        if crew.team.status != TeamStatus.AVAILABLE
    ]
    ResourceEvent.objects.bulk_create(rows)
    return len(rows)
