"""The seeded supplies catalogue: the three classes of GB/T 38565-2020 and a working set of
the items stations keep (tents, quilts, folding beds, life jackets, pumps, sandbags,
extinguishers, breathing apparatus, generators, lighting, food and water).

The top level and the coding scheme (1 + 2 + 2 + 2 digits, 99 the catch-all) are the
standard's. The middle, small and fine classes below are this project's working assignment
within that scheme, not a copy of the standard's table; a county that holds the published
table replaces or extends rows through the admin, and codes already in use stay stable.
"""

from __future__ import annotations

# (code, name) of classes: 1 digit class, 3 digits middle class, 5 digits small class.
CATEGORIES: list[tuple[str, str]] = [
    ("1", "基本生活保障物资"),
    ("101", "食品饮用水"),
    ("10101", "方便食品"),
    ("10102", "饮用水"),
    ("102", "衣被"),
    ("10201", "被褥"),
    ("10202", "服装"),
    ("103", "住宿"),
    ("10301", "帐篷"),
    ("10302", "床具"),
    ("104", "卫生防疫"),
    ("10401", "个人卫生"),
    ("199", "其他生活物资"),
    ("19999", "其他生活物资"),
    ("2", "应急装备及配套物资"),
    ("201", "个体防护装备"),
    ("20101", "呼吸防护"),
    ("20102", "水上防护"),
    ("20103", "身体防护"),
    ("202", "消防灭火装备"),
    ("20201", "灭火器具"),
    ("20202", "森林灭火工具"),
    ("203", "排水抢险装备"),
    ("20301", "排水泵"),
    ("204", "照明供电装备"),
    ("20401", "照明"),
    ("20402", "发电"),
    ("205", "侦检装备"),
    ("20501", "气体检测"),
    ("206", "通信装备"),
    ("20601", "对讲通信"),
    ("207", "水上救援装备"),
    ("20701", "舟艇"),
    ("299", "其他装备"),
    ("29999", "其他装备"),
    ("3", "工程材料与机械加工设备"),
    ("301", "防汛抢险材料"),
    ("30101", "袋类"),
    ("30102", "土工材料"),
    ("30103", "砂石"),
    ("302", "木材钢材"),
    ("30201", "木材"),
    ("30202", "钢材"),
    ("303", "工程机械"),
    ("30301", "挖掘装载机械"),
    ("399", "其他工程物资"),
    ("39999", "其他工程物资"),
]

# (code, name, unit, shelf life in days or None, days of near-expiry warning)
ITEMS: list[tuple[str, str, str, int | None, int]] = [
    ("1010101", "方便面", "箱", 180, 30),
    ("1010102", "压缩饼干", "箱", 1095, 60),
    ("1010103", "自热米饭", "箱", 365, 30),
    ("1010201", "瓶装饮用水", "箱", 365, 30),
    ("1020101", "棉被", "床", None, 30),
    ("1020102", "毛毯", "条", None, 30),
    ("1020201", "冲锋衣", "件", None, 30),
    ("1030101", "单帐篷", "顶", None, 30),
    ("1030102", "棉帐篷", "顶", None, 30),
    ("1030201", "折叠床", "张", None, 30),
    ("1040101", "家庭应急包", "个", 1095, 60),
    ("1040102", "医用外科口罩", "只", 1095, 60),
    ("2010101", "正压式空气呼吸器", "具", None, 30),
    ("2010102", "过滤式消防自救呼吸器", "具", 1825, 90),
    ("2010201", "救生衣", "件", 1825, 90),
    ("2010202", "救生圈", "个", None, 30),
    ("2010301", "消防战斗服", "套", None, 30),
    ("2010302", "防化服", "套", 1825, 90),
    ("2020101", "手提式干粉灭火器", "具", 1825, 90),
    ("2020102", "风力灭火机", "台", None, 30),
    ("2020201", "二号扑火工具", "把", None, 30),
    ("2020202", "灭火耙", "把", None, 30),
    ("2030101", "潜水泵", "台", None, 30),
    ("2030102", "移动式抽水机组", "台", None, 30),
    ("2040101", "移动照明灯塔", "台", None, 30),
    ("2040102", "强光手电", "支", None, 30),
    ("2040201", "柴油发电机组", "台", None, 30),
    ("2050101", "四合一气体检测仪", "台", None, 30),
    ("2060101", "手持对讲机", "部", None, 30),
    ("2070101", "冲锋舟", "艘", None, 30),
    ("3010101", "编织袋", "条", None, 30),
    ("3010102", "吸水膨胀袋", "条", 1825, 90),
    ("3010201", "土工布", "平方米", None, 30),
    ("3010301", "砂石料", "立方米", None, 30),
    ("3020101", "木桩", "根", None, 30),
    ("3020201", "钢管", "根", None, 30),
    ("3030101", "挖掘机", "台", None, 30),
]


def seed_catalogue(category_model, item_model) -> int:
    """Add the classes and items that are missing (by code); never overwrite a row a county
    has edited. Takes the model classes so a data migration can pass its historical ones.
    Returns how many rows were added."""
    added = 0
    by_code = {c.code: c for c in category_model.objects.all()}
    for code, name in CATEGORIES:
        if code in by_code:
            continue
        parent = by_code.get(code[:-2]) if len(code) > 1 else None
        by_code[code] = category_model.objects.create(code=code, name=name, parent=parent)
        added += 1
    existing = set(item_model.objects.values_list("code", flat=True))
    rows = [
        item_model(
            code=code,
            category=by_code[code[:5]],
            name=name,
            unit=unit,
            shelf_life_days=shelf_life,
            expiry_warning_days=warning,
        )
        for code, name, unit, shelf_life, warning in ITEMS
        if code not in existing
    ]
    item_model.objects.bulk_create(rows)
    return added + len(rows)
