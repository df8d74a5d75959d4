"""Monitoring pages: the alarm console and its feed, the alarm page, devices, registration and
token rotation, the rule editor, the navigation entry and the map layer. Scope, who may act,
Chinese errors, query counts."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from frontline.core.roles import Role
from frontline.core.testing import VISIBLE, assert_page_matrix, make_user, page_queries
from frontline.hazards.models import Hazard
from frontline.monitoring.models import Alarm, AlarmState, Device, DeviceStatus, Rule
from frontline.monitoring.readings import Reading
from frontline.monitoring.services.devices import authenticate_device, forget_devices_now
from frontline.monitoring.services.ingest import ingest_readings
from frontline.monitoring.testing import make_device
from frontline.monitoring.tests.test_api_people import raise_gas_alarm

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def chief(world):
    return make_user(Role.STATION_CHIEF, world.township, "chief")


@pytest.fixture
def leader(world):
    return make_user(Role.LEADER, world.township, "leader")


def text(response) -> str:
    return response.content.decode()


# --- scope ---------------------------------------------------------------------------------------


def test_pages_follow_the_scope(world):
    alarm = raise_gas_alarm(world=world)
    assert_page_matrix(world, f"/monitoring/alarms/{alarm.pk}/")
    assert_page_matrix(world, f"/monitoring/devices/{alarm.device_id}/")
    override = Rule.objects.create(
        name="矩阵专用规则", kind="combustible_gas", device=alarm.device, alarm_type="gas_leak",
        metric="gas", condition="threshold", threshold=20, severity="critical",
    )  # fmt: skip
    assert_page_matrix(world, f"/monitoring/rules/{override.pk}/")
    # Lists: every persona gets the page, only those in scope see the object.
    for url, marker in (
        ("/monitoring/", alarm.title),
        ("/monitoring/feed/", alarm.title),
        ("/monitoring/devices/", alarm.device.code),
        ("/monitoring/rules/", "矩阵专用规则"),
    ):
        for persona, user in world.personas().items():
            response = world.client_for(user).get(url)
            assert response.status_code == 200, (persona, url)
            assert (marker in text(response)) == VISIBLE[persona], (persona, url)
        anonymous = world.client_for(None).get(url)
        assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


@pytest.mark.parametrize(
    "url",
    [
        "/monitoring/console/{alarm}/acknowledge/",
        "/monitoring/alarms/{alarm}/acknowledge/",
        "/monitoring/alarms/{alarm}/to-hazard/",
        "/monitoring/devices/{device}/rotate-token/",
        "/monitoring/devices/{device}/rules/",
    ],
)
def test_posts_out_of_scope_are_404_and_change_nothing(world, leader, url):
    alarm = raise_gas_alarm(world=world)
    device = alarm.device
    url = url.format(alarm=alarm.pk, device=device.pk)
    token_hash = device.token_hash
    data = {"note": "x", "alarm_type": "gas_leak"}
    for user in (world.sibling, world.outsider):
        assert world.client_for(user).post(url, data).status_code == 404
    assert world.client_for(leader).post(url, data, **HTMX).status_code == 403
    anonymous = world.client_for(None).post(url, data)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    alarm.refresh_from_db()
    device.refresh_from_db()
    assert alarm.state == AlarmState.ACTIVE and alarm.hazard_id is None
    assert device.token_hash == token_hash and not Rule.objects.filter(device=device).exists()


# --- the console ---------------------------------------------------------------------------------


def test_console_shows_open_alarms_coloured_with_counts_and_polls(world):
    enterprise_alarm = raise_gas_alarm(world=world)
    make_device(world.village, kind="smoke", code="sm-1", location="3号楼")
    ingest_readings([Reading("sm-1", "fault", 1, timezone.now())], source="test")
    body = text(world.client_for(world.same).get("/monitoring/"))
    assert 'hx-trigger="every 3s"' in body and 'hx-get="/monitoring/feed/"' in body
    assert f'id="alarm-{enterprise_alarm.pk}"' in body
    cards = re.findall(r'class="alarm-card sev-(\w+) state-(\w+)"', body)
    assert cards == [("minor", "active"), ("critical", "active")]  # newest first
    assert 'data-severity-count="critical">1<' in body and 'data-severity-count="minor">1<' in body
    assert "可燃气体泄漏" in body and "3号楼" in body
    assert 'data-testid="unacknowledged">2<' in body
    filtered = text(world.client_for(world.same).get("/monitoring/feed/?severity=critical"))
    assert re.findall(r'class="alarm-card sev-(\w+)', filtered) == ["critical"]


def test_console_actions_answer_with_the_fresh_feed(world):
    alarm = raise_gas_alarm(world=world)
    client = world.client_for(world.same)
    response = client.post(f"/monitoring/console/{alarm.pk}/acknowledge/", **HTMX)
    assert response.status_code == 200
    assert 'data-state="acknowledged"' in text(response) and "已确认告警" in text(response)
    assert "<html" not in text(response)  # a fragment
    # Someone else was faster: the fresh feed with the reason, still swapped in (200).
    again = client.post(f"/monitoring/console/{alarm.pk}/acknowledge/", **HTMX)
    assert again.status_code == 200 and "不能确认" in text(again)
    missing = client.post(f"/monitoring/console/{alarm.pk}/clear/", {"note": ""}, **HTMX)
    assert missing.status_code == 422 and "此字段为必填项" in text(missing)
    done = client.post(f"/monitoring/console/{alarm.pk}/clear/", {"note": "已关阀"}, **HTMX)
    assert done.status_code == 200 and 'data-testid="no-alarms"' in text(done)
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.CLEARED
    # Without JavaScript: back to the console with a message.
    other = raise_gas_alarm("gas-2", world=world)
    plain = client.post(
        f"/monitoring/console/{other.pk}/comment/?severity=critical", {"note": "好"}
    )
    assert plain.status_code == 302 and plain["Location"] == "/monitoring/?severity=critical"
    assert client.post(f"/monitoring/console/{other.pk}/explode/").status_code == 404


def test_console_feed_query_count_does_not_grow(world):
    for i in range(2):
        raise_gas_alarm(f"gas-{i}", world=world)
    client = world.client_for(world.same)
    client.get("/monitoring/feed/")  # the session and the user's roles
    _, few = page_queries(client, "/monitoring/feed/")
    for i in range(2, 8):
        raise_gas_alarm(f"gas-{i}", world=world)
    response, many = page_queries(client, "/monitoring/feed/")
    assert text(response).count('class="alarm-card') == 8
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


# --- the alarm page ------------------------------------------------------------------------------


def test_alarm_page_shows_the_message_timeline_and_turns_into_a_hazard(world):
    alarm = raise_gas_alarm(world=world)
    client = world.client_for(world.same)
    body = text(client.get(f"/monitoring/alarms/{alarm.pk}/"))
    assert 'class="alarm-message big"' in body and "可燃气体泄漏，请立即关闭气源" in body
    assert "产生告警" in body and 'data-action="to-hazard"' in body
    response = client.post(f"/monitoring/alarms/{alarm.pk}/to-hazard/")
    hazard = Hazard.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/hazards/{hazard.pk}/"
    body = text(client.get(f"/monitoring/alarms/{alarm.pk}/"))
    assert f'href="/hazards/{hazard.pk}/" data-testid="hazard-link">{hazard.number}<' in body
    assert 'data-action="to-hazard"' not in body and "转为隐患" in body
    refused = client.post(f"/monitoring/alarms/{alarm.pk}/to-hazard/")
    assert refused.status_code == 409 and "该告警已转为隐患" in text(refused)
    missing = client.post(f"/monitoring/alarms/{alarm.pk}/clear/", {"note": ""})
    assert missing.status_code == 422 and "此字段为必填项" in text(missing)


def test_alarm_page_query_count_does_not_grow_with_events(world):
    alarm = raise_gas_alarm(world=world)
    client = world.client_for(world.same)
    url = f"/monitoring/alarms/{alarm.pk}/"
    client.get(url)
    _, few = page_queries(client, url)
    for note in ("一", "二", "三"):
        client.post(f"{url}comment/", {"note": note})
    response, many = page_queries(client, url)
    assert text(response).count("<strong>备注</strong>") == 3
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


# --- devices -------------------------------------------------------------------------------------


def test_device_list_and_page(world):
    alarm = raise_gas_alarm(world=world)
    client = world.client_for(world.same)
    body = text(client.get("/monitoring/devices/?kind=combustible_gas"))
    assert alarm.device.code in body and "可燃气体浓度" in body and "30%LEL" in body
    assert alarm.device.code not in text(client.get("/monitoring/devices/?kind=smoke"))
    assert alarm.device.code not in text(client.get("/monitoring/devices/?status=offline"))
    page = text(client.get(f"/monitoring/devices/{alarm.device_id}/"))
    assert 'id="device-chart-data"' in page and "vendor/echarts/echarts.min.js" in page
    assert alarm.title in page and "可燃气体浓度超限" in page  # its open alarm and its rules
    assert 'data-action="rotate-token"' in page


def test_device_list_query_count_does_not_grow(world):
    client = world.client_for(world.same)
    raise_gas_alarm("gas-0", world=world)
    client.get("/monitoring/devices/")
    _, few = page_queries(client, "/monitoring/devices/")
    for i in range(1, 7):
        raise_gas_alarm(f"gas-{i}", world=world)
    response, many = page_queries(client, "/monitoring/devices/")
    assert text(response).count("data-device-id=") == 7
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_register_shows_the_token_once(world, leader):
    client = world.client_for(world.same)
    assert client.get("/monitoring/devices/register/").status_code == 200
    form = {"code": "occ-1", "name": "1号工房人数", "kind": "occupancy",
            "region": world.village.code, "attributes": "occupancy_limit=30"}  # fmt: skip
    response = client.post("/monitoring/devices/register/", form)
    assert response.status_code == 201
    token = re.search(r'data-testid="device-token">([^<]+)<', text(response)).group(1)
    forget_devices_now()
    device = Device.objects.get(code="occ-1")
    assert authenticate_device("occ-1", token) and device.attributes == {"occupancy_limit": 30}
    assert token not in text(client.get(f"/monitoring/devices/{device.pk}/"))
    again = client.post("/monitoring/devices/register/", form)
    assert again.status_code == 422 and "设备编码已存在" in text(again)
    bad = client.post("/monitoring/devices/register/", form | {"code": "x", "attributes": "限额"})
    assert bad.status_code == 422 and "第 1 行应为“名称=数值”" in text(bad)
    outside = client.post(
        "/monitoring/devices/register/", form | {"code": "y", "region": world.sibling_township.code}
    )
    assert outside.status_code == 422 and not Device.objects.filter(code="y").exists()
    assert world.client_for(leader).get("/monitoring/devices/register/").status_code == 403


def test_rotate_token_page(world):
    device, old = make_device(world.village, code="rot")
    response = world.client_for(world.same).post(f"/monitoring/devices/{device.pk}/rotate-token/")
    assert response.status_code == 200 and "旧令牌已失效" in text(response)
    new = re.search(r'data-testid="device-token">([^<]+)<', text(response)).group(1)
    forget_devices_now()
    assert authenticate_device("rot", new) and not authenticate_device("rot", old)


# --- the rule editor -----------------------------------------------------------------------------


def _override(device, **kw):
    return Rule.objects.create(
        name="本设备剩余电流报警", kind=device.kind, device=device,
        alarm_type="residual_current_alarm", metric="residual_current", condition="threshold",
        threshold=500, clear_threshold=400, severity="major", **kw,
    )  # fmt: skip


def test_rule_editor_in_place_with_chinese_errors(world, chief):
    device, _ = make_device(world.village, code="rc")
    rule = _override(device)
    staff = world.client_for(world.same)
    page = text(staff.get("/monitoring/rules/"))
    assert f'id="rule-{rule.pk}"' in page and 'data-action="edit"' not in page
    assert staff.get(f"/monitoring/rules/{rule.pk}/edit/", **HTMX).status_code == 403
    client = world.client_for(chief)
    page = text(client.get("/monitoring/rules/"))
    # The chief edits the device's rule, not the defaults.
    assert page.count('data-action="edit"') == 1
    form = text(client.get(f"/monitoring/rules/{rule.pk}/edit/", **HTMX))
    assert 'name="threshold" value="500.0"' in form and "<html" not in form
    data = {"operator": "ge", "threshold": "450", "clear_threshold": "480", "severity": "major",
            "duration_seconds": "0", "repeat_count": "0", "window_seconds": "0", "z_score": "",
            "message": "请检查配电箱", "enabled": "1", "auto_clear": "1"}  # fmt: skip
    invalid = client.post(f"/monitoring/rules/{rule.pk}/edit/", data, **HTMX)
    assert invalid.status_code == 422
    assert 'data-field-error="clear_threshold">恢复阈值不能高于报警阈值<' in text(invalid)
    assert 'name="threshold" value="450"' in text(invalid)  # what was typed stays
    data["clear_threshold"] = ""
    saved = client.post(f"/monitoring/rules/{rule.pk}/edit/", data, **HTMX)
    assert saved.status_code == 200 and "已保存" in text(saved)
    rule.refresh_from_db()
    assert (rule.threshold, rule.clear_threshold, rule.message) == (450, None, "请检查配电箱")
    default = Rule.objects.get(kind="residual_current", alarm_type="residual_current_alarm",
                               device=None)  # fmt: skip
    denied = client.post(f"/monitoring/rules/{default.pk}/edit/", data)
    assert denied.status_code == 403 and "默认告警规则适用于全平台" in text(denied)
    parent = world.client_for(world.parent)
    assert parent.post(f"/monitoring/rules/{default.pk}/edit/", data, **HTMX).status_code == 200
    default.refresh_from_db()
    assert default.threshold == 450 and default.message == "请检查配电箱"
    # Deleting the override, in place.
    assert staff.post(f"/monitoring/rules/{rule.pk}/delete/", **HTMX).status_code == 403
    gone = client.post(f"/monitoring/rules/{rule.pk}/delete/", **HTMX)
    assert gone.status_code == 200 and gone.content == b""
    assert not Rule.objects.filter(pk=rule.pk).exists()


def test_device_page_creates_an_override(world, chief):
    device, _ = make_device(world.village, code="rc")
    client = world.client_for(chief)
    assert f'action="/monitoring/devices/{device.pk}/rules/"' in text(
        client.get(f"/monitoring/devices/{device.pk}/")
    )
    response = client.post(
        f"/monitoring/devices/{device.pk}/rules/", {"alarm_type": "residual_current_alarm"}
    )
    rule = Rule.objects.get(device=device)
    assert response["Location"] == f"/monitoring/rules/?device={device.pk}#rule-{rule.pk}"
    assert (
        world.client_for(world.same)
        .post(f"/monitoring/devices/{device.pk}/rules/", {"alarm_type": "fault"})
        .status_code
        == 403
    )


# --- navigation and map --------------------------------------------------------------------------


def test_navigation_entry_with_the_open_alarm_count(world):
    from django.core.cache import cache

    cache.clear()  # the badge is cached per scope for a few seconds
    raise_gas_alarm("gas-a", world=world)
    raise_gas_alarm("gas-b", world=world)
    body = text(world.client_for(world.same).get("/"))
    assert re.search(r'href="/monitoring/">监测预警 <span class="nav-badge"[^>]*>2<', body)
    sibling = text(world.client_for(world.sibling).get("/"))
    assert 'href="/monitoring/">监测预警</a>' in sibling


def test_map_layer_colours_devices_by_state(world):
    alarm = raise_gas_alarm(world=world)
    Device.objects.filter(pk=alarm.device_id).update(lon=120.41, lat=30.01)
    for code, status in (("on", DeviceStatus.ONLINE), ("off", DeviceStatus.OFFLINE),
                         ("bad", DeviceStatus.FAULT)):  # fmt: skip
        device, _ = make_device(world.village, code=code, lon=120.42, lat=30.02)
        Device.objects.filter(pk=device.pk).update(status=status)
    url = "/api/v1/map/layers/monitoring.devices"
    features = world.client_for(world.same).get(url).json()["features"]
    colours = {f["properties"]["code"]: f["properties"]["color"] for f in features}
    assert colours == {alarm.device.code: "#d92d20", "on": "#1a7f37", "off": "#8a94a6",
                       "bad": "#f08c00"}  # fmt: skip
    assert world.client_for(world.sibling).get(url).json()["features"] == []
    layers = [
        layer["key"] for layer in world.client_for(world.same).get("/api/v1/map/layers").json()
    ]
    assert "monitoring.devices" in layers
    assert Alarm.objects.count() == 1
