"""The hazard loop as services: 发现 → 确认 → 管控 → 整改 → 待验收 → 核销 and its side paths."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from frontline.core import services as core_services
from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.models import Notification, SupervisedTask, TaskState
from frontline.core.roles import Role
from frontline.core.testing import PASSWORD, make_organization, make_person, make_user
from frontline.core.worker import SWEEPS
from frontline.hazards import services
from frontline.hazards.models import Hazard, HazardLevel, HazardState
from frontline.hazards.services.escalation import (
    escalate_overdue_hazards,
)
from frontline.hazards.services.loop_rules import (
    TRANSITIONS,
    allowed_actions,
    supervising_region,
)
from frontline.hazards.testing import make_hazard
from frontline.hazards.tests.conftest import after_photo

pytestmark = pytest.mark.usefixtures("media_root", "clear_cache")


@pytest.fixture
def people(world):
    """The station chief, and the enterprise's safety officer who rectifies."""
    return {
        "chief": make_user(Role.STATION_CHIEF, world.township, "chief"),
        "rectifier": make_user(Role.ENTERPRISE_OFFICER, world.village, "rectifier"),
    }


def confirmed(world, level=HazardLevel.GENERAL, **kw):
    hazard = make_hazard(world.grid, actor=world.grid_worker)
    return services.confirm_hazard(
        actor=world.same,
        hazard=hazard,
        level=level,
        level_basis=kw.pop("level_basis", "《重大事故隐患判定标准》第三条"),
        responsible_person=kw.pop("responsible_person", "王厂长"),
        **kw,
    )


def kinds(hazard) -> list[str]:
    return list(hazard.events.order_by("at", "id").values_list("kind", flat=True))


def test_general_hazard_goes_round_the_whole_loop(world, people):
    hazard = make_hazard(world.grid, actor=world.grid_worker)
    assert allowed_actions(world.grid_worker, hazard) == []
    assert set(allowed_actions(world.same, hazard)) == {"confirm", "reject"}

    before = timezone.now()
    services.confirm_hazard(
        actor=world.same,
        hazard=hazard,
        level=HazardLevel.GENERAL,
        responsible_person="王厂长",
    )
    assert hazard.state == HazardState.CONFIRMED
    # The default deadline of a general hazard is 15 days, and the sweep will look then.
    assert timedelta(days=15) <= hazard.due_at - before < timedelta(days=15, minutes=1)
    assert hazard.next_remind_at == hazard.due_at
    assert Notification.objects.filter(recipient=world.grid_worker, kind="hazard_confirmed")

    services.control_hazard(actor=people["rectifier"], hazard=hazard, measures="设置警戒线")
    services.start_rectification(actor=people["rectifier"], hazard=hazard)
    assert hazard.state == HazardState.RECTIFYING
    photo = after_photo(hazard, people["rectifier"])
    services.report_rectified(
        actor=people["rectifier"], hazard=hazard, note="已清理通道", after_photo_ids=[photo.pk]
    )
    assert hazard.state == HazardState.PENDING_VERIFICATION
    assert hazard.rectifier == people["rectifier"]
    assert hazard.verify_due_at - hazard.rectified_at == timedelta(days=10)
    assert hazard.next_remind_at == hazard.verify_due_at
    assert Notification.objects.filter(recipient=world.same, kind="hazard_rectified").exists()

    services.verify_hazard(actor=people["chief"], hazard=hazard, note="现场核实已整改")
    hazard.refresh_from_db()
    assert hazard.state == HazardState.CLOSED
    assert hazard.verifier == people["chief"]
    assert hazard.closed_at is not None and hazard.next_remind_at is None
    assert kinds(hazard) == [
        "reported",
        "confirmed",
        "controlled",
        "rectification_started",
        "rectified",
        "closed",
    ]
    rectified = hazard.events.get(kind="rectified")
    assert rectified.data["after_photo_ids"] == [photo.pk]
    assert (rectified.from_state, rectified.to_state) == ("rectifying", "pending_verification")
    assert Notification.objects.filter(recipient=world.grid_worker, kind="hazard_closed")


def test_a_general_hazard_may_be_rectified_at_once_after_confirmation(world, people):
    hazard = confirmed(world)
    photo = after_photo(hazard, people["rectifier"])
    services.report_rectified(
        actor=people["rectifier"], hazard=hazard, note="当场整改", after_photo_ids=[photo.pk]
    )
    assert hazard.state == HazardState.PENDING_VERIFICATION


def test_reject_from_found_only_with_a_reason(world):
    hazard = make_hazard(world.grid, actor=world.grid_worker)
    with pytest.raises(InvalidInput) as error:
        services.reject_hazard(actor=world.same, hazard=hazard, reason=" ")
    assert "reason" in error.value.details
    services.reject_hazard(actor=world.same, hazard=hazard, reason="重复上报")
    assert hazard.state == HazardState.REJECTED
    assert not hazard.is_open and hazard.closed_at is None  # not 核销: ledgers count that
    assert Notification.objects.filter(recipient=world.grid_worker, kind="hazard_rejected")


def test_illegal_transitions_are_refused_in_chinese(world, people):
    hazard = make_hazard(world.grid, actor=world.grid_worker)
    with pytest.raises(DomainError) as error:
        services.start_rectification(actor=world.same, hazard=hazard)
    assert error.value.code == "illegal_transition" and error.value.status == 409
    assert "隐患当前为「发现」，不能开始整改" in str(error.value.message)
    assert error.value.details["allowed"] == ["confirm", "reject"]
    services.reject_hazard(actor=world.same, hazard=hazard, reason="不属实")
    with pytest.raises(DomainError) as error:
        services.confirm_hazard(
            actor=world.same, hazard=hazard, level="general", responsible_person="王"
        )
    assert error.value.code == "illegal_transition"
    with pytest.raises(DomainError):
        services.verify_hazard(actor=people["chief"], hazard=confirmed(world))
    assert kinds(hazard) == ["reported", "rejected"]


def test_only_the_station_confirms(world):
    hazard = make_hazard(world.grid, actor=world.grid_worker)
    for actor in (world.grid_worker, world.sibling, make_user(Role.LEADER, world.county)):
        with pytest.raises(PermissionDenied):
            services.confirm_hazard(
                actor=actor, hazard=hazard, level="general", responsible_person="王"
            )
    services.confirm_hazard(
        actor=world.parent, hazard=hazard, level="general", responsible_person="王"
    )
    assert hazard.state == HazardState.CONFIRMED


def test_deadlines_in_the_past_or_beyond_90_days_are_refused(world):
    hazard = make_hazard(world.grid, actor=world.grid_worker)
    for due_at in (timezone.now() - timedelta(hours=1), timezone.now() + timedelta(days=91)):
        with pytest.raises(InvalidInput) as error:
            services.confirm_hazard(
                actor=world.same,
                hazard=hazard,
                level="general",
                responsible_person="王",
                due_at=due_at,
            )
        assert "due_at" in error.value.details
    hazard.refresh_from_db()
    assert hazard.state == HazardState.FOUND and hazard.due_at is None
    due_at = timezone.now() + timedelta(days=5)
    services.confirm_hazard(
        actor=world.same, hazard=hazard, level="general", responsible_person="王", due_at=due_at
    )
    assert hazard.due_at == due_at


def test_major_hazard_defaults_to_60_days_and_needs_a_basis(world):
    hazard = make_hazard(world.grid, actor=world.grid_worker)
    with pytest.raises(InvalidInput) as error:
        services.confirm_hazard(
            actor=world.same, hazard=hazard, level="major", responsible_person="王"
        )
    assert set(error.value.details) == {"level_basis"}
    hazard = confirmed(world, level=HazardLevel.MAJOR)
    assert timedelta(days=59, hours=23) < hazard.due_at - hazard.confirmed_at <= timedelta(days=60)


def test_verifier_is_not_the_rectifier(world, people):
    hazard = confirmed(world)
    photo = after_photo(hazard, world.same)
    services.report_rectified(
        actor=world.same, hazard=hazard, note="自己整改", after_photo_ids=[photo.pk]
    )
    assert "verify" not in allowed_actions(world.same, hazard)
    with pytest.raises(DomainError) as error:
        services.verify_hazard(actor=world.same, hazard=hazard)
    assert error.value.code == "verifier_is_rectifier"
    assert "验收人不能是整改人" in str(error.value.message)
    hazard.refresh_from_db()
    assert hazard.state == HazardState.PENDING_VERIFICATION
    services.verify_hazard(actor=people["chief"], hazard=hazard)
    assert hazard.state == HazardState.CLOSED


def test_close_without_after_photos_is_refused_and_nothing_changes(world, people):
    hazard = confirmed(world)
    other = confirmed(world)
    foreign = after_photo(other, people["rectifier"])
    events = hazard.events.count()
    for ids in ([], [foreign.pk], [999_999]):
        with pytest.raises(InvalidInput) as error:
            services.report_rectified(
                actor=people["rectifier"], hazard=hazard, note="已整改", after_photo_ids=ids
            )
        assert "after_photo_ids" in error.value.details
    hazard.refresh_from_db()
    assert hazard.state == HazardState.CONFIRMED
    assert hazard.rectifier is None and hazard.rectified_at is None
    assert hazard.events.count() == events


def test_a_photo_from_before_confirmation_is_no_after_evidence(world, people):
    hazard = make_hazard(world.grid, actor=world.grid_worker)
    before = after_photo(hazard, world.grid_worker, colour="red")
    services.confirm_hazard(
        actor=world.same, hazard=hazard, level="general", responsible_person="王"
    )
    with pytest.raises(InvalidInput):
        services.report_rectified(
            actor=people["rectifier"], hazard=hazard, note="已整改", after_photo_ids=[before.pk]
        )


def test_major_hazard_needs_a_plan_and_the_supervising_level(world, people):
    hazard = confirmed(world, level=HazardLevel.MAJOR)
    assert supervising_region(hazard) == world.county
    assert "start" not in allowed_actions(world.same, hazard)
    with pytest.raises(DomainError) as error:
        services.start_rectification(actor=world.same, hazard=hazard)
    assert "治理方案" in str(error.value.message)
    photo = after_photo(hazard, people["rectifier"])
    with pytest.raises(DomainError):
        services.report_rectified(
            actor=people["rectifier"], hazard=hazard, note="已整改", after_photo_ids=[photo.pk]
        )
    with pytest.raises(InvalidInput) as error:
        services.submit_treatment_plan(
            actor=people["rectifier"],
            hazard=hazard,
            current_state="",
            danger_analysis="",
            goal="",
            measures="",
            funds=None,
            responsible_unit="",
            responsible_person="",
            time_limit=None,
            safety_measures="",
            emergency_plan="",
        )
    assert {"funds", "time_limit", "measures", "emergency_plan"} <= set(error.value.details)
    plan = services.submit_treatment_plan(
        actor=people["rectifier"],
        hazard=hazard,
        current_state="储罐区防火堤破损",
        danger_analysis="泄漏后无法围堵",
        goal="修复防火堤",
        measures="停用储罐、修复防火堤",
        funds="12.5",
        responsible_unit="某化工公司",
        responsible_person="李经理",
        time_limit=date.today() + timedelta(days=30),
        safety_measures="设置警戒、专人监护",
        emergency_plan="储罐泄漏专项应急预案",
    )
    assert str(plan.funds) == "12.50"
    services.start_rectification(actor=people["rectifier"], hazard=hazard)
    services.report_rectified(
        actor=people["rectifier"], hazard=hazard, note="已修复", after_photo_ids=[photo.pk]
    )
    # The township station may not close a major hazard; the county does, in writing.
    assert allowed_actions(people["chief"], hazard) == []
    with pytest.raises(PermissionDenied) as error:
        services.verify_hazard(actor=people["chief"], hazard=hazard, note="同意")
    assert "柯桥区" in str(error.value.message)
    with pytest.raises(InvalidInput):
        services.verify_hazard(actor=world.parent, hazard=hazard, note="")
    services.verify_hazard(actor=world.parent, hazard=hazard, note="同意恢复生产")
    assert hazard.state == HazardState.CLOSED
    assert kinds(hazard)[-4:] == ["plan_submitted", "rectification_started", "rectified", "closed"]


def test_listed_supervision_of_a_major_hazard(world):
    general = confirmed(world)
    deadline = timezone.now() + timedelta(days=30)
    with pytest.raises(DomainError) as error:
        services.list_for_supervision(
            actor=world.parent,
            hazard=general,
            supervising_region=world.county,
            document_number="柯应急督〔2026〕1号",
            deadline=deadline,
        )
    assert error.value.code == "illegal_transition"
    hazard = confirmed(world, level=HazardLevel.MAJOR)
    with pytest.raises(InvalidInput) as error:
        services.list_for_supervision(
            actor=world.parent,
            hazard=hazard,
            supervising_region=world.township,
            document_number="柯应急督〔2026〕1号",
            deadline=deadline,
        )
    assert "supervising_region" in error.value.details
    with pytest.raises(PermissionDenied):
        services.list_for_supervision(
            actor=world.same,
            hazard=hazard,
            supervising_region=world.county,
            document_number="柯应急督〔2026〕1号",
            deadline=deadline,
        )
    listed = services.list_for_supervision(
        actor=world.parent,
        hazard=hazard,
        supervising_region=world.county,
        document_number="柯应急督〔2026〕1号",
        deadline=deadline,
    )
    assert listed.hazard == hazard and supervising_region(hazard) == world.county
    assert Notification.objects.filter(recipient=world.same, kind="hazard_listed").exists()
    with pytest.raises(DomainError):
        services.list_for_supervision(
            actor=world.parent,
            hazard=hazard,
            supervising_region=world.county,
            document_number="again",
            deadline=deadline,
        )


def test_extension_flow(world, people):
    hazard = confirmed(world)
    original = hazard.due_at
    with pytest.raises(InvalidInput) as error:
        services.request_extension(
            actor=people["rectifier"],
            hazard=hazard,
            until=hazard.confirmed_at + timedelta(days=91),
            reason="材料未到",
        )
    assert "until" in error.value.details
    with pytest.raises(DomainError):
        services.approve_extension(actor=world.same, hazard=hazard)
    until = original + timedelta(days=10)
    services.request_extension(
        actor=people["rectifier"], hazard=hazard, until=until, reason="材料未到"
    )
    assert hazard.extension_requested_until == until
    assert Notification.objects.filter(recipient=world.same, kind="hazard_extension_requested")
    with pytest.raises(DomainError):
        services.request_extension(
            actor=people["rectifier"], hazard=hazard, until=until, reason="再次申请"
        )
    with pytest.raises(PermissionDenied):
        services.approve_extension(actor=people["rectifier"], hazard=hazard)
    services.deny_extension(actor=world.same, hazard=hazard, reason="可先行整改")
    assert hazard.due_at == original and hazard.extension_requested_until is None
    services.request_extension(
        actor=people["rectifier"], hazard=hazard, until=until, reason="材料仍未到"
    )
    services.approve_extension(actor=people["chief"], hazard=hazard, note="同意")
    hazard.refresh_from_db()
    assert hazard.due_at == until and hazard.next_remind_at == until
    assert Notification.objects.filter(
        recipient=people["rectifier"], kind="hazard_extension_approved"
    ).exists()
    assert kinds(hazard)[-4:] == [
        "extension_requested",
        "extension_denied",
        "extension_requested",
        "extension_approved",
    ]


def test_return_for_rework_and_rectify_again(world, people):
    hazard = confirmed(world)
    photo = after_photo(hazard, people["rectifier"])
    services.report_rectified(
        actor=people["rectifier"], hazard=hazard, note="已整改", after_photo_ids=[photo.pk]
    )
    with pytest.raises(InvalidInput):
        services.return_for_rework(actor=world.same, hazard=hazard, reason="")
    services.return_for_rework(actor=world.same, hazard=hazard, reason="灭火器仍未更换")
    assert hazard.state == HazardState.RECTIFYING
    assert hazard.verify_due_at is None and hazard.next_remind_at == hazard.due_at
    assert Notification.objects.filter(recipient=people["rectifier"], kind="hazard_returned")
    second = after_photo(hazard, people["rectifier"], colour="blue")
    services.report_rectified(
        actor=people["rectifier"], hazard=hazard, note="已更换", after_photo_ids=[second.pk]
    )
    services.verify_hazard(actor=world.same, hazard=hazard)
    assert hazard.state == HazardState.CLOSED


def test_overdue_hazard_gets_exactly_one_supervised_task(world):
    station = make_organization(world.township, name="柯岩街道应急管理站")
    person = make_person(world.township, organization=station)
    member = core_services.create_account(
        actor=None, person=person, username="member", password=PASSWORD
    )
    hazard = confirmed(world)
    later = hazard.due_at + timedelta(hours=1)
    assert escalate_overdue_hazards(now=hazard.due_at - timedelta(minutes=1))["escalated"] == 0

    first = escalate_overdue_hazards(now=later)
    second = escalate_overdue_hazards(now=later)
    assert first["escalated"] == 1 and second["escalated"] == 0
    hazard.refresh_from_db()
    task = SupervisedTask.objects.get()
    assert hazard.supervised_task == task and hazard.next_remind_at is None
    assert task.assignee_organization == station and task.state == TaskState.ASSIGNED
    assert task.subject_id == str(hazard.pk)
    assert f"/hazards/{hazard.pk}/" in task.description
    assert kinds(hazard).count("overdue") == 1
    assert Notification.objects.filter(recipient=member, kind="task_assigned").count() == 1
    assert Notification.objects.filter(recipient=world.same, kind="hazard_overdue").count() == 1
    # An extension later does not bring a second task.
    services.request_extension(
        actor=world.same, hazard=hazard, until=later + timedelta(days=5), reason="延期"
    )
    services.approve_extension(actor=world.parent, hazard=hazard)
    assert hazard.next_remind_at is None
    escalate_overdue_hazards(now=later + timedelta(days=10))
    assert SupervisedTask.objects.count() == 1


def test_closing_an_escalated_hazard_settles_its_supervised_task(world, people):
    station = make_organization(world.township, name="柯岩街道应急管理站")
    person = make_person(world.township, organization=station)
    member = core_services.create_account(
        actor=None, person=person, username="member", password=PASSWORD
    )
    hazard = confirmed(world)
    escalate_overdue_hazards(now=hazard.due_at + timedelta(hours=1))
    hazard.refresh_from_db()
    task = hazard.supervised_task
    services.start_rectification(actor=world.same, hazard=hazard)
    photo = after_photo(hazard, people["rectifier"])
    services.report_rectified(
        actor=people["rectifier"], hazard=hazard, note="已整改", after_photo_ids=[photo.pk]
    )
    task.refresh_from_db()
    assert task.state == TaskState.ASSIGNED  # reported, not yet verified: the task stays open
    services.verify_hazard(actor=world.same, hazard=hazard)
    task.refresh_from_db()
    assert task.state == TaskState.VERIFIED and task.verified_at is not None
    event = task.events.order_by("-at", "-id").first()
    assert event.actor is None and event.data["settled_by_subject"] is True
    assert hazard.number in event.note
    assert Notification.objects.filter(recipient=member, kind="task_verified").count() == 1


def test_overdue_verification_is_reminded_once(world, people):
    hazard = confirmed(world)
    photo = after_photo(hazard, people["rectifier"])
    services.report_rectified(
        actor=people["rectifier"], hazard=hazard, note="已整改", after_photo_ids=[photo.pk]
    )
    later = hazard.verify_due_at + timedelta(minutes=1)
    assert escalate_overdue_hazards(now=later)["reminded"] == 1
    assert escalate_overdue_hazards(now=later)["reminded"] == 0
    assert (
        Notification.objects.filter(kind="hazard_verify_overdue", recipient=world.same).count() == 1
    )
    assert not SupervisedTask.objects.exists()


def test_the_sweep_is_registered_every_five_minutes():
    import frontline.hazards.tasks  # noqa: F401

    assert SWEEPS["escalate_overdue_hazards"].minutes == 5


def test_every_transition_names_its_states():
    states = set(HazardState.values)
    for name, transition in TRANSITIONS.items():
        assert set(transition.sources) <= states, name
        assert transition.target is None or transition.target in states, name
    assert Hazard.objects.model is Hazard
