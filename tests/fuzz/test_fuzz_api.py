"""Fuzzing the Python API (Hypothesis): ``Scenario.create(**kwargs).build(model)`` with
conditions, protocols, intervention and ablation lists (a string, a list, a tuple, repeats,
junk names, non-strings) and days of every type (booleans, NaN, negative, huge, strings).
Every call must build a scenario or fail with one :class:`InputError`. ``build`` makes the
solver's arrays but does not solve (a compile per shape would make thousands of cases take
hours); the solver's own robustness is tested elsewhere.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from hypothesis import event, given
from hypothesis import strategies as st

from exerpain.errors import InputError
from exerpain.model.conditions import CONDITIONS
from exerpain.model.interventions import INTERVENTIONS
from exerpain.model.protocols import PRESETS
from exerpain.model.registry import Model
from exerpain.simulate.scenario import MAX_DAYS, Scenario

MODEL = Model.default()
MECHANISMS = MODEL.exercise_mechanisms

junk = st.one_of(st.text(max_size=12), st.sampled_from(
    ["", " ", "naloxone ", "NALOXONE", "opioid\x00", "\ud800", "x.yaml", "x.json", "-1", "nan",
     "sedentary\n", "a" * 500]))
anything = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30),
                     st.floats(allow_nan=True, allow_infinity=True), junk,
                     st.lists(st.integers(), max_size=2), st.binary(max_size=4),
                     st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
days_like = st.one_of(
    st.none(), st.integers(1, 400), st.integers(-10, 4000), st.integers(-10**30, 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1, 2, 3, 1.0, 42.0, 3650.0, np.int64(7), np.float64(5.0)]), anything)
schedule_like = st.one_of(st.none(), st.integers(-400, 3700), st.floats(-400, 3700),
                          st.floats(allow_nan=True, allow_infinity=True), anything)


def _names(pool) -> st.SearchStrategy:
    """One name, or a list/tuple of names (valid, junk, repeated), or a wrong type."""
    valid = st.sampled_from(list(pool))
    name = _mostly(valid, junk)
    return _mostly(st.one_of(st.none(), valid, st.lists(valid, max_size=4),
                             st.lists(valid, max_size=4).map(tuple)),
                   st.lists(name, max_size=4), st.lists(st.one_of(name, anything), max_size=3),
                   anything)


def _mostly(valid: st.SearchStrategy, *wrong: st.SearchStrategy) -> st.SearchStrategy:
    """``valid`` three times in four, so that most cases get past the first field
    (``one_of`` does not weight repeated branches)."""
    other = st.one_of(*wrong)
    return st.integers(0, 3).flatmap(lambda i: other if i == 3 else valid)


kwargs_strategy = st.fixed_dictionaries(
    {"condition": _mostly(st.sampled_from(list(CONDITIONS)), junk, anything)},
    optional={
        "protocol": _mostly(st.sampled_from([*PRESETS, *PRESETS.values()]), junk, anything),
        "interventions": _names(INTERVENTIONS),
        "ablate": _names(MECHANISMS),
        "days": days_like,
        "start_day": schedule_like,
        "stop_day": schedule_like,
    }).flatmap(lambda kw: _mostly(st.just(kw), anything.map(lambda x: {**kw, "unknown": x})))


@given(kwargs=kwargs_strategy)
def test_scenarios_build_or_fail_cleanly(kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # repeats, late programmes
        try:
            scenario = Scenario.create(**kwargs)
            prepared = scenario.build(MODEL)
        except InputError as err:
            assert "\n" not in str(err)
            event("InputError: " + str(err).split(":")[0][:30])
            return
    event("built")
    assert 1 <= prepared.days <= MAX_DAYS and isinstance(prepared.days, int)
    assert math.isfinite(prepared.t0) and np.all(np.isfinite(prepared.jump_ts))
    assert np.all(np.diff(prepared.jump_ts) >= 0)
    assert len(set(scenario.interventions)) == len(scenario.interventions)
    assert len(set(scenario.ablate)) == len(scenario.ablate)
    assert all(name in INTERVENTIONS for name in scenario.interventions)
    assert all(name in MECHANISMS for name in scenario.ablate)
