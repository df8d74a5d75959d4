"""Supervised tasks (督办任务): scope, the state machine through the API and the pages,
deadlines, reminders and escalation by the sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from frontline.core import numbers, services
from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.models import (
    Notification,
    OrganizationKind,
    SupervisedTask,
    TaskState,
)
from frontline.core.roles import Role
from frontline.core.testing import (
    PASSWORD,
    assert_api_matrix,
    assert_page_matrix,
    assert_queryset_matrix,
    make_organization,
    make_person,
)

HOUR = timedelta(hours=1)


def make_account(region, role, username, organization=None):
    person = make_person(region, organization=organization)
    user = services.create_account(actor=None, person=person, username=username, password=PASSWORD)
    services.grant_role(actor=None, user=user, role=role, region=region)
    return user


@pytest.fixture
def team(world):
    """A village committee with two members who answer tasks, in world.village."""
    committee = make_organization(
        world.village, kind=OrganizationKind.VILLAGE_COMMITTEE, name="州山村村委会"
    )
    first = make_account(world.village, Role.GRID_WORKER, "worker1", committee)
    second = make_account(world.village, Role.GRID_WORKER, "worker2", committee)
    return committee, first, second


def assign(world, assignee_user=None, organization=None, **kw):
    kw.setdefault("due_at", timezone.now() + 24 * HOUR)
    return services.assign_task(
        actor=kw.pop("actor", world.same),
        title=kw.pop("title", "清理消防通道"),
        region=kw.pop("region", world.village),
        assignee_person=assignee_user.person if assignee_user else None,
        assignee_organization=organization,
        **kw,
    )


def kinds(task) -> list[str]:
    return list(task.events.order_by("at", "id").values_list("kind", flat=True))


# --- scope ---------------------------------------------------------------------------------


def test_scope_matrix(world, team):
    committee, _worker, _ = team
    task = assign(world, organization=committee)
    assert_queryset_matrix(SupervisedTask.objects, task, world)
    assert_api_matrix(world, f"/api/v1/tasks/{task.pk}")
    assert_page_matrix(world, f"/tasks/{task.pk}/")


def test_assignee_outside_the_region_scope_still_sees_their_task(world):
    """A grid worker's scope is the grid; a village task given to them is theirs to answer."""
    task = assign(world, world.grid_worker)
    client = world.client_for(world.grid_worker)
    assert client.get(f"/api/v1/tasks/{task.pk}").status_code == 200
    assert client.get(f"/tasks/{task.pk}/").status_code == 200
    listed = client.get("/api/v1/tasks?mine=assigned").json()
    assert [row["id"] for row in listed["items"]] == [task.pk]
    # ...but not the other tasks of the village.
    other = assign(world, organization=make_organization(world.village))
    assert client.get(f"/api/v1/tasks/{other.pk}").status_code == 404


def test_transition_outside_scope_is_404(world, team):
    task = assign(world, organization=team[0])
    response = world.client_for(world.sibling).post(
        f"/api/v1/tasks/{task.pk}/acknowledge", {}, content_type="application/json"
    )
    assert response.status_code == 404


# --- assign --------------------------------------------------------------------------------


def test_assign_stores_deadlines_and_notifies_the_assignees(world, team, settings):
    settings.FRONTLINE_TASK_RESPOND_MINUTES = 30
    committee, _first, _second = team
    before = timezone.now()
    task = assign(world, organization=committee, due_at=before + 5 * HOUR)
    assert task.state == TaskState.ASSIGNED
    assert (
        before + timedelta(minutes=29)
        < task.respond_by
        <= timezone.now() + 30 * 60 * (timedelta(seconds=1))
    )
    assert task.next_remind_at == task.respond_by
    assert task.number.startswith(f"DB-330603001001-{timezone.localtime().year}-")
    assert kinds(task) == ["assigned"]
    event = task.events.get()
    assert (event.actor, event.to_state) == (world.same, TaskState.ASSIGNED)
    notified = set(
        Notification.objects.filter(kind="task_assigned", channel="in_app").values_list(
            "recipient__username", flat=True
        )
    )
    assert notified == {"worker1", "worker2"}


def test_respond_by_never_later_than_due(world, team):
    task = assign(world, organization=team[0], due_at=timezone.now() + timedelta(minutes=20))
    assert task.respond_by == task.due_at


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"due_at": timezone.now() - HOUR}, "due_at"),
        ({"title": " "}, "title"),
        ({"priority": "whenever"}, "priority"),
        (
            {"due_at": timezone.now() + HOUR, "respond_by": timezone.now() + 2 * HOUR},
            "respond_by",
        ),
    ],
)
def test_assign_rejects_bad_input(world, team, changes, field):
    with pytest.raises(InvalidInput) as caught:
        assign(world, organization=team[0], **changes)
    assert field in caught.value.details


def test_assign_needs_an_assignee_on_the_same_branch(world):
    with pytest.raises(InvalidInput) as caught:
        assign(world)
    assert "assignee_organization" in caught.value.details
    elsewhere = make_organization(world.sibling_township)
    with pytest.raises(InvalidInput) as caught:
        assign(world, organization=elsewhere)
    assert "assignee_organization" in caught.value.details
    # A township station may answer a village task (its region is an ancestor).
    station = make_organization(world.township)
    assert assign(world, organization=station).assignee_organization == station


def test_assign_needs_edit_over_the_region(world, team):
    with pytest.raises(PermissionDenied):
        assign(world, organization=team[0], actor=world.sibling)


def test_numbers_run_per_region_and_year(world, team):
    numbers = [assign(world, organization=team[0]).number for _ in range(3)]
    year = timezone.localtime().year
    assert numbers == [f"DB-330603001001-{year}-{n:05d}" for n in (1, 2, 3)]
    station = make_organization(world.township)
    other = assign(world, organization=station, region=world.township)
    assert other.number == f"DB-330603001-{year}-00001"


def test_number_collision_takes_the_next_number(world, team, monkeypatch):
    """Two requests that read the same last number: the loser retries with the next one."""
    first = assign(world, organization=team[0])
    real = numbers.next_number
    calls = []

    def stale_then_real(model, prefix, field="number"):
        calls.append(1)
        return first.number if len(calls) == 1 else real(model, prefix, field)

    monkeypatch.setattr(numbers, "next_number", stale_then_real)
    second = assign(world, organization=team[0])
    assert second.number != first.number and second.number.endswith("-00002")
    assert len(calls) == 2


# --- the happy path through the API -------------------------------------------------------


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def test_happy_path_through_the_api(world, team):
    committee, worker, _ = team
    supervisor = world.client_for(world.same)
    due = timezone.now() + 48 * HOUR
    created = post(
        supervisor,
        "/api/v1/tasks",
        {
            "title": "整改液化气瓶违规存放",
            "description": "三日内清理",
            "priority": "urgent",
            "region_code": world.village.code,
            "due_at": due.isoformat(),
            "assignee_organization_id": committee.pk,
            "assignee_person_id": worker.person.pk,
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    task_id = body["id"]
    assert body["state"] == "assigned" and body["state_label"] == "已下达"
    assert body["assignee_person_name"] == worker.person.name
    assert body["actions"] == ["extend"]  # the supervisor may only extend an open task
    assert [e["kind"] for e in body["timeline"]] == ["assigned"]

    assignee = world.client_for(worker)
    url = f"/api/v1/tasks/{task_id}"
    assert assignee.get(url).json()["actions"] == ["acknowledge"]
    assert post(assignee, f"{url}/acknowledge", {"note": "收到"}).json()["state"] == "acknowledged"
    on_site = post(assignee, f"{url}/on-site", {"note": "已到现场", "lon": 120.41, "lat": 30.01})
    assert on_site.json()["state"] == "on_site"
    done = post(assignee, f"{url}/complete", {"note": "气瓶已移至专用间"})
    assert done.json()["state"] == "done" and done.json()["done_at"]
    assert done.json()["actions"] == []
    assert Notification.objects.filter(kind="task_done", recipient=world.same).exists()

    assert supervisor.get(url).json()["actions"] == ["verify", "return"]
    verified = post(supervisor, f"{url}/verify", {"note": "现场核验合格"})
    assert verified.status_code == 200
    final = verified.json()
    assert final["state"] == "verified" and final["next_remind_at"] is None
    timeline = final["timeline"]
    assert [e["kind"] for e in timeline] == [
        "assigned",
        "acknowledged",
        "arrived",
        "completed",
        "verified",
    ]
    assert timeline[2]["data"] == {"lon": 120.41, "lat": 30.01}
    assert timeline[3]["actor_name"] == worker.person.name
    assert [(e["from_state"], e["to_state"]) for e in timeline[1:]] == [
        ("assigned", "acknowledged"),
        ("acknowledged", "on_site"),
        ("on_site", "done"),
        ("done", "verified"),
    ]
    assert all(e["actor_id"] for e in timeline)


def test_return_and_redo(world, team):
    committee, worker, _ = team
    task = assign(world, organization=committee)
    services.acknowledge_task(actor=worker, task=task)
    services.complete_task(actor=worker, task=task, note="已整改")
    supervisor = world.client_for(world.same)
    new_due = timezone.now() + 72 * HOUR
    returned = post(
        supervisor,
        f"/api/v1/tasks/{task.pk}/return",
        {"reason": "通道仍有杂物", "due_at": new_due.isoformat()},
    )
    assert returned.status_code == 200, returned.json()
    assert returned.json()["state"] == "returned"
    task.refresh_from_db()
    assert abs(task.due_at - new_due) < timedelta(seconds=1) and task.done_at is None
    assert Notification.objects.filter(kind="task_returned", recipient=worker).exists()
    # Back to the assignee, who may finish directly.
    services.complete_task(actor=worker, task=task, note="杂物已清走")
    services.verify_task(actor=world.same, task=task)
    assert kinds(task)[-3:] == ["returned", "completed", "verified"]


def test_return_needs_a_reason(world, team):
    committee, worker, _ = team
    task = assign(world, organization=committee)
    services.acknowledge_task(actor=worker, task=task)
    services.complete_task(actor=worker, task=task, note="已整改")
    response = post(world.client_for(world.same), f"/api/v1/tasks/{task.pk}/return", {})
    assert response.status_code == 422
    assert "reason" in response.json()["details"]


def test_extend_moves_the_deadline_and_the_reminder(world, team, settings):
    settings.FRONTLINE_TASK_LEAD_MINUTES = 60
    committee, worker, _ = team
    task = assign(world, organization=committee)
    services.acknowledge_task(actor=worker, task=task)
    new_due = task.due_at + 24 * HOUR
    response = post(
        world.client_for(world.same),
        f"/api/v1/tasks/{task.pk}/extend",
        {"due_at": new_due.isoformat(), "reason": "等待配件"},
    )
    assert response.status_code == 200, response.json()
    task.refresh_from_db()
    assert task.due_at == new_due and task.next_remind_at == new_due - HOUR
    # Earlier than now: 422; by the assignee: 403.
    earlier = post(
        world.client_for(world.same),
        f"/api/v1/tasks/{task.pk}/extend",
        {"due_at": (task.due_at - HOUR).isoformat(), "reason": "x"},
    )
    assert earlier.status_code == 422
    by_assignee = post(
        world.client_for(worker),
        f"/api/v1/tasks/{task.pk}/extend",
        {"due_at": (task.due_at + HOUR).isoformat(), "reason": "x"},
    )
    assert by_assignee.status_code == 403


# --- refusals ------------------------------------------------------------------------------


def test_illegal_transitions_answer_409_in_chinese(world, team):
    committee, worker, _ = team
    task = assign(world, organization=committee)
    client = world.client_for(worker)
    early = post(client, f"/api/v1/tasks/{task.pk}/complete", {"note": "x"})
    assert early.status_code == 409
    assert early.json()["code"] == "illegal_transition"
    assert early.json()["message"] == "任务已下达，不能办结"
    post(client, f"/api/v1/tasks/{task.pk}/acknowledge")
    post(client, f"/api/v1/tasks/{task.pk}/complete", {"note": "已处理"})
    again = post(client, f"/api/v1/tasks/{task.pk}/acknowledge")
    assert again.status_code == 409
    assert again.json() == {
        "code": "illegal_transition",
        "message": "任务已办结，不能签收",
        "details": {"state": "done", "action": "acknowledge", "allowed": ["verify", "return"]},
    }
    services.verify_task(actor=world.same, task=task)
    late = post(world.client_for(world.same), f"/api/v1/tasks/{task.pk}/return", {"reason": "x"})
    assert late.status_code == 409 and late.json()["message"] == "任务已核验，不能退回"


def test_complete_needs_a_note(world, team):
    committee, worker, _ = team
    task = assign(world, organization=committee)
    services.acknowledge_task(actor=worker, task=task)
    response = post(world.client_for(worker), f"/api/v1/tasks/{task.pk}/complete", {"note": ""})
    assert response.status_code == 422
    assert response.json()["details"] == {"note": "此字段为必填项"}


def test_wrong_side_is_403(world, team):
    committee, _worker, _ = team
    task = assign(world, organization=committee)
    # The supervisor does not acknowledge for the assignee.
    response = post(world.client_for(world.same), f"/api/v1/tasks/{task.pk}/acknowledge")
    assert response.status_code == 403
    # Someone who sees the task but may not edit (a read-only leader) does nothing.
    leader = make_account(world.county, Role.LEADER, "leader")
    assert post(world.client_for(leader), f"/api/v1/tasks/{task.pk}/acknowledge").status_code == 403


def test_the_one_who_completed_does_not_verify(world, team):
    committee, worker, colleague = team
    task = assign(world, organization=committee)
    services.acknowledge_task(actor=worker, task=task)
    services.complete_task(actor=worker, task=task, note="已整改")
    response = post(world.client_for(worker), f"/api/v1/tasks/{task.pk}/verify")
    assert response.status_code == 409
    assert response.json()["code"] == "verifier_is_completer"
    assert "核验人不能是办结人" in response.json()["message"]
    # A colleague of the assignee unit is on the assignee side, not the supervisor's.
    assert post(world.client_for(colleague), f"/api/v1/tasks/{task.pk}/verify").status_code == 403
    # Even someone who has since left the unit and now supervises may not verify their own work.
    services.update_person(actor=None, person=worker.person, organization=None)
    worker.refresh_from_db()
    with pytest.raises(DomainError) as caught:
        services.verify_task(actor=type(worker).objects.get(pk=worker.pk), task=task)
    assert caught.value.code == "verifier_is_completer"
    services.verify_task(actor=world.same, task=task)
    assert task.state == TaskState.VERIFIED


def test_create_through_the_api_rejects_bad_input(world, team):
    client = world.client_for(world.same)
    response = post(
        client,
        "/api/v1/tasks",
        {
            "title": "x",
            "region_code": world.village.code,
            "due_at": (timezone.now() - HOUR).isoformat(),
        },
    )
    assert response.status_code == 422
    details = response.json()["details"]
    assert set(details) == {"due_at", "assignee_organization_id"}
    hidden = make_organization(world.sibling_township)
    response = post(
        client,
        "/api/v1/tasks",
        {
            "title": "x",
            "region_code": world.village.code,
            "due_at": (timezone.now() + HOUR).isoformat(),
            "assignee_organization_id": hidden.pk,
        },
    )
    assert response.status_code == 422
    assert "assignee_organization_id" in response.json()["details"]


# --- the sweep: reminders and escalation ---------------------------------------------------


@pytest.fixture
def station_task(world):
    """A township task, given to the township station, acknowledged, due in two hours."""
    station = make_organization(world.township, name="柯岩街道应急管理站")
    worker = make_account(world.township, Role.STATION_STAFF, "stationworker", station)
    task = assign(
        world, organization=station, region=world.township, due_at=timezone.now() + 2 * HOUR
    )
    services.acknowledge_task(actor=worker, task=task)
    return task


def age(task, delta):
    """Let `delta` pass for this task: move its stored times back (there is no clock to fake)."""
    task.refresh_from_db()
    SupervisedTask.objects.filter(pk=task.pk).update(
        created_at=task.created_at - delta,
        respond_by=task.respond_by - delta,
        due_at=task.due_at - delta,
        next_remind_at=task.next_remind_at - delta,
    )
    task.refresh_from_db()


def test_overdue_task_escalates_once_and_the_superior_sees_it(world, station_task, settings):
    settings.FRONTLINE_TASK_REMIND_MINUTES = 60
    task = station_task
    age(task, 2 * HOUR + timedelta(minutes=1))
    first = services.escalate_overdue_tasks()
    second = services.escalate_overdue_tasks()  # a second worker, or a rerun
    later = services.escalate_overdue_tasks(now=timezone.now() + timedelta(minutes=30))
    assert first["escalated"] == 1 and second["escalated"] == 0 and later["escalated"] == 0
    task.refresh_from_db()
    assert task.escalation_level == 1 and task.escalated_to == world.county
    assert timezone.now() + timedelta(minutes=59) < task.next_remind_at <= timezone.now() + HOUR
    assert kinds(task).count("escalated") == 1
    event = task.events.get(kind="escalated")
    assert event.actor is None and "已升级至柯桥区" in event.note

    notes = Notification.objects.filter(kind="task_escalated", channel="in_app")
    assert list(notes.values_list("recipient", flat=True)) == [world.parent.pk]
    assert notes.get().urgent
    assert Notification.objects.filter(kind="task_overdue", recipient__username="stationworker")

    # 我督办的: the county administrator sees it first, flagged as escalated to them.
    response = world.client_for(world.parent).get("/tasks/supervised/")
    rows = list(response.context["page"])
    assert rows[0].pk == task.pk and rows[0].escalated_to_me and rows[0].overdue
    assert "升级给我" in response.content.decode()
    only_mine = world.client_for(world.parent).get("/tasks/supervised/?escalated=1")
    assert [t.pk for t in only_mine.context["page"]] == [task.pk]
    # The township staff supervise it too, but it was not escalated to them.
    same_rows = list(world.client_for(world.same).get("/tasks/supervised/").context["page"])
    assert same_rows[0].pk == task.pk and not same_rows[0].escalated_to_me
    # And the API shows the escalation.
    detail = world.client_for(world.parent).get(f"/api/v1/tasks/{task.pk}").json()
    assert detail["escalation_level"] == 1 and detail["escalated_to_code"] == world.county.code
    assert detail["is_overdue"]


def test_escalation_climbs_one_level_per_interval_and_stops_at_the_top(world, team):
    committee, worker, _ = team
    task = assign(world, organization=committee, due_at=timezone.now() + 2 * HOUR)
    services.acknowledge_task(actor=worker, task=task)
    now = task.due_at + timedelta(minutes=1)
    for step in range(4):
        services.escalate_overdue_tasks(now=now + step * HOUR)
    task.refresh_from_db()
    # village → township → county, then the county is reminded again.
    assert task.escalation_level == 2 and task.escalated_to == world.county
    assert kinds(task)[-4:] == ["escalated", "escalated", "reminded", "reminded"]
    township_notes = Notification.objects.filter(kind="task_escalated", recipient=world.same)
    assert township_notes.count() == 1
    assert Notification.objects.filter(kind="task_escalated", recipient=world.parent).count() == 3


def test_unanswered_task_escalates_when_respond_by_passes(world, team):
    committee, worker, _ = team
    task = assign(world, organization=committee, respond_by=timezone.now() + HOUR)
    assert services.escalate_overdue_tasks(now=task.respond_by - timedelta(minutes=1)) == {
        "escalated": 0,
        "reminded": 0,
        "skipped": 0,
    }
    result = services.escalate_overdue_tasks(now=task.respond_by + timedelta(minutes=1))
    assert result["escalated"] == 1
    task.refresh_from_db()
    assert task.escalated_to == world.township and task.state == TaskState.ASSIGNED
    event = task.events.get(kind="escalated")
    assert "未签收" in event.note and event.data["reason"] == "unanswered"
    assert Notification.objects.filter(kind="task_escalated", recipient=world.same).exists()
    # Acknowledging puts the task back on its deadline schedule.
    services.acknowledge_task(actor=worker, task=task)
    task.refresh_from_db()
    assert task.next_remind_at == task.due_at - HOUR


def test_one_reminder_before_the_deadline(world, team, settings):
    settings.FRONTLINE_TASK_LEAD_MINUTES = 30
    committee, worker, _ = team
    task = assign(world, organization=committee, due_at=timezone.now() + 3 * HOUR)
    services.acknowledge_task(actor=worker, task=task)
    task.refresh_from_db()
    assert task.next_remind_at == task.due_at - timedelta(minutes=30)
    now = task.next_remind_at + timedelta(seconds=5)
    assert services.escalate_overdue_tasks(now=now)["reminded"] == 1
    assert services.escalate_overdue_tasks(now=now)["reminded"] == 0
    task.refresh_from_db()
    assert task.next_remind_at == task.due_at and task.escalation_level == 0
    assert Notification.objects.filter(kind="task_due_soon", recipient=worker).count() == 1


def test_finished_tasks_are_left_alone(world, team):
    committee, worker, _ = team
    task = assign(world, organization=committee, due_at=timezone.now() + 2 * HOUR)
    services.acknowledge_task(actor=worker, task=task)
    services.complete_task(actor=worker, task=task, note="完成")
    task.refresh_from_db()
    assert task.next_remind_at is None
    assert services.escalate_overdue_tasks(now=task.due_at + 10 * HOUR)["escalated"] == 0


def test_the_sweep_is_registered_with_the_worker():
    from frontline.core import tasks_supervision  # noqa: F401
    from frontline.core.worker import SWEEPS

    assert SWEEPS["escalate_overdue_tasks"].minutes == 1


# --- pages ---------------------------------------------------------------------------------


def test_my_tasks_page_lists_tasks_of_my_unit(world, team):
    committee, _worker, colleague = team
    task = assign(world, organization=committee)
    response = world.client_for(colleague).get("/tasks/")
    assert response.status_code == 200
    assert [t.pk for t in response.context["page"]] == [task.pk]
    assert task.title in response.content.decode()
    # The supervisor's 我的任务 is empty; their 我督办的 has it.
    assert list(world.client_for(world.same).get("/tasks/").context["page"]) == []


def test_detail_page_shows_stepper_countdown_and_only_allowed_actions(world, team):
    committee, worker, _ = team
    task = assign(world, organization=committee)
    page = world.client_for(worker).get(f"/tasks/{task.pk}/")
    html = page.content.decode()
    assert [s.status for s in page.context["steps"]] == ["current", "todo", "todo", "todo", "todo"]
    assert "剩余" in html
    assert [a["name"] for a in page.context["actions"]] == ["acknowledge"]
    assert f'action="/tasks/{task.pk}/acknowledge/"' in html
    assert f"/tasks/{task.pk}/verify/" not in html


def test_actions_through_the_pages(world, team):
    committee, worker, _ = team
    task = assign(world, organization=committee)
    client = world.client_for(worker)
    response = client.post(f"/tasks/{task.pk}/acknowledge/", {"note": "收到"})
    assert response.status_code == 302
    # A step the state does not allow: 409 and the reason on the page.
    refused = client.post(f"/tasks/{task.pk}/acknowledge/")
    assert refused.status_code == 409
    assert "任务已签收，不能签收" in refused.content.decode()
    missing = client.post(f"/tasks/{task.pk}/complete/", {"note": ""})
    assert missing.status_code == 422
    client.post(f"/tasks/{task.pk}/complete/", {"note": "已清理"})
    page = world.client_for(world.same).get(f"/tasks/{task.pk}/")
    assert [s.status for s in page.context["steps"]] == [
        "done",
        "done",
        "skipped",
        "current",
        "todo",
    ]
    extend = world.client_for(world.same).post(
        f"/tasks/{task.pk}/return/", {"reason": "不合格", "due_at": "2099-01-01T10:00"}
    )
    assert extend.status_code == 302
    task.refresh_from_db()
    assert task.state == TaskState.RETURNED
    assert timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M") == "2099-01-01 10:00"
    assert world.client_for(world.same).post(f"/tasks/{task.pk}/nonsense/").status_code == 404
    assert world.client_for(world.sibling).post(f"/tasks/{task.pk}/verify/").status_code == 404


def test_create_page(world, team):
    committee, _worker, _ = team
    client = world.client_for(world.same)
    assert client.get("/tasks/new/").status_code == 200
    response = client.post(
        "/tasks/new/",
        {
            "title": "排查独居老人烟感",
            "priority": "normal",
            "region": world.village.code,
            "assignee_organization": committee.pk,
            "due_at": "2099-01-01T10:00",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    task = SupervisedTask.objects.get(title="排查独居老人烟感")
    assert response["Location"] == f"/tasks/{task.pk}/"
    empty = client.post(
        "/tasks/new/",
        {
            "title": "x",
            "priority": "normal",
            "region": world.village.code,
            "due_at": "2099-01-01T10:00",
        },
    )
    assert empty.status_code == 422
    assert world.client_for(world.grid_worker).get("/tasks/new/").status_code == 200
    leader = make_account(world.county, Role.LEADER, "leader")
    assert world.client_for(leader).get("/tasks/new/").status_code == 403


# --- query counts --------------------------------------------------------------------------


def _many(world, team, count=30):
    committee, worker, _ = team
    for index in range(count):
        task = assign(world, organization=committee, title=f"任务{index}")
        if index % 3 == 0:
            services.acknowledge_task(actor=worker, task=task)


def test_api_list_has_no_n_plus_one(world, team, django_assert_max_num_queries):
    _many(world, team)
    client = world.client_for(world.parent)
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/tasks?page_size=100")
    assert response.json()["count"] == 30
    with django_assert_max_num_queries(8):
        response = client.get(
            f"/api/v1/tasks?mine=supervised&overdue=false&region={world.village.code}"
        )
    assert response.json()["count"] == 30


def test_api_detail_query_count(world, team, django_assert_max_num_queries):
    committee, worker, _ = team
    task = assign(world, organization=committee)
    services.acknowledge_task(actor=worker, task=task)
    services.complete_task(actor=worker, task=task, note="完成")
    client = world.client_for(world.parent)
    with django_assert_max_num_queries(8):
        response = client.get(f"/api/v1/tasks/{task.pk}")
    assert len(response.json()["timeline"]) == 3


@pytest.mark.parametrize("url", ["/tasks/", "/tasks/supervised/"])
def test_pages_have_no_n_plus_one(world, team, url, django_assert_max_num_queries):
    _many(world, team)
    user = world.parent if "supervised" in url else team[1]
    client = world.client_for(user)
    client.get("/")  # warm the demo flag cache
    with django_assert_max_num_queries(10):
        response = client.get(url)
    assert len(response.context["page"].object_list) == 30


def test_detail_page_query_count(world, team, django_assert_max_num_queries):
    committee, worker, _ = team
    task = assign(world, organization=committee)
    services.acknowledge_task(actor=worker, task=task)
    services.complete_task(actor=worker, task=task, note="完成")
    client = world.client_for(world.same)
    client.get("/")
    with django_assert_max_num_queries(12):
        response = client.get(f"/tasks/{task.pk}/")
    assert len(response.context["events"]) == 3
