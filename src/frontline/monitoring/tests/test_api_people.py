"""The people's monitoring API: devices, observations, alarms, rules. Scope (the shared
matrix, lists that must not leak), who may change what, validation, query counts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontline.core.roles import Role
from frontline.core.testing import VISIBLE, assert_api_matrix, make_user
from frontline.hazards.models import Hazard
from frontline.monitoring.models import Alarm, AlarmState, Device, Observation, Rule
from frontline.monitoring.readings import Reading
from frontline.monitoring.services.devices import authenticate_device, forget_devices_now
from frontline.monitoring.services.ingest import ingest_readings
from frontline.monitoring.testing import make_device

pytestmark = pytest.mark.django_db

API = "/api/v1"


def send(client, method: str, url: str, data=None):
    body = json.dumps(data if data is not None else {})
    return getattr(client, method)(url, body, content_type="application/json")


def raise_gas_alarm(code: str = "gas-1", region=None, world=None, value: float = 30):
    """A critical alarm (combustible gas ≥ 25 %LEL) on a device under world.township."""
    if not Device.objects.filter(code=code).exists():
        make_device(region or world.village, kind="combustible_gas", code=code)
    forget_devices_now()
    ingest_readings([Reading(code, "gas", value, timezone.now())], source="test")
    return Alarm.objects.filter(device__code=code).latest("id")


@pytest.fixture
def people(world):
    return {
        "chief": make_user(Role.STATION_CHIEF, world.township, "chief"),
        "leader": make_user(Role.LEADER, world.township, "leader"),
    }


def listed(world, user, url: str, key: str = "id") -> set:
    response = world.client_for(user).get(url)
    assert response.status_code == 200, response.content
    return {item[key] for item in response.json()["items"]}


def assert_list_does_not_leak(world, url: str, obj_id: int) -> None:
    for persona, user in world.personas().items():
        seen = obj_id in listed(world, user, url)
        assert seen == VISIBLE[persona], (
            f"{persona}: {url} {'misses' if VISIBLE[persona] else 'leaks'}"
        )
    assert world.client_for(None).get(url).status_code == 401


# --- reading: the matrix -----------------------------------------------------------------------


def test_every_read_endpoint_follows_the_scope(world):
    alarm = raise_gas_alarm(world=world)
    device = alarm.device
    override = Rule.objects.create(
        name="本设备", kind=device.kind, device=device, alarm_type="gas_leak", metric="gas",
        condition="threshold", threshold=20, severity="critical",
    )  # fmt: skip
    for url in (
        f"{API}/devices/{device.pk}",
        f"{API}/devices/{device.pk}/observations",
        f"{API}/alarms/{alarm.pk}",
        f"{API}/rules/{override.pk}",
    ):
        assert_api_matrix(world, url)
    assert_list_does_not_leak(world, f"{API}/devices", device.pk)
    assert_list_does_not_leak(world, f"{API}/alarms", alarm.pk)
    assert_list_does_not_leak(world, f"{API}/rules?scope=override", override.pk)
    # The summary counts only what the user sees.
    for persona, user in world.personas().items():
        body = world.client_for(user).get(f"{API}/alarms/summary").json()
        critical = next(row for row in body["by_severity"] if row["severity"] == "critical")
        assert critical["count"] == (1 if VISIBLE[persona] else 0), persona
        assert body["open"] == critical["count"] and body["active"] == critical["count"]
    assert world.client_for(None).get(f"{API}/alarms/summary").status_code == 401
    # Default rules apply everywhere: everyone signed in reads them.
    default = Rule.objects.get(kind="combustible_gas", alarm_type="gas_leak", device=None)
    for user in world.personas().values():
        assert default.pk in listed(world, user, f"{API}/rules?scope=default&page_size=500")


def test_device_detail_has_latest_values_and_open_alarms(world):
    alarm = raise_gas_alarm(world=world)
    body = world.client_for(world.same).get(f"{API}/devices/{alarm.device_id}").json()
    assert body["latest"] == [
        {"metric": "gas", "label": "可燃气体浓度", "unit": "%LEL", "value": 30.0,
         "at": body["latest"][0]["at"]}
    ]  # fmt: skip
    assert [a["id"] for a in body["open_alarms"]] == [alarm.pk]
    assert body["open_alarms"][0]["message"].startswith("可燃气体泄漏")
    assert "token_hash" not in body and "token" not in body


def test_device_list_filters(world):
    make_device(world.village, kind="smoke", code="smoke-1", location="3号楼")
    make_device(world.grid, kind="water_level", code="wl-1")
    client = world.client_for(world.same)

    def codes(query):
        return {d["code"] for d in client.get(f"{API}/devices?{query}").json()["items"]}

    assert codes("kind=smoke") == {"smoke-1"}
    assert codes(f"region={world.grid.code}") == {"wl-1"}
    assert codes("q=3号楼") == {"smoke-1"}
    assert codes("status=online") == set()
    assert codes("status=offline") == {"smoke-1", "wl-1"}
    assert client.get(f"{API}/devices?kind=rocket").status_code == 422


def test_alarm_list_filters_and_order(world):
    first = raise_gas_alarm("gas-a", world=world)
    second = raise_gas_alarm("gas-b", world=world)
    client = world.client_for(world.parent)
    ids = [a["id"] for a in client.get(f"{API}/alarms").json()["items"]]
    assert ids == [second.pk, first.pk]  # newest first
    assert client.get(f"{API}/alarms?severity=minor").json()["count"] == 0
    assert client.get(f"{API}/alarms?kind=smoke").json()["count"] == 0
    assert client.get(f"{API}/alarms?kind=combustible_gas").json()["count"] == 2
    assert client.get(f"{API}/alarms?region={world.sibling_township.code}").json()["count"] == 0
    send(client, "post", f"{API}/alarms/{first.pk}/clear", {"note": "已处置"})
    assert [a["id"] for a in client.get(f"{API}/alarms").json()["items"]] == [second.pk]
    assert client.get(f"{API}/alarms?state=cleared").json()["count"] == 1
    assert client.get(f"{API}/alarms?state=all").json()["count"] == 2
    later = (timezone.now() + timedelta(hours=1)).isoformat().replace("+", "%2B")
    assert client.get(f"{API}/alarms?state=all&since={later}").json()["count"] == 0


# --- observations ------------------------------------------------------------------------------


def test_observations_default_to_the_last_day_and_are_downsampled(world):
    device, _token = make_device(world.village, kind="water_level", code="wl")
    now = timezone.now()
    Observation.objects.bulk_create(
        [Observation(device=device, metric="water_level", at=now - timedelta(days=2), value=9)]
        + [
            Observation(
                device=device,
                metric="water_level",
                at=now - timedelta(minutes=i),
                value=50.0 if i == 333 else 1.0 + (i % 7) / 10,
            )
            for i in range(600)
        ]
    )
    client = world.client_for(world.same)
    body = client.get(f"{API}/devices/{device.pk}/observations?metric=water_level").json()
    series = body["series"][0]
    assert series["total"] == 600 and not series["downsampled"]  # the 2-day-old one is out
    assert series["points"][0][0] < series["points"][-1][0]
    thin = client.get(f"{API}/devices/{device.pk}/observations?metric=water_level&limit=50")
    series = thin.json()["series"][0]
    assert series["downsampled"] and len(series["points"]) <= 50
    assert max(value for _at, value in series["points"]) == 50.0  # the spike survives
    # Without a metric: every metric of the kind.
    all_metrics = client.get(f"{API}/devices/{device.pk}/observations").json()
    assert [s["metric"] for s in all_metrics["series"]] == ["water_level", "fault"]
    bad = client.get(f"{API}/devices/{device.pk}/observations?metric=smoke")
    assert bad.status_code == 422 and "metric" in bad.json()["details"]
    backwards = client.get(
        f"{API}/devices/{device.pk}/observations?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z"
    )
    assert backwards.status_code == 422
    assert client.get(f"{API}/devices/{device.pk}/observations?limit=99999").status_code == 422


# --- registering and tokens --------------------------------------------------------------------


def _device_payload(world, **changes):
    return {"code": "rc-new", "name": "配电箱剩余电流", "kind": "residual_current",
            "region_code": world.village.code, "attributes": {}} | changes  # fmt: skip


def test_register_returns_the_token_once_and_follows_the_scope(world, people):
    for persona in ("sibling", "outsider"):
        response = send(world.client_for(getattr(world, persona)), "post", f"{API}/devices",
                        _device_payload(world))  # fmt: skip
        assert response.status_code == 422
        assert "region_code" in response.json()["details"]
    leader = send(world.client_for(people["leader"]), "post", f"{API}/devices",
                  _device_payload(world))  # fmt: skip
    assert leader.status_code == 403 and leader.json()["code"] == "permission_denied"
    assert (
        send(world.client_for(None), "post", f"{API}/devices", _device_payload(world)).status_code
        == 401
    )
    assert not Device.objects.exists()
    response = send(world.client_for(world.same), "post", f"{API}/devices", _device_payload(world))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["device"]["code"] == "rc-new" and body["token"].startswith("fld_")
    forget_devices_now()
    assert authenticate_device("rc-new", body["token"])
    again = send(world.client_for(world.same), "post", f"{API}/devices", _device_payload(world))
    assert again.status_code == 422 and again.json()["details"]["code"] == "设备编码已存在"
    bad = send(world.client_for(world.same), "post", f"{API}/devices",
               _device_payload(world, code="坏 编码", kind="rocket"))  # fmt: skip
    assert bad.status_code == 422 and "kind" in bad.json()["details"]


def test_rotate_token(world, people):
    device, old = make_device(world.village, code="rot")
    url = f"{API}/devices/{device.pk}/rotate-token"
    for persona in ("sibling", "outsider"):
        assert send(world.client_for(getattr(world, persona)), "post", url).status_code == 404
    assert send(world.client_for(people["leader"]), "post", url).status_code == 403
    assert send(world.client_for(None), "post", url).status_code == 401
    forget_devices_now()
    assert authenticate_device("rot", old)
    response = send(world.client_for(world.same), "post", url)
    assert response.status_code == 200
    new = response.json()["token"]
    forget_devices_now()
    assert authenticate_device("rot", new) and not authenticate_device("rot", old)


# --- alarm actions -----------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["acknowledge", "clear", "comment", "to-hazard"])
def test_alarm_actions_matrix(world, people, action):
    alarm = raise_gas_alarm(world=world)
    url = f"{API}/alarms/{alarm.pk}/{action}"
    payload = {"note": "现场已关阀通风"}
    before = (alarm.state, alarm.events.count(), Hazard.objects.count())

    def unchanged():
        alarm.refresh_from_db()
        return (alarm.state, alarm.events.count(), Hazard.objects.count()) == before

    for persona in ("sibling", "outsider"):
        response = send(world.client_for(getattr(world, persona)), "post", url, payload)
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert send(world.client_for(people["leader"]), "post", url, payload).status_code == 403
    assert send(world.client_for(None), "post", url, payload).status_code == 401
    assert unchanged()
    response = send(world.client_for(world.same), "post", url, payload)
    assert response.status_code in (200, 201), response.content
    assert not unchanged()
    if action == "to-hazard":
        hazard = Hazard.objects.get()
        assert response.json() == {"hazard_id": hazard.pk, "hazard_number": hazard.number,
                                   "url": f"/hazards/{hazard.pk}/"}  # fmt: skip
        detail = world.client_for(world.same).get(f"{API}/alarms/{alarm.pk}").json()
        assert detail["hazard_number"] == hazard.number
        assert [e["kind"] for e in detail["timeline"]][-1] == "hazard_created"
        again = send(world.client_for(world.same), "post", url)
        assert again.status_code == 409 and again.json()["code"] == "already_converted"


def test_alarm_state_conflicts_and_missing_notes(world):
    alarm = raise_gas_alarm(world=world)
    client = world.client_for(world.same)
    base = f"{API}/alarms/{alarm.pk}"
    missing = send(client, "post", f"{base}/clear", {"note": "  "})
    assert missing.status_code == 422 and missing.json()["details"] == {"note": "此字段为必填项"}
    assert send(client, "post", f"{base}/comment", {}).status_code == 422
    body = send(client, "post", f"{base}/acknowledge", {}).json()
    assert body["state"] == "acknowledged" and body["state_label"] == "已确认"
    twice = send(client, "post", f"{base}/acknowledge", {})
    assert twice.status_code == 409 and "不能确认" in twice.json()["message"]
    assert send(client, "post", f"{base}/clear", {"note": "已处置"}).json()["state"] == "cleared"
    assert send(client, "post", f"{base}/clear", {"note": "再次"}).status_code == 409
    timeline = client.get(base).json()["timeline"]
    assert [e["kind"] for e in timeline][-2:] == ["acknowledged", "cleared"]
    assert timeline[-1]["actor_name"] and timeline[-1]["note"] == "已处置"


# --- rules -------------------------------------------------------------------------------------


def _override(device, **kw):
    fields = {
        "name": "本设备剩余电流报警", "kind": device.kind, "device": device,
        "alarm_type": "residual_current_alarm", "metric": "residual_current",
        "condition": "threshold", "threshold": 500, "clear_threshold": 400, "severity": "major",
    }  # fmt: skip
    return Rule.objects.create(**(fields | kw))


def test_only_chiefs_and_county_admins_edit_overrides(world, people):
    device, _ = make_device(world.grid, code="rc-1")  # the grid worker sees it too
    rule = _override(device)
    url = f"{API}/rules/{rule.pk}"
    for persona in ("sibling", "outsider"):
        assert (
            send(
                world.client_for(getattr(world, persona)), "put", url, {"threshold": 450}
            ).status_code
            == 404
        )
    for user in (world.same, people["leader"], world.grid_worker):
        response = send(world.client_for(user), "put", url, {"threshold": 450})
        assert response.status_code == 403
        assert response.json()["message"] == "只有站长和区县管理员可以修改告警规则"
    assert send(world.client_for(None), "put", url, {"threshold": 450}).status_code == 401
    rule.refresh_from_db()
    assert rule.threshold == 500
    editable = {
        name: world.client_for(user).get(url).json()["editable"]
        for name, user in (("same", world.same), ("chief", people["chief"]))
    }
    assert editable == {"same": False, "chief": True}
    for user, value in ((people["chief"], 450), (world.parent, 460)):
        response = send(world.client_for(user), "put", url, {"threshold": value})
        assert response.status_code == 200 and response.json()["threshold"] == value
    rule.refresh_from_db()
    assert rule.threshold == 460 and rule.clear_threshold == 400  # untouched fields stay
    # The generic audit log keeps who changed what.
    entries = LogEntry.objects.get_for_object(rule).order_by("timestamp")
    assert [e.actor for e in entries][-2:] == [people["chief"], world.parent]
    assert entries.last().changes_dict["threshold"] == [450.0, 460.0]


def test_default_rules_only_by_county_admins(world, people):
    rule = Rule.objects.get(
        kind="residual_current", alarm_type="residual_current_alarm", device=None
    )
    url = f"{API}/rules/{rule.pk}"
    response = send(world.client_for(people["chief"]), "put", url, {"threshold": 450})
    assert response.status_code == 403 and response.json()["message"].startswith(
        "默认告警规则适用于全平台"
    )
    response = send(
        world.client_for(world.parent), "put", url, {"threshold": 450, "enabled": False}
    )
    assert response.status_code == 200 and response.json()["enabled"] is False
    delete = send(world.client_for(world.parent), "delete", url)
    assert delete.status_code == 409 and Rule.objects.filter(pk=rule.pk).exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"clear_threshold": 600}, "clear_threshold", "恢复阈值不能高于报警阈值"),
        ({"threshold": 20000}, "threshold", "超出该指标的量程（0～10000mA）"),
        ({"threshold": None}, "threshold", "此条件需要阈值"),
        ({"severity": "apocalyptic"}, "severity", "不在可选值之内"),
        ({"threshold": "很高"}, "threshold", "应为数字"),
        ({"message": "长" * 201}, "message", "内容过长"),
    ],
)
def test_rule_validation_errors_are_chinese_and_per_field(world, people, changes, field, message):
    device, _ = make_device(world.village, code="rc-v")
    rule = _override(device)
    response = send(world.client_for(people["chief"]), "put", f"{API}/rules/{rule.pk}", changes)
    assert response.status_code == 422, response.content
    assert response.json()["details"][field] == message
    rule.refresh_from_db()
    assert rule.threshold == 500 and rule.clear_threshold == 400


def test_default_rules_belong_to_the_top_of_the_installation(world):
    """Where counties share an installation under their city, one county's administrator
    may not change the thresholds every other county uses; the city's may."""
    from frontline.core.errors import PermissionDenied
    from frontline.core.models import RegionLevel
    from frontline.core.testing import make_region
    from frontline.monitoring.services.rule_editing import can_edit_rule, update_rule

    city = make_region("330700", RegionLevel.CITY, name="金华市")
    county = make_region("330702", RegionLevel.COUNTY, city, name="婺城区")
    county_admin = make_user(Role.COUNTY_ADMIN, county, "wucheng-admin")
    city_admin = make_user(Role.COUNTY_ADMIN, city, "jinhua-admin")
    rule = Rule.objects.get(
        kind="residual_current", alarm_type="residual_current_alarm", device=None
    )
    assert not can_edit_rule(county_admin, rule)
    with pytest.raises(PermissionDenied):
        update_rule(actor=county_admin, rule=rule, changes={"threshold": 450})
    rule.refresh_from_db()
    assert rule.threshold == 500
    assert can_edit_rule(city_admin, rule)
    # The county of the world (no city above it) runs an installation of its own.
    assert can_edit_rule(world.parent, rule)


def test_repeat_rule_needs_a_count_and_a_window(world, people):
    rule = Rule.objects.get(
        kind="residual_current", alarm_type="residual_current_repeat", device=None
    )
    response = send(world.client_for(world.parent), "put", f"{API}/rules/{rule.pk}",
                    {"repeat_count": 1, "window_seconds": 0})  # fmt: skip
    assert response.json()["details"] == {"repeat_count": "次数至少为 2",
                                          "window_seconds": "统计窗口应大于 0 秒"}  # fmt: skip


def test_override_create_apply_and_delete(world, people, django_capture_on_commit_callbacks):
    device, _ = make_device(world.village, code="rc-o")
    client = world.client_for(people["chief"])
    payload = {"device_id": device.pk, "alarm_type": "residual_current_alarm", "threshold": 200}
    # Copied from the default, the clear threshold (400) now lies above the alarm threshold.
    too_high = send(client, "post", f"{API}/rules", payload)
    assert too_high.json()["details"] == {"clear_threshold": "恢复阈值不能高于报警阈值"}
    payload["clear_threshold"] = 150
    assert send(world.client_for(world.sibling), "post", f"{API}/rules", payload).status_code == 422
    assert send(world.client_for(world.same), "post", f"{API}/rules", payload).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, "post", f"{API}/rules", payload)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["device_id"] == device.pk and body["threshold"] == 200 and not body["is_default"]
    assert body["clear_threshold"] == 150 and body["name"] == "剩余电流报警（本设备）"
    duplicate = send(client, "post", f"{API}/rules", payload)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "override_exists"
    unknown = send(client, "post", f"{API}/rules", payload | {"alarm_type": "smoke"})
    assert unknown.status_code == 422 and "alarm_type" in unknown.json()["details"]
    # The engine uses the new threshold at once (the rule cache is dropped on commit).
    ingest_readings([Reading("rc-o", "residual_current", 250, timezone.now())], source="test")
    assert Alarm.objects.filter(device=device, alarm_type="residual_current_alarm").exists()
    # Deleting it: the default applies again.
    rule_url = f"{API}/rules/{body['id']}"
    assert send(world.client_for(world.same), "delete", rule_url).status_code == 403
    assert send(world.client_for(world.outsider), "delete", rule_url).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        assert send(client, "delete", rule_url).status_code == 204
    assert not Rule.objects.filter(device=device).exists()


def test_clear_threshold_must_lie_on_the_safe_side(world, people):
    device, _ = make_device(world.village, kind="hydrant_pressure", code="hp")
    client = world.client_for(people["chief"])
    payload = {"device_id": device.pk, "alarm_type": "low_pressure", "clear_threshold": 0.05}
    response = send(client, "post", f"{API}/rules", payload)
    assert response.status_code == 422
    assert response.json()["details"] == {"clear_threshold": "恢复阈值不能低于报警阈值"}
    assert not Rule.objects.filter(device=device).exists()


# --- query counts ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [f"{API}/devices", f"{API}/alarms", f"{API}/rules"])
def test_lists_have_no_n_plus_one(world, url):
    def grow(n, start):
        for i in range(start, start + n):
            alarm = raise_gas_alarm(f"gas-{i}", world=world)
            _override(alarm.device, alarm_type=f"type-{i}", metric="gas")

    grow(2, 0)
    client = world.client_for(world.same)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        first = client.get(url)
    grow(5, 10)
    with CaptureQueriesContext(connection) as many:
        second = client.get(url)
    assert second.json()["count"] > first.json()["count"]
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_detail_query_counts_do_not_grow_with_alarms(world):
    alarm = raise_gas_alarm("gas-q", world=world)
    client = world.client_for(world.same)
    url = f"{API}/alarms/{alarm.pk}"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for note in ("一", "二", "三"):
        send(client, "post", f"{url}/comment", {"note": note})
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(url).json()["timeline"]) >= 4
    assert len(many) == len(few)
    assert Alarm.objects.get(pk=alarm.pk).state == AlarmState.ACTIVE
