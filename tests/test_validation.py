"""The model against the published findings shipped with it (``exerpain validate``), and
each finding's informativeness under draws from the calibration prior."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from exerpain.evidence.validation import FINDINGS, Check, validate
from exerpain.interfaces.cli import app
from exerpain.model.registry import Model

DRAWS = 3


@pytest.fixture(scope="module")
def report():
    return validate(draws=DRAWS)


def test_at_least_50_findings_covering_every_mechanism(report):
    assert report["total"] >= 50
    covered = {f.mechanism for f in FINDINGS}
    assert set(Model.default().mechanism_names) <= covered


def test_blockades_are_checked_on_the_read_out_and_on_log_drive(report):
    """Like with like (both arms blocked), and the read-out's floor cannot do the abolishing:
    every blockade row carries its log-drive value, and passes only if both pass."""
    blockades = [f for f in report["findings"] if "kept" in f["expected"]]
    assert len(blockades) >= 10
    finding = {f.id: f for f in FINDINGS}
    for row in blockades:
        both = [row["model_value"], *row["also_values"]]
        assert row["pass"] == bool(np.all(finding[row["id"]].check(np.asarray(both))))


def test_informativeness_is_a_share_of_prior_draws(report):
    assert report["draws"] == DRAWS
    for row in report["findings"]:
        assert 0.0 <= row["informativeness"] <= 1.0 or np.isnan(row["informativeness"])
        assert (row["kind"] == "structural") == (row["informativeness"] == 0.0)
    kinds = report["by_kind"]
    assert sum(v["total"] for v in kinds.values()) == report["total"]
    info = report["informative"]
    assert info["total"] == report["total"] - kinds["structural"]["total"]


def test_a_check_that_cannot_fail_is_structural():
    """A finding every draw passes leaves the pass rate (constructed: a bound no value can
    cross)."""
    from dataclasses import replace

    f = FINDINGS[0]
    trivial = replace(f, id="always", check=Check(lo=-np.inf), also=())
    report = validate((f, trivial), draws=2)
    row = report["findings"][1]
    assert row["kind"] == "structural" and row["informativeness"] == 0.0
    assert report["informative"]["total"] == 2 - report["by_kind"]["structural"]["total"]


def test_validate_cli_json():
    result = CliRunner().invoke(app, ["validate", "--json", "--draws", "0", "--no-trials"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["findings"][0]) >= {"id", "citation", "claim", "model_value", "expected",
                                        "pass", "informativeness", "kind"}


def test_validate_cli_rejects_negative_draws():
    result = CliRunner().invoke(app, ["validate", "--draws", "-1"])
    assert result.exit_code == 2


def test_findings_are_split_into_fitted_and_held_out(report):
    """Fitted = what the shipped calibration was fitted to (and the one circular finding);
    everything else, including targets not yet fitted, is held out."""
    from exerpain.calibrate.targets import TARGETS
    from exerpain.model.calibrated import shipped

    fitted = {f["id"] for f in report["findings"] if f["set"] == "fitted"}
    circular = {f.id for f in FINDINGS if f.fitted and f.note}
    assert fitted == set(shipped()["fitted_to"]) | circular
    assert set(shipped()["fitted_to"]) <= {t.id for t in TARGETS}
    # every quantitative target is also a validation finding, through the same experiment
    assert {t.id for t in TARGETS} <= {f["id"] for f in report["findings"]}
    held = report["by_set"]["held-out"]
    assert held["total"] == report["total"] - len(fitted) and held["total"] >= 25
