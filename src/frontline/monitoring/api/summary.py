"""Open alarms counted by township, village, enterprise, place and severity."""

from ninja import Router

from frontline.monitoring.services.counts import open_alarm_counts

router = Router(tags=["monitoring"])


@router.get("/alarm-counts", summary="未消除告警统计（按街道、村社区、企业、场所、级别）")
def alarm_counts(request):
    return open_alarm_counts(request.user)
