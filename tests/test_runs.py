"""One run spec, the runner, provenance (run.json), the run store and named calibrations."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from exerpain.errors import InputError
from exerpain.interfaces import runstore
from exerpain.interfaces.cli import app
from exerpain.interfaces.runner import CancelledError, execute, run
from exerpain.interfaces.runspec import check_spec, load_spec, parse_spec, with_assignments
from exerpain.model import calibrated

GAIN = "opioid.exercise_opioid_gain"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    return run("simulate", condition="cci", protocol="treadmill-moderate",
               out=tmp_path_factory.mktemp("runs") / "baseline")


@pytest.fixture(scope="module")
def changed(tmp_path_factory):
    return run("simulate", condition="cci", protocol="treadmill-moderate",
               params={GAIN: 0.9}, out=tmp_path_factory.mktemp("runs") / "changed")


def test_an_override_changes_the_result_and_is_recorded(baseline, changed, simulate):
    """A partial override reaches the solver (the benefit moves with the direct opioid gain)
    and the rest stays the defaults: the baseline equals the plain API's result."""
    assert baseline.summary["benefit"] == simulate("cci", "treadmill-moderate").summary[
        "benefit"]
    assert changed.summary["benefit"] > baseline.summary["benefit"] + 0.1
    record = json.loads((changed.folder / "run.json").read_text())
    assert record["spec"]["params"] == {"opioid": {"exercise_opioid_gain": 0.9}}
    (dev,) = record["parameters"]["deviations"]
    assert dev["parameter"] == GAIN and dev["value"] == 0.9 and dev["default"] != 0.9
    assert record["parameters"]["values"]["opioid"]["exercise_opioid_gain"] == 0.9
    base = json.loads((baseline.folder / "run.json").read_text())
    assert base["parameters"]["sha256"] != record["parameters"]["sha256"]
    assert base["parameters"]["deviations"] == []
    for key in ("exerpain_version", "python", "jax", "device", "command", "started", "ended",
                "solver", "calibration"):
        assert record[key], key
    assert record["calibration"]["name"] == "package" and len(
        record["calibration"]["sha256"]) == 64
    assert record["solver"]["rtol"] == 1e-8


def test_the_store_lists_shows_and_compares_runs(baseline, changed):
    ids = [r["run_id"] for r in runstore.list_runs(100)]
    assert baseline.run_id in ids and changed.run_id in ids
    row = runstore.get_run(changed.run_id[:-2])  # a unique prefix is enough
    assert row["folder"] == str(changed.folder.absolute())
    assert row["headline"]["benefit"] == changed.summary["benefit"]
    diff = runstore.compare(baseline.run_id, changed.run_id)
    assert diff["spec"] == {"params.opioid.exercise_opioid_gain": [None, 0.9]}
    assert list(diff["parameters"]) == [GAIN]
    assert "benefit" in diff["headline"] and diff["calibration"] == {}
    with pytest.raises(InputError, match="run_id: no run 'nope'"):
        runstore.get_run("nope")


def test_a_run_json_repeats_its_run(changed, tmp_path):
    spec = load_spec(changed.folder / "run.json")
    again = execute(spec, tmp_path / "again")
    assert again.summary["benefit"] == changed.summary["benefit"]


@pytest.mark.parametrize(("data", "needle"), [
    ({"kind": "simulate"}, r"condition: Field required"),
    ({"kind": "simulat", "condition": "cci"}, r"kind: must be one of simulate, cohort, trial"),
    ({"kind": "simulate", "condition": "cci", "colour": 1}, r"colour: unknown field"),
    ({"kind": "cohort", "condition": "cci", "n": 0}, r"n: Input should be greater than"),
    ({"kind": "simulate", "condition": "cci", "days": 4000}, r"days: Input should be less"),
    ({"kind": "simulate", "condition": "cci", "params": {GAIN: True}},
     r"params: opioid.exercise_opioid_gain: must be a number, not a boolean"),
])
def test_malformed_specs_name_the_field(data, needle):
    with pytest.raises(InputError, match=needle):
        parse_spec(data)


@pytest.mark.parametrize(("data", "needle"), [
    ({"condition": "cci", "params": {GAIN: 1.5}},
     r"params.opioid.exercise_opioid_gain: must be within 0-1 dimensionless"),
    ({"condition": "cci", "params": {"opioid.gain": 0.5}},
     r"params.opioid.gain: unknown parameter"),
    ({"condition": "xyz"}, r"condition"),
    ({"condition": "cci", "protocol": "nothing-like-this"}, r"protocol"),
    ({"condition": "cci", "calibration": "never-made"},
     r"calibration: no calibration named 'never-made'"),
])
def test_bad_specs_fail_before_any_work(data, needle, tmp_path):
    spec = parse_spec({"kind": "simulate", **data})
    with pytest.raises(InputError, match=needle):
        execute(spec, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_set_assignments_merge_into_the_spec():
    spec = parse_spec({"kind": "simulate", "condition": "cci", "params": {GAIN: 0.2}})
    merged = with_assignments(spec, ["opioid.k_opioid=0.5", f"{GAIN}=0.3"])
    assert merged.params == {"opioid": {"exercise_opioid_gain": 0.3, "k_opioid": 0.5}}
    with pytest.raises(InputError, match=r"set: 'opioid' must be GROUP.NAME=VALUE"):
        with_assignments(spec, ["opioid"])
    with pytest.raises(InputError, match=r"set.opioid.k_opioid: 'x' is not a number"):
        with_assignments(spec, ["opioid.k_opioid=x"])


def test_a_cancelled_run_writes_no_folder_and_no_store_row(tmp_path):
    cancel = threading.Event()
    cancel.set()
    spec = parse_spec({"kind": "simulate", "condition": "cci", "protocol": "wheel"})
    before = len(runstore.list_runs(10_000))
    with pytest.raises(CancelledError):
        execute(spec, tmp_path / "out", cancel=cancel)
    assert not (tmp_path / "out").exists() and list(tmp_path.iterdir()) == []
    assert len(runstore.list_runs(10_000)) == before


WRITER = """
import sys
from exerpain.interfaces import runstore
for i in range(int(sys.argv[2])):
    runstore.record({"run_id": f"{sys.argv[1]}-{i:03d}", "kind": "simulate", "status": "ok",
                     "started": "2026-01-01T00:00:00Z", "spec": {"condition": "cci"},
                     "headline": {"benefit": float(i)}}, path=__import__("pathlib").Path(
                     sys.argv[3]))
"""


def test_two_processes_writing_at_once_do_not_corrupt_the_store(tmp_path):
    """Two writers racing on one file: every row lands once, the file stays readable."""
    path = tmp_path / "runs.duckdb"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, name, "30", str(path)],
                              stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    rows = runstore.list_runs(1000, path=path)
    assert len(rows) == 60 and len({r["run_id"] for r in rows}) == 60


def test_a_shipped_calibration_is_named_and_never_rewrites_the_package(tmp_path, monkeypatch):
    """`calibrate --ship` writes a new named calibration into the data directory; the
    package's file is untouched; runs use and name the active one; names are never reused."""
    from importlib import resources

    monkeypatch.setenv("EXERPAIN_DATA_DIR", str(tmp_path))
    package = resources.files("exerpain.model") / "data" / calibrated.FILE
    before = package.read_bytes()
    record = json.loads(before)
    name = next(k for k in record["parameters"] if k.startswith("opioid."))
    record["parameters"][name]["value"] *= 1.01
    calibrated.install(record, "test-cal")
    assert package.read_bytes() == before
    assert calibrated.active_name() == "test-cal"
    group, param = name.split(".")
    from exerpain.model.registry import Model

    assert Model.default().default_params()[group][param] == record["parameters"][name]["value"]
    assert calibrated.identity()["name"] == "test-cal"
    with pytest.raises(InputError, match="name: a calibration named 'test-cal' exists"):
        calibrated.install(record, "test-cal")
    with calibrated.using("package"):
        assert Model.default().default_params()[group][param] != record["parameters"][name][
            "value"]
    calibrated.activate_calibration("package")
    assert calibrated.active_name() == "package"
    check_spec(parse_spec({"kind": "simulate", "condition": "cci", "calibration": "test-cal"}))


def test_cli_set_spec_and_runs(tmp_path):
    cli = CliRunner()
    bad = cli.invoke(app, ["simulate", "--condition", "cci", "--protocol", "wheel", "--set",
                           f"{GAIN}=7"])
    assert bad.exit_code == 2
    assert bad.stderr.strip().splitlines() == [
        "error: params.opioid.exercise_opioid_gain: must be within 0-1 dimensionless (the "
        "parameter's declared range), got 7"]
    spec = tmp_path / "spec.yaml"
    spec.write_text("kind: simulate\ncondition: cci\nprotocol: treadmill-moderate\n"
                    f"params: {{{GAIN}: 0.9}}\n")
    ok = cli.invoke(app, ["run", "--spec", str(spec), "--out", str(tmp_path / "r"), "--json"])
    assert ok.exit_code == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert (tmp_path / "r" / "run.json").is_file()
    assert pq.read_table(tmp_path / "r" / "trajectory.parquet").num_rows > 0
    listed = json.loads(cli.invoke(app, ["runs", "list", "--json"]).stdout)
    assert listed[0]["run_id"] == out["run_id"]
    shown = cli.invoke(app, ["runs", "show", out["run_id"]])
    assert f"{GAIN} = 0.9" in shown.stdout
    version = cli.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.stdout.startswith("exerpain ")


def test_help_and_version_do_not_import_jax():
    code = ("import sys; from exerpain.interfaces.cli import app; "
            "print('jax' in sys.modules, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]



def test_a_cohort_override_is_not_redrawn_from_the_posterior(tmp_path):
    """Every subject keeps the value the user set (the posterior draws skip it), and the
    benefit moves; n = 8 shares the cohort tests' compiled chunk of 8."""
    fields = {"condition": "cci", "protocol": "treadmill-moderate", "n": 8, "seed": 1}
    plain = run("cohort", **fields)
    changed = run("cohort", **fields, params={GAIN: 0.9}, out=tmp_path / "c")
    assert changed.result.folder == tmp_path / "c"  # the final folder, not its temporary twin
    assert len(changed.result.to_frame()) == 8
    a = plain.result.subjects.to_pandas()["benefit"].to_numpy()
    b = pq.read_table(tmp_path / "c" / "subjects.parquet").to_pandas()["benefit"].to_numpy()
    assert (b > a).all()
    record = json.loads((tmp_path / "c" / "run.json").read_text())
    assert record["headline"]["n"] == 8 and record["seed"] == 1
    assert record["files"] == ["subjects.parquet", "summary.json"]


def test_a_trial_override_reaches_every_patient(tmp_path):
    """A trial spec's override changes the arms' outcomes (the same patients, seed and
    diary noise otherwise) and is recorded; the example design, 2 replicates of 24."""
    from exerpain.design.spec import EXAMPLE

    path = tmp_path / "design.yaml"
    path.write_text(EXAMPLE)
    fields = {"design": str(path), "replicates": 2, "n": 24, "seed": 3}
    plain = run("trial", **fields)
    changed = run("trial", **fields, params={GAIN: 0.9}, out=tmp_path / "t")
    change = {name: arm["mean_change"] for name, arm in plain.summary["arms"].items()}
    moved = {name: arm["mean_change"] for name, arm in changed.summary["arms"].items()}
    exercise = next(name for name, arm in plain.summary["arms"].items() if not arm["control"])
    assert moved[exercise] < change[exercise]  # more relief (a larger fall in pain)
    record = json.loads((tmp_path / "t" / "run.json").read_text())
    assert record["parameters"]["deviations"][0]["parameter"] == GAIN
    assert "replicates.parquet" in record["files"]


def test_the_spec_bounds_are_the_engines():
    """runspec repeats the engine's bounds (to import no JAX); they must agree."""
    from exerpain.design.trial import MAX_REPLICATES
    from exerpain.interfaces import runspec
    from exerpain.simulate.engine import SEED_MAX, SEED_MIN
    from exerpain.simulate.scenario import MAX_DAYS

    assert (runspec.MAX_DAYS, runspec.SEED_MIN, runspec.SEED_MAX, runspec.MAX_REPLICATES) == (
        MAX_DAYS, SEED_MIN, SEED_MAX, MAX_REPLICATES)
