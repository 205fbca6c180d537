"""The one solve entry point: a batch of prepared scenarios -> daily trajectories.

JAX under ``jit``, diffrax (Tsit5, adaptive PID step control told where the inputs jump) as
the integrator, ``vmap`` over the batch, float64. Compiled functions are cached per
(model, number of days, read-out kind) so repeated solves of the same shape do not recompile.
Numerical failure (max steps, non-finite values) is detected per run and reported in
``Trajectory.status``; the other runs are unaffected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from exerpain.errors import InputError
from exerpain.model.readouts import READOUTS
from exerpain.model.registry import Model
from exerpain.simulate.scenario import Prepared

RTOL = 1e-8
ATOL = 1e-10
MAX_STEPS = 16384


@dataclass(frozen=True)
class Trajectory:
    """Daily output of a batch of runs.

    days: (n_days,) day index 0..N.
    states: (batch, n_days, n_states) state values, names in ``state_names``.
    observables: name -> (batch, n_days): site pain factors, ``nociceptive_drive`` and the
        read-outs of the batch's species.
    status: (batch,) ``"ok"`` or the reason the run failed.
    """

    days: np.ndarray
    states: np.ndarray
    state_names: tuple[str, ...]
    observables: dict[str, np.ndarray]
    status: tuple[str, ...]

    @property
    def ok(self) -> np.ndarray:
        return np.array([s == "ok" for s in self.status])


def _stack(trees: Sequence):
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *trees)


def observer(model: Model, kind: str):
    """``(t, y, inputs) -> observables``: site pain factors, drive and the kind's read-outs."""
    readouts = READOUTS[kind]

    def observe(t, y, inputs):
        obs = model.nociceptive_drive(t, y, inputs)
        for name, fn in readouts.items():
            obs[name] = fn(obs["nociceptive_drive"], inputs.params["readout"])
        return obs

    return observe


@lru_cache(maxsize=32)
def _compiled(model: Model, n_days: int, kind: str, rtol: float, atol: float):
    ts = jnp.arange(n_days + 1, dtype=float)
    term = diffrax.ODETerm(lambda t, y, args: model.vector_field(t, y, args))
    observe = observer(model, kind)

    def single(inputs, t0, jump_ts):
        y0 = model.healthy_state(inputs.params)
        sol = diffrax.diffeqsolve(
            term, diffrax.Tsit5(), t0=t0, t1=ts[-1], dt0=0.25, y0=y0, args=inputs,
            saveat=diffrax.SaveAt(ts=ts),
            stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol, jump_ts=jump_ts),
            max_steps=MAX_STEPS, throw=False,
        )
        obs = jax.vmap(observe, in_axes=(0, 0, None))(ts, sol.ys, inputs)
        success = sol.result == diffrax.RESULTS.successful
        finite = jnp.all(jnp.isfinite(sol.ys))
        return sol.ys, obs, success, finite

    return jax.jit(jax.vmap(single))


def solve(prepared: Sequence[Prepared], model: Model | None = None, rtol: float = RTOL,
          atol: float = ATOL) -> Trajectory:
    """Integrate a batch of prepared scenarios (same duration and read-out kind)."""
    model = model or Model.default()
    if not prepared:
        raise InputError("solve: empty batch")
    days = {p.days for p in prepared}
    kinds = {p.kind for p in prepared}
    if len(days) != 1 or len(kinds) != 1:
        raise InputError("solve: a batch must share its number of days and species kind")
    n_days, kind = days.pop(), kinds.pop()
    fn = _compiled(model, n_days, kind, rtol, atol)
    inputs = _stack([p.inputs for p in prepared])
    t0 = jnp.asarray([p.t0 for p in prepared])
    jumps = jnp.asarray(np.stack([p.jump_ts for p in prepared]))
    ys, obs, success, finite = fn(inputs, t0, jumps)
    status = tuple(
        "ok" if s and f else ("max steps or solver failure" if not s else "non-finite values")
        for s, f in zip(np.asarray(success), np.asarray(finite), strict=True)
    )
    return Trajectory(
        days=np.arange(n_days + 1),
        states=np.asarray(ys),
        state_names=model.state_names,
        observables={k: np.asarray(v) for k, v in obs.items()},
        status=status,
    )
