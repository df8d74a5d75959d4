"""Patrol pages of the walk (巡查), mostly on the grid worker's phone.

我的巡查 (today's plans of my grids, the round due now, start); the run page while walking (a
big 打卡 button per checkpoint that sends the phone's position with its accuracy, photo,
发现问题 with 转为隐患 / 社区呼叫, the track sent every 30 s, finish); and the QR route a
checkpoint's plate opens. The run page is also the station's view of a run: its flagged
check-ins, findings and, under the track rule, the track map. The station's own pages (plans,
runs, coverage) are in `patrol_station`.

A refused step re-renders the page with the reason and the service's status (403, 409, 422).
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from frontline.community.models import (
    CallCategory,
    Checkpoint,
    PatrolCheckIn,
    PatrolFinding,
    PatrolPlan,
    PatrolRun,
)
from frontline.community.models.patrols import CheckInFlag, RunState, complete_runs
from frontline.community.services import patrol_findings, patrol_runs
from frontline.community.services.patrols import (
    may_see_track,
    may_supervise,
    round_at,
    started_in_window,
)
from frontline.core.errors import DomainError, InvalidInput
from frontline.core.maps import geometry_to_crs, tile_config
from frontline.core.models import RegionLevel
from frontline.core.roles import Capability, Role, can
from frontline.core.scoping import active_assignments
from frontline.core.views.common import scoped_object_or_404


def _float(value):
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _my_grid_ids(user) -> list[int]:
    return [
        a.region_id
        for a in active_assignments(user)
        if a.role == Role.GRID_WORKER and a.region.level == RegionLevel.GRID
    ]


# --- the grid worker's patrol ---------------------------------------------------------------


@login_required
def my_patrol(request):
    user = request.user
    now = timezone.now()
    today = timezone.localdate(now)
    plans = (
        PatrolPlan.objects.visible_to(user)
        .filter(is_active=True)
        .select_related("region")
        .annotate(points=Count("checkpoints"))
    )
    # The walker's page: the plans of the grids the user walks as grid worker. The station
    # finds every plan on the plans page.
    grid_ids = _my_grid_ids(user)
    plans = list(plans.filter(region_id__in=grid_ids).order_by("region__code", "name", "id"))
    done = set(
        PatrolRun.objects.visible_to(user)
        .filter(complete_runs(), day=today, plan__in=plans)
        .values_list("plan_id", "round")
    )
    for plan in plans:
        number, inside = round_at(plan, now)
        plan.due_round = number
        plan.due_inside = inside
        plan.round_rows = [
            {
                "number": index,
                "window": f"{start}–{end}",
                "done": (plan.pk, index) in done,
                "current": index == number and inside,
            }
            for index, (start, end) in enumerate(plan.rounds or [], start=1)
        ]
        plan.rounds_done = sum(1 for row in plan.round_rows if row["done"])
    walking = (
        PatrolRun.objects.visible_to(user)
        .filter(walker=user, state=RunState.WALKING)
        .select_related("plan")
        .first()
    )
    recent = list(
        PatrolRun.objects.visible_to(user)
        .filter(walker=user)
        .exclude(state=RunState.WALKING)
        .select_related("plan")
        .order_by("-started_at", "-id")[:5]
    )
    context = {
        "plans": plans,
        "walking": walking,
        "recent": recent,
        "today": today,
        "may_supervise": can(user, Capability.EDIT),
        "is_walker": bool(grid_ids),
    }
    return render(request, "community/patrols/my_patrol.html", context)


@login_required
@require_POST
def start_run(request, pk: int):
    plan = scoped_object_or_404(request.user, PatrolPlan.objects, pk=pk)
    try:
        run = patrol_runs.start_run(actor=request.user, plan=plan)
    except DomainError as exc:
        walking = exc.details.get("run_id") if isinstance(exc.details, dict) else None
        messages.error(request, exc.message)
        if walking:
            return redirect("patrol_run", pk=walking)
        return redirect("patrol_home")
    messages.success(request, _("已开始巡查，请逐个点位打卡"))
    return redirect("patrol_run", pk=run.pk)


def _run_context(request, run: PatrolRun) -> dict:
    user = request.user
    checkpoints = list(
        Checkpoint.objects.filter(plan_id=run.plan_id)
        .select_related("facility", "building")
        .order_by("order", "id")
    )
    check_ins = list(
        PatrolCheckIn.objects.filter(run=run).select_related("checkpoint").order_by("at", "id")
    )
    latest: dict[int, PatrolCheckIn] = {}
    ok_ids = set()
    for item in check_ins:
        if item.checkpoint_id:
            latest[item.checkpoint_id] = item
            if item.flag == CheckInFlag.OK:
                ok_ids.add(item.checkpoint_id)
    for checkpoint in checkpoints:
        checkpoint.last = latest.get(checkpoint.pk)
        checkpoint.ok = checkpoint.pk in ok_ids
    findings = list(
        PatrolFinding.objects.filter(run=run).select_related("hazard", "call").order_by("at", "id")
    )
    walking_here = run.state == RunState.WALKING and run.walker_id == user.pk
    see_track = may_see_track(user, run)
    tiles = tile_config()
    crs = tiles["crs"]
    map_data = {
        "tiles": tiles,
        "track": [],
        "points": [],
        "checkpoints": [],
        "labels": {"start": _("起点"), "flagged": _("异常打卡")},
    }
    if see_track and len(run.track or []) >= 2:
        line = {"type": "LineString", "coordinates": [[p[0], p[1]] for p in run.track]}
        map_data["track"] = geometry_to_crs(line, crs)["coordinates"]
    for checkpoint in checkpoints:
        point = geometry_to_crs(
            {"type": "Point", "coordinates": [checkpoint.lon, checkpoint.lat]}, crs
        )
        map_data["checkpoints"].append(
            {"name": checkpoint.name, "at": point["coordinates"], "r": checkpoint.radius_m}
        )
    if see_track:
        for item in check_ins:
            if item.lon is None:
                continue
            point = geometry_to_crs({"type": "Point", "coordinates": [item.lon, item.lat]}, crs)
            map_data["points"].append(
                {
                    "at": point["coordinates"],
                    "flagged": item.is_flagged,
                    "label": f"{item.checkpoint.name if item.checkpoint_id else ''} "
                    f"{item.get_flag_display()}",
                }
            )
    departments = []
    categories = []
    may_hand_on = can(user, Capability.EDIT, run.region)
    if may_hand_on and any(not f.is_handed_on for f in findings):
        departments = [
            {"pk": unit.pk, "name": unit.name}
            for unit in patrol_findings.call_departments(user, run.region)[:200]
        ]
        categories = CallCategory.choices
    return {
        "run": run,
        "checkpoints": checkpoints,
        "check_ins": check_ins,
        "flagged": sum(1 for item in check_ins if item.is_flagged),
        "findings": findings,
        "walking_here": walking_here,
        "see_track": see_track,
        "may_abandon": run.state == RunState.WALKING
        and (run.walker_id == user.pk or may_supervise(user, run.region)),
        "may_hand_on": may_hand_on,
        "map_data": map_data,
        "percent": round(100 * run.points_checked / run.points_total) if run.points_total else 0,
        "departments": departments,
        "categories": categories,
        "max_accuracy": int(patrol_runs.max_accuracy_m()),
        "in_window": started_in_window(run),
    }


def _render_run(request, run, *, error=None, details=None, status=200):
    context = _run_context(request, run)
    context["error"] = error
    context["error_details"] = details or []
    return render(request, "community/patrols/run.html", context, status=status)


def _run(request, pk: int) -> PatrolRun:
    return scoped_object_or_404(
        request.user, PatrolRun.objects.select_related("plan", "region", "walker__person"), pk=pk
    )


@login_required
def run_detail(request, pk: int):
    return _render_run(request, _run(request, pk))


def _refused(request, run, exc: DomainError):
    details = [str(message) for message in exc.details.values()] if exc.status == 422 else []
    run.refresh_from_db()
    return _render_run(request, run, error=exc.message, details=details, status=exc.status)


@login_required
@require_POST
def run_check_in(request, pk: int):
    run = _run(request, pk)
    checkpoint = (
        Checkpoint.objects.visible_to(request.user)
        .filter(
            pk=request.POST.get("checkpoint")
            if str(request.POST.get("checkpoint", "")).isdigit()
            else 0
        )
        .first()
    )
    try:
        item = patrol_runs.check_in(
            actor=request.user,
            run=run,
            checkpoint=checkpoint,
            lon=_float(request.POST.get("lon")),
            lat=_float(request.POST.get("lat")),
            accuracy_m=_float(request.POST.get("accuracy")),
            note=request.POST.get("note", ""),
            photo=request.FILES.get("photo"),
            facility_status=request.POST.get("facility_status") or None,
        )
    except DomainError as exc:
        return _refused(request, run, exc)
    if item.is_flagged:
        messages.warning(
            request,
            _("%(point)s 已打卡，但被标记为：%(flag)s")
            % {
                "point": item.checkpoint.name,
                "flag": item.get_flag_display(),
            },
        )
    else:
        messages.success(request, _("%(point)s 打卡成功") % {"point": item.checkpoint.name})
    return redirect("patrol_run", pk=run.pk)


@login_required
@require_POST
def run_track(request, pk: int):
    run = _run(request, pk)
    try:
        body = json.loads(request.body or b"{}")
        points = body.get("points") if isinstance(body, dict) else None
    except (ValueError, UnicodeDecodeError):
        points = None
    if points is None:
        return JsonResponse(
            {"code": "validation_error", "message": _("轨迹点格式不正确"), "details": {}},
            status=422,
        )
    try:
        patrol_runs.add_track(actor=request.user, run=run, points=points)
    except DomainError as exc:
        return JsonResponse(
            {"code": exc.code, "message": str(exc.message), "details": exc.details},
            status=exc.status,
        )
    return HttpResponse(status=204)


@login_required
@require_POST
def run_finding(request, pk: int):
    run = _run(request, pk)
    check_in = None
    raw = request.POST.get("check_in", "")
    if raw.isdigit():
        check_in = PatrolCheckIn.objects.filter(pk=raw, run=run).first()
    try:
        patrol_findings.record_finding(
            actor=request.user,
            run=run,
            note=request.POST.get("note", ""),
            lon=_float(request.POST.get("lon")),
            lat=_float(request.POST.get("lat")),
            check_in=check_in,
            photo=request.FILES.get("photo"),
        )
    except DomainError as exc:
        return _refused(request, run, exc)
    messages.success(request, _("已记录发现的问题，可一键转为隐患或社区呼叫"))
    return redirect(reverse("patrol_run", args=[run.pk]) + "#findings")


@login_required
@require_POST
def run_finish(request, pk: int):
    run = _run(request, pk)
    action = (
        patrol_runs.finish_run
        if request.POST.get("action") != "abandon"
        else patrol_runs.abandon_run
    )
    try:
        action(actor=request.user, run=run, note=request.POST.get("note", ""))
    except DomainError as exc:
        return _refused(request, run, exc)
    if action is patrol_runs.finish_run and not run.is_complete:
        missing = run.points_total - run.points_checked
        messages.warning(
            request,
            _("巡查已结束，但还有 %(n)d 个点位未正常打卡，本次不计入完成轮次") % {"n": missing},
        )
    elif action is patrol_runs.finish_run:
        messages.success(request, _("巡查已完成"))
    else:
        messages.success(request, _("巡查已中止"))
    return redirect("patrol_run", pk=run.pk)


@login_required
@require_POST
def finding_hand_on(request, pk: int, to: str):
    finding = scoped_object_or_404(
        request.user,
        PatrolFinding.objects.select_related("run", "region", "check_in__checkpoint"),
        pk=pk,
    )
    run = _run(request, finding.run_id)
    try:
        if to == "hazard":
            hazard = patrol_findings.finding_to_hazard(
                actor=request.user,
                finding=finding,
                title=request.POST.get("title", ""),
                source=request.POST.get("source") or "patrol",
            )
            messages.success(
                request, _("已转为隐患 %(number)s，等待应急管理站确认") % {"number": hazard.number}
            )
        else:
            raw = request.POST.get("department", "")
            department = next(
                (
                    unit
                    for unit in patrol_findings.call_departments(request.user, finding.region)
                    if str(unit.pk) == raw
                ),
                None,
            )
            if department is None:
                raise InvalidInput(
                    _("输入有误，请检查标注的字段"), details={"department": _("请选择责任部门")}
                )
            patrol_findings.finding_to_call(
                actor=request.user,
                finding=finding,
                category=request.POST.get("category", ""),
                department=department,
                title=request.POST.get("title", ""),
            )
            messages.success(request, _("已发起社区呼叫"))
    except DomainError as exc:
        return _refused(request, run, exc)
    return redirect(reverse("patrol_run", args=[run.pk]) + "#findings")


@login_required
def qr_check_in(request, token: str):
    """The page a checkpoint plate's QR opens: confirm to check in to that point in my
    current run (a GET never writes)."""
    checkpoint = (
        Checkpoint.objects.visible_to(request.user)
        .select_related("plan__region")
        .filter(qr_token=token)
        .first()
    )
    if checkpoint is None:
        raise Http404
    run = (
        PatrolRun.objects.visible_to(request.user)
        .filter(walker=request.user, state=RunState.WALKING)
        .select_related("plan")
        .first()
    )
    context = {"checkpoint": checkpoint, "run": run, "error": None}
    if request.method == "POST":
        if run is None:
            context["error"] = _("您当前没有进行中的巡查，请先开始巡查")
            return render(request, "community/patrols/qr.html", context, status=409)
        try:
            patrol_runs.check_in_by_qr(actor=request.user, run=run, token=token)
        except DomainError as exc:
            details = list(exc.details.values()) if exc.status == 422 else []
            context["error"] = details[0] if details else exc.message
            return render(request, "community/patrols/qr.html", context, status=exc.status)
        messages.success(request, _("%(point)s 扫码打卡成功") % {"point": checkpoint.name})
        return redirect("patrol_run", pk=run.pk)
    return render(request, "community/patrols/qr.html", context)
