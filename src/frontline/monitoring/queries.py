"""Read-side helpers shared by the people's API and the pages: scoped querysets with their
relations, alarm counts, downsampled time series, the rules that apply to a device.

Reads only; every write goes through the services.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.utils import timezone

from frontline.monitoring.kinds import metric_of, metrics_of
from frontline.monitoring.models import (
    OPEN_ALARM_STATES,
    SEVERITY_RANK,
    Alarm,
    AlarmEvent,
    AlarmSeverity,
    AlarmState,
    Device,
    Observation,
    Rule,
)

DEVICE_RELATED = ("region", "enterprise", "place", "building")
ALARM_RELATED = ("device", "region", "enterprise", "place")
MAX_POINTS = 5000


def devices_for(user):
    """Visible devices with what a list row shows: owner names and latest values."""
    return (
        Device.objects.visible_to(user).select_related(*DEVICE_RELATED).prefetch_related("latest")
    )


def open_alarms_prefetch(to_attr: str = "open_alarms") -> Prefetch:
    queryset = (
        Alarm.objects.filter(state__in=OPEN_ALARM_STATES)
        .select_related(*ALARM_RELATED)
        .order_by("-last_at", "-id")
    )
    return Prefetch("alarms", queryset=queryset, to_attr=to_attr)


def alarms_for(user):
    return Alarm.objects.visible_to(user).select_related(*ALARM_RELATED)


def alarm_with_timeline(user, pk: int) -> Alarm | None:
    events = AlarmEvent.objects.select_related("actor__person").order_by("at", "id")
    return (
        alarms_for(user)
        .select_related("hazard", "supervised_task", "acknowledged_by__person")
        .prefetch_related(Prefetch("events", queryset=events, to_attr="timeline"))
        .filter(pk=pk)
        .first()
    )


def severity_counts(alarms) -> dict:
    """Open alarms of a queryset by severity (critical first) and the unacknowledged
    count, in one query."""
    rows = (
        alarms.filter(state__in=OPEN_ALARM_STATES)
        .order_by()
        .values_list("severity", "state")
        .annotate(n=Count("id"))
    )
    by_severity = dict.fromkeys(AlarmSeverity.values, 0)
    active = 0
    for severity, state, n in rows:
        by_severity[severity] = by_severity.get(severity, 0) + n
        if state == AlarmState.ACTIVE:
            active += n
    ordered = sorted(AlarmSeverity, key=lambda s: -SEVERITY_RANK[s])
    return {
        "open": sum(by_severity.values()),
        "active": active,
        "by_severity": [
            {"severity": s.value, "label": str(s.label), "count": by_severity[s.value]}
            for s in ordered
        ],
    }


def with_critical_flag(devices):
    """Annotate `has_critical`: the device has an open critical alarm."""
    critical = Alarm.objects.filter(
        device=OuterRef("pk"), state__in=OPEN_ALARM_STATES, severity=AlarmSeverity.CRITICAL
    )
    return devices.annotate(has_critical=Exists(critical))


# --- time series -------------------------------------------------------------------------------


def default_window(
    since: datetime | None, until: datetime | None, now: datetime | None = None
) -> tuple[datetime, datetime]:
    now = now or timezone.now()
    until = until or now
    since = since or until - timedelta(hours=24)
    return since, until


def downsample(points: list[tuple], limit: int) -> list[tuple]:
    """At most `limit` points, evenly over the series: the series is cut into limit / 2
    buckets of consecutive points and each keeps its lowest and highest point (in time
    order), so a short spike or dip that raised an alarm stays visible."""
    if len(points) <= limit:
        return points
    buckets = max(limit // 2, 1)
    size = len(points) / buckets
    kept: list[tuple] = []
    for index in range(buckets):
        bucket = points[int(index * size) : int((index + 1) * size)]
        if not bucket:
            continue
        low = min(bucket, key=lambda p: p[1])
        high = max(bucket, key=lambda p: p[1])
        if low is high:
            kept.append(low)
        else:
            kept.extend(sorted((low, high), key=lambda p: p[0]))
    return kept


def series_of(
    device: Device,
    *,
    metric: str | None,
    since: datetime,
    until: datetime,
    limit: int = MAX_POINTS,
) -> list[dict]:
    """The observations of a device between since and until, one series per metric (the
    kind's metrics, or the one asked for). One query per metric, on the unique index
    (device, metric, at)."""
    codes = [metric] if metric else [m.code for m in metrics_of(device.kind)]
    series = []
    for code in codes:
        points = list(
            Observation.objects.filter(device=device, metric=code, at__gte=since, at__lte=until)
            .order_by("at")
            .values_list("at", "value")
        )
        info = metric_of(device.kind, code)
        kept = downsample(points, limit)
        series.append(
            {
                "metric": code,
                "label": str(info.label) if info else code,
                "unit": str(info.unit) if info else "",
                "boolean": bool(info and info.boolean),
                "total": len(points),
                "downsampled": len(kept) < len(points),
                "points": kept,
            }
        )
    return series


# --- rules -------------------------------------------------------------------------------------


def rules_for(user):
    """The rules that apply in the user's scope: every default rule, and the overrides of
    the devices the user sees."""
    visible = Device.objects.visible_to(user).values("pk")
    return (
        Rule.objects.filter(Q(device__isnull=True) | Q(device__in=visible))
        .select_related("device__region")
        .order_by("kind", "device_id", "alarm_type", "id")
    )


def effective_rules(device: Device) -> list[Rule]:
    """The rules the engine applies to this device: its overrides, and the defaults of its
    kind whose alarm type it does not override."""
    rules = list(
        Rule.objects.filter(Q(device=device) | Q(device__isnull=True, kind=device.kind)).order_by(
            "alarm_type", "id"
        )
    )
    overridden = {r.alarm_type for r in rules if r.device_id is not None}
    return [r for r in rules if r.device_id is not None or r.alarm_type not in overridden]
