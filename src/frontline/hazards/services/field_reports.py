"""Reporting from the field: which region a report belongs to, and how often one may report."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from frontline.core.errors import DomainError
from frontline.core.roles import ROLE_CAPABILITIES, Capability
from frontline.core.scoping import active_assignments

# --- reporting from the field: where, and how often ----------------------------------------

DEFAULT_REPORT_LIMIT = 10
DEFAULT_REPORT_WINDOW_MINUTES = 10


class TooManyReports(DomainError):
    """More reports from one account than the window allows (HTTP 429)."""

    status = 429
    code = "rate_limited"


def check_report_rate(user, *, now: float | None = None) -> None:
    """At most `FRONTLINE_HAZARD_REPORT_LIMIT` reports per account in
    `FRONTLINE_HAZARD_REPORT_WINDOW_MINUTES` (fixed windows in the Django cache). Counts
    the attempt; raises TooManyReports past the limit."""
    limit = int(getattr(settings, "FRONTLINE_HAZARD_REPORT_LIMIT", DEFAULT_REPORT_LIMIT))
    minutes = int(
        getattr(settings, "FRONTLINE_HAZARD_REPORT_WINDOW_MINUTES", DEFAULT_REPORT_WINDOW_MINUTES)
    )
    window = minutes * 60
    bucket = int((now if now is not None else time.time()) // window)
    key = f"frontline:hazard-report:{getattr(user, 'pk', None)}:{bucket}"
    cache.add(key, 0, timeout=window + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 60)
        count = 1
    if count > limit:
        raise TooManyReports(
            _("上报过于频繁：每 %(minutes)d 分钟最多上报 %(limit)d 条，请稍后再试")
            % {"minutes": minutes, "limit": limit}
        )


def report_regions(user):
    """Regions where the user may report (edit), finest last."""
    from frontline.core.forms import regions_with

    return regions_with(user, Capability.EDIT).order_by("path")


def region_for_report(user, *, lon: float | None = None, lat: float | None = None):
    """The region a report from the field belongs to: the finest region whose boundary
    holds the point, when the user may report there; else the user's own region when they
    hold exactly one place to report in; else None (the user chooses)."""
    allowed = report_regions(user)
    if lon is not None and lat is not None:
        from frontline.core.geo import get_locator

        region_id = get_locator().locate(lon, lat)
        if region_id is not None:
            found = allowed.filter(pk=region_id).first()
            if found is not None:
                return found
    assignments = [
        a for a in active_assignments(user) if Capability.EDIT in ROLE_CAPABILITIES.get(a.role, ())
    ]
    if len(assignments) == 1:
        return allowed.filter(pk=assignments[0].region_id).first()
    return None
