"""Benchmark: virtual-trial throughput (patients per second) against the same patients'
treatment runs integrated one by one with scipy's ``solve_ivp`` (LSODA, same tolerances).

The trial is ``exerpain trial example`` (painful DPN, 12 weeks of aerobic exercise vs usual
care, 1-week run-in, n = 120) run for R = 20 and R = 100 replicate trials: screening,
randomisation, the batched treatment solve, diaries, dropout and the analysis, first call
(with compilation) and a warm call. The scipy baseline integrates the 12-week treatment run
of the first 30 exercise-arm patients of one trial (the engine also solves each patient's
run-in and analyses the trial, so the ratio understates the solver's share). Reports the
largest relative difference of the day-84 NRS between the two on those patients.

    python benchmarks/trial_throughput.py [out.json]
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import sys
import time
from pathlib import Path

import jax
import numpy as np
import yaml

from exerpain.design.spec import EXAMPLE, validated
from exerpain.design.trial import ATOL, RTOL, plan_arms, simulate_trials
from exerpain.model.conditions import get_condition
from exerpain.model.registry import Model
from exerpain.population.sampling import sample_subjects
from exerpain.precision import enable_globally
from exerpain.simulate.engine import device_description
from exerpain.simulate.reference import solve_reference
from exerpain.simulate.solve import solve

enable_globally()
SCIPY_PATIENTS = 30


def engine(design, replicates: int) -> dict:
    t = time.perf_counter()
    simulate_trials(design, replicates, 0)
    first = time.perf_counter() - t
    t = time.perf_counter()
    run = simulate_trials(design, replicates, 0)
    warm = time.perf_counter() - t
    patients = replicates * design.n_randomised
    return {"replicates": replicates, "patients": patients, "first_call_s": first,
            "warm_s": warm, "patients_per_s": patients / warm,
            "screened_per_trial": run.screened / replicates, "failed": run.failed}


def scipy_loop(design, model: Model) -> dict:
    """The exercise arm's 12-week run of the first patients, one by one, with scipy; and the
    engine's batched solve of the same runs for the agreement check."""
    arm = plan_arms(design, model, None)[1].prepared
    condition = get_condition(design.condition)
    params = sample_subjects(model, condition, condition.apply(model.default_params()),
                             jax.random.key(0), np.arange(SCIPY_PATIENTS)).params
    prepared = [dataclasses.replace(arm, inputs=arm.inputs._replace(
        params=jax.tree_util.tree_map(lambda x, i=i: x[i], params)))
        for i in range(SCIPY_PATIENTS)]
    solve_reference(prepared[0], model, rtol=RTOL, atol=ATOL)  # compile once
    t = time.perf_counter()
    ref = np.array([solve_reference(p, model, rtol=RTOL, atol=ATOL).observables["nrs"][0, -1]
                    for p in prepared])
    seconds = time.perf_counter() - t
    batched = solve(prepared, model, rtol=RTOL, atol=ATOL).observables["nrs"][:, -1]
    return {"patients": SCIPY_PATIENTS, "seconds": seconds,
            "patients_per_s": SCIPY_PATIENTS / seconds,
            "max_rel_diff_nrs": float(np.max(np.abs(batched - ref) / np.abs(ref)))}


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = Path(args[0]) if args else Path(__file__).parent / "results" / "trial.json"
    model = Model.default()
    design = validated(yaml.safe_load(EXAMPLE))
    scipy = scipy_loop(design, model)
    rows = [engine(design, r) for r in (20, 100)]
    for row in rows:
        row["speedup_vs_scipy"] = row["patients_per_s"] / scipy["patients_per_s"]
    results = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                           "device": device_description(), "jax": jax.__version__},
               "design": design.name, "n_randomised": design.n_randomised,
               "scipy_lsoda_loop": scipy, "engine": rows}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
