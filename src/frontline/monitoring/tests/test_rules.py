"""The rule engine on its own: each condition, hysteresis, ordering."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from frontline.monitoring.models import AlarmSeverity, Condition
from frontline.monitoring.services.rules import (
    CLEAR,
    RAISE,
    RuleBook,
    RuleSpec,
    evaluate,
    quiet,
)


def rule(condition=Condition.THRESHOLD, **kw) -> RuleSpec:
    fields = {
        "id": kw.pop("id", 1),
        "name": "规则",
        "kind": "residual_current",
        "device_id": None,
        "alarm_type": "t",
        "metric": "residual_current",
        "condition": condition,
        "operator": "ge",
        "threshold": 300.0,
        "threshold_attribute": "",
        "clear_threshold": None,
        "duration_seconds": 0,
        "repeat_count": 0,
        "window_seconds": 0,
        "z_score": None,
        "severity": AlarmSeverity.MAJOR,
        "auto_clear": True,
        "message": "",
    }
    fields.update(kw)
    return RuleSpec(**fields)


def run(spec, values, attributes=None, start=0.0, step=1.0):
    state: dict = {}
    return [
        evaluate(spec, state, start + i * step, v, attributes or {}) for i, v in enumerate(values)
    ], state


def test_threshold_with_hysteresis():
    outcomes, _ = run(rule(clear_threshold=250), [100, 310, 320, 280, 260, 240, 100])
    assert outcomes == [None, RAISE, RAISE, None, None, CLEAR, None]


def test_threshold_without_clear_threshold_clears_below_it():
    outcomes, _ = run(rule(), [310, 299])
    assert outcomes == [RAISE, CLEAR]


def test_low_side_threshold():
    outcomes, _ = run(
        rule(operator="lt", threshold=0.1, clear_threshold=0.15), [0.2, 0.05, 0.12, 0.16]
    )
    assert outcomes == [None, RAISE, None, CLEAR]


def test_duration_needs_the_condition_held():
    spec = rule(Condition.DURATION, operator="lt", threshold=0.1, duration_seconds=300)
    # One reading a minute: below for 4 minutes, back up, then below for 5 minutes.
    values = [0.05] * 4 + [0.2] + [0.05] * 6
    outcomes, _ = run(spec, values, step=60)
    assert outcomes[:5] == [None] * 4 + [None]
    assert outcomes[5:10] == [None] * 5 and outcomes[10] == RAISE


def test_repeat_counts_hits_within_the_window():
    spec = rule(Condition.REPEAT, repeat_count=3, window_seconds=600)
    # Hits at 0 and 500; at 700 the first has left the window (two hits); at 800, three.
    state: dict = {}
    hits = [(0, 310), (500, 310), (700, 310), (800, 310)]
    outcomes = [evaluate(spec, state, at, v, {}) for at, v in hits]
    assert outcomes == [None, None, None, RAISE]


def test_rate_of_rise_per_window():
    spec = rule(Condition.RATE, threshold=10, window_seconds=60, clear_threshold=3, metric="t")
    # 20 ℃, 25 ℃ after a minute (5/min), 45 ℃ after another (20/min), then steady.
    outcomes, _ = run(spec, [20, 25, 45, 46], step=60)
    assert outcomes == [None, None, RAISE, CLEAR]


def test_anomaly_against_its_own_history():
    spec = rule(Condition.ANOMALY, z_score=4, clear_threshold=2)
    normal = [40 + math.sin(i) for i in range(60)]
    outcomes, state = run(spec, [*normal, 60, 40.5])
    assert RAISE not in outcomes[:60]
    assert outcomes[60] == RAISE and outcomes[61] == CLEAR
    assert state["n"] == 62


def test_attribute_threshold_applies_only_where_the_device_has_it():
    spec = rule(operator="gt", threshold=None, threshold_attribute="occupancy_limit")
    assert run(spec, [31], {"occupancy_limit": 30})[0] == [RAISE]
    assert run(spec, [31], {})[0] == [None]


def test_an_override_replaces_the_default_of_its_type_for_its_device():
    default = rule(id=1, alarm_type="a", threshold=300)
    other = rule(id=2, alarm_type="b", threshold=500)
    override = rule(id=3, alarm_type="a", threshold=100, device_id=7)
    book = RuleBook([default, other, override])
    assert {r.id for r in book.for_reading(7, "residual_current", "residual_current")} == {2, 3}
    assert {r.id for r in book.for_reading(8, "residual_current", "residual_current")} == {1, 2}


# --- the ingest's shortcut -------------------------------------------------------------------


_states = st.fixed_dictionaries(
    {},
    optional={
        "on": st.booleans(),
        "since": st.floats(0, 100),
        "hits": st.lists(st.floats(0, 100), max_size=3),
        "last": st.tuples(st.floats(0, 100), st.floats(0, 500)).map(list),
    },
)


@settings(max_examples=400, deadline=None)
@given(
    condition=st.sampled_from(list(Condition)),
    operator=st.sampled_from(["gt", "ge", "lt", "le"]),
    threshold=st.one_of(st.none(), st.floats(0, 500)),
    attribute=st.sampled_from(["", "limit"]),
    attributes=st.sampled_from([{}, {"limit": 30}, {"limit": 300.5}]),
    state=_states,
    value=st.floats(0, 600),
    at=st.floats(101, 200),
)
def test_a_quiet_reading_changes_nothing(condition, operator, threshold, attribute,
                                        attributes, state, value, at):  # fmt: skip
    """Ingest skips a reading when `quiet` says so: evaluating it must give nothing and
    leave the state exactly as it was."""
    spec = rule(condition, operator=operator, threshold=threshold, threshold_attribute=attribute,
                repeat_count=2, duration_seconds=10, window_seconds=60)  # fmt: skip
    if not quiet(spec, state, value, attributes):
        return
    before = {key: list(v) if isinstance(v, list) else v for key, v in state.items()}
    assert evaluate(spec, state, at, value, attributes) is None
    assert state == before


def test_quiet_lets_through_what_matters():
    spec = rule(Condition.THRESHOLD, threshold=300.0)
    assert quiet(spec, {}, 120, {})
    assert not quiet(spec, {}, 320, {}), "over the threshold"
    assert not quiet(spec, {"on": True}, 120, {}), "an open alarm may clear"
    assert not quiet(rule(Condition.DURATION), {"since": 5.0}, 120, {}), "a duration resets"
    assert not quiet(rule(Condition.ANOMALY), {}, 120, {}), "the model learns every reading"
    assert not quiet(rule(Condition.RATE), {}, 120, {}), "a rate remembers the last reading"
