"""Benchmark: the calibration objective's gradient by reverse mode through diffrax against
central finite differences (2 x n_parameters objective evaluations), on this machine.

Measured on three of the fitted targets, one of each kind of experiment (a single rodent
run, the DPN steady state, a virtual cohort of 2 x 128 subjects), over all free parameters:
the full objective compiles one gradient per experiment (about a minute each on 2 cores), so
``exerpain calibrate`` itself reports the full cost. Reports compile times apart from run
times and the ratio. Writes JSON to
``benchmarks/results/calibration_gradient.json`` (or the path given as the first argument).

    python benchmarks/calibration_gradient.py [out.json]
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

from exerpain.calibrate.fit import Objective
from exerpain.calibrate.space import free_space
from exerpain.calibrate.targets import fitted_targets
from exerpain.model.registry import Model
from exerpain.precision import enable_globally

enable_globally()  # a script owns its process: float64 throughout

REPEATS = 5
TARGET_IDS = ("chaplan-neuropathic-threshold", "dpn-baseline-nrs", "matesanz-mechanical-smd")


def _timed(fn, *args):
    t = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    return out, time.perf_counter() - t


def main(out: str) -> dict:
    model = Model.default()
    space = free_space(model, model.parameter_table(declared=True))
    targets = tuple(t for t in fitted_targets() if t.id in TARGET_IDS)
    objective = Objective(space, model.default_params(declared=True), targets)
    theta = jnp.asarray(space.theta_prior)
    _, loss_compile = _timed(objective.loss, theta)
    _, grad_compile = _timed(objective.value_and_grad, theta)
    loss_s = min(_timed(objective.loss, theta + 1e-3 * k)[1] for k in range(REPEATS))
    grad_s = min(_timed(objective.value_and_grad, theta + 1e-3 * k)[1] for k in range(REPEATS))
    fd_s = 2 * len(space.keys) * loss_s
    result = {
        "n_parameters": len(space.keys),
        "targets": list(TARGET_IDS),
        "loss_s": loss_s,
        "value_and_gradient_s": grad_s,
        "finite_difference_gradient_s": fd_s,
        "speedup_vs_finite_differences": fd_s / grad_s,
        "loss_compile_s": loss_compile,
        "gradient_compile_s": grad_compile,
        "device": jax.devices()[0].platform,
        "cpu_count": os.cpu_count(),
        "machine": platform.platform(),
        "jax": jax.__version__,
        "note": "finite differences = 2 x n_parameters x the measured loss time (not run)",
    }
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else
         str(Path(__file__).parent / "results" / "calibration_gradient.json"))
