"""Fuzzing trial design files (Hypothesis): the example design with fields replaced by values
of any type, nested sections replaced or emptied, arms added, removed or corrupted, rendered
as JSON or YAML and sometimes mutated at the byte level. Every file must load as a
:class:`TrialDesign` or fail with one :class:`InputError`; nothing is simulated."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import yaml
from hypothesis import event, given
from hypothesis import strategies as st

from exerpain.design.spec import EXAMPLE, TrialDesign, load_design
from exerpain.errors import InputError

WORK = Path(tempfile.mkdtemp(prefix="exerpain-fuzz-trials-"))
BASE = yaml.safe_load(EXAMPLE)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.integers(-10**30, 10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["", "0.5", "nan", "true", "dpn", "cci", "pregabalin", "mcar", "pain",
                     "ancova", "locf", "\ud800", "a" * 300]))
values = st.recursive(scalars, lambda c: st.one_of(
    st.lists(c, max_size=3), st.dictionaries(st.text(max_size=8), c, max_size=3)),
    max_leaves=10)
paths = st.sampled_from([
    ("name",), ("condition",), ("n_randomised",), ("weeks",), ("weeks", "run_in"),
    ("weeks", "treatment"), ("weeks", "follow_up"), ("inclusion",),
    ("inclusion", "baseline_pain_min"), ("inclusion", "hba1c_max"), ("arms",),
    ("arms", 0), ("arms", 1), ("arms", 1, "protocol"), ("arms", 1, "adherence"),
    ("arms", 1, "adherence", "sd"), ("arms", 1, "dropout"), ("arms", 0, "dropout", "rate"),
    ("arms", 1, "drugs"), ("arms", 1, "weight"), ("arms", 0, "control"), ("diary",),
    ("analysis",), ("analysis", "estimator"), ("analysis", "endpoint_days"), ("unknown",)])
drugs = st.lists(st.fixed_dictionaries(
    {"name": st.sampled_from(["pregabalin", "duloxetine", "aspirin", ""])},
    optional={"dose_mg_day": st.one_of(st.sampled_from([300, 60, 500, -1, True]), values)}),
    max_size=3)


def _set(doc, path, value):
    node = doc
    for key in path[:-1]:
        if isinstance(node, dict) and key in node or (
                isinstance(node, list) and isinstance(key, int) and key < len(node)):
            node = node[key]
        else:
            return
    settable = isinstance(node, dict) or (
        isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node))
    if settable:
        node[path[-1]] = value


@given(edits=st.lists(st.tuples(paths, st.one_of(values, drugs)), max_size=3),
       as_json=st.booleans(), cut=st.one_of(st.none(), st.integers(0, 2000)),
       junk=st.binary(max_size=8))
def test_every_trial_design_file_loads_or_is_one_input_error(edits, as_json, cut, junk):
    doc = json.loads(json.dumps(BASE))
    for path, value in edits:
        _set(doc, path, value)
    try:
        text = json.dumps(doc) if as_json else yaml.safe_dump(doc, allow_unicode=True)
        raw = text.encode("utf-8", "surrogatepass")
    except (TypeError, ValueError):
        raw = b"{}"
    if cut is not None:
        raw = raw[:cut] + junk
    path = WORK / ("design.json" if as_json else "design.yaml")
    path.write_bytes(raw)
    try:
        design, _ = load_design(path)
    except InputError as err:
        assert "\n" not in str(err)
        event("refused")
        return
    assert isinstance(design, TrialDesign)
    event("loaded")
