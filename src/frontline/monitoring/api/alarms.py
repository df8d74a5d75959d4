"""Alarms for people: the open alarms of the scope (newest first), counts by severity, one
alarm with its events, and what people do with it: acknowledge (确认), clear with a note
(消除), comment, turn into a hazard (转为隐患).

An alarm outside the user's scope is a 404; a step the state does not allow a 409 with a
Chinese reason; a missing note a 422; a user without the right to edit a 403.
"""

from django.http import Http404
from django.urls import reverse
from ninja import Query, Router, Status
from ninja.pagination import paginate

from frontline.core.pagination import IdsFirst, Pages
from frontline.core.schemas import ObjectId
from frontline.monitoring import queries
from frontline.monitoring.models import Alarm
from frontline.monitoring.schemas import (
    AlarmDetail,
    AlarmFilter,
    AlarmOut,
    AlarmSummary,
    HazardRef,
    NoteIn,
)
from frontline.monitoring.services import alarms as services

router = Router(tags=["monitoring"])


def _alarm_or_404(request, alarm_id: int) -> Alarm:
    alarm = queries.alarms_for(request.user).filter(pk=alarm_id).first()
    if alarm is None:
        raise Http404
    return alarm


def _detail(request, alarm_id: int) -> Alarm:
    alarm = queries.alarm_with_timeline(request.user, alarm_id)
    if alarm is None:
        raise Http404
    return alarm


@router.get(
    "/alarms",
    response=list[AlarmOut],
    summary="告警列表（缺省为未消除的告警；可按状态、级别、设备类型、区划、时间筛选；新的在前）",
)
@paginate(Pages)
def list_alarms(request, filters: Query[AlarmFilter]):
    alarms = filters.filter(queries.alarms_for(request.user)).order_by("-last_at", "-id")
    return IdsFirst(alarms)


@router.get("/alarms/summary", response=AlarmSummary, summary="未消除告警按级别统计")
def summary(request):
    return queries.severity_counts(Alarm.objects.visible_to(request.user))


@router.get("/alarms/{alarm_id}", response=AlarmDetail, summary="告警详情（含事件时间线）")
def alarm_detail(request, alarm_id: ObjectId):
    return _detail(request, alarm_id)


@router.post("/alarms/{alarm_id}/acknowledge", response=AlarmDetail, summary="确认告警")
def acknowledge(request, alarm_id: ObjectId, payload: NoteIn):
    services.acknowledge_alarm(
        actor=request.user, alarm=_alarm_or_404(request, alarm_id), note=payload.note
    )
    return _detail(request, alarm_id)


@router.post("/alarms/{alarm_id}/clear", response=AlarmDetail, summary="消除告警（须填写处置情况）")
def clear(request, alarm_id: ObjectId, payload: NoteIn):
    services.clear_alarm(
        actor=request.user, alarm=_alarm_or_404(request, alarm_id), note=payload.note
    )
    return _detail(request, alarm_id)


@router.post("/alarms/{alarm_id}/comment", response=AlarmDetail, summary="添加备注")
def comment(request, alarm_id: ObjectId, payload: NoteIn):
    services.comment_alarm(
        actor=request.user, alarm=_alarm_or_404(request, alarm_id), note=payload.note
    )
    return _detail(request, alarm_id)


@router.post(
    "/alarms/{alarm_id}/to-hazard",
    response={201: HazardRef},
    summary="转为隐患（每条告警一次，进入隐患闭环的“发现”）",
)
def to_hazard(request, alarm_id: ObjectId):
    hazard = services.alarm_to_hazard(actor=request.user, alarm=_alarm_or_404(request, alarm_id))
    return Status(
        201,
        {
            "hazard_id": hazard.pk,
            "hazard_number": hazard.number,
            "url": reverse("hazard_detail", args=[hazard.pk]),
        },
    )
