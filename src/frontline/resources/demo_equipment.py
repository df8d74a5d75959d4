"""Demo equipment and vehicles: fire engines of the fire stations and full-time teams, the
squads' rescue vehicles, boats, pumps, generators, lighting and drones, the county depots'
engineering machines and command vehicle; plates and serial numbers, inspection and
maintenance due dates (a few overdue), most available, a few in use or in the workshop."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from frontline.core.models import RegionLevel
from frontline.resources.demo_common import near
from frontline.resources.models import (
    VEHICLE_KINDS,
    Capability,
    Depot,
    DepotKind,
    Equipment,
    EquipmentKind,
    EquipmentStatus,
    RescueTeam,
    ResourceEvent,
    TeamKind,
    TeamStatus,
    pack_capabilities,
)

C = Capability
K = EquipmentKind
# (kind, name, model, capabilities)
FIRE_ENGINE = (K.FIRE_ENGINE, "水罐消防车", "SG60 水罐消防车（6吨）", [C.FIREFIGHTING])
FOAM_ENGINE = (K.FIRE_ENGINE, "泡沫消防车", "PM80 泡沫消防车（8吨）", [C.FIREFIGHTING, C.HAZMAT])
LADDER = (
    K.FIRE_ENGINE,
    "登高平台消防车",
    "DG32 登高平台消防车（32米）",
    [C.FIREFIGHTING, C.HIGH_ANGLE],
)
RESCUE_ENGINE = (
    K.RESCUE_VEHICLE,
    "抢险救援消防车",
    "JY100 抢险救援车",
    [C.COLLAPSE, C.TRAFFIC, C.HIGH_ANGLE, C.LIGHTING],
)
RESCUE_VAN = (
    K.RESCUE_VEHICLE,
    "应急抢险救援车",
    "江铃特顺 抢险救援车",
    [C.TRANSPORT, C.LIGHTING, C.TRAFFIC],
)
COMMAND_CAR = (K.RESCUE_VEHICLE, "救援指挥车", "丰田普拉多 指挥车", [C.COMMUNICATION, C.TRANSPORT])
MICRO_ENGINE = (K.FIRE_ENGINE, "微型消防车", "电动微型消防车（0.5吨）", [C.FIREFIGHTING])
PORTABLE_PUMP = (K.PUMP, "手抬机动消防泵", "BJ22 手抬机动消防泵", [C.FIREFIGHTING, C.DRAINAGE])
DRAIN_PUMP = (K.PUMP, "柴油机排涝泵", "IS100-80-160 柴油机水泵", [C.DRAINAGE])
PUMP_TRUCK = (K.PUMP, "大流量排水抢险车", "3000立方米/小时 排水抢险车", [C.DRAINAGE])
BOAT = (K.BOAT, "冲锋舟", "RX-4.7 玻璃钢冲锋舟（40马力）", [C.WATER_RESCUE])
DINGHY = (K.BOAT, "橡皮艇", "3.6米 充气橡皮艇", [C.WATER_RESCUE])
GENERATOR = (K.GENERATOR, "移动发电机", "汽油发电机 6kW", [C.POWER])
POWER_CAR = (K.GENERATOR, "应急电源车", "200kW 应急电源车", [C.POWER, C.LIGHTING])
LIGHT_TOWER = (K.LIGHTING, "移动照明灯塔", "全方位移动照明灯塔 4×500W", [C.LIGHTING])
BREATHING = (K.BREATHING, "正压式空气呼吸器", "RHZKF6.8/30", [C.FIREFIGHTING, C.HAZMAT])
DRONE = (K.DRONE, "侦察无人机", "DJI Matrice 30T", [C.COMMUNICATION])
SAT_PHONE = (K.RADIO, "卫星电话及对讲机组", "天通卫星电话 + 数字对讲机", [C.COMMUNICATION])
COMMS_CAR = (K.RADIO, "应急通信指挥车", "卫星通信指挥车", [C.COMMUNICATION, C.POWER])
TROOP_TRUCK = (K.TRUCK, "运兵车", "依维柯 运兵车（17座）", [C.TRANSPORT, C.FOREST_FIRE])
CARGO_TRUCK = (K.TRUCK, "物资运输车", "东风 厢式货车（8吨）", [C.TRANSPORT])
EXCAVATOR = (K.EXCAVATOR, "挖掘机", "ZX200 挖掘机", [C.EARTHWORK])
LOADER = (K.EXCAVATOR, "装载机", "ZL50 装载机", [C.EARTHWORK, C.TRANSPORT])
CHAINSAW = (K.OTHER, "油锯及破拆工具组", "斯蒂尔 MS382 油锯", [C.EARTHWORK, C.COLLAPSE])

# team kind → [(spec, how many, chance)]
TEAM_KIT = {
    TeamKind.FIRE_BRIGADE: [(FIRE_ENGINE, 2, 1), (FOAM_ENGINE, 1, 1), (RESCUE_ENGINE, 1, 1),
                            (LADDER, 1, 0.4), (BREATHING, 4, 1), (DRONE, 1, 0.7)],
    TeamKind.FULLTIME_FIRE: [(FIRE_ENGINE, 1, 1), (FIRE_ENGINE, 1, 0.5), (RESCUE_VAN, 1, 0.4),
                             (PORTABLE_PUMP, 1, 1), (BREATHING, 2, 1)],
    TeamKind.MICRO_FIRE_STATION: [(MICRO_ENGINE, 1, 0.5), (PORTABLE_PUMP, 1, 0.3),
                                  (BREATHING, 2, 0.6)],
    TeamKind.RESCUE_SQUAD: [(RESCUE_VAN, 1, 0.9), (BOAT, 1, 0.8), (DRAIN_PUMP, 2, 0.8),
                            (GENERATOR, 1, 0.9), (LIGHT_TOWER, 1, 0.7), (DRONE, 1, 0.6),
                            (SAT_PHONE, 1, 0.6), (CHAINSAW, 1, 0.5)],
    TeamKind.MILITIA: [(TROOP_TRUCK, 1, 0.6), (CHAINSAW, 1, 0.5)],
    TeamKind.SOCIAL: [(COMMAND_CAR, 1, 1), (BOAT, 2, 1), (DRONE, 2, 1), (SAT_PHONE, 1, 1),
                      (GENERATOR, 1, 1)],
    TeamKind.VOLUNTEER: [(CARGO_TRUCK, 1, 0.2)],
}  # fmt: skip
DEPOT_KIT = {
    DepotKind.COMPREHENSIVE: [(EXCAVATOR, 2, 1), (LOADER, 1, 1), (CARGO_TRUCK, 2, 1),
                              (COMMS_CAR, 1, 1), (POWER_CAR, 1, 1)],
    DepotKind.FLOOD: [(DINGHY, 1, 0.5), (DRAIN_PUMP, 1, 0.3)],
}  # fmt: skip
COUNTY_FLOOD_KIT = [(PUMP_TRUCK, 2, 1), (BOAT, 4, 1), (LIGHT_TOWER, 3, 1), (GENERATOR, 3, 1)]
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def generate_equipment(ctx) -> None:
    rng = ctx.rng
    today = timezone.localdate()
    # A demo fills an empty database: every team and depot there is this seed's.
    teams = list(RescueTeam.objects.order_by("pk"))
    depots = list(Depot.objects.order_by("pk"))
    county_ids = {r.pk for r in ctx.state["regions"].values() if r.level == RegionLevel.COUNTY}
    plates: set[str] = set()
    rows: list[Equipment] = []
    for team in teams:
        for spec, count, chance in TEAM_KIT.get(team.kind, []):
            for number in range(count):
                if rng.random() < chance:
                    rows.append(_unit(spec, number, rng, today, plates, team=team))
    for depot in depots:
        kit = DEPOT_KIT.get(depot.kind, [])
        if depot.kind == DepotKind.FLOOD and depot.region_id in county_ids:
            kit = COUNTY_FLOOD_KIT
        for spec, count, chance in kit:
            for number in range(count):
                if rng.random() < chance:
                    rows.append(_unit(spec, number, rng, today, plates, depot=depot))
    _statuses(rows, rng)
    Equipment.objects.bulk_create(rows, batch_size=1000)
    events = [
        ResourceEvent(
            region_id=unit.region_id,
            subject="equipment",
            object_id=unit.pk,
            at=timezone.now() - timedelta(hours=rng.randint(2, 200)),
            kind="status",
            from_state=EquipmentStatus.AVAILABLE,
            to_state=unit.status,
            note=unit.notes,
        )
        for unit in rows
        if unit.status != EquipmentStatus.AVAILABLE
    ]
    ResourceEvent.objects.bulk_create(events)
    ctx.count("equipment", len(rows))
    ctx.count("equipment.overdue", sum(bool(unit.overdue(today)) for unit in rows))
    ctx.count("resource_events", len(events))


def _unit(spec, number: int, rng, today, plates: set[str], *, team=None, depot=None):
    kind, name, model, capabilities = spec
    home = team or depot
    vehicle = kind in VEHICLE_KINDS or model.endswith("车")
    lon, lat = near(home.lon, home.lat, rng, 40)
    unit = Equipment(
        region_id=home.region_id,
        name=f"{name}{number + 1}号" if vehicle or kind == K.BOAT else name,
        kind=kind,
        model=model,
        serial_no=f"{kind[:2].upper()}{rng.randint(2016, 2025)}{rng.randrange(10**6):06d}",
        plate_no=_plate(rng, plates, fire=team is not None and team.kind == TeamKind.FIRE_BRIGADE)
        if vehicle
        else "",
        capabilities=pack_capabilities(capabilities),
        team=team,
        depot=depot,
        base_address=home.address,
        lon=lon,
        lat=lat,
    )
    # Vehicles and boats are inspected once a year, breathing apparatus too; everything is
    # serviced every three to six months. About one in twelve is past a due date.
    if vehicle or kind in {K.BOAT, K.BREATHING, K.PUMP}:
        unit.next_inspection_due = today + timedelta(days=rng.randint(-30, 335))
    if kind != K.OTHER:
        unit.next_maintenance_due = today + timedelta(days=rng.randint(-14, 170))
    return unit


def _plate(rng, plates: set[str], *, fire: bool) -> str:
    while True:
        if fire:  # fire and rescue vehicles carry the 应急 plate
            plate = f"浙D{rng.randrange(10**4):04d}应急"
        else:
            plate = f"浙D{rng.choice(PLATE_LETTERS)}{rng.randrange(10**4):04d}"
        if plate not in plates:
            plates.add(plate)
            return plate


def _statuses(rows: list[Equipment], rng) -> None:
    for unit in rows:
        team_status = unit.team.status if unit.team is not None else None
        if team_status == TeamStatus.DEPLOYED and unit.kind in VEHICLE_KINDS:
            unit.status, unit.notes = EquipmentStatus.IN_USE, "随队出动"
            continue
        draw = rng.random()
        if draw < 0.03:
            unit.status, unit.notes = EquipmentStatus.IN_USE, "借调邻近乡镇使用"
        elif draw < 0.07:
            unit.status, unit.notes = EquipmentStatus.MAINTENANCE, "定期保养，预计三日内完成"
        elif draw < 0.09:
            unit.status, unit.notes = EquipmentStatus.OUT_OF_ORDER, "发动机故障，待厂家维修"
