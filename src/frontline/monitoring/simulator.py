"""The telemetry simulator: drives the demo devices through the real doors (MQTT or HTTP).

Two halves, like the demo generators:

- `Plan` is pure: from the devices, the seed and a start time it decides every message, when
  it is sent and what it says: a stream of normal values (noise and a daily cycle per metric)
  at a fixed rate, and scripted scenarios started on a schedule that trip the default rules
  (fire, overcrowding, residual current, gas, a device falling silent). The same inputs always
  give the same messages, so the tests feed them to `ingest_readings` without any network.
- `run` sends the plan's messages in real time over an `MqttTransport` or `HttpTransport`,
  as a device would, until the duration is over or Ctrl-C.

Demo device tokens are never stored in clear: `frontline.monitoring.demo.demo_token(seed,
code)` derives them again. See docs/monitoring-demo.md.
"""

from __future__ import annotations

import functools
import heapq
import json
import math
import random
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import unquote, urlparse

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from frontline.monitoring.kinds import DeviceKind as K
from frontline.monitoring.readings import Reading

CHINA = timezone(timedelta(hours=8))
SCENARIOS = ("fire", "overcrowding", "residual_current", "gas", "silent")
DEFAULT_RATE = 5.0  # messages a second, each carrying every metric of one device
DEFAULT_EVERY = 90.0  # seconds between the starts of two scenarios
FIRST_SCENARIO_AFTER = 20.0
WARMUP_RATE = 50.0  # the first round, so every device is heard from soon after a start

# Noise (one standard deviation) per metric of the normal stream.
NOISE = {
    "residual_current": 4.0,
    "cable_temperature": 0.4,
    "pressure": 0.004,
    "water_level": 0.01,
    "temperature": 0.3,
    "humidity": 1.0,
    "gas": 0.2,
    "displacement": 0.005,
}


# --- the value model: what a healthy device reads --------------------------------------------


@functools.lru_cache(maxsize=65536)
def unit_of(seed: int, code: str, salt: str = "") -> float:
    """A number in [0, 1) fixed for a device (its own level within the normal range)."""
    return random.Random(f"{seed}/{code}/{salt}").random()


@functools.lru_cache(maxsize=1024)
def local_hour(at: float) -> float:
    moment = datetime.fromtimestamp(at, tz=CHINA)
    return moment.hour + moment.minute / 60 + moment.second / 3600


def daily(hour: float) -> float:
    """−1…1 over the day, warmest at 15:00."""
    return math.sin(2 * math.pi * (hour - 9) / 24)


def working(hour: float) -> float:
    """0 at night, rising smoothly to 1 at 13:00: machines, lights and people at work."""
    if not 6 <= hour <= 20:
        return 0.0
    return math.sin(math.pi * (hour - 6) / 14)


def battery_level(seed: int, code: str) -> float:
    """Battery of a wireless smoke detector: one in forty is low (below the 20 % rule)."""
    u = unit_of(seed, code, "battery")
    return round(12 + u * 6, 1) if u < 0.025 else round(55 + u * 45, 1)


def typical(device: SimDevice, metric: str, at: float, seed: int) -> float:
    """The noiseless value of a metric of a healthy device at `at` (epoch seconds)."""
    u = unit_of(seed, device.code)
    hour = local_hour(at)
    kind, attributes = device.kind, device.attributes
    if metric in ("smoke", "fire", "fault", "power_fault"):
        return 0.0
    if metric == "battery":
        return battery_level(seed, device.code)
    if metric == "residual_current":
        return 40 + 80 * u + 30 * working(hour)
    if metric == "cable_temperature":
        return 28 + 12 * u + 8 * working(hour)
    if metric == "pressure":
        if kind == K.FIRE_CONTROLLER:
            return 0.3 + 0.1 * u
        return 0.22 + 0.15 * u - 0.02 * working(hour)
    if metric == "water_level":
        warning = attributes.get("warning_level", 5.0)
        return warning * (0.6 + 0.1 * u) + 0.05 * daily(hour)
    if metric == "rainfall":
        return 0.0
    if metric == "occupancy":
        limit = attributes.get("occupancy_limit", 6)
        return round(working(hour) * (limit - 1) * (0.5 + 0.5 * u))
    if metric == "temperature":
        if kind == K.FIRE_CONTROLLER:
            return 22 + 3 * daily(hour)
        return 18 + 6 * u + 5 * daily(hour)
    if metric == "humidity":
        return 62 + 10 * u - 8 * daily(hour)
    if metric == "gas":
        return 0.5 + 1.5 * u
    if metric == "displacement":
        # A slope creeping a few hundredths of a millimetre a day.
        return 12 + 30 * u + 0.001 * (at / 3600 % 10_000)
    return 0.0


# Metrics the simulator sends per kind (the controller's analog values are left out: vendors
# send them only on change).
SENT = {
    K.SMOKE: ("smoke", "battery", "fault"),
    K.HEAT: ("temperature", "fire", "fault"),
    K.FIRE_CONTROLLER: ("fire", "fault", "power_fault"),
    K.RESIDUAL_CURRENT: ("residual_current", "fault"),
    K.CABLE_TEMPERATURE: ("cable_temperature", "fault"),
    K.HYDRANT_PRESSURE: ("pressure", "fault"),
    K.WATER_LEVEL: ("water_level", "fault"),
    K.RAIN_GAUGE: ("rainfall", "fault"),
    K.OCCUPANCY: ("occupancy", "fault"),
    K.TEMPERATURE_HUMIDITY: ("temperature", "humidity", "fault"),
    K.COMBUSTIBLE_GAS: ("gas", "fault"),
    K.GROUND_DISPLACEMENT: ("displacement", "fault"),
    K.CAMERA: ("fault",),
}
DECIMALS = {"pressure": 3, "water_level": 2, "displacement": 3}


def normal_values(device: SimDevice, at: float, seed: int, rng: random.Random) -> dict:
    values = {}
    for metric in SENT.get(device.kind, ("fault",)):
        value = typical(device, metric, at, seed) + rng.gauss(0, NOISE.get(metric, 0.0))
        if metric == "occupancy":
            limit = device.attributes.get("occupancy_limit", 6)
            value = min(max(round(value + rng.choice((-1, 0, 0, 1))), 0), limit)
        elif metric in ("gas", "rainfall", "pressure", "residual_current"):
            value = max(value, 0.0)
        values[metric] = round(value, DECIMALS.get(metric, 1))
    return values


# --- the plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimDevice:
    code: str
    kind: str
    attributes: dict = field(default_factory=dict, hash=False, compare=False)
    offline_after_minutes: int = 30
    token: str = field(default="", repr=False)
    # In the township of the demo's station accounts: every other scenario happens there,
    # so a station user, not only the county, sees alarms arrive.
    near: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Message:
    at: float  # epoch seconds
    device: SimDevice
    values: dict
    scenario: str = ""

    def readings(self) -> list[Reading]:
        ts = round(self.at * 1000)
        return [Reading(self.device.code, m, v, at=ts) for m, v in self.values.items()]


@dataclass
class Started:
    """A scenario begun: shown on the console and kept by the tests."""

    at: float
    name: str
    device: SimDevice
    until: float


def _script(name: str, device: SimDevice) -> list[tuple[float, dict]]:
    """(seconds after the start, values) of a scenario on its device."""
    if name == "fire":
        fire = {"fire": 1, "fault": 0, "power_fault": 0}
        return [(0, fire), (30, fire), (150, {**fire, "fire": 0})]
    if name == "overcrowding":
        limit = int(device.attributes.get("occupancy_limit", 6))
        counts = [
            limit - 1,
            limit,
            limit + 2,
            limit + 3,
            limit + 3,
            limit + 1,
            limit - 2,
            limit - 3,
        ]
        return [(10 * i, {"occupancy": max(n, 0), "fault": 0}) for i, n in enumerate(counts)]
    if name == "residual_current":
        # Creeps past the 300 mA warning, then the 500 mA alarm, then is switched off.
        steps = [150 + 40 * i for i in range(10)] + [540, 540]
        script = [(10 * i, {"residual_current": v, "fault": 0}) for i, v in enumerate(steps)]
        return [
            *script,
            (150, {"residual_current": 380, "fault": 0}),
            (170, {"residual_current": 160, "fault": 0}),
        ]
    if name == "gas":
        levels = [1.5, 8, 18, 32, 41, 36, 12, 4, 1.5]
        return [(10 * i, {"gas": v, "fault": 0}) for i, v in enumerate(levels)]
    return []


def _targets(name: str, devices: list[SimDevice]) -> list[SimDevice]:
    if name == "fire":
        return [d for d in devices if d.kind == K.FIRE_CONTROLLER]
    if name == "overcrowding":
        return [d for d in devices if d.kind == K.OCCUPANCY and "occupancy_limit" in d.attributes]
    if name == "residual_current":
        return [d for d in devices if d.kind == K.RESIDUAL_CURRENT]
    if name == "gas":
        return [d for d in devices if d.kind == K.COMBUSTIBLE_GAS]
    if name == "silent":
        if not devices:
            return []
        shortest = min(d.offline_after_minutes for d in devices)
        return [d for d in devices if d.offline_after_minutes == shortest]
    raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")


class Plan:
    """Every message, in time order, from `start` on. Call `until(t)` repeatedly with growing
    `t`; each call returns the messages due before `t` not returned yet."""

    def __init__(
        self,
        devices: Iterable[SimDevice],
        *,
        seed: int,
        start: float,
        rate: float = DEFAULT_RATE,
        scenarios: Iterable[str] = SCENARIOS,
        every: float = DEFAULT_EVERY,
        first_after: float = FIRST_SCENARIO_AFTER,
        warmup_rate: float | None = WARMUP_RATE,
    ):
        self.seed, self.start, self.rate, self.every = seed, start, rate, every
        self.scenarios = list(scenarios)
        for name in self.scenarios:
            _targets(name, [])
        self.devices = sorted(devices, key=lambda d: d.code)
        random.Random(f"{seed}/order").shuffle(self.devices)
        self.warmup = len(self.devices) if warmup_rate and warmup_rate > rate else 0
        self.warmup_rate = warmup_rate or rate
        self.k = 0  # the next normal message
        self.j = 0  # the next scenario
        self.first_after = first_after
        self.owned: dict[str, float] = {}  # device code → until when a scenario drives it
        self.pending: list[tuple[float, int, Message]] = []  # scenario messages
        self.started: list[Started] = []
        self._serial = 0

    def _normal_at(self, k: int) -> float:
        if k < self.warmup:
            return self.start + k / self.warmup_rate
        return self.start + self.warmup / self.warmup_rate + (k - self.warmup) / self.rate

    def _scenario_at(self, j: int) -> float:
        return self.start + self.first_after + j * self.every

    def until(self, t: float) -> list[Message]:
        out: list[Message] = []
        while True:
            normal = self._normal_at(self.k) if self.devices else math.inf
            scenario = self._scenario_at(self.j) if self.scenarios else math.inf
            scripted = self.pending[0][0] if self.pending else math.inf
            first = min(normal, scenario, scripted)
            if first >= t:
                return out
            if scenario == first:
                self._begin(scenario)
            elif scripted == first:
                out.append(heapq.heappop(self.pending)[2])
            else:
                device = self.devices[self.k % len(self.devices)]
                self.k += 1
                if self.owned.get(device.code, -math.inf) > normal:
                    continue
                rng = random.Random(f"{self.seed}/{device.code}/{round(normal * 1000)}")
                out.append(Message(normal, device, normal_values(device, normal, self.seed, rng)))

    def _begin(self, at: float) -> None:
        name = self.scenarios[self.j % len(self.scenarios)]
        rng = random.Random(f"{self.seed}/scenario/{self.j}")
        nearby_turn = self.j % 2 == 0
        self.j += 1
        free = [d for d in _targets(name, self.devices) if self.owned.get(d.code, 0) <= at]
        if not free:
            return
        if nearby_turn:
            free = [d for d in free if d.near] or free
        device = rng.choice(free)
        if name == "silent":
            until = at + (device.offline_after_minutes + 2) * 60
        else:
            script = _script(name, device)
            for offset, values in script:
                self._serial += 1
                message = Message(at + offset, device, dict(values), name)
                heapq.heappush(self.pending, (message.at, self._serial, message))
            until = at + script[-1][0] + 1
        self.owned[device.code] = until
        self.started.append(Started(at, name, device, until))


# --- transports ------------------------------------------------------------------------------


class TransportError(Exception):
    """The far end cannot be reached (the message says so in Chinese)."""


class HttpTransport:
    """`POST <base>/api/v1/telemetry` with the device's token, one device per request."""

    name = "http"

    def __init__(self, base_url: str, timeout: float = 5.0):
        import requests

        self.base = base_url.rstrip("/")
        self.url = f"{self.base}/api/v1/telemetry"
        self.session = requests.Session()
        self.timeout = timeout
        self.exceptions = (requests.ConnectionError, requests.Timeout)

    def send(self, message: Message) -> bool:
        body = {"readings": [{"ts": round(message.at * 1000), "values": message.values}]}
        try:
            response = self.session.post(
                self.url,
                json=body,
                headers={"X-Device-Token": message.device.token},
                timeout=self.timeout,
            )
        except self.exceptions as exc:
            raise TransportError(
                _("无法连接平台 %(url)s：%(error)s")
                % {"url": self.base, "error": exc.__class__.__name__}
            ) from exc
        return response.status_code < 300

    def close(self) -> None:
        self.session.close()


def broker_address(url: str) -> tuple[str, int, bool, str | None, str | None]:
    parsed = urlparse(url)
    if parsed.scheme not in ("mqtt", "mqtts") or not parsed.hostname:
        raise ValueError(
            _("MQTT_URL 应形如 mqtt://host:1883 或 mqtts://host:8883：%(url)s") % {"url": url}
        )
    tls = parsed.scheme == "mqtts"
    user = unquote(parsed.username) if parsed.username else None
    password = unquote(parsed.password) if parsed.password else None
    return parsed.hostname, parsed.port or (8883 if tls else 1883), tls, user, password


def broker_answers(url: str, timeout: float = 1.0) -> bool:
    """Does something listen at the broker's address? (A TCP connect, no MQTT handshake.)"""
    try:
        host, port, *_rest = broker_address(url)
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


class MqttTransport:
    """QoS 1 publishes to `<prefix>/<code>/telemetry`, as docs/mqtt.md describes."""

    name = "mqtt"

    def __init__(self, url: str, prefix: str = "frontline", client_id: str = ""):
        import paho.mqtt.client as mqtt

        host, port, tls, user, password = broker_address(url)
        self.url, self.prefix = url, prefix
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        if tls:
            self.client.tls_set()
        if user:
            self.client.username_pw_set(user, password)
        self.client.max_inflight_messages_set(200)
        try:
            self.client.connect(host, port, keepalive=30)
        except (OSError, ValueError) as exc:
            raise TransportError(
                _("无法连接 MQTT 服务器 %(url)s：%(error)s") % {"url": url, "error": exc}
            ) from exc
        self.client.loop_start()
        self.infos: list = []

    def send(self, message: Message) -> bool:
        payload = {
            "token": message.device.token,
            "ts": round(message.at * 1000),
            "values": message.values,
        }
        topic = f"{self.prefix}/{message.device.code}/telemetry"
        info = self.client.publish(topic, json.dumps(payload), qos=1)
        self.infos = [i for i in self.infos if not i.is_published()] + [info]
        return info.rc == 0

    def close(self) -> None:
        for info in self.infos:
            info.wait_for_publish(timeout=5)
        self.client.disconnect()
        self.client.loop_stop()


# --- running it ------------------------------------------------------------------------------


@dataclass
class RunStats:
    sent: int = 0
    refused: int = 0
    lost: int = 0  # not delivered: the far end was unreachable
    scenarios: Counter = field(default_factory=Counter)


def run(
    plan: Plan,
    transport,
    *,
    duration: float | None = None,
    say: Callable[[str], None] = print,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    stats_every: float = 60.0,
) -> RunStats:
    """Send the plan's messages as they fall due. Returns on `duration` or KeyboardInterrupt
    (Ctrl-C): both are a clean stop."""
    stats = RunStats()
    end = plan.start + duration if duration else math.inf
    shown = 0
    next_stats = plan.start + stats_every
    down_since: float | None = None
    try:
        while True:
            now = clock()
            for message in plan.until(min(now, end)):
                try:
                    ok = transport.send(message)
                except TransportError as exc:
                    stats.lost += 1
                    if down_since is None:
                        down_since = now
                        say(_("%(error)s；稍后重试（期间的数据不补发）") % {"error": exc})
                    continue
                if down_since is not None:
                    say(_("已恢复连接，继续上报"))
                    down_since = None
                stats.sent += ok
                stats.refused += not ok
            for started in plan.started[shown:]:
                stats.scenarios[started.name] += 1
                say(_describe(started))
            shown = len(plan.started)
            if now >= next_stats:
                say(
                    _("已发送 %(sent)d 条，被拒 %(refused)d 条，未送达 %(lost)d 条")
                    % {"sent": stats.sent, "refused": stats.refused, "lost": stats.lost}
                )
                next_stats = now + stats_every
            if now >= end:
                return stats
            sleep(0.5 if down_since is not None else 0.05)
    except KeyboardInterrupt:
        say(_("模拟器已停止"))
        return stats
    finally:
        transport.close()


LABELS = {
    "fire": gettext_lazy("火警"),
    "overcrowding": gettext_lazy("工房超员"),
    "residual_current": gettext_lazy("剩余电流持续升高"),
    "gas": gettext_lazy("可燃气体泄漏"),
    "silent": gettext_lazy("设备停止上报（离线）"),
}


def _describe(started: Started) -> str:
    at = datetime.fromtimestamp(started.at, tz=UTC).astimezone(CHINA).strftime("%H:%M:%S")
    return _("[%(at)s] 场景开始：%(name)s → %(code)s") % {
        "at": at,
        "name": LABELS.get(started.name, started.name),
        "code": started.device.code,
    }
