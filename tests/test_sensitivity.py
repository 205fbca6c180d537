"""Parameter scans and global sensitivity (issue 14): the SALib wrapper on functions with
known indices, the batched evaluation against ``simulate_pair`` and ``run_cohort``, indices
on the real model for parameters that provably cannot act, and input errors.

Every real-model solve here runs in chunks of one row (two runs), the shape ``simulate_pair``
compiles, so the file compiles the pair solver once."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from exerpain.errors import InputError
from exerpain.explain import evaluate as evaluate_module
from exerpain.explain.evaluate import Setting, Task, check_names, evaluate
from exerpain.explain.scan import run_scan
from exerpain.explain.sensitivity import (
    Factor,
    analyse,
    design,
    factors_for,
    parameter_set,
    run_sensitivity,
)
from exerpain.simulate.pair import simulate_pair

CONDITION, PROTOCOL = "dpn", "aerobic-moderate"

# Ishigami function, a = 7, b = 0.1, X_i ~ U(-pi, pi): analytic indices (Ishigami & Homma
# 1990; values as in SALib's documentation and Saltelli et al. 2008, Global Sensitivity
# Analysis: The Primer, p. 179)
ISHIGAMI_S1 = np.array([0.3139, 0.4424, 0.0])
ISHIGAMI_ST = np.array([0.5576, 0.4424, 0.2437])


def _factors(names, low, high) -> list[Factor]:
    return [Factor(n, low, high, (low + high) / 2, "1", (low, high), "assumed") for n in names]


@pytest.fixture(scope="module")
def setting() -> Setting:
    return Setting.create(CONDITION, PROTOCOL)


def test_sobol_recovers_ishigami_indices_within_their_intervals():
    from SALib.test_functions import Ishigami

    factors = _factors(["x1", "x2", "x3"], -math.pi, math.pi)
    x = design("sobol", factors, 1024, seed=3)
    assert x.shape == (1024 * 5, 3)
    out = analyse("sobol", factors, x, Ishigami.evaluate(x), seed=3)
    s1 = np.array([out["indices"][f.name]["S1"] for f in factors])
    st = np.array([out["indices"][f.name]["ST"] for f in factors])
    s1_conf = np.array([out["indices"][f.name]["S1_conf"] for f in factors])
    st_conf = np.array([out["indices"][f.name]["ST_conf"] for f in factors])
    assert np.all(np.abs(s1 - ISHIGAMI_S1) <= s1_conf), (s1, s1_conf)
    assert np.all(np.abs(st - ISHIGAMI_ST) <= st_conf), (st, st_conf)
    assert np.all(st_conf < 0.1) and np.all(st_conf > 0)  # intervals, not zero-width
    assert out["ranking"] == ["x1", "x2", "x3"]
    conv = out["convergence"]
    assert conv["max_abs_change_ST"] == pytest.approx(max(
        abs(conv["half"][f.name]["ST"] - out["indices"][f.name]["ST"]) for f in factors))
    assert conv["converged"] is (conv["max_abs_change_ST"] <= conv["threshold"])
    # too few base samples: the check flags it
    small = design("sobol", factors, 8, seed=3)
    assert not analyse("sobol", factors, small, Ishigami.evaluate(small),
                       seed=3)["convergence"]["converged"]


def test_morris_elementary_effects_of_a_linear_function_are_exact():
    factors = [Factor("a", 0.0, 2.0, 1.0, "1", (0.0, 2.0), "assumed"),
               Factor("b", -1.0, 1.0, 0.0, "1", (-1.0, 1.0), "assumed"),
               Factor("c", 0.0, 1.0, 0.5, "1", (0.0, 1.0), "assumed")]
    x = design("morris", factors, 16, seed=1)
    assert x.shape == (16 * 4, 3)
    y = 3.0 * x[:, 0] - 0.5 * x[:, 1] + 0.0 * x[:, 2]
    out = analyse("morris", factors, x, y, seed=1)
    # SALib's effect is per unit of the scaled [0, 1] range: |coefficient| x range width
    assert out["indices"]["a"]["mu_star"] == pytest.approx(6.0)
    assert out["indices"]["b"]["mu_star"] == pytest.approx(1.0)
    assert out["indices"]["c"]["mu_star"] == pytest.approx(0.0, abs=1e-12)
    assert out["indices"]["a"]["sigma"] == pytest.approx(0.0, abs=1e-9)
    assert out["convergence"]["max_relative_change_mu_star"] == pytest.approx(0.0, abs=1e-9)
    assert out["ranking"][:2] == ["a", "b"]


def test_failed_evaluations_drop_their_base_samples_and_never_reach_salib():
    from SALib.test_functions import Ishigami

    factors = _factors(["x1", "x2", "x3"], -math.pi, math.pi)
    x = design("sobol", factors, 64, seed=0)
    y = Ishigami.evaluate(x)
    failed = np.zeros(len(y), bool)
    failed[[1, 7, 8]] = True  # rows of base samples 0 and 1 (5 rows each)
    y[failed] = np.nan
    reasons = ["ok"] * len(y)
    for i in np.flatnonzero(failed):
        reasons[i] = "exercise: solver failure"
    out = analyse("sobol", factors, x, y, failed, seed=0, reasons=reasons)
    f = out["failures"]
    assert (f["failed"], f["blocks_dropped"], f["blocks"]) == (3, 2, 64)
    assert f["reasons"] == {"exercise: solver failure": 3}
    assert all(math.isfinite(v) for i in out["indices"].values() for v in i.values())
    assert out["target_values"]["n"] == 62 * 5
    # the same as analysing the 62 complete base samples directly
    keep = np.repeat(np.arange(64) >= 2, 5)
    direct = analyse("sobol", factors, x[keep], y[keep], seed=0)
    assert out["indices"] == direct["indices"]
    with pytest.raises(InputError, match="3 of 320 evaluations failed"):
        analyse("sobol", factors, x, y, failed, seed=0, on_failure="error")
    # a NaN target without a failure flag is a failure too
    assert analyse("sobol", factors, x, y, seed=0)["failures"]["failed"] == 3


def test_scan_points_equal_simulate_pair_with_the_same_override(setting):
    name = "exercise.responsiveness_human"
    values = [0.05, 0.3]
    result = run_scan(setting, [(name, values)], chunk=1)
    table = result.table
    assert list(table[name]) == values
    assert list(table["status"]) == ["ok", "ok"]
    for value, row in zip(values, table.itertuples(index=False), strict=True):
        s = simulate_pair(CONDITION, PROTOCOL, params={name: value}).summary
        for key in ("benefit", "exercise_value", "sedentary_value", "healthy_value",
                    "benefit_fraction"):
            assert getattr(row, key) == pytest.approx(s[key], rel=1e-10), key
    # exercise acts only through its responsiveness-scaled signal: more of it, more benefit
    # here; the sedentary control does not see it at all
    assert table["benefit"].iloc[1] > table["benefit"].iloc[0] > 0
    assert table["sedentary_value"].iloc[0] == table["sedentary_value"].iloc[1]
    summary = json.loads(json.dumps(result.summary, default=float))
    assert summary["points"] == 2 and summary["failed"] == 0
    assert result.plot() is not None


def test_two_parameter_scan_is_a_grid_first_parameter_slowest(setting):
    axes = [("exercise.responsiveness_human", [0.05, 0.3]),
            ("opioid.exercise_opioid_gain", [0.0, 0.5, 1.0])]
    result = run_scan(setting, axes, chunk=1)
    table = result.table
    assert list(table["exercise.responsiveness_human"]) == [0.05] * 3 + [0.3] * 3
    assert list(table["opioid.exercise_opioid_gain"]) == [0.0, 0.5, 1.0] * 2
    s = simulate_pair(CONDITION, PROTOCOL, params={"exercise.responsiveness_human": 0.3,
                                                   "opioid.exercise_opioid_gain": 0.5}
                      ).summary
    assert table["benefit"].iloc[4] == pytest.approx(s["benefit"], rel=1e-10)
    assert result.plot() is not None


def test_sobol_on_the_model_parameters_that_cannot_act_get_zero(setting):
    # endocannabinoid ablated: exercise does not act through it, so its exercise gain cannot
    # change the benefit; readout.vf_n50 belongs to the rodent von Frey read-out (DPN reads
    # NRS); exercise.responsiveness_human scales every exercise signal of a human
    ablated = Setting.create(CONDITION, PROTOCOL, ablate=["endocannabinoid"])
    names = ["endocannabinoid.exercise_ecb_gain", "readout.vf_n50",
             "exercise.responsiveness_human"]
    result = run_sensitivity(ablated, names, "sobol", n=16, seed=2, range_scale=0.5,
                             chunk=1, resamples=200)
    s = result.summary
    assert s["failures"]["failed"] == 0 and s["design"]["evaluations"] == 16 * 5
    idx = s["indices"]
    for name in names[:2]:
        assert abs(idx[name]["ST"]) < 1e-9 and abs(idx[name]["S1"]) < 1e-9, idx[name]
    assert idx["exercise.responsiveness_human"]["ST"] > 0.5
    assert idx["exercise.responsiveness_human"]["ST"] - idx[
        "exercise.responsiveness_human"]["ST_conf"] > 0.1
    assert s["ranking"][0] == "exercise.responsiveness_human"
    assert set(s["convergence"]) >= {"max_abs_change_ST", "threshold", "converged"}
    # the samples table holds every evaluation; rows of a base sample share its block id
    samples = result.samples
    assert len(samples) == 80 and list(samples["block"][:5]) == [0] * 5
    assert (samples["status"] == "ok").all()
    assert result.plot() is not None


def test_cohort_target_equals_run_cohort_with_common_random_numbers(setting):
    from exerpain.simulate.engine import CohortConfig, run_cohort

    name = "exercise.responsiveness_human"
    task = Task(setting=setting, names=(name,), targets=("cohort_mean_benefit",), n=4,
                seed=5, pair=False, chunk=1)
    ev = evaluate(task, np.array([[0.05], [0.3]]))
    assert list(ev.status) == ["ok", "ok"]
    for value, got in zip((0.05, 0.3), ev.values["cohort_mean_benefit"], strict=True):
        summary = run_cohort(CohortConfig(CONDITION, PROTOCOL, n=4, seed=5, attribution=False,
                                          pathway=False, params={name: value})).summary
        assert got == pytest.approx(summary["mean_benefit"], rel=1e-12)
    assert ev.values["cohort_mean_benefit"][1] > ev.values["cohort_mean_benefit"][0]


def test_bad_names_and_values_are_input_errors_naming_the_field(setting):
    with pytest.raises(InputError, match=r"^params\.opioid\.nope: unknown parameter"):
        check_names(["opioid.nope"], setting)
    with pytest.raises(InputError, match=r"^params\.nope: unknown parameter group"):
        check_names(["nope.k"], setting)
    with pytest.raises(InputError, match=r"^params: .*GROUP\.NAME"):
        check_names(["k_opioid"], setting)
    # a parameter DPN sets itself: the message names the one to vary instead
    with pytest.raises(InputError, match=r"injury\.insult_rate: .*condition\.dpn_insult_rate"):
        check_names(["injury.insult_rate"], setting)
    with pytest.raises(InputError, match=r"^values\.opioid\.k_opioid: must be within "
                                         r"0\.02-2 1/day .* got 5"):
        run_scan(setting, [("opioid.k_opioid", [0.1, 5.0])])
    with pytest.raises(InputError, match=r"^params\.opioid\.k_opioid: must be within"):
        factors_for(["opioid.k_opioid"], setting, ranges={"opioid.k_opioid": (0.01, 0.5)})
    with pytest.raises(InputError, match=r"^params\.opioid\.k_opioid: given more than once"):
        factors_for(["opioid.k_opioid", "opioid.k_opioid"], setting)
    with pytest.raises(InputError, match=r"^n: Sobol' designs need a power of two"):
        run_sensitivity(setting, "opioid.k_opioid", n=12)
    with pytest.raises(InputError, match=r"^target: "):
        run_sensitivity(setting, "opioid.k_opioid", n=16, target="pain")
    with pytest.raises(InputError, match=r"^target: unknown mechanism"):
        run_sensitivity(setting, "opioid.k_opioid", n=16, target="priming_share:liver")
    with pytest.raises(InputError, match=r"^range_scale: "):
        factors_for(["opioid.k_opioid"], setting, range_scale=0.0)
    with pytest.raises(InputError, match=r"^dask: "):
        run_scan(setting, [("opioid.k_opioid", [0.1])], dask="nonsense")
    with pytest.raises(InputError, match=r"^set\.opioid\.k_opioid: must be within"):
        Setting.create(CONDITION, PROTOCOL, fixed=["opioid.k_opioid=9"])
    with pytest.raises(InputError, match=r"^protocol: preset 'wheel' is for rodents"):
        Setting.create(CONDITION, "wheel")


def test_range_scale_shrinks_toward_the_calibrated_value_and_sets_exclude_foreign(setting):
    (f,) = factors_for(["opioid.k_opioid"], setting, range_scale=0.5)
    assert f.low == pytest.approx(f.nominal - 0.5 * (f.nominal - 0.02))
    assert f.high == pytest.approx(f.nominal + 0.5 * (2.0 - f.nominal))
    fitted = parameter_set("all-fitted", setting)
    assert "inflammation.exercise_il4_gain" in fitted
    assert not any(n.startswith(("readout.vf_", "condition.cci_")) for n in fitted)
    assert "exercise.responsiveness_rodent" not in fitted
    gains = parameter_set("exercise-gains", setting)
    assert "dopaminergic.exercise_vta_gain" in gains
    assert "exercise.responsiveness_human" in gains
    factors_for(fitted, setting)  # every one can be varied under DPN


def test_cli_scan_and_sensitivity_write_json_csv_and_figure(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from exerpain.interfaces.cli import app

    monkeypatch.setattr(evaluate_module, "DEFAULT_CHUNK", 1)  # the compiled pair shape
    runner = CliRunner()
    out = tmp_path / "scan"
    res = runner.invoke(app, ["scan", "--condition", CONDITION, "--protocol", PROTOCOL,
                              "--param", "exercise.responsiveness_human", "--values",
                              "0.05,0.3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert {p.name for p in out.iterdir()} >= {"scan.json", "scan.csv", "scan.png"}
    data = json.loads((out / "scan.json").read_text())
    assert [r["exercise.responsiveness_human"] for r in data["rows"]] == [0.05, 0.3]
    assert (out / "scan.csv").read_text().splitlines()[0].startswith(
        "exercise.responsiveness_human,benefit,")
    out2 = tmp_path / "gsa"
    res = runner.invoke(app, ["sensitivity", "--condition", CONDITION, "--protocol", PROTOCOL,
                              "--method", "morris", "--params",
                              "exercise.responsiveness_human=0.05:0.3,readout.vf_n50",
                              "--n", "8", "--out", str(out2)])
    assert res.exit_code == 0, res.output
    data = json.loads((out2 / "sensitivity.json").read_text())
    assert data["ranking"][0] == "exercise.responsiveness_human"
    assert data["indices"]["readout.vf_n50"]["mu_star"] == 0
    assert data["parameters"][0]["low"] == 0.05
    assert (out2 / "sensitivity.png").stat().st_size > 0
    assert len((out2 / "samples.csv").read_text().splitlines()) == 1 + 8 * 3
    res = runner.invoke(app, ["scan", "--condition", CONDITION, "--protocol", PROTOCOL,
                              "--param", "opioid.k_opioid", "--values", "5"])
    assert res.exit_code == 2
    assert "values.opioid.k_opioid: must be within 0.02-2" in res.output
