"""Demo data for safety supervision: enterprises by the district's real industries (textiles,
dyeing, chemicals, fireworks…), small venues and crowded places in every village, risk points,
a year of hazards in every state of the loop, and a year of inspections item by item with
their timelines.

Written in bulk like the core's demo (a system job creating fresh data); hazard numbers,
deadlines and events follow the same rules the services apply.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from shapely.geometry import Point

from frontline.core.demo import register
from frontline.core.models import RegionLevel
from frontline.hazards.codes import make_credit_code
from frontline.hazards.models import (
    COLOUR_RANK,
    AssessmentMethod,
    ChecklistTemplate,
    Enterprise,
    Hazard,
    HazardEvent,
    HazardLevel,
    HazardSource,
    HazardState,
    Industry,
    Inspection,
    InspectionEvent,
    InspectionEventKind,
    InspectionForm,
    InspectionResult,
    InspectionState,
    ItemOutcome,
    Place,
    PlaceCategory,
    RiskColour,
    RiskPoint,
)

INDUSTRY_WEIGHTS = [
    (Industry.TEXTILES, 30),
    (Industry.DYEING, 18),
    (Industry.MACHINERY, 14),
    (Industry.CHEMICALS, 8),
    (Industry.BREWING, 5),
    (Industry.WAREHOUSING, 8),
    (Industry.CONSTRUCTION, 6),
    (Industry.FIREWORKS, 3),
    (Industry.HAZCHEM_TRADE, 4),
    (Industry.OTHER, 4),
]
NAME_STEMS = [
    "永盛",
    "华鑫",
    "恒达",
    "天马",
    "金帆",
    "锦绣",
    "宏伟",
    "东升",
    "兴隆",
    "瑞丰",
    "鼎盛",
    "新世纪",
    "远东",
    "中天",
    "万事达",
    "富丽",
    "正大",
    "海天",
    "凯旋",
    "明珠",
]
INDUSTRY_SUFFIX = {
    Industry.TEXTILES: "纺织有限公司",
    Industry.DYEING: "印染有限公司",
    Industry.MACHINERY: "机械制造有限公司",
    Industry.CHEMICALS: "化工有限公司",
    Industry.BREWING: "酿酒有限公司",
    Industry.WAREHOUSING: "仓储物流有限公司",
    Industry.CONSTRUCTION: "建设工程有限公司",
    Industry.FIREWORKS: "烟花爆竹有限公司",
    Industry.HAZCHEM_TRADE: "化学品经营部",
    Industry.OTHER: "实业有限公司",
}
PLACE_KINDS = [
    (PlaceCategory.SMALL_SHOP, "便利店"),
    (PlaceCategory.RESTAURANT, "小吃店"),
    (PlaceCategory.HOTEL, "宾馆"),
    (PlaceCategory.INTERNET_CAFE, "网吧"),
    (PlaceCategory.SALON, "美容美发"),
    (PlaceCategory.CLINIC, "诊所"),
    (PlaceCategory.SCHOOL, "幼儿园"),
    (PlaceCategory.WORKSHOP, "加工点"),
    (PlaceCategory.WAREHOUSE, "仓库"),
    (PlaceCategory.MALL, "农贸市场"),
    (PlaceCategory.ELDERLY_HOME, "居家养老服务中心"),
]
RISK_POINTS = {
    Industry.TEXTILES: ["织造车间粉尘", "配电房", "成品仓库"],
    Industry.DYEING: ["定型机废气", "染化料仓库", "锅炉房"],
    Industry.CHEMICALS: ["反应釜区", "危化品储罐区", "装卸作业区"],
    Industry.FIREWORKS: ["有药工房", "药物中转库", "成品仓库"],
    Industry.HAZCHEM_TRADE: ["危化品仓库", "装卸区"],
}
HAZARD_TITLES = [
    "消防通道堵塞",
    "疏散指示标志损坏",
    "灭火器过期未检",
    "电气线路私拉乱接",
    "配电箱前堆放杂物",
    "安全出口上锁",
    "员工宿舍与仓库“三合一”",
    "可燃物靠近热源堆放",
    "应急照明不亮",
    "特种作业人员无证上岗",
    "危化品未分类存放",
    "有药工房超员作业",
    "防雷接地检测过期",
    "消火栓无水",
]
# Share of hazards per state over a year: most closed, a tail still open.
STATE_WEIGHTS = [
    (HazardState.CLOSED, 62),
    (HazardState.RECTIFYING, 10),
    (HazardState.PENDING_VERIFICATION, 6),
    (HazardState.CONTROLLED, 4),
    (HazardState.CONFIRMED, 6),
    (HazardState.FOUND, 7),
    (HazardState.REJECTED, 5),
]


def _pick(rng, weighted):
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights=weights)[0]


def _point_in(polygon, rng) -> tuple[float, float]:
    minx, miny, maxx, maxy = polygon.bounds
    for _ in range(50):
        lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if polygon.contains(Point(lon, lat)):
            return round(lon, 6), round(lat, 6)
    point = polygon.representative_point()
    return round(point.x, 6), round(point.y, 6)


def _colour(score: float) -> str:
    if score > 320:
        return RiskColour.RED
    if score >= 160:
        return RiskColour.ORANGE
    if score >= 70:
        return RiskColour.YELLOW
    return RiskColour.BLUE


def generate_enterprises(ctx) -> None:
    regions, plans = ctx.state["regions"], ctx.state["plans"]
    rng = ctx.rng
    villages = [r for r in regions.values() if r.level == RegionLevel.VILLAGE]
    enterprises, places = [], []
    serial = 0
    for village in villages:
        polygon = plans[village.code].polygon
        for _ in range(rng.choice([0, 1, 1, 2])):
            serial += 1
            industry = _pick(rng, INDUSTRY_WEIGHTS)
            lon, lat = _point_in(polygon, rng)
            enterprises.append(
                Enterprise(
                    name=f"{village.name[:2]}{rng.choice(NAME_STEMS)}{INDUSTRY_SUFFIX[industry]}",
                    region=village,
                    credit_code=make_credit_code(village.code, serial),
                    industry=industry,
                    above_scale=rng.random() < 0.3,
                    employees=rng.randint(8, 600),
                    legal_representative=rng.choice(["王", "李", "张", "陈", "沈", "俞"])
                    + rng.choice(["建国", "国强", "海军", "伟", "丽萍", "志明"]),
                    safety_officer=rng.choice(["周", "吴", "徐", "孙"])
                    + rng.choice(["敏", "杰", "芳"]),
                    safety_officer_phone=f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
                    address=f"{village.name}工业区{rng.randint(1, 99)}号",
                    lon=lon,
                    lat=lat,
                )
            )
        for category, noun in rng.sample(PLACE_KINDS, rng.randint(2, 5)):
            lon, lat = _point_in(polygon, rng)
            places.append(
                Place(
                    name=f"{village.name}{noun}",
                    region=village,
                    category=category,
                    operator=rng.choice(["赵", "钱", "孙", "李"])
                    + rng.choice(["老板", "女士", "先生"]),
                    floor_area=round(rng.uniform(30, 2000), 1),
                    address=f"{village.name}{rng.randint(1, 200)}号",
                    lon=lon,
                    lat=lat,
                )
            )
    Enterprise.objects.bulk_create(enterprises, batch_size=500)
    Place.objects.bulk_create(places, batch_size=500)
    ctx.count("enterprises", len(enterprises))
    ctx.count("places", len(places))
    ctx.state["enterprises"] = enterprises
    ctx.state["places"] = places
    _generate_risk_points(ctx, enterprises)


def _generate_risk_points(ctx, enterprises) -> None:
    rng = ctx.rng
    points = []
    for enterprise in enterprises:
        names = RISK_POINTS.get(enterprise.industry, ["生产车间", "配电房"])
        worst = ""
        for name in names:
            likelihood, exposure = rng.choice([1, 3, 6]), rng.choice([2, 3, 6])
            consequence = rng.choice([3, 7, 15, 40])
            score = likelihood * exposure * consequence
            colour = _colour(score)
            if not worst or COLOUR_RANK[colour] > COLOUR_RANK[worst]:
                worst = colour
            points.append(
                RiskPoint(
                    region=enterprise.region,
                    enterprise=enterprise,
                    name=name,
                    method=AssessmentMethod.LEC,
                    likelihood=likelihood,
                    exposure=exposure,
                    consequence=consequence,
                    score=score,
                    colour=colour,
                    control_measures="落实岗位责任制，每日班前检查，定期维护保养",
                    responsible_unit="安全生产管理部",
                )
            )
        enterprise.risk_colour = worst
    RiskPoint.objects.bulk_create(points, batch_size=1000)
    Enterprise.objects.bulk_update(enterprises, ["risk_colour"], batch_size=500)
    ctx.count("risk_points", len(points))


def _township_of(region, regions) -> str:
    return next(code for code in region.path.split("/") if len(code) == 9)


def generate_hazards(ctx) -> None:
    rng, regions = ctx.rng, ctx.state["regions"]
    objects = [(e, "enterprise") for e in ctx.state["enterprises"]] + [
        (p, "place") for p in ctx.state["places"]
    ]
    now = timezone.now()
    sequences: dict[str, int] = {}
    hazards = []
    for _ in range(len(objects) * 2):
        target, kind = rng.choice(objects)
        found_at = now - timedelta(days=rng.uniform(0, 365), hours=rng.uniform(0, 24))
        state = _pick(rng, STATE_WEIGHTS)
        level = HazardLevel.MAJOR if rng.random() < 0.04 else HazardLevel.GENERAL
        township = _township_of(target.region, regions)
        key = f"{township}-{timezone.localtime(found_at).year}"
        sequences[key] = sequences.get(key, 0) + 1
        hazard = Hazard(
            number=f"YH-{key}-{sequences[key]:05d}",
            region=target.region,
            enterprise=target if kind == "enterprise" else None,
            place=target if kind == "place" else None,
            source=rng.choice(list(HazardSource)),
            title=rng.choice(HAZARD_TITLES),
            lon=target.lon,
            lat=target.lat,
            state=state,
            found_at=found_at,
        )
        if state not in (HazardState.FOUND, HazardState.REJECTED):
            hazard.level = level
            hazard.level_basis = "《重大火灾隐患判定方法》" if level == HazardLevel.MAJOR else ""
            hazard.confirmed_at = found_at + timedelta(hours=rng.uniform(2, 72))
            days = 60 if level == HazardLevel.MAJOR else 15
            hazard.due_at = hazard.confirmed_at + timedelta(days=days)
            hazard.responsible_person = getattr(target, "safety_officer", "") or target.operator
        if state in (HazardState.PENDING_VERIFICATION, HazardState.CLOSED):
            late = rng.random() < 0.12
            span = (hazard.due_at - hazard.confirmed_at) * (1.2 if late else rng.uniform(0.2, 0.95))
            hazard.rectified_at = min(hazard.confirmed_at + span, now)
        if state == HazardState.CLOSED:
            hazard.closed_at = min(hazard.rectified_at + timedelta(days=rng.uniform(0.5, 6)), now)
        hazards.append(hazard)
    Hazard.objects.bulk_create(hazards, batch_size=1000)
    events = [
        HazardEvent(hazard=h, at=h.found_at, kind="reported", to_state=HazardState.FOUND)
        for h in hazards
    ]
    events += [
        HazardEvent(
            hazard=h,
            at=h.closed_at or h.confirmed_at or h.found_at,
            kind="demo_state",
            from_state=HazardState.FOUND,
            to_state=h.state,
        )
        for h in hazards
        if h.state != HazardState.FOUND
    ]
    HazardEvent.objects.bulk_create(events, batch_size=2000)
    ctx.count("hazards", len(hazards))


# Which seeded checklist an inspector takes to which object.
INDUSTRY_CHECKLIST = {
    Industry.FIREWORKS: "fireworks-workshop",
    Industry.CHEMICALS: "hazchem-storage",
    Industry.HAZCHEM_TRADE: "hazchem-storage",
}
CROWDED_PLACES = {
    PlaceCategory.MALL,
    PlaceCategory.HOTEL,
    PlaceCategory.SCHOOL,
    PlaceCategory.ELDERLY_HOME,
    PlaceCategory.INTERNET_CAFE,
}
INSPECTION_FORM_WEIGHTS = [
    (InspectionForm.ROUTINE, 70),
    (InspectionForm.CAMPAIGN, 15),
    (InspectionForm.JOINT, 8),
    (InspectionForm.UNANNOUNCED, 7),
]
FAILED_ITEM_NOTES = ["现场发现问题，已当场告知负责人", "已拍照取证", "要求立即整改", ""]


def _checklist_code(target, kind: str) -> str:
    if kind == "enterprise":
        return INDUSTRY_CHECKLIST.get(target.industry, "small-venues-fire")
    return "crowded-places" if target.category in CROWDED_PLACES else "small-venues-fire"


def _outcome(rng) -> str:
    roll = rng.random()
    if roll < 0.1:
        return ItemOutcome.FAIL
    return ItemOutcome.NOT_APPLICABLE if roll < 0.15 else ItemOutcome.PASS


def generate_inspections(ctx) -> None:
    """About one inspection per object over the past year, answered item by item; the last
    few days' still open. Events follow what the services write (开始检查, 记录检查项, now
    and then 修改检查项, 提交)."""
    rng, regions = ctx.rng, ctx.state["regions"]
    templates = ChecklistTemplate.objects.filter(is_active=True).prefetch_related("items")
    checklists = {t.code: list(t.items.all()) for t in templates.order_by("code") if t.items.all()}
    if not checklists:
        return
    objects = [(e, "enterprise") for e in ctx.state["enterprises"]] + [
        (p, "place") for p in ctx.state["places"]
    ]
    now = timezone.now()
    plans = []  # (inspection, template items, submitted?)
    for target, kind in objects:
        for _ in range(rng.choice([0, 1, 1, 2])):
            code = _checklist_code(target, kind)
            if code not in checklists:
                code = next(iter(checklists))
            started_at = now - timedelta(days=rng.uniform(0, 365), hours=rng.uniform(0, 8))
            form = _pick(rng, INSPECTION_FORM_WEIGHTS)
            inspection = Inspection(
                region=target.region,
                enterprise=target if kind == "enterprise" else None,
                place=target if kind == "place" else None,
                template_id=checklists[code][0].template_id,
                form=form,
                participants="区消防救援大队、市场监管所" if form == InspectionForm.JOINT else "",
                started_at=started_at,
            )
            submitted = started_at < now - timedelta(days=3) or rng.random() < 0.5
            plans.append((inspection, checklists[code], submitted))
    plans.sort(key=lambda plan: plan[0].started_at)
    sequences: dict[str, int] = {}
    for inspection, _items, _submitted in plans:
        key = f"{_township_of(inspection.region, regions)}-"
        key += f"{timezone.localtime(inspection.started_at).year}"
        sequences[key] = sequences.get(key, 0) + 1
        inspection.number = f"JC-{key}-{sequences[key]:05d}"

    results, events = [], []
    for inspection, items, submitted in plans:
        at = inspection.started_at
        events.append(
            InspectionEvent(
                inspection=inspection,
                at=at,
                kind=InspectionEventKind.STARTED,
                to_state=InspectionState.OPEN,
                data={"form": inspection.form, "template_id": inspection.template_id},
            )
        )
        answered = items if submitted else items[: rng.randint(0, len(items) - 1)]
        counts = dict.fromkeys(ItemOutcome.values, 0)
        for item in answered:
            outcome = _outcome(rng)
            counts[outcome] += 1
            note = rng.choice(FAILED_ITEM_NOTES) if outcome == ItemOutcome.FAIL else ""
            result = InspectionResult(inspection=inspection, item=item, outcome=outcome, note=note)
            results.append(result)
            data = {"item_id": item.pk, "item_order": item.order}
            at += timedelta(minutes=rng.uniform(1, 8))
            # Now and then an item first judged 合格 is changed on a second look.
            changed = outcome == ItemOutcome.FAIL and rng.random() < 0.25
            events.append(
                InspectionEvent(
                    inspection=inspection,
                    at=at,
                    kind=InspectionEventKind.RESULT_RECORDED,
                    to_state=ItemOutcome.PASS if changed else outcome,
                    note="" if changed else note,
                    result=result,
                    data=data,
                )
            )
            if changed:
                at += timedelta(minutes=rng.uniform(1, 8))
                events.append(
                    InspectionEvent(
                        inspection=inspection,
                        at=at,
                        kind=InspectionEventKind.RESULT_CHANGED,
                        from_state=ItemOutcome.PASS,
                        to_state=outcome,
                        note=note,
                        result=result,
                        data={**data, "old_note": ""},
                    )
                )
        if submitted:
            inspection.submitted_at = min(at + timedelta(minutes=rng.uniform(5, 40)), now)
            inspection.summary = (
                f"共检查 {len(items)} 项，发现问题 {counts[ItemOutcome.FAIL]} 项。"
                if counts[ItemOutcome.FAIL]
                else f"共检查 {len(items)} 项，未发现问题。"
            )
            events.append(
                InspectionEvent(
                    inspection=inspection,
                    at=inspection.submitted_at,
                    kind=InspectionEventKind.SUBMITTED,
                    from_state=InspectionState.OPEN,
                    to_state=InspectionState.SUBMITTED,
                    data={"outcomes": counts},
                )
            )
    # The rows point at inspections saved just now: bulk_create takes their new ids.
    Inspection.objects.bulk_create([plan[0] for plan in plans], batch_size=1000)
    InspectionResult.objects.bulk_create(results, batch_size=2000)
    InspectionEvent.objects.bulk_create(events, batch_size=2000)
    ctx.count("inspections", len(plans))
    ctx.count("inspection_results", len(results))
    ctx.count("inspection_events", len(events))


register("hazards.objects", order=100, generate_fn=generate_enterprises, label="企业、场所与风险点")
register("hazards.hazards", order=110, generate_fn=generate_hazards, label="一年的隐患闭环记录")
register("hazards.inspections", order=120, generate_fn=generate_inspections, label="一年的检查记录")
