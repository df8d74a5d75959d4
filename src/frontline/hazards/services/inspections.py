"""Inspections against a checklist: plans and their coverage, the record of one inspection
item by item and the failed item that becomes a hazard with one tap. The rectification
notice (责令限期整改指令书) is in `notices.py`.

Every change of an inspection writes an `InspectionEvent` in the same transaction: started,
item recorded (or changed, old → new outcome), photo added, submitted, item converted to a
hazard, notice issued."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.core import request_id
from frontline.core.errors import DomainError
from frontline.core.models import Region
from frontline.core.numbers import save_with_number
from frontline.core.roles import Capability
from frontline.core.services.attachments import attach_file
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.models import (
    ChecklistItem,
    ChecklistTemplate,
    Enterprise,
    Hazard,
    HazardSource,
    Inspection,
    InspectionEvent,
    InspectionEventKind,
    InspectionForm,
    InspectionPlan,
    InspectionResult,
    InspectionState,
    ItemOutcome,
    Place,
)
from frontline.hazards.services.reporting import report_hazard, township_code

INSPECTION_NUMBER_KIND = "JC"
# Forms where the people present besides the station must be named.
FORMS_WITH_PARTICIPANTS = {InspectionForm.JOINT, InspectionForm.EXPERT}


def _inside(obj, region: Region) -> bool:
    return obj.region.path.startswith(region.path)


def inspection_event(
    *,
    inspection: Inspection,
    actor,
    kind: str,
    from_state: str = "",
    to_state: str = "",
    note: str = "",
    data: dict | None = None,
    at: datetime | None = None,
    result: InspectionResult | None = None,
    hazard: Hazard | None = None,
    notice=None,
    attachment=None,
) -> InspectionEvent:
    """One row of the inspection's timeline; call it inside the service's transaction."""
    return InspectionEvent.objects.create(
        inspection=inspection,
        actor=actor if getattr(actor, "pk", None) else None,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        note=note,
        data=data or {},
        at=at or timezone.now(),
        result=result,
        hazard=hazard,
        notice=notice,
        attachment=attachment,
        request_id=request_id.current_request_id() or "",
    )


def _item_data(item: ChecklistItem) -> dict:
    return {"item_id": item.pk, "item_order": item.order}


# --- plans -------------------------------------------------------------------------------


@transaction.atomic
def create_inspection_plan(
    *,
    actor,
    name: str,
    region: Region,
    template: ChecklistTemplate,
    form: str,
    starts_on: date,
    ends_on: date,
    interval_days: int = 30,
    enterprises=(),
    places=(),
    organization=None,
) -> InspectionPlan:
    """A plan: which enterprises and places (all inside `region`) are inspected every
    `interval_days` between two dates."""
    require(actor, Capability.EDIT, region)
    cleaner = Cleaner()
    name = cleaner.text(name, "name", required=True, max_length=150)
    cleaner.choice(form, "form", InspectionForm)
    enterprises = list(enterprises)
    places = list(places)
    if not template.is_active:
        cleaner.fail("template", _("该检查表已停用"))
    if not 1 <= int(interval_days) <= 366:
        cleaner.fail("interval_days", _("检查周期应在 1 到 366 天之间"))
    if ends_on < starts_on:
        cleaner.fail("ends_on", _("结束日期不能早于开始日期"))
    if not enterprises and not places:
        cleaner.fail("enterprises", _("请至少选择一个检查对象"))
    if any(not _inside(e, region) for e in enterprises):
        cleaner.fail("enterprises", _("不在所选区划之内"))
    if any(not _inside(p, region) for p in places):
        cleaner.fail("places", _("不在所选区划之内"))
    cleaner.done()
    plan = InspectionPlan.objects.create(
        name=name,
        region=region,
        template=template,
        form=form,
        organization=organization,
        interval_days=interval_days,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    plan.enterprises.set(enterprises)
    plan.places.set(places)
    return plan


@dataclass
class CoverageRow:
    target: Enterprise | Place
    kind: str  # "enterprise" | "place"
    last_inspected_at: datetime | None
    covered: bool


@dataclass
class Coverage:
    since: datetime
    rows: list[CoverageRow] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def inspected(self) -> int:
        return sum(1 for row in self.rows if row.covered)

    @property
    def percent(self) -> float:
        return round(100 * self.inspected / self.total, 1) if self.total else 0.0


def plan_coverage(plan: InspectionPlan, now: datetime | None = None) -> Coverage:
    """Which targets had a submitted inspection within the last `interval_days`: three
    queries whatever the number of targets."""
    now = now or timezone.now()
    since = now - timedelta(days=plan.interval_days)
    enterprises = list(plan.enterprises.order_by("name"))
    places = list(plan.places.order_by("name"))
    latest: dict[tuple[str, int], datetime] = {}
    rows = (
        Inspection.objects.filter(submitted_at__isnull=False, started_at__lte=now)
        .filter(
            Q(enterprise_id__in=[e.pk for e in enterprises])
            | Q(place_id__in=[p.pk for p in places])
        )
        .values_list("enterprise_id", "place_id", "started_at")
    )
    for enterprise_id, place_id, started_at in rows:
        for key in (("enterprise", enterprise_id), ("place", place_id)):
            if key[1] is not None and (key not in latest or latest[key] < started_at):
                latest[key] = started_at
    coverage = Coverage(since=since)
    for kind, targets in (("enterprise", enterprises), ("place", places)):
        for target in targets:
            last = latest.get((kind, target.pk))
            coverage.rows.append(
                CoverageRow(target, kind, last, last is not None and last >= since)
            )
    return coverage


# --- inspections -------------------------------------------------------------------------


@transaction.atomic
def start_inspection(
    *,
    actor,
    template: ChecklistTemplate,
    form: str,
    enterprise: Enterprise | None = None,
    place: Place | None = None,
    inspectors=(),
    participants: str = "",
    plan: InspectionPlan | None = None,
    now: datetime | None = None,
) -> Inspection:
    """Open an inspection record numbered `JC-<township>-<year>-<seq>`. Its region is the
    region of the inspected object."""
    now = now or timezone.now()
    target = enterprise or place
    cleaner = Cleaner()
    cleaner.choice(form, "form", InspectionForm)
    participants = cleaner.text(participants, "participants", required=False, max_length=300)
    if target is None:
        cleaner.fail("enterprise", _("请选择检查的企业或场所"))
        cleaner.done()
    region = target.region
    require(actor, Capability.EDIT, region)
    if enterprise is not None and place is not None and not _inside(place, enterprise.region):
        cleaner.fail("place", _("场所不在该企业所在区划之内"))
    if not template.is_active:
        cleaner.fail("template", _("该检查表已停用"))
    if form in FORMS_WITH_PARTICIPANTS and not participants:
        cleaner.fail("participants", _("联合检查和专家检查须填写参加单位或专家"))
    if plan is not None and not _inside(target, plan.region):
        cleaner.fail("plan", _("检查对象不在该计划的区划之内"))
    cleaner.done()
    inspection = Inspection(
        region=region,
        enterprise=enterprise,
        place=place,
        template=template,
        plan=plan,
        form=form,
        participants=participants,
        started_at=now,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    save_with_number(
        inspection, kind=INSPECTION_NUMBER_KIND, region_code=township_code(region), now=now
    )
    inspection.inspectors.set(list(inspectors))
    inspection_event(
        inspection=inspection,
        actor=actor,
        kind=InspectionEventKind.STARTED,
        to_state=InspectionState.OPEN,
        data={"form": form, "template_id": template.pk, "plan_id": plan.pk if plan else None},
        at=now,
    )
    return inspection


def _editable(inspection: Inspection) -> None:
    if inspection.is_submitted:
        raise DomainError(_("检查记录已提交，不能再修改"), code="inspection_submitted")


def _locked(inspection: Inspection) -> Inspection:
    """The record as stored, locked for the rest of the transaction (a stale copy must not
    let a change through after the record was submitted elsewhere)."""
    rows = Inspection.objects.select_for_update(of=("self",)).select_related("region")
    return rows.get(pk=inspection.pk)


@transaction.atomic
def record_result(
    *, actor, inspection: Inspection, item: ChecklistItem, outcome: str, note: str = ""
) -> InspectionResult:
    """Answer one checklist item (合格 / 不合格 / 不适用). Answering again changes it and
    the timeline keeps the change (old → new outcome); the same answer again is no change."""
    require(actor, Capability.EDIT, inspection.region)
    inspection = _locked(inspection)
    _editable(inspection)
    cleaner = Cleaner()
    cleaner.choice(outcome, "outcome", ItemOutcome)
    note = cleaner.text(note, "note", required=False, max_length=500)
    if item.template_id != inspection.template_id:
        cleaner.fail("item", _("该检查项不属于本次检查的检查表"))
    cleaner.done()
    result, created = InspectionResult.objects.get_or_create(
        inspection=inspection, item=item, defaults={"outcome": outcome, "note": note}
    )
    if created:
        inspection_event(
            inspection=inspection,
            actor=actor,
            kind=InspectionEventKind.RESULT_RECORDED,
            to_state=outcome,
            note=note,
            result=result,
            data=_item_data(item),
        )
        return result
    old_outcome, old_note = result.outcome, result.note
    if (old_outcome, old_note) == (outcome, note):
        return result
    converted = Hazard.objects.filter(inspection_result=result)
    if outcome != ItemOutcome.FAIL and converted.exists():
        raise DomainError(_("该项已转为隐患，不能再改为合格或不适用"))
    result.outcome = outcome
    result.note = note
    result.save(update_fields=["outcome", "note"])
    inspection_event(
        inspection=inspection,
        actor=actor,
        kind=InspectionEventKind.RESULT_CHANGED,
        from_state=old_outcome,
        to_state=outcome,
        note=note,
        result=result,
        data={**_item_data(item), "old_note": old_note},
    )
    return result


@transaction.atomic
def attach_result_photo(*, actor, result: InspectionResult, uploaded_file, note: str = ""):
    """A photo of one item, stored as an attachment owned by the inspection."""
    inspection = _locked(result.inspection)
    _editable(inspection)
    item = result.item
    label = _("第%(order)d项") % {"order": item.order}
    attachment = attach_file(
        actor=actor,
        owner=inspection,
        uploaded_file=uploaded_file,
        note=f"{label} {note}".strip()[:200],
    )
    inspection_event(
        inspection=inspection,
        actor=actor,
        kind=InspectionEventKind.PHOTO_ADDED,
        note=note,
        result=result,
        attachment=attachment,
        data=_item_data(item),
    )
    return attachment


def missing_items(inspection: Inspection) -> list[ChecklistItem]:
    answered = inspection.results.values("item_id")
    return list(
        ChecklistItem.objects.filter(template_id=inspection.template_id)
        .exclude(pk__in=answered)
        .order_by("order")
    )


@transaction.atomic
def submit_inspection(
    *, actor, inspection: Inspection, summary: str = "", now: datetime | None = None
) -> Inspection:
    """Close the record: every item answered; nothing changes afterwards."""
    given = inspection
    inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
    require(actor, Capability.EDIT, inspection.region)
    _editable(inspection)
    cleaner = Cleaner()
    summary = cleaner.text(summary, "summary", required=False, max_length=5000)
    missing = missing_items(inspection)
    if missing:
        orders = "、".join(str(item.order) for item in missing)
        cleaner.fail("results", _("第 %(orders)s 项尚未填写") % {"orders": orders})
    cleaner.done()
    inspection.summary = summary
    inspection.submitted_at = now or timezone.now()
    inspection.save(update_fields=["summary", "submitted_at"])
    counts = dict.fromkeys(ItemOutcome.values, 0)
    for row in inspection.results.values("outcome").annotate(n=Count("id")).order_by():
        counts[row["outcome"]] = row["n"]
    inspection_event(
        inspection=inspection,
        actor=actor,
        kind=InspectionEventKind.SUBMITTED,
        from_state=InspectionState.OPEN,
        to_state=InspectionState.SUBMITTED,
        data={"outcomes": counts},
        at=inspection.submitted_at,
    )
    given.summary, given.submitted_at = inspection.summary, inspection.submitted_at
    return inspection


@transaction.atomic
def hazard_from_failed_item(*, actor, result: InspectionResult, now: datetime | None = None):
    """One tap: the failed item becomes a hazard of the inspected object (once)."""
    result = (
        InspectionResult.objects.select_for_update(of=("self",))
        .select_related("inspection__region", "inspection__enterprise", "inspection__place")
        .select_related("item")
        .get(pk=result.pk)
    )
    inspection = result.inspection
    require(actor, Capability.EDIT, inspection.region)
    if result.outcome != ItemOutcome.FAIL:
        raise DomainError(_("只有不合格的检查项才能转为隐患"), code="item_not_failed")
    existing = Hazard.objects.filter(inspection_result=result).first()
    if existing is not None:
        raise DomainError(
            _("该检查项已转为隐患 %(number)s") % {"number": existing.number},
            code="already_converted",
        )
    item = result.item
    lines = [result.note] if result.note else []
    if item.legal_basis:
        lines.append(_("依据：%(basis)s") % {"basis": item.legal_basis})
    if item.major_if_failed:
        lines.append(_("该项不合格可能构成重大隐患，请确认定级。"))
    lines.append(_("来自检查 %(number)s") % {"number": inspection.number})
    source = (
        HazardSource.SELF_CHECK
        if inspection.form == InspectionForm.SELF
        else HazardSource.INSPECTION
    )
    target = inspection.enterprise or inspection.place
    hazard = report_hazard(
        actor=actor,
        region=inspection.region,
        title=item.text[:200],
        source=source,
        description="\n".join(lines),
        enterprise=inspection.enterprise,
        place=inspection.place,
        lon=target.lon if target.lat is not None else None,
        lat=target.lat if target.lon is not None else None,
        inspection_result=result,
        now=now,
    )
    inspection_event(
        inspection=inspection,
        actor=actor,
        kind=InspectionEventKind.HAZARD_CREATED,
        note=hazard.number,
        result=result,
        hazard=hazard,
        data={**_item_data(item), "hazard_number": hazard.number},
        at=now,
    )
    return hazard
