"""Patrol pages of the station (应急管理站): the plans and their editor, the runs with
filters, and the coverage of a day (grids not patrolled, rounds done against due,
punctuality per grid worker).

A run itself opens on the run page in `patrols`, shared with the walker. A refused save
re-renders the editor with the reasons and the service's status (403, 409, 422).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from frontline.community.models import Checkpoint, PatrolPlan, PatrolRun
from frontline.community.models.patrols import RunState
from frontline.community.services import patrol_coverage, patrols
from frontline.community.views.patrols import _float
from frontline.core.errors import DomainError, InvalidInput
from frontline.core.models import Region, RegionLevel
from frontline.core.roles import Capability, can
from frontline.core.views.common import paginate, scoped_object_or_404

EXTRA_CHECKPOINT_ROWS = 3


@login_required
def plan_list(request):
    user = request.user
    plans = (
        PatrolPlan.objects.visible_to(user)
        .select_related("region")
        .annotate(points=Count("checkpoints"))
        .order_by("region__code", "name", "id")
    )
    region_code = request.GET.get("region", "").strip()[:20]
    if region_code:
        region = Region.objects.visible_to(user).filter(code=region_code).first()
        plans = plans.within(region.path) if region else plans.none()
    context = {
        "page": paginate(request, plans),
        "region_code": region_code,
        "can_edit": can(user, Capability.EDIT),
    }
    return render(request, "community/patrols/plan_list.html", context)


def _rounds_text(rounds) -> str:
    return "，".join(f"{start}-{end}" for start, end in rounds or [])


def _parse_rounds(text: str) -> list[list[str]]:
    parts = [p.strip() for p in text.replace("，", ",").replace("；", ",").split(",") if p.strip()]
    result = []
    for part in parts:
        pieces = [p.strip() for p in part.replace("—", "-").replace("–", "-").split("-")]
        result.append(pieces if len(pieces) == 2 else [part, ""])
    return result


def _checkpoint_rows(request) -> list[dict]:
    rows = []
    index = 0
    while f"cp-{index}-name" in request.POST and index < patrols.MAX_CHECKPOINTS + 10:
        prefix = f"cp-{index}-"
        values = {
            key: request.POST.get(prefix + key, "").strip()
            for key in ("id", "name", "lon", "lat", "radius_m", "building", "facility")
        }
        index += 1
        if not any(values[key] for key in ("name", "lon", "lat")):
            continue
        rows.append(values)
    return rows


def _plan_form_context(request, plan, rows, rounds_text, grids, errors=None, form=None):
    blank = {
        "id": "",
        "name": "",
        "lon": "",
        "lat": "",
        "radius_m": "50",
        "building": "",
        "facility": "",
    }
    shown = rows + [dict(blank) for _ in range(EXTRA_CHECKPOINT_ROWS)]
    return {
        "plan": plan,
        "rows": shown,
        "rounds_text": rounds_text,
        "grids": grids,
        "errors": errors or {},
        "form": form or {},
    }


@login_required
def plan_edit(request, pk: int | None = None):
    user = request.user
    plan = None
    if pk is not None:
        plan = scoped_object_or_404(user, PatrolPlan.objects.select_related("region"), pk=pk)
    grids = list(
        Region.objects.visible_to(user).filter(level=RegionLevel.GRID).order_by("code")[:500]
    )
    if request.method == "POST":
        rows = _checkpoint_rows(request)
        checkpoints = []
        for row in rows:
            checkpoints.append(
                {
                    "id": int(row["id"]) if row["id"].isdigit() else None,
                    "name": row["name"],
                    "lon": _float(row["lon"]),
                    "lat": _float(row["lat"]),
                    "radius_m": row["radius_m"] or 50,
                    "building": patrols.building_or_none(user, row["building"])
                    if row["building"].isdigit()
                    else None,
                    "facility": patrols.facility_or_none(user, row["facility"])
                    if row["facility"].isdigit()
                    else None,
                }
            )
        rounds_text = request.POST.get("rounds", "")
        form = {
            "name": request.POST.get("name", ""),
            "region": request.POST.get("region", ""),
            "is_active": request.POST.get("is_active") == "on",
        }
        try:
            common = {
                "actor": user,
                "name": form["name"],
                "rounds": _parse_rounds(rounds_text),
                "is_active": form["is_active"],
                "checkpoints": checkpoints,
            }
            if plan is None:
                region = next((g for g in grids if str(g.pk) == form["region"]), None)
                if region is None:
                    raise InvalidInput(
                        _("输入有误，请检查标注的字段"), details={"region": _("请选择网格")}
                    )
                plan = patrols.create_plan(region=region, **common)
            else:
                patrols.update_plan(plan=plan, **common)
        except DomainError as exc:
            if plan is not None and plan.pk is None:
                plan = None
            context = _plan_form_context(
                request, plan, rows, rounds_text, grids, errors=exc.details, form=form
            )
            context["error"] = exc.message
            return render(request, "community/patrols/plan_edit.html", context, status=exc.status)
        messages.success(request, _("巡查计划已保存"))
        return redirect("patrol_plan", pk=plan.pk)
    rows = []
    form = {"name": "", "region": "", "is_active": True}
    rounds_text = _rounds_text([["08:00", "12:00"], ["14:00", "18:00"]])
    if plan is not None:
        form = {"name": plan.name, "region": str(plan.region_id), "is_active": plan.is_active}
        rounds_text = _rounds_text(plan.rounds)
        for checkpoint in Checkpoint.objects.filter(plan=plan).order_by("order", "id"):
            rows.append(
                {
                    "id": str(checkpoint.pk),
                    "name": checkpoint.name,
                    "lon": f"{checkpoint.lon:.6f}",
                    "lat": f"{checkpoint.lat:.6f}",
                    "radius_m": str(checkpoint.radius_m),
                    "building": str(checkpoint.building_id or ""),
                    "facility": str(checkpoint.facility_id or ""),
                    "qr_url": request.build_absolute_uri(
                        reverse("patrol_qr", args=[checkpoint.qr_token])
                    ),
                }
            )
    context = _plan_form_context(request, plan, rows, rounds_text, grids, form=form)
    return render(request, "community/patrols/plan_edit.html", context)


@login_required
def run_list(request):
    user = request.user
    runs = PatrolRun.objects.visible_to(user).select_related("plan", "region", "walker__person")
    region_code = request.GET.get("region", "").strip()[:20]
    if region_code:
        region = Region.objects.visible_to(user).filter(code=region_code).first()
        runs = runs.within(region.path) if region else runs.none()
    walker = request.GET.get("walker", "").strip()[:50]
    if walker:
        runs = runs.filter(
            Q(walker__username__icontains=walker) | Q(walker__person__name__icontains=walker)
        )
    day = parse_date(request.GET.get("day", "") or "") if request.GET.get("day") else None
    if day:
        runs = runs.filter(day=day)
    state = request.GET.get("state", "")
    if state in RunState.values:
        runs = runs.filter(state=state)
    flagged = request.GET.get("flagged") == "1"
    runs = runs.annotate(flagged_count=Count("check_ins", filter=~Q(check_ins__flag="ok")))
    if flagged:
        runs = runs.filter(flagged_count__gt=0)
    context = {
        "page": paginate(request, runs.order_by("-started_at", "-id")),
        "region_code": region_code,
        "walker": walker,
        "day": day.isoformat() if day else "",
        "state": state,
        "states": RunState.choices,
        "flagged": flagged,
    }
    return render(request, "community/patrols/run_list.html", context)


def _date_param(request, name: str, default: date) -> date:
    raw = request.GET.get(name, "")
    try:
        value = parse_date(raw) if raw else None
    except ValueError:
        value = None
    return value or default


@login_required
def coverage(request):
    user = request.user
    today = timezone.localdate()
    day = _date_param(request, "day", today)
    last = _date_param(request, "to", day)
    first = _date_param(request, "from", last - timedelta(days=6))
    if first > last or (last - first).days > 366:
        first = last - timedelta(days=6)
    grids = patrol_coverage.coverage_for_day(user, day)
    planned = [row for row in grids if row.rounds_due]
    missing = [row for row in planned if not row.patrolled]
    walkers = patrol_coverage.punctuality(user, first, last)
    due = sum(row.rounds_due for row in planned)
    done = sum(row.rounds_done for row in planned)
    context = {
        "day": day,
        "first": first,
        "last": last,
        "grids": grids,
        "missing": missing,
        "planned": len(planned),
        "unplanned": len(grids) - len(planned),
        "rounds_due": due,
        "rounds_done": done,
        "percent": round(100 * done / due) if due else 0,
        "walkers": walkers,
        "chart": {
            "labels": [row.name for row in walkers],
            "values": [row.percent for row in walkers],
            "title": _("准时率（%）"),
        },
    }
    return render(request, "community/patrols/coverage.html", context)
