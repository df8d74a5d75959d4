"""Demo shelters: a class I shelter of the county, a class II school and a class III square
or cultural centre in every township, and village halls (避灾安置点) in some villages; areas
and capacities by the 1.5 m² rule (one school counts its dormitory beds, with the reason);
most closed, two open with people registered as the GB/T 33744 forms ask.

The open shelter of the home township takes in real households of the community demo (its
dilapidated and low-lying homes) when that demo has run; elsewhere evacuees are drawn here,
with valid, encrypted ID numbers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Q
from django.utils import timezone

from frontline.core.crypto import keyed_digest
from frontline.core.demo.names import MobileNumbers, person_name
from frontline.core.demo.organizations import short_name
from frontline.core.models import OrganizationKind
from frontline.core.services.validation import id_check_digit
from frontline.resources.demo_common import (
    Units,
    address,
    centre,
    counties,
    is_town,
    near,
    townships_of,
    villages_of,
)
from frontline.resources.models import (
    Evacuee,
    EvacueeNeed,
    Gender,
    ResourceEvent,
    Shelter,
    ShelterClass,
    ShelterFacility,
    ShelterLevel,
    ShelterStatus,
    capacity_for_area,
)

F = ShelterFacility
FACILITIES = {
    "stadium": [f.value for f in F],
    "school": [F.WATER, F.POWER, F.TOILETS, F.MEDICAL, F.KITCHEN, F.BEDS, F.BROADCAST,
               F.LIGHTING, F.FIRE, F.ACCESSIBLE, F.WASTE],
    "square": [F.WATER, F.TOILETS, F.BROADCAST, F.LIGHTING, F.FIRE, F.WASTE],
    "hall": [F.WATER, F.POWER, F.TOILETS, F.BEDS, F.LIGHTING, F.FIRE],
}  # fmt: skip
OVERRIDE_REASON = "含学生宿舍床位 120 张（按床位另计），已经区应急管理局现场核定"
OPENINGS = [
    # (where, why, people, hours ago it opened)
    ("town", "连续降雨，地质灾害隐患点受威胁群众转移安置", (22, 30), 40),
    ("home", "危旧房及低洼住户临时转移安置（强降雨预警）", (8, 14), 20),
]
DESTINATIONS = ["投亲靠友", "返回原住址（经排查安全）", "转至亲属家中"]
NEEDS_NOTES = {
    EvacueeNeed.MEDICATION: "高血压，需每日按时服药",
    EvacueeNeed.DIET: "糖尿病，需低糖饮食",
    EvacueeNeed.DISABLED: "行动不便，需安排一楼床位",
    EvacueeNeed.PREGNANT: "孕晚期，已联系卫生院",
}


def generate_shelters(ctx) -> None:
    rng = ctx.rng
    shelters: list[Shelter] = []
    for county in counties(ctx):
        townships = townships_of(ctx, county)
        villages = [v.pk for t in townships for v in villages_of(ctx, t)]
        units = Units(
            [t.pk for t in townships] + villages,
            people_of={OrganizationKind.STATION, OrganizationKind.VILLAGE_COMMITTEE},
        )
        for index, township in enumerate(townships):
            shelters += _township_shelters(ctx, township, units, rng, override=index == 0)
        if len(townships) > 1:
            shelters.append(_county_shelter(county, townships[1], units, rng))
    Shelter.objects.bulk_create(shelters, batch_size=500)
    events = [
        ResourceEvent(
            region_id=s.region_id,
            subject="shelter",
            object_id=s.pk,
            at=timezone.now() - timedelta(days=rng.randint(30, 300)),
            kind="capacity_override",
            note=s.capacity_reason,
            data={"capacity": s.capacity, "area_capacity": s.area_capacity},
        )
        for s in shelters
        if s.capacity_reason
    ]
    ResourceEvent.objects.bulk_create(events)
    evacuees = _open_two(ctx, shelters, rng)
    for shelter_class in ShelterClass.values:
        ctx.count(
            f"shelters.{shelter_class}", sum(s.shelter_class == shelter_class for s in shelters)
        )
    ctx.count("shelters", len(shelters))
    ctx.count("evacuees", evacuees)


def _shelter(region, name, kind, shelter_class, level, area, lon, lat, manager, rng) -> Shelter:
    return Shelter(
        region=region,
        name=name,
        shelter_class=shelter_class,
        level=level,
        # A village hall is known by its name; a school or square by its street address.
        address=address(region, rng)
        if region.level == "township"
        else name.removesuffix("避灾安置点"),
        lon=lon,
        lat=lat,
        usable_area_m2=area,
        capacity=capacity_for_area(area),
        facilities=",".join(FACILITIES[kind]),
        manager=manager,
    )


def _township_shelters(ctx, township, units: Units, rng, *, override: bool) -> list[Shelter]:
    short = short_name(township.name)
    town = is_town(township)
    staff = units.station_staff(township)
    manager = staff[0] if staff else None
    lon, lat = centre(township)
    school = "镇中学" if town else "中学"
    found = [
        _shelter(
            township,
            f"{short}{school}应急避难场所",
            "school",
            ShelterClass.CLASS_II,
            ShelterLevel.TOWNSHIP,
            float(rng.randint(24, 60) * 100),
            *near(lon, lat, rng, 1500),
            manager,
            rng,
        ),
        _shelter(
            township,
            f"{short}{'镇文化中心' if town else '文化广场'}应急避难场所",
            "hall" if town else "square",
            ShelterClass.CLASS_III,
            ShelterLevel.TOWNSHIP,
            float(rng.randint(8, 20) * 100 if town else rng.randint(60, 150) * 100),
            *near(lon, lat, rng, 1200),
            manager,
            rng,
        ),
    ]
    if override:
        found[0].capacity += 120
        found[0].capacity_reason = OVERRIDE_REASON
    villages = villages_of(ctx, township)
    for village in rng.sample(villages, min(len(villages), rng.randint(1, 3))):
        committee = units.first(OrganizationKind.VILLAGE_COMMITTEE, village)
        people = units.people.get(committee.pk, []) if committee else []
        hall = "社区服务中心" if village.name.endswith("社区") else "文化礼堂"
        found.append(
            _shelter(
                village,
                f"{village.name}{hall}避灾安置点",
                "hall",
                ShelterClass.CLASS_III,
                ShelterLevel.VILLAGE,
                float(rng.randint(12, 60) * 10),
                *near(*centre(village), rng, 300),
                people[0] if people else manager,
                rng,
            )
        )
    return found


def _county_shelter(county, township, units: Units, rng) -> Shelter:
    staff = units.station_staff(township)
    return _shelter(
        township,
        f"{county.name}体育中心应急避难场所",
        "stadium",
        ShelterClass.CLASS_I,
        ShelterLevel.COUNTY,
        float(rng.randint(280, 360) * 100),
        *near(*centre(township), rng, 800),
        staff[0] if staff else None,
        rng,
    )


# --- two open shelters ----------------------------------------------------------------------


def _open_two(ctx, shelters: list[Shelter], rng) -> int:
    halls = [s for s in shelters if s.level == ShelterLevel.VILLAGE]
    home = min((s for s in halls), key=lambda s: s.region.code, default=None)
    towns = [s for s in halls if is_town(s.region.parent)] or halls
    picked = {"home": home, "town": towns[len(towns) // 2] if towns else None}
    ids = IdNumbers(rng)
    mobiles = MobileNumbers(rng)
    stays: list[Evacuee] = []
    events: list[ResourceEvent] = []
    now = timezone.now()
    for where, why, (low, high), hours in OPENINGS:
        shelter = picked[where]
        if shelter is None or shelter.status != ShelterStatus.CLOSED:
            continue
        clerk = _clerk(shelter)
        opened = now - timedelta(hours=hours, minutes=rng.randrange(60))
        shelter.status, shelter.opened_at = ShelterStatus.OPEN, opened
        events.append(
            _event(
                shelter,
                opened,
                clerk,
                "opened",
                note=why,
                from_state=ShelterStatus.CLOSED,
                to_state=ShelterStatus.OPEN,
            )
        )
        groups = _households(shelter, rng.randint(low, high), ids, mobiles, rng)
        for group_no, people in enumerate(groups, start=1):
            arrived = opened + timedelta(minutes=rng.randint(10, 60 * min(hours, 6)))
            for stay in people:
                stay.shelter, stay.group_no, stay.checked_in_at = shelter, group_no, arrived
                stay.checked_in_by, stay.bed_no = clerk, f"{'AB'[group_no % 2]}-{group_no:02d}"
            stays += people
            events.append(
                _event(
                    shelter,
                    arrived,
                    clerk,
                    "check_in",
                    count=len(people),
                    group_no=group_no,
                    people=people,
                )
            )
        # A few households went home or to relatives once their house was checked.
        for people in groups[: max(1, len(groups) // 5)]:
            left = people[0].checked_in_at + timedelta(hours=rng.randint(6, max(7, hours - 2)))
            left = min(left, now - timedelta(minutes=30))
            destination = rng.choice(DESTINATIONS)
            for stay in people:
                stay.checked_out_at, stay.destination = left, destination
            events.append(
                _event(
                    shelter,
                    left,
                    clerk,
                    "check_out",
                    count=len(people),
                    people=people,
                    note=f"办理离开 {len(people)} 人，去向：{destination}",
                )
            )
        shelter.occupancy = sum(
            1 for stay in stays if stay.shelter is shelter and stay.checked_out_at is None
        )
        if shelter.occupancy >= shelter.capacity:
            shelter.status = ShelterStatus.FULL
    for stay in stays:
        # What the check-in service keeps: one present stay per person, found by digest.
        stay.id_digest = keyed_digest(stay.id_number) if stay.id_number else ""
    Evacuee.objects.bulk_create(stays, batch_size=500)
    for event in events:
        people = event.data.pop("people", None)
        if people is not None:
            event.data["evacuee_ids"] = [stay.pk for stay in people]
    ResourceEvent.objects.bulk_create(events)
    opened = [s for s in picked.values() if s is not None and s.opened_at]
    Shelter.objects.bulk_update(opened, ["status", "opened_at", "occupancy"])
    ctx.state["open_shelters"] = opened
    return len(stays)


def _event(shelter, at, actor, kind, *, note="", from_state="", to_state="", **data):
    return ResourceEvent(
        region_id=shelter.region_id,
        subject="shelter",
        object_id=shelter.pk,
        at=at,
        actor=actor,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        note=note
        or (
            f"登记入住 {data['count']} 人（家庭编号 {data['group_no']}）"
            if kind == "check_in"
            else ""
        ),
        data=data,
    )


def _clerk(shelter: Shelter):
    """The station account that registered people: the shelter's township's first staff."""
    from frontline.core.models import RoleAssignment
    from frontline.core.roles import Role

    township = shelter.region if shelter.region.level == "township" else shelter.region.parent
    assignment = (
        RoleAssignment.objects.filter(role=Role.STATION_STAFF, region=township)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return assignment.user if assignment else None


# --- who came -------------------------------------------------------------------------------


class IdNumbers:
    """Unique 18-digit ID numbers of people born in the county, valid by the check digit."""

    def __init__(self, rng):
        self.rng, self.used = rng, set()

    def next(self, born: date, female: bool) -> str:
        # 绍兴县 became 柯桥区 in 2001: older cards keep its code 330621.
        prefix = "330603" if born.year >= 2001 else "330621"
        while True:
            serial = self.rng.randrange(0, 500) * 2 + (0 if female else 1)
            body = f"{prefix}{born:%Y%m%d}{serial:03d}"
            if body not in self.used:
                self.used.add(body)
                return body + id_check_digit(body)


def _households(shelter, people: int, ids: IdNumbers, mobiles, rng) -> list[list[Evacuee]]:
    real = _resident_households(shelter, people, rng)
    if real:
        return real
    groups, count, today = [], 0, timezone.localdate()
    while count < people:
        head_name = person_name(rng)
        surname = head_name[:2] if head_name[:2] in {"诸葛", "欧阳"} else head_name[0]
        head_age, head_female = rng.randint(35, 86), rng.random() < 0.3
        members = [(head_age, head_female, "head")]
        if rng.random() < 0.75:
            members.append((max(20, head_age + rng.randint(-5, 3)), not head_female, "spouse"))
        if head_age < 60 and rng.random() < 0.6:
            for _ in range(rng.randint(1, 2)):
                members.append((rng.randint(1, 15), rng.random() < 0.5, "child"))
        if head_age < 55 and rng.random() < 0.3:
            members.append((rng.randint(70, 90), rng.random() < 0.6, "parent"))
        home = f"{shelter.region.name}{rng.randint(1, 180)}号"
        group = []
        for age, female, relation in members:
            # The spouse keeps their own surname; children and parents share the head's.
            given = person_name(rng)
            name = {"head": head_name, "spouse": given}.get(relation, surname + given[-2:])
            born = date(today.year - age, rng.randint(1, 12), rng.randint(1, 28))
            needs = _needs(age, female, rng)
            group.append(
                Evacuee(
                    name=name,
                    gender=Gender.FEMALE if female else Gender.MALE,
                    age=age,
                    id_number=ids.next(born, female),  # encrypted by the field on insert
                    phone=mobiles.next() if 18 <= age <= 75 else "",
                    household_head=head_name,
                    home_address=home,
                    needs=",".join(needs),
                    needs_note="；".join(NEEDS_NOTES[n] for n in needs if n in NEEDS_NOTES),
                )
            )
        groups.append(group)
        count += len(group)
    return groups


def _needs(age: int, female: bool, rng) -> list[str]:
    needs = []
    if age < 3:
        needs.append(EvacueeNeed.INFANT)
    elif age < 14:
        needs.append(EvacueeNeed.CHILD)
    if age >= 65:
        needs.append(EvacueeNeed.ELDERLY)
        if rng.random() < 0.4:
            needs.append(EvacueeNeed.MEDICATION)
    if female and 22 <= age <= 38 and rng.random() < 0.1:
        needs.append(EvacueeNeed.PREGNANT)
    if rng.random() < 0.04:
        needs.append(EvacueeNeed.DISABLED)
    if age >= 50 and rng.random() < 0.06:
        needs.append(EvacueeNeed.DIET)
    order = list(EvacueeNeed.values)
    return sorted(set(needs), key=order.index)


def _resident_households(shelter, people: int, rng) -> list[list[Evacuee]]:
    """Households of the community demo in the shelter's village, dilapidated or low-lying
    homes first; empty when that demo has not run there."""
    try:
        from frontline.community.models import Household, Resident
    except ImportError:  # pragma: no cover - community is installed with the platform
        return []
    homes = Household.objects.filter(region__parent_id=shelter.region_id).order_by("pk")
    # A dozen homes hold more people than the shelter takes in; reading (and decrypting)
    # only theirs keeps the step fast.
    chosen = list(homes.filter(Q(dilapidated=True) | Q(low_lying=True))[:12])
    chosen += list(homes.exclude(pk__in=[h.pk for h in chosen])[: 12 - len(chosen)])
    by_household = defaultdict(list)
    for resident in (
        Resident.objects.filter(household__in=chosen)
        .select_related("household")
        .order_by("household_id", "pk")
    ):
        by_household[resident.household_id].append(resident)
    homes = [by_household[h.pk] for h in chosen if by_household[h.pk]]
    today, groups, count = timezone.localdate(), [], 0
    for rows in homes:
        if count >= people:
            break
        head = next((r for r in rows if r.relation == "head"), rows[0])
        group = []
        for resident in rows:
            age = today.year - resident.birth_year if resident.birth_year else None
            needs = _needs(age or 40, resident.gender == Gender.FEMALE, rng)
            group.append(
                Evacuee(
                    name=resident.name,
                    gender=resident.gender,
                    age=age,
                    id_number=resident.id_number,
                    phone=resident.phone,
                    household_head=head.name,
                    home_address=resident.household.address,
                    resident=resident,
                    needs=",".join(needs),
                    needs_note="；".join(NEEDS_NOTES[n] for n in needs if n in NEEDS_NOTES),
                )
            )
        groups.append(group)
        count += len(group)
    return groups
