"""Summaries of replicate virtual trials: power, the estimated difference, SMD, responder
rates, NNT and the CONSORT-style flow; and the output folder.

Power is the share of replicate trials whose primary comparison has ``p < alpha``, with its
Monte Carlo standard error ``sqrt(P (1 - P) / R)``. The difference and SMD are summarised by
their mean over replicates and the 2.5th-97.5th percentiles (the range a single trial's
estimate falls in 95% of the time). NNT is ``1 / (rate_arm - rate_control)`` of the mean
responder rates (null where the arm does not do better).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from exerpain.design.spec import TrialDesign
from exerpain.design.trial import TrialRun
from exerpain.storage import write_json


def _finite(values) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    return a[np.isfinite(a)]


def _distribution(values) -> dict:
    a = _finite(values)
    if not len(a):
        return {"mean": None, "ci95": [None, None]}
    return {"mean": float(a.mean()), "ci95": [float(np.percentile(a, 2.5)),
                                              float(np.percentile(a, 97.5))]}


def _mean(values) -> float | None:
    a = _finite(values)
    return float(a.mean()) if len(a) else None


def _nnt(rate: float | None, control: float | None) -> float | None:
    if rate is None or control is None or rate <= control:
        return None
    return 1.0 / (rate - control)


def power_of(p_values, alpha: float) -> dict:
    """Power (share with ``p < alpha``; a replicate without a p value counts as not
    significant) and its Monte Carlo standard error."""
    p = np.asarray(p_values, dtype=float)
    hits = np.where(np.isfinite(p), p < alpha, False)
    share = float(hits.mean())
    return {"power": share, "power_mc_se": math.sqrt(share * (1 - share) / len(p))}


def summarise(design: TrialDesign, run: TrialRun, replicates: int, seed: int,
              null: bool = False) -> dict:
    """The JSON summary of ``run``."""
    alpha = design.analysis.alpha
    control = design.control.name
    arms = {}
    for arm in design.arms:
        rows = [r.arms[arm.name] for r in run.replicates]
        arms[arm.name] = {k: _mean([row[k] for row in rows]) for k in rows[0]}
        arms[arm.name]["control"] = arm.control
    for arm in design.arms:
        a, c = arms[arm.name], arms[control]
        a["nnt30"] = None if arm.control else _nnt(a["responder30_rate"], c["responder30_rate"])
        a["nnt50"] = None if arm.control else _nnt(a["responder50_rate"], c["responder50_rate"])
    comparisons = {}
    for arm in design.arms:
        if arm.control:
            continue
        rows = [r.comparisons[arm.name] for r in run.replicates]
        comparisons[arm.name] = {
            **power_of([row["p"] for row in rows], alpha),
            "difference": _distribution([row["estimate"] for row in rows]),
            "smd": _distribution([row["smd"] for row in rows]),
            "model_difference": _mean([row["model_difference"] for row in rows]),
            "mean_ci_width": _mean([row["ci_high"] - row["ci_low"] for row in rows]),
        }
    primary = next(a.name for a in design.arms if not a.control)
    consort = {name: {"randomised": a["n_randomised"], "dropped_out": a["dropped_out"],
                      "dropped_adverse_event": a["dropped_adverse_event"],
                      "solver_failed": a["solver_failed"], "completed": a["completed"],
                      "analysed": a["n_analysed"]} for name, a in arms.items()}
    return {
        "design": design.name, "condition": design.condition, "replicates": replicates,
        "seed": seed, "null": null, "n_randomised": design.n_randomised,
        "alpha": alpha, "estimator": design.analysis.estimator,
        "missing_data": design.analysis.missing, "primary_comparison": primary,
        "endpoint_day": design.endpoint_day,
        "control": control,
        "power": comparisons[primary]["power"],
        "power_mc_se": comparisons[primary]["power_mc_se"],
        "difference": comparisons[primary]["difference"],
        "smd": comparisons[primary]["smd"],
        "comparisons": comparisons, "arms": arms,
        "consort": {"screened_per_trial": run.screened / replicates,
                    "randomised_per_trial": design.n_randomised, "arms": consort},
        "failed_patients": run.failed, "failure_reasons": run.failure_reasons,
    }


def replicate_rows(run: TrialRun) -> list[dict]:
    """One row per replicate and comparison (arm vs control): ``replicate``, ``arm`` and the
    comparison's values (estimate, se, p, ci_low, ci_high, smd: NRS points)."""
    return [{"replicate": i, "arm": name, **values}
            for i, r in enumerate(run.replicates) for name, values in r.comparisons.items()]


def replicate_table(design: TrialDesign, run: TrialRun) -> pa.Table:
    """One row per replicate and comparison (:func:`replicate_rows`)."""
    return pa.Table.from_pylist(replicate_rows(run))


def write_trial(folder: Path, design: TrialDesign, run: TrialRun, summary: dict) -> None:
    """``patients.parquet`` and ``diary.parquet`` (the first replicate trial),
    ``replicates.parquet`` and ``summary.json``."""
    pq.write_table(run.patients, folder / "patients.parquet")
    pq.write_table(run.diary, folder / "diary.parquet")
    pq.write_table(replicate_table(design, run), folder / "replicates.parquet")
    write_json(folder / "design.json", design.model_dump(mode="json"))
    write_json(folder / "summary.json", summary)
