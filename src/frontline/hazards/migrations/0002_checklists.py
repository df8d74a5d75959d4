"""Seed the standard checklists (检查表) with their items and legal basis.

Each item cites the clause an inspector quotes on the rectification notice. Items whose
failure may constitute a major hazard (重大隐患判定标准) are marked `major_if_failed`.
"""

from django.db import migrations

FIRE_LAW = "《中华人民共和国消防法》"
SAFETY_LAW = "《中华人民共和国安全生产法》"
GB50016 = "GB 50016《建筑设计防火规范》"
GB11652 = "GB 11652《烟花爆竹作业安全技术规程》"
GB15603 = "GB 15603《危险化学品仓库储存通则》"
GB40248 = "GB/T 40248《人员密集场所消防安全管理》"
HAZCHEM_REG = "《危险化学品安全管理条例》"
FIREWORKS_REG = "《烟花爆竹安全管理条例》"
FIREWORKS_MAJOR = "《烟花爆竹生产经营单位重大生产安全事故隐患判定标准》"

# (code, name, description, [(text, legal basis, major_if_failed)])
TEMPLATES = [
    (
        "small-venues-fire",
        "九小场所消防安全检查表",
        "小商店、小餐饮、小旅馆、小歌舞娱乐场所、小网吧、小美容洗浴场所、小医院、"
        "小学校（幼儿园）、小生产加工企业、小仓库等九小场所的日常消防安全检查。",
        [
            ("疏散通道、安全出口畅通，未被占用、堵塞或封闭", f"{FIRE_LAW}第二十八条", False),
            ("按规定配置灭火器且在有效期内、压力正常", f"{FIRE_LAW}第十六条第一款第二项", False),
            (
                "应急照明灯和疏散指示标志完好有效",
                f"{FIRE_LAW}第十六条；{GB50016}第10.3节",
                False,
            ),
            (
                "未违规住人，住宿与生产经营储存场所按规定进行防火分隔",
                f"{FIRE_LAW}第十九条",
                True,
            ),
            (
                "电气线路穿管保护，无私拉乱接电线、无超负荷用电",
                f"{FIRE_LAW}第二十七条",
                False,
            ),
            (
                "未在室内为电动自行车及其蓄电池充电",
                f"{FIRE_LAW}第十六条；《高层民用建筑消防安全管理规定》第三十七条",
                False,
            ),
            (
                "门窗未设置影响逃生和灭火救援的铁栅栏、广告牌等障碍物",
                f"{FIRE_LAW}第二十八条",
                False,
            ),
            (
                "厨房燃气管道、阀门、软管完好，安装可燃气体报警装置",
                "《城镇燃气管理条例》第二十八条",
                False,
            ),
            ("未违规使用、储存易燃易爆危险品", f"{FIRE_LAW}第二十三条", False),
            (
                "经营者和从业人员会报警、会使用灭火器、会组织疏散",
                f"{FIRE_LAW}第十六条第一款第五项",
                False,
            ),
            ("落实每日防火巡查，建立消防安全检查记录", f"{FIRE_LAW}第十六条第一款第四项", False),
        ],
    ),
    (
        "fireworks-workshop",
        "烟花爆竹生产工房安全检查表",
        "烟花爆竹生产企业涉药工房、中转库、成品库的专项检查。",
        [
            (
                "工房内作业人员不超过核定人数（不超员）",
                f"{GB11652}第4.1条；{FIREWORKS_MAJOR}第三条",
                True,
            ),
            (
                "工房内药物存放量不超过核定限量（不超量）",
                f"{GB11652}第4.2条；{FIREWORKS_MAJOR}第三条",
                True,
            ),
            (
                "设置人体静电消除装置，作业人员穿戴防静电服装和鞋",
                f"{GB11652}第5.3条；{FIREWORKS_MAJOR}第三条",
                True,
            ),
            ("工房门口公示定员、定量、定岗标识牌", f"{GB11652}第4.1条", False),
            (
                "防雷设施完好并经检测合格",
                f"{GB11652}第5.4条；GB 50161《烟花爆竹工程设计安全标准》",
                True,
            ),
            (
                "工房间外部安全距离、内部安全距离符合要求",
                "GB 50161《烟花爆竹工程设计安全标准》第4章",
                True,
            ),
            (
                "涉药工序未擅自改变工房用途或生产工艺",
                f"{FIREWORKS_REG}第八条；{FIREWORKS_MAJOR}第三条",
                True,
            ),
            (
                "无违规使用氯酸钾等禁用药物",
                f"{FIREWORKS_REG}第十二条；{FIREWORKS_MAJOR}第三条",
                True,
            ),
            ("温湿度监测装置正常运行，超限时停止作业", f"{GB11652}第5.2条", False),
            (
                "主要负责人、安全管理人员经考核合格，特种作业人员持证上岗",
                f"{SAFETY_LAW}第二十七条、第三十条",
                False,
            ),
            ("工房内无与生产无关的物品，散落药物及时清理", f"{GB11652}第6.1条", False),
            (
                "视频监控覆盖涉药工房并正常运行",
                "《烟花爆竹生产企业安全生产许可证实施办法》第十条",
                False,
            ),
        ],
    ),
    (
        "hazchem-storage",
        "危险化学品储存安全检查表",
        "危险化学品生产、经营、使用单位的仓库和储存场所检查。",
        [
            ("危险化学品储存在专用仓库内，由专人负责管理", f"{HAZCHEM_REG}第二十四条", False),
            (
                "按性质分区、分类、分库储存，禁忌物料未混存",
                f"{GB15603}第6.2条；{HAZCHEM_REG}第二十四条",
                True,
            ),
            ("储存量不超过仓库设计储存量", f"{GB15603}第6.3条", True),
            (
                "堆垛间距、墙距、柱距、灯距、通道宽度符合要求",
                f"{GB15603}第6.4条",
                False,
            ),
            (
                "甲乙类仓库电气设备为防爆型，无非防爆电器",
                f"{GB50016}第3.6节；GB 50058《爆炸危险环境电力装置设计规范》",
                True,
            ),
            (
                "可燃、有毒气体检测报警装置设置并正常运行",
                "GB/T 50493《石油化工可燃气体和有毒气体检测报警设计标准》",
                True,
            ),
            ("剧毒化学品及易制爆化学品实行双人收发、双人保管", f"{HAZCHEM_REG}第二十四条", False),
            ("出入库核查登记，建立储存台账", f"{HAZCHEM_REG}第二十五条", False),
            ("安全技术说明书和安全标签齐全", f"{HAZCHEM_REG}第十五条", False),
            (
                "配备相应的消防器材、应急救援器材和个体防护装备",
                f"{SAFETY_LAW}第八十二条；{GB15603}第8章",
                False,
            ),
            ("重大危险源已辨识、登记建档、备案并监控", f"{SAFETY_LAW}第四十条", True),
            ("从业人员经安全培训合格，熟悉应急处置措施", f"{SAFETY_LAW}第二十八条", False),
        ],
    ),
    (
        "crowded-places",
        "人员密集场所消防安全检查表",
        "商场市场、车站码头、体育文化场馆、养老机构、医院等人员密集场所检查。",
        [
            (
                "确定消防安全责任人、管理人，落实消防安全责任制",
                f"{FIRE_LAW}第十六条；{GB40248}第4章",
                False,
            ),
            (
                "疏散通道、安全出口畅通，营业期间未锁闭",
                f"{FIRE_LAW}第二十八条；{GB40248}第7章",
                True,
            ),
            (
                "火灾自动报警系统、自动喷水灭火系统保持正常运行",
                f"{FIRE_LAW}第十六条第一款第三项",
                True,
            ),
            (
                "消防控制室实行24小时双人值班，值班人员持证上岗",
                "GB 25506《消防控制室通用技术要求》第4.2条",
                False,
            ),
            ("防火门、防火卷帘完好，常闭式防火门保持关闭", f"{GB50016}第6.5节", False),
            ("室内消火栓完好，水压、水量符合要求", f"{GB50016}第8.2节", False),
            (
                "未使用易燃可燃材料装修，装修材料燃烧性能符合要求",
                "GB 50222《建筑内部装修设计防火规范》",
                False,
            ),
            (
                "制定灭火和应急疏散预案，每半年至少组织一次演练",
                f"{FIRE_LAW}第十六条；{GB40248}第9章",
                False,
            ),
            ("消防设施每年至少全面检测一次", f"{FIRE_LAW}第十六条第一款第三项", False),
            ("营业期间每2小时至少一次防火巡查", f"{GB40248}第6.3条", False),
            ("建筑消防设施未被擅自停用、拆除", f"{FIRE_LAW}第二十八条", True),
        ],
    ),
]


def seed(apps, schema_editor):
    ChecklistTemplate = apps.get_model("hazards", "ChecklistTemplate")
    ChecklistItem = apps.get_model("hazards", "ChecklistItem")
    for code, name, description, items in TEMPLATES:
        template, _ = ChecklistTemplate.objects.update_or_create(
            code=code, defaults={"name": name, "description": description, "is_active": True}
        )
        for order, (text, basis, major) in enumerate(items, start=1):
            ChecklistItem.objects.update_or_create(
                template=template,
                order=order,
                defaults={"text": text, "legal_basis": basis, "major_if_failed": major},
            )


def unseed(apps, schema_editor):
    ChecklistTemplate = apps.get_model("hazards", "ChecklistTemplate")
    Inspection = apps.get_model("hazards", "Inspection")
    codes = [code for code, *_ in TEMPLATES]
    InspectionPlan = apps.get_model("hazards", "InspectionPlan")
    used = set(Inspection.objects.values_list("template_id", flat=True))
    used |= set(InspectionPlan.objects.values_list("template_id", flat=True))
    ChecklistTemplate.objects.filter(code__in=codes).exclude(pk__in=used).delete()


class Migration(migrations.Migration):
    dependencies = [("hazards", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
