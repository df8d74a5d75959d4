"""Pages of teams: the authorization matrix, the list with readiness and its query count, the
team page (masked phones, logged clear view, week timeline, status buttons), the roster
editor refusing bad shifts, and the forms."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from frontline.core.models import SensitiveAccess
from frontline.core.roles import Role
from frontline.core.testing import (
    assert_page_matrix,
    make_person,
    make_user,
    page_queries,
)
from frontline.resources.models import (
    DutyShift,
    MemberCertificate,
    RescueTeam,
    TeamKind,
    TeamMember,
    TeamStatus,
)
from frontline.resources.services import teams as services
from frontline.resources.testing import make_equipment, make_member, make_team


def shift_now(team, member, hours=7):
    now = timezone.now()
    return services.create_shift(
        actor=None,
        team=team,
        member=member,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=hours),
    )


def local_input(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_team_pages_follow_the_authorization_matrix(world):
    team = make_team(world.township)
    member = make_member(team)
    assert_page_matrix(world, f"/teams/{team.pk}/")
    assert_page_matrix(world, f"/teams/{team.pk}/roster/")
    assert_page_matrix(world, f"/teams/{team.pk}/edit/")
    sibling = world.client_for(world.sibling)
    assert sibling.post(f"/teams/{team.pk}/status/", {"status": "deployed"}).status_code == 404
    assert sibling.post(f"/teams/members/{member.pk}/remove/").status_code == 404
    assert team.name not in sibling.get("/teams/").content.decode()
    assert team.name in world.client_for(world.parent).get("/teams/").content.decode()
    team.refresh_from_db()
    assert team.status == TeamStatus.AVAILABLE


def test_list_shows_headcount_ready_and_filters(world):
    micro = make_team(
        world.village,
        kind=TeamKind.MICRO_FIRE_STATION,
        name="州山村微型消防站",
        min_on_duty=3,
        capabilities=["firefighting"],
    )
    for _n in range(2):
        shift_now(micro, make_member(micro))
    make_member(micro)
    make_team(world.township, name="水上救援队", capabilities=["water_rescue"])
    client = world.client_for(world.same)
    page = client.get("/teams/").content.decode()
    assert "州山村微型消防站" in page and "水上救援队" in page
    assert 'data-testid="ready">2</strong> / 3' in page
    only = client.get("/teams/?capability=water_rescue").content.decode()
    assert "水上救援队" in only and "州山村微型消防站" not in only
    short = client.get("/teams/?short=1").content.decode()
    assert "州山村微型消防站" in short and "水上救援队" not in short


def test_list_pages_query_count_does_not_grow(world):
    client = world.client_for(world.parent)
    team = make_team(world.township, capabilities=["drainage"])
    shift_now(team, make_member(team))
    make_equipment(world.township, team=team)
    urls = ["/teams/", "/equipment/", "/experts/"]
    from frontline.resources.testing import make_expert

    make_expert(world.township)
    few = {url: len(page_queries(client, url)[1]) for url in urls}
    for n in range(6):
        more = make_team(world.village, name=f"队{n}", capabilities=["lighting"])
        shift_now(more, make_member(more))
        make_equipment(world.village, team=more, next_inspection_due=timezone.localdate())
        make_expert(world.village)
    for url in urls:
        response, queries = page_queries(client, url)
        assert response.status_code == 200
        assert len(queries) == few[url], url


def test_team_page_masks_phones_and_reveals_one_logged(world):
    team = make_team(world.township)
    person = make_person(world.village, name="李救援", mobile="13912345678")
    member = make_member(team, person=person)
    shift_now(team, member)
    services.add_certificate(
        actor=None,
        member=member,
        name="救生员证",
        expires_on=timezone.localdate() + timedelta(days=10),
    )
    chief = make_user(Role.STATION_CHIEF, world.township, "chief")
    page = world.client_for(chief).get(f"/teams/{team.pk}/").content.decode()
    assert "139****5678" in page and "13912345678" not in page
    assert f"/people/{person.pk}/reveal/mobile/" in page
    assert 'class="cert expiring"' in page
    assert 'class="bar"' in page  # this week's timeline
    revealed = world.client_for(chief).post(
        f"/people/{person.pk}/reveal/mobile/", {"reason": "紧急联系"}
    )
    assert revealed.status_code == 200 and "13912345678" in revealed.content.decode()
    assert SensitiveAccess.objects.filter(user=chief, object_id=str(person.pk)).count() == 1
    # Station staff lack VIEW_PERSONAL_DATA: masked, no button.
    staff_page = world.client_for(world.same).get(f"/teams/{team.pk}/").content.decode()
    assert "139****5678" in staff_page and "显示明文" not in staff_page


def test_status_buttons_change_the_status_once(world):
    team = make_team(world.township)
    client = world.client_for(world.same)
    response = client.post(
        f"/teams/{team.pk}/status/", {"status": "deployed", "note": "火警"}, follow=True
    )
    assert response.redirect_chain[0][1] == 302
    team.refresh_from_db()
    assert team.status == TeamStatus.DEPLOYED
    # The message names the new status, not the one the page was showing.
    assert "已改为“出动中”" in response.content.decode()
    again = client.post(f"/teams/{team.pk}/status/", {"status": "deployed"}, follow=True)
    assert "已是" in again.content.decode()
    leader = make_user(Role.LEADER, world.county, "leader")
    assert (
        world.client_for(leader)
        .post(f"/teams/{team.pk}/status/", {"status": "resting"})
        .status_code
        == 403
    )


def test_roster_adds_a_shift_and_refuses_an_overlap(world):
    team = make_team(world.township)
    member = make_member(team, person=make_person(world.village, name="张三"))
    client = world.client_for(world.same)
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=2)
    added = client.post(
        f"/teams/{team.pk}/roster/",
        {
            "member": member.pk,
            "starts_at": local_input(start),
            "ends_at": local_input(start + timedelta(hours=8)),
        },
    )
    assert added.status_code == 302
    assert DutyShift.objects.count() == 1
    overlap = client.post(
        f"/teams/{team.pk}/roster/",
        {
            "member": member.pk,
            "starts_at": local_input(start + timedelta(hours=4)),
            "ends_at": local_input(start + timedelta(hours=9)),
        },
    )
    backwards = client.post(
        f"/teams/{team.pk}/roster/",
        {
            "member": member.pk,
            "starts_at": local_input(start + timedelta(hours=20)),
            "ends_at": local_input(start + timedelta(hours=18)),
        },
    )
    assert overlap.status_code == 422 and "重叠" in overlap.content.decode()
    assert backwards.status_code == 422 and "结束时间须晚于开始时间" in backwards.content.decode()
    assert DutyShift.objects.count() == 1
    shift = DutyShift.objects.get()
    roster = client.get(f"/teams/{team.pk}/roster/?week={timezone.localdate(start)}")
    assert "张三" in roster.content.decode()
    assert client.post(f"/teams/shifts/{shift.pk}/delete/").status_code == 302
    assert not DutyShift.objects.exists()


def test_team_forms_members_certificates(world):
    client = world.client_for(world.same)
    created = client.post(
        "/teams/new/",
        {
            "name": "柯岩街道综合应急救援队",
            "kind": "rescue_squad",
            "region": world.township.code,
            "lon": "120.41",
            "lat": "30.01",
            "capabilities": ["water_rescue", "drainage"],
        },
    )
    assert created.status_code == 302, created.content.decode()
    team = RescueTeam.objects.get()
    assert team.capabilities == ",water_rescue,drainage,"
    bad = client.post(
        "/teams/new/",
        {"name": "", "kind": "rescue_squad", "region": world.township.code, "lon": "1", "lat": "1"},
    )
    assert bad.status_code == 422 and RescueTeam.objects.count() == 1
    person = make_person(world.village, name="王五")
    stranger = make_person(world.sibling_township, name="外人")
    form = client.get(f"/teams/{team.pk}/members/new/").content.decode()
    assert "王五" in form and "外人" not in form
    refused = client.post(
        f"/teams/{team.pk}/members/new/", {"person": stranger.pk, "role": "member"}
    )
    assert refused.status_code == 422 and not TeamMember.objects.exists()
    added = client.post(f"/teams/{team.pk}/members/new/", {"person": person.pk, "role": "driver"})
    assert added.status_code == 302
    member = TeamMember.objects.get()
    cert = client.post(
        f"/teams/{team.pk}/certificates/new/",
        {"member": member.pk, "name": "驾驶证", "expires_on": "2030-01-01"},
    )
    assert cert.status_code == 302 and MemberCertificate.objects.count() == 1
    off = client.post(f"/teams/members/{member.pk}/availability/", {"is_available": "0"})
    assert off.status_code == 302
    member.refresh_from_db()
    assert member.is_available is False
    edited = client.post(
        f"/teams/{team.pk}/edit/",
        {
            "name": team.name,
            "kind": "rescue_squad",
            "region": world.township.code,
            "lon": "120.41",
            "lat": "30.01",
            "capabilities": ["water_rescue"],
            "leader": person.pk,
            "min_on_duty": "2",
        },
    )
    assert edited.status_code == 302
    team.refresh_from_db()
    assert team.leader_id == person.pk and team.min_on_duty == 2
    assert team.capabilities == ",water_rescue,"
    removed = client.post(f"/teams/members/{member.pk}/remove/", {"note": "调离"})
    assert removed.status_code == 302
    member.refresh_from_db()
    assert member.left_on is not None
