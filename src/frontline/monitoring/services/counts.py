"""Open alarms counted where they belong: by township, village, enterprise, place and
severity. An alarm carries its device's region, enterprise and place from the moment it was
raised, so the counts need no join through devices and follow the user's scope."""

from __future__ import annotations

from collections import Counter

from django.db.models import Count

from frontline.core.models import Region, RegionLevel
from frontline.monitoring.models import OPEN_ALARM_STATES, Alarm


def _code_at(path: str, length: int) -> str:
    return next((code for code in path.split("/") if len(code) == length), "")


def open_alarm_counts(user) -> dict:
    alarms = Alarm.objects.visible_to(user).filter(state__in=OPEN_ALARM_STATES)
    by_path = alarms.order_by().values_list("region__path").annotate(n=Count("id"))
    townships: Counter = Counter()
    villages: Counter = Counter()
    for path, n in by_path:
        townships[_code_at(path, 9)] += n
        villages[_code_at(path, 12)] += n
    names = dict(
        Region.objects.filter(code__in=[*townships, *villages]).values_list("code", "name")
    )

    def rows(counter: Counter) -> list[dict]:
        return [
            {"code": code, "name": names.get(code, ""), "count": n}
            for code, n in counter.most_common()
            if code
        ]

    def by_owner(field: str) -> list[dict]:
        grouped = (
            alarms.exclude(**{f"{field}__isnull": True})
            .order_by()
            .values(f"{field}_id", f"{field}__name")
            .annotate(n=Count("id"))
            .order_by("-n")
        )
        return [{"id": g[f"{field}_id"], "name": g[f"{field}__name"], "count": g["n"]}
                for g in grouped]  # fmt: skip

    severity = dict(alarms.order_by().values_list("severity").annotate(n=Count("id")))
    return {
        "total": sum(severity.values()),
        "by_severity": severity,
        "by_township": rows(townships),
        "by_village": rows(villages),
        "by_enterprise": by_owner("enterprise"),
        "by_place": by_owner("place"),
        "levels": {"township": RegionLevel.TOWNSHIP, "village": RegionLevel.VILLAGE},
    }
