"""Calibrating the placebo response and the drugs to their painful-DPN trials.

Run ``python -m exerpain.design.drug_calibration [--ship]``; the fit is shipped in
``exerpain/model/data/drugs.json`` (read by :mod:`exerpain.model.pharmacology` and
:mod:`exerpain.design.reporting`).

Method. A pool of eligible virtual DPN patients (run-in diary mean >= 4, as the trials
required) is drawn once. Every arm of a target trial is simulated for the *same* patients
with the same diary noise and placebo draws (common random numbers), without dropout, so the
difference between two arms is the expected difference of a large trial, with little Monte
Carlo error.

1. Placebo and diary noise: ``placebo_fraction_mean``, ``placebo_fraction_sd`` and
   ``diary_slow_sd`` by weighted least squares to the pooled placebo-arm change and >= 50%
   responder rate of painful-DPN trials (Frisaldi 2023) and the placebo arms' SD of change
   (the pregabalin trials' LS-mean SEs x sqrt(n)). The pool is screened without selection
   and the inclusion rule (run-in mean >= 4) is applied to each candidate's diaries, so
   regression to the mean follows the fitted noise. The placebo arm's true NRS does not
   move in the model (an established neuropathy at steady state), so this needs no solve.
2. Drugs: each drug's expected difference from placebo is tabulated on a grid of its action
   (fraction of complete action on its main target) and endpoint week, by solving the pool;
   ``emax`` (and ``ed50`` where its trials tested several doses) are fitted by weighted least
   squares to its trials' differences from placebo, each target's variance its sampling
   variance plus the between-trial variance of the drug's arms (REML, :func:`exerpain.
   evidence.meta.pool`), jointly with ``ed50`` under a log-normal prior (SD 1 on the log
   scale) around its declared value. Where the trials tested one dose, that dose's action is
   what the data fix; the split between ``emax`` and ``ed50`` (the shape of the
   dose-response) then rests on the prior, and the record says so (``doses_fitted``).

Targets are rows of ``evidence/data/trials.csv``. ``fitted=False`` targets are held out: no
fit sees them; both scores are reported. Alpha-lipoic acid's trials report the Total Symptom
Score (0-14.64), not 0-10 pain: its targets are the difference relative to baseline, assumed
equal on both scales (an assumption, stated in the record). Tramadol's DPN trial reported a
0-4 scale without arm means in the sources found, so tramadol keeps its prior (not
calibrated).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass
from importlib import resources

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import minimize

from exerpain.design.analysis import window_means
from exerpain.design.reporting import DEFAULTS, Reporting, report, unit_fluctuation
from exerpain.design.spec import validated
from exerpain.design.trial import (
    _in_lanes,
    _jumps,
    _treatment_solver,
    plan_arms,
    screen,
)
from exerpain.evidence.load import load_trials
from exerpain.evidence.meta import pool
from exerpain.model.calibrated import posterior_draws
from exerpain.model.pharmacology import FILE, declared_drug, drugs, get_drug, no_dosing
from exerpain.model.registry import Model
from exerpain.precision import float64
from exerpain.simulate.engine import broadcast

POOL = 900
POSTERIOR_DRAWS = 64  # calibration-posterior draws the pool's patients take in turn
SEED = 20261126
GRID = np.array([0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.97])
DEFAULT_WEEKS = 12  # endpoint week where a trial's row gives none (assumed)
ED50_PRIOR_LOG_SD = 1.0


@dataclass(frozen=True)
class CalTarget:
    """One published number the calibration is scored on.

    kind: ``placebo_change`` (points), ``placebo_r30``/``placebo_r50`` (rates),
        ``difference`` (drug minus placebo, points), ``relative_difference`` (difference /
        baseline), ``r50`` (drug arm's >= 50% responder rate).
    """

    id: str
    kind: str
    value: float
    se: float
    weeks: int
    trial_id: str
    row: int
    fitted: bool
    drug: str | None = None
    dose: float | None = None
    note: str = ""


def _row(trials, trial_id: str, dose: float | None = None):
    rows = trials[trials.trial_id == trial_id]
    if dose is not None:
        rows = rows[rows.dose_mg_day == f"{dose:g}"]
    else:
        rows = rows[rows.kind.isin(["placebo", "pooled_placebo"])]
    if len(rows) != 1:
        raise KeyError(f"trials.csv: {trial_id} dose {dose}: {len(rows)} rows")
    return rows.iloc[0]


def _weeks(row) -> tuple[int, str]:
    w = row.weeks
    if isinstance(w, str) and w.strip():
        return int(w.split("-")[-1]), ""
    return DEFAULT_WEEKS, f"weeks not given; {DEFAULT_WEEKS} assumed"


def targets() -> list[CalTarget]:
    """Every calibration target, fitted and held out."""
    t = load_trials()
    out: list[CalTarget] = []

    def diff(trial_id, drug, dose, fitted, note="", se=None):
        r = _row(t, trial_id, dose)
        weeks, wnote = _weeks(r)
        if se is not None:
            pass
        elif np.isfinite(r.diff_ci_low) and np.isfinite(r.diff_ci_high):
            se = (r.diff_ci_high - r.diff_ci_low) / 3.92
        else:  # SE of a difference of two arms of ~80 with SD of change 2.2 (assumed)
            se, note = 2.2 * math.sqrt(2 / 80), (note + "; SE assumed (no CI)").lstrip("; ")
        value = r.diff_vs_control_mean
        if not np.isfinite(value):  # computed from the arms' changes
            value = r.change_mean - _row(t, trial_id).change_mean
            note = (note + "; difference computed from the arms' mean changes").lstrip("; ")
        out.append(CalTarget(f"{trial_id}-{drug}-{dose:g}", "difference", float(value),
                             float(se), weeks, trial_id, int(r.row), fitted, drug, dose,
                             "; ".join(x for x in (note, wnote) if x)))

    # placebo (fitted: Frisaldi 2023, painful DPN; the rest held out)
    arms = t[(t.kind == "placebo") & t.change_se.notna() & t.n_analysed.notna()]
    sds = arms.change_se * np.sqrt(arms.n_analysed)
    out.append(CalTarget("pregabalin-trials-placebo-change-sd", "placebo_change_sd",
                         float(sds.mean()), 0.1, 8, "pfz1008_014_richter2005",
                         int(arms.row.iloc[0]), True,
                         note=f"mean of SE x sqrt(n) over the {len(arms)} placebo arms with "
                              f"both (rows {', '.join(str(r) for r in arms.row)}; LS-mean "
                              "SEs, so a residual SD after baseline adjustment; computed); "
                              "SE 0.1 assumed; 8 weeks assumed"))
    fr = _row(t, "frisaldi2023_pdn_placebo_meta")
    out.append(CalTarget("frisaldi2023-placebo-change", "placebo_change", fr.change_mean, 0.15,
                         12, fr.trial_id, int(fr.row), True,
                         note="pooled; SE 0.15 assumed; 12 weeks assumed"))
    out.append(CalTarget("frisaldi2023-placebo-r50", "placebo_r50", fr.responder50_rate, 0.03,
                         12, fr.trial_id, int(fr.row), True,
                         note="pooled; SE 0.03 assumed; 12 weeks assumed"))
    for trial_id, kinds in (("cepeda2012_placebo_meta", ("change", "r50")),
                            ("cochrane_duloxetine_lunn2014", ("change", "r30", "r50")),
                            ("duarte2022_cnp_placebo_meta", ("r30", "r50"))):
        rows = t[(t.trial_id == trial_id) & t.kind.isin(["placebo", "pooled_placebo"])]
        r = rows.iloc[0]
        for k in kinds:
            value = {"change": r.change_mean, "r30": r.responder30_rate,
                     "r50": r.responder50_rate}[k]
            out.append(CalTarget(f"{trial_id}-placebo-{k}", f"placebo_{k}", float(value),
                                 0.15 if k == "change" else 0.03, 12, trial_id, int(r.row),
                                 False, note="held out; 12 weeks assumed"))
    # pregabalin: the per-trial table (Freeman 2015 Table 2) fitted, Satoh 2011 held out
    for trial_id, doses in (("pfz1008_029_lesser2004", (75, 300, 600)),
                            ("pfz1008_014_richter2005", (150, 600)),
                            ("pfz1008_040", (600,)), ("pfz1008_131_rosenstock2004", (300,)),
                            ("pfz1008_149", (150, 300, 600)),
                            ("pfz1008_155_dpn_subgroup", (600,)),
                            ("pfza0081060_arezzo2008", (600,)), ("pfza0081071", (300, 600))):
        for dose in doses:
            diff(trial_id, "pregabalin", dose, True)
    for dose in (300, 600):
        r = _row(t, "satoh2011", dose)
        out.append(CalTarget(f"satoh2011-pregabalin-{dose}", "difference",
                             float(r.diff_vs_control_mean), 0.25, 14, "satoh2011", int(r.row),
                             False, "pregabalin", float(dose),
                             "held out; SE 0.25 assumed (no CI)"))
    for trial_id, dose in (("richter2005", 600), ("arezzo2008", 600), ("satoh2011", 300),
                           ("satoh2011", 600)):
        r = _row(t, trial_id, dose)
        weeks, _ = _weeks(r)
        out.append(CalTarget(f"{trial_id}-pregabalin-{dose}-r50", "r50",
                             float(r.responder50_rate), 0.05, weeks, trial_id, int(r.row),
                             False, "pregabalin", float(dose), "held out; SE 0.05 assumed"))
    # duloxetine: Cochrane pooled 60 mg fitted; Gao 2015 and Yasuda 2011 held out
    diff("cochrane_duloxetine_lunn2014", "duloxetine", 60, True, "pooled 8-12 weeks")
    diff("gao2015_duloxetine_china", "duloxetine", 60, False, "held out")
    diff("yasuda2011_duloxetine_japan", "duloxetine", 60, False, "held out")
    r = _row(t, "cochrane_duloxetine_lunn2014", 60)
    out.append(CalTarget("cochrane_duloxetine-60-r50", "r50", float(r.responder50_rate), 0.03,
                         12, r.trial_id, int(r.row), False, "duloxetine", 60.0,
                         "held out; SE 0.03 assumed"))
    # gabapentin: Backonja 1998 fitted; Sandercock 2012 (gastroretentive 3000 mg) held out
    diff("backonja1998", "gabapentin", 3600, True)
    diff("sandercock2012_gabapentin_gr", "gabapentin", 3000, False, "held out")
    # oxycodone: Gimbel 2003 fitted
    diff("gimbel2003_oxycodone", "oxycodone", 37, True,
         "SE from the endpoint LS means' SEs (0.3 each)", se=math.sqrt(0.3 ** 2 + 0.3 ** 2))
    # alpha-lipoic acid: SYDNEY 2 (oral) fitted on the relative scale; ALADIN (i.v.) held out
    for trial_id, doses, fitted in (("sydney2_2006", (600, 1200, 1800), True),
                                    ("aladin1995", (600, 1200), False)):
        for dose in doses:
            r = _row(t, trial_id, dose)
            weeks, _ = _weeks(r)
            rel = r.diff_vs_control_mean / r.baseline_pain_mean
            out.append(CalTarget(f"{trial_id}-ala-{dose}", "relative_difference", float(rel),
                                 0.07, weeks, trial_id, int(r.row), fitted,
                                 "alpha-lipoic-acid", float(dose),
                                 "Total Symptom Score difference / the arm's baseline TSS, "
                                 "taken as the relative difference in 0-10 pain (assumed); "
                                 "SE 0.07 assumed" + ("" if fitted else "; held out; "
                                                      "intravenous")))
    return out


@dataclass
class PatientPool:
    """Unselected DPN patients, their untreated run-in and standard noise draws (so that the
    noise SDs can be fitted, and who is eligible follows them)."""

    pool: object
    z_placebo: np.ndarray
    slow: np.ndarray  # standard AR(1) paths, run-in and trial days
    daily: np.ndarray  # standard daily errors
    run_in: int
    days: int


def patient_pool(n: int = POOL, seed: int = SEED, weeks: int = 14) -> PatientPool:
    """``n`` DPN patients of a ``weeks``-week trial, screened without selection (the
    inclusion rule is applied in :func:`arm_outcomes`)."""
    design = validated({"name": "calibration", "condition": "dpn", "n_randomised": 2,
                        "weeks": {"run_in": 1, "treatment": weeks},
                        "inclusion": {"baseline_pain_min": 0},
                        "arms": [{"name": "placebo", "control": True},
                                 {"name": "drug"}],
                        "diary": {"placebo": False, "noise": False}})
    model = Model.default()
    readout = model.default_params()["readout"]
    reporting = Reporting.from_values(readout["nrs_noise_sd"], None, noise=False,
                                      placebo=False)
    draws = posterior_draws(model.parameter_table(declared=True), POSTERIOR_DRAWS, seed)
    rng = np.random.default_rng(seed)
    pool_ = screen(design, model, reporting, n, 0, jax.random.key(seed), draws, rng)
    run_in, days = 7, 7 * weeks
    slow, daily = unit_fluctuation(rng, n, run_in + days, DEFAULTS["diary_slow_days"])
    return PatientPool(pool_, rng.standard_normal(n), slow, daily, run_in, days)


def _reporting(values: dict) -> Reporting:
    readout = Model.default().default_params()["readout"]
    return Reporting.from_values(readout["nrs_noise_sd"], values)


INCLUDED_FROM = 4.0  # run-in diary mean for inclusion, as in the trials


def arm_outcomes(pp: PatientPool, true: np.ndarray, values: dict, weeks: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Over the included patients (run-in mean >= 4): change from baseline at ``weeks``,
    relative reduction and baseline, given every pool patient's true NRS over the trial
    days ``true`` (n, days) and the reporting ``values``."""
    r = _reporting(values)
    p = pp.pool
    placebo = np.clip(r.placebo_mean + r.placebo_sd * pp.z_placebo, -0.5, 0.95)
    timeline = np.concatenate([p.run_in_true, true], axis=1)
    days = np.arange(1 - pp.run_in, pp.days + 1)
    noise = r.slow_sd * pp.slow + r.daily_sd * pp.daily
    diary = report(timeline, days, placebo, np.ones(len(placebo)), noise, r)
    n = len(placebo)
    baseline = diary[:, pp.run_in - 7: pp.run_in].mean(axis=1)
    included = baseline >= INCLUDED_FROM
    end = window_means(diary, np.full(n, 7 * weeks), 7, 1 - pp.run_in)
    change = (end - baseline)[included]
    return change, -change / baseline[included], baseline[included]


def untreated(pp: PatientPool) -> np.ndarray:
    """True NRS of the untreated pool over the trial days (constant at steady state)."""
    return np.repeat(pp.pool.run_in_true[:, -1:], pp.days, axis=1)


def _residual_sd(change: np.ndarray, baseline: np.ndarray) -> float:
    """SD of change after regressing on baseline (what an LS mean's SE x sqrt(n) gives)."""
    X = np.column_stack([np.ones(len(baseline)), baseline])
    beta, *_ = np.linalg.lstsq(X, change, rcond=None)
    resid = change - X @ beta
    return float(np.sqrt(resid @ resid / (len(change) - 2)))


PLACEBO_PARAMETERS = ("placebo_fraction_mean", "placebo_fraction_sd", "diary_slow_sd")
PLACEBO_BOUNDS = ((-0.2, 0.6), (0.0, 1.0), (0.0, 3.0))


def fit_placebo(pp: PatientPool, cal: list[CalTarget]) -> dict:
    """Placebo mean and spread and the slow diary fluctuation, by weighted least squares to
    the fitted placebo targets (change, >= 50% responders, SD of change)."""
    fitted = [c for c in cal if c.kind.startswith("placebo_") and c.fitted]
    base = untreated(pp)

    def predict(values: dict, c: CalTarget) -> float:
        change, reduction, baseline = arm_outcomes(pp, base, values, c.weeks)
        if c.kind == "placebo_change_sd":
            return _residual_sd(change, baseline)
        return {"placebo_change": change.mean(), "placebo_r30": (reduction >= 0.3).mean(),
                "placebo_r50": (reduction >= 0.5).mean()}[c.kind]

    def as_values(x) -> dict:
        return {name: float(np.clip(v, lo, hi)) for name, v, (lo, hi)
                in zip(PLACEBO_PARAMETERS, x, PLACEBO_BOUNDS, strict=True)}

    def loss(x):
        values = as_values(x)
        return sum(((predict(values, c) - c.value) / c.se) ** 2 for c in fitted)

    best = min((minimize(loss, x0, method="Nelder-Mead",
                         options={"xatol": 1e-4, "fatol": 1e-6, "maxiter": 600})
                for x0 in ([0.15, 0.2, 0.8], [0.25, 0.4, 0.5], [0.1, 0.6, 1.2])),
               key=lambda r: r.fun)
    values = as_values(best.x)
    return {"values": values, "loss": float(best.fun),
            "predict": lambda c: predict(values, c)}


@float64
def drug_table(pp: PatientPool, drug: str) -> np.ndarray:
    """(len(GRID), n, days) true NRS of the pool under ``drug`` at each action in GRID."""
    model = Model.default()
    d = get_drug(drug)
    design = validated({"name": "cal", "condition": "dpn", "n_randomised": 2,
                        "weeks": {"run_in": 1, "treatment": pp.days // 7},
                        "arms": [{"name": "placebo", "control": True}, {"name": "drug"}]})
    plan = plan_arms(design, model, None)[0]
    end = float(pp.days)
    n = len(pp.pool.baseline)
    out = []
    for a in GRID:
        dosing = no_dosing(model.target_names)._replace(
            fraction={t: jnp.asarray(a * d.targets.get(t, 0.0)) for t in model.target_names},
            titration={t: jnp.asarray(max(1.0, d.titration_days)) for t in model.target_names},
            start=jnp.asarray(0.0), stop=jnp.asarray(end + 1.0))
        inputs = broadcast(plan.prepared.inputs._replace(dosing=dosing),
                            n)._replace(params=pp.pool.params)
        values, code = _in_lanes(_treatment_solver(model, pp.days), n, inputs,
                                 jnp.asarray(pp.pool.y0), _jumps(inputs))
        if np.any(code != 0):
            raise RuntimeError(f"{drug} at action {a}: {int((code != 0).sum())} solves failed")
        out.append(values)
    return np.stack(out)


def _between_trial_variance(cal: list[CalTarget], drug: str) -> float:
    """REML between-trial variance of the drug's fitted differences at its most-tested dose
    (0 where fewer than three)."""
    rows = [c for c in cal if c.drug == drug and c.fitted and c.kind == "difference"]
    if not rows:
        return 0.0
    doses = [c.dose for c in rows]
    common = max(set(doses), key=doses.count)
    same = [c for c in rows if c.dose == common]
    if len(same) < 3:
        return 0.0
    return float(pool([c.value for c in same], [c.se ** 2 for c in same]).tau2)


def _ed50(drug, log_shift: float) -> float:
    """``ed50`` at ``log_shift`` from its declared value, kept within its declared range."""
    return float(np.clip(drug.ed50.value * math.exp(log_shift), drug.ed50.low, drug.ed50.high))


def fit_drug(pp: PatientPool, drug: str, table: np.ndarray, cal: list[CalTarget],
             placebo: dict) -> dict:
    d = declared_drug(drug)  # priors centred on the declared values, not a previous fit
    mine = [c for c in cal if c.drug == drug]
    fitted = [c for c in mine if c.fitted]
    tau2 = _between_trial_variance(cal, drug)
    n_doses = len({c.dose for c in fitted})
    fit_ed50 = True
    cache: dict[int, tuple] = {}

    def outcomes(weeks: int):
        if weeks not in cache:
            arms = [arm_outcomes(pp, table[k], placebo, weeks) for k in range(len(GRID))]
            change = np.array([a[0].mean() for a in arms])
            r50 = np.array([(a[1] >= 0.5).mean() for a in arms])
            baseline = arms[0][2].mean()
            cache[weeks] = (change - change[0], (change - change[0]) / baseline, r50)
        return cache[weeks]

    def predict(c: CalTarget, emax: float, ed50: float) -> float:
        a = d.action(c.dose, emax, ed50)
        diff, rel, r50 = outcomes(c.weeks)
        series = {"difference": diff, "relative_difference": rel, "r50": r50}[c.kind]
        return float(np.interp(a, GRID, series))

    def loss(x):
        emax = 1.0 / (1.0 + math.exp(-x[0]))
        ed50 = _ed50(d, x[1]) if fit_ed50 else d.ed50.value
        value = sum((predict(c, emax, ed50) - c.value) ** 2 / (c.se ** 2 + tau2) for c in fitted)
        return value + (x[1] / ED50_PRIOR_LOG_SD) ** 2 if fit_ed50 else value

    starts = [[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]]
    best = min((minimize(loss, x0, method="Nelder-Mead", options={"xatol": 1e-5,
                                                                 "fatol": 1e-8})
                for x0 in starts), key=lambda r: r.fun)
    emax = 1.0 / (1.0 + math.exp(-best.x[0]))
    ed50 = _ed50(d, best.x[1]) if fit_ed50 else d.ed50.value
    scored = [{**asdict(c), "model": predict(c, emax, ed50),
               "z": (predict(c, emax, ed50) - c.value) / math.sqrt(c.se ** 2 + tau2)}
              for c in mine]
    record = {"emax": emax, "fitted_to": sorted({c.trial_id for c in fitted}),
              "doses_fitted": n_doses,
              "between_trial_variance": tau2, "loss": float(best.fun), "targets": scored}
    if fit_ed50:
        record["ed50"] = ed50
    return record


def _score(rows: list[dict]) -> dict:
    z = np.array([r["z"] for r in rows])
    return {"n": len(rows), "rmse_z": float(np.sqrt(np.mean(z ** 2))) if len(z) else None,
            "within_2se": int(np.sum(np.abs(z) <= 2))}


def calibrate(n: int = POOL, seed: int = SEED, progress=print) -> dict:
    """Fit the placebo response, then every drug with calibration targets."""
    started = time.perf_counter()
    cal = targets()
    pp = patient_pool(n, seed)
    placebo = fit_placebo(pp, cal)
    progress(f"placebo: {placebo['values']} (loss {placebo['loss']:.3f})")
    placebo_rows = []
    for c in cal:
        if c.kind.startswith("placebo_"):
            value = placebo["predict"](c)
            placebo_rows.append({**asdict(c), "model": value, "z": (value - c.value) / c.se})
    fitted_to = sorted({c.trial_id for c in cal if c.kind.startswith("placebo_") and c.fitted})
    record = {"placebo": {**placebo["values"], "fitted_to": fitted_to,
                          "loss": placebo["loss"], "targets": placebo_rows},
              "drugs": {}, "pool": n, "seed": seed}
    for drug in sorted({c.drug for c in cal if c.drug}):
        table = drug_table(pp, drug)
        record["drugs"][drug] = fit_drug(pp, drug, table, cal, placebo["values"])
        progress(f"{drug}: emax {record['drugs'][drug]['emax']:.3f}"
                 + (f", ed50 {record['drugs'][drug]['ed50']:.0f}"
                    if "ed50" in record["drugs"][drug] else ""))
    rows = placebo_rows + [r for d in record["drugs"].values() for r in d["targets"]]
    record["scores"] = {"in_sample": _score([r for r in rows if r["fitted"]]),
                        "held_out": _score([r for r in rows if not r["fitted"]])}
    record["not_calibrated"] = {d: "no 0-10 pain data from its placebo-controlled DPN trial "
                                   "in the sources found" for d in drugs()
                                if d not in record["drugs"]}
    record["seconds"] = time.perf_counter() - started
    return record


def main() -> None:  # pragma: no cover (a calibration run, minutes)
    from exerpain.precision import enable_globally

    enable_globally()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ship", action="store_true", help="write model/data/drugs.json")
    parser.add_argument("--n", type=int, default=POOL)
    args = parser.parse_args()
    record = calibrate(args.n)
    print(json.dumps(record["scores"], indent=1))
    if args.ship:
        path = resources.files("exerpain.model") / "data" / FILE
        path.write_text(json.dumps(record, indent=1, default=float) + "\n")
        print(f"written {path}")


if __name__ == "__main__":
    main()
