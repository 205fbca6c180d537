"""Input hygiene: every bad input is one InputError naming the field and what is allowed,
never another exception, and nothing is silently reinterpreted (a boolean as 1, a string
as its letters, a repeated blockade as a stronger one).

Fast checks only (no solve), except the one-day run, which has to solve to show that it
succeeds; it uses the session-cached ``simulate`` fixture.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from evidence_files import copy_data, edit_cell  # tests/evidence_files.py

from exerpain.errors import InputError
from exerpain.evidence import load as evidence
from exerpain.model.protocols import MAX_PROTOCOL_BYTES, load_protocol, validate_protocol
from exerpain.simulate.scenario import Scenario

VALID = ("modality: treadmill\nintensity: 0.5\nminutes_per_session: 30\n"
         "sessions_per_week: 5\n")
BASE = {"modality": "treadmill", "intensity": 0.5, "minutes_per_session": 30,
        "sessions_per_week": 5}
NUMERIC = ("intensity", "minutes_per_session", "sessions_per_week", "start_day", "stop_day",
           "adherence")


# -- 1. protocol files: nesting, encoding, size, YAML aliases --------------------------------

@pytest.mark.parametrize("name,text", [
    ("deep.json", "[" * 100_000 + "]" * 100_000),
    ("deep.yaml", "[" * 100_000 + "]" * 100_000),
    ("deep-small.json", "[" * 30_000 + "]" * 30_000),  # under the size limit
    ("deep-small.yaml", "{a: " * 12_000 + "1" + "}" * 12_000),
    ("deep-mapping.json", '{"modality": ' + "[" * 20 + "]" * 20 + "}"),
    ("deep-block.yaml", "".join(" " * i + f"k{i}:\n" for i in range(40))),
])
def test_deeply_nested_protocol_file_is_one_input_error(tmp_path, name, text):
    """Used to raise RecursionError (100,000 levels); a protocol is a flat mapping."""
    path = tmp_path / name
    path.write_text(text)
    started = time.perf_counter()
    with pytest.raises(InputError, match=f"protocol file .*{name}: (nested more than 8 "
                                         "levels deep|too large)"):
        load_protocol(path)
    assert time.perf_counter() - started < 2.0


def test_non_utf8_protocol_file_names_the_line(tmp_path):
    """Used to raise UnicodeDecodeError."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes((VALID + "name: caf\xe9\n").encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1.yaml: not UTF-8 text \(byte 0xe9 on line "
                                         r"5\)"):
        load_protocol(path)


def test_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b'\xef\xbb\xbf{"modality": "treadmill", "intensity": 0.5, '
                     b'"minutes_per_session": 30, "sessions_per_week": 5}')
    assert load_protocol(path).intensity == 0.5


def test_huge_protocol_file_is_refused_without_reading_it(tmp_path):
    """A 50 MB file used to be read and parsed whole (34 s, 940 MB); now only
    MAX_PROTOCOL_BYTES + 1 bytes are read and the message gives the size and the limit."""
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.write(b"# ")
        handle.truncate(50 * 1024 * 1024)  # sparse: cheap to make
    started = time.perf_counter()
    with pytest.raises(InputError, match=f"huge.yaml: too large \\({50 * 1024 * 1024} bytes; "
                                         f".*at most {MAX_PROTOCOL_BYTES} bytes"):
        load_protocol(path)
    assert time.perf_counter() - started < 1.0


def test_protocol_file_at_the_size_limit_is_read(tmp_path):
    path = tmp_path / "padded.yaml"
    text = VALID + "#" * (MAX_PROTOCOL_BYTES - len(VALID) - 1) + "\n"
    path.write_text(text)
    assert len(text.encode()) == MAX_PROTOCOL_BYTES
    assert load_protocol(path).modality == "treadmill"


def test_yaml_alias_bombs_are_refused_quickly(tmp_path):
    """'Billion laughs': nine levels of nine aliases each (387 million leaves if expanded),
    and an alias that contains itself."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    bomb = tmp_path / "laughs.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    loop = tmp_path / "loop.yaml"
    loop.write_text("modality: &a [*a]\n")
    for path in (bomb, loop):
        started = time.perf_counter()
        with pytest.raises(InputError, match="nested more than 8 levels deep"):
            load_protocol(path)
        assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("name,text,needle", [
    ("fifo.yaml", None, "not a regular file"),
    ("folder.yaml", None, "not a regular file"),
    ("date.yaml", VALID + "start_day: 2024-13-45\n", "malformed"),
    ("digits.json", '{"intensity": ' + "9" * 5000 + "}", "malformed"),
    ("surrogate.json", '{"modality": "treadmill", "intensity": 0.5, "minutes_per_session": '
                       '30, "sessions_per_week": 5, "name": "\\ud800"}', "field 'name'"),
    ("newline.yaml", VALID + 'name: "two\\nlines"\n', "field 'name'"),
])
def test_odd_protocol_files_are_one_input_error(tmp_path, name, text, needle):
    """Each of these used to escape as another exception (ValueError from a YAML date or a
    5000-digit integer; a FIFO blocked) or to pass (a name that cannot be printed or
    stored)."""
    path = tmp_path / name
    if name == "fifo.yaml":
        import os

        os.mkfifo(path)
    elif name == "folder.yaml":
        path.mkdir()
    else:
        path.write_text(text)
    with pytest.raises(InputError, match=needle):
        load_protocol(path)


def test_nul_in_protocol_path_is_one_input_error():
    with pytest.raises(InputError, match=r"protocol file 'bad\\x00.yaml': cannot be read"):
        load_protocol("bad\x00.yaml")


# -- 2. strict numbers in a protocol ----------------------------------------------------------

@pytest.mark.parametrize("field", NUMERIC)
@pytest.mark.parametrize("value,needle", [
    (True, "not a boolean"), (False, "not a boolean"), ("0.5", "not a string"),
    (float("nan"), "got nan"), (float("inf"), "got inf"), (float("-inf"), "got -inf"),
    ([0.5], "not a list"), ({"a": 1}, "not a dict"),
])
def test_protocol_numbers_are_strict(field, value, needle):
    """``intensity: true`` used to be taken as 1.0 and ``"0.5"`` as 0.5; NaN was refused
    with a misleading 'less than or equal' message."""
    with pytest.raises(InputError, match=f"field '{field}': must be a number from "
                                         f"-?[0-9.]+ to [0-9.]+, {needle}"):
        validate_protocol({**BASE, "stop_day": 100, field: value})


def test_boolean_in_protocol_file_names_file_field_and_range(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(VALID.replace("0.5", "true"))
    with pytest.raises(InputError) as info:
        load_protocol(path)
    assert str(info.value) == (f"protocol file {path}: field 'intensity': must be a number "
                               "from 0 to 1.2, not a boolean (True)")


def test_integers_are_still_numbers():
    protocol = validate_protocol({**BASE, "intensity": 1, "start_day": -3, "stop_day": 40})
    assert (protocol.intensity, protocol.start_day, protocol.stop_day) == (1.0, -3.0, 40.0)


# -- 3. the Python API: names, days, repeats ---------------------------------------------------

def _targets(prepared) -> dict[str, float]:
    return {k: float(v) for k, v in prepared.inputs.targets.items()}


def test_single_string_is_one_name(model):
    """``interventions="naloxone"`` used to become ('n', 'a', 'l', ...)."""
    one = Scenario.create(condition="cci", protocol="treadmill-moderate",
                          interventions="naloxone", ablate="opioid")
    assert one.interventions == ("naloxone",) and one.ablate == ("opioid",)
    listed = Scenario.create(condition="cci", protocol="treadmill-moderate",
                             interventions=["naloxone"], ablate=["opioid"])
    assert _targets(one.build(model)) == _targets(listed.build(model))


@pytest.mark.parametrize("kwargs,needle", [
    ({"days": True}, "days: must be a whole number from 1 to 3650, not a boolean"),
    ({"days": False}, "days: must be a whole number from 1 to 3650, not a boolean"),
    ({"days": "42"}, "days: .*not a string"),
    ({"days": 4.5}, "days: .*got 4.5"),
    ({"days": float("nan")}, "days: .*got nan"),
    ({"start_day": True}, "start_day: must be a number from -365 to 3650, not a boolean"),
    ({"stop_day": True}, "stop_day: must be a number from -365 to 3650, not a boolean"),
    ({"start_day": float("inf")}, "start_day: .*got inf"),
    ({"interventions": 5}, "interventions: must be a name or a list of names"),
    ({"ablate": {"opioid": 1}}, "ablate: must be a name or a list of names"),
    ({"protocol": 3}, "protocol: must be a preset name"),
    ({"colour": "red"}, "colour: unknown argument"),
    ({"params": {"injury": {"insult_rate": True}}}, "params: injury.insult_rate: .*boolean"),
])
def test_bad_scenario_arguments_are_one_input_error(model, kwargs, needle):
    """``days=True`` used to run one day; a non-iterable name list raised TypeError."""
    with pytest.raises(InputError, match=needle):
        Scenario.create(**{"condition": "cci", "protocol": "treadmill-moderate",
                           **kwargs}).build(model)


def test_partial_params_override_the_defaults(model):
    """A partial dictionary used to fail as a KeyError inside the model; it now changes the
    named parameters and keeps the rest, in any of the three spellings."""
    name = next(iter(model.default_params()["opioid"]))
    full = model.default_params()
    value = full["opioid"][name] * 1.5
    full["opioid"][name] = value
    built = [Scenario.create(condition="cci", params=p).resolved_params(model)
             for p in ({"opioid": {name: value}}, {f"opioid.{name}": value},
                       [f"opioid.{name}={value}"], full)]
    assert all(b == built[0] for b in built[1:])
    assert built[0]["opioid"][name] == value
    assert built[0]["gabaergic"] == Scenario.create(condition="cci").resolved_params(
        model)["gabaergic"]


@pytest.mark.parametrize(("params", "needle"), [
    ({"opioid": {"nonsense": 1.0}}, r"params.opioid.nonsense: unknown parameter; allowed:"),
    ({"opiod": {"k": 1.0}}, r"params.opiod: unknown parameter group; allowed:"),
    (["opioid"], r"params: 'opioid' must be GROUP.NAME=VALUE"),
    ({"injury.insult_rate": 0.5}, r"params.injury.insult_rate: set by condition 'cci' from "
                                  r"condition.cci_insult_rate"),
])
def test_bad_overrides_name_the_parameter(model, params, needle):
    with pytest.raises(InputError, match=needle):
        Scenario.create(condition="cci", params=params).build(model)


def test_override_outside_the_declared_range_is_refused(model):
    group, p = next((g, p) for g, p in model.parameter_table() if g == "opioid")
    with pytest.raises(InputError, match=rf"params.opioid.{p.name}: must be within "
                                         rf"{p.low:g}-{p.high:g}"):
        Scenario.create(condition="cci", params={f"opioid.{p.name}": p.high * 2 + 1}
                        ).build(model)


def test_repeated_names_count_once_with_a_warning(model):
    """Naloxone twice used to stack (occupancy 0.95 -> 0.9975) and change the numbers."""
    with pytest.warns(UserWarning, match="interventions: 'naloxone' given more than once; "
                                         "each counts once"):
        twice = Scenario.create(condition="cci", protocol="treadmill-moderate",
                                interventions=["naloxone", "pcpa", "naloxone"])
    with pytest.warns(UserWarning, match="ablate: 'opioid' given more than once"):
        ablated = Scenario.create(condition="cci", ablate=("opioid", "opioid"))
    assert twice.interventions == ("naloxone", "pcpa") and ablated.ablate == ("opioid",)
    once = Scenario.create(condition="cci", protocol="treadmill-moderate",
                           interventions=["naloxone", "pcpa"])
    assert _targets(twice.build(model)) == _targets(once.build(model))


# -- 4. a run that ends before exercise starts --------------------------------------------------

@pytest.mark.parametrize("start_day,days,message", [
    (50, 10, "the run ends on day 10, before the programme starts on day 50: exercise cannot "
             "act"),
    (None, 3, "the run ends on day 3, the day the programme starts: exercise cannot act"),
])
def test_run_ending_before_the_programme_warns_once(model, start_day, days, message):
    """Such a run used to end without a word (and a benefit of zero)."""
    scenario = Scenario.create(condition="cci", protocol="treadmill-moderate",
                               start_day=start_day, days=days)
    with pytest.warns(UserWarning) as record:
        scenario.build(model)
    assert [str(w.message) for w in record] == [message]


def test_no_warning_when_exercise_can_act(model):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Scenario.create(condition="cci", protocol="treadmill-moderate", days=10).build(model)
        Scenario.create(condition="cci", protocol="sedentary", days=1).build(model)


# -- 5. one-day runs ---------------------------------------------------------------------------

def test_insult_ending_on_the_last_day_is_moved_past_the_end(model):
    """Root cause of the failed 1-day runs: the insult (day 0, for 1 day) stopped exactly at
    the end of the run, so the solver's last step evaluated the field after the jump, every
    such step was rejected and the step size fell below DTMIN. The solver now sees the insult
    continuing past the end; runs that end later are unchanged."""
    with pytest.warns(UserWarning, match="the run ends on day 1, before the programme starts "
                                         "on day 3"):
        short = Scenario.create(condition="pnsl", protocol="treadmill-moderate",
                                days=1).build(model)
    condition = short.inputs.condition
    assert float(condition["onset_day"] + condition["insult_days"]) > 1.0
    assert not np.any(short.jump_ts == 1.0)
    longer = Scenario.create(condition="pnsl", protocol="sedentary", days=2).build(model)
    assert float(longer.inputs.condition["insult_days"]) == 1.0


@pytest.mark.parametrize("condition", ["pnsl", "cci"])
def test_one_day_run_succeeds(simulate, condition):
    """``days=1`` is in the documented range 1-3650; the run used to fail with 'solver
    failure (max steps or step size below minimum)' (pnsl on CPU; cci on other machines).
    The state on day 1 equals day 1 of a 2-day run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the programme starts on day 3
        one = simulate(condition, "treadmill-moderate", days=1)
        two = simulate(condition, "treadmill-moderate", days=2)
    assert one.summary["status"] == {"exercise": "ok", "sedentary": "ok"}
    np.testing.assert_allclose(one.trajectory.states[:, -1], two.trajectory.states[:, 1],
                               rtol=1e-6, atol=1e-9)


def test_built_inputs_are_float64_without_global_x64():
    """``Scenario.build`` and ``simulate_pair`` are public entry points: since importing
    exerpain no longer switches float64 on, they built float32 parameters outside the
    solver's float64 context (benefit off by ~1e-7 relative). Fresh process: the test suite
    itself runs with float64 switched on."""
    code = """
import jax
from exerpain.model.registry import Model
from exerpain.simulate.scenario import Scenario
p = Scenario.create(condition="cci", protocol="treadmill-moderate").build(Model.default())
assert not jax.config.jax_enable_x64
dtypes = {a.dtype.name for a in jax.tree_util.tree_leaves(p.inputs)}
assert dtypes == {"float64"}, dtypes
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and done.stdout.startswith("ok"), done.stderr[-2000:]


# -- 6. evidence tables from a user folder -----------------------------------------------------

@pytest.fixture
def data(tmp_path):
    evidence.clear_cache()
    yield copy_data(tmp_path)
    evidence.clear_cache()


@pytest.mark.parametrize("file,column,value", [
    ("timecourses.csv", "mean", "nan"),
    ("timecourses.csv", "day", "inf"),
    ("timecourses.csv", "spread", "NaN"),
    ("outcomes.csv", "effect", "1e999"),
])
def test_non_finite_evidence_numbers_are_refused(data, file, column, value):
    """A NaN or infinite number cell used to load (and poison pooling downstream)."""
    loader = {"timecourses.csv": evidence.load_timecourses,
              "outcomes.csv": evidence.load_outcomes}[file]
    row = 2 if file == "timecourses.csv" else 4
    if file == "outcomes.csv":  # a row without a CI, so that no CI check catches it
        rows = list(csv.reader((data / file).open(encoding="utf-8")))
        row = next(i for i, r in enumerate(rows[1:], start=2)
                   if not r[rows[0].index("ci_low")])
    edit_cell(data / file, row, column, value)
    with pytest.raises(InputError, match=f"{file}: row {row}, column '{column}'.*finite"):
        loader(data)


def test_non_utf8_evidence_names_file_and_row(data):
    path = data / "studies.csv"
    lines = path.read_bytes().split(b"\n")
    lines[4] = lines[4].replace(b",", b",\xff", 1)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(InputError, match=r"studies.csv: row 5: not UTF-8 text \(byte 0xff\)"):
        evidence.load_studies(data)


def test_huge_evidence_table_is_refused_without_reading_it(data):
    path = data / "findings.csv"
    with path.open("r+b") as handle:
        handle.truncate(evidence.MAX_TABLE_BYTES + 10)
    started = time.perf_counter()
    with pytest.raises(InputError, match="findings.csv: too large"):
        evidence.load_findings(data)
    assert time.perf_counter() - started < 1.0


def test_repeated_evidence_column_is_refused(data):
    """A second column of the same name used to replace the first silently."""
    path = data / "studies.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([lines[0] + ",design", *(line + ",x" for line in lines[1:])])
                    + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="studies.csv: row 1 \\(header\\), column 'design': "
                                         "given more than once"):
        evidence.load_studies(data)


def test_malformed_evidence_header_is_one_input_error(data):
    path = data / "studies.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text("study_id\rcitation" + text[len("study_id"):], encoding="utf-8",
                    newline="")
    with pytest.raises(InputError, match="studies.csv: row 1"):
        evidence.load_studies(data)


@pytest.mark.parametrize("data_dir,needle", [
    ("bad\x00dir", "not a usable path"),
    (42, "data_dir: must be a folder path"),
])
def test_unusable_data_dir_is_one_input_error(data_dir, needle):
    """A NUL in the path used to escape as ValueError, a number as TypeError."""
    with pytest.raises(InputError, match=needle):
        evidence.load_studies(data_dir)
