"""Virtual experiments as traceable functions of the parameters (so they can be fitted).

Differentiable end to end (diffrax, with steady states through optimistix's implicit
function theorem):

- :class:`SingleRun`: one animal or patient with the nominal parameters; a state or read-out
  on a given day.
- :class:`CohortSMD`: ``n`` subjects drawn from the population (covariates, genotypes and
  parameter spread, :mod:`exerpain.population.sampling`), each simulated with and without
  exercise (common random numbers), each read-out measured once per arm with measurement
  error (:func:`exerpain.model.readouts.measure`), summarised as the standardised mean
  difference a meta-analysis reports; :class:`CohortChangeSD`, the between-subject SD of a
  single-arm change; :class:`GenotypeSMD`, the SMD of improvement between genotypes;
- :class:`Contrast`: differences, ratios and kept fractions of single runs (blockades,
  washout, function, courses).

:func:`run_experiments` simulates every run of a set of experiments in **one** vmapped solve
(a cohort shared by several experiments is simulated once), so the set compiles once, as
a value and as a gradient. ``exerpain validate`` and ``exerpain calibrate`` call the same
functions, so the value a calibration fits is the value validation shows.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cache

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from exerpain.model.conditions import get_condition
from exerpain.model.function import functional_readouts
from exerpain.model.readouts import READOUT_DIRECTION, READOUTS, measure
from exerpain.model.registry import Model, ModelInputs
from exerpain.population.covariates import SEX_FRACTIONS
from exerpain.population.sampling import Subjects, draw_subjects, fixed_genotypes_array
from exerpain.simulate.engine import ENGINE_ATOL, ENGINE_RTOL, cohort_inputs
from exerpain.simulate.scenario import Prepared, Scenario
from exerpain.simulate.solve import initial_state, integrate_run, stack_trees

COHORT_SIZE = 128
COHORT_SEED = 11


@dataclass(frozen=True)
class SingleRun:
    """``quantity`` (a qualified state name or an observable) of one run on ``day``.

    ``interventions`` act in both arms as in :func:`exerpain.simulate.pair.simulate_pair`;
    ``start_day``/``stop_day`` reschedule the protocol (e.g. preconditioning, washout).
    ``log`` takes the natural logarithm of the quantity (e.g. log nociceptive drive).
    """

    condition: str
    protocol: str
    day: int
    quantity: str
    days: int | None = None
    interventions: tuple[str, ...] = ()
    start_day: float | None = None
    stop_day: float | None = None
    log: bool = False

    @property
    def scenario(self) -> tuple:
        return (self.condition, self.protocol, self.days or max(self.day, 1),
                self.interventions, self.start_day, self.stop_day)


@dataclass(frozen=True)
class CohortSMD:
    """SMD of ``readout`` (positive = less pain) in the virtual cohort of ``condition`` x
    ``protocol`` on the last day. ``readout`` may also be a model state (a biomarker,
    positive = higher with exercise). ``sex`` fixes the share of females of a rodent cohort
    (``male``, ``female`` or ``mixed``; ``None`` = the condition's population). ``blood``
    reads a circulating marker of patients: the cohort runs with the training drive of the
    blood compartment, ``responsiveness_human x blood_marker_drive_ratio`` (see
    :func:`blood_params`)."""

    condition: str
    protocol: str
    readout: str
    days: int | None = None
    sex: str | None = None
    blood: bool = False

    def __post_init__(self) -> None:
        if self.blood and get_condition(self.condition).kind != "human":
            raise ValueError(f"CohortSMD.blood: {self.condition!r} is not a human condition")

    @property
    def cohorts(self) -> tuple[tuple, ...]:
        return ((self.condition, self.protocol, self.days, (), self.sex, self.blood),)


@dataclass(frozen=True)
class CohortChangeSD:
    """Between-subject SD of the measured change of ``readout`` in the exercise arm: each
    subject measured once before (its sedentary value; for a condition in steady state this
    is its day-0 value) and once at the end, as a single-arm trial reports it."""

    condition: str
    protocol: str
    readout: str
    days: int | None = None

    @property
    def cohorts(self) -> tuple[tuple, ...]:
        return ((self.condition, self.protocol, self.days, (), None, False),)


@dataclass(frozen=True)
class GenotypeSMD:
    """SMD of the measured improvement with exercise (sedentary minus exercise value, in the
    direction of less pain) between ``carrier`` and ``reference`` genotypes of ``variant``,
    the same virtual subjects with the genotype fixed (positive = carriers improve more)."""

    condition: str
    protocol: str
    readout: str
    variant: str
    carrier: str
    reference: str
    days: int | None = None

    @property
    def cohorts(self) -> tuple[tuple, ...]:
        return tuple((self.condition, self.protocol, self.days, ((self.variant, label),), None,
                      False) for label in (self.carrier, self.reference))


COMBINE = {
    "difference": lambda a, b: a - b,
    "ratio": lambda a, b: a / b,
    "kept": lambda a, b, c, d: (a - b) / (c - d),
}
"""How a :class:`Contrast` combines its parts: ``difference`` a - b, ``ratio`` a / b,
``kept`` (a - b) / (c - d) (e.g. the part of an exercise effect left under a blockade, or
left weeks after training stopped)."""


@dataclass(frozen=True)
class Contrast:
    """A contrast of single runs, combined by :data:`COMBINE` ``[how]``."""

    how: str
    parts: tuple[SingleRun, ...]

    def __post_init__(self) -> None:
        if self.how not in COMBINE:
            raise ValueError(f"Contrast.how: {self.how!r} not in {sorted(COMBINE)}")


CohortExperiment = CohortSMD | CohortChangeSD | GenotypeSMD
Experiment = SingleRun | CohortExperiment | Contrast


def kept_under(condition: str, protocol: str, blockade: str, quantity: str, day: int,
               log: bool = False) -> Contrast:
    """Share of the exercise effect on ``quantity`` left under ``blockade``, like with like as
    the experiments did: (exercise + blockade - sedentary + blockade) / (exercise -
    sedentary). With ``log``, on the logarithm of the quantity (e.g. nociceptive drive)."""
    def run(p: str, iv: tuple[str, ...]) -> SingleRun:
        return SingleRun(condition, p, day, quantity, interventions=iv, log=log)

    b = (blockade,)
    return Contrast("kept", (run(protocol, b), run("sedentary", b), run(protocol, ()),
                             run("sedentary", ())))


def benefit_fraction(condition: str, protocol: str, day: int, quantity: str, **kw
                     ) -> Contrast:
    """Exercise benefit on ``quantity`` over the sedentary deficit from sham on ``day``:
    (exercise - sedentary) / (sham - sedentary); ``kw`` reschedules the exercise arm."""
    return Contrast("kept", (SingleRun(condition, protocol, day, quantity, **kw),
                             SingleRun(condition, "sedentary", day, quantity),
                             SingleRun("sham", "sedentary", day, quantity),
                             SingleRun(condition, "sedentary", day, quantity)))


def benefit_of(condition: str, protocol: str, day: int, quantity: str, **kw) -> Contrast:
    """Exercise minus sedentary ``quantity`` on ``day`` (interventions in both arms)."""
    return Contrast("difference", (SingleRun(condition, protocol, day, quantity, **kw),
                                   SingleRun(condition, "sedentary", day, quantity, **kw)))


@cache
def prepared(condition: str, protocol: str, days: int | None = None,
             interventions: tuple[str, ...] = (), start_day: float | None = None,
             stop_day: float | None = None) -> Prepared:
    """Solver arrays of a scenario (its parameters are replaced at run time); built eagerly
    even when first asked for inside a traced function, so the cache holds concrete arrays."""
    with jax.ensure_compile_time_eval():
        return Scenario.create(condition=condition, protocol=protocol, days=days,
                               interventions=interventions, start_day=start_day,
                               stop_day=stop_day).build(Model.default())


def _observe_all(model: Model, t: Array, y: Array, inputs: ModelInputs) -> dict[str, Array]:
    """States, nociceptive drive and every read-out (pain and function) of every species."""
    state = model.unpack(y)
    obs = {**state, **model.nociceptive_drive(t, y, inputs)}
    for kind, fns in READOUTS.items():
        for name, fn in fns.items():
            obs[name] = fn(obs["nociceptive_drive"], inputs.params["readout"])
        obs.update(functional_readouts(kind, state, inputs.params["readout"]))
    return obs


def _final(model: Model):
    def run(inputs, t0, jumps, t_end):
        y0, code0 = initial_state(model, inputs, t0, True, fallback=False)
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
    prep = prepared(*e.scenario)
    applied = get_condition(e.condition).apply(params)
    inputs = prep.inputs._replace(params=jax.tree.map(jnp.asarray, applied))
    return Batch(stack_trees([inputs]), prep.t0, prep.jump_ts, float(e.day))


def blood_params(params: dict) -> dict:
    """``params`` with the training drive of the blood compartment: circulating markers of
    patients (serum BDNF, plasma cytokines, malondialdehyde, SOD) reflect muscle, blood-cell
    and liver adaptation to training, which need not reach the nerve to the same degree, so
    a blood-marker experiment runs the same mechanisms with ``responsiveness_human``
    multiplied by ``blood_marker_drive_ratio`` (1 = no difference). An assumption of the
    measurement model, stated with the parameter; the ratio is one number for every blood
    marker, so the markers still constrain each mechanism's exercise gain against the
    others."""
    ex = dict(params["exercise"])
    ex["responsiveness_human"] = ex["responsiveness_human"] * ex["blood_marker_drive_ratio"]
    return {**params, "exercise": ex}


def _cohort_batches(cohort: tuple, params: dict, n: int, seed: int) -> tuple[Batch, Batch]:
    """Exercise and sedentary runs of one virtual cohort ``(condition, protocol, days,
    fixed genotypes, sex, blood)``."""
    condition, protocol, days, genotypes, sex, blood = cohort
    model = Model.default()
    cond = get_condition(condition)
    if blood:
        params = blood_params(params)
    covs, _, subject_params = draw_subjects(
        model, cond, cond.apply(params), jax.random.key(seed), jnp.arange(n),
        fixed_genotypes=fixed_genotypes_array(dict(genotypes)),
        female_fraction=None if sex is None else SEX_FRACTIONS[sex])
    subjects = Subjects(ids=np.arange(n), covariates=covs, genotypes={},
                        params=subject_params)
    arms = (prepared(condition, protocol, days), prepared(condition, "sedentary", days))
    return tuple(Batch(cohort_inputs(p, subjects), p.t0, p.jump_ts, float(p.days))
                 for p in arms)


def _parts(experiments: tuple[Experiment, ...]) -> list[SingleRun | tuple]:
    """Every single run and cohort the experiments need (contrasts unfolded)."""
    out: list = []
    for e in experiments:
        if isinstance(e, Contrast):
            out += list(e.parts)
        elif isinstance(e, SingleRun):
            out.append(e)
        else:
            out += list(e.cohorts)
    return out


def run_experiments(experiments: tuple[Experiment, ...], params: dict, n: int = COHORT_SIZE,
                    seed: int = COHORT_SEED) -> tuple[Array, Array]:
    """Values of ``experiments`` with ``params`` and each one's failure code (0 = ok), from
    one vmapped solve of all their runs (a run shared by several experiments is solved
    once)."""
    batches: list[Batch] = []
    where: dict = {}
    for part in _parts(experiments):
        key = (part.scenario, part.day) if isinstance(part, SingleRun) else part
        if key in where:
            continue
        where[key] = len(batches)
        batches += ([_single_batch(part, params)] if isinstance(part, SingleRun)
                    else _cohort_batches(part, params, n, seed))
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

    def single(e: SingleRun) -> tuple[Array, Array]:
        i = where[(e.scenario, e.day)]
        value = rows(obs[e.quantity], i)[0]
        return (jnp.log(value) if e.log else value), rows(codes, i)[0]

    def measured(cohort: tuple, readout: str) -> tuple[Array, Array, Array]:
        """One measurement of ``readout`` per subject in the exercise and sedentary arms."""
        arms, failed = [], jnp.asarray(0)
        for arm in (0, 1):
            i = where[cohort] + arm
            z = jax.random.normal(
                jax.random.fold_in(jax.random.key(seed), _noise_stream(readout, arm)),
                (sizes[i],))
            arms.append(measure(readout, rows(obs[readout], i),
                                rows(inputs.params["readout"], i), z))
            failed = jnp.maximum(failed, jnp.max(rows(codes, i)))
        return arms[0], arms[1], failed

    def cohort(e: CohortExperiment) -> tuple[Array, Array]:
        direction = READOUT_DIRECTION.get(e.readout, 1.0)
        if isinstance(e, CohortSMD):
            exercise, sedentary, failed = measured(e.cohorts[0], e.readout)
            return standardised_mean_difference(e.readout, exercise, sedentary), failed
        if isinstance(e, CohortChangeSD):
            exercise, sedentary, failed = measured(e.cohorts[0], e.readout)
            return jnp.std(exercise - sedentary, ddof=1), failed
        groups = [measured(key, e.readout) for key in e.cohorts]
        improvement = [direction * (ex - sed) for ex, sed, _ in groups]
        return pooled_smd(*improvement), jnp.maximum(groups[0][2], groups[1][2])

    values, failures = [], []
    for e in experiments:
        if isinstance(e, Contrast):
            got = [single(part) for part in e.parts]
            value = COMBINE[e.how](*(v for v, _ in got))
            code = jnp.max(jnp.stack([c for _, c in got]))
        else:
            value, code = single(e) if isinstance(e, SingleRun) else cohort(e)
        values.append(value)
        failures.append(code)
    return jnp.stack(values), jnp.stack(failures)


def _noise_stream(readout: str, arm: int) -> int:
    """A fixed random stream per read-out (or biomarker) and arm (measurement error draws)."""
    names = sorted(READOUT_DIRECTION)
    index = names.index(readout) if readout in names else zlib.crc32(readout.encode()) % 10_007
    return 1_000_003 + 2 * index + arm


def standardised_mean_difference(readout: str, exercise: Array, sedentary: Array) -> Array:
    """SMD of exercise vs sedentary (positive = less pain; for a biomarker, a model state,
    positive = higher with exercise), pooled SD of the two arms as between independent groups
    (no small-sample correction)."""
    return READOUT_DIRECTION.get(readout, 1.0) * pooled_smd(exercise, sedentary)


def pooled_smd(a: Array, b: Array) -> Array:
    """``(mean(a) - mean(b)) / pooled SD`` of two independent groups (no small-sample
    correction)."""
    pooled = jnp.sqrt((jnp.var(a, ddof=1) + jnp.var(b, ddof=1)) / 2.0)
    return (jnp.mean(a) - jnp.mean(b)) / pooled
