"""Invariants: healthy fixed point, valid state ranges, agreement with an independent solver,
and exact zero effect when exercise acts through no mechanism."""

from __future__ import annotations

import zlib

import jax.numpy as jnp
import numpy as np
import pytest

from exerpain.model.conditions import CONDITIONS
from exerpain.model.interventions import INTERVENTIONS
from exerpain.model.protocols import PRESETS
from exerpain.simulate.reference import solve_reference
from exerpain.simulate.scenario import Scenario
from exerpain.simulate.solve import solve

RODENT_DAYS = 42


def _random_params(model, seed):
    """Every parameter drawn uniformly within its declared range, except the condition's
    insult (no insult = health). Each parameter's draw comes from its own stream, keyed by
    the seed and its name, so adding a parameter leaves every other parameter's draw as it
    was."""
    params = model.default_params()
    for group, p in model.parameter_table():
        key = zlib.crc32(f"{group}.{p.name}".encode())
        rng = np.random.default_rng([seed, key])
        params[group][p.name] = float(rng.uniform(p.low, p.high))
    params["injury"]["insult_rate"] = 0.0
    params["oxidative"]["metabolic_ros"] = 0.0
    return params


@pytest.mark.parametrize("seed", [None, 0, 1, 2])
def test_healthy_state_is_a_fixed_point(model, seed):
    """Without insult, exercise or intervention, the healthy state does not move, for the
    default parameters and for parameters drawn anywhere in their ranges."""
    params = model.default_params() if seed is None else _random_params(model, seed)
    prepared = Scenario.create(condition="sham", protocol="sedentary", days=10,
                               params=params).build(model)
    y = model.healthy_state(prepared.inputs.params)
    for t in (-1.0, 0.5, 5.0):
        dy = model.vector_field(jnp.asarray(t), y, prepared.inputs)
        np.testing.assert_allclose(np.asarray(dy), 0.0, atol=1e-12)
    drive = model.nociceptive_drive(jnp.asarray(0.0), y, prepared.inputs)["nociceptive_drive"]
    assert float(drive) == pytest.approx(1.0, abs=1e-12)


def _check_ranges(model, trajectory):
    for j, (_, spec) in enumerate(model.state_specs):
        values = trajectory.states[..., j]
        assert np.all(values >= spec.lower - 1e-9), spec.name
        assert np.all(values <= spec.upper + 1e-9), spec.name


@pytest.mark.parametrize("condition", sorted(CONDITIONS))
def test_states_stay_in_their_valid_range(model, simulate, condition):
    """Damage and M2 share stay in [0, 1], mediators stay positive, for every condition and
    every preset of its species."""
    kind = CONDITIONS[condition].kind
    for name, protocol in PRESETS.items():
        if protocol.species not in ("any", kind):
            continue
        result = simulate(condition, name)
        assert result.trajectory.status == ("ok", "ok")
        _check_ranges(model, result.trajectory)


def test_states_stay_in_range_under_every_intervention(model, simulate):
    for name in INTERVENTIONS:
        result = simulate("cci", "treadmill-moderate", (name,), days=RODENT_DAYS)
        _check_ranges(model, result.trajectory)
        assert np.all(np.isfinite(result.trajectory.observables["nociceptive_drive"]))


def test_sham_sedentary_stays_healthy(simulate):
    tr = simulate("sham", "sedentary", days=RODENT_DAYS).trajectory
    np.testing.assert_allclose(tr.observables["nociceptive_drive"], 1.0, atol=1e-10)


def test_ablating_every_mechanism_removes_all_benefit(model, simulate):
    """With exercise acting through no mechanism the two runs are identical."""
    s = simulate("cci", "treadmill-moderate", (), tuple(model.exercise_mechanisms),
                 days=RODENT_DAYS)
    np.testing.assert_allclose(s.trajectory.states[0], s.trajectory.states[1], atol=1e-10)


@pytest.mark.parametrize("condition,protocol,start,stop,interventions", [
    ("cci", "treadmill-moderate", None, None, ()),
    ("cci", "wheel", -20.0, 10.0, ("naloxone-brain",)),
    ("paclitaxel", "treadmill-high", None, None, ("il4-ko",)),
    ("dpn", "hiit", None, 60.0, ("duloxetine",)),
])
def test_diffrax_agrees_with_scipy_lsoda(model, condition, protocol, start, stop,
                                         interventions):
    """The JAX/diffrax solve agrees with scipy's LSODA within 1e-4 relative on every
    read-out and observable, every day."""
    prepared = Scenario.create(condition=condition, protocol=protocol, start_day=start,
                               stop_day=stop, interventions=interventions).build(model)
    ours = solve([prepared], model)
    ref = solve_reference(prepared, model)
    for name, values in ours.observables.items():
        np.testing.assert_allclose(values, ref.observables[name], rtol=1e-4, atol=1e-12,
                                   err_msg=name)
    np.testing.assert_allclose(ours.states, ref.states, rtol=1e-4, atol=1e-9)


def _steady_start(model, seed):
    """A DPN subject with every parameter drawn within its range (``_random_params`` with the
    insult kept): its inputs and start day."""
    params = _random_params(model, seed)
    defaults = model.default_params()
    params["injury"]["insult_rate"] = defaults["injury"]["insult_rate"]
    params["oxidative"]["metabolic_ros"] = defaults["oxidative"]["metabolic_ros"]
    prepared = Scenario.create(condition="dpn", protocol="sedentary", days=10,
                               params=params).build(model)
    return prepared.inputs, jnp.asarray(prepared.t0)


@pytest.fixture(scope="module")
def steady_solvers(model):
    import jax

    from exerpain.simulate.solve import initial_state, relax
    full = jax.jit(lambda inputs, t0: initial_state(model, inputs, t0, True))
    relaxed = jax.jit(lambda inputs, t0: relax(model, inputs, t0,
                                               model.healthy_state(inputs.params)))
    newton = jax.jit(lambda inputs, t0: initial_state(model, inputs, t0, True, False))
    return full, relaxed, newton


@pytest.mark.parametrize("seed", [8, 12, 14])
def test_steady_start_where_newton_from_health_can_diverge(model, steady_solvers, seed):
    """Parameter draws where Newton's method from health diverged (to ROS -26 and the like)
    (each parameter's draw is keyed by its name, so adding a parameter leaves the draws as
    they were; the seeds are re-chosen when a range of the DPN steady state changes: Newton
    alone must fail on them): the start is a stable equilibrium with no
    negative state, and the pseudo-transient fallback alone, from health, reaches the same
    equilibrium."""
    import jax
    full, relaxed, newton = steady_solvers
    inputs, t0 = _steady_start(model, seed)
    assert int(newton(inputs, t0)[1]) != 0
    y, code = full(inputs, t0)
    assert int(code) == 0 and float(jnp.min(y)) >= 0.0
    f = model.vector_field(t0, y, inputs)
    assert float(jnp.max(jnp.abs(f))) < 1e-6
    jac = np.asarray(jax.jacfwd(lambda x: model.vector_field(t0, x, inputs))(y))
    assert np.max(np.linalg.eigvals(jac).real) < 0
    np.testing.assert_allclose(np.asarray(relaxed(inputs, t0)), np.asarray(y), rtol=1e-3,
                               atol=1e-6)


class _Step:
    """dy/dt = 1 after ``jump`` and 0 before it; NaN where a device that flushes subnormals
    to zero (XLA on NVIDIA GPUs) would read a positive time as 0, i.e. on the wrong side of
    a jump at day 0."""

    def __init__(self, jump: float):
        self.jump = jump

    def vector_field(self, t, y, inputs):
        step = jnp.where(t > self.jump, 1.0, 0.0)
        flushed = (jnp.abs(t) > 0) & (jnp.abs(t) < 1e-300)
        return jnp.where(flushed, jnp.nan, step) * jnp.ones_like(y)


@pytest.mark.parametrize("jump", [0.0, -180.0, 37.25])
def test_jumps_are_stepped_over_exactly(jump):
    """A discontinuity announced in ``jump_ts`` is integrated exactly, wherever it lies
    relative to the start: at day 0 (every rodent injury; it failed on an H200 GPU, where
    the step after the jump began at a subnormal-range time) and far from the start (CIPN's
    day -180, where a clock relative to the start rounds the step after the jump back onto
    it)."""
    from exerpain.simulate.solve import integrate_run
    ys, code = integrate_run(_Step(jump), None, jnp.zeros(1), jnp.asarray(-181.0),
                             jnp.asarray([jump, 90.0]), jnp.asarray([0.0, 50.0]), 1e-8, 1e-10)
    assert int(code) == 0
    np.testing.assert_allclose(np.asarray(ys)[:, 0], [max(0.0 - jump, 0.0), 50.0 - jump],
                               rtol=1e-9, atol=1e-9)  # atol: the clock's resolution, 2e-12


class _Chatter:
    """dy/dt = 1e4 cos(1e4 t): resolving it to tolerance over days needs far more than
    ``MAX_STEPS`` steps."""

    def vector_field(self, t, y, inputs):
        return 1e4 * jnp.cos(1e4 * t) * jnp.ones_like(y)


def test_a_run_the_solver_gives_up_on_is_a_solver_failure():
    """A run that exhausts ``MAX_STEPS`` is reported as a solver failure (code 1), not as
    non-finite values because diffrax pads the unreached save times with inf. (An input jump
    the solver is not told of no longer fails: the step size shrinks to the clock's
    resolution, ``DTMIN``, and steps over it.)"""
    from exerpain.simulate.solve import FAILURE_REASONS, integrate_run
    ys, code = integrate_run(_Chatter(), None, jnp.zeros(1), jnp.asarray(0.0),
                             jnp.asarray([90.0, 91.0]), jnp.asarray([10.0, 20.0]), 1e-8, 1e-10)
    assert FAILURE_REASONS[int(code)].startswith("solver failure")
    ys, code = integrate_run(_Step(0.5), None, jnp.zeros(1), jnp.asarray(0.0),
                             jnp.asarray([90.0, 91.0]), jnp.asarray([1.0, 2.0]), 1e-8, 1e-10)
    assert FAILURE_REASONS[int(code)] == "ok"
    np.testing.assert_allclose(np.asarray(ys)[:, 0], [0.5, 1.5], atol=1e-6)
