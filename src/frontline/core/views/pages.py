"""The home page (counts and a chart of the scope) and the jurisdiction switcher."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from frontline.core.context_processors import full_scope_regions
from frontline.core.middleware import FOCUS_SESSION_KEY
from frontline.core.models import Organization, Person, Region, RegionLevel, RoleAssignment
from frontline.core.models.regions import LEVEL_ORDER
from frontline.core.scoping import active_assignments, scope_paths


@login_required
def home(request):
    user = request.user
    chart = people_chart(user)
    context = {
        "level_counts": region_counts(user),
        "organization_count": Organization.objects.visible_to(user).count(),
        "person_count": Person.objects.visible_to(user).count(),
        "account_count": account_count(user),
        "assignments": active_assignments(user),
        "chart": chart,
        # The same numbers as a table, for screen readers and for when scripts do not run.
        "chart_rows": list(zip(chart["labels"], chart["values"], strict=True)) if chart else [],
    }
    return render(request, "core/home.html", context)


def region_counts(user) -> list[tuple[str, int]]:
    rows = dict(
        Region.objects.visible_to(user)
        .order_by()
        .values("level")
        .annotate(n=Count("id"))
        .values_list("level", "n")
    )
    return [(level.label, rows[level.value]) for level in LEVEL_ORDER if rows.get(level.value)]


def account_count(user) -> int:
    """Accounts holding an active role somewhere in the scope."""
    return (
        RoleAssignment.objects.visible_to(user)
        .filter(revoked_at__isnull=True, user__is_active=True)
        .values("user_id")
        .distinct()
        .count()
    )


def chart_level(user) -> RegionLevel | None:
    """People are grouped one level below the scope, but never coarser than townships."""
    paths = scope_paths(user)
    if paths is None:
        return RegionLevel.TOWNSHIP
    levels = Region.objects.visible_to(user).filter(path__in=paths).values_list("level", flat=True)
    indexes = [LEVEL_ORDER.index(RegionLevel(level)) for level in levels]
    if not indexes:
        return None
    below = max(min(indexes) + 1, LEVEL_ORDER.index(RegionLevel.TOWNSHIP))
    return LEVEL_ORDER[below] if below < len(LEVEL_ORDER) else None


def people_chart(user) -> dict | None:
    level = chart_level(user)
    if level is None:
        return None
    groups = dict(
        Region.objects.visible_to(user)
        .filter(level=level)
        .order_by("code")
        .values_list("path", "name")
    )
    if not groups:
        return None
    totals = dict.fromkeys(groups, 0)
    per_region = (
        Person.objects.visible_to(user)
        .order_by()
        .values("region__path")
        .annotate(n=Count("id"))
        .values_list("region__path", "n")
    )
    for path, count in per_region:
        group = _enclosing(path, totals)
        if group is not None:
            totals[group] += count
    return {
        "title": _("各%(level)s人员数") % {"level": level.label},
        "labels": list(groups.values()),
        "values": list(totals.values()),
    }


def _enclosing(path: str, groups: dict) -> str | None:
    """The group path that is a prefix of `path` (paths hold at most six codes)."""
    codes = [code for code in path.split("/") if code]
    prefix = ""
    for code in codes:
        prefix += code + "/"
        if prefix in groups:
            return prefix
    return None


@login_required
@require_POST
def set_focus(request):
    """Narrow every page to one region of the user's scope; an empty choice clears it."""
    code = request.POST.get("region", "").strip()
    if code:
        region = get_object_or_404(full_scope_regions(request.user), code=code)
        request.session[FOCUS_SESSION_KEY] = region.path
    else:
        request.session.pop(FOCUS_SESSION_KEY, None)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "home"
    return redirect(target)
