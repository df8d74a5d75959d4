"""Demo experts: the county's expert group from the core demo (who have accounts) and a few
more from hospitals, institutes and utilities, each with a field, title and employer."""

from __future__ import annotations

from frontline.core.models import OrganizationKind
from frontline.resources.demo_common import NewPeople, Units, counties
from frontline.resources.models import Expert, ExpertAvailability, ExpertField

# What the core demo writes in an expert's position ("化工专家") → the field.
CORE_FIELDS = {
    "化工": ExpertField.HAZMAT,
    "危险化学品": ExpertField.HAZMAT,
    "消防": ExpertField.FIRE,
    "建筑施工": ExpertField.CONSTRUCTION,
    "特种设备": ExpertField.SPECIAL_EQUIPMENT,
    "电气": ExpertField.ELECTRICITY,
    "地质灾害": ExpertField.GEOLOGY,
    "水利防汛": ExpertField.FLOOD,
    "森林防火": ExpertField.FOREST_FIRE,
    "医疗救护": ExpertField.MEDICAL,
    "燃气": ExpertField.GENERAL,
    "交通运输": ExpertField.GENERAL,
}
# field → (specialties, employers, titles)
PROFILES = {
    ExpertField.HAZMAT: (
        ["危化品泄漏处置", "印染助剂及化工原料储存安全", "有毒气体侦检"],
        ["浙江省化工研究院有限公司", "绍兴文理学院化学化工学院"],
        ["正高级工程师", "高级工程师", "教授"],
    ),
    ExpertField.FIRE: (
        ["高层建筑灭火救援", "纺织仓储火灾扑救", "消防设施检测"],
        ["浙江省消防协会", "绍兴市消防技术服务中心"],
        ["高级工程师", "注册消防工程师（一级）"],
    ),
    ExpertField.CONSTRUCTION: (
        ["建筑结构安全评估", "深基坑及高支模", "危旧房鉴定"],
        ["绍兴市建筑设计研究院", "浙江大学建筑设计研究院绍兴分院"],
        ["高级工程师", "正高级工程师"],
    ),
    ExpertField.SPECIAL_EQUIPMENT: (
        ["锅炉压力容器", "起重机械", "电梯"],
        ["绍兴市特种设备检测院"],
        ["高级工程师"],
    ),
    ExpertField.ELECTRICITY: (
        ["配电网抢修", "应急供电保障"],
        ["国网绍兴市柯桥区供电公司"],
        ["高级工程师", "工程师"],
    ),
    ExpertField.GEOLOGY: (
        ["滑坡崩塌监测预警", "地质灾害隐患点排查"],
        ["浙江省第七地质大队", "绍兴市地质环境监测站"],
        ["正高级工程师", "高级工程师"],
    ),
    ExpertField.FLOOD: (
        ["山塘水库安全", "平原河网排涝调度", "堤防抢险"],
        ["绍兴市水利水电勘测设计院", "柯桥区水文站"],
        ["正高级工程师", "高级工程师"],
    ),
    ExpertField.FOREST_FIRE: (
        ["森林火灾扑救指挥", "林区火险评估"],
        ["柯桥区林业技术推广站"],
        ["高级工程师", "林业工程师"],
    ),
    ExpertField.MEDICAL: (
        ["急诊急救", "灾害医学救援", "烧伤救治"],
        ["柯桥区人民医院", "绍兴市中心医院"],
        ["主任医师", "副主任医师"],
    ),
    ExpertField.METEOROLOGY: (
        ["台风暴雨预报", "强对流天气预警"],
        ["柯桥区气象局"],
        ["高级工程师"],
    ),
    ExpertField.MINING: (
        ["非煤矿山及采石场安全"],
        ["浙江省非煤矿山安全技术中心"],
        ["高级工程师"],
    ),
    ExpertField.GENERAL: (
        ["安全生产标准化", "事故调查分析", "应急预案编制与评估"],
        ["浙江省安全生产科学研究院", "绍兴市安全生产协会"],
        ["正高级工程师", "高级工程师", "注册安全工程师"],
    ),
}
# Experts beyond the core's expert group: fields a county calls on that it lacks.
EXTRA_FIELDS = [
    ExpertField.METEOROLOGY,
    ExpertField.MEDICAL,
    ExpertField.FLOOD,
    ExpertField.GEOLOGY,
    ExpertField.CONSTRUCTION,
    ExpertField.HAZMAT,
    ExpertField.MINING,
    ExpertField.GENERAL,
]
FIELD_NOUN = {
    ExpertField.HAZMAT: "危险化学品",
    ExpertField.FIRE: "消防",
    ExpertField.MINING: "矿山",
    ExpertField.GEOLOGY: "地质灾害",
    ExpertField.FLOOD: "防汛抗旱",
    ExpertField.FOREST_FIRE: "森林防火",
    ExpertField.CONSTRUCTION: "建筑施工",
    ExpertField.SPECIAL_EQUIPMENT: "特种设备",
    ExpertField.ELECTRICITY: "电力",
    ExpertField.MEDICAL: "医疗救护",
    ExpertField.METEOROLOGY: "气象",
    ExpertField.GENERAL: "综合安全",
}


def generate_experts(ctx) -> list[Expert]:
    """Expert rows for every county; returns them (the expert team is made of them)."""
    rng = ctx.rng
    experts: list[Expert] = []
    new_people = NewPeople(rng)
    for county in counties(ctx):
        units = Units([county.pk])
        group = units.first(OrganizationKind.EXPERT_GROUP, county)
        core = list(units.people.get(group.pk, [])) if group else []
        pairs = [(person, _core_field(person.position)) for person in core]
        for field in EXTRA_FIELDS:
            noun = FIELD_NOUN[field]
            pairs.append((new_people.add(county, group, f"{noun}专家"), field))
        for index, (person, field) in enumerate(pairs):
            specialties, employers, titles = PROFILES[field]
            availability = ExpertAvailability.AVAILABLE
            if index == 3:
                availability = ExpertAvailability.BUSY
            elif index == len(pairs) - 2:
                availability = ExpertAvailability.UNAVAILABLE
            experts.append(
                Expert(
                    region=county,
                    person=person,
                    field=field,
                    specialty="、".join(rng.sample(specialties, min(2, len(specialties)))),
                    title=rng.choice(titles),
                    employer=rng.choice(employers),
                    availability=availability,
                    notes="在外地出差，12月上旬返回。"
                    if availability == ExpertAvailability.UNAVAILABLE
                    else "",
                )
            )
    # bulk_create takes the ids the new people got here (the rows hold the objects).
    new_people.save()
    Expert.objects.bulk_create(experts, batch_size=500)
    ctx.count("experts", len(experts))
    ctx.count("people.resources", len(new_people.rows))
    return experts


def _core_field(position: str) -> str:
    return CORE_FIELDS.get(position.removesuffix("专家"), ExpertField.GENERAL)
