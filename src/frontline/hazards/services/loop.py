"""The closed loop of a hazard (事故隐患闭环): 发现 → 确认 → 管控 → 整改 → 待验收 → 核销.

Side paths: 不予认定 (from 发现), 退回整改 (from 待验收), 延期申请 / 批准 / 不批准,
重大隐患治理方案 (五到位, required before a major hazard's rectification starts) and
挂牌督办 (listed supervision of a major hazard).

Every step is one service: keyword-only, `actor=`, one transaction, a guard read from the
single `TRANSITIONS` table, a `HazardEvent`, notifications queued in the same transaction
and the next reminder stored in `next_remind_at`. An illegal step raises `DomainError`
(code "illegal_transition", HTTP 409) with a Chinese reason.

Deadlines (see docs/hazards.md): rectification due 15 days after confirmation for a general
hazard and 60 days for a major one unless the confirmer sets another date; never more than
90 days after confirmation, extensions included. Verification is due 10 days after the
rectification is reported. All four figures are settings.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.core.errors import DomainError, PermissionDenied
from frontline.core.models import (
    Attachment,
    AttachmentKind,
    Region,
)
from frontline.core.roles import Capability, can
from frontline.core.services.supervision import settle_task
from frontline.core.services.validation import Cleaner
from frontline.hazards.models import (
    Hazard,
    HazardLevel,
    HazardState,
    ListedSupervision,
    TreatmentPlan,
)
from frontline.hazards.services.loop_rules import (
    _check_deadline,
    _guard,
    _illegal,
    _local,
    _move,
    _notify,
    _users,
    default_due_days,
    listed_of,
    plan_of,
    station_users,
    township_of,
    verifier_users,
    verify_window,
)

# --- services ------------------------------------------------------------------------------


@transaction.atomic
def confirm_hazard(
    *,
    actor,
    hazard: Hazard,
    level: str,
    responsible_person: str,
    level_basis: str = "",
    due_at: datetime | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Hazard:
    """确认定级: the station grades the hazard, names who answers for its rectification and
    sets the deadline (default per level; never in the past, never beyond 90 days)."""
    now = now or timezone.now()
    transition = _guard(actor, hazard, "confirm")
    cleaner = Cleaner()
    level = cleaner.choice(level, "level", HazardLevel)
    level_basis = cleaner.text(
        level_basis, "level_basis", required=level == HazardLevel.MAJOR, max_length=300
    )
    responsible_person = cleaner.text(
        responsible_person, "responsible_person", required=True, max_length=50
    )
    note = cleaner.text(note, "note", required=False, max_length=2000)
    due_at = _check_deadline(due_at, "due_at", now=now, start=now, cleaner=cleaner)
    cleaner.done()
    hazard.level = level
    hazard.level_basis = level_basis
    hazard.responsible_person = responsible_person
    hazard.confirmed_at = now
    hazard.due_at = due_at or now + default_due_days(level)
    _move(
        actor,
        hazard,
        transition,
        note=note,
        level=level,
        level_basis=level_basis,
        responsible_person=responsible_person,
        due_at=hazard.due_at.isoformat(),
    )
    _notify(
        [*_users(hazard.reported_by_id), *station_users(hazard.region)],
        actor,
        hazard,
        "hazard_confirmed",
        _("隐患已确认（%(level)s）：%(title)s"),
        _("编号 %(number)s，整改责任人 %(person)s，整改期限 %(due)s。")
        % {"number": hazard.number, "person": responsible_person, "due": _local(hazard.due_at)},
        values={"level": hazard.get_level_display()},
        urgent=hazard.is_major,
    )
    return hazard


@transaction.atomic
def reject_hazard(*, actor, hazard: Hazard, reason: str) -> Hazard:
    """不予认定: the report is not a hazard (already removed, a duplicate, not a safety
    matter). The reason is required and goes back to the reporter."""
    transition = _guard(actor, hazard, "reject")
    cleaner = Cleaner()
    reason = cleaner.text(reason, "reason", required=True, max_length=2000)
    cleaner.done()
    _move(actor, hazard, transition, note=reason)
    _notify(
        _users(hazard.reported_by_id),
        actor,
        hazard,
        "hazard_rejected",
        _("上报的隐患不予认定：%(title)s"),
        reason,
    )
    return hazard


@transaction.atomic
def control_hazard(*, actor, hazard: Hazard, measures: str) -> Hazard:
    """管控 (optional step): interim measures while rectification is prepared."""
    transition = _guard(actor, hazard, "control")
    cleaner = Cleaner()
    measures = cleaner.text(measures, "measures", required=True, max_length=2000)
    cleaner.done()
    _move(actor, hazard, transition, note=measures)
    _notify(
        station_users(hazard.region),
        actor,
        hazard,
        "hazard_controlled",
        _("隐患已采取管控措施：%(title)s"),
        measures,
    )
    return hazard


PLAN_TEXT_FIELDS = {
    "current_state": 5000,
    "danger_analysis": 5000,
    "goal": 5000,
    "measures": 5000,
    "responsible_unit": 100,
    "responsible_person": 50,
    "safety_measures": 5000,
    "emergency_plan": 5000,
}


@transaction.atomic
def submit_treatment_plan(
    *,
    actor,
    hazard: Hazard,
    current_state: str,
    danger_analysis: str,
    goal: str,
    measures: str,
    funds,
    responsible_unit: str,
    responsible_person: str,
    time_limit,
    safety_measures: str,
    emergency_plan: str,
) -> TreatmentPlan:
    """重大隐患治理方案 (五到位: measures, funds, deadline, responsible person, emergency plan),
    required before a major hazard's rectification starts. The time limit lies within the
    hazard's deadline."""
    transition = _guard(actor, hazard, "plan")
    if plan_of(hazard) is not None:
        raise DomainError(_("该隐患已有治理方案"), code="plan_exists")
    cleaner = Cleaner()
    texts = {
        name: cleaner.text(value, name, required=True, max_length=PLAN_TEXT_FIELDS[name])
        for name, value in (
            ("current_state", current_state),
            ("danger_analysis", danger_analysis),
            ("goal", goal),
            ("measures", measures),
            ("responsible_unit", responsible_unit),
            ("responsible_person", responsible_person),
            ("safety_measures", safety_measures),
            ("emergency_plan", emergency_plan),
        )
    }
    amount = None
    try:
        amount = Decimal(str(funds)) if funds not in (None, "") else None
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite():
        cleaner.fail("funds", _("请填写治理经费（万元）"))
    elif amount < 0 or amount >= Decimal("1e10"):
        cleaner.fail("funds", _("经费金额不正确"))
    if time_limit is None:
        cleaner.fail("time_limit", _("此字段为必填项"))
    elif hazard.due_at is not None and time_limit > timezone.localtime(hazard.due_at).date():
        cleaner.fail(
            "time_limit",
            _("治理时限不能晚于整改期限（%(due)s）") % {"due": _local(hazard.due_at)},
        )
    cleaner.done()
    plan = TreatmentPlan.objects.create(
        hazard=hazard,
        funds=amount.quantize(Decimal("0.01")),
        time_limit=time_limit,
        approved_at=timezone.now(),
        **texts,
    )
    hazard.treatment_plan = plan
    _move(
        actor,
        hazard,
        transition,
        note=texts["measures"],
        funds=str(plan.funds),
        time_limit=time_limit.isoformat(),
        responsible_unit=texts["responsible_unit"],
        responsible_person=texts["responsible_person"],
    )
    _notify(
        verifier_users(hazard),
        actor,
        hazard,
        "hazard_plan_submitted",
        _("重大隐患治理方案已提交：%(title)s"),
        texts["goal"],
    )
    return plan


@transaction.atomic
def start_rectification(*, actor, hazard: Hazard, note: str = "") -> Hazard:
    """整改: work begins. A major hazard needs its treatment plan first."""
    transition = _guard(actor, hazard, "start")
    if hazard.is_major and plan_of(hazard) is None:
        raise _illegal(hazard, transition, _("重大隐患须先提交治理方案（五到位）才能开始整改"))
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=False, max_length=2000)
    cleaner.done()
    _move(actor, hazard, transition, note=note)
    return hazard


@transaction.atomic
def request_extension(*, actor, hazard: Hazard, until: datetime, reason: str) -> Hazard:
    """延期申请: the rectifying side asks for a later deadline, at most 90 days after
    confirmation. The station decides."""
    now = timezone.now()
    transition = _guard(actor, hazard, "request-extension")
    if hazard.extension_requested_until is not None:
        raise _illegal(hazard, transition, _("已有待审批的延期申请"))
    cleaner = Cleaner()
    reason = cleaner.text(reason, "reason", required=True, max_length=300)
    if until is None:
        cleaner.fail("until", _("此字段为必填项"))
    until = _check_deadline(
        until, "until", now=now, start=hazard.confirmed_at or now, cleaner=cleaner
    )
    if until is not None and hazard.due_at is not None and until <= hazard.due_at:
        cleaner.fail("until", _("延期后的期限应晚于原整改期限"))
    cleaner.done()
    hazard.extension_requested_until = until
    hazard.extension_reason = reason
    _move(actor, hazard, transition, note=reason, until=until.isoformat())
    _notify(
        station_users(hazard.region),
        actor,
        hazard,
        "hazard_extension_requested",
        _("隐患整改申请延期，待审批：%(title)s"),
        _("申请延期至 %(until)s。%(reason)s") % {"until": _local(until), "reason": reason},
    )
    return hazard


def _requester_id(hazard: Hazard) -> int | None:
    return (
        hazard.events.filter(kind="extension_requested")
        .order_by("-at", "-id")
        .values_list("actor_id", flat=True)
        .first()
    )


@transaction.atomic
def approve_extension(*, actor, hazard: Hazard, note: str = "") -> Hazard:
    """批准延期: the requested date becomes the deadline."""
    transition = _guard(actor, hazard, "approve-extension")
    if hazard.extension_requested_until is None:
        raise _illegal(hazard, transition, _("没有待审批的延期申请"))
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=False, max_length=2000)
    cleaner.done()
    old_due = hazard.due_at
    hazard.due_at = hazard.extension_requested_until
    hazard.extension_requested_until = None
    _move(
        actor,
        hazard,
        transition,
        note=note,
        old_due_at=old_due.isoformat() if old_due else None,
        due_at=hazard.due_at.isoformat(),
    )
    _notify(
        _users(_requester_id(hazard)),
        actor,
        hazard,
        "hazard_extension_approved",
        _("隐患整改延期已批准：%(title)s"),
        _("新的整改期限：%(due)s。") % {"due": _local(hazard.due_at)},
    )
    return hazard


@transaction.atomic
def deny_extension(*, actor, hazard: Hazard, reason: str) -> Hazard:
    """不批准延期: the deadline stays; the reason goes back to the requester."""
    transition = _guard(actor, hazard, "deny-extension")
    if hazard.extension_requested_until is None:
        raise _illegal(hazard, transition, _("没有待审批的延期申请"))
    cleaner = Cleaner()
    reason = cleaner.text(reason, "reason", required=True, max_length=2000)
    cleaner.done()
    requested = hazard.extension_requested_until
    hazard.extension_requested_until = None
    _move(actor, hazard, transition, note=reason, requested_until=requested.isoformat())
    _notify(
        _users(_requester_id(hazard)),
        actor,
        hazard,
        "hazard_extension_denied",
        _("隐患整改延期未获批准：%(title)s"),
        reason,
    )
    return hazard


def _after_photos(hazard: Hazard, photo_ids, cleaner: Cleaner) -> list[int]:
    """The after-evidence: image attachments of this hazard, uploaded after it was confirmed
    (a photo from before is not evidence of the rectification)."""
    ids: list[int] = []
    for value in photo_ids or []:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            cleaner.fail("after_photo_ids", _("照片编号不正确"))
            return []
    ids = sorted(set(ids))
    if not ids:
        cleaner.fail("after_photo_ids", _("请上传至少一张整改后的现场照片"))
        return []
    photos = Attachment.objects.filter(
        pk__in=ids,
        owner_type=ContentType.objects.get_for_model(Hazard),
        owner_id=str(hazard.pk),
        kind=AttachmentKind.IMAGE,
    )
    if hazard.confirmed_at is not None:
        photos = photos.filter(uploaded_at__gte=hazard.confirmed_at)
    found = set(photos.values_list("pk", flat=True))
    if found != set(ids):
        cleaner.fail(
            "after_photo_ids",
            _("整改后照片须为本隐患在确认之后上传的图片附件"),
        )
    return ids


@transaction.atomic
def report_rectified(
    *, actor, hazard: Hazard, note: str, after_photo_ids, now: datetime | None = None
) -> Hazard:
    """整改完成 → 待验收: says what was done, with at least one photo taken after. The
    reporter is recorded as the rectifier (who may then not verify). Verification is due
    within 10 days."""
    now = now or timezone.now()
    transition = _guard(actor, hazard, "rectified")
    if hazard.is_major and hazard.state != HazardState.RECTIFYING:
        raise _illegal(hazard, transition, _("重大隐患须按治理方案开始整改后才能报告整改完成"))
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=True, max_length=2000)
    ids = _after_photos(hazard, after_photo_ids, cleaner)
    cleaner.done()
    hazard.rectifier = actor if getattr(actor, "pk", None) else None
    hazard.rectified_at = now
    hazard.verify_due_at = now + verify_window()
    hazard.extension_requested_until = None
    _move(
        actor,
        hazard,
        transition,
        note=note,
        after_photo_ids=ids,
        verify_due_at=hazard.verify_due_at.isoformat(),
    )
    _notify(
        verifier_users(hazard),
        actor,
        hazard,
        "hazard_rectified",
        _("隐患已整改，待验收：%(title)s"),
        _("编号 %(number)s，请于 %(due)s 前验收。")
        % {"number": hazard.number, "due": _local(hazard.verify_due_at)},
        urgent=hazard.is_major,
    )
    return hazard


@transaction.atomic
def verify_hazard(*, actor, hazard: Hazard, note: str = "") -> Hazard:
    """验收核销: the verifier accepts the rectification and closes the hazard. Whoever
    rectified does not verify; a major hazard is closed by the supervising level, with its
    written opinion (resuming production) as the note."""
    transition = _guard(actor, hazard, "verify")
    if actor is not None and hazard.rectifier_id == actor.pk:
        raise DomainError(_("验收人不能是整改人：谁整改，谁不验收"), code="verifier_is_rectifier")
    cleaner = Cleaner()
    note = cleaner.text(note, "note", required=hazard.is_major, max_length=2000)
    cleaner.done()
    now = timezone.now()
    hazard.verifier = actor if getattr(actor, "pk", None) else None
    hazard.closed_at = now
    listed = listed_of(hazard)
    if listed is not None and listed.lifted_at is None:
        listed.lifted_at = now
        listed.save(update_fields=["lifted_at"])
    _move(actor, hazard, transition, note=note, late=hazard.is_overdue(now) or None)
    if hazard.supervised_task_id is not None:
        # The task chased this hazard's overdue rectification; the closure settles it.
        settle_task(
            task=hazard.supervised_task,
            note=_("隐患 %(number)s 已验收核销") % {"number": hazard.number},
        )
    _notify(
        _users(hazard.reported_by_id, hazard.rectifier_id),
        actor,
        hazard,
        "hazard_closed",
        _("隐患已验收核销：%(title)s"),
        note,
    )
    return hazard


@transaction.atomic
def return_for_rework(
    *, actor, hazard: Hazard, reason: str, due_at: datetime | None = None
) -> Hazard:
    """退回整改: the verifier does not accept the work; back to 整改 with the reason (and,
    when the deadline has passed, perhaps a new one within the 90 days)."""
    now = timezone.now()
    transition = _guard(actor, hazard, "return")
    cleaner = Cleaner()
    reason = cleaner.text(reason, "reason", required=True, max_length=2000)
    due_at = _check_deadline(
        due_at, "due_at", now=now, start=hazard.confirmed_at or now, cleaner=cleaner
    )
    cleaner.done()
    rectifier_id = hazard.rectifier_id
    old_due = hazard.due_at
    if due_at is not None:
        hazard.due_at = due_at
    hazard.rectified_at = None
    hazard.verify_due_at = None
    _move(
        actor,
        hazard,
        transition,
        note=reason,
        old_due_at=old_due.isoformat() if due_at and old_due else None,
        due_at=due_at.isoformat() if due_at else None,
    )
    _notify(
        _users(rectifier_id),
        actor,
        hazard,
        "hazard_returned",
        _("隐患整改被退回：%(title)s"),
        reason,
    )
    return hazard


@transaction.atomic
def list_for_supervision(
    *,
    actor,
    hazard: Hazard,
    supervising_region: Region,
    document_number: str,
    deadline: datetime,
) -> ListedSupervision:
    """挂牌督办 of a major hazard by a government level above its township: that level
    then closes it. The deadline lies within 90 days of confirmation."""
    now = timezone.now()
    transition = _guard(actor, hazard, "list")
    if listed_of(hazard) is not None:
        raise DomainError(_("该隐患已挂牌督办"), code="already_listed")
    cleaner = Cleaner()
    document_number = cleaner.text(document_number, "document_number", required=True, max_length=60)
    township = township_of(hazard.region)
    if supervising_region is None:
        cleaner.fail("supervising_region", _("此字段为必填项"))
    elif supervising_region.pk == township.pk or not township.path.startswith(
        supervising_region.path
    ):
        cleaner.fail("supervising_region", _("督办层级应为隐患所在乡镇（街道）的上级"))
    elif actor is not None and not can(actor, Capability.EDIT, supervising_region):
        raise PermissionDenied(_("只有督办层级的工作人员可以挂牌督办"))
    if deadline is None:
        cleaner.fail("deadline", _("此字段为必填项"))
    deadline = _check_deadline(
        deadline, "deadline", now=now, start=hazard.confirmed_at or now, cleaner=cleaner
    )
    cleaner.done()
    listed = ListedSupervision.objects.create(
        hazard=hazard,
        supervising_region=supervising_region,
        document_number=document_number,
        deadline=deadline,
        listed_at=now,
    )
    hazard.listed_supervision = listed
    _move(
        actor,
        hazard,
        transition,
        note=document_number,
        supervising_region=supervising_region.code,
        document_number=document_number,
        deadline=deadline.isoformat(),
    )
    _notify(
        station_users(hazard.region),
        actor,
        hazard,
        "hazard_listed",
        _("重大隐患已挂牌督办：%(title)s"),
        _("督办文号 %(doc)s，督办层级 %(region)s，期限 %(deadline)s。")
        % {
            "doc": document_number,
            "region": supervising_region.name,
            "deadline": _local(deadline),
        },
        urgent=True,
    )
    return listed
