"""An end-point Tsit5 integrator with a fused step, for the cohort engine's batched solves.

Tsitouras's 5(4) explicit Runge-Kutta pair (Tsitouras 2011,
doi:10.1016/j.camwa.2011.06.002), its coefficients taken from diffrax's own ``Tsit5``
tableau, with the same error control as :func:`exerpain.simulate.solve.integrate_run`'s
diffrax solve: the RMS norm of the embedded error over ``atol + rtol * max(|y0|, |y1|)``,
an integral controller (factor ``0.9 * err^(-1/5)`` clipped to 0.2-10, diffrax's
``PIDController`` defaults), steps clipped to land just before each input jump and the next
step starting just after it, a failure when the step falls below ``dtmin`` or the steps
exceed ``max_steps``.

Why it exists: the engine's solves are stability-limited (about 2-day steps over a year,
whatever the tolerance; :mod:`exerpain.simulate.stiffness`) and save only the last day, so
their cost is the cost of a step. diffrax's step is general (dense output, save loops,
events, adjoints, stages as a loop over a buffer); under ``vmap`` on a CPU it cost 2.8 us
per run-step on a 19-state linear test system, where this step, written out so XLA fuses
it, costs 0.35 us (2026-11-27, this 2-core CPU, 512 runs per batch). It is forward-only
(``lax.while_loop``: no reverse-mode gradient; the calibration's gradients keep diffrax) and
saves the end point only; everything else keeps diffrax, which stays the reference it is
tested against (``tests/test_fused.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

_TABLEAU = diffrax.Tsit5.tableau
_A = [np.asarray(row, dtype=float) for row in _TABLEAU.a_lower]
_C = np.asarray(_TABLEAU.c, dtype=float)
_B_ERROR = np.asarray(_TABLEAU.b_error, dtype=float)
ERROR_ORDER = 5  # diffrax's error order for Tsit5 (order 5, embedded 4)
SAFETY, FACTOR_MIN, FACTOR_MAX = 0.9, 0.2, 10.0  # diffrax PIDController defaults


def _stages(field: Callable, t: Array, y: Array, h: Array, k0: Array, args
            ) -> tuple[Array, Array, Array]:
    """One Tsit5 step from ``(t, y)`` with ``k0 = field(t, y)``: ``(y1, error, k_last)``;
    FSAL: the last stage is the solution and ``k_last = field(t + h, y1)``."""
    ks = [k0]
    yi = y
    for row, c in zip(_A, _C, strict=True):
        yi = y + h * sum(float(a) * k for a, k in zip(row, ks, strict=True) if a != 0.0)
        ks.append(field(t + c * h, yi, args))
    error = h * sum(float(e) * k for e, k in zip(_B_ERROR, ks, strict=True))
    return yi, error, ks[-1]


def rms_norm(ratio: Array) -> Array:
    """Root mean square of the scaled error (diffrax's default norm)."""
    return jnp.sqrt(jnp.mean(jnp.square(ratio)))


def tsit5_to_end(field: Callable, t0: Array, t1: Array, y0: Array, args, jump_ts: Array,
                 rtol: float, atol: float, dt0: float, dtmin: float, max_steps: int,
                 norm: Callable[[Array], Array] = rms_norm) -> tuple[Array, Array]:
    """``y(t1)`` of ``dy/dt = field(t, y, args)`` from ``(t0, y0)`` and a code: 0 = reached
    ``t1``, 1 = gave up (a step below ``dtmin``, or more than ``max_steps`` steps, rejected
    ones counted). One run; traceable, vmap it for a batch. ``jump_ts``: times where
    ``field`` jumps (any order; those outside ``(t0, t1)`` are ignored): a step ends at the
    float just below a jump and the next starts at the float just above it, with the
    derivative evaluated afresh there. ``norm``: of the error over ``atol + rtol |y|``; a
    step is accepted when it is at most 1.

    The segments between jumps are the iterations of an outer loop with a fixed trip count
    (``len(jump_ts) + 1``), each an inner ``while_loop`` of steps, so the derivative is
    re-evaluated once per segment rather than in every step."""
    t0 = jnp.asarray(t0, dtype=y0.dtype)
    t1 = jnp.asarray(t1, dtype=y0.dtype)
    inside = (jump_ts > t0) & (jump_ts < t1)
    bounds = jnp.sort(jnp.where(inside, jump_ts, t1))  # segment ends; t1 pads the rest
    bounds = jnp.append(bounds, t1)
    inf = jnp.asarray(jnp.inf, dtype=y0.dtype)

    def steps(carry):
        t, y, h, k, n, code, end = carry
        stop = jnp.where(end < t1, jnp.nextafter(end, -inf), end)  # just before a jump
        last = t + h >= stop
        h_step = jnp.where(last, stop - t, h)
        y1, error, k1 = _stages(field, t, y, h_step, k, args)
        scale = atol + rtol * jnp.maximum(jnp.abs(y), jnp.abs(y1))
        err = norm(error / scale)
        err = jnp.where(jnp.isfinite(err), err, jnp.inf)
        accept = err <= 1.0
        factor = jnp.clip(SAFETY * err ** (-1.0 / ERROR_ORDER), FACTOR_MIN, FACTOR_MAX)
        factor = jnp.where(err == 0.0, FACTOR_MAX, factor)
        t_new = jnp.where(accept, jnp.where(last, stop, t + h_step), t)
        # a step clipped to the segment's end does not shrink the step that follows it
        h_new = jnp.where(accept & last, jnp.maximum(h, h_step * factor), h_step * factor)
        n = n + 1
        code = jnp.where((h_new < dtmin) | (n >= max_steps) & (t_new < stop), 1, code)
        return (t_new, jnp.where(accept, y1, y), h_new, jnp.where(accept, k1, k), n, code,
                end)

    def running(carry):
        t, _, _, _, _, code, end = carry
        stop = jnp.where(end < t1, jnp.nextafter(end, -inf), end)
        return (t < stop) & (code == 0)

    def segment(i, carry):
        t, y, h, n, code = carry
        end = bounds[i]
        start = jnp.where(i > 0, jnp.maximum(t, jnp.nextafter(bounds[i - 1], inf)), t)
        start = jnp.minimum(start, end)  # an empty segment (a padded bound)
        k = field(start, y, args)
        t, y, h, _, n, code, _ = jax.lax.while_loop(running, steps,
                                                    (start, y, h, k, n, code, end))
        return t, y, h, n, code

    h0 = jnp.asarray(dt0, dtype=y0.dtype)
    _, y, _, _, code = jax.lax.fori_loop(
        0, bounds.shape[0], segment, (t0, y0, h0, jnp.asarray(0), jnp.asarray(0)))
    return y, code
