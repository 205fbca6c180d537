"""Reliability of the command line and the API (issue 10): one error boundary, one
output-folder discipline, interrupts, no side effects on import, failed subjects."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from exerpain.errors import InputError
from exerpain.interfaces.cli import app
from exerpain.storage import MARKER, PARTIAL_PREFIX, OutputFolder, remove_stale

EXE = str(Path(sys.executable).with_name("exerpain"))


def run(*args, **env):
    return CliRunner(env=env or None).invoke(app, list(args))


def _leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if p.name.startswith(".exerpain-")]


# -- output folder --------------------------------------------------------------------------

def test_a_folder_holding_results_is_refused_then_replaced_as_a_whole(tmp_path):
    out = tmp_path / "run"
    with OutputFolder(out) as folder:
        (folder / "subjects.parquet").write_text("cohort")
        (folder / "summary.json").write_text("{}")
    with pytest.raises(InputError, match="already holds results.*--overwrite"):
        OutputFolder(out)
    with OutputFolder(out, overwrite=True) as folder:
        (folder / "summary.json").write_text('{"new": 1}')
    # the old run's subjects.parquet does not survive beside the new summary
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "summary.json"]
    assert _leftovers(tmp_path) == []


def test_overwrite_never_replaces_a_folder_exerpain_did_not_write(tmp_path):
    (tmp_path / "thesis.tex").write_text("years of work")
    with pytest.raises(InputError, match="did not write"):
        OutputFolder(tmp_path, overwrite=True)
    assert (tmp_path / "thesis.tex").read_text() == "years of work"


def test_a_failed_run_leaves_the_old_results_and_no_temporary_folder(tmp_path):
    out = tmp_path / "run"
    with OutputFolder(out) as folder:
        (folder / "summary.json").write_text("old")
    with pytest.raises(RuntimeError), OutputFolder(out, overwrite=True) as folder:
        (folder / "summary.json").write_text("half")
        raise RuntimeError("solver blew up")
    assert (out / "summary.json").read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_stale_temporary_folders_of_dead_runs_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f"{PARTIAL_PREFIX}{dead}-abcd"
    stale.mkdir()
    (stale / "subjects.parquet").write_text("partial")
    mine = tmp_path / f"{PARTIAL_PREFIX}{os.getpid()}-abcd"  # a live run's: kept
    mine.mkdir()
    assert remove_stale(tmp_path) == [stale]
    assert not stale.exists() and mine.exists()


@pytest.mark.parametrize("out, needle", [
    ("", "does not name a new folder"),
    ("x" * 300, "at most 255"),
])
def test_out_is_checked_before_any_work(tmp_path, monkeypatch, out, needle):
    import exerpain.simulate.pair as pair

    def never(*a, **k):
        raise AssertionError("simulated before checking --out")

    monkeypatch.setattr(pair, "simulate_pair", never)
    monkeypatch.chdir(tmp_path)
    result = run("simulate", "--condition", "cci", "--protocol", "treadmill-moderate",
                 "--out", out)
    assert result.exit_code == 2 and needle in result.stderr, result.output


def test_a_file_given_as_out_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    result = run("simulate", "--condition", "cci", "--protocol", "treadmill-moderate", "--out",
                 str(tmp_path / "f"))
    assert result.exit_code == 2 and "not a folder" in result.stderr


@pytest.mark.parametrize("target", ["dir", "unwritable"])
def test_forest_plot_path_is_checked_before_the_meta_analysis(tmp_path, target):
    if target == "dir":
        path = tmp_path / "plot.png"
        path.mkdir()
        needle = "is a folder"
    else:  # /proc refuses new files even to root, for whom os.access says yes
        path, needle = Path("/proc/plot.png"), "cannot write in /proc"
    result = run("evidence", "meta", "--outcome", "rodent_hypersensitivity", "--plot",
                 str(path))
    assert result.exit_code == 2 and needle in result.stderr, result.output


def test_the_share_of_a_deficit_that_has_healed_is_undefined(simulate):
    """A CCI rat has recovered by day 3650: a 0.12 g benefit over a 0.02 g deficit gave
    "629% of the deficit" (and "nan%" before that); now null, like responder status."""
    s = simulate("cci", "treadmill-moderate", days=3650).summary
    assert s["responder30"] is None and s["benefit_fraction"] != s["benefit_fraction"]


# -- error boundary -------------------------------------------------------------------------

def test_an_internal_error_is_one_line_with_a_saved_traceback(tmp_path, monkeypatch):
    import exerpain.simulate.pair as pair

    def broken(*a, **k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(pair, "simulate_pair", broken)
    result = run("simulate", "--condition", "cci", "--protocol", "treadmill-moderate",
                 EXERPAIN_CRASH_DIR=str(tmp_path))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("internal error: ZeroDivisionError: a bug")
    saved = list(tmp_path.glob("exerpain-crash-*.txt"))
    assert len(saved) == 1 and "Traceback" in saved[0].read_text()
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args, needle", [
    (["--n", "10", "--seed", str(2**63)], "seed: must be within 0-9223372036854775807"),
    (["--n", "10", "--seed", "-1"], "seed: must be within"),
    (["--n", "\u0663", "--seed", "1"], "n: must be an integer in ASCII digits"),
    (["--n", "1_0", "--seed", "1"], "n: must be an integer in ASCII digits"),
    (["--n", "10", "--seed", "1", *sum((["--ablate", m] for m in (
        "oxidative", "inflammation", "neurotrophic", "gabaergic", "opioid", "monoaminergic",
        "endocannabinoid", "dopaminergic")), [])], "every mechanism is ablated"),
])
def test_cohort_options_out_of_range_are_one_error_line(args, needle):
    result = run("cohort", "--condition", "cci", "--protocol", "treadmill-moderate", *args)
    assert result.exit_code == 2 and needle in result.stderr, result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_undefined_share_prints_n_a_not_nan(monkeypatch):
    import exerpain.simulate.pair as pair

    class Fake:
        summary = {"condition": "cci", "species": "rat", "protocol": "p", "days": 3650,
                   "readout": "withdrawal_threshold_g", "exercise_value": 15.0,
                   "sedentary_value": 15.0, "healthy_value": 15.0, "benefit": 0.0,
                   "benefit_fraction": float("nan")}

    monkeypatch.setattr(pair, "simulate_pair", lambda *a, **k: Fake())
    result = run("simulate", "--condition", "cci", "--protocol", "treadmill-moderate")
    assert result.exit_code == 0 and "n/a of the deficit" in result.stdout
    assert "nan" not in result.stdout


# -- no side effects on import --------------------------------------------------------------

def test_import_leaves_the_callers_jax_configuration_alone():
    code = """
import jax, jax.numpy as jnp
import exerpain
from exerpain import simulate_pair
assert not jax.config.jax_enable_x64, "import switched float64 on"
r = simulate_pair("cci", "treadmill-moderate", days=7)
assert not jax.config.jax_enable_x64, "a run left float64 on"
assert jnp.ones(1).dtype == jnp.float32
assert r.trajectory.states.dtype.name == "float64", r.trajectory.states.dtype
print("ok", r.summary["benefit"])
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0 and done.stdout.startswith("ok"), done.stderr[-2000:]


# -- interrupts -----------------------------------------------------------------------------

@pytest.mark.parametrize("after_s", [1.5, 6.0, 14.0])
def test_ctrl_c_at_any_moment_exits_130_and_writes_nothing(tmp_path, after_s):
    """SIGINT during start-up, the compile and the solve: exit 130 (it segfaulted with 139
    while XLA compiled), no output folder, no temporary folder left."""
    out = tmp_path / "cohort"
    proc = subprocess.Popen([EXE, "cohort", "--condition", "cci", "--protocol",
                             "treadmill-moderate", "--n", "500", "--seed", "1", "--out",
                             str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(after_s)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "Segmentation" not in err
    assert not out.exists() and _leftovers(tmp_path) == []


def test_a_killed_run_leaves_only_a_temporary_folder_the_next_run_removes(tmp_path):
    out = tmp_path / "cohort"
    proc = subprocess.Popen([EXE, "cohort", "--condition", "cci", "--protocol",
                             "treadmill-moderate", "--n", "500", "--seed", "1", "--out",
                             str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not _leftovers(tmp_path) and time.time() < deadline:
        time.sleep(0.2)
    proc.kill()
    proc.wait(timeout=60)
    assert not out.exists() and len(_leftovers(tmp_path)) == 1
    with OutputFolder(out) as folder:
        (folder / "summary.json").write_text("{}")
    assert _leftovers(tmp_path) == [] and (out / "summary.json").exists()


# -- failed subjects ------------------------------------------------------------------------

def test_failed_subjects_have_null_outcomes_and_the_summary_says_so(tmp_path, monkeypatch):
    import exerpain.simulate.engine as engine

    original = engine._solve_subjects

    def failing(*args, **kwargs):
        outputs, codes, retried = original(*args, **kwargs)
        codes = np.array(codes)
        codes[:2] = [1, 2]  # a solver failure and a non-finite vector field, after the retry
        return outputs, codes, retried | (codes != 0)

    monkeypatch.setattr(engine, "_solve_subjects", failing)
    # chunks of 8: the compiled shape of tests/test_cohort.py's cohorts (one compile between them)
    config = engine.CohortConfig("cci", "treadmill-moderate", n=16, seed=4, chunk_size=8)
    result = engine.run_cohort(config, out=tmp_path / "c")
    s = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert s["failed"] == 4 and s["completed"] == 12
    assert sum(s["failure_reasons"].values()) == 4 and "completed subjects" in s["rates_over"]
    frame = pq.read_table(tmp_path / "c" / "subjects.parquet").to_pandas()
    bad = frame["status"] != "ok"
    assert bad.sum() == 4
    for column in ("benefit", "exercise_value", "responder30", "responder50",
                   "priming_mechanism", "shapley_inflammation"):
        assert frame.loc[bad, column].isna().all(), column
        assert frame.loc[~bad, column].notna().any(), column
    assert result.summary["failed"] == 4 and result.summary["retried_stiff"] == 4
    assert result.summary["recovered_stiff"] == 0 and "Kvaerno5" in s["failure_handling"]
    assert (frame.loc[bad, "solver"] == "kvaerno5").all()
