"""The rule engine: feed readings in time order to rules, get "raise" or "clear" back.

Pure functions over a plain `state` dict, so the same code runs in ingest, in the tests and
in the rule editor's preview, and the state can be stored as JSON after every batch.
"""

from __future__ import annotations

import math
import operator
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from frontline.monitoring.models import Condition, Operator, Rule

RAISE = "raise"
CLEAR = "clear"

# The anomaly model: an exponentially weighted mean and variance of the metric. ALPHA 0.05
# weighs roughly the last 40 readings; no verdict before WARMUP readings.
ANOMALY_ALPHA = 0.05
ANOMALY_WARMUP = 30
DEFAULT_RATE_WINDOW = 60  # a rate is "change per minute" unless the rule says otherwise


_COMPARE = {
    Operator.GT.value: operator.gt,
    Operator.GE.value: operator.ge,
    Operator.LT.value: operator.lt,
    Operator.LE.value: operator.le,
}
_PLAIN = {Condition.THRESHOLD.value, Condition.REPEAT.value, Condition.DURATION.value}


@dataclass(frozen=True, slots=True)
class RuleSpec:
    id: int
    name: str
    kind: str
    device_id: int | None
    alarm_type: str
    metric: str
    condition: str
    operator: str
    threshold: float | None
    threshold_attribute: str
    clear_threshold: float | None
    duration_seconds: int
    repeat_count: int
    window_seconds: int
    z_score: float | None
    severity: str
    auto_clear: bool
    message: str
    # The comparison of `operator`, looked up once: ingest asks it for every reading.
    hit: Callable[[float, float], bool] = field(default=operator.ge, compare=False, repr=False)
    # A rule that compares the reading itself with a threshold: see `quiet`.
    plain: bool = field(default=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hit", _COMPARE.get(self.operator, operator.le))
        object.__setattr__(self, "plain", self.condition in _PLAIN)

    @classmethod
    def of(cls, rule: Rule) -> RuleSpec:
        return cls(
            id=rule.pk,
            name=rule.name,
            kind=rule.kind,
            device_id=rule.device_id,
            alarm_type=rule.alarm_type,
            metric=rule.metric,
            condition=str(rule.condition),
            operator=str(rule.operator),
            threshold=rule.threshold,
            threshold_attribute=rule.threshold_attribute,
            clear_threshold=rule.clear_threshold,
            duration_seconds=rule.duration_seconds,
            repeat_count=rule.repeat_count,
            window_seconds=rule.window_seconds,
            z_score=rule.z_score,
            severity=rule.severity,
            auto_clear=rule.auto_clear,
            message=rule.message,
        )


# Plain strings: comparing with the choices' enum members costs more than the rule itself.
_ANOMALY, _RATE = Condition.ANOMALY.value, Condition.RATE.value
_DURATION, _REPEAT = Condition.DURATION.value, Condition.REPEAT.value


def threshold_of(rule: RuleSpec, attributes: dict) -> float | None:
    """The rule's threshold for this device, or None when the rule does not apply to it
    (it compares against a device value the device does not have)."""
    if rule.threshold_attribute:
        value = attributes.get(rule.threshold_attribute)
        return float(value) if isinstance(value, int | float) else None
    return rule.threshold


def _released(rule: RuleSpec, measure: float, threshold: float) -> bool:
    """Back to normal, with hysteresis: past the clear threshold on the good side."""
    limit = rule.clear_threshold if rule.clear_threshold is not None else threshold
    return not rule.hit(measure, limit)


def quiet(rule: RuleSpec, state: dict, value: float, attributes: dict) -> bool:
    """True when `evaluate` would surely return None and leave the state as it is: a rule
    on the reading itself (threshold, repeated, for a duration), not on, not counting a
    duration, and a reading on the good side. Most readings of a normal day are that, and
    ingest skips them with a comparison."""
    if not rule.plain or state.get("on") or "since" in state:
        return False
    threshold = threshold_of(rule, attributes) if rule.threshold_attribute else rule.threshold
    return threshold is None or not rule.hit(value, threshold)


def evaluate(rule: RuleSpec, state: dict, at: float, value: float, attributes: dict) -> str | None:
    """One reading (`at` in epoch seconds) through one rule. Returns RAISE while the
    condition holds (raise, or repeat an open alarm), CLEAR when it stops holding, None
    otherwise. The caller feeds readings in time order and each once (ingest passes only
    readings newer than the metric's latest value); `state` changes only when the rule has
    something to remember, so a quiet rule costs no write."""
    if rule.condition == _ANOMALY:
        return _anomaly(rule, state, value)
    threshold = threshold_of(rule, attributes) if rule.threshold_attribute else rule.threshold
    if threshold is None:
        return None
    if rule.condition == _RATE:
        measure = _rate(rule, state, at, value)
        if measure is None:
            return None
    else:
        measure = value
    hit = rule.hit(measure, threshold)
    if rule.condition == _DURATION:
        hit = _held_long_enough(rule, state, at, hit)
    elif rule.condition == _REPEAT:
        hit = _repeated(rule, state, at, hit)
    if hit:
        state["on"] = True
        return RAISE
    if state.get("on") and _released(rule, measure, threshold):
        state["on"] = False
        return CLEAR
    return None


def _held_long_enough(rule: RuleSpec, state: dict, at: float, hit: bool) -> bool:
    if not hit:
        state.pop("since", None)
        return False
    since = state.setdefault("since", at)
    return at - since >= rule.duration_seconds


def _repeated(rule: RuleSpec, state: dict, at: float, hit: bool) -> bool:
    if not hit:
        return False
    window = rule.window_seconds or 3600
    hits = [t for t in state.get("hits", []) if t > at - window]
    hits.append(at)
    state["hits"] = hits[-max(rule.repeat_count, 1) :]
    return len(hits) >= max(rule.repeat_count, 1)


def _rate(rule: RuleSpec, state: dict, at: float, value: float) -> float | None:
    last = state.get("last")
    state["last"] = [at, value]
    if not last or at <= last[0]:
        return None
    return (value - last[1]) / (at - last[0]) * (rule.window_seconds or DEFAULT_RATE_WINDOW)


def _anomaly(rule: RuleSpec, state: dict, value: float) -> str | None:
    n = state.get("n", 0)
    mean = state.get("mean", value)
    var = state.get("var", 0.0)
    z = abs(value - mean) / math.sqrt(var) if n >= ANOMALY_WARMUP and var > 0 else 0.0
    # Update after judging, so the reading is compared with the history before it.
    diff = value - mean
    increment = ANOMALY_ALPHA * diff
    state["mean"] = mean + increment
    state["var"] = (1 - ANOMALY_ALPHA) * (var + diff * increment)
    state["n"] = n + 1
    state["z"] = round(z, 3)
    limit = rule.z_score or 4.0
    if z >= limit:
        state["on"] = True
        return RAISE
    clear_at = rule.clear_threshold if rule.clear_threshold is not None else limit
    if state.get("on") and z < clear_at:
        state["on"] = False
        return CLEAR
    return None


# --- which rules apply -----------------------------------------------------------------------


class RuleBook:
    """Every enabled rule, indexed for ingest: defaults per (kind, metric) and overrides
    per device. An override replaces the default of the same alarm type for its device."""

    def __init__(self, rules: list[RuleSpec]) -> None:
        self.defaults: dict[tuple[str, str], list[RuleSpec]] = {}
        self.overrides: dict[int, list[RuleSpec]] = {}
        self.offline: dict[str, RuleSpec] = {}
        for rule in rules:
            if rule.condition == Condition.OFFLINE:
                if rule.device_id is None:
                    self.offline[rule.kind] = rule
                continue
            if rule.device_id is None:
                self.defaults.setdefault((rule.kind, rule.metric), []).append(rule)
            else:
                self.overrides.setdefault(rule.device_id, []).append(rule)

    def for_reading(self, device_id: int, kind: str, metric: str) -> list[RuleSpec]:
        defaults = self.defaults.get((kind, metric), [])
        overrides = self.overrides.get(device_id)
        if not overrides:
            return defaults
        replaced = {rule.alarm_type for rule in overrides}
        mine = [rule for rule in overrides if rule.metric == metric]
        return mine + [rule for rule in defaults if rule.alarm_type not in replaced]


# Rules change when a station admin edits one; ingest reads them for every batch.
_BOOK_SECONDS = 5.0
_book: RuleBook | None = None
_book_loaded = 0.0
_book_lock = threading.Lock()


def rule_book() -> RuleBook:
    global _book, _book_loaded
    now = time.monotonic()
    if _book is not None and now - _book_loaded < _BOOK_SECONDS:
        return _book
    with _book_lock:
        if _book is None or now - _book_loaded >= _BOOK_SECONDS:
            _book = RuleBook([RuleSpec.of(rule) for rule in Rule.objects.filter(enabled=True)])
            _book_loaded = now
    return _book


def forget_rules() -> None:
    global _book
    with _book_lock:
        _book = None
