"""The device-facing doors over HTTP: telemetry, video events, the enterprise-side display.

Devices authenticate with their own token (`X-Device-Token: fld_…`, or `Authorization:
Device fld_…`), never with a person's session or API token. A well-formed request is
answered 200 with a per-reading report; readings refused are listed with their reason and
the others are kept.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from frontline.api import api, error_body
from frontline.monitoring.kinds import VideoEvent
from frontline.monitoring.models import OPEN_ALARM_STATES, SEVERITY_RANK, Alarm
from frontline.monitoring.readings import Reading
from frontline.monitoring.services import alarms as alarm_services
from frontline.monitoring.services.devices import DeviceInfo, device_for_token
from frontline.monitoring.services.ingest import ingest_readings, parse_time

router = Router(tags=["telemetry"])

MAX_READINGS_PER_REQUEST = 5000


class Entry(Schema):
    ts: int | float | str | None = Field(None, description="毫秒时间戳或 ISO 8601；缺省为接收时间")
    values: dict[str, Any] = Field(..., description="指标: 数值")


class TelemetryIn(Schema):
    ts: int | float | str | None = None
    values: dict[str, Any] | None = None
    readings: list[Entry] | None = None


class ReadingErrorOut(Schema):
    index: int
    code: str
    message: str
    metric: str


class TelemetryOut(Schema):
    stored: int
    duplicates: int
    rejected: int
    errors: list[ReadingErrorOut]
    alarms_raised: int
    alarms_cleared: int


class VideoEventOut(Schema):
    alarm_id: int
    count: int
    state: str


class DisplayOut(Schema):
    device: str
    alarm: bool
    severity: str
    message: str
    since: str | None


def _device(request: HttpRequest) -> DeviceInfo | None:
    token = request.headers.get("X-Device-Token", "").strip()
    header = request.headers.get("Authorization", "")
    if not token and header.startswith("Device "):
        token = header[len("Device ") :].strip()
    return device_for_token(token)


def _unauthorized(request):
    return api.create_response(
        request,
        error_body("bad_device_token", _("设备令牌无效或设备已停用")),
        status=401,
    )


def _readings(device: DeviceInfo, payload: TelemetryIn) -> list[Reading]:
    entries = list(payload.readings or [])
    if payload.values is not None:
        entries.insert(0, Entry(ts=payload.ts, values=payload.values))
    return [
        Reading(device.code, metric, value, entry.ts)
        for entry in entries
        for metric, value in entry.values.items()
    ]


@router.post(
    "/telemetry",
    auth=None,
    response={200: TelemetryOut, 401: dict, 422: dict},
    summary="设备上报监测数据（设备令牌）",
)
def post_telemetry(request, payload: TelemetryIn):
    device = _device(request)
    if device is None:
        return _unauthorized(request)
    readings = _readings(device, payload)
    if not readings:
        return Status(422, error_body("no_readings", _("没有读数：请提供 values 或 readings")))
    if len(readings) > MAX_READINGS_PER_REQUEST:
        return Status(
            422,
            error_body(
                "batch_too_large",
                _("一次最多上报 %(n)d 个读数") % {"n": MAX_READINGS_PER_REQUEST},
                {"readings": len(readings)},
            ),
        )
    result = ingest_readings(readings, source="http", only_device=device.code)
    errors = [
        {"index": e.index, "code": e.code, "message": e.message, "metric": e.metric}
        for e in result.errors
    ]
    if not result.accepted:
        return Status(
            422, error_body("invalid_readings", _("读数均未通过校验"), {"errors": errors})
        )
    return Status(
        200,
        {
            "stored": result.stored,
            "duplicates": result.duplicates,
            "rejected": len(errors),
            "errors": errors,
            "alarms_raised": result.alarms_raised,
            "alarms_cleared": result.alarms_cleared,
        },
    )


@router.post(
    "/video-events",
    auth=None,
    response={200: VideoEventOut, 401: dict, 422: dict},
    summary="视频智能分析事件（摄像机的设备令牌，附抓拍图片）",
)
def post_video_event(
    request,
    event_type: Form[str],
    ts: Form[str | None] = None,
    platform_event_id: Form[str] = "",
    snapshot: File[UploadedFile | None] = None,
):
    device = _device(request)
    if device is None:
        return _unauthorized(request)
    details = {}
    if event_type not in VideoEvent.values:
        details["event_type"] = _("未知的事件类型，可选：%(types)s") % {
            "types": "、".join(VideoEvent.values)
        }
    now = timezone.now()
    at = parse_time(_number_or_text(ts), now)
    if at is None or at > now + timedelta(minutes=5):
        details["ts"] = _("时间格式不正确或晚于当前时间")
    if details:
        return Status(422, error_body("invalid_input", _("输入有误，请检查标注的字段"), details))
    alarm = alarm_services.record_video_event(
        device=device,
        event_type=event_type,
        at=at,
        snapshot=snapshot,
        detail={"platform_event_id": platform_event_id[:100]} if platform_event_id else None,
    )
    return Status(200, {"alarm_id": alarm.pk, "count": alarm.count, "state": alarm.state})


def _number_or_text(value: str | None):
    if value is None:
        return None
    text = value.strip()
    return int(text) if text.isdigit() else text


@router.get(
    "/telemetry/display",
    auth=None,
    response={200: DisplayOut, 401: dict},
    summary="企业端显示屏：本设备当前的现场提示（设备令牌）",
)
def display(request):
    """What the screen at the enterprise shows (the PDS: "工房已超员，请人员迅速离开!"): the
    most severe open alarm of this device with a message, or nothing."""
    device = _device(request)
    if device is None:
        return _unauthorized(request)
    open_alarms = Alarm.objects.filter(device_id=device.id, state__in=OPEN_ALARM_STATES)
    worst = max(
        open_alarms.exclude(message=""),
        key=lambda a: (SEVERITY_RANK[a.severity], a.last_at),
        default=None,
    )
    if worst is None:
        return Status(200, {"device": device.code, "alarm": False, "severity": "", "message": "",
                     "since": None})  # fmt: skip
    return Status(
        200,
        {
            "device": device.code,
            "alarm": True,
            "severity": worst.severity,
            "message": worst.message,
            "since": worst.first_at.isoformat(),
        },
    )
