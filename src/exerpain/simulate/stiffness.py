"""Batches of runs of similar stiffness, so that a vmapped adaptive solve wastes less.

Every run of a ``vmap``-ed adaptive solve steps until the slowest run of its batch is done
(the batch's while loop runs for all lanes, finished ones masked), so a batch costs its
largest step count times its width. The step count of the explicit solver over a year is set
by stability, not accuracy: the step size settles near the edge of Tsit5's stability region,
about 3.5 / rho, where rho is the spectral radius of the vector field's Jacobian (DPN, one
year, 1,024 subjects on the shipped fit: 106-112 steps at rtol 1e-3 to 1e-6, step sizes
about 2 days alternating as at a stability limit; mean 112, largest 231 steps). The spectral
radius at the start predicts a subject's step count well (correlation 0.97 over those 1,024
subjects), so the engine computes it once per subject at the start of the programme and
solves the subjects of a chunk in batches ordered by it: batches of 128 of those 1,024
subjects sorted by rho cost 0.58 times one batch of all of them, in largest-step count x
width (0.55 for an oracle ordering by the true step counts).

A run's result does not depend on which runs share its batch, so the order changes the time
taken, not the output.
"""

from __future__ import annotations

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from exerpain.model.registry import Model
from exerpain.simulate.solve import newton, padded_slices, relax, take

START_NEWTON_STEPS = 32  # Newton iterations from health before the continuation takes over
# Of those, every run of a batch does the first FIRST_NEWTON_STEPS; the runs not converged
# by then go on in a call of their own. Under vmap a batch iterates as long as its slowest
# run: DPN, 4,096 subjects, iterations to converge: median 10, 90th percentile 14, 99th 20,
# largest 37, 15 not converging; so one batch of 32 iterations did 3x the median's work.
FIRST_NEWTON_STEPS = 12
# Runs per compiled call of the later stages (Newton resumed; the continuation): the
# smallest width, the factor between widths, the largest (None: all in one call). On a CPU a
# call costs its width, so widths follow the count closely (8, 16, 32, ... up to 512 runs).
# On an accelerator a call costs its number of iterations (up to 60 + 64 for the
# continuation, sequential), nearly whatever its width: 8 at a time, a chunk of 100,000 DPN
# subjects took 30.2 s on an H100, and 2.84 s with all of a chunk's in one call
# (2026-11-27), padded to one of a few widths (8, 32, 128, ...: one compile per width).
CALL_WIDTHS = {"cpu": (8, 2, 512), "accelerator": (8, 4, None)}


@lru_cache(maxsize=16)
def _start_programs(model: Model, steady: bool):
    """Compiled: Newton from health for a batch (:data:`FIRST_NEWTON_STEPS`); Newton
    resumed from a guess (the rest of :data:`START_NEWTON_STEPS`); the continuation
    fallback; the Jacobians at the start."""

    def first(inputs, t0):
        healthy = jax.vmap(lambda inp: model.healthy_state(inp.params))(inputs)
        if not steady:
            return healthy, jnp.ones(len(healthy), dtype=bool)
        return jax.vmap(lambda inp, y: newton(model, inp, t0, y,
                                              max_steps=FIRST_NEWTON_STEPS))(inputs, healthy)

    def resume(inputs, t0, guess):
        return jax.vmap(lambda inp, y: newton(
            model, inp, t0, y, max_steps=START_NEWTON_STEPS - FIRST_NEWTON_STEPS))(inputs,
                                                                                   guess)

    def fallback(inputs, t0):
        def one(inp):
            y = relax(model, inp, t0, model.healthy_state(inp.params))
            return newton(model, inp, t0, y)
        return jax.vmap(one)(inputs)

    def jacobians(inputs, y0, t_probe):
        return jax.vmap(lambda inp, y: jax.jacfwd(
            lambda x: model.vector_field(t_probe, x, inp))(y))(inputs, y0)

    return jax.jit(first), jax.jit(resume), jax.jit(fallback), jax.jit(jacobians)


def call_width(n: int, backend: str | None = None) -> int:
    """Runs per call for ``n`` runs of a later stage of the start (:data:`CALL_WIDTHS`)."""
    backend = backend or jax.default_backend()
    smallest, growth, largest = CALL_WIDTHS["cpu" if backend == "cpu" else "accelerator"]
    width = smallest
    while width < n and (largest is None or width < largest):
        width *= growth
    return width


def _stage(program, runs: np.ndarray, inputs, t0: Array, y0: np.ndarray, ok: np.ndarray,
           guess: np.ndarray | None = None) -> None:
    """``program`` (``(inputs, t0[, guess]) -> (root, converged)``) for the ``runs``, in
    calls of :func:`call_width`; their roots and convergence written into ``y0``, ``ok``."""
    for idx, padded in padded_slices(runs, call_width(len(runs))):
        extra = () if guess is None else (guess[padded],)
        root, again = program(take(inputs, padded), t0, *extra)
        y0[idx], ok[idx] = np.asarray(root)[: len(idx)], np.asarray(again)[: len(idx)]


def start_states(model: Model, steady: bool, inputs, t0: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Each run's initial state and its failure code (0 = ok): health, or (``steady``) the
    untreated condition's steady state, as :func:`exerpain.simulate.solve.initial_state`
    finds it (Newton's method from health; where it fails, a pseudo-transient continuation
    and Newton from its end), in stages so that most runs stop iterating when they converge
    (under ``vmap`` every run of a batch iterates as long as its slowest): Newton for
    :data:`FIRST_NEWTON_STEPS` iterations for all; resumed, up to
    :data:`START_NEWTON_STEPS` in all, for the runs not yet converged; the continuation
    only for the runs whose Newton failed (DPN: about 4 in 1,024, which stopped at 64
    iterations where the others need 6-24, and made their whole batch iterate 64 times and
    then relax). Newton's iterate depends on the last one only, so a resumed run takes the
    steps it would have taken (its convergence test restarts: one or two more). A run's
    result does not depend on the runs that share its calls."""
    first, resume, fallback, _ = _start_programs(model, steady)
    t0 = jnp.asarray(t0, dtype=float)
    y0, ok = (np.array(a) for a in first(inputs, t0))
    if steady:
        _stage(resume, np.flatnonzero(~ok), inputs, t0, y0, ok, guess=y0.copy())
    _stage(fallback, np.flatnonzero(~ok), inputs, t0, y0, ok)
    return y0, np.where(ok, 0, 1)


def batches(model: Model, steady: bool, inputs, y0: np.ndarray, t_probe: float, size: int
            ) -> list[np.ndarray]:
    """Indices of the runs in batches of ``size``, ordered by the spectral radius of the
    vector field's Jacobian at ``(t_probe, y0)`` (:func:`batches_by_stiffness`); one batch
    in the given order, with no Jacobian computed, when all the runs fit in one."""
    if len(y0) <= size:
        return [np.arange(len(y0))]
    jacobians = _start_programs(model, steady)[3]
    jac = np.asarray(jacobians(inputs, jnp.asarray(y0), jnp.asarray(t_probe, dtype=float)))
    return batches_by_stiffness(spectral_radius(jac), size)


def spectral_radius(jacobians: np.ndarray) -> np.ndarray:
    """(n,) largest eigenvalue modulus of each (S, S) Jacobian (1/day); ``inf`` for a
    non-finite one, which sorts last."""
    radius = np.full(len(jacobians), np.inf)
    finite = np.all(np.isfinite(jacobians), axis=(1, 2))
    if finite.any():
        radius[finite] = np.abs(np.linalg.eigvals(jacobians[finite])).max(axis=1)
    return radius


def batches_by_stiffness(radius: np.ndarray, size: int) -> list[np.ndarray]:
    """Indices of ``radius`` in batches of ``size`` (the last may be shorter), from the least
    stiff run to the stiffest (a stable sort, so ties keep their order)."""
    order = np.argsort(radius, kind="stable")
    return [order[i:i + size] for i in range(0, len(order), size)]
