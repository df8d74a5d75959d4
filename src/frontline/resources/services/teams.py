"""Rescue teams (救援队伍): the team's file, its status, its members and their certificates,
duty shifts, and readiness ("how many are ready now").

Shifts and readiness live in `teams_duty` and are re-exported here, so callers (the
incidents app: `teams.available_teams(user, capability)`) need one module.

Teams are always saved through `save()`: the nearby-search index watches MAX(updated_at).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.core.errors import DomainError, InvalidInput
from frontline.core.geo import outside_china
from frontline.core.models import Organization, Person, Region
from frontline.core.roles import Capability as Can
from frontline.core.services.notifications import Outbox
from frontline.core.services.supervision import superior_users
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.services.objects import clean_number
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
from frontline.resources.services.events import record_event

MAX_MIN_ON_DUTY = 500
MAX_RESPONSE_MINUTES = 24 * 60

TEAM_FIELDS = {
    "name",
    "kind",
    "address",
    "lon",
    "lat",
    "capabilities",
    "leader",
    "duty_phone",
    "min_on_duty",
    "response_minutes",
    "organization",
    "notes",
}
MEMBER_FIELDS = {"role", "skills", "joined_on"}


# --- checks shared with equipment and the imports --------------------------------------------


def clean_capabilities(cleaner: Cleaner, values, field_name: str = "capabilities") -> str:
    """A list of capability codes (or their Chinese labels, or one text separated by commas
    or 、) as the stored ",a,b," string; an unknown one is refused, not dropped."""
    if values is None:
        return ""
    if isinstance(values, str):
        values = values.replace("、", ",").replace("，", ",").split(",")
    labels = {str(label): value for value, label in Capability.choices}
    codes, unknown = [], []
    for raw in values:
        text = str(raw).strip()
        if not text:
            continue
        code = text if text in Capability.values else labels.get(text)
        if code is None:
            unknown.append(text)
        else:
            codes.append(code)
    if unknown:
        cleaner.fail(field_name, _("未知的救援能力：%(names)s") % {"names": "、".join(unknown[:5])})
    return pack_capabilities(codes)


def clean_position(cleaner: Cleaner, data: dict) -> None:
    """WGS-84 lon/lat, both or neither, inside China (a swapped pair lands far outside)."""
    if "lon" in data:
        data["lon"] = clean_number(cleaner, data["lon"], "lon", minimum=-180, maximum=180)
    if "lat" in data:
        data["lat"] = clean_number(cleaner, data["lat"], "lat", minimum=-90, maximum=90)
    lon, lat = data.get("lon"), data.get("lat")
    if (lon is None) != (lat is None):
        cleaner.fail("lat" if lat is None else "lon", _("经度和纬度需同时填写"))
    elif lon is not None and not {"lon", "lat"} & set(cleaner.details) and outside_china(lon, lat):
        cleaner.fail("lon", _("坐标不在中国境内，请检查经纬度是否填反"))


def within(region: Region, other: Region | None) -> bool:
    """Whether `other` lies in `region`'s subtree."""
    return other is not None and other.path.startswith(region.path)


def related(region: Region, other: Region | None) -> bool:
    """Whether one region lies in the other's subtree (a unit seconded up or down)."""
    return other is not None and (
        other.path.startswith(region.path) or region.path.startswith(other.path)
    )


def changed_fields(obj, data: dict) -> list[str]:
    """The names of `data` whose value differs from `obj`'s (links compared by id)."""
    changed = []
    for name, value in data.items():
        current = getattr(obj, name)
        if hasattr(value, "pk") or hasattr(current, "pk"):
            current = getattr(current, "pk", current)
            value = getattr(value, "pk", value)
        if current != value:
            changed.append(name)
    return sorted(changed)


# --- teams -----------------------------------------------------------------------------------


def clean_team(cleaner: Cleaner, data: dict) -> dict:
    """Check the given team fields (only those present)."""
    cleaned = dict(data)
    if "name" in data:
        cleaned["name"] = cleaner.text(data["name"], "name", required=True, max_length=120)
    if "kind" in data:
        cleaned["kind"] = cleaner.choice(data["kind"], "kind", TeamKind)
    if "address" in data:
        cleaned["address"] = cleaner.text(
            data["address"], "address", required=False, max_length=200
        )
    if "capabilities" in data:
        cleaned["capabilities"] = clean_capabilities(cleaner, data["capabilities"])
    if "duty_phone" in data:
        cleaned["duty_phone"] = cleaner.phone(data["duty_phone"], "duty_phone")
    if "min_on_duty" in data:
        cleaned["min_on_duty"] = clean_number(
            cleaner,
            data["min_on_duty"],
            "min_on_duty",
            minimum=0,
            maximum=MAX_MIN_ON_DUTY,
            integer=True,
        )
    if "response_minutes" in data:
        cleaned["response_minutes"] = clean_number(
            cleaner,
            data["response_minutes"],
            "response_minutes",
            minimum=1,
            maximum=MAX_RESPONSE_MINUTES,
            integer=True,
        )
    if "notes" in data:
        cleaned["notes"] = cleaner.text(data["notes"], "notes", required=False, max_length=2000)
    clean_position(cleaner, cleaned)
    return cleaned


def default_min_on_duty(kind: str) -> int:
    return MIN_ON_DUTY.get(kind, 0)


def _check_team_links(cleaner: Cleaner, region: Region, data: dict) -> None:
    leader = data.get("leader")
    if leader is not None and not within(region, leader.region):
        cleaner.fail("leader", _("队长须是本队所属区划内的人员"))
    organization = data.get("organization")
    if organization is not None and not related(region, organization.region):
        cleaner.fail("organization", _("对应单位不在队伍所属区划之内"))


def _check_unique_name(cleaner: Cleaner, region: Region, name: str, pk: int | None) -> None:
    if not name or "name" in cleaner.details:
        return
    taken = RescueTeam.objects.filter(region=region, name=name).exclude(pk=pk).exists()
    if taken:
        cleaner.fail("name", _("同一区划内已有同名队伍"))


@transaction.atomic
def create_team(
    *,
    actor,
    region: Region,
    name: str,
    kind: str,
    lon: float | None,
    lat: float | None,
    address: str = "",
    capabilities: Iterable[str] | str = (),
    leader: Person | None = None,
    duty_phone: str = "",
    min_on_duty: int | None = None,
    response_minutes: int | None = None,
    organization: Organization | None = None,
    notes: str = "",
) -> RescueTeam:
    """Register a team. Without a rule of its own, `min_on_duty` takes the kind's default
    (3 for a micro fire station, DOMAIN.md; 0 = no rule for the others)."""
    require(actor, Can.MANAGE_RESOURCES, region)
    cleaner = Cleaner()
    data = clean_team(
        cleaner,
        {
            "name": name,
            "kind": kind,
            "lon": lon,
            "lat": lat,
            "address": address,
            "capabilities": capabilities,
            "duty_phone": duty_phone,
            "min_on_duty": min_on_duty,
            "response_minutes": response_minutes,
            "notes": notes,
        },
    )
    if data["lon"] is None and not {"lon", "lat"} & set(cleaner.details):
        cleaner.fail("lon", _("请填写队伍驻地的经纬度"))
    data.update(leader=leader, organization=organization)
    _check_team_links(cleaner, region, data)
    _check_unique_name(cleaner, region, data["name"], None)
    cleaner.done()
    if data["min_on_duty"] is None:
        data["min_on_duty"] = default_min_on_duty(data["kind"])
    team = RescueTeam(region=region, status=TeamStatus.AVAILABLE, **data)
    team.save()
    record_event(team, actor=actor, kind="created", to_state=team.status)
    return team


@transaction.atomic
def update_team(*, actor, team: RescueTeam, **changes) -> RescueTeam:
    """Change the given fields of the team's file. Status has its own service
    (`set_team_status`); a team does not move to another region."""
    require(actor, Can.MANAGE_RESOURCES, team.region)
    unknown = set(changes) - TEAM_FIELDS
    if unknown:
        raise InvalidInput(_("不能修改这些字段"), details={f: _("不可修改") for f in unknown})
    cleaner = Cleaner()
    data = clean_team(cleaner, {"lon": team.lon, "lat": team.lat, **changes})
    if data.get("lon") is None and not {"lon", "lat"} & set(cleaner.details):
        cleaner.fail("lon", _("请填写队伍驻地的经纬度"))
    if data.get("min_on_duty", 0) is None:
        data["min_on_duty"] = default_min_on_duty(data.get("kind", team.kind))
    _check_team_links(cleaner, team.region, data)
    if "name" in data:
        _check_unique_name(cleaner, team.region, data["name"], team.pk)
    cleaner.done()
    changed = changed_fields(team, data)
    for name, value in data.items():
        setattr(team, name, value)
    team.save()
    if changed:
        record_event(team, actor=actor, kind="updated", fields=changed)
    return team


@transaction.atomic
def set_team_status(*, actor, team: RescueTeam, status: str, note: str = "") -> RescueTeam:
    """待命 / 出动中 / 休整 / 不可用. Any status may follow any other (a team recalled on
    its way is simply available again), but not itself: a second click is a conflict."""
    require(actor, Can.MANAGE_RESOURCES, team.region)
    cleaner = Cleaner()
    cleaner.choice(status, "status", TeamStatus)
    note = cleaner.text(note, "note", required=False, max_length=500)
    cleaner.done()
    # Locked so two dispatchers changing the status at once leave one clear sequence.
    team = RescueTeam.objects.select_for_update().get(pk=team.pk)
    if team.status == status:
        raise DomainError(
            _("队伍已是“%(status)s”状态") % {"status": team.get_status_display()},
            code="same_status",
        )
    previous = team.status
    team.status = status
    team.save()
    record_event(team, actor=actor, kind="status", from_state=previous, to_state=status, note=note)
    return team


# --- members ---------------------------------------------------------------------------------


def _clean_member(cleaner: Cleaner, data: dict) -> dict:
    cleaned = dict(data)
    if "role" in data:
        cleaned["role"] = cleaner.choice(data["role"], "role", MemberRole)
    if "skills" in data:
        cleaned["skills"] = cleaner.text(data["skills"], "skills", required=False, max_length=200)
    if "joined_on" in data and data["joined_on"] is not None:
        if not isinstance(data["joined_on"], date):
            cleaner.fail("joined_on", _("日期格式不正确"))
        elif data["joined_on"] > timezone.localdate():
            cleaner.fail("joined_on", _("入队日期不能晚于今天"))
    return cleaned


@transaction.atomic
def add_member(
    *,
    actor,
    team: RescueTeam,
    person: Person,
    role: str = MemberRole.MEMBER,
    skills: str = "",
    joined_on: date | None = None,
) -> TeamMember:
    """Put a person of the registry in the team. The person must belong to the team's
    region or below it; a person is in a team once (one who left comes back on the same
    post, keeping their certificates)."""
    require(actor, Can.MANAGE_RESOURCES, team.region)
    cleaner = Cleaner()
    data = _clean_member(cleaner, {"role": role, "skills": skills, "joined_on": joined_on})
    if person is None or not within(team.region, person.region):
        cleaner.fail("person", _("队员须是本队所属区划内登记的人员"))
    cleaner.done()
    member = TeamMember.objects.select_for_update().filter(team=team, person=person).first()
    if member is not None and member.left_on is None:
        raise InvalidInput(
            _("%(name)s 已是本队队员") % {"name": person.name},
            details={"person": _("该人员已是本队队员")},
        )
    if member is None:
        member = TeamMember(team=team, person=person)
    member.role = data["role"]
    member.skills = data["skills"]
    member.joined_on = data["joined_on"] or timezone.localdate()
    member.is_available = True
    member.left_on = None
    member.save()
    record_event(
        team,
        actor=actor,
        kind="member_added",
        note=person.name,
        member=member.pk,
        person=person.pk,
        role=member.role,
    )
    return member


@transaction.atomic
def update_member(*, actor, member: TeamMember, **changes) -> TeamMember:
    team = member.team
    require(actor, Can.MANAGE_RESOURCES, team.region)
    unknown = set(changes) - MEMBER_FIELDS
    if unknown:
        raise InvalidInput(_("不能修改这些字段"), details={f: _("不可修改") for f in unknown})
    cleaner = Cleaner()
    data = _clean_member(cleaner, changes)
    cleaner.done()
    changed = changed_fields(member, data)
    for name, value in data.items():
        setattr(member, name, value)
    member.save()
    if changed:
        record_event(
            team,
            actor=actor,
            kind="member_updated",
            note=member.person.name,
            member=member.pk,
            fields=changed,
        )
    return member


@transaction.atomic
def set_member_availability(
    *, actor, member: TeamMember, is_available: bool, note: str = ""
) -> TeamMember:
    """Mark a member off (sick, away) or back. An unavailable member on a shift is not
    counted as ready."""
    team = member.team
    require(actor, Can.MANAGE_RESOURCES, team.region)
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=False, max_length=500)
    if not isinstance(is_available, bool):
        cleaner.fail("is_available", _("请选择是否可出勤"))
    cleaner.done()
    member = TeamMember.objects.select_for_update().select_related("person").get(pk=member.pk)
    if member.left_on is not None:
        raise DomainError(_("该队员已离队"), code="member_left")
    if member.is_available == is_available:
        raise DomainError(
            _("该队员已是“可出勤”状态") if is_available else _("该队员已是“不可出勤”状态"),
            code="same_status",
        )
    member.is_available = is_available
    member.save()
    record_event(
        team,
        actor=actor,
        kind="member_availability",
        from_state="unavailable" if is_available else "available",
        to_state="available" if is_available else "unavailable",
        note=f"{member.person.name} {note}".strip(),
        member=member.pk,
    )
    return member


@transaction.atomic
def remove_member(*, actor, member: TeamMember, note: str = "") -> TeamMember:
    """The member leaves the team (离队): the post is kept with its leaving day, so the
    history stays readable; shifts not yet started are dropped and a running one ends now."""
    team = member.team
    require(actor, Can.MANAGE_RESOURCES, team.region)
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=False, max_length=500)
    cleaner.done()
    member = TeamMember.objects.select_for_update().select_related("person").get(pk=member.pk)
    if member.left_on is not None:
        raise DomainError(_("该队员已离队"), code="member_left")
    now = timezone.now()
    dropped, _n = DutyShift.objects.filter(member=member, starts_at__gte=now).delete()
    for shift in DutyShift.objects.filter(member=member, starts_at__lt=now, ends_at__gt=now):
        shift.ends_at = now
        shift.save()
    member.left_on = timezone.localdate(now)
    member.save()
    record_event(
        team,
        actor=actor,
        kind="member_removed",
        note=f"{member.person.name} {note}".strip(),
        member=member.pk,
        shifts_dropped=dropped,
    )
    return member


# --- certificates ----------------------------------------------------------------------------


@transaction.atomic
def add_certificate(
    *,
    actor,
    member: TeamMember,
    name: str,
    number: str = "",
    issued_by: str = "",
    expires_on: date | None = None,
) -> MemberCertificate:
    team = member.team
    require(actor, Can.MANAGE_RESOURCES, team.region)
    cleaner = Cleaner()
    name = cleaner.text(name, "name", required=True, max_length=80)
    number = cleaner.text(number, "number", required=False, max_length=60)
    issued_by = cleaner.text(issued_by, "issued_by", required=False, max_length=80)
    if expires_on is not None and not isinstance(expires_on, date):
        cleaner.fail("expires_on", _("日期格式不正确"))
    cleaner.done()
    certificate = MemberCertificate.objects.create(
        member=member, name=name, number=number, issued_by=issued_by, expires_on=expires_on
    )
    record_event(
        team,
        actor=actor,
        kind="certificate_added",
        note=f"{member.person.name} {name}",
        member=member.pk,
        certificate=certificate.pk,
        expires_on=expires_on.isoformat() if expires_on else None,
    )
    return certificate


@transaction.atomic
def remove_certificate(*, actor, certificate: MemberCertificate) -> None:
    member = certificate.member
    team = member.team
    require(actor, Can.MANAGE_RESOURCES, team.region)
    record_event(
        team,
        actor=actor,
        kind="certificate_removed",
        note=f"{member.person.name} {certificate.name}",
        member=member.pk,
        certificate=certificate.pk,
    )
    certificate.delete()


# --- who hears, and the certificate sweep ----------------------------------------------------

CERTIFICATE_WARNING_DAYS = 30
CERTIFICATE_TOLD_KIND = "certificate_expiry_told"
CERTIFICATE_NOTIFICATION_KIND = "certificate_expiring"


def unit_people(region: Region, persons: Iterable[Person | None] = ()) -> list:
    """Who hears about a team or a station's equipment: the accounts of `persons` (the
    team's leader), and the command roles (站长, 站内工作人员, 区县管理员) of the nearest region
    upwards from `region` that has any."""
    users = [p.user for p in persons if p is not None and p.user_id is not None]
    current = region
    while current is not None:
        found = superior_users(current)
        if found:
            users.extend(found)
            break
        current = current.parent
    return list({user.pk: user for user in users if user.is_active}.values())


def notify_expiring_certificates(today: date | None = None) -> dict:
    """Tell each team's leader and station once about every certificate of a member still in
    the team that expires within CERTIFICATE_WARNING_DAYS (or has expired). The memory is
    an event on the team's timeline per certificate and expiry date, so a renewed
    certificate (a new date) is told again when it comes close."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=CERTIFICATE_WARNING_DAYS)
    certificates = list(
        MemberCertificate.objects.filter(
            expires_on__isnull=False, expires_on__lte=horizon, member__left_on__isnull=True
        )
        .select_related("member__person", "member__team__region", "member__team__leader__user")
        .order_by("member__team_id", "expires_on", "pk")
    )
    team_ids = sorted({c.member.team_id for c in certificates})
    told = set()
    for start in range(0, len(team_ids), 900):
        for data, expires in ResourceEvent.objects.filter(
            subject="team", object_id__in=team_ids[start : start + 900], kind=CERTIFICATE_TOLD_KIND
        ).values_list("data", "to_state"):
            told.add(((data or {}).get("certificate"), expires))
    by_team: dict[int, list[MemberCertificate]] = {}
    for certificate in certificates:
        if (certificate.pk, certificate.expires_on.isoformat()) not in told:
            by_team.setdefault(certificate.member.team_id, []).append(certificate)
    outbox = Outbox()
    told_now = notifications = 0
    with transaction.atomic():
        for batch in by_team.values():
            team = batch[0].member.team
            users = unit_people(team.region, [team.leader])
            if not users:
                continue
            lines = []
            for certificate in batch:
                expired = certificate.expires_on < today
                line = _("%(person)s 的%(name)s%(state)s（有效期至 %(day)s）") % {
                    "person": certificate.member.person.name,
                    "name": certificate.name,
                    "state": _("已过期") if expired else _("即将到期"),
                    "day": certificate.expires_on.isoformat(),
                }
                lines.append(line)
                record_event(
                    team,
                    actor=None,
                    kind=CERTIFICATE_TOLD_KIND,
                    to_state=certificate.expires_on.isoformat(),
                    note=line,
                    certificate=certificate.pk,
                    member=certificate.member_id,
                )
            told_now += len(batch)
            notifications += 1
            outbox.notify_users(
                users,
                kind=CERTIFICATE_NOTIFICATION_KIND,
                subject=_("%(team)s 有 %(n)d 张队员证书到期")
                % {"team": team.name, "n": len(batch)},
                body="\n".join(lines),
                link=reverse("team_detail", args=[team.pk]),
                related=team,
                webhooks=False,
            )
        outbox.send()
    return {"certificates": told_now, "notifications": notifications}


# Re-exported: one module for the callers of team services.
from frontline.resources.services.teams_duty import (  # noqa: E402
    MAX_SHIFT_HOURS,
    Readiness,
    available_teams,
    create_shift,
    delete_shift,
    meets_rule_q,
    readiness_of,
    shifts_between,
    team_readiness,
    with_readiness,
)

__all__ = [
    "MAX_SHIFT_HOURS",
    "Readiness",
    "add_certificate",
    "add_member",
    "available_teams",
    "create_shift",
    "create_team",
    "delete_shift",
    "meets_rule_q",
    "notify_expiring_certificates",
    "readiness_of",
    "remove_certificate",
    "remove_member",
    "set_member_availability",
    "set_team_status",
    "shifts_between",
    "team_readiness",
    "unit_people",
    "update_member",
    "update_team",
    "with_readiness",
]
