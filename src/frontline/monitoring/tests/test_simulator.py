"""The telemetry simulator: its plan is deterministic and its scenarios trip the default
rules, through the ingest service, the HTTP door and a real Mosquitto."""

from __future__ import annotations

import queue
import socket
import time
from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest
from django.core.management import call_command
from django.test import Client

from frontline.monitoring import simulator as sim
from frontline.monitoring.demo import demo_token
from frontline.monitoring.models import Alarm, AlarmState, Device, DeviceStatus, Observation
from frontline.monitoring.services.alarms import detect_offline
from frontline.monitoring.services.devices import forget_devices_now
from frontline.monitoring.services.ingest import ingest_readings
from frontline.monitoring.services.rules import forget_rules
from frontline.monitoring.testing import make_device

SEED = 2026
WORKSHOP = {"occupancy_limit": 4, "temperature_limit": 35, "humidity_min": 45}


def sim_devices(region) -> list[sim.SimDevice]:
    specs = [
        ("fire_controller", {}, 30, "148597278572545"),
        ("occupancy", WORKSHOP, 30, "RS-1"),
        ("residual_current", {}, 30, "SYDL-1"),
        ("combustible_gas", {}, 30, "RQ-1"),
        ("camera", {}, 2, "SP-1"),
        ("smoke", {}, 30, "YG-1"),
    ]
    devices = []
    for kind, attributes, minutes, code in specs:
        _device, token = make_device(
            region, kind, code=code, attributes=attributes, offline_after_minutes=minutes
        )
        devices.append(sim.SimDevice(code, kind, attributes, minutes, token))
    forget_devices_now()
    forget_rules()
    return devices


def messages(plan: sim.Plan, seconds: float) -> list[sim.Message]:
    return plan.until(plan.start + seconds)


def at(message: sim.Message) -> datetime:
    return datetime.fromtimestamp(message.at, tz=UTC)


def test_plan_is_deterministic_for_a_seed():
    devices = [
        sim.SimDevice(f"D{i}", kind, {"occupancy_limit": 5}, 10, "t")
        for i, kind in enumerate(
            [
                "occupancy",
                "residual_current",
                "fire_controller",
                "combustible_gas",
                "smoke",
                "camera",
            ]
            * 3
        )
    ]

    def draw(seed: int, slices: list[float]):
        plan = sim.Plan(devices, seed=seed, start=1_764_300_000.0, rate=2, every=60)
        out = []
        for t in slices:
            out += plan.until(plan.start + t)
        started = [(s.name, s.device.code, s.at) for s in plan.started]
        return [(m.at, m.device.code, m.values, m.scenario) for m in out], started

    one, started = draw(SEED, [600])
    # The same messages whatever the slicing: the runner asks every 50 ms.
    assert (one, started) == draw(SEED, [0.3 * i for i in range(1, 2001)])
    assert draw(SEED + 1, [600])[0] != one
    assert [m[0] for m in one] == sorted(m[0] for m in one)
    assert {name for name, _code, _at in started} == set(sim.SCENARIOS)
    # While a scenario drives a device, its normal stream pauses.
    for name, code, begun in started:
        if name == "silent":
            assert not [m for m in one if m[1] == code and begun <= m[0] < begun + 11 * 60]


def test_every_other_scenario_happens_near_the_station_accounts():
    near = [sim.SimDevice(f"N{i}", "residual_current", near=True) for i in range(3)]
    far = [sim.SimDevice(f"F{i}", "residual_current") for i in range(30)]
    plan = sim.Plan(near + far, seed=SEED, start=1_764_300_000.0, rate=1, every=60,
                    scenarios=["residual_current"], first_after=1)  # fmt: skip
    plan.until(plan.start + 6 * 60 + 2)
    targets = [started.device.code for started in plan.started]
    assert len(targets) >= 6
    # Turns 0, 2, 4 pick a device of the station's township while one is free.
    assert all(code.startswith("N") for code in targets[0:6:2]), targets


def test_normal_values_stay_inside_ranges_and_below_thresholds():
    device = sim.SimDevice("X", "temperature_humidity", WORKSHOP)
    residual = sim.SimDevice("Y", "residual_current")
    rng = __import__("random").Random(1)
    for hour in range(0, 24 * 3600, 600):
        values = sim.normal_values(device, 1_764_300_000 + hour, SEED, rng)
        assert values["temperature"] < 35 and values["humidity"] > 45
        assert (
            0
            <= sim.normal_values(residual, 1_764_300_000 + hour, SEED, rng)["residual_current"]
            < 250
        )


@pytest.mark.django_db
def test_scenarios_trip_the_default_rules_through_ingest(world):
    devices = sim_devices(world.village)
    start = time.time() - 2 * 3600  # in the past, so every reading is accepted
    plan = sim.Plan(
        devices, seed=SEED, start=start, rate=0.2, every=200, first_after=5, warmup_rate=None
    )
    next_sweep = start + 60
    for message in messages(plan, 1190):
        while next_sweep <= message.at:
            detect_offline(now=datetime.fromtimestamp(next_sweep, tz=UTC))
            next_sweep += 60
        result = ingest_readings(message.readings(), source="simulator", now=at(message))
        assert not result.errors, result.errors
    assert [s.name for s in plan.started][:5] == list(sim.SCENARIOS)

    def alarms(code):
        return {a.alarm_type: a.state for a in Alarm.objects.filter(device__code=code)}

    # A fire, or an overcrowded workshop, stays until someone has been there, even after
    # the controller is reset or the head count falls.
    assert alarms("148597278572545") == {"fire": AlarmState.ACTIVE}
    assert alarms("RS-1") == {"overcrowded": AlarmState.ACTIVE}
    assert alarms("SYDL-1") == {
        "residual_current_warning": AlarmState.CLEARED,
        "residual_current_alarm": AlarmState.CLEARED,
        "residual_current_repeat": AlarmState.CLEARED,
    }
    assert alarms("RQ-1") == {"gas_leak": AlarmState.CLEARED}
    # Silent for longer than its offline window: offline, then back when it speaks again.
    assert alarms("SP-1") == {"offline": AlarmState.CLEARED}
    assert alarms("YG-1") == {}  # the normal stream raises nothing
    assert Device.objects.get(code="SP-1").status == DeviceStatus.ONLINE
    overcrowded = Alarm.objects.get(device__code="RS-1")
    assert overcrowded.value > WORKSHOP["occupancy_limit"]
    assert overcrowded.message == "工房已超员，请人员迅速离开!"


class DjangoSession:
    """`requests.Session.post` answered by Django's test client."""

    def __init__(self):
        self.client = Client()

    def post(self, url, *, json, headers, timeout):
        path = urlparse(url).path
        return self.client.post(path, data=json, content_type="application/json", headers=headers)

    def close(self):
        pass


@pytest.mark.django_db
def test_http_transport_speaks_the_telemetry_door(world):
    devices = sim_devices(world.village)
    transport = sim.HttpTransport("http://testserver")
    transport.session = DjangoSession()
    plan = sim.Plan(
        devices, seed=SEED, start=time.time() - 60, rate=1, scenarios=["fire"], first_after=1
    )
    sent = messages(plan, 20)
    assert sent and all(transport.send(message) for message in sent)
    assert Observation.objects.filter(device__code="148597278572545", metric="fire").exists()
    assert Alarm.objects.get(device__code="148597278572545").alarm_type == "fire"
    # A wrong token is refused by the door, and the transport says so.
    stranger = sim.SimDevice("SYDL-1", "residual_current", token="fld_wrong")
    assert not transport.send(sim.Message(time.time(), stranger, {"residual_current": 20}))


@pytest.mark.django_db
def test_mqtt_transport_publishes_what_the_mqtt_door_parses(world, mqtt_url, unique):
    import paho.mqtt.client as mqtt

    from frontline.monitoring.mqtt import parse_message

    devices = sim_devices(world.village)
    received: queue.Queue = queue.Queue()
    host, port, *_rest = sim.broker_address(mqtt_url)
    listener = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    listener.on_message = lambda _c, _u, msg: received.put((msg.topic, msg.payload, msg.qos))
    listener.connect(host, port)
    listener.subscribe(f"{unique}/+/telemetry", qos=1)
    listener.loop_start()
    try:
        time.sleep(0.3)
        transport = sim.MqttTransport(mqtt_url, prefix=unique)
        plan = sim.Plan(
            devices,
            seed=SEED,
            start=time.time() - 60,
            rate=1,
            scenarios=["overcrowding"],
            first_after=1,
        )
        sent = messages(plan, 40)
        for message in sent:
            assert transport.send(message)
        transport.close()
        readings = []
        for _ in sent:
            topic, payload, qos = received.get(timeout=10)
            assert qos == 1
            code, token, batch = parse_message(topic, payload, unique)
            assert token == next(d.token for d in devices if d.code == code)
            readings += batch
    finally:
        listener.loop_stop()
        listener.disconnect()
    ingest_readings(readings, source="mqtt")
    assert Alarm.objects.get(device__code="RS-1").alarm_type == "overcrowded"


def test_unreachable_broker_is_reported_in_chinese():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"mqtt://127.0.0.1:{port}"
    assert not sim.broker_answers(url)
    with pytest.raises(sim.TransportError, match="无法连接 MQTT 服务器"):
        sim.MqttTransport(url)


@pytest.mark.django_db
def test_simulate_command_falls_back_to_http_and_stops_cleanly(world, capsys):
    for code, kind in (("SYDL-9", "residual_current"), ("YG-9", "smoke")):
        device, _token = make_device(world.village, kind, code=code)
        token = demo_token(SEED, code)
        from frontline.monitoring.services.devices import hash_device_token

        Device.objects.filter(pk=device.pk).update(token_hash=hash_device_token(token))
    make_device(world.village, "smoke", code="HAND-1")  # registered by hand: left alone
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    call_command(
        "simulate",
        "--url",
        f"mqtt://127.0.0.1:{closed}",
        "--base-url",
        f"http://127.0.0.1:{closed}",
        "--duration",
        "1",
        "--rate",
        "10",
        "--seed",
        str(SEED),
        "--no-scenarios",
    )
    output = capsys.readouterr().out
    assert "无法连接 MQTT 服务器" in output and "改用 HTTP" in output
    assert "模拟 2 台演示设备" in output
    assert "无法连接平台" in output


def test_demo_runs_the_simulator_over_http_without_a_broker(monkeypatch):
    from frontline.core.management.commands import demo

    monkeypatch.setattr(sim, "broker_answers", lambda url, timeout=1.0: False)
    children = dict(demo.demo_companions(host="0.0.0.0", port=8123))
    assert set(children) == {"worker", "simulator"}
    command = children["simulator"]
    assert command[command.index("--transport") + 1] == "http"
    assert command[command.index("--base-url") + 1] == "http://127.0.0.1:8123"
    assert "--wait" in command

    monkeypatch.setattr(sim, "broker_answers", lambda url, timeout=1.0: True)
    children = dict(demo.demo_companions(host="127.0.0.1", port=8000))
    assert set(children) == {"worker", "mqtt-ingest", "simulator"}
    assert "mqtt" in children["simulator"]


def test_simulator_child_stops_with_the_group_on_ctrl_c(tmp_path):
    """The real child under the supervisor: `simulate --wait` on a database without demo
    devices idles, and the group's Ctrl-C ends it with the others."""
    import os
    import subprocess
    import sys

    from rich.console import Console

    from frontline.core.processes import ProcessGroup, simulator_command

    env = {**os.environ, "FRONTLINE_VAR": str(tmp_path), "DATABASE_URL": ""}
    subprocess.run([sys.executable, "-m", "frontline", "migrate", "-v0"], env=env, check=True)
    command = simulator_command(transport="http", base_url="http://127.0.0.1:9")
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert "没有演示设备" in child.stdout.readline()
        assert child.poll() is None  # it waits rather than stopping `frontline demo`
        group = ProcessGroup(Console(quiet=True), stop_timeout=5)
        group.children["simulator"] = child
        group.stop()
        assert child.wait(timeout=10) == 0
    finally:
        if child.poll() is None:
            child.kill()
