"""The rule editor: station chiefs and county administrators change thresholds.

A default rule (no device) applies to every device of its kind in every region of the
installation, so only an administrator of the whole installation changes it: a county
administrator whose region is the top of the region tree (the county, in an installation of
one county). Where several counties share an installation under their city, a county
administrator would otherwise change the thresholds of the neighbouring counties; there the
county gives its devices overrides instead. A station chief (or a county administrator)
gives one device of their region its own rule of the same alarm type (an override), changes
it and removes it again.

Every change is one transaction, validated field by field with `Cleaner`, and recorded by
django-auditlog: `Rule` is registered through AUDITLOG_INCLUDE_ALL_MODELS (settings), so
each save and delete leaves a LogEntry with the before/after values and the actor (set from
the request by AuditlogMiddleware, or here from `actor=` for calls outside a request). The
rule engine's per-process cache is dropped on commit (`forget_rules`).
"""

from __future__ import annotations

import contextlib

from auditlog.context import auditlog_value, set_actor
from django.db import transaction
from django.utils.translation import gettext as _

from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.roles import Role
from frontline.core.scoping import active_assignments
from frontline.core.services.validation import Cleaner
from frontline.hazards.services.objects import clean_bool, clean_number
from frontline.monitoring.kinds import metric_of
from frontline.monitoring.models import AlarmSeverity, Condition, Device, Operator, Rule
from frontline.monitoring.services.rules import forget_rules

# The fields a person may change; name, kind, alarm type, metric and condition are what the
# rule *is* and stay as seeded (a different check is a different rule).
EDITABLE = (
    "threshold",
    "clear_threshold",
    "duration_seconds",
    "repeat_count",
    "window_seconds",
    "z_score",
    "operator",
    "severity",
    "message",
    "enabled",
    "auto_clear",
)
_WEEK = 7 * 24 * 3600

RULE_EDITOR_ROLES = (Role.STATION_CHIEF, Role.COUNTY_ADMIN)


def _is_superuser(user) -> bool:
    return bool(user.is_superuser and getattr(user, "_frontline_token", None) is None)


def can_edit_rule(user, rule: Rule) -> bool:
    """Default rules: county administrators of the whole installation (their region has no
    parent). Overrides: station chiefs and county administrators whose region covers the
    device."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if _is_superuser(user):
        return True
    if rule.device_id is None:
        return any(
            a.role == Role.COUNTY_ADMIN and a.region.parent_id is None
            for a in active_assignments(user)
        )
    return can_edit_device_rules(user, rule.device)


def can_edit_device_rules(user, device: Device) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if _is_superuser(user):
        return True
    path = device.region.path
    return any(
        a.role in RULE_EDITOR_ROLES and path.startswith(a.region.path)
        for a in active_assignments(user)
    )


def is_rule_editor(user) -> bool:
    """May edit some rule (shows the editing controls)."""
    if user is None or not user.is_authenticated:
        return False
    return _is_superuser(user) or any(a.role in RULE_EDITOR_ROLES for a in active_assignments(user))


def default_rules_refusal() -> str:
    return _(
        "默认告警规则适用于全平台，只有最上级区划的区县管理员可以修改；其他辖区请为设备设置专用规则"
    )


def _require_editor(actor, rule: Rule) -> None:
    if actor is None:
        return
    if not can_edit_rule(actor, rule):
        if rule.device_id is None:
            raise PermissionDenied(default_rules_refusal())
        raise PermissionDenied(_("只有站长和区县管理员可以修改告警规则"))


def clean_rule_fields(rule: Rule, changes: dict) -> dict:
    """Validate `changes` (values from JSON or a form) against the rule they apply to;
    returns the cleaned values or raises InvalidInput with a Chinese message per field."""
    cleaner = Cleaner()
    data: dict = {}
    unknown = set(changes) - set(EDITABLE)
    for field in sorted(unknown):
        cleaner.fail(field, _("不允许修改的字段"))
    numbers = {
        "threshold": {"minimum": -1e9, "maximum": 1e9},
        "clear_threshold": {"minimum": -1e9, "maximum": 1e9},
        "z_score": {"minimum": 0.5, "maximum": 20},
        "duration_seconds": {"minimum": 0, "maximum": _WEEK, "integer": True},
        "repeat_count": {"minimum": 0, "maximum": 1000, "integer": True},
        "window_seconds": {"minimum": 0, "maximum": _WEEK, "integer": True},
    }
    for field, bounds in numbers.items():
        if field in changes:
            value = clean_number(cleaner, changes[field], field, **bounds)
            if bounds.get("integer") and value is not None:
                value = int(value)
            data[field] = value
    for field in ("duration_seconds", "repeat_count", "window_seconds"):
        if field in data and data[field] is None:
            data[field] = 0
    if "operator" in changes:
        data["operator"] = cleaner.choice(changes["operator"], "operator", Operator)
    if "severity" in changes:
        data["severity"] = cleaner.choice(changes["severity"], "severity", AlarmSeverity)
    if "message" in changes:
        data["message"] = cleaner.text(changes["message"], "message", required=False,
                                       max_length=200)  # fmt: skip
    for field in ("enabled", "auto_clear"):
        if field in changes:
            data[field] = clean_bool(cleaner, changes[field], field)
    if cleaner.details:
        cleaner.done()
    _check_consistency(cleaner, rule, data)
    cleaner.done()
    return data


def _check_consistency(cleaner: Cleaner, rule: Rule, data: dict) -> None:
    """The rule as it would be after the change must still make sense."""

    def after(field):
        return data[field] if field in data else getattr(rule, field)

    condition = rule.condition
    threshold, clear = after("threshold"), after("clear_threshold")
    needs_threshold = condition in (Condition.THRESHOLD, Condition.DURATION, Condition.REPEAT,
                                    Condition.RATE)  # fmt: skip
    if needs_threshold and threshold is None and not rule.threshold_attribute:
        cleaner.fail("threshold", _("此条件需要阈值"))
    metric = metric_of(rule.kind, rule.metric) if rule.metric else None
    in_range = metric is None or threshold is None or metric.low <= threshold <= metric.high
    if condition != Condition.RATE and not in_range and metric is not None:
        cleaner.fail(
            "threshold",
            _("超出该指标的量程（%(low)s～%(high)s%(unit)s）")
            % {"low": f"{metric.low:g}", "high": f"{metric.high:g}", "unit": metric.unit},
        )
    if threshold is not None and clear is not None and condition != Condition.ANOMALY:
        upward = after("operator") in (Operator.GT, Operator.GE)
        if upward and clear > threshold:
            cleaner.fail("clear_threshold", _("恢复阈值不能高于报警阈值"))
        if not upward and clear < threshold:
            cleaner.fail("clear_threshold", _("恢复阈值不能低于报警阈值"))
    if condition == Condition.DURATION and not after("duration_seconds"):
        cleaner.fail("duration_seconds", _("持续时间应大于 0 秒"))
    if condition == Condition.REPEAT:
        if (after("repeat_count") or 0) < 2:
            cleaner.fail("repeat_count", _("次数至少为 2"))
        if not after("window_seconds"):
            cleaner.fail("window_seconds", _("统计窗口应大于 0 秒"))
    if condition == Condition.ANOMALY and not after("z_score"):
        cleaner.fail("z_score", _("请填写偏离倍数"))


def _saved(rule: Rule) -> Rule:
    transaction.on_commit(forget_rules)
    return rule


@transaction.atomic
def update_rule(*, actor, rule: Rule, changes: dict) -> Rule:
    """Change the editable fields of a rule (only those given)."""
    rule = (
        Rule.objects.select_for_update(of=("self",))
        .select_related("device__region")
        .get(pk=rule.pk)
    )
    _require_editor(actor, rule)
    data = clean_rule_fields(rule, changes)
    for field, value in data.items():
        setattr(rule, field, value)
    with _as_actor(actor):
        rule.save()
    return _saved(rule)


@transaction.atomic
def create_override(*, actor, device: Device, alarm_type: str, changes: dict | None = None) -> Rule:
    """Give one device its own rule of an alarm type: a copy of the default of its kind,
    with `changes` applied."""
    probe = Rule(device=device, kind=device.kind)
    _require_editor(actor, probe)
    default = Rule.objects.filter(
        kind=device.kind, device__isnull=True, alarm_type=alarm_type
    ).first()
    if default is None:
        raise InvalidInput(
            _("输入有误，请检查标注的字段"),
            details={"alarm_type": _("该设备类型没有此告警类型的默认规则")},
        )
    if Rule.objects.filter(device=device, alarm_type=alarm_type).exists():
        raise DomainError(_("该设备已有此告警类型的专用规则"), code="override_exists")
    rule = Rule(
        **{
            field.attname: getattr(default, field.attname)
            for field in Rule._meta.concrete_fields
            if field.attname not in ("id", "updated_at", "device_id")
        }
    )
    rule.device = device
    rule.name = (_("%(name)s（本设备）") % {"name": default.name})[:100]
    data = clean_rule_fields(rule, changes or {})
    for field, value in data.items():
        setattr(rule, field, value)
    with _as_actor(actor):
        rule.save()
    return _saved(rule)


@transaction.atomic
def delete_override(*, actor, rule: Rule) -> None:
    """Remove a device's own rule: the default of its kind applies again."""
    rule = (
        Rule.objects.select_for_update(of=("self",))
        .select_related("device__region")
        .get(pk=rule.pk)
    )
    _require_editor(actor, rule)
    if rule.device_id is None:
        raise DomainError(_("默认规则不能删除，可以停用"), code="default_rule")
    with _as_actor(actor):
        rule.delete()
    transaction.on_commit(forget_rules)


@contextlib.contextmanager
def _as_actor(actor):
    """Name the actor on the audit log entries of this block. Inside a request the
    middleware already did; auditlog's context variable is restored afterwards, so the
    middleware's own clean-up still finds its receiver."""
    if not getattr(actor, "pk", None):
        yield
        return
    previous = auditlog_value.get(None)
    try:
        with set_actor(actor):
            yield
    finally:
        if previous is not None:
            auditlog_value.set(previous)
