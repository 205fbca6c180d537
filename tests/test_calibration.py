"""Calibration (``exerpain.calibrate``): gradients through the solver agree with finite
differences, known parameters are recovered from synthetic data, the Laplace posterior keeps
the prior width where the data say nothing, a fit that cannot improve stops cleanly, and the
shipped defaults are exactly the shipped calibration."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

from exerpain.calibrate.fit import CalibrationError, Objective, calibrate, start_theta
from exerpain.calibrate.space import PRIOR_SD, free_space
from exerpain.calibrate.targets import TARGETS
from exerpain.evidence.validation import target_values
from exerpain.interfaces.cli import app
from exerpain.model.calibrated import CONSTRAINED, shipped

# Two cheap single-run targets and three parameters: two that move them, one that cannot
# (a human read-out parameter never touches these rodent runs).
NAMES = ("inflammation.m2_il4_gain", "readout.vf_n50", "readout.nrs_hill")
TRUE_SHIFT = np.array([0.4, -0.3, 0.0])
SMALL = tuple(t for t in TARGETS if t.id in ("leung-m2-share", "chaplan-neuropathic-threshold"))


@pytest.fixture(scope="module")
def setting(model):
    space = free_space(model, model.parameter_table(declared=True)).subset(NAMES)
    base = model.default_params(declared=True)
    truth = space.theta_prior + TRUE_SHIFT
    values, code = Objective(space, base, SMALL).measure(jnp.asarray(truth))
    assert int(code) == 0
    synthetic = tuple(replace(t, value=float(v), sd=1e-3 * abs(float(v)))
                      for t, v in zip(SMALL, np.asarray(values), strict=True))
    return space, base, truth, synthetic


def test_gradient_agrees_with_finite_differences(setting):
    space, base, truth, synthetic = setting
    objective = Objective(space, base, synthetic)
    theta = jnp.asarray(space.theta_prior + 0.1)
    _, grad = objective.value_and_grad(theta)
    h = 1e-5
    fd = [(float(objective.loss(theta.at[i].add(h))) - float(objective.loss(theta.at[i].add(-h))))
          / (2 * h) for i in range(len(NAMES))]
    np.testing.assert_allclose(np.asarray(grad), fd, rtol=1e-4, atol=1e-6)


def test_recovers_known_parameters_from_synthetic_data(setting):
    space, base, truth, synthetic = setting
    result = calibrate(targets=synthetic, space=space, starts=1, max_steps=100)
    assert result.loss_after < 1e-3 * result.loss_before
    np.testing.assert_allclose(result.theta_map[:2], truth[:2], atol=0.02)
    # the third parameter cannot be learnt: it stays at its prior centre with the prior width
    assert result.theta_map[2] == pytest.approx(space.theta_prior[2], abs=1e-6)
    assert result.sd_ratio[2] == pytest.approx(1.0, abs=1e-9)
    assert (result.sd_ratio[:2] < 0.1).all()
    assert result.posterior_sd[2] == pytest.approx(PRIOR_SD)


def test_warm_start_begins_at_the_given_values(setting):
    """``start_from`` (an earlier fit's values) replaces the prior centre as the first start:
    started at the known parameters, two steps reach what 100 steps from the prior centre
    reach; the prior is unchanged, so the third parameter still sits at its centre."""
    space, base, truth, synthetic = setting
    values = dict(zip(space.names, np.asarray(space.values(jnp.asarray(truth))).tolist(),
                      strict=True))
    np.testing.assert_allclose(start_theta(space, values), truth, atol=1e-8)
    result = calibrate(targets=synthetic, space=space, starts=1, max_steps=2,
                       start_from=values)
    assert result.loss_after < 1e-3 * result.loss_before
    np.testing.assert_allclose(result.theta_map[:2], truth[:2], atol=0.02)
    assert result.meta["warm_start"] is True
    with pytest.raises(CalibrationError, match="start_from: no value for 3"):
        start_theta(space, {})
    with pytest.raises(CalibrationError, match="start_from: values outside"):
        start_theta(space, {n: 1e9 for n in space.names})


def test_calibrate_cli_refuses_a_missing_warm_start_before_any_work(tmp_path):
    out = tmp_path / "fit"
    result = CliRunner().invoke(app, ["calibrate", "--start-from", str(tmp_path / "nothing"),
                                      "--out", str(out)])
    assert result.exit_code == 2
    assert "error: start_from" in result.stderr
    assert not out.exists()


def test_a_fit_that_cannot_improve_stops_with_a_clear_message(setting, model):
    space, base, _, synthetic = setting
    at_prior, _ = Objective(space, base, synthetic).measure(jnp.asarray(space.theta_prior))
    exact = tuple(replace(t, value=float(v)) for t, v in zip(synthetic, np.asarray(at_prior),
                                                             strict=True))
    before = [(g, p) for g, p in model.parameter_table()]
    with pytest.raises(CalibrationError, match="did not improve"):
        calibrate(targets=exact, space=space, starts=1, max_steps=5)
    assert model.parameter_table() == before


def test_shipped_defaults_are_the_shipped_calibration(model):
    record = shipped()
    assert record, "no calibration is shipped"
    table = {f"{g}.{p.name}": p for g, p in model.parameter_table()}
    declared = {f"{g}.{p.name}": p for g, p in model.parameter_table(declared=True)}
    for name, entry in record["parameters"].items():
        p = table[name]
        assert p.value == entry["value"]
        assert declared[name].value == pytest.approx(entry["declared"])
        if entry["sd_ratio"] < CONSTRAINED:
            assert p.kind == "calibrated" and p.provenance.startswith("calibrated to ")
            assert all(i in p.provenance for i in record["fitted_to"])
    assert record["loss_after"] < record["loss_before"]
    assert set(record["held_out"]).isdisjoint(record["fitted_to"])


def test_shipped_scores_are_reproduced_by_the_defaults():
    """The fitted and held-out scores in the shipped record are what the defaults give."""
    record = shipped()
    values = target_values()
    for name, ids in (("fitted", record["fitted_to"]), ("held-out", record["held_out"])):
        z = [(values[t.id] - t.value) / t.sd for t in TARGETS if t.id in ids]
        # the fit evaluated the values from theta inside one compiled batch; the defaults
        # carry them as decimal floats, and the adaptive solver (rtol 1e-6) amplifies the
        # last-digit difference to ~1e-6 relative
        assert np.mean(np.square(z)) == pytest.approx(record["scores"][name]["mean_z2_after"],
                                                      rel=1e-4)


def test_identifiability_cli_reports_every_fitted_parameter():
    result = CliRunner().invoke(app, ["identifiability", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    names = {r["parameter"] for r in data["parameters"]}
    assert names == set(shipped()["parameters"])
    for r in data["parameters"]:
        assert r["low95"] <= r["value"] <= r["high95"]
        assert r["identifiability"] in ("constrained", "weakly constrained", "not constrained")


def test_calibrate_cli_rejects_bad_options_before_any_work(tmp_path):
    result = CliRunner().invoke(app, ["calibrate", "--starts", "0", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "starts" in result.output
    assert not any(tmp_path.iterdir())


def test_ship_from_refuses_a_missing_or_foreign_fit(tmp_path):
    """Shipping a reviewed fit checks it first; the shipped defaults are left untouched."""
    import pandas as pd

    from exerpain.model.calibrated import FILE

    data = Path(str(resources.files("exerpain.model").joinpath("data"))) / FILE
    before = data.read_bytes()
    result = CliRunner().invoke(app, ["calibrate", "--ship-from", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "error: ship_from" in result.stderr
    (tmp_path / "calibration.json").write_text(json.dumps(shipped()))
    pd.DataFrame({"parameter": ["injury.not_a_parameter"]}).to_csv(tmp_path / "parameters.csv")
    result = CliRunner().invoke(app, ["calibrate", "--ship-from", str(tmp_path)])
    assert result.exit_code == 2 and "other free parameters" in result.stderr
    assert data.read_bytes() == before


def test_posterior_draws_follow_the_shipped_laplace_posterior(model):
    """Draws sit inside each parameter's range, centre on the MAP (median, logit scale) and
    spread as the shipped 95% interval says."""
    from exerpain.model.calibrated import posterior_draws

    record = shipped()
    rows = model.parameter_table(declared=True)
    draws = posterior_draws(rows, 4000, seed=0, record=record)
    assert set(f"{g}.{n}" for g, n in draws) == set(record["parameters"])
    table = {(g, p.name): p for g, p in rows}
    for key, values in list(draws.items())[:20]:
        entry, p = record["parameters"][f"{key[0]}.{key[1]}"], table[key]
        assert np.all((values > p.low) & (values < p.high))
        assert np.median(values) == pytest.approx(entry["value"], rel=0.05, abs=1e-9)
        inside = np.mean((values >= entry["low95"]) & (values <= entry["high95"]))
        assert inside == pytest.approx(0.95, abs=0.02)


class _FailsOnce:
    """A quadratic bowl (minimum at 1, 2, ..., 6) whose ``fail_on``-th evaluation is NaN, as
    an inner solve that fails at one trial point."""

    def __init__(self, fail_on: int):
        self.calls, self.fail_on = 0, fail_on

    def value_and_grad(self, x):
        self.calls += 1
        if self.calls == self.fail_on:
            return float("nan"), np.full_like(x, np.nan)
        d = x - np.arange(1.0, 1.0 + len(x))
        return float(d @ d), 2 * d


@pytest.mark.parametrize("fail_on", [2, 3])
def test_a_failed_trial_point_does_not_end_the_fit(monkeypatch, fail_on):
    """scipy's L-BFGS-B reports 'convergence' with the loss unchanged after a non-finite
    trial point (loss 91 or 73 here, against a minimum of 0); the fit restarts from its best
    point and reaches the minimum."""
    from exerpain.calibrate import fit

    monkeypatch.setattr(fit, "MAX_RESTARTS", 0)
    stuck = fit.minimise(_FailsOnce(fail_on), np.zeros(6), 100)
    monkeypatch.undo()
    run = fit.minimise(_FailsOnce(fail_on), np.zeros(6), 100)
    assert stuck.loss > 50
    assert run.loss < 1e-12 and run.converged and "restart" in run.reason
    np.testing.assert_allclose(run.theta, np.arange(1.0, 7.0), atol=1e-6)


def test_blood_marker_cohorts_run_with_the_blood_drive(model):
    """A blood-marker cohort (serum/plasma markers of patients) runs the same mechanisms with
    ``responsiveness_human x blood_marker_drive_ratio``; nothing else changes, the rodent
    responsiveness included, and a rodent cohort cannot be read as blood."""
    from exerpain.calibrate.experiments import CohortSMD, blood_params

    base = model.default_params()
    ratio = base["exercise"]["blood_marker_drive_ratio"]
    params = {**base, "exercise": {**base["exercise"], "blood_marker_drive_ratio": 4.0}}
    blood = blood_params(params)
    assert blood["exercise"]["responsiveness_human"] == pytest.approx(
        4.0 * base["exercise"]["responsiveness_human"])
    for group, values in params.items():
        for name, value in values.items():
            if (group, name) != ("exercise", "responsiveness_human"):
                assert blood[group][name] == value
    assert params["exercise"]["responsiveness_human"] == base["exercise"][
        "responsiveness_human"]  # the caller's parameters are not changed
    assert blood_params(base)["exercise"]["responsiveness_human"] == pytest.approx(
        ratio * base["exercise"]["responsiveness_human"])
    marker = CohortSMD("dpn", "aerobic-moderate", "oxidative.ros", blood=True)
    assert marker.cohorts != CohortSMD("dpn", "aerobic-moderate", "oxidative.ros").cohorts
    with pytest.raises(ValueError, match="CohortSMD.blood"):
        CohortSMD("cci", "treadmill-moderate", "oxidative.ros", blood=True)
    blood_ids = {t.id for t in TARGETS if getattr(t.measure, "blood", False)}
    assert {"qiu-mda-t2d", "qiu-sod-t2d", "dinoff-bdnf-aerobic", "wang-tnf-resting",
            "uok-il10-aerobic"} <= blood_ids
    assert "singleton-ienfd-gain" not in blood_ids  # skin biopsy: a nerve read-out
