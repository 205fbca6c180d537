"""The fused end-point Tsit5 (:mod:`exerpain.simulate.fused`) against exact solutions and
against diffrax's Tsit5, which it replaces in the cohort engine's batched solves."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from exerpain.simulate.fused import tsit5_to_end
from exerpain.simulate.solve import DTMIN, EXPLICIT, FUSED, integrate_run

JUMPS = jnp.array([1.5, 3.0, -5.0, 40.0])  # two inside (0, 10), two outside


def decay(t, y, rates):
    """dy/dt = -k(t) y, k = rates[0] before day 1.5, rates[1] until day 3, rates[2] after."""
    k = jnp.where(t < 1.5, rates[0], jnp.where(t < 3.0, rates[1], rates[2]))
    return -k * y


def exact(y0, rates, t1=10.0):
    return y0 * np.exp(-(rates[0] * 1.5 + rates[1] * 1.5 + rates[2] * (t1 - 3.0)))


@pytest.mark.parametrize("rtol", [1e-6, 1e-9])
def test_a_piecewise_linear_decay_matches_its_exact_solution(rtol):
    rates = jnp.array([0.3, 2.0, 0.05])
    y0 = jnp.array([1.0, 3.0])
    y, code = jax.jit(lambda y0: tsit5_to_end(decay, 0.0, 10.0, y0, rates, JUMPS, rtol,
                                              rtol * 1e-2, 0.25, DTMIN, 4096))(y0)
    assert int(code) == 0
    np.testing.assert_allclose(np.asarray(y), exact(np.asarray(y0), np.asarray(rates)),
                               rtol=20 * rtol)


def test_too_few_steps_gives_up():
    _, code = tsit5_to_end(decay, 0.0, 10.0, jnp.ones(2), jnp.array([0.3, 2.0, 0.05]), JUMPS,
                           1e-9, 1e-11, 0.25, DTMIN, 5)
    assert int(code) == 1


class Oscillator:
    """A damped oscillator whose damping jumps: an ODE with complex eigenvalues."""

    def vector_field(self, t, y, args):
        damping = jnp.where(t < args["switch"], 0.1, 0.8)
        return jnp.array([y[1], -args["omega"] ** 2 * y[0] - damping * y[1]])


def test_the_fused_and_diffrax_tsit5_agree_in_a_batch():
    """The same runs through ``integrate_run`` both ways, vmapped (with the clock shift and
    the fault clock): end states agree to the tolerance, and a run whose vector field turns
    non-finite is reported (code 2) by both."""
    model = Oscillator()
    omega = jnp.array([0.5, 1.0, 2.0, jnp.nan])
    args = {"omega": omega, "switch": jnp.full(4, 7.25)}
    jumps = jnp.array([7.25, 100.0])

    def run(method, rtol):
        one = lambda a: integrate_run(model, a, jnp.array([1.0, 0.0]), jnp.asarray(-2.0),  # noqa: E731
                                      jumps, jnp.array([30.0]), rtol, rtol * 1e-2, method)
        return jax.jit(jax.vmap(one))(args)

    (fused, fused_code), (reference, ref_code) = run(FUSED, 1e-7), run(EXPLICIT, 1e-11)
    assert fused_code.tolist() == ref_code.tolist() == [0, 0, 0, 2]
    np.testing.assert_allclose(np.asarray(fused[:3, -1]), np.asarray(reference[:3, -1]),
                               rtol=1e-5, atol=1e-7)


def test_fused_refuses_a_trajectory():
    with pytest.raises(ValueError, match="last time only"):
        integrate_run(Oscillator(), {"omega": 1.0, "switch": 5.0}, jnp.array([1.0, 0.0]),
                      jnp.asarray(0.0), jnp.array([5.0]), jnp.array([1.0, 2.0]), 1e-6, 1e-8,
                      FUSED)

