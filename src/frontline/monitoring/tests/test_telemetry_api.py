"""The device-facing HTTP doors: /api/v1/telemetry, /api/v1/video-events, the display."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from frontline.core.services.attachments import attachments_of
from frontline.monitoring.models import Alarm, AlarmSeverity, Observation
from frontline.monitoring.services.devices import rotate_device_token
from frontline.monitoring.testing import make_device

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def post(token, body, header="X-Device-Token"):
    headers = {"HTTP_X_DEVICE_TOKEN": token} if header == "X-Device-Token" else {
        "HTTP_AUTHORIZATION": f"Device {token}"}  # fmt: skip
    return Client().post("/api/v1/telemetry", body, content_type="application/json", **headers)


def ms(delta=timedelta()):
    return int((timezone.now() - delta).timestamp() * 1000)


def test_short_and_batch_forms_are_stored(world):
    device, token = make_device(world.village, kind="temperature_humidity", code="th-1")
    short = post(token, {"ts": ms(timedelta(seconds=30)), "values": {"temperature": 21.5,
                                                                    "humidity": 60}})  # fmt: skip
    assert short.status_code == 200, short.content
    assert short.json()["stored"] == 2
    batch = {"readings": [{"ts": ms(timedelta(seconds=s)), "values": {"temperature": 22}}
                          for s in (20, 10)]}  # fmt: skip
    response = post(token, batch, header="Authorization")
    assert response.json() == {
        "stored": 2, "duplicates": 0, "rejected": 0, "errors": [],
        "alarms_raised": 0, "alarms_cleared": 0,
    }  # fmt: skip
    assert post(token, batch).json()["duplicates"] == 2
    assert Observation.objects.filter(device=device).count() == 4


def test_bad_readings_are_reported_and_good_ones_kept(world):
    _device, token = make_device(world.village, kind="residual_current", code="rc-h")
    body = {"readings": [{"ts": ms(), "values": {"residual_current": 120, "fault": "yes",
                                                 "voltage": 220}}]}  # fmt: skip
    response = post(token, body)
    assert response.status_code == 200
    body = response.json()
    assert body["stored"] == 1 and body["rejected"] == 2
    assert {(e["metric"], e["code"]) for e in body["errors"]} == {
        ("fault", "not_a_number"), ("voltage", "unknown_metric"),
    }  # fmt: skip
    assert all(e["message"] for e in body["errors"])


def test_nothing_valid_is_422_and_nothing_is_stored(world):
    _device, token = make_device(world.village, kind="residual_current", code="rc-x")
    response = post(token, {"values": {"residual_current": "NaN"}})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_readings"
    assert response.json()["details"]["errors"][0]["code"] == "not_a_number"
    future = post(token, {"ts": ms(-timedelta(hours=2)), "values": {"residual_current": 1}})
    assert future.json()["details"]["errors"][0]["code"] == "time_in_future"
    assert post(token, {}).json()["code"] == "no_readings"
    too_many = {"readings": [{"ts": i, "values": {"residual_current": 1}} for i in range(5001)]}
    assert post(token, too_many).json()["code"] == "batch_too_large"
    assert not Observation.objects.exists()


def test_wrong_or_rotated_token_is_401(world):
    device, token = make_device(world.village, kind="residual_current", code="rc-t")
    assert post("fld_nonsense", {"values": {"residual_current": 1}}).status_code == 401
    new = rotate_device_token(actor=world.same, device=device)
    response = post(token, {"values": {"residual_current": 1}})
    assert response.status_code == 401 and response.json()["code"] == "bad_device_token"
    assert post(new, {"values": {"residual_current": 1}}).status_code == 200


def test_a_person_session_is_not_a_device(world):
    client = world.client_for(world.same)
    response = client.post(
        "/api/v1/telemetry", {"values": {"x": 1}}, content_type="application/json"
    )
    assert response.status_code == 401


def snapshot(name="snap.jpg"):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def test_video_event_raises_an_alarm_with_the_snapshot_as_evidence(world):
    _camera, token = make_device(world.village, kind="camera", code="cam-1")
    client = Client()
    for _ in range(2):
        response = client.post(
            "/api/v1/video-events",
            {"event_type": "fire_lane_blocked", "ts": str(ms()), "snapshot": snapshot()},
            HTTP_X_DEVICE_TOKEN=token,
        )
        assert response.status_code == 200, response.content
    alarm = Alarm.objects.get()
    assert alarm.alarm_type == "video_fire_lane_blocked" and alarm.count == 2
    assert alarm.severity == AlarmSeverity.MAJOR and "消防通道占用" in alarm.title
    evidence = attachments_of(alarm)
    assert evidence.count() == 2 and evidence.first().kind == "image"
    bad = client.post("/api/v1/video-events", {"event_type": "ufo"}, HTTP_X_DEVICE_TOKEN=token)
    assert bad.status_code == 422 and "event_type" in bad.json()["details"]
    not_image = client.post(
        "/api/v1/video-events",
        {"event_type": "crowd", "snapshot": SimpleUploadedFile("x.jpg", b"not an image")},
        HTTP_X_DEVICE_TOKEN=token,
    )
    assert not_image.status_code == 422
    assert not Alarm.objects.filter(alarm_type="video_crowd").exists()


def test_the_enterprise_display_shows_the_overcrowding_message(world):
    _counter, token = make_device(world.village, kind="occupancy", code="occ-d",
                                  attributes={"occupancy_limit": 20})  # fmt: skip
    display = Client().get("/api/v1/telemetry/display", HTTP_X_DEVICE_TOKEN=token).json()
    assert display["alarm"] is False
    post(token, {"values": {"occupancy": 25}})
    display = Client().get("/api/v1/telemetry/display", HTTP_X_DEVICE_TOKEN=token).json()
    assert display["alarm"] is True and display["message"] == "工房已超员，请人员迅速离开!"
    assert Client().get("/api/v1/telemetry/display").status_code == 401


def test_alarm_counts_api_follows_the_scope(world):
    _device, token = make_device(world.village, kind="combustible_gas", code="gas-api")
    post(token, {"values": {"gas": 50}})
    mine = world.client_for(world.same).get("/api/v1/alarm-counts").json()
    assert mine["total"] == 1 and mine["by_township"][0]["code"] == world.township.code
    assert world.client_for(world.sibling).get("/api/v1/alarm-counts").json()["total"] == 0
    assert Client().get("/api/v1/alarm-counts").status_code == 401
