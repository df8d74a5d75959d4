"""The demo ledger's data: what each kind of depot keeps, the year's scenarios by season,
restocking rounds and stocktakes (used by `demo_stock_plan`)."""

from __future__ import annotations

from dataclasses import dataclass

from frontline.resources.models import DepotKind, IssuePurpose

K = DepotKind
P = IssuePurpose
# depot kind → [(item code, target low, target high, lent: comes back after use)]
ITEM_PLAN = {
    K.PRODUCTION_SAFETY: [
        ("2020101", 60, 150, False), ("2010101", 4, 8, True), ("2010102", 30, 60, False),
        ("2010301", 6, 12, True), ("2010302", 4, 8, False), ("2050101", 3, 6, True),
        ("2040102", 10, 30, True), ("2060101", 6, 12, True), ("1040102", 500, 2000, False),
    ],
    K.FLOOD: [
        ("3010101", 3000, 8000, False), ("3010102", 200, 600, False),
        ("3010201", 500, 2000, False), ("3010301", 20, 60, False), ("3020101", 200, 500, False),
        ("3020201", 50, 200, False), ("2010201", 80, 200, True), ("2010202", 20, 50, True),
        ("2030101", 5, 12, True), ("2030102", 1, 3, True), ("2070101", 1, 2, True),
        ("2040101", 1, 2, True), ("2040201", 1, 3, True), ("2040102", 20, 50, True),
        ("1020201", 20, 50, True),
    ],
    K.FOREST_FIRE: [
        ("2020102", 10, 30, True), ("2020201", 50, 150, False), ("2020202", 30, 80, False),
        ("2010102", 20, 40, False), ("2040102", 20, 40, True), ("2060101", 8, 16, True),
        ("1010201", 20, 50, False), ("1010102", 10, 30, False),
    ],
    K.RELIEF: [
        ("1030101", 20, 60, True), ("1030102", 10, 30, True), ("1020101", 200, 500, False),
        ("1020102", 100, 300, False), ("1030201", 100, 300, True), ("1010101", 50, 150, False),
        ("1010102", 30, 80, False), ("1010103", 30, 80, False), ("1010201", 100, 300, False),
        ("1040101", 50, 150, False), ("1040102", 1000, 5000, False),
    ],
}  # fmt: skip
KEY_ITEMS = {
    K.PRODUCTION_SAFETY: {"2020101", "2010101", "2010102"},
    K.FLOOD: {"3010101", "2010201", "2030101"},
    K.FOREST_FIRE: {"2020102", "2020201"},
    K.RELIEF: {"1020101", "1030201", "1010201", "1030101"},
    K.COMPREHENSIVE: {"3010101", "2010201", "1020101", "1030201", "1010201", "2020101"},
}
# Food, water, kits and masks go to village committees before they expire; extinguishers,
# respirators and life jackets are scrapped and replaced at the end of their life.
ROTATE_TO_UNITS = {"1010101", "1010102", "1010103", "1010201", "1040101", "1040102"}
MISSED_ROTATION = 0.12
# Late issues that leave a depot below its minimum: consumables without a shelf life.
HEAVY_ITEMS = {
    "3010101": "{md}{village}河道堤岸塌方抢险",
    "2020201": "{md}{village}山林火情扑救",
    "1020101": "{md}{village}民房火灾受灾群众救助",
}
SUPPLIERS = {
    K.PRODUCTION_SAFETY: ["浙江安盾消防器材有限公司", "绍兴市柯桥区应急物资供应有限公司"],
    K.FLOOD: ["绍兴华联防汛物资有限公司", "浙江水利物资储备中心（协议储备）"],
    K.FOREST_FIRE: ["浙江林安消防装备有限公司", "绍兴市柯桥区应急物资供应有限公司"],
    K.RELIEF: ["柯桥区粮油储备有限公司", "绍兴市救灾物资采购中心（政府采购）"],
    K.COMPREHENSIVE: ["绍兴市柯桥区应急物资供应有限公司", "浙江省应急物资储备中心（调拨）"],
}
ADJUST_REASONS = ["受潮霉变报损", "鼠咬破损报损", "搬运过程损坏报损"]


@dataclass
class Scenario:
    name: str
    kind: str
    start: tuple[int, int] | None  # (month, day); None: the typhoon
    span: int
    purpose: str
    ref: str
    lines: list[tuple[str, float, float]]  # (item code, share of target low, high)
    chance: float
    street_chance: float | None = None  # streets are urban: fewer forest fires


SCENARIOS = [
    Scenario("plum_rain", K.FLOOD, (6, 14), 24, P.INCIDENT, "{md}梅雨期强降雨内涝处置（{village}）",
             [("3010101", .05, .2), ("3010201", .05, .2), ("3020101", .05, .15),
              ("3010301", .1, .25), ("2030101", .2, .5), ("2010201", .1, .3)], .9),
    Scenario("typhoon", K.FLOOD, None, 0, P.INCIDENT, "{typhoon}防御（{township}）",
             [("3010101", .1, .3), ("3010102", .1, .4), ("2010201", .2, .5), ("2010202", .2, .5),
              ("2070101", .5, 1), ("2040201", .3, 1), ("2040101", .5, 1), ("2030101", .3, .6),
              ("1020201", .2, .5)], 1),
    Scenario("flood_drill", K.FLOOD, (5, 8), 20, P.DRILL, "{year}年防汛防台应急演练",
             [("3010101", .02, .05), ("2010201", .1, .2), ("2030101", .1, .3)], .8),
    Scenario("hill_fire", K.FOREST_FIRE, (12, 5), 120, P.INCIDENT, "{md}{village}山林火情扑救",
             [("2020201", .1, .25), ("2020202", .05, .15), ("2020102", .2, .4),
              ("1010201", .1, .3), ("1010102", .05, .15)], 1, .25),
    Scenario("qingming_fire", K.FOREST_FIRE, (4, 2), 6, P.INCIDENT,
             "{md}{village}祭扫用火引发山林火情扑救",
             [("2020201", .1, .2), ("2020102", .2, .4), ("1010201", .1, .2)], .7, .1),
    Scenario("forest_drill", K.FOREST_FIRE, (11, 1), 20, P.DRILL, "{year}年森林消防实战演练",
             [("2020201", .03, .08), ("1010201", .05, .1), ("2020102", .1, .3)], .7),
    Scenario("cold_wave", K.RELIEF, (1, 8), 18, P.UNIT, "寒潮期间困难群众救助",
             [("1020101", .05, .15), ("1020102", .05, .15)], .8),
    Scenario("disaster_day", K.RELIEF, (5, 9), 5, P.DRILL, "5·12防灾减灾日应急避险演练",
             [("1030101", .1, .2), ("1010201", .02, .06), ("1010101", .02, .06),
              ("1040101", .05, .1)], .8),
    Scenario("typhoon_shelter", K.RELIEF, None, 0, P.SHELTER, "{typhoon}转移群众安置",
             [("1010201", .1, .25), ("1010101", .1, .25), ("1030201", .1, .3),
              ("1020101", .05, .15), ("1010103", .1, .25)], 1),
    Scenario("house_fire", K.RELIEF, (12, 1), 330, P.INCIDENT, "{md}{village}民房火灾受灾群众救助",
             [("1020101", .01, .03), ("1040101", .02, .05), ("1010101", .02, .05)], .5),
    Scenario("safety_month", K.PRODUCTION_SAFETY, (6, 3), 25, P.DRILL,
             "{year}年“安全生产月”消防应急演练",
             [("2020101", .08, .2), ("2010102", .05, .15), ("2010101", .3, .5),
              ("2050101", .3, .6)], .9),
    Scenario("factory_fire", K.PRODUCTION_SAFETY, (12, 1), 330, P.INCIDENT,
             "{md}{enterprise}火灾处置",
             [("2020101", .1, .25), ("2010101", .3, .6), ("2050101", .3, .6),
              ("2010301", .3, .6)], .8),
    Scenario("chemical_leak", K.PRODUCTION_SAFETY, (12, 1), 330, P.INCIDENT,
             "{md}{enterprise}危化品泄漏处置",
             [("2010302", .2, .5), ("2050101", .3, .6), ("1040102", .05, .1)], .15),
]  # fmt: skip
# Restocking by depot kind: (month, day, span) of each round.
RESTOCK = {
    K.PRODUCTION_SAFETY: [(7, 5, 20)],
    K.FLOOD: [(4, 20, 15), (9, 25, 25)],
    K.FOREST_FIRE: [(4, 20, 10), (10, 10, 20)],
    K.RELIEF: [(3, 1, 14), (10, 10, 20)],
    K.COMPREHENSIVE: [(4, 15, 10), (10, 15, 10)],
}
QUARTER_ENDS = [(12, 31), (3, 31), (6, 30), (9, 30)]
