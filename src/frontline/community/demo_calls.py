"""Demo data of community calls (社区呼叫 / 吹哨报到): about three months of calls raised by
the grid workers of the home township to the township's and county's departments, in every
state — called, on site, fixed awaiting the caller, closed with a rating, withdrawn — some
late and escalated once or twice, a few sent back for rework.

Written in bulk like the other demo modules, not through the services, but leaving the rows
the services and the escalation sweep would have left: the call with its numbers and stored
deadlines, its `CommunityCallEvent` timeline (escalations included, replayed with the sweep's
rule), and the department's supervised task in the matching state with its own timeline.
No notifications are written (they are history, long delivered). This module decides who
calls whom about what and how each call went; `demo_calls_timeline.py` writes the records
that story leaves. Run by `demo.py`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from frontline.community.demo_calls_timeline import (
    Story,
    call_timeline,
    department_tasks,
    number_rows,
)
from frontline.community.demo_homes import grid_workers, home_grids, point_in
from frontline.community.models import CallCategory, CallState, CommunityCall, CommunityCallEvent
from frontline.community.services.calls_people import (
    CATEGORY_KEYWORDS,
    DEPARTMENT_KINDS,
    FIRE_KINDS,
)
from frontline.community.services.calls_rules import (
    NUMBER_PREFIX,
    arrive_limit,
    escalate_interval,
    fix_limit,
)
from frontline.core.models import (
    Organization,
)

CALLS_TARGET = 220
DAYS = 90

# How often each kind of matter is called in a suburban township. A category no unit of the
# grid's branch answers to (the demo has no power or gas company) is drawn again.
CATEGORY_WEIGHTS = {
    CallCategory.FIRE: 15,
    CallCategory.WATER: 12,
    CallCategory.POWER: 8,
    CallCategory.GAS: 6,
    CallCategory.POLICE: 10,
    CallCategory.HOUSING: 10,
    CallCategory.ROADS: 8,
    CallCategory.MARKET: 5,
    CallCategory.HEALTH: 5,
    CallCategory.ENVIRONMENT: 9,
    CallCategory.OTHER: 3,
}

MATTERS: dict[str, list[tuple[str, str]]] = {
    CallCategory.FIRE: [
        ("消防通道被占用", "小区消防通道被私家车长期占用，劝离无效，需消防部门到场处置。"),
        ("楼道电动自行车充电", "多户在楼道内给电动自行车充电，飞线严重，存在火灾隐患。"),
        ("消火栓无水", "巡查发现室外消火栓打开无水，需核查管网。"),
        ("沿街店铺住人", "沿街店铺“三合一”住人，无独立疏散通道。"),
        ("仓库违规储存易燃物", "出租仓库堆放大量泡沫包装材料，无消防设施。"),
    ],
    CallCategory.WATER: [
        ("路面积水严重", "连续降雨后路段积水约 30 厘米，排水口堵塞。"),
        ("河道护岸坍塌", "村内河道护岸局部坍塌，临河民房存在风险。"),
        ("自来水管爆裂", "主干道旁自来水管爆裂，路面冒水。"),
        ("排水沟堵塞", "排水沟被垃圾堵塞，雨天倒灌入户。"),
    ],
    CallCategory.POWER: [
        ("电线杆倾斜", "路边电线杆倾斜，电线低垂，影响行人安全。"),
        ("变压器异响", "配电变压器夜间有异响并伴有焦味。"),
        ("线路私拉乱接", "出租房屋内私拉电线，线路老化。"),
    ],
    CallCategory.GAS: [
        ("疑似燃气泄漏", "居民反映楼道内有燃气味，已疏散楼内人员。"),
        ("餐饮店液化气瓶违规存放", "小餐馆在后厨堆放多只液化气瓶，无报警装置。"),
    ],
    CallCategory.POLICE: [
        ("出租房人员登记不全", "群租房租客身份信息未登记，人员流动频繁。"),
        ("夜间噪声扰民纠纷", "邻里因夜间噪声多次发生争执，矛盾有激化迹象。"),
        ("可疑人员徘徊", "学校附近连续两天有可疑人员徘徊。"),
    ],
    CallCategory.HOUSING: [
        ("老旧房屋墙体开裂", "独居老人居住的老房屋墙体出现贯通裂缝。"),
        ("违规加层", "自建房正在违规加建第四层，无施工许可。"),
        ("外墙瓷砖脱落", "住宅楼外墙瓷砖脱落，砸中楼下停放车辆。"),
    ],
    CallCategory.ROADS: [
        ("道路塌陷", "村道出现约 1 米宽的塌陷坑，已设置临时警示。"),
        ("交通标志损坏", "路口减速让行标志被撞倒。"),
        ("路灯不亮", "主干道一段路灯连续多日不亮，夜间通行不便。"),
    ],
    CallCategory.MARKET: [
        ("无证经营小作坊", "居民楼底层有无证食品加工作坊。"),
        ("商铺销售过期灭火器", "五金店销售的灭火器已过有效期。"),
    ],
    CallCategory.HEALTH: [
        ("独居老人身体不适", "独居老人连续两天未出门，入户发现身体不适需随访。"),
        ("疑似传染病聚集", "同一楼栋多人发热，需卫生部门排查。"),
    ],
    CallCategory.ENVIRONMENT: [
        ("垃圾堆放未清运", "村口垃圾堆放点多日未清运，异味严重。"),
        ("河面漂浮物", "河道内大量漂浮垃圾，影响行洪。"),
        ("建筑垃圾乱倒", "夜间有车辆在空地倾倒建筑垃圾。"),
    ],
    CallCategory.OTHER: [
        ("广场健身器材损坏", "文化广场健身器材断裂，存在伤人风险。"),
        ("树木倒伏", "大风后行道树倒伏，压住路边围墙。"),
    ],
}

RATING_NOTES = {
    5: ["到场及时，处置到位", "非常满意", ""],
    4: ["处置较好", "基本满意", ""],
    3: ["整改一般，还需加强巡查", ""],
    2: ["到场太慢，群众意见较大"],
    1: ["多次催促才处理，很不满意"],
}


def generate_calls(ctx) -> None:
    regions, rng = ctx.state["regions"], ctx.rng
    now = timezone.now().replace(second=0, microsecond=0)
    workers = grid_workers(regions)
    grids = [g for g in home_grids(regions) if g in workers]
    if not grids:
        return
    units = _departments(grids)
    grids = [g for g in grids if units[g.code]]
    if not grids:
        return
    buildings = defaultdict(list)
    for building in ctx.state.get("buildings", []):
        buildings[building.region_id].append(building)
    plans = ctx.state.get("plans", {})
    # Every state appears whatever the size: the first calls walk through them.
    plan = [
        "called_late",
        "called",
        "on_site_late",
        "on_site",
        "fixed",
        "closed",
        "closed_late",
        "closed_reworked",
        "withdrawn",
    ]
    weights = {
        "called": 3,
        "called_late": 2,
        "on_site": 4,
        "on_site_late": 3,
        "fixed": 6,
        "closed": 62,
        "closed_late": 10,
        "closed_reworked": 4,
        "withdrawn": 6,
    }
    kinds = plan + rng.choices(list(weights), weights=list(weights.values()), k=CALLS_TARGET)
    calls, stories = [], []
    # The first grid is the demo grid worker's (account `grid`): it gets the walk through
    # every state and a larger share, so that account has a list worth looking at.
    grid_weights = [10] + [1] * (len(grids) - 1)
    for index, kind in enumerate(kinds[:CALLS_TARGET]):
        grid = grids[0] if index < len(plan) else rng.choices(grids, weights=grid_weights)[0]
        person, user = workers[grid]
        category, department = _category_and_department(grid, person, units, rng)
        story = _story(kind, category, now, rng)
        title, description = rng.choice(MATTERS[category])
        call = CommunityCall(
            region=grid,
            title=title,
            description=description,
            category=category,
            department=department,
            raised_by=user,
            raised_at=story.raised_at,
            arrive_by=story.raised_at + arrive_limit(category),
            fix_by=story.raised_at + fix_limit(category),
            state=story.state,
            arrived_at=story.arrived_at,
            fixed_at=story.fixes[-1] if story.fixes and story.state != CallState.ON_SITE else None,
            closed_at=story.closed_at,
            rating=story.rating,
        )
        if story.rating:
            call.rating_note = rng.choice(RATING_NOTES[story.rating])
        _place(call, grid, buildings.get(grid.pk), plans.get(grid.code), rng)
        calls.append(call)
        stories.append(story)
    order = sorted(range(len(calls)), key=lambda i: calls[i].raised_at)
    calls = [calls[i] for i in order]
    stories = [stories[i] for i in order]
    number_rows(calls, CommunityCall, NUMBER_PREFIX, lambda c: (c.region.code, c.raised_at))
    ctx.report(1, 4)
    timelines = [
        call_timeline(call, story, now, _liaison(call, units), regions, rng)
        for call, story in zip(calls, stories, strict=True)
    ]
    CommunityCall.objects.bulk_create(calls, batch_size=500)
    ctx.report(2, 4)
    tasks, task_events = department_tasks(calls, timelines, now)
    ctx.report(3, 4)
    events = []
    for call, timeline in zip(calls, timelines, strict=True):
        for event in timeline:
            event.call = call
            events.append(event)
    CommunityCallEvent.objects.bulk_create(events, batch_size=1000)
    for call, task in zip(calls, tasks, strict=True):
        call.task = task
    CommunityCall.objects.bulk_update(calls, ["task"], batch_size=500)
    ctx.report(4, 4)
    ctx.count("community_calls", len(calls))
    ctx.count("community_calls.open", sum(c.is_open for c in calls))
    ctx.count("community_calls.escalated", sum(c.escalation_level > 0 for c in calls))
    ctx.count("community_call_events", len(events))
    ctx.count("supervised_tasks", len(tasks))
    ctx.count("supervised_task_events", len(task_events))


# --- who is called ---------------------------------------------------------------------------


@dataclass
class Unit:
    organization: Organization
    liaison: object | None  # an account of the department, who reports on site and fixed


def _departments(grids) -> dict[str, list[Unit]]:
    """grid code → the units a call of that grid may go to (department kinds on the grid's
    branch of the tree, at the grid or above it); only those with an account when there are
    any, since someone of the department reports on site and the fix."""
    codes = {code for grid in grids for code in grid.path.split("/") if code}
    organizations = list(
        Organization.objects.filter(kind__in=DEPARTMENT_KINDS, region__code__in=codes)
        .select_related("region")
        .order_by("id")
    )
    User = get_user_model()
    liaisons = {}
    for user in (
        User.objects.filter(is_active=True, person__organization__in=organizations)
        .select_related("person")
        .order_by("id")
    ):
        liaisons.setdefault(user.person.organization_id, user)
    by_grid = {}
    for grid in grids:
        above = {code for code in grid.path.split("/") if code}
        units = [Unit(o, liaisons.get(o.pk)) for o in organizations if o.region.code in above]
        staffed = [u for u in units if u.liaison is not None]
        by_grid[grid.code] = staffed or units
    return by_grid


def _fits(unit: Unit, category: str) -> bool:
    if category == CallCategory.FIRE and unit.organization.kind in FIRE_KINDS:
        return True
    return any(word in unit.organization.name for word in CATEGORY_KEYWORDS.get(category, ()))


def _category_and_department(grid, person, units, rng):
    candidates = [u for u in units[grid.code] if u.organization.pk != person.organization_id]
    categories = list(CATEGORY_WEIGHTS)
    for _attempt in range(10):
        category = rng.choices(categories, weights=list(CATEGORY_WEIGHTS.values()))[0]
        fitting = [u for u in candidates if _fits(u, category)]
        if fitting:
            return category, rng.choice(fitting).organization
    # No unit fits: the township government (or whoever is there) takes the matter.
    governments = [u for u in candidates if u.organization.kind == "government"]
    return CallCategory.OTHER, rng.choice(governments or candidates).organization


def _place(call, grid, buildings, plan, rng) -> None:
    if buildings and rng.random() < 0.7:
        building = rng.choice(buildings)
        call.building = building
        call.address = building.address
        call.lon, call.lat = building.lon, building.lat
        return
    call.address = grid.name
    if plan is not None:
        call.lon, call.lat = point_in(plan.polygon, rng)
    elif grid.centroid_lon is not None:
        call.lon, call.lat = grid.centroid_lon, grid.centroid_lat


# --- how it went -----------------------------------------------------------------------------


def _minutes(rng, low, high) -> timedelta:
    return timedelta(minutes=rng.uniform(low, high))


def _story(kind: str, category: str, now: datetime, rng) -> Story:
    """The final state and step times of a call of this kind. Late calls are late by less
    than two escalation intervals, so they escalated once or twice."""
    arrive = arrive_limit(category)
    fix = fix_limit(category)
    interval = escalate_interval()

    def raised(earliest: timedelta, latest: timedelta) -> datetime:
        at = now - timedelta(seconds=rng.uniform(latest.total_seconds(), earliest.total_seconds()))
        return at.replace(second=0, microsecond=0)

    def on_time_arrival(start):
        return start + _minutes(
            rng, 0.15 * arrive.total_seconds() / 60, 0.9 * arrive.total_seconds() / 60
        )

    def late(deadline):
        return deadline + _minutes(rng, 5, 1.9 * interval.total_seconds() / 60)

    if kind in ("called", "called_late"):
        if kind == "called":
            start = raised(arrive * 0.8, timedelta(minutes=2))
        else:  # past its arrival limit by less than two intervals
            start = (now - late(arrive) + timedelta(minutes=1)).replace(second=0, microsecond=0)
        return Story(CallState.CALLED, start)
    if kind in ("on_site", "on_site_late"):
        if kind == "on_site":
            start = raised(fix * 0.8, arrive)
        else:
            start = (now - late(fix) + timedelta(minutes=1)).replace(second=0, microsecond=0)
        arrived = min(on_time_arrival(start), now - timedelta(minutes=1))
        return Story(CallState.ON_SITE, start, arrived_at=arrived)
    if kind == "withdrawn":
        start = raised(timedelta(days=DAYS), timedelta(hours=1))
        return Story(
            CallState.WITHDRAWN,
            start,
            closed_at=start + _minutes(rng, 3, 0.8 * arrive.total_seconds() / 60),
        )
    if kind == "fixed":
        start = raised(fix * 0.9 + timedelta(hours=6), timedelta(hours=3))
        arrived = on_time_arrival(start)
        fixed = arrived + (now - arrived) * rng.uniform(0.3, 0.9)
        if fixed > start + fix:
            fixed = start + fix * rng.uniform(0.5, 0.95)
        fixed = min(max(fixed, arrived + timedelta(minutes=20)), now - timedelta(minutes=5))
        return Story(CallState.FIXED, start, arrived_at=arrived, fixes=[fixed])
    # closed
    start = raised(timedelta(days=DAYS), fix + timedelta(days=2))
    if kind == "closed_late" and rng.random() < 0.5:
        arrived = late(start + arrive)
    else:
        arrived = on_time_arrival(start)
    if kind == "closed_late":
        fixed = (
            late(start + fix) if arrived <= start + arrive else start + fix * rng.uniform(0.3, 0.9)
        )
    else:
        fixed = start + fix * rng.uniform(0.2, 0.95)
    fixed = max(fixed, arrived + timedelta(minutes=30))
    fixes, rejects = [fixed], []
    if kind == "closed_reworked":
        first = arrived + (fixed - arrived) * rng.uniform(0.3, 0.6)
        rejected = first + _minutes(rng, 60, 600)
        if rejected >= fixed:
            rejected = first + (fixed - first) / 2
        fixes, rejects = [first, fixed], [rejected]
    rating = rng.choices([5, 4, 3, 2, 1], weights=[50, 30, 12, 5, 3])[0]
    if kind != "closed":
        rating = min(rating, rng.choice([2, 3, 4]))
    closed = fixes[-1] + _minutes(rng, 20, 36 * 60)
    return Story(
        CallState.CLOSED,
        start,
        arrived_at=arrived,
        fixes=fixes,
        rejects=rejects,
        closed_at=closed,
        rating=rating,
    )


def _liaison(call, units):
    for unit in units.get(call.region.code, []):
        if unit.organization.pk == call.department_id:
            return unit.liaison
    return None
