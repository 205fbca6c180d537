"""The one solve entry point: model inputs -> states at chosen days.

JAX under ``jit``, diffrax (Tsit5, adaptive PID step control told where the inputs jump) as
the integrator, ``vmap`` over runs, float64. :func:`integrate_run` is the single place that
calls the integrator; :func:`solve` (prepared scenarios -> daily trajectories) and the cohort
engine (:mod:`exerpain.simulate.engine`) both go through it. Compiled functions are cached
per shape so repeated solves do not recompile. Numerical failure (max steps, solver error,
non-finite values) is detected per run and reported, never hidden; other runs are unaffected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import diffrax
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import optimistix as optx
from jax import Array

from exerpain.errors import InputError
from exerpain.model.function import functional_readouts
from exerpain.model.readouts import READOUTS
from exerpain.model.registry import Model, ModelInputs
from exerpain.precision import float64
from exerpain.simulate.fused import rms_norm, tsit5_to_end
from exerpain.simulate.scenario import Prepared

RTOL = 1e-8
ATOL = 1e-10
MAX_STEPS = 4096
# day; a run whose step size collapses below this (e.g. NaN) fails at once. Below one ulp of
# the shifted clock (1.8e-12 day at tau 8192-16384): a step that ends a sliver before an
# input jump and the step clipped to that jump can be far shorter than any "collapse" limit
# above the clock's resolution, and a limit of 1e-7 or 1e-10 day failed runs with many jumps
# (a patient's weekly training phases: 9 of 4,096 coalition runs of 16 draws; none at 1e-12).
DTMIN = 1e-12
CLOCK_SHIFT = 8192.0  # day; the integrator's clock is t + CLOCK_SHIFT (see integrate_run)
FAILURE_REASONS = {0: "ok", 1: "solver failure (max steps or step size below minimum)",
                   2: "non-finite values (the vector field returned NaN or inf)"}
# The integrators: explicit Tsit5 for every run; a run it fails is solved again with the
# L-stable implicit Kvaerno5 (ESDIRK 5(4), Kvaerno 2004, doi:10.1023/B:BITN.0000046811.70614.38)
# under the same PID step control before it is reported as failed (:func:`retry_stiff`).
METHODS = {"tsit5": diffrax.Tsit5, "kvaerno5": diffrax.Kvaerno5}
EXPLICIT, STIFF = "tsit5", "kvaerno5"
# The same Tsit5 pair and step control as EXPLICIT with a fused step, for solves that save
# the last time only and are not differentiated (the cohort engine): exerpain.simulate.fused.
FUSED = "tsit5-fused"
DT0 = 0.25  # day; the first step tried


class VectorField(Protocol):
    """Anything with a vector field: a :class:`Model`, or the pathway view's augmented system
    (:class:`exerpain.simulate.pathway.PathwaySystem`)."""

    def vector_field(self, t: Array, y: Array, inputs: Any) -> Array: ...


def integrate_run(model: VectorField, inputs: ModelInputs | Any, y0: Array, t0: Array,
                  jump_ts: Array, save_ts: Array, rtol: float, atol: float,
                  method: str = EXPLICIT, max_steps: int = MAX_STEPS,
                  norm: Callable[[Array], Array] = rms_norm) -> tuple[Array, Array]:
    """Integrate one run from ``(t0, y0)`` to ``save_ts[-1]``; traceable (vmap/jit).
    ``method``: a key of :data:`METHODS` (Tsit5, or the stiff Kvaerno5 of the retry), or
    :data:`FUSED` (Tsit5 with a fused step; one save time, no reverse-mode gradient).
    ``norm``: the step controller's norm of the scaled error (RMS; the coalition-factored
    system's is the worst coalition's, :mod:`exerpain.simulate.factored`).

    ``inputs`` is passed to ``model.vector_field`` as its last argument.

    Returns the states at ``save_ts`` (n_save, n_states) and a failure code (0 = ok, see
    ``FAILURE_REASONS``).

    Non-finite derivatives are caught, not hidden: the state carries one extra component, a
    fault clock that advances while any derivative is non-finite (those derivatives are set
    to 0 so the step-size controller does not spin on NaN until ``MAX_STEPS``, stalling the
    whole vmapped batch). A run whose fault clock moved is reported as failed (code 2); a run
    the solver gave up on (step size below ``DTMIN``, ``MAX_STEPS``) is a solver failure
    (code 1), although diffrax then pads the unreached save times with inf.

    The integrator runs on its own clock, ``tau = t + CLOCK_SHIFT``. Jumps of the inputs
    (injury onset, training start and stop) are stepped over at ``nextafter(tau_jump)``: on
    the clock ``t`` a jump at day 0 (every rodent model's injury onset) is stepped over at
    the smallest normal float, and on an NVIDIA H200 (JAX 0.11.2, float64) every rodent run
    failed there, the step size collapsing below ``DTMIN``, while the same machine's CPU
    solved them. With ``tau`` in ``[CLOCK_SHIFT / 2, 2 CLOCK_SHIFT]`` (days -4096 to 8192;
    the inputs allow -366 to 3650), ``t = tau - CLOCK_SHIFT`` is exact (Sterbenz), so the
    vector field sees every jump on the right side: a shift that merely avoids 0 (e.g.
    ``tau = t - t0 + 1``) rounds ``nextafter(tau_jump)`` back onto the jump for jumps far
    from the start (CIPN's day -180), and the solver fails there instead.
    """
    offset = -CLOCK_SHIFT  # t = tau + offset

    def field(tau, y, args):
        dy = model.vector_field(tau + offset, y[:-1], args)
        bad = ~jnp.isfinite(dy)
        return jnp.append(jnp.where(bad, 0.0, dy), jnp.any(bad).astype(dy.dtype))

    if method == FUSED:  # the end point only, forward only (exerpain.simulate.fused)
        if save_ts.shape[0] != 1:
            raise ValueError(f"method {FUSED!r} saves the last time only")
        y_end, gave_up = tsit5_to_end(field, t0 - offset, save_ts[-1] - offset,
                                      jnp.append(y0, 0.0), inputs, jump_ts - offset, rtol,
                                      atol, DT0, DTMIN, max_steps, norm)
        solver_ok, states = gave_up == 0, y_end[None]
    else:
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(field),
            METHODS[method](), t0=t0 - offset, t1=save_ts[-1] - offset, dt0=DT0,
            y0=jnp.append(y0, 0.0), args=inputs, saveat=diffrax.SaveAt(ts=save_ts - offset),
            stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol,
                                                      jump_ts=jump_ts - offset,
                                                      dtmin=DTMIN, force_dtmin=False,
                                                      norm=norm),
            max_steps=max_steps, throw=False,
        )
        solver_ok, states = sol.result == diffrax.RESULTS.successful, sol.ys
    ys = states[:, :-1]
    clock = states[:, -1]
    faulted = jnp.max(jnp.where(jnp.isfinite(clock), clock, 0.0)) > 0
    finite = jnp.all(jnp.isfinite(ys))
    code = jnp.where(faulted, 2, jnp.where(solver_ok, jnp.where(finite, 0, 2), 1))
    return ys, code


PTC_ITERATIONS = 60  # pseudo-transient continuation steps of the steady-state fallback
PTC_DT0 = 0.5  # day; first pseudo-time step, grown by switched evolution relaxation
PTC_GROWTH = 1.5  # least growth of the pseudo-time step per accepted step (slow modes)


def newton(model: Model, inputs: ModelInputs, t0: Array, guess: Array,
           pseudoinverse: bool = False, max_steps: int = 64) -> tuple[Array, Array]:
    """Newton's method (optimistix) for ``f(t0, y) = 0`` from ``guess``: (root, converged).
    A root with a state below zero is not a physiological steady state and counts as not
    converged. ``pseudoinverse``: the root's implicit gradient solves its linear system by
    SVD, which accepts a singular Jacobian (lineax's default LU raises on one, stopping a
    sampler that wandered there)."""
    adjoint = (optx.ImplicitAdjoint(linear_solver=lx.AutoLinearSolver(well_posed=False))
               if pseudoinverse else optx.ImplicitAdjoint())
    sol = optx.root_find(lambda x, args: model.vector_field(t0, x, args),
                         optx.Newton(rtol=1e-10, atol=1e-12), guess, args=inputs, throw=False,
                         max_steps=max_steps, adjoint=adjoint)
    ok = ((sol.result == optx.RESULTS.successful) & jnp.all(jnp.isfinite(sol.value))
          & jnp.all(sol.value > -1e-9))
    return sol.value, ok


def relax(model: Model, inputs: ModelInputs, t0: Array, y: Array) -> Array:
    """Pseudo-transient continuation (Kelley & Keyes 1998, doi:10.1137/S0036142996304796)
    of the untreated system frozen at ``t0``, from ``y``: linearly implicit Euler steps
    ``(I / dt - J) dy = f(y)`` with the pseudo-time step grown as the residual falls
    (switched evolution relaxation, at least :data:`PTC_GROWTH`-fold per accepted step so
    that modes of months are reached; a step that doubles the residual or leaves the finite
    range is rejected and the pseudo-time step quartered). It follows the dynamics, so it
    ends near the steady state the condition actually settles to, where a plain Newton
    iteration from health can run off to a non-physiological root. Fixed iteration count
    (vmap-friendly)."""
    field = lambda x: model.vector_field(t0, x, inputs)  # noqa: E731
    eye = jnp.eye(y.shape[0])

    def step(_, carry):
        x, dt, f = carry
        norm = jnp.linalg.norm(f)
        dx = jnp.linalg.solve(eye / dt - jax.jacfwd(field)(x), f)
        new = jnp.maximum(x + dx, 0.0)
        f_new = field(new)
        new_norm = jnp.linalg.norm(f_new)
        good = jnp.all(jnp.isfinite(new)) & jnp.isfinite(new_norm) & (new_norm < 2.0 * norm)
        grow = jnp.clip(norm / jnp.maximum(new_norm, 1e-300), PTC_GROWTH, 10.0)
        return (jnp.where(good, new, x), jnp.where(good, jnp.minimum(dt * grow, 1e8), dt / 4),
                jnp.where(good, f_new, f))

    x, _, _ = jax.lax.fori_loop(0, PTC_ITERATIONS, step, (y, jnp.asarray(PTC_DT0), field(y)))
    return x


def initial_state(model: Model, inputs: ModelInputs, t0: Array, steady: bool,
                  fallback: bool = True, pseudoinverse: bool = False) -> tuple[Array, Array]:
    """State at ``t0`` and a failure code: health, or (``steady``) the steady state of the
    untreated condition at ``t0``, by Newton's method (optimistix) from health; where that
    fails (it diverges for some parameter draws), Newton from the end of a pseudo-transient
    continuation (:func:`relax`). The root's gradient is implicit (optimistix), so the
    starting guess carries none. ``fallback=False`` skips the continuation: the calibration's
    gradient programs, where it would add a 60-step continuation to every subject of every
    virtual cohort (compile time) and where a failed start is reported by the objective as a
    failed trial point, not lost. ``pseudoinverse``: see :func:`newton` (a patient's
    sampler)."""
    y = model.healthy_state(inputs.params)
    if not steady:
        return y, jnp.asarray(0)
    root, ok = newton(model, inputs, t0, y, pseudoinverse)
    if not fallback:
        return root, jnp.where(ok, 0, 1)

    def continued(_):
        return newton(model, inputs, t0, jax.lax.stop_gradient(relax(model, inputs, t0, y)),
                       pseudoinverse)

    root, ok = jax.lax.cond(ok, lambda _: (root, ok), continued, None)
    return root, jnp.where(ok, 0, 1)


def batched_initial_state(model: Model, inputs: ModelInputs, t0: Array, steady: bool
                          ) -> tuple[Array, Array]:
    """:func:`initial_state` of a batch of runs (every leaf of ``inputs`` with a leading
    axis; ``t0`` shared or one per run), with the same result run for run, for a fraction
    of the cost: under ``vmap`` the per-run ``lax.cond`` of :func:`initial_state` becomes a
    select that evaluates the 60-step continuation for every run, so here Newton's method
    runs for the whole batch and the continuation (then Newton from its end) only when some
    run of the batch needs it, its result kept for those runs only. (On this 2-core CPU the
    continuation was a quarter of a DPN cohort's time.)"""
    n = len(jax.tree_util.tree_leaves(inputs.params)[0])
    t0 = jnp.broadcast_to(jnp.asarray(t0, dtype=float), (n,))
    healthy = jax.vmap(lambda inp: model.healthy_state(inp.params))(inputs)
    if not steady:
        return healthy, jnp.zeros(n, dtype=int)
    solve_root = jax.vmap(lambda inp, t, guess: newton(model, inp, t, guess))
    root, ok = solve_root(inputs, t0, healthy)

    def continued(_):
        start = jax.vmap(lambda inp, t, y: relax(model, inp, t, y))(inputs, t0, healthy)
        again, ok_again = solve_root(inputs, t0, jax.lax.stop_gradient(start))
        return jnp.where(ok[:, None], root, again), ok | ok_again

    root, ok = jax.lax.cond(jnp.all(ok), lambda _: (root, ok), continued, None)
    return root, jnp.where(ok, 0, 1)


def observer(model: Model, kind: str):
    """``(t, y, inputs) -> observables``: site pain factors, drive, the kind's pain read-outs
    and its functional read-outs (:mod:`exerpain.model.function`)."""
    readouts = READOUTS[kind]

    def observe(t, y, inputs):
        obs = model.nociceptive_drive(t, y, inputs)
        for name, fn in readouts.items():
            obs[name] = fn(obs["nociceptive_drive"], inputs.params["readout"])
        obs.update(functional_readouts(kind, model.unpack(y), inputs.params["readout"]))
        return obs

    return observe


@dataclass(frozen=True)
class Trajectory:
    """Daily output of a batch of runs.

    days: (n_days,) day index 0..N.
    states: (batch, n_days, n_states) state values, names in ``state_names``.
    observables: name -> (batch, n_days): site pain factors, ``nociceptive_drive`` and the
        pain and functional read-outs of the batch's species.
    status: (batch,) ``"ok"`` or the reason the run failed.
    methods: (batch,) the integrator that gave each run (a key of :data:`METHODS`).
    """

    days: np.ndarray
    states: np.ndarray
    state_names: tuple[str, ...]
    observables: dict[str, np.ndarray]
    status: tuple[str, ...]
    methods: tuple[str, ...] = ()


def stack_trees(trees: Sequence):
    """Stack pytrees of equal structure along a new leading axis."""
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *trees)


@lru_cache(maxsize=32)
def _compiled(model: Model, n_days: int, kind: str, steady: bool, rtol: float, atol: float,
              method: str = EXPLICIT, max_steps: int = MAX_STEPS):
    ts = jnp.arange(n_days + 1, dtype=float)
    observe = observer(model, kind)

    def single(inputs, y0, t0, jump_ts):
        ys, code = integrate_run(model, inputs, y0, t0, jump_ts, ts, rtol, atol, method,
                                 max_steps)
        obs = jax.vmap(observe, in_axes=(0, 0, None))(ts, ys, inputs)
        return ys, obs, code

    def batch(inputs, t0, jump_ts):
        y0, code0 = batched_initial_state(model, inputs, t0, steady)
        ys, obs, code = jax.vmap(single)(inputs, y0, t0, jump_ts)
        return ys, obs, jnp.maximum(code, code0)

    return jax.jit(batch)


def take(tree, index: np.ndarray):
    """Rows ``index`` of every leaf of a batched pytree."""
    return jax.tree_util.tree_map(lambda x: x[index], tree)


def padded_slices(runs: np.ndarray, width: int):
    """``(idx, padded)`` for ``runs`` in slices of ``width``, the last padded with its first
    run, so that one compiled shape serves every call."""
    for first in range(0, len(runs), width):
        idx = runs[first:first + width]
        yield idx, np.concatenate([idx, np.full(width - len(idx), idx[0])])


EXPLICIT_MAX_STEPS = MAX_STEPS  # steps the explicit first pass may take (tests lower it)


def max_steps_for(method: str) -> int:
    """Steps a solve with ``method`` may take: :data:`EXPLICIT_MAX_STEPS` for the explicit
    first pass (Tsit5, fused or not), :data:`MAX_STEPS` for the stiff retry."""
    return EXPLICIT_MAX_STEPS if method in (EXPLICIT, FUSED) else MAX_STEPS


@float64
def solve(prepared: Sequence[Prepared], model: Model | None = None, rtol: float = RTOL,
          atol: float = ATOL) -> Trajectory:
    """Integrate a batch of prepared scenarios (same duration and read-out kind), daily.

    Every run is solved with Tsit5; a run that fails is solved again with the stiff
    Kvaerno5 (:data:`METHODS`) before it is reported as failed; ``Trajectory.methods`` says
    which integrator gave each run."""
    model = model or Model.default()
    if not prepared:
        raise InputError("solve: empty batch")
    shapes = {(p.days, p.kind, p.steady_start) for p in prepared}
    if len(shapes) != 1:
        raise InputError("solve: a batch must share its number of days and condition")
    n_days, kind, steady = shapes.pop()
    inputs = stack_trees([p.inputs for p in prepared])
    t0 = jnp.asarray([p.t0 for p in prepared])
    jumps = jnp.asarray(np.stack([p.jump_ts for p in prepared]))
    fn = _compiled(model, n_days, kind, steady, rtol, atol, EXPLICIT, max_steps_for(EXPLICIT))
    ys, obs, code = fn(inputs, t0, jumps)
    ys, code = np.array(ys), np.array(code)  # writable copies: failed runs are replaced
    obs = {k: np.array(v) for k, v in obs.items()}
    methods = np.full(len(prepared), EXPLICIT, dtype=object)
    failed = np.flatnonzero(code != 0)
    if len(failed):
        stiff = _compiled(model, n_days, kind, steady, rtol, atol, STIFF)
        ys2, obs2, code2 = stiff(take(inputs, failed), t0[failed], jumps[failed])
        ys[failed], code[failed] = np.asarray(ys2), np.asarray(code2)
        for k, v in obs2.items():
            obs[k][failed] = np.asarray(v)
        methods[failed] = STIFF
    return Trajectory(
        days=np.arange(n_days + 1),
        states=ys,
        state_names=model.state_names,
        observables=obs,
        status=tuple(FAILURE_REASONS[int(c)] for c in code),
        methods=tuple(methods),
    )
