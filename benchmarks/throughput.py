"""Benchmark: cohort engine throughput vs the same model integrated subject by subject with
scipy's ``solve_ivp``.

For N = 100, 1,000 and 10,000 virtual DPN patients on a one-year aerobic programme (exercise
and sedentary run per subject, no attribution), reports subject-years per second with
compile time apart (first call minus a second, warm call), and the same for exact attribution
(256 coalitions): the entry view alone and both views (256 + 254 coalitions), each solved
as one coalition-factored system per subject (the default) and, in the same run, one run
per coalition (``factored=False``, the engine before the factored solve): their ratio is
the factored solve's speedup. The scipy baseline (LSODA, same tolerances, vector field
compiled once) integrates both runs of the first 50 subjects; its cost per subject does not
depend on N, so the ratio at each N is engine throughput / scipy throughput. Agreement of
the benefit between the two on those 50 subjects is reported. These runs put every subject
on the shipped MAP values (as scipy does); one more run at the largest N uses the default 16
posterior draws and reports its speed and the subjects it lost (a default run should lose
none).

    python benchmarks/throughput.py [out.json] [--quick]
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

from exerpain.model.readouts import PRIMARY_READOUT
from exerpain.model.registry import Model
from exerpain.population.sampling import sample_subjects
from exerpain.precision import enable_globally
from exerpain.simulate.engine import (
    ENGINE_ATOL,
    ENGINE_RTOL,
    CohortConfig,
    cohort_inputs,
    device_description,
    run_cohort,
)
from exerpain.simulate.reference import solve_reference
from exerpain.simulate.scenario import Scenario

enable_globally()  # a script owns its process: float64 throughout

CONDITION, PROTOCOL, DAYS = "dpn", "aerobic-moderate", 365
SCIPY_SUBJECTS = 50


WARM_REPEATS = 3
"""Warm runs per configuration: the row reports their median (this machine's run-to-run
spread is 10-30%, so one run can move a same-run ratio by that much)."""


def engine_run(n: int, attribution: bool, posterior_draws: int = 0, warm_only: bool = False,
               pathway: bool = True, repeats: int = WARM_REPEATS, **options) -> dict:
    """One cohort configuration run once to compile, then ``repeats`` times warm
    (subjects/s from the median); ``options`` go to :class:`CohortConfig` (chunk_size,
    memory_gb). ``warm_only``: the shapes are already compiled, no first call."""
    # posterior_draws=0: every subject on the shipped MAP values, as in the scipy loop (with
    # draws the two would simulate different subjects and their benefits would not compare)
    config = CohortConfig(CONDITION, PROTOCOL, n=n, seed=0, days=DAYS, attribution=attribution,
                          posterior_draws=posterior_draws, pathway=pathway, **options)
    first = None if warm_only else run_cohort(config)
    warm_s = []
    for _ in range(repeats):
        t = time.perf_counter()
        warm = run_cohort(config)
        warm_s.append(time.perf_counter() - t)
    run_s = float(np.median(warm_s))
    first_s = run_s if first is None else first.summary["runtime_s"]
    years = n * DAYS / 365.25
    views = ("entry + pathway" if pathway else "entry") if attribution else "none"
    return {"n": n, "attribution": attribution, "views": views,
            "factored": attribution and config.factored, "first_call_s": first_s,
            "compile_s": max(first_s - run_s, 0.0), "run_s": run_s, "warm_runs_s": warm_s,
            "subjects_per_s": n / run_s, "subject_years_per_s": years / run_s,
            "posterior_draws": posterior_draws,
            "chunk_size": warm.summary["chunk_size"], "batch_size": warm.summary["batch_size"],
            "failed": warm.summary["failed"], "retried_stiff": warm.summary["retried_stiff"],
            "benefit": warm.subjects.column("benefit").to_numpy()[:SCIPY_SUBJECTS]}


def scipy_loop(model: Model) -> dict:
    scenario = Scenario.create(condition=CONDITION, protocol=PROTOCOL, days=DAYS)
    prepared = scenario.build(model)
    condition = scenario.resolved_condition()
    subjects = sample_subjects(model, condition, condition.apply(model.default_params()),
                               jax.random.key(0), np.arange(SCIPY_SUBJECTS))
    batched = cohort_inputs(prepared, subjects)
    readout = PRIMARY_READOUT[prepared.kind]
    sedentary_masks = {m: 1.0 for m in model.exercise_mechanisms}

    def subject_run(i: int, sedentary: bool) -> float:
        inputs = jax.tree_util.tree_map(lambda x: x[i], batched)
        if sedentary:
            inputs = inputs._replace(ablation={k: np.float64(v) for k, v in
                                               sedentary_masks.items()})
        one = dataclasses.replace(prepared, inputs=inputs)
        return float(solve_reference(one, model, rtol=ENGINE_RTOL, atol=ENGINE_ATOL)
                     .observables[readout][0, -1])

    subject_run(0, False)  # warm-up: compile the vector field once
    t = time.perf_counter()
    benefit = np.array([subject_run(i, True) - subject_run(i, False)
                        for i in range(SCIPY_SUBJECTS)])
    seconds = time.perf_counter() - t
    return {"subjects": SCIPY_SUBJECTS, "seconds": seconds,
            "subjects_per_s": SCIPY_SUBJECTS / seconds,
            "subject_years_per_s": SCIPY_SUBJECTS * DAYS / 365.25 / seconds,
            "benefit": benefit}


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quick = "--quick" in sys.argv
    out = Path(args[0]) if args else Path(__file__).parent / "results" / "throughput.json"
    model = Model.default()
    sizes = (100, 1000) if quick else (100, 1000, 10_000)
    scipy = scipy_loop(model)
    rows = [engine_run(n, attribution=False) for n in sizes]
    attributed = {}
    for pathway, n in ((False, 32 if quick else 200), (True, 16 if quick else 128)):
        for factored in (True, False):
            rows.append(engine_run(n, attribution=True, pathway=pathway, factored=factored))
            attributed[(pathway, factored)] = rows[-1]["subjects_per_s"]
    # the default cohort (16 posterior draws): lost subjects and speed, no scipy comparison
    default = engine_run(sizes[-1], attribution=False, posterior_draws=16)
    for row in rows:
        row["speedup_vs_scipy"] = row["subjects_per_s"] / scipy["subjects_per_s"]
        benefit = row.pop("benefit")
        k = min(len(benefit), SCIPY_SUBJECTS)
        row["max_rel_diff_benefit_vs_scipy"] = float(np.max(
            np.abs(benefit[:k] - scipy["benefit"][:k]) / np.abs(scipy["benefit"][:k])))
    scipy.pop("benefit")
    default.pop("benefit")
    default["speedup_vs_scipy"] = default["subjects_per_s"] / scipy["subjects_per_s"]
    results = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "device": device_description(), "jax": jax.__version__},
        "scenario": {"condition": CONDITION, "protocol": PROTOCOL, "days": DAYS,
                     "rtol": ENGINE_RTOL, "atol": ENGINE_ATOL},
        "scipy_lsoda_loop": scipy,
        "engine": rows,
        "engine_default_posterior_draws": default,
        "factored_attribution_speedup": {
            ("both views" if pathway else "entry view"):
                attributed[(pathway, True)] / attributed[(pathway, False)]
            for pathway in (False, True)},
        "note": "attribution rows solve 256 coalitions per subject (exact Shapley; with the "
                "pathway view 254 more, of twice the states); their speedup compares "
                "subjects/s with attribution to scipy subjects/s with two runs (exercise, "
                "sedentary) per subject",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
