"""Virtual randomised trials: type I error, power, the estimate against the model, regression
to the mean, the analysis against statsmodels, drug dosing, and bad designs.

Every design here runs 12 treatment weeks after a 1-week run-in (one compiled shape)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import statsmodels.api as sm
import yaml
from typer.testing import CliRunner

from exerpain.design.analysis import analyse, compare
from exerpain.design.results import summarise
from exerpain.design.spec import EXAMPLE, validated
from exerpain.design.trial import simulate_trials
from exerpain.errors import InputError
from exerpain.interfaces.cli import app

EXERCISE = {"modality": "aerobic", "intensity": 0.6, "minutes_per_session": 40,
            "sessions_per_week": 3}


def design(**changes) -> dict:
    base = yaml.safe_load(EXAMPLE)
    base.update(changes)
    return base


@pytest.fixture(scope="module")
def null_trials():
    """400 replicate trials of two identical usual-care arms (n = 20), with noise, rounding,
    placebo and 10% dropout, analysed by ANCOVA with LOCF."""
    d = validated(design(n_randomised=20)).null()
    return d, simulate_trials(d, 400, 11)


def test_identical_arms_reject_at_the_nominal_rate(null_trials):
    d, run = null_trials
    s = summarise(d, run, 400, 11, null=True)
    mc = 3 * np.sqrt(0.05 * 0.95 / 400)  # 3 Monte Carlo SE
    assert abs(s["power"] - 0.05) <= mc, s["power"]
    assert abs(s["difference"]["mean"]) < 0.1
    assert run.failed == 0


def test_inclusion_on_the_run_in_creates_regression_to_the_mean(null_trials):
    """Without placebo, an untreated arm whose model pain does not move still improves on
    average when patients are enrolled on a high run-in diary, and not when all are."""
    def control_change(inclusion):
        d = validated(design(n_randomised=200, inclusion=inclusion,
                             diary={"placebo": False}))
        s = summarise(d, simulate_trials(d, 12, 5), 12, 5)
        arm = s["arms"]["usual care"]
        return arm["mean_change"], arm["model_mean_change"]

    # 1,200 control patients each: the SE of a mean change is about 0.03 points
    selected, model_selected = control_change({"baseline_pain_min": 8})
    everyone, model_everyone = control_change({"baseline_pain_min": 0})
    assert abs(model_selected) < 1e-4 and abs(model_everyone) < 1e-4
    assert selected < -0.1
    assert abs(everyone) < 0.1
    assert selected < everyone - 0.1


def test_power_rises_with_n():
    d = validated(design())
    powers = [summarise(d.with_n(n), simulate_trials(d.with_n(n), 40, 3), 40, 3)["power"]
              for n in (16, 64)]
    assert powers[1] > powers[0] + 0.2, powers


def test_without_noise_or_dropout_the_estimate_is_the_model_difference():
    arms = [{"name": "usual care", "control": True},
            {"name": "exercise", "protocol": EXERCISE},
            {"name": "pregabalin", "drugs": [{"name": "pregabalin", "dose_mg_day": 300}]}]
    quiet = {"noise": False, "rounding": False, "placebo": False}
    d = validated(design(n_randomised=60, arms=arms, diary=quiet,
                         analysis={"estimator": "change", "missing": "completers"}))
    run = simulate_trials(d, 3, 2)
    for r in run.replicates:
        for name in ("exercise", "pregabalin"):
            c = r.comparisons[name]
            assert c["estimate"] == pytest.approx(c["model_difference"], abs=1e-9)
            assert c["model_difference"] < -0.2  # both treatments relieve pain


def test_a_drug_beside_exercise_relieves_more_than_either_alone():
    """Follows from the model (exercise and the drug act on shared states), not a rule."""
    quiet = {"noise": False, "rounding": False, "placebo": False}
    both = {"name": "both", "protocol": EXERCISE,
            "drugs": [{"name": "duloxetine", "dose_mg_day": 60}]}
    arms = [{"name": "usual care", "control": True}, {"name": "exercise", "protocol": EXERCISE},
            {"name": "duloxetine", "drugs": [{"name": "duloxetine"}]}, both]
    d = validated(design(n_randomised=80, arms=arms, diary=quiet,
                         analysis={"estimator": "change", "missing": "completers"}))
    r = simulate_trials(d, 1, 4).replicates[0].comparisons
    assert r["both"]["model_difference"] < min(r["exercise"]["model_difference"],
                                               r["duloxetine"]["model_difference"]) - 0.1


def test_after_the_programme_stops_the_effect_fades():
    """With a 4-week follow-up after 8 weeks of training, the endpoint at its end shows less
    of the exercise effect than the end of treatment (detraining), in the model's own
    noise-free difference (84 days in all: the other tests' compiled shape)."""
    quiet = {"noise": False, "rounding": False, "placebo": False}
    arms = [{"name": "usual care", "control": True}, {"name": "exercise", "protocol": EXERCISE}]
    at = {}
    for when in ("end_of_treatment", "end_of_follow_up"):
        d = validated(design(n_randomised=40, arms=arms, diary=quiet,
                             weeks={"run_in": 1, "treatment": 8, "follow_up": 4},
                             analysis={"endpoint_at": when, "estimator": "change",
                                       "missing": "completers"}))
        at[when] = simulate_trials(d, 1, 6).replicates[0].comparisons["exercise"]
    assert at["end_of_treatment"]["model_difference"] < -0.2
    assert at["end_of_follow_up"]["model_difference"] > at["end_of_treatment"][
        "model_difference"] + 0.1


def test_ancova_matches_statsmodels():
    rng = np.random.default_rng(0)
    n = 90
    arm = rng.integers(0, 3, n)
    baseline = rng.uniform(4, 9, n)
    change = -0.5 * (arm == 1) - 1.0 * (arm == 2) + 0.3 * (baseline - 6) + rng.normal(0, 1, n)
    mine = compare(change, baseline, arm, 3, 0, "ancova")
    X = sm.add_constant(np.column_stack([(arm == 1), (arm == 2), baseline]).astype(float))
    fit = sm.OLS(change, X).fit()
    for j, a in enumerate((1, 2)):
        assert mine[a].estimate == pytest.approx(fit.params[1 + j], rel=1e-10)
        assert mine[a].se == pytest.approx(fit.bse[1 + j], rel=1e-10)
        assert mine[a].p == pytest.approx(fit.pvalues[1 + j], rel=1e-8)


def test_missing_data_rules():
    rng = np.random.default_rng(1)
    n = 80
    arm = np.repeat([0, 1], 40)
    baseline = rng.uniform(4, 8, n)
    endpoint = baseline - 1.0 * arm + rng.normal(0, 1, n)
    last_seen = baseline - 0.5 * arm
    complete = analyse(baseline, endpoint, last_seen, arm, 2, 0, "ancova", "locf", 5, rng)
    imputed = analyse(baseline, endpoint, last_seen, arm, 2, 0, "ancova",
                      "multiple_imputation", 5, rng)
    # without missing data, multiple imputation is the complete-data analysis
    assert imputed.comparisons[1].estimate == pytest.approx(complete.comparisons[1].estimate)
    assert imputed.comparisons[1].se == pytest.approx(complete.comparisons[1].se)
    gone = endpoint.copy()
    gone[::4] = np.nan
    locf = analyse(baseline, gone, last_seen, arm, 2, 0, "change", "locf", 5, rng)
    completers = analyse(baseline, gone, last_seen, arm, 2, 0, "change", "completers", 5, rng)
    assert completers.analysed.sum() == n - len(range(0, n, 4))
    assert locf.analysed.sum() == n
    assert np.allclose(locf.endpoint[::4], last_seen[::4])


@pytest.mark.parametrize(("change", "field"), [
    ({"arms": []}, "arms"),
    ({"arms": [{"name": "a", "control": True, "weight": 0}, {"name": "b", "weight": 0}]},
     "arms"),
    ({"n_randomised": 1}, "n_randomised"),
    ({"n_randomised": 2, "arms": [{"name": "a", "control": True}, {"name": "b"},
                                  {"name": "c"}]}, "n_randomised"),
    ({"arms": [{"name": "a", "control": True},
               {"name": "b", "drugs": [{"name": "aspirin"}]}]}, "aspirin"),
    ({"arms": [{"name": "a", "control": True},
               {"name": "b", "drugs": [{"name": "pregabalin", "dose_mg_day": 500}]}]},
     "75, 150, 300, 600"),
    ({"arms": [{"name": "a", "control": True, "dropout": {"rate": 1.5}}, {"name": "b"}]},
     "arms.0.dropout.rate"),
    ({"weeks": {"treatment": 1}, "analysis": {"endpoint_days": 14}}, "endpoint_days"),
    ({"condition": "cci"}, "condition"),
    ({"analysis": {"endpoint_at": "end_of_follow_up"}}, "follow_up"),
])
def test_a_bad_design_is_one_error_naming_the_field(tmp_path, change, field):
    path = tmp_path / "design.yaml"
    path.write_text(yaml.safe_dump(design(**change)))
    with pytest.raises(InputError, match=field.replace(".", r"\.")):
        validated(design(**change))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["trial", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: trial design file")
    assert field.split(".")[-1] in result.output
    assert not out.exists()


def test_example_prints_a_valid_design_and_the_cli_writes_its_results(tmp_path):
    runner = CliRunner()
    text = runner.invoke(app, ["trial", "example"]).output
    path = tmp_path / "example.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    result = runner.invoke(app, ["trial", str(path), "--replicates", "2", "--n", "24",
                                 "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{"):])
    for key in ("power", "difference", "smd", "arms", "consort"):
        assert key in summary
    arm = summary["arms"]["aerobic exercise"]
    for key in ("n_randomised", "n_analysed", "mean_change", "responder30_rate",
                "responder50_rate"):
        assert key in arm
    assert summary["n_randomised"] == 24
    assert {p.name for p in out.iterdir()} >= {"patients.parquet", "diary.parquet",
                                                "replicates.parquet", "summary.json"}


def test_titrated_dosing_agrees_with_scipy_lsoda(model):
    """A drug titrated from day 0 and stopped on day 42 of 112 (the dosing input of trials),
    solved by the diffrax engine and by scipy's LSODA restarted at the dosing jumps: within
    1e-4 relative on every observable, every day."""
    import dataclasses

    from exerpain.model.pharmacology import dosing_inputs
    from exerpain.simulate.reference import solve_reference
    from exerpain.simulate.scenario import Scenario
    from exerpain.simulate.solve import solve

    # the default DPN length (112 days): the compiled solve is shared with test_invariants
    base = Scenario.create(condition="dpn").build(model)
    dosing = dosing_inputs([("pregabalin", 300), ("duloxetine", 60)], 0.0, 42.0,
                           model.target_names)
    prepared = dataclasses.replace(
        base, inputs=base.inputs._replace(dosing=dosing),
        jump_ts=np.sort(np.concatenate([base.jump_ts, [0.0, 42.0]])))
    ours = solve([prepared], model)
    ref = solve_reference(prepared, model)
    for name, values in ours.observables.items():
        np.testing.assert_allclose(values, ref.observables[name], rtol=1e-4, atol=1e-12,
                                   err_msg=name)
    nrs = ours.observables["nrs"][0]
    undosed = solve([base], model).observables["nrs"][0]
    assert nrs[0] == pytest.approx(undosed[0])  # nothing before the first dose
    assert nrs[42] < undosed[42] - 0.5  # the drugs act
    assert nrs[112] - undosed[112] > (nrs[42] - undosed[42]) / 2  # and wear off after day 42


def test_the_shipped_drug_calibration_fits_its_trials():
    """The shipped fit (model/data/drugs.json) reproduces every fitted target within 2 SE
    (sampling plus between-trial variance) and keeps a held-out set of at least a quarter."""
    from exerpain.model.pharmacology import get_drug, shipped_fit

    record = shipped_fit()
    rows = record["placebo"]["targets"] + [r for d in record["drugs"].values()
                                           for r in d["targets"]]
    fitted = [r for r in rows if r["fitted"]]
    held = [r for r in rows if not r["fitted"]]
    assert len(held) >= len(rows) / 4
    assert all(abs(r["z"]) <= 2 for r in fitted), [r["id"] for r in fitted if abs(r["z"]) > 2]
    for name, fit in record["drugs"].items():
        drug = get_drug(name)
        assert drug.emax.value == fit["emax"] and drug.emax.kind == "calibrated"


def test_a_shipped_trial_design_runs_in_validate():
    from exerpain.design.validation import validate_trials

    report = validate_trials(replicates=2, designs={"gao2015_duloxetine"})
    (check,) = report["checks"]
    assert check["set"] == "held-out" and check["quantity"] == "difference"
    assert check["model_value"] < 0  # duloxetine relieves more than placebo
    assert report["total"] == 1
