"""Calibration of the few default parameters fitted to single published targets.

Run ``python -m exerpain.model.calibration`` to recompute them; the shipped defaults (in the
parameter declarations and ``conditions.py``) are the values it prints, and
``tests/test_calibration.py`` checks that the defaults reproduce every target.
Full gradient-based calibration against the whole evidence base is a separate capability.

Targets (each with its source):
- ``inflammation.m2_il4_gain``: M2 share 68.5% after 8 weeks of wheel running vs 45.8% in
  sedentary mice (Leung 2016, Pain 157:70, PMID 26230740); simulated as a healthy (sham)
  animal on the ``wheel`` preset for 56 days.
- ``exercise.responsiveness_rodent``: an *assumed* target, not a published one: treadmill
  exercise (``treadmill-moderate``) reverses half of the CCI rat's allodynia deficit by day
  42 (a partial reversal; stands in until cohort calibration to the pooled SMD 0.53,
  Matesanz-Garcia 2023).
- ``dopaminergic.exercise_vta_gain``: an *assumed* target: the descending (VTA dopamine ->
  opioid) arm and the neuroimmune (IL-4 -> M2) arm carry equal weight in the CCI rat, i.e.
  ablating exercise's action through either leaves the same benefit (target difference 0),
  since removing either abolishes most of the effect (PMC5140073; Bobinski 2018) and nothing
  published ranks them. These three and the M2 gain depend on each other and are solved
  jointly.
- ``readout.vf_n50``: median 50% threshold 2.4 g in neuropathic (spinal nerve ligation) rats
  (Chaplan 1994, J Neurosci Methods 53:55); simulated as the sedentary CCI rat on day 14.
- ``readout.nrs_n50``: baseline average pain 5.75/10, the mean of 5.9 and 5.6 in two
  duloxetine DPN trials (PMC3047984, Table 1); the sedentary DPN patient on day 0.
- ``exercise.responsiveness_human`` (from ``dpn``): benefit 0.75 NRS points after 16 weeks of
  ``aerobic-moderate`` (derived: symptom SMD 0.2-0.5 in DPN/CIPN exercise trials, midpoint
  0.35, clinical.md section 6, times the SD of pain change 2.14 implied by the pooled DPN
  placebo response -1.54 with d = 0.72, Frisaldi 2024, doi:10.1097/j.pain.0000000000003000).
  ``cipn`` shares the value (no CIPN-specific pain effect size is reliable: pain SMD 0.84,
  CI -0.11 to 1.80, Nakagawa 2024).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq, least_squares

from exerpain.model.readouts import benefit

TARGETS = {
    "inflammation.m2_il4_gain": 0.685,
    "exercise.responsiveness_rodent": 0.5,
    "dopaminergic.exercise_vta_gain": 0.0,
    "readout.vf_n50": 2.4,
    "readout.nrs_n50": 5.75,
    "exercise.responsiveness_human": 0.75,
}


def _gap(simulate, params: dict, key: str):
    """``value -> simulate(params with key = value) - target`` for a root finder."""
    return lambda value: simulate(_with(params, key, value)) - TARGETS[key]


def _with(params: dict, key: str, value: float) -> dict:
    group, name = key.split(".")
    out = {g: dict(v) for g, v in params.items()}
    out[group][name] = float(value)
    return out


def simulate_m2(params: dict) -> float:
    from exerpain.simulate.scenario import Scenario
    from exerpain.simulate.solve import solve

    sc = Scenario.create(condition="sham", protocol="wheel", start_day=0, days=56, params=params)
    tr = solve([sc.build(_model())])
    return float(tr.states[0, -1, tr.state_names.index("inflammation.m2_fraction")])


def drive_at(condition: str, day: int, params: dict) -> float:
    from exerpain.simulate.scenario import Scenario
    from exerpain.simulate.solve import solve

    sc = Scenario.create(condition=condition, protocol="sedentary", days=max(day, 1),
                         params=params)
    tr = solve([sc.build(_model())])
    return float(tr.observables["nociceptive_drive"][0, day])


def cci_benefit_fraction(params: dict) -> float:
    from exerpain.simulate.pair import summarise
    from exerpain.simulate.scenario import Scenario
    from exerpain.simulate.solve import solve

    sc = Scenario.create(condition="cci", protocol="treadmill-moderate", days=42, params=params)
    runs = [sc.build(_model()), sc.model_copy(update={"protocol": "sedentary"}).build(_model())]
    return summarise(sc, solve(runs), _model())["benefit_fraction"]


def arm_balance(params: dict) -> float:
    """Benefit left when exercise cannot act through inflammation minus that left when it
    cannot act through dopamine (CCI rat, treadmill-moderate, day 42; g)."""
    from exerpain.simulate.scenario import Scenario
    from exerpain.simulate.solve import solve

    runs = [Scenario.create(condition="cci", protocol="treadmill-moderate", days=42,
                            ablate=[m], params=params).build(_model())
            for m in ("inflammation", "dopaminergic")]
    threshold = solve(runs).observables["withdrawal_threshold_g"][:, -1]
    return float(threshold[0] - threshold[1])


def dpn_benefit(params: dict) -> float:
    from exerpain.simulate.scenario import Scenario
    from exerpain.simulate.solve import solve

    runs = [Scenario.create(condition="dpn", protocol=p, days=112, params=params).build(_model())
            for p in ("aerobic-moderate", "sedentary")]
    nrs = solve(runs).observables["nrs"][:, -1]
    return float(benefit("nrs", nrs[0], nrs[1]))


def _model():
    from exerpain.model.registry import Model

    return Model.default()


def calibrate(params: dict | None = None) -> dict[str, float]:
    """Fit each calibrated default to its target, in dependency order; returns the values."""
    from exerpain.model.conditions import CONDITIONS
    from exerpain.model.readouts import relief_fraction

    params = params or _model().default_params()
    out: dict[str, float] = {}

    ro = params["readout"]
    n_cci = drive_at("cci", 14, CONDITIONS["cci"].apply(params))
    want = (TARGETS["readout.vf_n50"] - ro["vf_floor_g"]) / (ro["vf_healthy_g"] - ro["vf_floor_g"])
    n50 = brentq(lambda n: float(relief_fraction(n_cci, n, ro["vf_hill"])) - want, 1.01, 50.0,
                 xtol=1e-9)
    params = _with(params, "readout.vf_n50", n50)
    out["readout.vf_n50"] = n50

    joint = ("inflammation.m2_il4_gain", "exercise.responsiveness_rodent",
             "dopaminergic.exercise_vta_gain")
    checks = (simulate_m2, cci_benefit_fraction, arm_balance)
    scales = (0.01, 0.01, 0.1)  # residual units: M2 share, benefit fraction, grams

    def residuals(log_x: np.ndarray) -> np.ndarray:
        p = params
        for key, value in zip(joint, np.exp(log_x), strict=True):
            p = _with(p, key, value)
        return np.array([(f(p) - TARGETS[k]) / sc
                         for f, k, sc in zip(checks, joint, scales, strict=True)])

    start = np.log([params[k.split(".")[0]][k.split(".")[1]] for k in joint])
    fit = least_squares(residuals, start, xtol=1e-12, ftol=1e-12, gtol=1e-12,
                        diff_step=1e-6)
    if not fit.success or np.max(np.abs(fit.fun)) > 1e-3:
        raise RuntimeError(f"joint calibration did not converge: {fit.message}; "
                           f"x={np.exp(fit.x)}, residuals={fit.fun}")
    for key, value in zip(joint, np.exp(fit.x), strict=True):
        params = _with(params, key, value)
        out[key] = float(value)
    ro = params["readout"]

    from exerpain.model.readouts import nrs

    dpn_params = CONDITIONS["dpn"].apply(params)
    n_dpn = drive_at("dpn", 0, dpn_params)
    n50 = brentq(lambda n: float(nrs(n_dpn, {**ro, "nrs_n50": n})) - TARGETS["readout.nrs_n50"],
                 1.01, 100.0, xtol=1e-9)
    params = _with(params, "readout.nrs_n50", n50)
    out["readout.nrs_n50"] = n50

    out["exercise.responsiveness_human"] = brentq(
        _gap(dpn_benefit, params, "exercise.responsiveness_human"), 0.001, 1.0, xtol=1e-8)
    return out


if __name__ == "__main__":
    for key, value in calibrate().items():
        print(f"{key} = {value:.6g}  (target {TARGETS[key]})")
    print("check:", np.round([simulate_m2(_model().default_params())], 4))
