"""Benchmark: time of one simulation (exercise + sedentary pair) on this machine.

Reports compile time apart from run time, and the same runs integrated with scipy's
``solve_ivp`` (LSODA, same tolerances, vector field compiled once) one at a time, with the
ratio. Writes JSON to
``benchmarks/results/single_simulation.json`` (or the path given as the first argument).

    python benchmarks/single_simulation.py [out.json]
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import jax
import numpy as np

from exerpain.model.registry import Model
from exerpain.precision import enable_globally
from exerpain.simulate.reference import solve_reference
from exerpain.simulate.scenario import Scenario
from exerpain.simulate.solve import ATOL, RTOL, solve

enable_globally()  # a script owns its process: float64 throughout

CASES = [("cci", "treadmill-moderate", 42), ("dpn", "aerobic-moderate", 112)]
REPEATS = 20


def bench_case(model: Model, condition: str, protocol: str, days: int) -> dict:
    runs = [Scenario.create(condition=condition, protocol=p, days=days).build(model)
            for p in (protocol, "sedentary")]
    t = time.perf_counter()
    first = solve(runs, model)
    first_call = time.perf_counter() - t
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        solve(runs, model)
        times.append(time.perf_counter() - t)
    run_s = float(np.median(times))
    solve_reference(runs[0], model, rtol=RTOL, atol=ATOL)  # warm-up: compile the field once
    t = time.perf_counter()
    refs = [solve_reference(r, model, rtol=RTOL, atol=ATOL) for r in runs]
    scipy_s = time.perf_counter() - t
    agreement = max(
        float(np.max(np.abs(first.observables[k][i] - ref.observables[k][0])
                     / np.maximum(np.abs(ref.observables[k][0]), 1e-12)))
        for i, ref in enumerate(refs) for k in ref.observables)
    return {
        "condition": condition, "protocol": protocol, "days": days, "runs": len(runs),
        "first_call_s": first_call, "compile_s": first_call - run_s,
        "run_s_median": run_s, "scipy_lsoda_s": scipy_s,
        "speedup_vs_scipy": scipy_s / run_s, "max_rel_difference_vs_scipy": agreement,
    }


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results" / (
        "single_simulation.json")
    model = Model.default()
    results = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "jax_backend": jax.default_backend(), "jax": jax.__version__},
        "cases": [bench_case(model, *case) for case in CASES],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
