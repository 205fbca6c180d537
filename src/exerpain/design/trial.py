"""Virtual randomised trials: screening, randomisation, the batched solve, diaries, dropout
and the analysis, over replicate trials.

Per group of replicate trials (sized so that its patients fit one memory budget):

1. **Screening.** Virtual patients are drawn from the condition's population (each with
   its draw from the calibration posterior, as in cohorts) and solved untreated through
   the run-in (one vmapped solve). Their run-in diaries (:mod:`.reporting`) give the
   baseline; those inside the inclusion ranges are eligible, in order, until every
   replicate has its ``n_randomised``.
2. **Randomisation** within each replicate: the arms' counts by their weights (largest
   remainder), then a random permutation.
3. **Treatment.** Every randomised patient of every replicate is solved from their day-0
   state under their arm (exercise from day 0 to the end of treatment at their own
   adherence, stopping early if they quit; drugs titrated from day 0; blockades), daily,
   in one vmapped solve (fixed-width batches, so it compiles once).
4. **Reporting and dropout.** Daily diaries with the placebo response; dropout at random,
   by pain, or for adverse events; the diary stops at dropout.
5. **Analysis** of each replicate (:mod:`.analysis`).

Solver failures are reported per patient (``status``) and the patient is analysed as a
dropout on day 0 (baseline carried forward under LOCF), never silently removed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np
import pyarrow as pa

from exerpain.design.analysis import analyse, window_means
from exerpain.design.reporting import Reporting, fluctuation, placebo_fractions, report
from exerpain.design.spec import Arm, TrialDesign
from exerpain.errors import InputError
from exerpain.model.calibrated import posterior_draws
from exerpain.model.conditions import get_condition
from exerpain.model.overrides import apply_overrides, check_overrides, parse_overrides
from exerpain.model.pharmacology import DosingInputs, dosing_inputs, no_dosing
from exerpain.model.readouts import nrs
from exerpain.model.registry import Model, ModelInputs
from exerpain.population.sampling import sample_subjects
from exerpain.precision import float64
from exerpain.simulate.distribute import check_dask, map_chunks, worker_plan
from exerpain.simulate.engine import broadcast, check_seed, subject_base
from exerpain.simulate.scenario import Prepared, Scenario
from exerpain.simulate.solve import (
    EXPLICIT,
    FAILURE_REASONS,
    MAX_STEPS,
    STIFF,
    batched_initial_state,
    integrate_run,
    max_steps_for,
    padded_slices,
    stack_trees,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

LANES = {"cpu": 512}
LANES_ACCELERATOR = 32_768
PATIENTS_PER_GROUP = 40_000  # patients solved per group of replicates (memory bound)
SCREEN_BLOCK = 2_048
MAX_SCREENED_PER_RANDOMISED = 200
RTOL, ATOL = 1e-6, 1e-8
MAX_REPLICATES = 20_000
SHAPE_DAYS = 28  # trials are solved to a whole number of 4-week blocks (one compile each)


def _lanes() -> int:
    return LANES.get(jax.default_backend(), LANES_ACCELERATOR)


@dataclass(frozen=True)
class ArmPlan:
    """An arm as solver inputs (one patient's worth, before per-patient adherence)."""

    arm: Arm
    prepared: Prepared
    dosing: DosingInputs
    exercises: bool


def plan_arms(design: TrialDesign, model: Model, base: Path | None) -> list[ArmPlan]:
    """Each arm's inputs: its programme from day 0 through the last day of treatment, its
    drugs titrated from day 0 through that day, its blockades, over ``design.days`` days.
    (Inputs act on ``[start, stop)``; the last treatment day is ``7 x weeks``, so they stop
    the day after: a drug stopped on the endpoint's last day would be missing from its
    reading.)"""
    end = 7.0 * design.weeks.treatment + 1.0
    plans = []
    for arm in design.arms:
        try:
            protocol = arm.resolved_protocol(base)
            if not protocol.is_sedentary:
                protocol = protocol.with_schedule(0.0, end)
            prepared = Scenario.create(condition=design.condition, protocol=protocol,
                                       interventions=arm.interventions,
                                       days=design.days).build(model)
            dosing = (dosing_inputs([(d.name, d.dose_mg_day) for d in arm.drugs], 0.0, end,
                                    model.target_names)
                      if arm.drugs else no_dosing(model.target_names))
        except InputError as err:
            raise InputError(f"arms.{arm.name}: {err}") from None
        plans.append(ArmPlan(arm, prepared, dosing, not protocol.is_sedentary))
    return plans


def _observe_nrs(model: Model):
    def one(t, y, inputs):
        drive = model.nociceptive_drive(t, y, inputs)["nociceptive_drive"]
        return nrs(drive, inputs.params["readout"])
    return one


@lru_cache(maxsize=8)
def _screen_solver(model: Model, steady: bool, n_save: int, method: str = EXPLICIT,
                   max_steps: int = MAX_STEPS):
    """``(inputs, jumps, t0, save_ts) -> (nrs (n, n_save), y_last (n, S), code (n,))``: the
    untreated run-in."""
    observe = _observe_nrs(model)

    def single(inputs, y0, jumps, t0, save_ts):
        ys, code = integrate_run(model, inputs, y0, t0, jumps, save_ts, RTOL, ATOL, method,
                                 max_steps)
        values = jax.vmap(observe, in_axes=(0, 0, None))(save_ts, ys, inputs)
        return values, ys[-1], code

    def batch(inputs, jumps, t0, save_ts):
        y0, code0 = batched_initial_state(model, inputs, t0, steady)
        values, y_last, code = jax.vmap(single, in_axes=(0, 0, 0, None, None))(
            inputs, y0, jumps, t0, save_ts)
        return values, y_last, jnp.maximum(code, code0)

    return jax.jit(batch)


@lru_cache(maxsize=8)
def _treatment_solver(model: Model, n_days: int, method: str = EXPLICIT,
                      max_steps: int = MAX_STEPS):
    """``(inputs, y0, jumps) -> (nrs (n, n_days), code (n,))``: days 1..n_days from the
    day-0 state."""
    observe = _observe_nrs(model)
    ts = jnp.arange(1, n_days + 1, dtype=float)

    def single(inputs, y0, jumps):
        ys, code = integrate_run(model, inputs, y0, jnp.asarray(0.0), jumps, ts, RTOL, ATOL,
                                 method, max_steps)
        return jax.vmap(observe, in_axes=(0, 0, None))(ts, ys, inputs), code

    return jax.jit(jax.vmap(single))


def _in_lanes(fn: Callable, n: int, *batched, shared=(), lanes: int | None = None):
    """Call ``fn`` on fixed-width slices of the batched pytrees (padded with the first
    row), so one compiled program serves every call; results concatenated."""
    lanes = lanes or _lanes()
    outs = []
    for idx, pad in padded_slices(np.arange(n), lanes):
        args = [jax.tree_util.tree_map(lambda x, pad=pad: x[pad], b) for b in batched]
        res = fn(*args, *shared)
        kept = len(idx)
        outs.append(jax.tree_util.tree_map(lambda r, k=kept: np.asarray(r)[:k], res))
    return jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *outs)


RETRY_LANES = 8  # runs per compiled stiff re-solve


def _solve_in_lanes(solver_for: Callable[[str, int], Callable], n: int, *batched, shared=()
                    ) -> tuple[np.ndarray, ...]:
    """:func:`_in_lanes` with Tsit5 (``solver_for(method, max_steps)`` gives the compiled
    solver, whose last result is the failure code), then the runs that failed again with the
    stiff Kvaerno5, :data:`RETRY_LANES` at a time, before they are reported failed."""
    out = [np.array(r) for r in _in_lanes(solver_for(EXPLICIT, max_steps_for(EXPLICIT)), n,
                                          *batched, shared=shared)]
    failed = np.flatnonzero(out[-1] != 0)
    if len(failed):
        subset = [jax.tree_util.tree_map(lambda x: np.asarray(x)[failed], b) for b in batched]
        again = _in_lanes(solver_for(STIFF, max_steps_for(STIFF)), len(failed), *subset,
                          shared=shared, lanes=RETRY_LANES)
        for values, retried in zip(out, again, strict=True):
            values[failed] = retried
    return tuple(out)


def _jumps(inputs: ModelInputs) -> jax.Array:
    """(n, 6) days where the inputs jump: onset, end of insult, programme start and stop,
    dosing start and stop."""
    c, e, d = inputs.condition, inputs.exercise, inputs.dosing
    return jnp.sort(jnp.stack([c["onset_day"], c["onset_day"] + c["insult_days"], e.start,
                               e.stop, d.start, d.stop], axis=-1), axis=-1)


@dataclass
class Pool:
    """Eligible patients of a group, in screening order."""

    ids: np.ndarray
    params: dict
    covariates: dict[str, np.ndarray]
    y0: np.ndarray
    run_in_true: np.ndarray  # (n, run-in days) true NRS
    noise: np.ndarray  # (n, run-in + trial days) fluctuation of ratings
    baseline: np.ndarray
    status: np.ndarray  # failure code of the run-in solve (0 = ok)
    screened: int


def _take(tree, idx):
    return jax.tree_util.tree_map(lambda x: np.asarray(x)[idx], tree)


def _concat(trees):
    return jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *trees)


def _covariate_ok(design: TrialDesign, covs: dict[str, np.ndarray]) -> np.ndarray:
    inc = design.inclusion
    ok = np.ones(len(covs["age"]), dtype=bool)
    for name in ("age", "hba1c"):
        low, high = getattr(inc, f"{name}_min"), getattr(inc, f"{name}_max")
        value = covs[name]
        if low is not None:
            ok &= value >= low
        if high is not None:
            ok &= value <= high
    return ok


def screen(design: TrialDesign, model: Model, reporting: Reporting, needed: int,
           first_id: int, key, draws: dict, rng: np.random.Generator,
           defaults: dict | None = None) -> Pool:
    """Screen patients ``first_id, first_id + 1, ...`` until ``needed`` are eligible. The
    run-in is untreated whatever the arms hold (no programme, drug or blockade before
    randomisation)."""
    untreated = Scenario.create(condition=design.condition, days=design.days).build(model)
    condition = get_condition(design.condition)
    defaults = model.default_params() if defaults is None else defaults
    run_in_days = np.arange(-7 * design.weeks.run_in + 1, 1, dtype=float)
    t0 = untreated.t0
    save = np.unique(np.maximum(run_in_days, t0))
    column = np.searchsorted(save, np.maximum(run_in_days, t0))
    solver = partial(_screen_solver, model, untreated.steady_start, len(save))
    sedentary = untreated.inputs._replace(dosing=no_dosing(model.target_names))
    width = len(run_in_days) + design.days
    found: list[Pool] = []
    n_found, screened, next_id = 0, 0, first_id
    limit = MAX_SCREENED_PER_RANDOMISED * needed
    inc = design.inclusion
    while n_found < needed:
        if screened >= limit:
            raise InputError(
                f"inclusion: only {n_found} of {screened} screened patients are eligible "
                f"(at most {MAX_SCREENED_PER_RANDOMISED} are screened per patient needed); "
                "widen the inclusion criteria")
        ids = np.arange(next_id, next_id + SCREEN_BLOCK)
        next_id += SCREEN_BLOCK
        screened += SCREEN_BLOCK
        subjects = sample_subjects(model, condition, subject_base(defaults, condition, draws, ids),
                                   key, ids)
        ok = _covariate_ok(design, subjects.covariates)
        idx = np.flatnonzero(ok)
        if not len(idx):
            continue
        params = _take(subjects.params, idx)
        inputs = broadcast(sedentary, len(idx))._replace(params=params)
        values, y_last, code = _solve_in_lanes(solver, len(idx), inputs, _jumps(inputs),
                                         shared=(jnp.asarray(t0), jnp.asarray(save)))
        true = values[:, column]
        noise = fluctuation(rng, len(idx), width, reporting)
        diary = report(true, run_in_days, np.zeros(len(idx)), np.zeros(len(idx)),
                       noise[:, : len(run_in_days)], reporting)
        baseline = diary[:, -7:].mean(axis=1)  # the last run-in week (run-in >= 1 week)
        eligible = ((baseline >= inc.baseline_pain_min) & (baseline <= inc.baseline_pain_max)
                    & (code == 0))
        keep = np.flatnonzero(eligible)[: needed - n_found]
        n_found += len(keep)
        found.append(Pool(ids[idx][keep], _take(params, keep),
                          {k: v[idx][keep] for k, v in subjects.covariates.items()},
                          y_last[keep], true[keep], noise[keep], baseline[keep], code[keep],
                          0))
    pool = Pool(np.concatenate([p.ids for p in found]), _concat([p.params for p in found]),
                _concat([p.covariates for p in found]), np.concatenate([p.y0 for p in found]),
                np.concatenate([p.run_in_true for p in found]),
                np.concatenate([p.noise for p in found]),
                np.concatenate([p.baseline for p in found]),
                np.concatenate([p.status for p in found]), screened)
    return pool


def allocate(rng: np.random.Generator, n: int, weights: np.ndarray) -> np.ndarray:
    """Arm of each of ``n`` patients: counts by weight (largest remainder), permuted."""
    share = n * weights / weights.sum()
    counts = np.floor(share).astype(int)
    counts[np.argsort(-(share - counts), kind="stable")[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(weights)), counts))


def _adherence(rng: np.random.Generator, arm: Arm, population: np.ndarray) -> np.ndarray:
    """Each patient's fraction of sessions done (the population's own draw when the arm
    does not set it)."""
    if arm.adherence is None:
        return population
    m, s = arm.adherence.mean, arm.adherence.sd
    if s == 0 or m >= 1.0:
        return np.full(len(population), m)
    concentration = m * (1 - m) / s ** 2 - 1
    return rng.beta(m * concentration, (1 - m) * concentration, len(population))


def _quit_day(rng: np.random.Generator, arm: Arm, n: int, end: float) -> np.ndarray:
    if arm.adherence is None or arm.adherence.halflife_weeks is None:
        return np.full(n, end)
    mean_days = 7.0 * arm.adherence.halflife_weeks / math.log(2.0)
    return np.minimum(rng.exponential(mean_days, n), end)


def _dropout(rng: np.random.Generator, arm: Arm, diary: np.ndarray, baseline: np.ndarray,
             end_day: int, run_in: int) -> tuple[np.ndarray, np.ndarray]:
    """Dropout day (``end_day`` or more: completed) and reason (0 none, 1 other, 2 adverse
    event) of each patient of ``arm``; ``diary`` columns start on day ``1 - run_in``."""
    d = arm.dropout
    n = len(baseline)
    day = np.full(n, np.inf)
    if d.rate > 0:
        hazard = -math.log(max(1.0 - d.rate, 1e-12)) / end_day
        if d.mechanism == "mcar" or d.pain_log_hazard_per_point == 0:
            day = rng.exponential(1.0 / hazard, n) if hazard > 0 else day
        else:  # weekly, by last week's pain relative to baseline
            weeks = math.ceil(end_day / 7)
            alive = np.ones(n, dtype=bool)
            for w in range(weeks):
                last = diary[:, run_in + 7 * w - 7: run_in + 7 * w].mean(axis=1)
                h = 7.0 * hazard * np.exp(d.pain_log_hazard_per_point * (last - baseline))
                leave = alive & (rng.random(n) < -np.expm1(-h))
                day[leave] = 7 * w + rng.uniform(0, 7, leave.sum())
                alive &= ~leave
    reason = np.where(day < end_day, 1, 0)
    if d.adverse_event_rate > 0:
        ae = rng.random(n) < d.adverse_event_rate
        ae_day = rng.uniform(0, 7 * d.adverse_event_weeks, n)
        first = ae & (ae_day < day)
        day = np.where(first, ae_day, day)
        reason = np.where(first & (ae_day < end_day), 2, reason)
    return np.floor(np.minimum(day, end_day)).astype(int), reason


@dataclass
class ReplicateResult:
    comparisons: dict
    arms: dict


def _solve_treatment(model: Model, plans: list[ArmPlan], pool: Pool, arm_of: np.ndarray,
                     adherence: np.ndarray, quit: np.ndarray, n_days: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    n = len(arm_of)
    stacked = stack_trees([p.prepared.inputs._replace(dosing=p.dosing) for p in plans])
    inputs = jax.tree_util.tree_map(lambda x: x[jnp.asarray(arm_of)], stacked)
    ex = inputs.exercise
    inputs = inputs._replace(
        params=pool.params,
        exercise=ex._replace(sessions_per_day=ex.sessions_per_day * jnp.asarray(adherence),
                             stop=jnp.maximum(jnp.minimum(ex.stop, jnp.asarray(quit)),
                                              ex.start)))
    solved = SHAPE_DAYS * math.ceil(n_days / SHAPE_DAYS)  # few compiled shapes
    values, code = _solve_in_lanes(partial(_treatment_solver, model, solved), n, inputs,
                                   jnp.asarray(pool.y0), _jumps(inputs))
    return values[:, :n_days], code


@dataclass
class TrialRun:
    """Per replicate, its comparisons and arm results; and the first replicate's patients
    and diaries (tables)."""

    replicates: list[ReplicateResult]
    patients: pa.Table
    diary: pa.Table
    screened: int
    failed: int
    failure_reasons: dict[str, int]
    design: TrialDesign | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per replicate trial and comparison (arm vs control): estimate, se, p,
        ci_low, ci_high, smd, model_difference (NRS points)
        (:func:`exerpain.design.results.replicate_rows`)."""
        import pandas as pd

        from exerpain.design.results import replicate_rows

        return pd.DataFrame(replicate_rows(self))

    def _alpha(self) -> float:
        return self.design.analysis.alpha if self.design is not None else 0.05

    def __repr__(self) -> str:
        from exerpain.design.results import power_of

        name = f"{self.design.name}, n={self.design.n_randomised}, " if self.design else ""
        parts = []
        comparisons = self.replicates[0].comparisons if self.replicates else {}
        for arm in list(comparisons)[:2]:
            rows = [r.comparisons[arm] for r in self.replicates]
            estimate = np.asarray([row["estimate"] for row in rows], dtype=float)
            power = power_of([row["p"] for row in rows], self._alpha())["power"]
            mean = float(np.nanmean(estimate)) if np.isfinite(estimate).any() else math.nan
            parts.append(f"{arm} difference {mean:.2f} NRS, power {power:.2f}")
        more = f" (+{len(comparisons) - 2} more)" if len(comparisons) > 2 else ""
        return (f"TrialRun({name}{len(self.replicates)} replicate trials: "
                f"{'; '.join(parts)}{more}; {self.failed} failed patients)")

    def plot(self) -> Figure:
        """Estimated differences and p values over the replicate trials, per comparison
        (:func:`exerpain.interfaces.figures.trial_figure`)."""
        from exerpain.interfaces.figures import trial_figure

        title = f"{self.design.name}: {len(self.replicates)} trials" if self.design else ""
        return trial_figure(self.to_frame(), title, self._alpha())


@dataclass(frozen=True)
class _TrialPlan:
    """What every group of replicate trials shares, derived once per process."""

    design: TrialDesign
    model: Model
    plans: list
    reporting: Reporting
    defaults: dict
    draws: dict
    seed: int
    per_group: int
    replicates: int


@dataclass
class _GroupResult:
    results: list[ReplicateResult]
    tables: tuple | None  # the first replicate's patients and diary (group 0 only)
    screened: int
    failed: int
    reasons: dict[str, int]


def _trial_plan(design: TrialDesign, replicates: int, seed: int, base: Path | None,
                model: Model | None, posterior: int, params: dict | None) -> _TrialPlan:
    model = model or Model.default()
    if isinstance(replicates, bool) or not isinstance(replicates, int) or not (
            1 <= replicates <= MAX_REPLICATES):
        raise InputError(f"replicates: must be an integer from 1 to {MAX_REPLICATES}, "
                         f"got {replicates!r}")
    check_seed(seed)
    overrides = check_overrides(parse_overrides(params), model, get_condition(design.condition))
    defaults = apply_overrides(model.default_params(), overrides)
    readout = defaults["readout"]
    d = design.diary
    reporting = Reporting.from_values(readout["nrs_noise_sd"], None, d.noise, d.rounding,
                                      d.placebo)
    draws = posterior_draws(model.parameter_table(declared=True), posterior, seed) \
        if posterior else {}
    draws = {k: v for k, v in draws.items() if k[1] not in overrides.get(k[0], {})}
    per_group = max(1, PATIENTS_PER_GROUP // design.n_randomised)
    return _TrialPlan(design, model, plan_arms(design, model, base), reporting, defaults,
                      draws, seed, per_group, replicates)


def group_key(key: jax.Array, g0: int) -> jax.Array:
    """The population key of the group of replicates starting at replicate ``g0``: the
    trial's key for the first group, folded with ``g0`` for the others, so that each group
    screens its own patients (ids from 0) whatever ran before it (groups are independent
    tasks, :mod:`exerpain.simulate.distribute`)."""
    return key if g0 == 0 else jax.random.fold_in(key, g0)


def _group(tp: _TrialPlan, g0: int) -> _GroupResult:
    """Replicates ``g0`` .. ``g0 + per_group - 1``: screening, randomisation, treatment,
    dropout and analysis; depends on ``(seed, g0)`` only."""
    design, plans = tp.design, tp.plans
    n = design.n_randomised
    group = min(tp.per_group, tp.replicates - g0)
    weights = np.array([a.weight for a in design.arms])
    control = next(i for i, a in enumerate(design.arms) if a.control)
    run_in = 7 * design.weeks.run_in
    end = 7 * design.weeks.treatment
    rng = np.random.default_rng([tp.seed, g0])
    pool = screen(design, tp.model, tp.reporting, group * n, 0,
                  group_key(jax.random.key(tp.seed), g0), tp.draws, rng, tp.defaults)
    arm_of = np.concatenate([allocate(rng, n, weights) for _ in range(group)])
    adherence = np.empty(group * n)
    quit = np.empty(group * n)
    expectation = np.empty(group * n)
    for a, plan in enumerate(plans):
        mine = arm_of == a
        adherence[mine] = _adherence(rng, plan.arm, pool.covariates["adherence"][mine])
        quit[mine] = _quit_day(rng, plan.arm, int(mine.sum()), float(end) + 1.0)
        expectation[mine] = plan.arm.expectation
    true, code = _solve_treatment(tp.model, plans, pool, arm_of, adherence, quit, design.days)
    code = np.maximum(code, pool.status)
    reasons: dict[str, int] = {}
    for c in code[code != 0]:
        reasons[FAILURE_REASONS[int(c)]] = reasons.get(FAILURE_REASONS[int(c)], 0) + 1
    timeline = np.concatenate([pool.run_in_true, np.where(code[:, None] == 0, true,
                                                          pool.run_in_true[:, -1:])], axis=1)
    days = np.arange(1 - run_in, design.days + 1)
    placebo = placebo_fractions(rng, len(arm_of), tp.reporting)
    diary = report(timeline, days, placebo, expectation, pool.noise, tp.reporting)
    results, first_tables = [], None
    for r in range(group):
        rows = slice(r * n, (r + 1) * n)
        result, tables = _replicate(design, plans, rng, arm_of[rows], pool.baseline[rows],
                                    diary[rows], timeline[rows], code[rows], control, run_in,
                                    design.endpoint_day, design.analysis.endpoint_days,
                                    r == 0 and g0 == 0, pool, rows, adherence[rows],
                                    placebo[rows], days)
        results.append(result)
        if tables is not None:
            first_tables = tables
    return _GroupResult(results, first_tables, pool.screened, int((code != 0).sum()), reasons)


@float64
def trial_group(args: tuple, g0: int) -> _GroupResult:
    """One group of replicate trials of the default model, ``args`` being
    :func:`simulate_trials`' ``(design, replicates, seed, base, posterior, params)`` and the
    driver's replicates per group: the task a Dask worker runs (its plan built once per
    worker process, :func:`exerpain.simulate.distribute.worker_plan`)."""
    design, replicates, seed, base, posterior, params, per_group = args

    def build() -> _TrialPlan:
        return replace(_trial_plan(design, replicates, seed, base, None, posterior, params),
                       per_group=per_group)

    return _group(worker_plan(f"trial {args!r}", build), g0)


@float64
def simulate_trials(design: TrialDesign, replicates: int, seed: int, base: Path | None = None,
                    model: Model | None = None, posterior: int = 16,
                    progress: Callable[[int, int], None] | None = None,
                    params: dict | None = None, dask: str | None = None) -> TrialRun:
    """Run ``replicates`` virtual trials of ``design``. ``params``: partial overrides of the
    nominal parameters (:mod:`exerpain.model.overrides`); an overridden parameter is not
    redrawn from the calibration posterior. The replicates are solved in groups (sized to a
    memory budget) that depend on the seed and their first replicate only; ``dask`` runs the
    groups on a Dask cluster (:func:`exerpain.simulate.distribute.map_chunks`), with the
    same result bit for bit."""
    check_dask(dask)
    if dask is not None and model is not None and model is not Model.default():
        raise InputError("dask: trials of a custom model run in this process only")
    tp = _trial_plan(design, replicates, seed, base, model, posterior, params)
    task = (partial(_group, tp) if dask is None else
            partial(trial_group, (design, replicates, seed, base, posterior, params,
                                  tp.per_group)))
    results: list[ReplicateResult] = []
    first_tables = None
    screened, failed = 0, 0
    reasons: dict[str, int] = {}
    for g0, part in zip(range(0, replicates, tp.per_group),
                        map_chunks(task, range(0, replicates, tp.per_group), dask,
                                   label="trial"), strict=True):
        results += part.results
        first_tables = part.tables if part.tables is not None else first_tables
        screened += part.screened
        failed += part.failed
        for k, v in part.reasons.items():
            reasons[k] = reasons.get(k, 0) + v
        if progress:
            progress(g0 + len(part.results), replicates)
    return TrialRun(results, *first_tables, screened, failed, reasons, design)


def _replicate(design, plans, rng, arm_of, baseline, diary, timeline, code, control, run_in, end,
               e, keep_tables, pool, rows, adherence, placebo, days):
    """Dropout and analysis of one replicate; ``end`` is the endpoint's last day (patients
    who stay until then completed)."""
    n = len(arm_of)
    drop_day = np.full(n, end)
    reason = np.zeros(n, dtype=int)
    for a, plan in enumerate(plans):
        mine = np.flatnonzero(arm_of == a)
        drop_day[mine], reason[mine] = _dropout(rng, plan.arm, diary[mine], baseline[mine], end,
                                                run_in)
    failed = code != 0
    drop_day = np.where(failed, 0, drop_day)
    reason = np.where(failed, 3, reason)
    completed = drop_day >= end
    treatment_diary = diary[:, : run_in + end]
    endpoint = np.where(completed, window_means(treatment_diary, np.full(n, end), e,
                                                1 - run_in), np.nan)
    last_seen = window_means(treatment_diary, drop_day, e, 1 - run_in)
    last_seen = np.where(np.isfinite(last_seen), last_seen, baseline)
    true_change = (window_means(timeline[:, : run_in + end], np.full(n, end), e, 1 - run_in)
                   - window_means(timeline[:, : run_in + end], np.zeros(n), 7, 1 - run_in))
    an = design.analysis
    result = analyse(baseline, endpoint, last_seen, arm_of, len(plans), control, an.estimator,
                     an.missing, an.imputations, rng)
    arms = {}
    for a, plan in enumerate(plans):
        mine = arm_of == a
        used = mine & result.analysed.astype(bool)
        change = result.endpoint[used] - baseline[used]
        arms[plan.arm.name] = {
            "n_randomised": int(mine.sum()),
            "dropped_out": int((mine & ~completed & ~failed).sum()),
            "dropped_adverse_event": int((mine & (reason == 2)).sum()),
            "solver_failed": int((mine & failed).sum()),
            "completed": int((mine & completed).sum()),
            "n_analysed": int(used.sum()),
            "mean_change": float(change.mean()) if used.any() else np.nan,
            "sd_change": float(change.std(ddof=1)) if used.sum() > 1 else np.nan,
            "responder30_rate": float(np.nanmean(result.responder30[used])) if used.any()
            else np.nan,
            "responder50_rate": float(np.nanmean(result.responder50[used])) if used.any()
            else np.nan,
            "model_mean_change": float(np.nanmean(true_change[mine & ~failed]))
            if (mine & ~failed).any() else np.nan,
        }
    comparisons = {}
    for a, comp in result.comparisons.items():
        name = plans[a].arm.name
        sd = math.sqrt((arms[name]["sd_change"] ** 2
                        + arms[plans[control].arm.name]["sd_change"] ** 2) / 2)
        comparisons[name] = {"estimate": comp.estimate, "se": comp.se, "p": comp.p,
                             "ci_low": comp.ci95[0], "ci_high": comp.ci95[1],
                             "smd": comp.estimate / sd if sd > 0 else np.nan,
                             "model_difference": arms[name]["model_mean_change"]
                             - arms[plans[control].arm.name]["model_mean_change"]}
    tables = None
    if keep_tables:
        names = np.array([p.arm.name for p in plans], dtype=object)
        reasons = np.array(["completed", "other", "adverse event", "solver failure"],
                           dtype=object)
        patients = pa.table({
            "patient": np.arange(n), "subject_id": pool.ids[rows], "arm": names[arm_of],
            **{k: v[rows] for k, v in pool.covariates.items() if k != "adherence"},
            "adherence": adherence, "placebo_fraction": placebo,
            "baseline_nrs": baseline, "endpoint_nrs": endpoint,
            "analysed_endpoint_nrs": result.endpoint,
            "change": result.endpoint - baseline,
            "model_change": true_change,
            "dropout_day": np.where(completed, np.nan, drop_day.astype(float)),
            "dropout_reason": reasons[reason], "analysed": result.analysed.astype(bool),
            "responder30": result.responder30, "responder50": result.responder50,
            "status": np.array([FAILURE_REASONS[int(c)] for c in code], dtype=object),
        })
        observed = days[None, :] <= np.where(completed, days[-1], drop_day)[:, None]
        pi, di = np.nonzero(observed)
        diary_table = pa.table({"patient": pi, "day": days[di], "nrs": diary[pi, di],
                                "model_nrs": timeline[pi, di]})
        tables = (patients, diary_table)
    return ReplicateResult(comparisons, arms), tables
