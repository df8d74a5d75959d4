"""The rectification notice (责令限期整改指令书) issued after an inspection for the hazards it
found: its document number per township and year, the printable context and the DOCX."""

from __future__ import annotations

import io
import re
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from frontline.core.errors import DomainError
from frontline.core.models import Region
from frontline.core.roles import Capability
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.models import (
    Inspection,
    InspectionEventKind,
    InspectionResult,
    RectificationNotice,
)
from frontline.hazards.models.hazards import OPEN_HAZARD_STATES
from frontline.hazards.services.inspections import inspection_event
from frontline.hazards.services.reporting import hazard_event, township_code

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
    inspection_event(
        inspection=inspection,
        actor=actor,
        kind=InspectionEventKind.NOTICE_ISSUED,
        note=notice.number,
        notice=notice,
        data={
            "hazard_ids": [h.pk for h in hazards],
            "hazard_numbers": [h.number for h in hazards],
            "due_at": due_at.isoformat(),
        },
        at=now,
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
