"""The rule editor: the default rules of every device kind and the overrides of the devices
in scope, edited in place with htmx. Everyone in scope may read them; station chiefs and
county administrators change them (默认规则 only county administrators)."""

from __future__ import annotations

from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.views.common import forbidden, scoped_object_or_404
from frontline.monitoring import queries
from frontline.monitoring.kinds import DeviceKind, metric_of
from frontline.monitoring.models import AlarmSeverity, Device, Operator, Rule
from frontline.monitoring.services import rule_editing

FORM_FIELDS = (
    "threshold",
    "clear_threshold",
    "duration_seconds",
    "repeat_count",
    "window_seconds",
    "z_score",
    "operator",
    "severity",
    "message",
)


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _decorate(rule: Rule, user) -> Rule:
    rule.editable = rule_editing.can_edit_rule(user, rule)
    metric = metric_of(rule.kind, rule.metric) if rule.metric else None
    rule.metric_label = str(metric.label) if metric else rule.metric
    rule.unit = str(metric.unit) if metric else ""
    return rule


@login_required
def rule_list(request):
    user = request.user
    rules = queries.rules_for(user)
    kind = request.GET.get("kind", "")
    if kind in DeviceKind.values:
        rules = rules.filter(kind=kind)
    device_id = request.GET.get("device", "")
    if device_id.isdigit() and len(device_id) <= 18:
        rules = rules.filter(device_id=int(device_id))
    rules = [_decorate(rule, user) for rule in rules]
    labels = dict(DeviceKind.choices)
    defaults = [r for r in rules if r.device_id is None]
    groups = [
        {"kind": key, "label": labels.get(key, key), "rules": list(items)}
        for key, items in groupby(defaults, key=lambda r: r.kind)
    ]
    context = {
        "groups": groups,
        "overrides": [r for r in rules if r.device_id is not None],
        "kind": kind,
        "device_filter": device_id,
        "kinds": DeviceKind.choices,
        "is_editor": rule_editing.is_rule_editor(user),
    }
    return render(request, "monitoring/rules.html", context)


def _visible_rule(request, pk: int) -> Rule:
    rule = queries.rules_for(request.user).filter(pk=pk).first()
    if rule is None:
        # Overrides of devices outside the scope: the same 404 as for a device.
        scoped_object_or_404(request.user, Device.objects.all(), rules__pk=pk)
        raise Http404
    return _decorate(rule, request.user)


def _form_context(rule: Rule, values=None, errors=None) -> dict:
    values = values or {
        field: "" if getattr(rule, field) is None else getattr(rule, field) for field in FORM_FIELDS
    }
    return {
        "rule": rule,
        "values": values,
        "errors": errors or {},
        "severities": AlarmSeverity.choices,
        "operators": Operator.choices,
        "enabled": values.get("enabled", rule.enabled),
        "auto_clear": values.get("auto_clear", rule.auto_clear),
    }


@login_required
def rule_card(request, pk: int):
    return render(request, "monitoring/_rule_card.html", {"rule": _visible_rule(request, pk)})


@login_required
def rule_edit(request, pk: int):
    rule = _visible_rule(request, pk)
    if not rule.editable:
        message = (
            rule_editing.default_rules_refusal()
            if rule.device_id is None
            else _("只有站长和区县管理员可以修改告警规则")
        )
        if _is_htmx(request):
            return render(
                request, "monitoring/_rule_card.html", {"rule": rule, "denied": message}, status=403
            )
        return forbidden(request, message)
    template = "monitoring/_rule_form.html" if _is_htmx(request) else "monitoring/rule_edit.html"
    if request.method != "POST":
        return render(request, template, _form_context(rule))
    post = request.POST
    changes = {field: post.get(field, "") for field in FORM_FIELDS}
    changes["enabled"] = post.get("enabled") == "1"
    changes["auto_clear"] = post.get("auto_clear") == "1"
    try:
        rule = rule_editing.update_rule(actor=request.user, rule=rule, changes=changes)
    except InvalidInput as exc:
        context = _form_context(rule, values=changes, errors=exc.details)
        context["error"] = str(exc.message)
        return render(request, template, context, status=422)
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    rule = _visible_rule(request, pk)
    if not _is_htmx(request):
        messages.success(request, _("已保存告警规则"))
        return redirect(f"{reverse('rule_list')}#rule-{rule.pk}")
    return render(request, "monitoring/_rule_card.html", {"rule": rule, "saved": True})


@login_required
@require_POST
def rule_delete(request, pk: int):
    rule = _visible_rule(request, pk)
    try:
        rule_editing.delete_override(actor=request.user, rule=rule)
    except PermissionDenied as exc:
        if _is_htmx(request):
            context = {"rule": rule, "denied": str(exc.message)}
            return render(request, "monitoring/_rule_card.html", context, status=403)
        return forbidden(request, exc.message)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("rule_list")
    if _is_htmx(request):
        return HttpResponse("")
    messages.success(request, _("已删除专用规则，恢复使用默认规则"))
    return redirect("rule_list")
