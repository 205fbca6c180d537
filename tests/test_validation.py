"""The model against the published findings shipped with it (``exerpain validate``)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from exerpain.evidence.validation import FINDINGS, validate
from exerpain.interfaces.cli import app
from exerpain.model.registry import Model


@pytest.fixture(scope="module")
def report():
    return validate()


def test_at_least_25_findings_covering_every_mechanism(report):
    assert report["total"] >= 25
    covered = {f.mechanism for f in FINDINGS}
    assert set(Model.default().mechanism_names) <= covered


def test_every_blockade_finding_passes(report):
    blockades = [f for f in report["findings"] if "kept" in f["expected"]]
    assert len(blockades) >= 8
    assert all(f["pass"] for f in blockades), [f["id"] for f in blockades if not f["pass"]]


def test_most_findings_pass(report):
    assert report["passed"] / report["total"] >= 0.85


def test_validate_cli_json():
    result = CliRunner().invoke(app, ["validate", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert set(data["findings"][0]) >= {"id", "citation", "claim", "model_value", "expected",
                                        "pass"}


def test_findings_are_split_into_fitted_and_held_out(report):
    """Calibration fits only the quantitative targets; every other finding is held out."""
    from exerpain.calibrate.targets import TARGETS

    fitted = {f["id"] for f in report["findings"] if f["set"] == "fitted"}
    assert fitted == {t.id for t in TARGETS if not t.held_out}
    held = report["by_set"]["held-out"]
    assert held["total"] == report["total"] - len(fitted) and held["total"] >= 25


def test_rodent_mechanical_smd_inside_the_pooled_interval(report):
    """Matesanz-Garcia 2023: SMD 0.53 (95% CI 0.31-0.74), through a virtual cohort."""
    row = next(f for f in report["findings"] if f["id"] == "matesanz-mechanical-smd")
    assert 0.31 <= row["model_value"] <= 0.74 and row["pass"]
