"""Inspections against a checklist: plans and their coverage, the record of one inspection
item by item, the failed item that becomes a hazard with one tap, and the rectification
notice (责令限期整改指令书) with its document number and DOCX."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

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
    InspectionForm,
    InspectionPlan,
    InspectionResult,
    ItemOutcome,
    Place,
    RectificationNotice,
)
from frontline.hazards.models.hazards import OPEN_HAZARD_STATES
from frontline.hazards.services.reporting import hazard_event, report_hazard, township_code

INSPECTION_NUMBER_KIND = "JC"
# Forms where the people present besides the station must be named.
FORMS_WITH_PARTICIPANTS = {InspectionForm.JOINT, InspectionForm.EXPERT}


def _inside(obj, region: Region) -> bool:
    return obj.region.path.startswith(region.path)


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
    return inspection


def _editable(inspection: Inspection) -> None:
    if inspection.is_submitted:
        raise DomainError(_("检查记录已提交，不能再修改"), code="inspection_submitted")


@transaction.atomic
def record_result(
    *, actor, inspection: Inspection, item: ChecklistItem, outcome: str, note: str = ""
) -> InspectionResult:
    """Answer one checklist item (合格 / 不合格 / 不适用); answering again replaces it."""
    require(actor, Capability.EDIT, inspection.region)
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
    if not created:
        converted = Hazard.objects.filter(inspection_result=result)
        if outcome != ItemOutcome.FAIL and converted.exists():
            raise DomainError(_("该项已转为隐患，不能再改为合格或不适用"))
        result.outcome = outcome
        result.note = note
        result.save(update_fields=["outcome", "note"])
    return result


def attach_result_photo(*, actor, result: InspectionResult, uploaded_file, note: str = ""):
    """A photo of one item, stored as an attachment owned by the inspection."""
    inspection = result.inspection
    _editable(inspection)
    label = _("第%(order)d项") % {"order": result.item.order}
    return attach_file(
        actor=actor,
        owner=inspection,
        uploaded_file=uploaded_file,
        note=f"{label} {note}".strip()[:200],
    )


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
    return report_hazard(
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


# --- rectification notices ---------------------------------------------------------------

_TOWNSHIP_SUFFIXES = ("街道办事处", "街道", "镇", "乡")
_NOTICE_SEQUENCE = re.compile(r"〔\d{4}〕(\d+)号$")


def township_short_name(region: Region) -> str:
    """柯岩街道 → 柯岩: the issuing unit's short name on its document numbers."""
    code = township_code(region)
    name = region.name
    if code != region.code:
        found = Region.objects.filter(code=code).values_list("name", flat=True).first()
        name = found or name
    for suffix in _TOWNSHIP_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def notice_prefix(region: Region, now: datetime) -> str:
    return f"{township_short_name(region)}应急责改〔{timezone.localtime(now).year}〕"


def _next_notice_number(prefix: str) -> str:
    numbers = RectificationNotice.objects.filter(number__startswith=prefix).values_list(
        "number", flat=True
    )
    sequences = [int(m.group(1)) for n in numbers if (m := _NOTICE_SEQUENCE.search(n))]
    return f"{prefix}{max(sequences, default=0) + 1}号"


@transaction.atomic
def issue_rectification_notice(
    *, actor, inspection: Inspection, hazards, due_at: datetime, now: datetime | None = None
) -> RectificationNotice:
    """责令限期整改指令书 for hazards found by a submitted inspection, numbered
    `<乡镇简称>应急责改〔<year>〕<seq>号` per township and year."""
    now = now or timezone.now()
    require(actor, Capability.EDIT, inspection.region)
    if not inspection.is_submitted:
        raise DomainError(_("检查记录提交后才能下达整改指令书"), code="inspection_not_submitted")
    hazards = list(hazards)
    cleaner = Cleaner()
    if not hazards:
        cleaner.fail("hazards", _("请选择需要整改的隐患"))
    foreign = [
        h
        for h in hazards
        if h.inspection_result_id is None
        or not InspectionResult.objects.filter(
            pk=h.inspection_result_id, inspection=inspection
        ).exists()
    ]
    if foreign:
        cleaner.fail("hazards", _("只能包含本次检查发现的隐患"))
    if any(h.state not in OPEN_HAZARD_STATES for h in hazards):
        cleaner.fail("hazards", _("已核销或不予认定的隐患不能下达整改"))
    if due_at is None or due_at <= now:
        cleaner.fail("due_at", _("整改期限应晚于当前时间"))
    cleaner.done()
    prefix = notice_prefix(inspection.region, now)
    notice = RectificationNotice(
        region=inspection.region,
        inspection=inspection,
        issued_at=now,
        due_at=due_at,
        issued_by=actor if getattr(actor, "pk", None) else None,
    )
    for attempt in range(8):
        notice.number = _next_notice_number(prefix)
        try:
            with transaction.atomic():
                notice.save()
            break
        except IntegrityError:
            if attempt == 7:
                raise
            notice.pk = None
    notice.hazards.set(hazards)
    for hazard in hazards:
        hazard_event(
            hazard=hazard,
            actor=actor if getattr(actor, "pk", None) else None,
            kind="notice_issued",
            from_state=hazard.state,
            note=notice.number,
            data={"notice_id": notice.pk, "due_at": due_at.isoformat()},
        )
    return notice


def notice_context(notice: RectificationNotice) -> dict:
    """What the printed notice and the DOCX show."""
    inspection = notice.inspection
    target = inspection.enterprise or inspection.place
    hazards = list(notice.hazards.select_related("inspection_result__item").order_by("number"))
    problems = []
    for hazard in hazards:
        item = hazard.inspection_result.item if hazard.inspection_result_id else None
        problems.append(
            {
                "number": hazard.number,
                "title": hazard.title,
                "note": hazard.inspection_result.note if item else "",
                "basis": item.legal_basis if item else hazard.level_basis,
            }
        )
    township = township_code(notice.region)
    unit = Region.objects.filter(code=township).values_list("name", flat=True).first()
    return {
        "notice": notice,
        "target_name": target.name if target else "",
        "inspected_on": timezone.localtime(inspection.started_at).date(),
        "problems": problems,
        "due_on": timezone.localtime(notice.due_at).date(),
        "issued_on": timezone.localtime(notice.issued_at).date(),
        "issuing_unit": _("%(name)s应急管理办公室") % {"name": unit or notice.region.name},
    }


def _chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def notice_docx(notice: RectificationNotice) -> bytes:
    """The notice as a Word document (责令限期整改指令书 layout)."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    context = notice_context(notice)
    document = Document()
    style = document.styles["Normal"]
    style.font.name = "FangSong"
    style.font.size = Pt(14)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "仿宋")

    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(_("责令限期整改指令书"))
    run.bold = True
    run.font.size = Pt(22)
    number = document.add_paragraph(notice.number)
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER

    document.add_paragraph(f"{context['target_name']}：")
    document.add_paragraph(
        _("经%(date)s检查（检查编号 %(number)s），发现你单位存在下列问题：")
        % {
            "date": _chinese_date(context["inspected_on"]),
            "number": notice.inspection.number,
        }
    )
    for index, problem in enumerate(context["problems"], start=1):
        text = f"{index}. {problem['title']}"
        if problem["note"]:
            text += f"（{problem['note']}）"
        if problem["basis"]:
            text += _("。依据：%(basis)s") % {"basis": problem["basis"]}
        document.add_paragraph(text)
    document.add_paragraph(
        _(
            "现责令你单位于%(date)s前整改完毕，达到有关法律法规规章和标准规定的要求。"
            "由于你单位原因逾期未整改或整改不合格的，将依法予以处理。"
        )
        % {"date": _chinese_date(context["due_on"])}
    )
    document.add_paragraph(_("整改期间，你单位应当采取措施，确保安全。整改完毕后请书面报告。"))
    for line in (context["issuing_unit"], _chinese_date(context["issued_on"])):
        paragraph = document.add_paragraph(line)
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    document.add_paragraph(_("被检查单位负责人（签收）：____________    年  月  日"))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
