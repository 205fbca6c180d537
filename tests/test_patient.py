"""One patient's journey: records (CSV and FHIR), schedules, personalisation, prescription.

The slow parts (a synthetic patient, one fast fit) are built once per session; the
50-patient recovery study runs outside the test suite (``exerpain.patient.recovery``)."""

from __future__ import annotations

import datetime as dt
import json
import warnings

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from typer.testing import CliRunner

from exerpain.errors import InputError
from exerpain.interfaces.cli import app
from exerpain.model.protocols import (
    Protocol,
    exercise_inputs,
    exercise_signals,
    schedule,
    schedule_weights,
)
from exerpain.patient.fhir import bundle_of, load_bundle, read_bundle
from exerpain.patient.inference import MAX_RHAT, diagnose
from exerpain.patient.prescribe import Constraints, candidates, prescribe, ramped
from exerpain.patient.record import (
    PatientRecord,
    intensity_from_rpe,
    load_csv_record,
    load_record,
)
from exerpain.patient.synthetic import simulate_patient, write_synthetic

WEEKS = 8


@pytest.fixture(scope="session")
def synthetic():
    return simulate_patient("dpn", 11, WEEKS)


@pytest.fixture(scope="session")
def personalised(synthetic):
    from exerpain.patient.personalise import personalise

    return personalise(synthetic.record, "dpn", "laplace", seed=1, attribution=8)


def _phase(start, stop, minutes=40.0, per_week=3.0, intensity=0.6, modality="aerobic"):
    return Protocol(modality=modality, intensity=intensity, minutes_per_session=minutes,
                    sessions_per_week=per_week, start_day=start, stop_day=stop)


def test_schedule_adaptation_matches_an_ode_solver(model):
    """The phase-by-phase closed form of training adaptation equals scipy's solution of
    dA/dt = (s_k - A)/tau_on in a phase with load, -A/tau_off elsewhere."""
    phases = [_phase(5, 19), _phase(19, 26, minutes=0, per_week=0), _phase(30, 60, 60, 5, 0.8)]
    plan = schedule(phases, model.exercise_mechanisms, "human", size=8, end=120)
    ex = {k: jnp.asarray(v) for k, v in model.default_params()["exercise"].items()}
    ex["responsiveness_human"] = jnp.asarray(1.0)
    levels = []
    for p in phases:
        one = exercise_inputs(p, 120, model.exercise_mechanisms, "human")
        probe = float(exercise_signals(jnp.asarray(1e9), one._replace(
            stop=jnp.asarray(2e9)), ex).chronic) if p.sessions_per_week else 0.0
        levels.append(probe)
    tau_on, tau_off = float(ex["tau_adaptation"]), float(ex["tau_detraining"])

    def rhs(t, a):
        for p, s in zip(phases, levels, strict=True):
            if p.start_day <= t < p.stop_day and s > 0:
                return [(s - a[0]) / tau_on]
        return [-a[0] / tau_off]

    days = np.array([3.0, 12.0, 19.0, 24.0, 28.0, 45.0, 60.0, 90.0])
    ref = solve_ivp(rhs, (0, 90), [0.0], t_eval=days, rtol=1e-10, atol=1e-12, max_step=0.5)
    ours = [float(exercise_signals(jnp.asarray(t), plan, ex).chronic) for t in days]
    np.testing.assert_allclose(ours, ref.y[0], rtol=1e-5, atol=1e-8)
    # the acute signal runs only inside phases with sessions
    assert float(exercise_signals(jnp.asarray(22.0), plan, ex).acute_general) == 0.0
    assert float(exercise_signals(jnp.asarray(40.0), plan, ex).acute_general) == (
        pytest.approx(5 / 7))


def test_one_phase_schedule_is_the_protocol(model):
    ex = {k: jnp.asarray(v) for k, v in model.default_params()["exercise"].items()}
    p = _phase(10, 40, modality="resistance")
    one = exercise_inputs(p, 100, model.exercise_mechanisms, "human")
    plan = schedule([p], model.exercise_mechanisms, "human", size=4, end=100)
    for t in (5.0, 20.0, 39.9, 70.0):
        a, b = exercise_signals(jnp.asarray(t), plan, ex), exercise_signals(jnp.asarray(t),
                                                                           one, ex)
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-12, atol=1e-15)
    assert float(schedule_weights(jnp.asarray(20.0), plan)["neurotrophic"]) == 0.1


def test_rpe_follows_the_acsm_anchors():
    assert intensity_from_rpe(12) == pytest.approx(0.4)
    assert intensity_from_rpe(14) == pytest.approx(0.6)
    assert intensity_from_rpe(20) == 1.0


def test_csv_and_fhir_give_the_same_record(synthetic, tmp_path):
    write_synthetic(tmp_path, synthetic)
    from_csv = load_csv_record(tmp_path / "diary.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no entry of our own bundle is skipped
        from_fhir = load_record(tmp_path / "bundle.json")
    assert from_csv == from_fhir == synthetic.record
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert len(truth["held_back"]) == 14 and len(truth["z"]) > 50


def _diary(tmp_path, rows, labs="name,value,unit,date\nsex,male,,\nage,60,a,\n"):
    (tmp_path / "diary.csv").write_text("date,pain,minutes,intensity,rpe\n" + rows)
    (tmp_path / "labs.csv").write_text(labs)
    return tmp_path / "diary.csv"


@pytest.mark.parametrize("rows, field", [
    ("2026-01-01,11,,,\n", "diary.0.pain: 11 is outside the allowed range 0-10"),
    ("2026-01-02,5,,,\n2026-01-01,5,,,\n", "diary.1.date"),
    ("2026-01-01,5,,,\n2026-01-01,6,,,\n", "diary.1.date"),
    ("2026-01-01,5,-10,0.5,\n", "diary.0.minutes: -10 is outside the allowed range 0-600"),
    ("2026-01-01,5,30,,\n", "needs an intensity"),
    ("2026-01-01,5,30,,25\n", "diary.0.rpe: 25 is outside the allowed range 6-20"),
])
def test_bad_diaries_name_the_field(tmp_path, rows, field):
    with pytest.raises(InputError, match=field.replace(".", r"\.")):
        load_csv_record(_diary(tmp_path, rows))


def test_bad_labs_and_bundles(tmp_path, synthetic):
    with pytest.raises(InputError, match=r"hba1c.*unit must be %"):
        load_csv_record(_diary(tmp_path, "2026-01-01,5,,,\n", "name,value,unit,date\n"
                               "sex,male,,\nage,60,a,\nhba1c,7,mmol/mol,\n"))
    bundle = bundle_of(synthetic.record)
    unknown = {"resource": {"resourceType": "Observation", "status": "final",
                            "code": {"coding": [{"system": "http://loinc.org",
                                                 "code": "8867-4"}]},
                            "effectiveDateTime": "2026-01-05",
                            "valueQuantity": {"value": 70, "code": "/min"}}}
    _, skipped = read_bundle({**bundle, "entry": [*bundle["entry"], unknown]}, "b.json")
    assert skipped == ["Observation http://loinc.org|8867-4"]
    wrong = json.loads(json.dumps(bundle))
    for entry in wrong["entry"]:
        codes = [c["code"] for c in entry["resource"].get("code", {}).get("coding", [])]
        if "26881-3" in codes:
            entry["resource"]["valueQuantity"]["code"] = "ng/mL"
    with pytest.raises(InputError, match=r"unit must be pg/mL \(UCUM\), got 'ng/mL'"):
        read_bundle(wrong, "b.json")
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                "entry": [{"resource": {"resourceType": "Observation"}}]}))
    with pytest.raises(InputError, match="not a valid FHIR Bundle"):
        load_bundle(path)


def test_a_record_too_short_is_refused(synthetic):
    from exerpain.patient.personalise import personalise

    short = PatientRecord(**{**synthetic.record.model_dump(), "labs": (),
                             "diary": synthetic.record.diary[:10]})
    with pytest.raises(InputError, match="at least 14 are needed"):
        personalise(short, "dpn", "laplace")


def test_convergence_is_judged_from_the_chains():
    rng = np.random.default_rng(0)
    mixed = rng.standard_normal((2, 300, 3))
    assert diagnose(mixed, np.zeros((2, 300), bool))["converged"]
    stuck = mixed.copy()
    stuck[1] += 3.0  # the chains sample different places
    d = diagnose(stuck, np.zeros((2, 300), bool))
    assert not d["converged"] and d["max_rhat"] > MAX_RHAT
    diverging = np.zeros((2, 300), bool)
    diverging[0, :10] = True
    assert not diagnose(mixed, diverging)["converged"]


def test_fast_fit_recovers_a_synthetic_patient(personalised, synthetic):
    """Laplace + importance sampling on a synthetic patient: converged, the placebo response
    and the held-back diary inside their intervals, priming probabilities that sum to 1."""
    summary, fitted = personalised
    d = summary["diagnostics"]
    assert d["converged"] and d["pareto_k"] <= 0.7 and d["optimiser_success"]
    lo, hi = summary["placebo_fraction"]["ci90"]
    assert lo <= synthetic.truth["placebo_fraction"] <= hi
    bands = {row["day"]: row for row in summary["prediction"]["continued"]}
    held = synthetic.truth["held_back"]
    inside = sum(bands[r["day"]]["lower90"] <= r["pain"] <= bands[r["day"]]["upper90"]
                 for r in held)
    assert inside >= 0.75 * len(held)
    for key in ("priming_mechanism_probability", "pathway_priming_mechanism_probability",
                "prior_priming_mechanism_probability"):
        assert sum(summary[key].values()) == pytest.approx(1.0)
    assert summary["priming"]["failed_draws"] == 0
    assert summary["failed_draws"] == {"continued": 0, "changed": 0, "stopped": 0}
    # the diary informs the level of pain: some parameter's posterior is narrower
    assert summary["informed_parameters"]
    # stopping exercise cannot leave less pain than continuing, on average
    last = {name: rows[-1]["median"] for name, rows in summary["prediction"].items()}
    assert last["stopped"] >= last["continued"] - 0.5


def test_prescription_ranks_programmes_under_constraints(personalised):
    _, fitted = personalised
    c = Constraints(modalities=("aerobic",), intensity_min=0.4, intensity_max=0.6,
                    intensity_step=0.2, minutes_options=(20.0, 40.0),
                    sessions_options=(2.0, 4.0), minutes_per_week_max=160, weeks=10,
                    max_weekly_increase=0.2)  # 10 weeks: longer than the fit's frame
    assert len(candidates(c)) == 8
    phases = ramped(fitted, candidates(c)[-1], c)
    weekly = [p.minutes_per_session * p.sessions_per_week for p in phases]
    assert all(b <= a * 1.2 + 1e-9 for a, b in zip(weekly, weekly[1:], strict=False))
    result = prescribe(fitted, c, seed=0)
    recs = result["recommendations"]
    assert [r["expected_benefit"] for r in recs] == sorted(
        [r["expected_benefit"] for r in recs], reverse=True)
    for row in [*recs, result["guideline"]]:
        assert row["p_response50"] <= row["p_response30"]
        lo, hi = row["benefit_ci90"]
        assert lo <= row["expected_benefit"] <= hi
        assert row["relies_on"]["mechanism"] in {*fitted.pm.model.exercise_mechanisms, "none"}
    assert result["guideline"]["protocol"]["minutes_per_session"] == 30.0
    with pytest.raises(InputError, match="no programme meets them"):
        candidates(Constraints(minutes_per_week_max=20))


def test_cli_writes_a_synthetic_record_and_refuses_bad_input(tmp_path):
    runner = CliRunner()
    out = tmp_path / "p"
    result = runner.invoke(app, ["diary", "simulate", "--seed", "11", "--weeks", str(WEEKS),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "bundle.json", "diary.csv", "labs.csv",
                                                      "truth.json"]
    bad = runner.invoke(app, ["diary", "simulate", "--weeks", "2", "--out",
                              str(tmp_path / "q")])
    assert bad.exit_code == 2 and "weeks: must be within 4-52" in bad.output
    assert not (tmp_path / "q").exists()
    constraints = tmp_path / "c.yaml"
    constraints.write_text("minutes_per_week_max: 15\n")
    refused = runner.invoke(app, ["prescribe", str(out / "bundle.json"), "--constraints",
                                  str(constraints)])
    assert refused.exit_code == 2 and "constraints: no programme meets them" in refused.output
    first = dt.date(2026, 1, 5)
    assert load_record(out / "diary.csv").start == first


def test_a_personalise_folder_is_read_back(personalised, tmp_path):
    """``personalise --out`` writes what ``prescribe`` reads: the same record and draws."""
    from exerpain.interfaces.patient_cli import _load_fitted, write_fitted

    summary, fitted = personalised
    write_fitted(tmp_path, fitted, summary)
    back = _load_fitted(tmp_path, "dpn", 0, True, 7 * 6 + 1)
    assert back.data.record == fitted.data.record
    np.testing.assert_array_equal(back.posterior.draws, fitted.posterior.draws)
    with pytest.raises(InputError, match="not a personalise --out folder"):
        (tmp_path / "posterior.npz").unlink()
        _load_fitted(tmp_path, "dpn", 0, True, 43)
