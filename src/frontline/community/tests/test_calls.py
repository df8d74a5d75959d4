"""Community calls as services: 社区呼叫 → 部门到位 → 整改落实 → 呼叫人确认评价, and the
escalation sweep."""

from datetime import timedelta

import pytest
from django.utils import timezone

from frontline.community.models import CallCategory, CallState, CommunityCall
from frontline.community.services import calls as services
from frontline.community.services import calls_escalation as escalation
from frontline.community.services import calls_people as people
from frontline.community.testing import make_department
from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.models import Notification, OrganizationKind, Person, TaskState
from frontline.core.roles import Role
from frontline.core.testing import make_user
from frontline.core.worker import SWEEPS


def make_liaison(department, region, username=None):
    """A department liaison: an account whose person belongs to the department."""
    user = make_user(Role.LIAISON, region, username)
    Person.objects.filter(user=user).update(organization=department)
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def dept(world):
    department = make_department(
        world.township, "柯岩消防救援站", kind=OrganizationKind.FIRE_BRIGADE
    )
    return {
        "department": department,
        "liaison": make_liaison(department, world.township, "liaison"),
        "chief": make_user(Role.STATION_CHIEF, world.township, "chief"),
        "county_admin": world.parent,
    }


def raise_one(world, dept, category=CallCategory.FIRE, **kw):
    return services.raise_call(
        actor=kw.pop("actor", world.grid_worker),
        region=kw.pop("region", world.grid),
        title=kw.pop("title", "楼道堆放杂物堵塞消防通道"),
        category=category,
        department=dept["department"],
        description=kw.pop("description", "3幢2单元楼道"),
        address="州山路3号",
        **kw,
    )


def kinds(call) -> list[str]:
    return list(call.events.order_by("at", "id").values_list("kind", flat=True))


def task_of(call):
    call.task.refresh_from_db()
    return call.task


def test_whole_loop_keeps_the_task_in_step(world, dept):
    before = timezone.now()
    call = raise_one(world, dept)
    assert call.number.startswith("HJ-330603001001001-")
    assert call.number.endswith("-00001")
    assert call.state == CallState.CALLED
    # Deadlines are stored: 30 min to arrive and 24 h to fix for fire.
    assert timedelta(minutes=30) <= call.arrive_by - before < timedelta(minutes=31)
    assert timedelta(hours=24) <= call.fix_by - before < timedelta(hours=24, minutes=1)
    assert call.next_escalation_at == call.arrive_by
    task = task_of(call)
    assert task.state == TaskState.ASSIGNED
    assert task.assignee_organization == dept["department"]
    assert task.due_at == call.fix_by and task.respond_by == call.arrive_by
    assert task.subject == call
    assert Notification.objects.filter(recipient=dept["liaison"], kind="call_raised").exists()
    assert people.allowed_actions(dept["liaison"], call) == ["on-site"]
    assert people.allowed_actions(world.grid_worker, call) == ["withdraw"]

    services.report_on_site(actor=dept["liaison"], call=call, lon=120.401, lat=30.001)
    assert call.state == CallState.ON_SITE and call.arrived_at is not None
    assert call.next_escalation_at == call.fix_by
    assert task_of(call).state == TaskState.ON_SITE

    services.report_fixed(actor=dept["liaison"], call=call, note="杂物已清理")
    assert call.state == CallState.FIXED and call.fixed_at is not None
    assert call.next_escalation_at is None
    assert task_of(call).state == TaskState.DONE
    assert Notification.objects.filter(recipient=world.grid_worker, kind="call_fixed").exists()

    services.confirm_fix(actor=world.grid_worker, call=call, rating=5, note="很及时")
    assert call.state == CallState.CLOSED and call.rating == 5 and call.closed_at
    assert task_of(call).state == TaskState.VERIFIED
    assert kinds(call) == ["called", "on_site", "fixed", "closed"]
    call.refresh_from_db()
    assert call.state == CallState.CLOSED


def test_other_categories_get_the_longer_limits(world, dept):
    before = timezone.now()
    call = raise_one(world, dept, category=CallCategory.HOUSING)
    assert timedelta(hours=2) <= call.arrive_by - before < timedelta(hours=2, minutes=1)
    assert timedelta(hours=72) <= call.fix_by - before < timedelta(hours=72, minutes=1)


def test_limits_are_configurable(world, dept, settings):
    settings.FRONTLINE_CALL_ARRIVE_MINUTES = {"housing": 45}
    settings.FRONTLINE_CALL_FIX_HOURS = {"housing": 10}
    before = timezone.now()
    call = raise_one(world, dept, category=CallCategory.HOUSING)
    assert timedelta(minutes=45) <= call.arrive_by - before < timedelta(minutes=46)
    assert timedelta(hours=10) <= call.fix_by - before < timedelta(hours=10, minutes=1)


def test_a_department_that_tries_to_close_is_refused(world, dept):
    call = raise_one(world, dept)
    services.report_on_site(actor=dept["liaison"], call=call)
    services.report_fixed(actor=dept["liaison"], call=call, note="已清理")
    with pytest.raises(DomainError) as refused:
        services.confirm_fix(actor=dept["liaison"], call=call, rating=5)
    assert refused.value.status == 409
    assert refused.value.code == "department_cannot_close"
    assert "呼叫人" in str(refused.value.message)
    call.refresh_from_db()
    assert call.state == CallState.FIXED
    assert task_of(call).state == TaskState.DONE
    assert kinds(call) == ["called", "on_site", "fixed"]


def test_a_non_caller_is_refused(world, dept):
    call = raise_one(world, dept)
    services.report_on_site(actor=dept["liaison"], call=call)
    services.report_fixed(actor=dept["liaison"], call=call, note="已清理")
    for other in (world.same, dept["chief"], world.parent):
        with pytest.raises(PermissionDenied):
            services.confirm_fix(actor=other, call=call, rating=4)
        assert people.allowed_actions(other, call) == []
    call.refresh_from_db()
    assert call.state == CallState.FIXED
    fresh = raise_one(world, dept)
    with pytest.raises(PermissionDenied) as wrong_side:
        services.report_on_site(actor=world.same, call=fresh)
    assert "柯岩消防救援站" in str(wrong_side.value.message)


def test_the_station_chief_closes_when_the_callers_account_is_gone(world, dept):
    call = raise_one(world, dept)
    services.report_on_site(actor=dept["liaison"], call=call)
    services.report_fixed(actor=dept["liaison"], call=call, note="已清理")
    world.grid_worker.is_active = False
    world.grid_worker.save()
    call = CommunityCall.objects.get(pk=call.pk)
    assert people.allowed_actions(dept["chief"], call) == ["confirm", "reject"]
    assert people.allowed_actions(world.same, call) == []  # staff, not the chief
    services.confirm_fix(actor=dept["chief"], call=call, rating=3)
    assert call.state == CallState.CLOSED
    assert task_of(call).state == TaskState.VERIFIED


def test_rejected_fix_goes_back_on_site_and_returns_the_task(world, dept):
    call = raise_one(world, dept)
    services.report_on_site(actor=dept["liaison"], call=call)
    services.report_fixed(actor=dept["liaison"], call=call, note="已清理")
    with pytest.raises(InvalidInput) as bad:
        services.reject_fix(actor=world.grid_worker, call=call, reason=" ")
    assert bad.value.details == {"reason": "此字段为必填项"}
    services.reject_fix(actor=world.grid_worker, call=call, reason="楼道里还有两辆电动车")
    assert call.state == CallState.ON_SITE and call.fixed_at is None
    assert call.next_escalation_at == call.fix_by
    assert task_of(call).state == TaskState.RETURNED
    assert Notification.objects.filter(recipient=dept["liaison"], kind="call_rejected").exists()
    services.report_fixed(actor=dept["liaison"], call=call, note="电动车已移走")
    assert task_of(call).state == TaskState.DONE
    services.confirm_fix(actor=world.grid_worker, call=call, rating=4)
    assert task_of(call).state == TaskState.VERIFIED
    assert kinds(call) == ["called", "on_site", "fixed", "rejected", "fixed", "closed"]


def test_withdraw_before_arrival_only(world, dept):
    call = raise_one(world, dept)
    services.withdraw_call(actor=world.grid_worker, call=call, reason="误报，已自行处理")
    assert call.state == CallState.WITHDRAWN and call.next_escalation_at is None
    assert task_of(call).state == TaskState.VERIFIED
    second = raise_one(world, dept)
    assert second.number.endswith("-00002")
    services.report_on_site(actor=dept["liaison"], call=second)
    with pytest.raises(DomainError) as late:
        services.withdraw_call(actor=world.grid_worker, call=second, reason="不需要了")
    assert late.value.code == "illegal_transition"
    assert "已报到" in str(late.value.message)


def test_illegal_steps_are_409_and_write_nothing(world, dept):
    call = raise_one(world, dept)
    with pytest.raises(DomainError) as early:
        services.report_fixed(actor=dept["liaison"], call=call, note="已清理")
    assert early.value.status == 409 and early.value.code == "illegal_transition"
    with pytest.raises(DomainError):
        services.confirm_fix(actor=world.grid_worker, call=call, rating=5)
    assert kinds(call) == ["called"]
    assert task_of(call).state == TaskState.ASSIGNED


def test_bad_input_is_422_and_nothing_half_written(world, dept):
    with pytest.raises(InvalidInput) as bad:
        services.raise_call(
            actor=world.grid_worker,
            region=world.grid,
            title="",
            category="volcano",
            department=None,
            lon=120.4,
        )
    assert set(bad.value.details) == {"title", "category", "department", "lon"}
    other = make_department(world.sibling_township, "安昌供电所")
    with pytest.raises(InvalidInput) as far:
        raise_one(world, {"department": other})
    assert "department" in far.value.details
    station = make_department(world.township, "站", kind=OrganizationKind.STATION)
    with pytest.raises(InvalidInput):
        raise_one(world, {"department": station})
    assert not CommunityCall.objects.exists()
    call = raise_one(world, dept)
    services.report_on_site(actor=dept["liaison"], call=call)
    services.report_fixed(actor=dept["liaison"], call=call, note="已清理")
    for rating, note in ((0, ""), (6, ""), ("x", ""), (1, "")):
        with pytest.raises(InvalidInput):
            services.confirm_fix(actor=world.grid_worker, call=call, rating=rating, note=note)
    call.refresh_from_db()
    assert call.state == CallState.FIXED and call.rating is None


def test_outsiders_may_not_raise(world, dept):
    with pytest.raises(PermissionDenied):
        raise_one(world, dept, actor=world.sibling)
    assert not CommunityCall.objects.exists()


def test_escalates_twice_with_notifications_and_is_idempotent(world, dept):
    county_admin = world.parent
    call = raise_one(world, dept)
    sweep = escalation.escalate_overdue_calls
    assert sweep(timezone.now())["escalated"] == 0

    late = call.arrive_by + timedelta(minutes=1)
    assert sweep(late) == {"escalated": 1, "skipped": 0}
    call.refresh_from_db()
    assert call.escalation_level == 1
    assert call.next_escalation_at == late + timedelta(minutes=60)
    event = call.events.get(kind="escalated")
    assert event.data["level"] == 1 and event.data["reason"] == "arrive"
    station = Notification.objects.filter(kind="call_escalated")
    assert set(station.values_list("recipient", flat=True)) == {world.same.pk, dept["chief"].pk}
    assert Notification.objects.filter(recipient=dept["liaison"], kind="call_overdue").exists()

    # Running the sweep again at the same moment changes nothing.
    snapshot = (Notification.objects.count(), call.events.count())
    assert sweep(late) == {"escalated": 0, "skipped": 0}
    call.refresh_from_db()
    assert call.escalation_level == 1
    assert (Notification.objects.count(), call.events.count()) == snapshot

    later = late + timedelta(minutes=61)
    assert sweep(later)["escalated"] == 1
    call.refresh_from_db()
    assert call.escalation_level == 2
    assert Notification.objects.filter(recipient=county_admin, kind="call_escalated").exists()
    assert sweep(later)["escalated"] == 0
    assert call.events.filter(kind="escalated").count() == 2

    # On site late: the next look is at the fix deadline.
    services.report_on_site(actor=dept["liaison"], call=call)
    assert call.next_escalation_at == call.fix_by
    assert sweep(later)["escalated"] == 0
    assert sweep(call.fix_by + timedelta(seconds=1))["escalated"] == 1
    call.refresh_from_db()
    assert call.escalation_level == 3
    assert call.events.filter(kind="escalated").last().data["reason"] == "fix"


def test_a_claimed_call_is_skipped(world, dept):
    call = raise_one(world, dept)
    late = call.arrive_by + timedelta(minutes=1)
    # Another worker claimed it first: the row's next_escalation_at moved.
    CommunityCall.objects.filter(pk=call.pk).update(next_escalation_at=late + timedelta(hours=1))
    assert escalation._escalate_one(call.pk, late) == "skipped"
    call.refresh_from_db()
    assert call.escalation_level == 0


def test_the_sweep_is_registered_with_the_worker():
    import frontline.community.tasks  # noqa: F401

    assert "escalate_overdue_calls" in SWEEPS


def test_department_liaison_sees_calls_of_their_organization(world, dept):
    county_department = make_department(world.county, "区住建局")
    county_liaison = make_liaison(county_department, world.other_county, "countyliaison")
    call = raise_one(world, {"department": county_department}, category=CallCategory.HOUSING)
    assert people.visible_calls(county_liaison).filter(pk=call.pk).exists()
    assert people.allowed_actions(county_liaison, call) == ["on-site"]
    assert not people.visible_calls(world.sibling).filter(pk=call.pk).exists()
    assert not people.visible_calls(dept["liaison"]).exclude(region=world.grid).exists()


def test_suggested_departments_put_the_fitting_ones_first(world, dept):
    power = make_department(world.township, "柯岩供电所")
    water = make_department(world.county, "自来水公司")
    make_department(world.sibling_township, "安昌供电所")
    suggested = people.suggested_departments(world.same, world.grid, CallCategory.POWER)
    assert suggested[0] == power
    assert {d.pk for d in suggested} == {power.pk, water.pk, dept["department"].pk}
    fire = people.suggested_departments(world.same, world.grid, CallCategory.FIRE)
    assert fire[0] == dept["department"]
