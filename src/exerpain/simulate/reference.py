"""Independent check: the same model integrated with scipy's ``solve_ivp`` (LSODA).

The vector field is the model's own (evaluated through JAX, one subject at a time); the
integrator, step control and event handling are scipy's (the initial state, health or the
condition's steady state, is shared). Integration restarts at every
input discontinuity (injury onset and end, programme start and stop), and daily values come
from LSODA's dense output. Used by the tests (agreement within 1e-4 relative on every
read-out) and as the baseline of the benchmarks.
"""

from __future__ import annotations

from functools import lru_cache

import jax
import numpy as np
from scipy.integrate import solve_ivp

from exerpain.model.registry import Model
from exerpain.simulate.scenario import Prepared
from exerpain.simulate.solve import Trajectory, initial_state, observer


@lru_cache(maxsize=8)
def _compiled(model: Model, kind: str):
    """The model's vector field and observer, compiled once per model (not per call)."""
    field = jax.jit(model.vector_field)
    observe = jax.jit(jax.vmap(observer(model, kind), in_axes=(0, 0, None)))
    start = jax.jit(lambda inputs, t0, steady: initial_state(model, inputs, t0, steady)[0],
                    static_argnums=2)
    return field, observe, start


def solve_reference(prepared: Prepared, model: Model | None = None, rtol: float = 1e-10,
                    atol: float = 1e-12, method: str = "LSODA") -> Trajectory:
    """Integrate one prepared scenario with scipy; returns a batch-of-one Trajectory."""
    model = model or Model.default()
    inputs = prepared.inputs
    field, observe, start = _compiled(model, prepared.kind)

    def fun(t, y):
        return np.asarray(field(t, y, inputs))

    days = np.arange(prepared.days + 1, dtype=float)
    end = float(days[-1])
    breaks = sorted({prepared.t0, end} | {float(j) for j in prepared.jump_ts
                                          if prepared.t0 < j < end})
    y = np.asarray(start(inputs, prepared.t0, prepared.steady_start), dtype=float)
    out = np.empty((days.size, y.size))
    for a, b in zip(breaks[:-1], breaks[1:], strict=True):
        sol = solve_ivp(fun, (a, b), y, method=method, rtol=rtol, atol=atol, dense_output=True)
        if not sol.success:
            raise RuntimeError(f"solve_ivp failed on [{a}, {b}]: {sol.message}")
        inside = (days >= a) & (days <= b)
        if inside.any():
            out[inside] = sol.sol(days[inside]).T
        y = sol.y[:, -1]
    obs = observe(days, out, inputs)
    return Trajectory(
        days=days.astype(int),
        states=out[None],
        state_names=model.state_names,
        observables={k: np.asarray(v)[None] for k, v in obs.items()},
        status=("ok",),
    )
