"""Everyday ergonomics of results: a short repr, ``to_frame()`` (pandas) and ``plot()`` (a
matplotlib Figure, no window) on a pair, a cohort and a set of virtual trials; progress
callbacks; the shared progress bar."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure

from exerpain.design.spec import EXAMPLE, validated
from exerpain.design.trial import simulate_trials
from exerpain.simulate.engine import CohortConfig, run_cohort

MAX_REPR = 400


@pytest.fixture(scope="module")
def cohort():
    return run_cohort(CohortConfig("cci", "treadmill-moderate", n=4, seed=0,
                                   attribution=False, posterior_draws=0))


@pytest.fixture(scope="module")
def trials():
    design = yaml.safe_load(EXAMPLE)
    design["n_randomised"] = 20
    return simulate_trials(validated(design), 3, 1, posterior=0)


def test_pair(simulate):
    pair = simulate("cci", "treadmill-moderate", days=42)
    text = repr(pair)
    assert len(text) < MAX_REPR, text
    assert text.startswith("PairResult(cci, treadmill-moderate, 42 days: withdrawal_threshold_g")
    frame = pair.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert set(frame["run"]) == {"exercise", "sedentary"}
    assert {"day", "withdrawal_threshold_g"} <= set(frame.columns)
    fig = pair.plot()
    assert isinstance(fig, Figure)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == ["exercise", "sedentary", "healthy"]


def test_pair_repr_names_interventions(simulate):
    text = repr(simulate("cci", "treadmill-moderate", interventions=("naloxone",), days=42))
    assert "treadmill-moderate + naloxone" in text and len(text) < MAX_REPR


def test_cohort(cohort, tmp_path):
    text = repr(cohort)
    assert len(text) < MAX_REPR, text
    assert text.startswith("CohortResult(cci x treadmill-moderate, n=4")
    frame = cohort.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == 4
    assert {"subject_id", "benefit", "responder30", "status"} <= set(frame.columns)
    fig = cohort.plot()
    assert isinstance(fig, Figure)
    hist, shares = fig.axes
    assert len(hist.patches) > 0  # the benefit histogram
    assert len(shares.patches) == 0  # no attribution: no priming bars


def test_cohort_with_attribution_plots_priming_bars(cohort):
    from exerpain.simulate.engine import CohortResult

    summary = {**cohort.summary, "priming_mechanism_share": {"opioid": 0.75, "serotonin": 0.25},
               "pathway_priming_share": {"opioid": 0.5, "serotonin": 0.5}}
    result = CohortResult(summary, cohort.subjects)
    assert "primed by opioid 75%" in repr(result)
    bars = result.plot().axes[1].patches
    assert len(bars) == 4  # two mechanisms x two views


def test_a_streamed_cohort_reads_its_folder(cohort, tmp_path):
    from exerpain.simulate.engine import CohortResult
    from exerpain.storage import write_parquet

    write_parquet(tmp_path / "subjects.parquet", cohort.to_frame())
    streamed = CohortResult(cohort.summary, None, tmp_path)
    assert str(tmp_path) in repr(streamed)
    pd.testing.assert_frame_equal(streamed.to_frame(), cohort.to_frame())
    with pytest.raises(ValueError):
        CohortResult(cohort.summary, None).to_frame()


def test_trials(trials):
    text = repr(trials)
    assert len(text) < MAX_REPR, text
    assert text.startswith("TrialRun(")
    frame = trials.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == 3 * frame["arm"].nunique()
    assert {"replicate", "arm", "estimate", "p"} <= set(frame.columns)
    fig = trials.plot()
    assert isinstance(fig, Figure)
    differences, p_values = fig.axes
    assert len(differences.patches) > 0
    assert [line.get_label() for line in p_values.get_lines()] == ["alpha 0.05"]


def test_progress_bar_takes_both_callback_shapes(capsys, monkeypatch):
    from exerpain.interfaces.progress import progress_bar

    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # as on a terminal
    with progress_bar("work [x]", 3, "steps") as update:
        update(1, 3)
        update(2, 3, "second")
        update(3)
    err = capsys.readouterr().err
    assert "3/3 steps" in err
    monkeypatch.setenv("TTY_COMPATIBLE", "0")  # a log or a pipe: no stray bar lines
    with progress_bar("work", 3, "steps") as update:
        update(3)
    assert capsys.readouterr().err == ""


def test_demo_reports_progress(tmp_path, monkeypatch, simulate):
    from exerpain.interfaces import demo

    monkeypatch.setattr(demo, "simulate_pair", simulate)  # the session's cached pairs
    calls = []
    demo.run_demo(tmp_path / "demo", progress=lambda *a: calls.append(a))
    assert [c[0] for c in calls] == [0, 1, 2, 3, 4, 5]
    assert {c[1] for c in calls} == {5}
    assert calls[1][2] == "CCI rat + naloxone" and calls[-1][2] == "done"


def test_a_fitted_patient_has_a_short_repr():
    from types import SimpleNamespace

    import numpy as np

    from exerpain.patient.inference import Posterior
    from exerpain.patient.personalise import Fitted

    data = SimpleNamespace(record=SimpleNamespace(patient_id="p1"),
                           condition=SimpleNamespace(name="dpn"), days=70)
    fitted = Fitted(SimpleNamespace(data=data),
                    Posterior("nuts", np.zeros((1000, 40)), {"rhat": 1.0}, 12.0),
                    {"continued": object(), "changed": object(), "stopped": None})
    text = repr(fitted)
    assert text == ("Fitted(p1, dpn, 70 diary days: nuts posterior of 1000 draws; plans "
                    "continued, changed)")


def test_personalise_command_passes_a_progress_callback(monkeypatch):
    """The command runs the fit under a progress bar (stderr); stdout stays JSON."""
    import json
    from types import SimpleNamespace

    from typer.testing import CliRunner

    from exerpain.interfaces.cli import app

    calls = []

    def fake(record, condition, method, seed, change, progress=None):
        for done in range(3):
            progress(done, 2, f"stage {done}")
            calls.append(done)
        return {"patient_id": record.patient_id}, None

    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # a bar only where a terminal shows it
    monkeypatch.setattr("exerpain.patient.record.load_record",
                        lambda path, labs: SimpleNamespace(patient_id="p1"))
    monkeypatch.setattr("exerpain.patient.personalise.personalise", fake)
    result = CliRunner().invoke(app, ["personalise", "bundle.json", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"patient_id": "p1"}
    assert calls == [0, 1, 2]
    assert "personalise p1" in result.stderr
