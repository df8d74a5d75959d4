"""Pages of rescue teams: the list (cards with the headcount ready now and a readiness bar,
made for a phone), the team's page (members with masked phones and the core's logged clear
view, this week's shifts as a timeline, equipment, events, status buttons), the roster
editor, the forms, and the spreadsheet import and export."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from frontline.core.errors import DomainError, PermissionDenied
from frontline.core.models import Region
from frontline.core.roles import Capability as Can
from frontline.core.roles import can
from frontline.core.views.common import forbidden, paginate, scoped_object_or_404
from frontline.resources.forms_units import (
    CertificateForm,
    MemberForm,
    ShiftForm,
    TeamForm,
    TeamStatusForm,
)
from frontline.resources.models import (
    Capability,
    DutyShift,
    Equipment,
    MemberCertificate,
    RescueTeam,
    TeamKind,
    TeamMember,
    TeamStatus,
    capability_q,
    unpack_capabilities,
)
from frontline.resources.services import importing_units
from frontline.resources.services import teams as services
from frontline.resources.services.events import timeline
from frontline.resources.services.teams_duty import YEARS
from frontline.resources.views.equipment import import_page, xlsx_response

T = "resources/"
EVENTS_SHOWN = 50
CERTIFICATE_WARNING_DAYS = services.CERTIFICATE_WARNING_DAYS

EVENT_LABELS = {
    "created": gettext_lazy("登记"),
    "updated": gettext_lazy("修改信息"),
    "status": gettext_lazy("状态变更"),
    "availability": gettext_lazy("可用状态变更"),
    "member_added": gettext_lazy("队员入队"),
    "member_updated": gettext_lazy("队员信息修改"),
    "member_removed": gettext_lazy("队员离队"),
    "member_availability": gettext_lazy("队员出勤状态"),
    "certificate_added": gettext_lazy("登记证书"),
    "certificate_removed": gettext_lazy("删除证书"),
    "certificate_expiry_told": gettext_lazy("证书到期提醒"),
    "shift_added": gettext_lazy("排班"),
    "shift_removed": gettext_lazy("删除班次"),
    "inspected": gettext_lazy("检验"),
    "maintained": gettext_lazy("保养"),
    "inspection_due_told": gettext_lazy("检验到期提醒"),
    "maintenance_due_told": gettext_lazy("保养到期提醒"),
}
STATE_LABELS = {
    **dict(TeamStatus.choices),
    "available": gettext_lazy("可用/待命"),
    "unavailable": gettext_lazy("不可用"),
}


def no_manage(request):
    return forbidden(request, _("您没有管理应急资源的权限"))


def labelled_events(obj, states: dict | None = None) -> list:
    """The latest events of `obj`, newest first, with Chinese labels."""
    states = states or STATE_LABELS
    rows = list(timeline(obj).select_related("actor__person").order_by("-at", "-id")[:EVENTS_SHOWN])
    for event in rows:
        event.label = EVENT_LABELS.get(event.kind, event.kind)
        event.from_label = states.get(event.from_state, event.from_state)
        event.to_label = states.get(event.to_state, event.to_state)
        person = getattr(event.actor, "person", None) if event.actor_id else None
        event.who = person.name if person else (event.actor.username if event.actor else _("系统"))
    return rows


def capability_labels(stored: str) -> list[str]:
    labels = dict(Capability.choices)
    return [str(labels.get(code, code)) for code in unpack_capabilities(stored)]


def save_unit(request, form, *, title, cancel_url, url_name):
    """A create or edit form: the saved unit's page, or the form with its errors (422)."""
    if request.method == "POST" and form.is_valid():
        try:
            saved = form.save()
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        if saved is not None:
            messages.success(request, _("已保存“%(name)s”") % {"name": str(saved)})
            return redirect(url_name, pk=saved.pk)
    context = {"form": form, "title": title, "cancel_url": cancel_url}
    return render(request, "resources/team_form.html", context, status=422 if form.errors else 200)


# --- list ----------------------------------------------------------------------------------------


def filtered_teams(request, *, readiness: bool = True):
    queryset = RescueTeam.objects.visible_to(request.user).select_related("region")
    filters: dict = {"q": request.GET.get("q", "").strip()[:100]}
    code = request.GET.get("region", "").strip()
    if code:
        region = get_object_or_404(Region.objects.visible_to(request.user), code=code)
        queryset = queryset.within(region.path)
        filters["region"] = region
    for name, choices in (("kind", TeamKind), ("status", TeamStatus)):
        value = request.GET.get(name, "")
        if value in choices.values:
            queryset = queryset.filter(**{name: value})
            filters[name] = value
    capability = request.GET.get("capability", "")
    if capability in Capability.values:
        queryset = queryset.filter(capability_q(capability))
        filters["capability"] = capability
    if filters["q"]:
        queryset = queryset.filter(
            Q(name__icontains=filters["q"]) | Q(address__icontains=filters["q"])
        )
    if not readiness:
        return queryset.order_by("region__code", "kind", "name", "pk"), filters
    queryset = services.with_readiness(queryset)
    if request.GET.get("short") == "1":
        queryset = queryset.exclude(services.meets_rule_q())
        filters["short"] = True
    return queryset.order_by("region__code", "kind", "name", "pk"), filters


@login_required
def team_list(request):
    teams, filters = filtered_teams(request)
    page = paginate(request, teams)
    for team in page:
        team.readiness = services.readiness_of(team)
        team.capability_labels = capability_labels(team.capabilities)
    context = {
        "page": page,
        "filters": filters,
        "kinds": TeamKind.choices,
        "statuses": TeamStatus.choices,
        "capabilities": Capability.choices,
        "export_query": request.GET.urlencode(),
        "can_create": can(request.user, Can.MANAGE_RESOURCES),
    }
    return render(request, T + "team_list.html", context)


# --- the team's page -----------------------------------------------------------------------------


def visible_team(request, pk: int) -> RescueTeam:
    teams = services.with_readiness(RescueTeam.objects.select_related("region", "leader"))
    return scoped_object_or_404(request.user, teams, pk=pk)


def week_start(request) -> date:
    """The Monday of ?week= (any day of the week), else of today (Asia/Shanghai)."""
    try:
        day = date.fromisoformat(request.GET.get("week", ""))
    except ValueError:
        day = timezone.localdate()
    if not YEARS[0] <= day.year <= YEARS[1]:  # year 9999 would overflow the week's end
        day = timezone.localdate()
    return day - timedelta(days=day.weekday())


def week_timeline(team: RescueTeam, members: list[TeamMember], monday: date) -> dict:
    """Each member's shifts of the week as bars (left and width in % of the week)."""
    start = timezone.make_aware(datetime.combine(monday, datetime.min.time()))
    end = start + timedelta(days=7)
    span = (end - start).total_seconds()
    shifts = list(services.shifts_between(team, start, end))
    by_member: dict[int, list] = {}
    for shift in shifts:
        first, last = max(shift.starts_at, start), min(shift.ends_at, end)
        shift.left = round(100 * (first - start).total_seconds() / span, 3)
        shift.width = max(round(100 * (last - first).total_seconds() / span, 3), 0.5)
        by_member.setdefault(shift.member_id, []).append(shift)
    now = timezone.now()
    return {
        "monday": monday,
        "days": [monday + timedelta(days=n) for n in range(7)],
        "rows": [{"member": m, "shifts": by_member.get(m.pk, [])} for m in members],
        "shifts": shifts,
        "now": round(100 * (now - start).total_seconds() / span, 3) if start <= now < end else None,
        "previous": (monday - timedelta(days=7)).isoformat(),
        "next": (monday + timedelta(days=7)).isoformat(),
    }


def team_members(team: RescueTeam, on_duty_ids: set[int]) -> list[TeamMember]:
    certificates = Prefetch(
        "certificates",
        queryset=MemberCertificate.objects.order_by("expires_on", "pk"),
        to_attr="certificate_list",
    )
    members = list(
        TeamMember.objects.filter(team=team, left_on__isnull=True)
        .select_related("person")
        .prefetch_related(certificates)
        .order_by("role", "pk")
    )
    soon = timezone.localdate() + timedelta(days=CERTIFICATE_WARNING_DAYS)
    for member in members:
        member.on_duty_now = member.pk in on_duty_ids
        member.reveal_id = f"mobile-{member.person_id}"
        for certificate in member.certificate_list:
            certificate.expiring = (
                certificate.expires_on is not None and certificate.expires_on <= soon
            )
    return members


@login_required
def team_detail(request, pk: int):
    team = visible_team(request, pk)
    readiness = services.team_readiness(team)
    members = team_members(team, {m.pk for m in readiness.on_duty})
    context = {
        "team": team,
        "readiness": readiness,
        "members": members,
        "week": week_timeline(team, members, week_start(request)),
        "equipment": list(Equipment.objects.filter(team=team).order_by("kind", "name", "pk")),
        "events": labelled_events(team),
        "capability_labels": capability_labels(team.capabilities),
        "statuses": [(v, label) for v, label in TeamStatus.choices if v != team.status],
        "can_edit": can(request.user, Can.MANAGE_RESOURCES, team.region),
        "can_reveal": can(request.user, Can.VIEW_PERSONAL_DATA, team.region),
    }
    return render(request, T + "team_detail.html", context)


@login_required
@require_POST
def team_status(request, pk: int):
    team = visible_team(request, pk)
    if not can(request.user, Can.MANAGE_RESOURCES, team.region):
        return no_manage(request)
    form = TeamStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择状态"))
        return redirect("team_detail", pk=pk)
    try:
        team = services.set_team_status(actor=request.user, team=team, **form.cleaned_data)
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已改为“%(s)s”") % {"s": team.get_status_display()})
    return redirect("team_detail", pk=pk)


# --- members -------------------------------------------------------------------------------------


def _team_form_page(request, pk: int, form_class, *, title, success):
    team = visible_team(request, pk)
    if not can(request.user, Can.MANAGE_RESOURCES, team.region):
        return no_manage(request)
    form = form_class(request.POST or None, user=request.user, team=team)
    if request.method == "POST" and form.is_valid():
        try:
            saved = form.save()
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        if saved is not None:
            messages.success(request, success)
            return redirect("team_detail", pk=pk)
    context = {
        "form": form,
        "title": title % {"team": team.name},
        "cancel_url": reverse("team_detail", args=[pk]),
    }
    return render(request, "resources/team_form.html", context, status=422 if form.errors else 200)


@login_required
def member_add(request, pk: int):
    return _team_form_page(
        request, pk, MemberForm, title=_("添加队员：%(team)s"), success=_("已添加队员")
    )


@login_required
def certificate_add(request, pk: int):
    return _team_form_page(
        request, pk, CertificateForm, title=_("登记证书：%(team)s"), success=_("已登记证书")
    )


def _member_action(request, pk: int, action):
    member = scoped_object_or_404(
        request.user, TeamMember.objects.select_related("team__region", "person"), pk=pk
    )
    if not can(request.user, Can.MANAGE_RESOURCES, member.team.region):
        return no_manage(request)
    try:
        action(member, request.POST.get("note", "")[:500])
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("team_detail", pk=member.team_id)


@login_required
@require_POST
def member_availability(request, pk: int):
    available = request.POST.get("is_available") == "1"

    def action(member, note):
        services.set_member_availability(
            actor=request.user, member=member, is_available=available, note=note
        )

    return _member_action(request, pk, action)


@login_required
@require_POST
def member_remove(request, pk: int):
    def action(member, note):
        services.remove_member(actor=request.user, member=member, note=note)
        messages.success(request, _("%(name)s 已离队") % {"name": member.person.name})

    return _member_action(request, pk, action)


@login_required
@require_POST
def certificate_remove(request, pk: int):
    certificate = scoped_object_or_404(
        request.user,
        MemberCertificate.objects.select_related("member__team__region", "member__person"),
        pk=pk,
    )
    team = certificate.member.team
    if not can(request.user, Can.MANAGE_RESOURCES, team.region):
        return no_manage(request)
    services.remove_certificate(actor=request.user, certificate=certificate)
    messages.success(request, _("已删除证书"))
    return redirect("team_detail", pk=team.pk)


# --- roster --------------------------------------------------------------------------------------


@login_required
def team_roster(request, pk: int):
    """The shift roster of one week: the timeline, each shift with a delete button, and the
    form that adds one (an overlapping shift is refused with the clash named)."""
    team = visible_team(request, pk)
    may_edit = can(request.user, Can.MANAGE_RESOURCES, team.region)
    monday = week_start(request)
    form = ShiftForm(request.POST or None, user=request.user, team=team)
    status = 200
    if request.method == "POST":
        if not may_edit:
            return no_manage(request)
        if form.is_valid():
            try:
                saved = form.save()
            except PermissionDenied as exc:
                return forbidden(request, exc.message)
            if saved is not None:
                messages.success(request, _("已排班"))
                week = timezone.localdate(saved.starts_at).isoformat()
                return redirect(reverse("team_roster", args=[pk]) + f"?week={week}")
        status = 422
    members = list(
        TeamMember.objects.filter(team=team, left_on__isnull=True)
        .select_related("person")
        .order_by("role", "pk")
    )
    context = {
        "team": team,
        "form": form,
        "week": week_timeline(team, members, monday),
        "can_edit": may_edit,
        "max_hours": services.MAX_SHIFT_HOURS,
    }
    return render(request, T + "team_roster.html", context, status=status)


@login_required
@require_POST
def shift_delete(request, pk: int):
    shift = scoped_object_or_404(
        request.user, DutyShift.objects.select_related("team__region", "member__person"), pk=pk
    )
    if not can(request.user, Can.MANAGE_RESOURCES, shift.team.region):
        return no_manage(request)
    services.delete_shift(actor=request.user, shift=shift)
    messages.success(request, _("已删除班次"))
    week = timezone.localdate(shift.starts_at).isoformat()
    return redirect(reverse("team_roster", args=[shift.team_id]) + f"?week={week}")


# --- forms and spreadsheets ----------------------------------------------------------------------


@login_required
def team_create(request):
    if not can(request.user, Can.MANAGE_RESOURCES):
        return no_manage(request)
    form = TeamForm(request.POST or None, user=request.user)
    return save_unit(
        request,
        form,
        title=_("新增救援队伍"),
        cancel_url=reverse("team_list"),
        url_name="team_detail",
    )


@login_required
def team_edit(request, pk: int):
    team = visible_team(request, pk)
    if not can(request.user, Can.MANAGE_RESOURCES, team.region):
        return no_manage(request)
    form = TeamForm(request.POST or None, user=request.user, instance=team)
    return save_unit(
        request,
        form,
        title=_("修改队伍：%(name)s") % {"name": team.name},
        cancel_url=reverse("team_detail", args=[pk]),
        url_name="team_detail",
    )


@login_required
def team_export(request):
    teams, _filters = filtered_teams(request, readiness=False)
    content = importing_units.export_teams(actor=request.user, queryset=teams)
    return xlsx_response(content, "teams")


@login_required
def team_import(request):
    return import_page(request, "team")
