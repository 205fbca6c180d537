"""Gradient-based calibration: MAP fit through the ODE solver, multi-start, Laplace.

The objective is the negative log posterior (up to a constant) on the logit scale of the
free parameters (:mod:`exerpain.calibrate.space`)::

    loss(theta) = 1/2 sum_k ((model_k(theta) - target_k) / sd_k)**2
                + 1/2 sum_i ((theta_i - theta_prior_i) / PRIOR_SD)**2

over the fitted targets (:mod:`exerpain.calibrate.targets`); gradients come from reverse-mode
differentiation through diffrax (and through the DPN steady state by the implicit function
theorem), one compiled value-and-gradient function per distinct virtual experiment, summed
on the host (:class:`Objective`). It is minimised by L-BFGS-B (scipy, on the host, so no
optimiser step is compiled) from several starts: the prior centre and draws from the prior
scaled by ``START_SPREAD``. The best start is the maximum a posteriori (MAP) estimate.

Uncertainty is the Laplace approximation at the MAP with the Gauss-Newton Hessian
``J^T J + I / PRIOR_SD**2`` (``J``: Jacobian of the standardised residuals
``(model - target) / sd`` of the fitted targets, reverse mode); posterior standard
deviations are given on the logit scale, in natural units (delta method) and as 95%
intervals mapped back through the logit (inside the range).

A trial point where the model fails to solve (non-finite loss, or a steady state that does
not exist) counts as an infinitely bad point, so the line search backs off from it; a start
keeps its best finite point. A calibration that
diverges (non-finite loss at every start) or does not improve on the prior centre raises
:class:`CalibrationError` and writes nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import minimize

from exerpain.calibrate.experiments import run_experiments
from exerpain.calibrate.space import (
    PRIOR_SD,
    ParameterSpace,
    free_space,
    prior_residuals,
    to_theta,
)
from exerpain.calibrate.targets import Target, fitted_targets, held_out_targets
from exerpain.compile_cache import enable_compile_cache
from exerpain.model.registry import Model
from exerpain.precision import float64

START_SPREAD = 0.5  # starts beyond the first: theta_prior + START_SPREAD * PRIOR_SD * z
GRAD_TOL = 1e-4  # stop when the gradient's largest component is below this (loss units)
LOSS_RTOL = 1e-9  # ... or when the loss changes by less than this, relatively


class CalibrationError(RuntimeError):
    """The calibration diverged or did not improve; nothing was written."""


@dataclass
class Start:
    index: int
    theta0: np.ndarray
    theta: np.ndarray
    loss: float
    steps: int
    converged: bool
    reason: str


@dataclass
class CalibrationResult:
    space: ParameterSpace
    theta_prior: np.ndarray
    theta_map: np.ndarray
    loss_before: float
    loss_after: float
    starts: list[Start]
    fitted: tuple[Target, ...]
    held_out: tuple[Target, ...]
    values_before: np.ndarray  # model values of fitted + held-out targets at the prior centre
    values_after: np.ndarray  # ... and at the MAP
    posterior_cov: np.ndarray  # Laplace covariance on the logit scale
    seconds: float
    meta: dict = field(default_factory=dict)

    @property
    def posterior_sd(self) -> np.ndarray:
        return np.sqrt(np.diag(self.posterior_cov))

    @property
    def sd_ratio(self) -> np.ndarray:
        """Posterior / prior standard deviation on the logit scale (1 = not constrained)."""
        return self.posterior_sd / PRIOR_SD


class Objective:
    """The calibration objective of ``targets`` over ``space`` around ``base`` params: loss,
    its gradient, target values and the residual Jacobian.

    Each distinct virtual experiment is compiled on its own, as its value and its gradient
    (targets that share an experiment, e.g. several meta-analyses of one trial design, share
    one). Compiling all experiments as one program took XLA over 20 minutes for the gradient
    on this 2-core CPU while each experiment alone takes under a minute (measured
    2026-11-25: forward 40 s, gradient > 20 min for the 16 targets together; gradient
    30-55 s per experiment), so the loss and its gradient are assembled on the host from the
    parts: ``sum_k ((v_k - target_k) / sd_k)**2`` and its chain rule. The parts compile in
    parallel threads on first use and run one after another. The compiled functions close over the
    base parameters as constants (XLA folds everything they fix) and are cached per space,
    experiment and base values, so objectives that differ only in target values and SDs
    share them."""

    def __init__(self, space: ParameterSpace, base: dict, targets: tuple[Target, ...]):
        self.space, self.targets = space, targets
        self.value = np.asarray([t.value for t in targets], dtype=float)
        self.sd = np.asarray([t.sd for t in targets], dtype=float)
        experiments = list(dict.fromkeys(t.measure for t in targets))
        self._index = np.asarray([experiments.index(t.measure) for t in targets], dtype=int)
        key, frozen = _SpaceKey(space), _frozen(base)
        self._parts = [_compiled(key, e, frozen) for e in experiments]

    def _run(self, theta, name: str) -> list:
        """``name`` ("measure" or "value_and_grad") of every part at ``theta``. Parts not yet
        compiled are compiled first, in parallel threads (XLA compiles release the GIL); the
        compiled parts then run one after another (running XLA CPU executables from several
        threads at once deadlocked here, both threads idle, on 2026-11-25)."""
        theta = jnp.asarray(theta)
        missing = [fns for fns in self._parts if name not in fns["executable"]]
        if missing:
            @float64  # the x64 context is thread-local: a worker thread enters it
            def build(fns: dict) -> None:
                fns["executable"][name] = fns[name].lower(theta).compile()

            with ThreadPoolExecutor(max_workers=min(len(missing), os.cpu_count() or 1)) as pool:
                list(pool.map(build, missing))
        return [jax.block_until_ready(fns["executable"][name](theta)) for fns in self._parts]

    def measure(self, theta) -> tuple[np.ndarray, int]:
        """Model values of the targets and the worst failure code (0 = every run ok)."""
        got = self._run(theta, "measure")
        values = np.asarray([float(v) for v, _ in got])[self._index]
        return values, max(int(c) for _, c in got)

    def values_and_jacobian(self, theta) -> tuple[np.ndarray, np.ndarray, int]:
        """Model values of the targets, their Jacobian in theta (targets x parameters) and the
        worst failure code."""
        got = self._run(theta, "value_and_grad")
        values = np.asarray([float(v) for (v, _), _ in got])[self._index]
        jac = np.stack([np.asarray(g, dtype=float) for _, g in got])[self._index]
        return values, jac, max(int(c) for (_, c), _ in got)

    def _prior(self, theta) -> np.ndarray:
        return np.asarray(prior_residuals(self.space, jnp.asarray(theta)))

    def loss(self, theta) -> float:
        """Negative log posterior (up to a constant); NaN where a run failed."""
        values, code = self.measure(theta)
        total = 0.5 * (np.sum(((values - self.value) / self.sd) ** 2)
                       + np.sum(self._prior(theta) ** 2))
        return float(total) if code == 0 else float("nan")

    def value_and_grad(self, theta) -> tuple[float, np.ndarray]:
        values, jac, code = self.values_and_jacobian(theta)
        z, prior = (values - self.value) / self.sd, self._prior(theta)
        total = 0.5 * (np.sum(z**2) + np.sum(prior**2))
        grad = (z / self.sd) @ jac + prior / PRIOR_SD
        return (float(total) if code == 0 else float("nan")), grad

    def jacobian(self, theta) -> np.ndarray:
        """Jacobian of the standardised residuals ``(model - target) / sd``."""
        return self.values_and_jacobian(theta)[1] / self.sd[:, None]


@dataclass(frozen=True)
class _SpaceKey:
    """A hashable handle on a parameter space (its keys identify its bounds and prior)."""

    space: ParameterSpace = field(hash=False, compare=False)

    def __hash__(self) -> int:
        return hash(self.space.keys)

    def __eq__(self, other) -> bool:
        return isinstance(other, _SpaceKey) and other.space.keys == self.space.keys


def _frozen(base: dict) -> tuple:
    """``{group: {name: value}}`` as a hashable tuple of floats."""
    return tuple((g, tuple((n, float(v)) for n, v in sorted(values.items())))
                 for g, values in sorted(base.items()))


@lru_cache(maxsize=256)
def _compiled(key: _SpaceKey, experiment, frozen_base: tuple) -> dict:
    """One experiment's value (with its failure code) and its gradient in theta, jitted."""
    space = key.space
    base = {g: dict(values) for g, values in frozen_base}

    def measure(theta):
        values, codes = run_experiments((experiment,), space.params(theta, base))
        return values[0], codes[0]

    return {"measure": jax.jit(measure),
            "value_and_grad": jax.jit(jax.value_and_grad(measure, has_aux=True)),
            "executable": {}}


MAX_RESTARTS = 5
"""L-BFGS-B restarts from the best point after a run that ended on a failed trial point."""


def minimise(objective: Objective, theta0: np.ndarray, max_steps: int,
             progress: Callable[[int, float], None] | None = None) -> Start:
    """L-BFGS-B (scipy) from ``theta0`` for at most ``max_steps`` iterations; stops earlier
    at a small gradient (``GRAD_TOL``) or a stalled loss (``LOSS_RTOL``). Non-finite trial
    points are returned as ``+inf`` so the line search backs off; the best finite point is
    kept. A run that ends after such a point (scipy's line search then often reports
    "convergence" with the loss unchanged) is restarted from the best point with a fresh
    curvature memory, up to :data:`MAX_RESTARTS` times while it still improves the loss."""
    best = {"theta": np.asarray(theta0, dtype=float), "loss": np.inf}
    failed = {"n": 0}

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        try:
            value, grad = objective.value_and_grad(x)
        except RuntimeError:  # an inner solve raised (e.g. no steady state at this point)
            failed["n"] += 1
            return np.inf, np.zeros_like(x)
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            failed["n"] += 1
            return np.inf, np.zeros_like(x)
        if value < best["loss"]:
            best.update(theta=np.array(x), loss=value)
        return value, grad

    steps = {"n": 0}

    def callback(intermediate_result) -> None:
        steps["n"] += 1
        if progress is not None:
            progress(steps["n"], float(intermediate_result.fun))

    restarts = 0
    while True:
        failed["n"], before = 0, best["loss"]
        result = minimize(fun, np.array(best["theta"]), jac=True, method="L-BFGS-B",
                          callback=callback,
                          options={"maxiter": max_steps - steps["n"], "gtol": GRAD_TOL,
                                   "ftol": LOSS_RTOL})
        if (steps["n"] >= max_steps or not failed["n"] or restarts >= MAX_RESTARTS
                or not best["loss"] < before):
            break
        restarts += 1
    if not np.isfinite(best["loss"]):
        return Start(0, np.asarray(theta0), np.asarray(theta0), float("nan"), steps["n"],
                     False, f"non-finite loss at every point tried ({result.message})")
    converged = bool(result.success) and steps["n"] < max_steps and not failed["n"]
    reason = "max_steps" if steps["n"] >= max_steps else str(result.message)
    if restarts:
        reason += f" (after {restarts} restart(s) from failed trial points)"
    return Start(0, np.asarray(theta0), best["theta"], best["loss"], steps["n"], converged,
                 reason)


def _explain_gradient(objective: Objective, theta: np.ndarray) -> None:
    """Raise for a non-finite gradient, naming the targets and parameters it comes from."""
    bad = ~np.isfinite(objective.values_and_jacobian(theta)[1])
    rows = [f"{t.id} in {', '.join(objective.space.names[j] for j in np.where(b)[0][:5])}"
            for t, b in zip(objective.targets, bad, strict=True) if b.any()]
    raise CalibrationError("non-finite gradient at the prior centre: " + "; ".join(rows)
                           + "; nothing was written")


def start_theta(space: ParameterSpace, values: dict[str, float]) -> np.ndarray:
    """``theta`` (logit scale of each range) of ``values`` (``{"group.name": value}``, every
    free parameter of ``space``), e.g. an earlier fit's MAP values to start from. A value on
    a bound is moved 1e-9 of the range inside it (the logit of a bound is infinite)."""
    missing = [n for n in space.names if n not in values]
    if missing:
        raise CalibrationError(f"start_from: no value for {len(missing)} free parameter(s), "
                               f"e.g. {missing[:3]}")
    value = np.array([float(values[n]) for n in space.names])
    outside = [n for n, v, lo, hi in zip(space.names, value, space.low, space.high, strict=True)
               if not lo <= v <= hi]
    if outside:
        raise CalibrationError(f"start_from: values outside their ranges for {outside[:3]}")
    span = space.high - space.low
    return to_theta(np.clip(value, space.low + 1e-9 * span, space.high - 1e-9 * span),
                    space.low, space.high)


@float64
def calibrate(model: Model | None = None, starts: int = 3, seed: int = 0,
              max_steps: int = 200, targets: tuple[Target, ...] | None = None,
              space: ParameterSpace | None = None,
              progress: Callable[[int, int, float], None] | None = None,
              start_from: dict[str, float] | None = None) -> CalibrationResult:
    """Fit the free parameters to the fitted targets; score the held-out ones.

    ``progress(start, step, loss)`` is called after every optimiser step. ``start_from``
    (``{"group.name": value}``, e.g. an earlier fit's MAP values) replaces the prior centre as
    the first start (a warm start); the prior, and so the objective, stay the same."""
    started = time.perf_counter()
    model = model or Model.default()
    if starts < 1:
        raise CalibrationError(f"starts: must be at least 1, got {starts}")
    base = model.default_params(declared=True)
    space = space or free_space(model, model.parameter_table(declared=True))
    fitted = targets if targets is not None else fitted_targets()
    held = held_out_targets() if targets is None else ()
    objective = Objective(space, base, fitted)
    theta_prior = space.theta_prior
    loss_before, grad = objective.value_and_grad(theta_prior)
    if not np.isfinite(loss_before):
        raise CalibrationError("the prior centre does not simulate (non-finite loss or solver "
                               "failure); nothing was written")
    if not np.all(np.isfinite(grad)):
        _explain_gradient(objective, theta_prior)
    first = theta_prior if start_from is None else start_theta(space, start_from)
    rng = np.random.default_rng(seed)
    runs = []
    for i in range(starts):
        theta0 = first if i == 0 else (
            theta_prior + START_SPREAD * PRIOR_SD * rng.standard_normal(len(theta_prior)))
        report = None if progress is None else (
            lambda step, loss, i=i: progress(i, step, loss))
        run = minimise(objective, theta0, max_steps, report)
        run.index = i
        runs.append(run)
    good = [r for r in runs if np.isfinite(r.loss)]
    if not good:
        raise CalibrationError("calibration diverged at every start: "
                               + "; ".join(f"start {r.index}: {r.reason}" for r in runs)
                               + "; the shipped defaults are untouched")
    best = min(good, key=lambda r: r.loss)
    if not best.loss < loss_before - 1e-9:
        raise CalibrationError(f"calibration did not improve the loss ({loss_before:.6g} at "
                               f"the prior centre, {best.loss:.6g} at best); the shipped "
                               "defaults are untouched")
    theta_map = best.theta
    jac = objective.jacobian(theta_map)
    hessian = jac.T @ jac + np.eye(len(theta_map)) / PRIOR_SD**2
    cov = np.linalg.inv(hessian)
    scorer = Objective(space, base, held) if held else None

    def scored(theta: np.ndarray) -> np.ndarray:
        fitted_values = objective.values_and_jacobian(theta)[0]
        return fitted_values if scorer is None else np.concatenate(
            [fitted_values, scorer.measure(theta)[0]])

    before, after = scored(theta_prior), scored(theta_map)
    return CalibrationResult(space, theta_prior, theta_map, loss_before, best.loss, runs,
                             fitted, held, before, after, cov,
                             time.perf_counter() - started,
                             {"n_starts": starts, "seed": seed, "max_steps": max_steps,
                              "warm_start": start_from is not None})


def compile_cache(path: Path | None = None) -> Path:
    """Keep compiled experiments on disk (JAX's persistent compilation cache) so that a second
    calibration, or one after an interruption, does not compile them again: ``path``, else
    ``$EXERPAIN_CACHE_DIR``, else the data directory's ``jax-cache/``
    (:func:`exerpain.compile_cache.enable_compile_cache`). Returns the folder."""
    return enable_compile_cache(path)
