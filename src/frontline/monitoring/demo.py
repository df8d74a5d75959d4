"""Demo data for monitoring: the devices of every township, a few days of their history and
alarms in every state, so the console and its charts are not empty right after `make demo`.

Per township: wireless smoke alarms of elderly people living alone (in villages), residual
current and cable temperature monitors in textile and dyeing works, fire alarm controllers
(user information transmission devices, coded by their GB/T 26875.3 address in decimal) in
crowded places and large enterprises, hydrants, a water-level and a rain gauge by the river,
occupancy counters with temperature/humidity in every fireworks workshop, gas detectors in
restaurants, ground displacement at a slope (towns), and cameras.

Tokens: a demo device's token is `demo_token(seed, code)`, an HMAC of its code keyed by the
seed. Only its hash is stored, as for any device; the simulator derives the token again.
Anyone who knows the seed knows the tokens: fine for a demo, and the reason a production
database is never seeded (docs/monitoring-demo.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import defaultdict
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from shapely.geometry import Point

from frontline.core.demo import register
from frontline.core.models import RegionLevel
from frontline.hazards.models import Industry, PlaceCategory
from frontline.monitoring.kinds import DeviceKind as K
from frontline.monitoring.models import (
    Alarm,
    AlarmEvent,
    AlarmState,
    Device,
    DeviceStatus,
    Rule,
)
from frontline.monitoring.models.instants import to_micros
from frontline.monitoring.services.devices import TOKEN_PREFIX, hash_device_token

HISTORY_DAYS = 3
HISTORY_STEP = timedelta(hours=1)
CROWDED = (
    PlaceCategory.MALL,
    PlaceCategory.HOTEL,
    PlaceCategory.SCHOOL,
    PlaceCategory.ELDERLY_HOME,
    PlaceCategory.INTERNET_CAFE,
)
OFFLINE_MINUTES = {
    K.SMOKE: 240,  # NB-IoT smoke alarms send a heartbeat every hour or so
    K.CAMERA: 10,
    K.FIRE_CONTROLLER: 10,  # transmission devices heartbeat often (GB/T 26875.3)
    K.WATER_LEVEL: 60,
    K.RAIN_GAUGE: 60,
}
PREFIX = {
    K.SMOKE: "YG",
    K.RESIDUAL_CURRENT: "SYDL",
    K.CABLE_TEMPERATURE: "XLWD",
    K.HYDRANT_PRESSURE: "XHS",
    K.WATER_LEVEL: "SW",
    K.RAIN_GAUGE: "YL",
    K.OCCUPANCY: "RS",
    K.TEMPERATURE_HUMIDITY: "WSD",
    K.COMBUSTIBLE_GAS: "RQ",
    K.GROUND_DISPLACEMENT: "DBWY",
    K.CAMERA: "SP",
}
RIVERS = ["鉴湖", "柯桥河", "浙东运河", "漓渚江", "平水江", "夏履江", "型塘江"]
ROADS = ["人民路", "湖西路", "鉴湖路", "群贤路", "笛扬路", "兴越路", "金柯桥大道"]


def demo_token(seed: int, code: str) -> str:
    """The token of demo device `code`: HMAC-SHA256 keyed by the seed, shaped like a real
    one (`fld_` + 32 URL-safe characters)."""
    key = f"frontline-demo-device:{seed}".encode()
    digest = hmac.new(key, code.encode("utf-8"), hashlib.sha256).digest()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")[:32]


def is_broken(seed: int, code: str) -> bool:
    """About one demo device in 60 is broken: offline for days, never simulated."""
    digest = hmac.new(f"frontline-demo-broken:{seed}".encode(), code.encode(), hashlib.sha256)
    return digest.digest()[0] < 4 and not code.startswith(PREFIX[K.CAMERA])


def gb26875_code(township_index: int, serial: int) -> str:
    """A user information transmission device's 6-byte address (little-endian, as in the
    frames), written in decimal like `address_code` in gb26875/frames.py."""
    address = serial.to_bytes(2, "little") + township_index.to_bytes(2, "little") + b"\x26\x87"
    return str(int.from_bytes(address, "little"))


def _point_near(polygon, lon, lat, rng, spread=0.0004) -> tuple[float, float]:
    for _ in range(8):
        x, y = lon + rng.uniform(-spread, spread), lat + rng.uniform(-spread, spread)
        if polygon.contains(Point(x, y)):
            return round(x, 6), round(y, 6)
    if polygon.contains(Point(lon, lat)):
        return lon, lat
    point = polygon.representative_point()
    return round(point.x, 6), round(point.y, 6)


def _point_in(polygon, rng) -> tuple[float, float]:
    minx, miny, maxx, maxy = polygon.bounds
    for _ in range(50):
        lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if polygon.contains(Point(lon, lat)):
            return round(lon, 6), round(lat, 6)
    point = polygon.representative_point()
    return round(point.x, 6), round(point.y, 6)


class _Builder:
    """Collects the devices of one run with their codes, names and places."""

    def __init__(self, ctx):
        self.ctx, self.rng = ctx, ctx.rng
        self.plans = ctx.state["plans"]
        self.devices: list[Device] = []
        self.serials: dict[str, int] = defaultdict(int)

    def add(
        self,
        kind,
        region,
        name,
        *,
        location="",
        at=None,
        enterprise=None,
        place=None,
        attributes=None,
        code=None,
    ) -> Device:
        polygon = self.plans[region.code].polygon
        if at is None:
            lon, lat = _point_in(polygon, self.rng)
        else:
            lon, lat = _point_near(polygon, at[0], at[1], self.rng)
        if code is None:
            key = f"{PREFIX[kind]}{region.code}"
            self.serials[key] += 1
            code = f"{key}{self.serials[key]:02d}"
        device = Device(
            code=code,
            name=name[:100],
            kind=kind,
            region=region,
            enterprise=enterprise,
            place=place,
            location=location[:200],
            lon=lon,
            lat=lat,
            attributes=attributes or {},
            offline_after_minutes=OFFLINE_MINUTES.get(kind, 30),
        )
        self.devices.append(device)
        return device


def _by_township(objects, regions) -> dict[str, list]:
    grouped = defaultdict(list)
    for obj in objects:
        township = next((c for c in obj.region.path.split("/") if len(c) == 9), None)
        if township is not None:
            grouped[township].append(obj)
    return grouped


def _township_devices(b: _Builder, index, township, villages, enterprises, places) -> None:
    rng = b.rng
    plan = b.plans[township.code]
    # Smoke alarms of elderly people living alone, one or two per village. Named for the
    # home, not the person: that someone lives alone is personal data (docs/community.md).
    for village in villages:
        for _ in range(rng.choice((1, 1, 2))):
            group, number = rng.randint(1, 12), rng.randint(1, 60)
            b.add(
                K.SMOKE,
                village,
                f"{village.name}居家烟感",
                location=f"{village.name}{group}组{number}号",
            )
    controllers = 0
    for enterprise in enterprises:
        at = (enterprise.lon, enterprise.lat) if enterprise.lon is not None else None
        region, short = enterprise.region, enterprise.name
        if enterprise.industry in (Industry.TEXTILES, Industry.DYEING) or rng.random() < 0.2:
            for workshop in range(1, rng.choice((2, 2, 3))):
                b.add(
                    K.RESIDUAL_CURRENT,
                    region,
                    f"{short}{workshop}号车间剩余电流",
                    location=f"{workshop}号车间配电柜",
                    at=at,
                    enterprise=enterprise,
                )
                b.add(
                    K.CABLE_TEMPERATURE,
                    region,
                    f"{short}{workshop}号车间线缆温度",
                    location=f"{workshop}号车间配电柜出线",
                    at=at,
                    enterprise=enterprise,
                )
        if enterprise.industry == Industry.FIREWORKS:
            for workshop in range(1, 3):
                limit = rng.choice((2, 3, 4, 6))
                attributes = {"occupancy_limit": limit, "temperature_limit": 35, "humidity_min": 45}
                where = f"{workshop}号有药工房"
                b.add(
                    K.OCCUPANCY,
                    region,
                    f"{short}{where}人数",
                    location=where,
                    at=at,
                    enterprise=enterprise,
                    attributes=attributes,
                )
                b.add(
                    K.TEMPERATURE_HUMIDITY,
                    region,
                    f"{short}{where}温湿度",
                    location=where,
                    at=at,
                    enterprise=enterprise,
                    attributes=dict(attributes),
                )
        if enterprise.above_scale or enterprise.employees >= 500:
            controllers += 1
            b.add(
                K.FIRE_CONTROLLER,
                region,
                f"{short}火灾报警控制器",
                location="消防控制室",
                at=at,
                enterprise=enterprise,
                code=gb26875_code(index, controllers),
            )
    for place in places:
        at = (place.lon, place.lat) if place.lon is not None else None
        if place.category in CROWDED and rng.random() < 0.3:
            controllers += 1
            b.add(
                K.FIRE_CONTROLLER,
                place.region,
                f"{place.name}火灾报警控制器",
                location="消防控制室",
                at=at,
                place=place,
                code=gb26875_code(index, controllers),
            )
        if place.category == PlaceCategory.RESTAURANT:
            b.add(
                K.COMBUSTIBLE_GAS,
                place.region,
                f"{place.name}可燃气体探测器",
                location="后厨燃气灶旁",
                at=at,
                place=place,
            )
    urban = [v for v in villages if b.plans[v.code].kind == "community"] or villages
    for _ in range(rng.randint(3, 5)):
        village = rng.choice(urban)
        b.add(
            K.HYDRANT_PRESSURE,
            village,
            f"{village.name}市政消火栓",
            location=f"{rng.choice(ROADS)}{rng.randint(1, 300)}号旁",
        )
    river = RIVERS[index % len(RIVERS)]
    for kind, noun in ((K.WATER_LEVEL, "水位站"), (K.RAIN_GAUGE, "雨量站")):
        village = rng.choice(villages)
        attributes = {"warning_level": round(rng.uniform(3.5, 5.5), 1)}
        b.add(
            kind,
            village,
            f"{river}{village.name[:2]}{noun}",
            location=f"{river}{village.name}段",
            attributes=attributes if kind == K.WATER_LEVEL else None,
        )
    if plan.kind == "town":
        for village in rng.sample(villages, min(2, len(villages))):
            b.add(
                K.GROUND_DISPLACEMENT,
                village,
                f"{village.name}后山边坡位移",
                location=f"{village.name}后山边坡（地质灾害隐患点）",
            )
    for noun in ("政府广场", "主干道路口", "农贸市场"):
        village = rng.choice(urban)
        b.add(K.CAMERA, village, f"{township.name}{noun}监控", location=f"{village.name}{noun}")


def plan_devices(ctx) -> list[Device]:
    """The devices of every township, unsaved and without tokens: decided by the seed, the
    regions and the enterprises and places of the hazards generator."""
    regions = ctx.state["regions"]
    townships = sorted(
        (r for r in regions.values() if r.level == RegionLevel.TOWNSHIP), key=lambda r: r.code
    )
    villages = defaultdict(list)
    for region in regions.values():
        if region.level == RegionLevel.VILLAGE:
            villages[region.path.split("/")[-3]].append(region)
    enterprises = _by_township(ctx.state.get("enterprises", []), regions)
    places = _by_township(ctx.state.get("places", []), regions)
    builder = _Builder(ctx)
    for index, township in enumerate(townships, start=1):
        mine = sorted(villages[township.code], key=lambda r: r.code)
        if mine:
            _township_devices(
                builder, index, township, mine, enterprises[township.code], places[township.code]
            )
        ctx.report(index, len(townships))
    return builder.devices


def generate_devices(ctx) -> None:
    devices = plan_devices(ctx)
    now = timezone.now().replace(microsecond=0)
    for device in devices:
        token = demo_token(ctx.seed, device.code)
        device.token_hash = hash_device_token(token)
        device.token_prefix = token[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + 8]
        if is_broken(ctx.seed, device.code):
            device.status = DeviceStatus.OFFLINE
            device.last_seen_at = now - timedelta(days=ctx.rng.uniform(1, 3))
        else:
            device.status = DeviceStatus.ONLINE
            device.last_seen_at = now - timedelta(seconds=ctx.rng.randint(0, 120))
        device.status_changed_at = device.last_seen_at
    Device.objects.bulk_create(devices, batch_size=1000)
    ctx.count("devices", len(devices))
    ctx.state["devices"] = devices
    _history(ctx, devices, now)
    _alarms(ctx, devices, now)


# --- history -----------------------------------------------------------------------------------


def _history(ctx, devices, now) -> None:
    """Hourly values of the last days (the charts), the latest value of every metric."""
    from frontline.monitoring.simulator import NOISE, SENT, SimDevice, typical

    seed, rng = ctx.seed, ctx.np_rng
    hour = now.replace(minute=0, second=0)
    steps = int(timedelta(days=HISTORY_DAYS) / HISTORY_STEP)
    times = [hour - HISTORY_STEP * i for i in range(steps, 0, -1)]
    stamps = [to_micros(t) for t in times]
    epochs = [t.timestamp() for t in times]
    rain = {t: max(0.0, rng.normal(6, 5)) for t in epochs[-30:-22]}  # last night's shower
    rows, latest = [], []
    for device in devices:
        sim = SimDevice(device.code, device.kind, device.attributes)
        end = len(times)
        if device.status == DeviceStatus.OFFLINE:
            end = sum(1 for t in times if t <= device.last_seen_at)
        for metric in SENT.get(device.kind, ()):
            if metric in ("fault", "power_fault", "smoke", "fire"):
                if end:
                    latest.append((device.pk, metric, stamps[end - 1], 0.0))
                continue
            noise = rng.normal(0, NOISE.get(metric, 0.0), end)
            values = []
            for i in range(end):
                value = typical(sim, metric, epochs[i], seed) + noise[i]
                if metric == "rainfall":
                    value = rain.get(epochs[i], 0.0)
                elif metric == "occupancy":
                    value = min(round(value), device.attributes.get("occupancy_limit", 6))
                values.append(round(max(value, 0.0), 3))
            rows.extend(zip([device.pk] * end, [metric] * end, stamps[:end], values, strict=True))
            if end:
                latest.append((device.pk, metric, stamps[end - 1], values[-1]))
    with connection.cursor() as cursor:
        for table, batch in (("monitoring_observation", rows), ("monitoring_latestvalue", latest)):
            for start in range(0, len(batch), 5000):
                cursor.executemany(
                    f"INSERT INTO {table} (device_id, metric, at, value) VALUES (%s, %s, %s, %s)",
                    batch[start : start + 5000],
                )
    ctx.count("observations", len(rows))
    ctx.count("latest_values", len(latest))


# --- alarms ------------------------------------------------------------------------------------

# (kind, alarm type, value, how many, share of them still open)
ALARM_STORIES = [
    (K.SMOKE, "smoke", 1, 4, 0.25),
    (K.SMOKE, "low_battery", 15, 0, 1.0),  # the smoke alarms whose battery is low
    (K.FIRE_CONTROLLER, "fire", 1, 3, 0.34),
    (K.FIRE_CONTROLLER, "power_fault", 1, 2, 0.0),
    (K.RESIDUAL_CURRENT, "residual_current_warning", 330, 8, 0.25),
    (K.RESIDUAL_CURRENT, "residual_current_alarm", 560, 3, 0.34),
    (K.CABLE_TEMPERATURE, "cable_overheat", 76, 3, 0.0),
    (K.HYDRANT_PRESSURE, "low_pressure", 0.06, 2, 0.5),
    (K.RAIN_GAUGE, "heavy_rain", 24.5, 2, 0.0),
    (K.OCCUPANCY, "overcrowded", 0, 3, 0.0),
    (K.COMBUSTIBLE_GAS, "gas_leak", 31, 2, 0.0),
    (K.CAMERA, "fault", 1, 3, 0.34),
]
CLEAR_NOTES = {
    "smoke": "现场核查：厨房油烟引起，已提醒老人开窗通风",
    "fire": "现场核查为探测器误报，已通知维保单位清洗",
    "fault": "维保单位已更换设备",
}


def _alarms(ctx, devices, now) -> None:
    """Alarms of the last days in every state, with the events that took them there: open
    ones still waiting (未确认), some taken on (已确认), most cleared (已消除)."""
    from frontline.monitoring.simulator import battery_level

    rng = ctx.rng
    rules = {(r.kind, r.alarm_type): r for r in Rule.objects.filter(device__isnull=True)}
    by_kind = defaultdict(list)
    for device in devices:
        if device.status != DeviceStatus.OFFLINE:
            by_kind[device.kind].append(device)
    chosen = []  # (device, rule, value, open?)
    for kind, alarm_type, value, count, open_share in ALARM_STORIES:
        rule = rules.get((kind, alarm_type))
        if rule is None:
            continue
        if alarm_type == "low_battery":
            targets = [d for d in by_kind[kind] if battery_level(ctx.seed, d.code) < 20]
        else:
            targets = rng.sample(by_kind[kind], min(count, len(by_kind[kind])))
        for index, device in enumerate(targets):
            if alarm_type == "overcrowded":
                value = device.attributes.get("occupancy_limit", 4) + 2
            if alarm_type == "low_battery":
                value = battery_level(ctx.seed, device.code)
            chosen.append((device, rule, value, index < round(count * open_share) or not count))
    chosen += [
        (d, rules.get((d.kind, "offline")), 0, True)
        for d in devices
        if d.status == DeviceStatus.OFFLINE
    ]
    alarms, events = [], []
    for device, rule, value, still_open in chosen:
        if rule is None:
            continue
        if rule.alarm_type == "offline":
            first = device.last_seen_at + timedelta(minutes=device.offline_after_minutes)
            minutes = int((now - device.last_seen_at).total_seconds() // 60)
            title = f"{device.name}：{rule.name}（{device.offline_after_minutes} 分钟无数据）"
            value = minutes
        else:
            first = now - timedelta(hours=rng.uniform(0.5, HISTORY_DAYS * 24 - 2))
            title = f"{device.name}：{rule.name}（{value:g}）"
        state = AlarmState.CLEARED
        if still_open:
            state = AlarmState.ACTIVE if rng.random() < 0.6 else AlarmState.ACKNOWLEDGED
        alarm = Alarm(
            device=device,
            alarm_type=rule.alarm_type,
            rule=rule,
            severity=rule.severity,
            state=state,
            title=title[:200],
            message=rule.message,
            value=value,
            region=device.region,
            enterprise=device.enterprise,
            place=device.place,
            count=rng.randint(1, 4),
            first_at=first,
            last_at=first + timedelta(minutes=rng.uniform(0, 20)),
        )
        events.append(
            AlarmEvent(
                alarm=alarm,
                at=first,
                kind="raised",
                to_state="active",
                note=title[:200],
                data={"source": "demo"},
            )
        )
        if state != AlarmState.ACTIVE:
            alarm.acknowledged_at = first + timedelta(minutes=rng.uniform(1, 15))
            events.append(
                AlarmEvent(
                    alarm=alarm,
                    at=alarm.acknowledged_at,
                    kind="acknowledged",
                    from_state="active",
                    to_state="acknowledged",
                    note="值班员已确认，通知网格员到场",
                )
            )
        if state == AlarmState.CLEARED:
            alarm.cleared_at = min(
                alarm.acknowledged_at + timedelta(minutes=rng.uniform(5, 90)), now
            )
            note = CLEAR_NOTES.get(rule.alarm_type) if not rule.auto_clear else "已恢复正常"
            events.append(
                AlarmEvent(
                    alarm=alarm,
                    at=alarm.cleared_at,
                    kind="cleared",
                    from_state="acknowledged",
                    to_state="cleared",
                    note=note or CLEAR_NOTES["fault"],
                )
            )
        alarms.append(alarm)
    Alarm.objects.bulk_create(alarms, batch_size=500)
    AlarmEvent.objects.bulk_create(events, batch_size=1000)
    # `raised_at` is set on insert; a demo alarm was raised when it first happened.
    for alarm in alarms:
        Alarm.objects.filter(pk=alarm.pk).update(raised_at=alarm.first_at)
    ctx.count("alarms", len(alarms))
    ctx.count("alarms.open", sum(a.state != AlarmState.CLEARED for a in alarms))


register("monitoring.devices", order=200, generate_fn=generate_devices, label="监测设备与告警")
