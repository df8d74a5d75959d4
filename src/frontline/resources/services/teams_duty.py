"""Duty shifts (执勤班次) and readiness: who of a team is ready now.

A member is ready when they are still in the team, not marked unavailable, and on a shift
that covers the moment. Readiness is computed, never stored: `with_readiness` adds the
numbers to a queryset of teams as subqueries, so a list of any length costs one query;
`available_teams` is what the incidents app asks for when it dispatches. The names are
re-exported by `services.teams`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.core.errors import InvalidInput
from frontline.core.models import Person
from frontline.core.roles import Capability as Can
from frontline.core.services.validation import Cleaner, require
from frontline.resources.models import (
    Capability,
    DutyShift,
    RescueTeam,
    TeamMember,
    TeamStatus,
    capability_q,
)
from frontline.resources.services.events import record_event

# A shift longer than this is a typo (a week instead of a day), not a duty arrangement.
MAX_SHIFT_HOURS = 72
# How far ahead a roster may be planned.
MAX_SHIFT_AHEAD_DAYS = 366
YEARS = (2000, 2200)


# --- duty shifts -----------------------------------------------------------------------------


def _aware(value, field_name: str, cleaner: Cleaner) -> datetime | None:
    if value is None:
        cleaner.fail(field_name, _("此字段为必填项"))
        return None
    if not isinstance(value, datetime):
        cleaner.fail(field_name, _("日期时间格式不正确"))
        return None
    if not YEARS[0] <= value.year <= YEARS[1]:
        # Year 1 or 9999 would overflow on the way to UTC; no roster reaches that far.
        cleaner.fail(field_name, _("日期时间超出范围"))
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


@transaction.atomic
def create_shift(
    *, actor, team: RescueTeam, member: TeamMember, starts_at: datetime, ends_at: datetime
) -> DutyShift:
    """One duty shift (执勤班次) of a member. It must end after it starts, last at most
    MAX_SHIFT_HOURS, and not overlap another shift of the same person (in this team or any
    other: nobody is on duty twice at once)."""
    require(actor, Can.MANAGE_RESOURCES, team.region)
    cleaner = Cleaner()
    starts_at = _aware(starts_at, "starts_at", cleaner)
    ends_at = _aware(ends_at, "ends_at", cleaner)
    if member is None or member.team_id != team.pk:
        cleaner.fail("member", _("不是本队队员"))
    elif member.left_on is not None:
        cleaner.fail("member", _("该队员已离队"))
    if starts_at and ends_at:
        if ends_at <= starts_at:
            cleaner.fail("ends_at", _("结束时间须晚于开始时间"))
        elif ends_at - starts_at > timedelta(hours=MAX_SHIFT_HOURS):
            cleaner.fail("ends_at", _("一个班次最长 %(n)d 小时") % {"n": MAX_SHIFT_HOURS})
        if starts_at > timezone.now() + timedelta(days=MAX_SHIFT_AHEAD_DAYS):
            cleaner.fail("starts_at", _("只能排一年之内的班次"))
    cleaner.done()
    # The person's row is locked so that two overlapping shifts entered at the same moment
    # (two browsers on the roster) cannot both pass the check below.
    Person.objects.select_for_update().filter(pk=member.person_id).first()
    clash = (
        DutyShift.objects.filter(
            member__person_id=member.person_id, starts_at__lt=ends_at, ends_at__gt=starts_at
        )
        .select_related("team")
        .order_by("starts_at")
        .first()
    )
    if clash is not None:
        local = timezone.localtime
        message = _("与该队员已有的班次重叠（%(start)s 至 %(end)s）") % {
            "start": f"{local(clash.starts_at):%Y-%m-%d %H:%M}",
            "end": f"{local(clash.ends_at):%Y-%m-%d %H:%M}",
        }
        raise InvalidInput(message, details={"starts_at": message})
    shift = DutyShift(team=team, member=member, starts_at=starts_at, ends_at=ends_at)
    shift.save()
    record_event(
        team,
        actor=actor,
        kind="shift_added",
        note=member.person.name,
        shift=shift.pk,
        member=member.pk,
        starts_at=starts_at.isoformat(),
        ends_at=ends_at.isoformat(),
    )
    return shift


@transaction.atomic
def delete_shift(*, actor, shift: DutyShift) -> None:
    team = shift.team
    require(actor, Can.MANAGE_RESOURCES, team.region)
    record_event(
        team,
        actor=actor,
        kind="shift_removed",
        note=shift.member.person.name,
        shift=shift.pk,
        member=shift.member_id,
        starts_at=shift.starts_at.isoformat(),
        ends_at=shift.ends_at.isoformat(),
    )
    shift.delete()


# --- readiness -------------------------------------------------------------------------------


@dataclass
class Readiness:
    members: int
    ready: int
    min_on_duty: int
    on_duty: list[TeamMember] = field(default_factory=list)

    @property
    def meets(self) -> bool:
        """Whether the team keeps its rule (a team without a rule always does)."""
        return self.min_on_duty == 0 or self.ready >= self.min_on_duty

    @property
    def percent(self) -> float:
        """The bar: ready against the rule, or against the headcount without one."""
        target = self.min_on_duty or self.members
        if not target:
            return 0.0
        return round(min(100.0, 100 * self.ready / target), 1)


def _ready_shifts(now: datetime):
    return DutyShift.objects.filter(
        starts_at__lte=now,
        ends_at__gt=now,
        member__left_on__isnull=True,
        member__is_available=True,
    )


def with_readiness(queryset, now: datetime | None = None):
    """Teams annotated with `member_count` (still in the team) and `ready_now` (members on
    a shift covering `now` and available), each a correlated subquery: one query for the
    whole list, whatever its length."""
    now = now or timezone.now()
    ready = (
        _ready_shifts(now)
        .filter(team=OuterRef("pk"))
        .order_by()
        .values("team")
        .annotate(n=Count("member", distinct=True))
        .values("n")
    )
    members = (
        TeamMember.objects.filter(team=OuterRef("pk"), left_on__isnull=True)
        .order_by()
        .values("team")
        .annotate(n=Count("pk"))
        .values("n")
    )
    zero = Value(0, output_field=IntegerField())
    return queryset.annotate(
        ready_now=Coalesce(Subquery(ready, output_field=IntegerField()), zero),
        member_count=Coalesce(Subquery(members, output_field=IntegerField()), zero),
    )


def readiness_of(team: RescueTeam) -> Readiness:
    """The readiness of a team annotated by `with_readiness`."""
    return Readiness(members=team.member_count, ready=team.ready_now, min_on_duty=team.min_on_duty)


def team_readiness(team: RescueTeam, now: datetime | None = None) -> Readiness:
    """Who of the team is ready now (with their person), and whether it keeps its rule."""
    now = now or timezone.now()
    on_duty_ids = _ready_shifts(now).filter(team=team).values("member_id")
    on_duty = list(
        TeamMember.objects.filter(pk__in=on_duty_ids)
        .select_related("person")
        .order_by("role", "pk")
    )
    members = TeamMember.objects.filter(team=team, left_on__isnull=True).count()
    return Readiness(
        members=members, ready=len(on_duty), min_on_duty=team.min_on_duty, on_duty=on_duty
    )


def meets_rule_q() -> Q:
    """On a queryset annotated by `with_readiness`: the team keeps its rule."""
    return Q(min_on_duty=0) | Q(ready_now__gte=F("min_on_duty"))


def available_teams(user, capability: str | None = None, now: datetime | None = None):
    """The teams `user` sees that can go now: status 待命 and, when the team has a rule of
    people on duty, enough of them ready. Annotated with `ready_now` and `member_count`;
    what the incidents app offers a dispatcher."""
    teams = RescueTeam.objects.visible_to(user).filter(status=TeamStatus.AVAILABLE)
    if capability:
        if capability not in Capability.values:
            message = _("未知的救援能力")
            raise InvalidInput(message, details={"capability": message})
        teams = teams.filter(capability_q(capability))
    return with_readiness(teams, now).filter(meets_rule_q())


def shifts_between(team: RescueTeam, start: datetime, end: datetime):
    """The team's shifts that touch [start, end), with their members' people."""
    return (
        DutyShift.objects.filter(team=team, starts_at__lt=end, ends_at__gt=start)
        .select_related("member__person")
        .order_by("starts_at", "pk")
    )
