"""Rescue teams: the file, status, members, certificates, duty shifts and readiness (services),
and what the incidents app asks: the teams available now with a capability."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.testing import assert_queryset_matrix, make_person
from frontline.resources.models import (
    DutyShift,
    MemberCertificate,
    RescueTeam,
    ResourceEvent,
    TeamKind,
    TeamMember,
    TeamStatus,
)
from frontline.resources.services import teams as services
from frontline.resources.services.events import timeline
from frontline.resources.testing import make_member, make_team

NOW = timezone.now


def register(world, actor=None, **kw):
    fields = {
        "region": world.township,
        "name": "柯岩街道综合应急救援队",
        "kind": TeamKind.RESCUE_SQUAD,
        "lon": 120.41,
        "lat": 30.01,
        "capabilities": ["water_rescue", "drainage"],
    } | kw
    return services.create_team(actor=actor or world.same, **fields)


def on_shift(team, member, *, hours_before=1, hours_after=7, actor=None):
    now = NOW()
    return services.create_shift(
        actor=actor,
        team=team,
        member=member,
        starts_at=now - timedelta(hours=hours_before),
        ends_at=now + timedelta(hours=hours_after),
    )


# --- the team's file ------------------------------------------------------------------------


def test_create_team_packs_capabilities_and_records_an_event(world):
    team = register(world, capabilities=["drainage", "水上救援"])
    assert team.capabilities == ",water_rescue,drainage,"
    assert team.min_on_duty == 0 and team.status == TeamStatus.AVAILABLE
    assert [e.kind for e in timeline(team)] == ["created"]
    assert_queryset_matrix(RescueTeam.objects, team, world)


def test_micro_fire_station_takes_the_minimum_on_duty_from_the_rule(world):
    team = register(world, kind=TeamKind.MICRO_FIRE_STATION, name="州山村微型消防站")
    assert team.min_on_duty == 3
    own = register(world, kind=TeamKind.MICRO_FIRE_STATION, name="二号站", min_on_duty=4)
    assert own.min_on_duty == 4


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("capabilities", ["flying"]),
        ("kind", "navy"),
        ("lon", 200),
        ("name", ""),
        ("duty_phone", "call me"),
        ("min_on_duty", -1),
    ],
)
def test_bad_team_input_is_refused_and_nothing_is_stored(world, field, value):
    with pytest.raises(InvalidInput) as error:
        register(world, **{field: value})
    assert field in error.value.details
    assert not RescueTeam.objects.exists() and not ResourceEvent.objects.exists()


def test_unknown_capability_names_the_code(world):
    with pytest.raises(InvalidInput) as error:
        register(world, capabilities=["water_rescue", "teleport"])
    assert "teleport" in error.value.details["capabilities"]


def test_same_name_in_the_same_region_is_refused(world):
    register(world)
    with pytest.raises(InvalidInput) as error:
        register(world)
    assert "name" in error.value.details


def test_leader_must_be_of_the_team_subtree(world):
    stranger = make_person(world.sibling_township)
    with pytest.raises(InvalidInput) as error:
        register(world, leader=stranger)
    assert "leader" in error.value.details
    team = register(world, leader=make_person(world.village))
    assert team.leader is not None


def test_only_resource_managers_of_the_region_write(world):
    with pytest.raises(PermissionDenied):
        register(world, actor=world.sibling)
    with pytest.raises(PermissionDenied):
        register(world, actor=world.grid_worker)
    assert register(world, actor=world.parent).pk


def test_update_changes_the_file_and_saves_through_the_model(world):
    team = register(world)
    before = team.updated_at
    services.update_team(actor=world.same, team=team, duty_phone="0575-84123456", lon=120.42)
    team.refresh_from_db()
    assert team.duty_phone == "0575-84123456" and team.lon == 120.42
    assert team.updated_at > before
    assert timeline(team).last().data["fields"] == ["duty_phone", "lon"]
    with pytest.raises(InvalidInput):
        services.update_team(actor=world.same, team=team, status="deployed")


def test_status_is_a_state_change_with_an_event(world):
    team = register(world)
    services.set_team_status(actor=world.same, team=team, status="deployed", note="州山村内涝")
    team.refresh_from_db()
    assert team.status == TeamStatus.DEPLOYED
    event = timeline(team).last()
    assert (event.kind, event.from_state, event.to_state, event.note) == (
        "status",
        "available",
        "deployed",
        "州山村内涝",
    )
    with pytest.raises(DomainError) as error:
        services.set_team_status(actor=world.same, team=team, status="deployed")
    assert error.value.status == 409
    with pytest.raises(InvalidInput):
        services.set_team_status(actor=world.same, team=team, status="asleep")


# --- members and certificates ---------------------------------------------------------------


def test_members_are_people_of_the_team_subtree_once(world):
    team = register(world)
    person = make_person(world.village, name="王队员")
    member = services.add_member(actor=world.same, team=team, person=person, skills="游泳")
    assert member.joined_on == timezone.localdate()
    with pytest.raises(InvalidInput) as error:
        services.add_member(actor=world.same, team=team, person=person)
    assert "person" in error.value.details
    other = make_person(world.sibling_township)
    with pytest.raises(InvalidInput) as error:
        services.add_member(actor=world.same, team=team, person=other)
    assert "person" in error.value.details
    assert TeamMember.objects.filter(team=team).count() == 1


def test_a_member_who_left_comes_back_on_the_same_post(world):
    team = register(world)
    member = services.add_member(actor=world.same, team=team, person=make_person(world.village))
    later = on_shift(team, member, hours_before=-2, hours_after=8)
    running = on_shift(team, member, hours_before=1, hours_after=1)
    services.remove_member(actor=world.same, member=member, note="调离")
    member.refresh_from_db()
    assert member.left_on == timezone.localdate()
    assert not DutyShift.objects.filter(pk=later.pk).exists()
    running.refresh_from_db()
    assert running.ends_at <= NOW()
    with pytest.raises(DomainError):
        services.remove_member(actor=world.same, member=member)
    back = services.add_member(actor=world.same, team=team, person=member.person)
    assert back.pk == member.pk and back.left_on is None
    kinds = [e.kind for e in timeline(team)]
    assert kinds.count("member_added") == 2 and "member_removed" in kinds


def test_availability_and_certificates(world):
    team = register(world)
    member = services.add_member(actor=world.same, team=team, person=make_person(world.village))
    services.set_member_availability(actor=world.same, member=member, is_available=False)
    member.refresh_from_db()
    assert member.is_available is False
    with pytest.raises(DomainError):
        services.set_member_availability(actor=world.same, member=member, is_available=False)
    certificate = services.add_certificate(
        actor=world.same,
        member=member,
        name="救生员证",
        expires_on=timezone.localdate() + timedelta(days=100),
    )
    assert MemberCertificate.objects.visible_to(world.same).filter(pk=certificate.pk).exists()
    assert not MemberCertificate.objects.visible_to(world.sibling).exists()
    with pytest.raises(InvalidInput):
        services.add_certificate(actor=world.same, member=member, name="")
    services.remove_certificate(actor=world.same, certificate=certificate)
    assert not MemberCertificate.objects.exists()


# --- shifts ----------------------------------------------------------------------------------


def test_shift_rules_refuse_bad_input_and_store_nothing(world):
    team = register(world)
    member = services.add_member(actor=world.same, team=team, person=make_person(world.village))
    start = NOW().replace(microsecond=0) + timedelta(hours=1)
    shift = services.create_shift(
        actor=world.same,
        team=team,
        member=member,
        starts_at=start,
        ends_at=start + timedelta(hours=8),
    )
    bad = [
        (start + timedelta(hours=7), start + timedelta(hours=9), "starts_at"),  # overlaps
        (start - timedelta(hours=1), start + timedelta(hours=1), "starts_at"),  # overlaps
        (start + timedelta(hours=20), start + timedelta(hours=19), "ends_at"),  # ends first
        (start + timedelta(hours=20), start + timedelta(hours=20), "ends_at"),  # empty
        (start + timedelta(days=3), start + timedelta(days=6, hours=1), "ends_at"),  # > 72 h
    ]
    for starts_at, ends_at, field in bad:
        with pytest.raises(InvalidInput) as error:
            services.create_shift(
                actor=world.same, team=team, member=member, starts_at=starts_at, ends_at=ends_at
            )
        assert field in error.value.details, (starts_at, ends_at)
    assert list(DutyShift.objects.all()) == [shift]
    # Back to back is not an overlap.
    services.create_shift(
        actor=world.same,
        team=team,
        member=member,
        starts_at=start + timedelta(hours=8),
        ends_at=start + timedelta(hours=16),
    )


def test_the_same_person_is_not_on_duty_in_two_teams_at_once(world):
    first, second = register(world), register(world, name="志愿者队")
    person = make_person(world.village)
    a = services.add_member(actor=world.same, team=first, person=person)
    b = services.add_member(actor=world.same, team=second, person=person)
    on_shift(first, a)
    with pytest.raises(InvalidInput):
        on_shift(second, b)


def test_shift_of_a_member_of_another_team_is_refused(world):
    team, other = register(world), register(world, name="另一队")
    stranger = make_member(other, person=make_person(world.village))
    with pytest.raises(InvalidInput) as error:
        on_shift(team, stranger, actor=world.same)
    assert "member" in error.value.details


def test_delete_shift_records_an_event(world):
    team = register(world)
    member = make_member(team)
    shift = on_shift(team, member)
    services.delete_shift(actor=world.same, shift=shift)
    assert not DutyShift.objects.exists()
    assert timeline(team).last().kind == "shift_removed"


# --- readiness -------------------------------------------------------------------------------


def test_readiness_counts_available_members_on_a_shift_covering_now(world):
    team = register(world, kind=TeamKind.MICRO_FIRE_STATION, name="微站")
    members = [make_member(team) for _ in range(5)]
    for member in members[:3]:
        on_shift(team, member)
    on_shift(team, members[3], hours_before=-1, hours_after=5)  # starts in an hour
    readiness = services.team_readiness(team)
    assert (readiness.members, readiness.ready, readiness.meets) == (5, 3, True)
    members[0].is_available = False
    members[0].save()
    readiness = services.team_readiness(team)
    assert (readiness.ready, readiness.meets) == (2, False)
    assert {m.pk for m in readiness.on_duty} == {members[1].pk, members[2].pk}


def test_available_teams_need_status_capability_and_their_rule(world):
    squad = register(world)  # no rule
    micro = register(
        world, kind=TeamKind.MICRO_FIRE_STATION, name="微站", capabilities=["firefighting"]
    )
    deployed = register(world, name="出动中的队")
    deployed.status = TeamStatus.DEPLOYED
    deployed.save()
    ids = {t.pk for t in services.available_teams(world.same)}
    assert ids == {squad.pk}
    for _n in range(3):
        on_shift(micro, make_member(micro))
    assert {t.pk for t in services.available_teams(world.same)} == {squad.pk, micro.pk}
    assert [t.pk for t in services.available_teams(world.same, "firefighting")] == [micro.pk]
    assert not services.available_teams(world.sibling).exists()
    assert {t.pk for t in services.available_teams(world.parent)} == {squad.pk, micro.pk}
    later = NOW() + timedelta(days=2)
    assert [t.pk for t in services.available_teams(world.same, now=later)] == [squad.pk]
    with pytest.raises(InvalidInput):
        services.available_teams(world.same, "teleport")


def test_readiness_of_a_list_costs_one_query(world):
    def measure():
        with CaptureQueriesContext(connection) as queries:
            rows = [
                (t.pk, services.readiness_of(t).ready)
                for t in services.with_readiness(RescueTeam.objects.visible_to(world.parent))
            ]
        return rows, len(queries)

    team = make_team(world.township)
    on_shift(team, make_member(team))
    measure()  # the user's role assignments are read once and kept on the user
    _few, count = measure()
    for n in range(6):
        more = make_team(world.village, name=f"队{n}")
        for _m in range(3):
            on_shift(more, make_member(more))
    many, count_many = measure()
    assert count == count_many == 1
    assert dict(many)[team.pk] == 1 and len(many) == 7
    assert all(ready == 3 for pk, ready in many if pk != team.pk)


# --- the certificate sweep -------------------------------------------------------------------


def test_certificates_expiring_are_told_once_per_expiry_date(world):
    from frontline.core.models import Notification
    from frontline.core.testing import make_user

    leader = make_user(None, world.village, "leader1")
    team = register(world, leader=leader.person)
    member = make_member(team, person=make_person(world.village, name="赵队员"))
    today = timezone.localdate()
    soon = services.add_certificate(
        actor=None, member=member, name="救生员证", expires_on=today + timedelta(days=20)
    )
    services.add_certificate(
        actor=None, member=member, name="驾驶证", expires_on=today + timedelta(days=200)
    )
    gone = make_member(team)
    gone.left_on = today
    gone.save()
    services.add_certificate(actor=None, member=gone, name="旧证", expires_on=today)
    assert services.notify_expiring_certificates() == {"certificates": 1, "notifications": 1}
    told = Notification.objects.filter(kind=services.CERTIFICATE_NOTIFICATION_KIND)
    assert {n.recipient_id for n in told} >= {leader.pk, world.same.pk}
    assert "赵队员" in told.first().body and "救生员证" in told.first().body
    assert services.notify_expiring_certificates() == {"certificates": 0, "notifications": 0}
    soon.expires_on = today + timedelta(days=25)  # renewed badly: a new date is told again
    soon.save()
    assert services.notify_expiring_certificates()["certificates"] == 1
    assert timeline(team).filter(kind=services.CERTIFICATE_TOLD_KIND).count() == 2
