"""Virtual experiments as traceable functions of the parameters (so they can be fitted).

Two kinds, both differentiable end to end (diffrax, with steady states through optimistix's
implicit function theorem):

- :class:`SingleRun`: one animal or patient with the nominal parameters; a state or read-out
  on a given day.
- :class:`CohortSMD`: ``n`` subjects drawn from the population (covariates, genotypes and
  parameter spread, :mod:`exerpain.population.sampling`), each simulated with and without
  exercise (common random numbers), each read-out measured once per arm with measurement
  error (:func:`exerpain.model.readouts.measure`), summarised as the standardised mean
  difference a meta-analysis reports.

:func:`run_experiments` simulates every run of a set of experiments in **one** vmapped solve
(a cohort shared by several experiments is simulated once), so the set compiles once, as
a value and as a gradient. ``exerpain validate`` and ``exerpain calibrate`` call the same
functions, so the value a calibration fits is the value validation shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from exerpain.model.conditions import get_condition
from exerpain.model.readouts import READOUT_DIRECTION, READOUTS, measure
from exerpain.model.registry import Model, ModelInputs
from exerpain.population.sampling import Subjects, draw_subjects
from exerpain.simulate.engine import ENGINE_ATOL, ENGINE_RTOL, cohort_inputs
from exerpain.simulate.scenario import Prepared, Scenario
from exerpain.simulate.solve import initial_state, integrate_run, stack_trees

COHORT_SIZE = 128
COHORT_SEED = 11


@dataclass(frozen=True)
class SingleRun:
    """``quantity`` (a qualified state name or an observable) of one run on ``day``."""

    condition: str
    protocol: str
    day: int
    quantity: str
    days: int | None = None


@dataclass(frozen=True)
class CohortSMD:
    """SMD of ``readout`` (positive = less pain) in the virtual cohort of ``condition`` x
    ``protocol`` on the last day."""

    condition: str
    protocol: str
    readout: str
    days: int | None = None

    @property
    def cohort(self) -> tuple:
        return self.condition, self.protocol, self.days


Experiment = SingleRun | CohortSMD


@cache
def prepared(condition: str, protocol: str, days: int | None = None) -> Prepared:
    """Solver arrays of a scenario (its parameters are replaced at run time); built eagerly
    even when first asked for inside a traced function, so the cache holds concrete arrays."""
    with jax.ensure_compile_time_eval():
        return Scenario.create(condition=condition, protocol=protocol, days=days).build(
            Model.default())


def _observe_all(model: Model, t: Array, y: Array, inputs: ModelInputs) -> dict[str, Array]:
    """States, nociceptive drive and every read-out of every species."""
    obs = {**model.unpack(y), **model.nociceptive_drive(t, y, inputs)}
    for fns in READOUTS.values():
        for name, fn in fns.items():
            obs[name] = fn(obs["nociceptive_drive"], inputs.params["readout"])
    return obs


def _final(model: Model):
    def run(inputs, t0, jumps, t_end):
        y0, code0 = initial_state(model, inputs, t0, True)
        ys, code = integrate_run(model, inputs, y0, t0, jumps, t_end[None], ENGINE_RTOL,
                                 ENGINE_ATOL)
        return _observe_all(model, t_end, ys[-1], inputs), jnp.maximum(code, code0)

    return jax.vmap(run)


@dataclass(frozen=True)
class Batch:
    """Runs of one scenario: inputs with a leading run axis, the start, jumps, save day."""

    inputs: ModelInputs
    t0: float
    jump_ts: np.ndarray
    day: float


def _single_batch(e: SingleRun, params: dict) -> Batch:
    prep = prepared(e.condition, e.protocol, e.days or max(e.day, 1))
    applied = get_condition(e.condition).apply(params)
    inputs = prep.inputs._replace(params=jax.tree.map(jnp.asarray, applied))
    return Batch(stack_trees([inputs]), prep.t0, prep.jump_ts, float(e.day))


def _cohort_batches(cohort: tuple, params: dict, n: int, seed: int) -> tuple[Batch, Batch]:
    condition, protocol, days = cohort
    model = Model.default()
    cond = get_condition(condition)
    covs, _, subject_params = draw_subjects(model, cond, cond.apply(params),
                                            jax.random.key(seed), jnp.arange(n))
    subjects = Subjects(ids=np.arange(n), covariates=covs, genotypes={},
                        params=subject_params)
    arms = (prepared(condition, protocol, days), prepared(condition, "sedentary", days))
    return tuple(Batch(cohort_inputs(p, subjects), p.t0, p.jump_ts, float(p.days))
                 for p in arms)


def run_experiments(experiments: tuple[Experiment, ...], params: dict, n: int = COHORT_SIZE,
                    seed: int = COHORT_SEED) -> tuple[Array, Array]:
    """Values of ``experiments`` with ``params`` and each one's failure code (0 = ok), from
    one vmapped solve of all their runs."""
    batches: list[Batch] = []
    where: dict = {}
    for e in experiments:
        key = e.cohort if isinstance(e, CohortSMD) else e
        if key in where:
            continue
        where[key] = len(batches)
        batches += (_cohort_batches(key, params, n, seed) if isinstance(e, CohortSMD)
                    else [_single_batch(e, params)])
    sizes = [jax.tree.leaves(b.inputs)[0].shape[0] for b in batches]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    inputs = jax.tree.map(lambda *xs: jnp.concatenate(xs), *(b.inputs for b in batches))
    t0 = jnp.asarray(np.repeat([b.t0 for b in batches], sizes))
    jumps = jnp.asarray(np.concatenate([np.tile(b.jump_ts, (k, 1))
                                        for b, k in zip(batches, sizes, strict=True)]))
    t_end = jnp.asarray(np.repeat([b.day for b in batches], sizes))
    obs, codes = _final(Model.default())(inputs, t0, jumps, t_end)

    def rows(tree, i: int):
        return jax.tree.map(lambda x: x[offsets[i]:offsets[i + 1]], tree)

    values, failures = [], []
    for e in experiments:
        if isinstance(e, CohortSMD):
            arms = []
            for arm in (0, 1):
                i = where[e.cohort] + arm
                z = jax.random.normal(
                    jax.random.fold_in(jax.random.key(seed), _noise_stream(e.readout, arm)),
                    (sizes[i],))
                arms.append(measure(e.readout, rows(obs[e.readout], i),
                                    rows(inputs.params["readout"], i), z))
                failures.append(jnp.max(rows(codes, i)))
            values.append(standardised_mean_difference(e.readout, *arms))
        else:
            i = where[e]
            values.append(rows(obs[e.quantity], i)[0])
            failures.append(rows(codes, i)[0])
    return jnp.stack(values), jnp.stack(failures)


def _noise_stream(readout: str, arm: int) -> int:
    """A fixed random stream per read-out and arm (measurement error draws)."""
    return 1_000_003 + 2 * sorted(READOUT_DIRECTION).index(readout) + arm


def standardised_mean_difference(readout: str, exercise: Array, sedentary: Array) -> Array:
    """SMD of exercise vs sedentary (positive = less pain), pooled SD of the two arms as
    between independent groups (no small-sample correction)."""
    pooled = jnp.sqrt((jnp.var(exercise, ddof=1) + jnp.var(sedentary, ddof=1)) / 2.0)
    return READOUT_DIRECTION[readout] * (jnp.mean(exercise) - jnp.mean(sedentary)) / pooled
