"""The ensemble engine: virtual cohorts, batched over subjects and coalitions.

One code path for CPU and GPU. Per chunk of subjects (sized to a memory budget, fixed shape
so it compiles once):

1. the subjects are sampled (:mod:`exerpain.population.sampling`);
2. phase 1: each subject is integrated from its initial state (health, or the condition's
   steady state) to the day exercise starts (nothing before that day depends on the
   coalition), once;
3. phase 2: from that state, every coalition of each attribution view
   (:mod:`exerpain.explain.shapley`) is integrated to the last day, saving only the final
   day: the entry view's coalitions (exercise acts only through the members), then the
   pathway view's (non-members' states held on the sedentary course,
   :mod:`exerpain.simulate.pathway`), except its full and empty coalitions, which are the
   entry view's exercise and sedentary runs. An exact plan solves all of them as one
   coalition-factored system per subject (:mod:`exerpain.simulate.factored`: each mechanism
   once per pattern of the players that reach it); otherwise (sampled plans, the stiff
   retry, ``factored=False``) each coalition is a run of its own (``vmap`` over coalitions
   inside ``vmap`` over subjects, under one ``jit``);
4. coalition values (on the attribution scale: read-out, or log nociceptive drive) give the
   benefit, Shapley values and priming mechanism of both views, and responder
   status (null where the sedentary deficit from health is below
   :func:`exerpain.model.readouts.minimal_deficit`, e.g. sham subjects); the functional
   read-outs (:mod:`exerpain.model.function`) of the exercise run (the full coalition) and
   the sedentary run (the empty one) are kept beside them; rows are streamed to a Parquet
   file.

The subjects of a chunk are solved in compiled batches of similar stiffness
(:mod:`exerpain.simulate.stiffness`), starting from initial states found once per subject.
A subject whose solve fails (solver failure, non-finite values) is solved again with the
stiff Kvaerno5; one that fails both is marked failed with the reason; the rest go on.
Chunks depend on their subject ids only, so they run here or as Dask tasks
(:mod:`exerpain.simulate.distribute`) with the same output. After all chunks, endotypes are
found and the final table is written (streamed again, with the endotype column) and moved
into place atomically; an interrupted run leaves no Parquet file behind.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from jax import Array

from exerpain.errors import InputError
from exerpain.explain.endotypes import find_endotypes
from exerpain.explain.priming import (
    BOOTSTRAP_RESAMPLES,
    INTERVAL_LEVEL,
    priming_index,
    priming_labels,
    priming_share,
    share_interval,
)
from exerpain.explain.shapley import CoalitionPlan, plan_for
from exerpain.model.calibrated import posterior_draws, shipped
from exerpain.model.conditions import get_condition
from exerpain.model.function import functional_healthy_value, functional_names
from exerpain.model.overrides import apply_overrides, check_overrides, parse_overrides
from exerpain.model.readouts import PRIMARY_READOUT, benefit, healthy_value, responder_status
from exerpain.model.registry import Model, ModelInputs
from exerpain.population.covariates import SEX_FRACTIONS
from exerpain.population.genotypes import VARIANT_NAMES
from exerpain.population.sampling import sample_subjects
from exerpain.precision import float64
from exerpain.simulate.distribute import check_dask, map_chunks, worker_plan
from exerpain.simulate.factored import Structure, factored_system, model_structure
from exerpain.simulate.pathway import PATHWAY_RUN_WEIGHT, PathwaySystem, state_masks
from exerpain.simulate.scenario import Scenario
from exerpain.simulate.solve import (
    FAILURE_REASONS,
    FUSED,
    MAX_STEPS,
    STIFF,
    integrate_run,
    max_steps_for,
    observer,
    padded_slices,
    take,
)
from exerpain.simulate.stiffness import batches, start_states
from exerpain.storage import atomic_write, maybe_output, write_json

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

# Estimated (not measured) upper bound of solver working memory per run, float64: 19 states
# x ~40 solver/interpolation buffers + ~110 parameters + saved values, with headroom. A
# pathway-view run counts as PATHWAY_RUN_WEIGHT runs (twice the states).
BYTES_PER_LANE = 12_000
BYTES_PER_SUBJECT_RESIDENT = 1_000  # both views' attribution profiles + summary arrays
# Runs per compiled batch. Every run of a vmapped adaptive solve steps until the slowest run
# of its batch is done, so on CPU small batches waste less (measured on 2 cores: 2,048 runs
# per batch ~2.4x faster than 16,384 with attribution), while wider ones spread the per-step
# overhead. With the fused Tsit5 step (DPN, one year, no attribution, N = 4,096, batches
# ordered by stiffness, 2026-11-27): 256 runs 945 subjects/s, 512 runs 1,000-1,022, 1,024
# runs 1,242-1,429, 2,048 runs 1,203-1,292, 4,096 runs 1,330. Accelerators want wide batches.
MAX_LANES = {"cpu": 1024}
MAX_LANES_ACCELERATOR = 262_144
# Lanes of one subject's coalition-factored solve (exact attribution): CPU batches of 64
# subjects. Measured 2026-11-27 (this 2-core CPU; DPN, one year, N = 256): entry view
# 87 / 104 / 130 / 122 subjects/s at batches of 19 / 37 / 64 / 128, both views 54 / 71 / 75
# at 19 / 37 / 64.
FACTORED_LANES = 16
ENGINE_RTOL = 1e-6
ENGINE_ATOL = 1e-8
ATTRIBUTION_SCALES = ("readout", "log_drive")
DRIVE = "nociceptive_drive"
PAIRED = "paired_sedentary_"  # pathway view: observables of the run's own sedentary half
# Per view: the prefix of its Shapley columns and the name of its priming column.
VIEW_COLUMNS = {"entry": ("shapley", "priming_mechanism"),
                "pathway": ("pathway_shapley", "pathway_priming_mechanism")}


SEED_MIN, SEED_MAX = 0, 2**63 - 1  # jax.random.key takes a signed 64-bit seed

@dataclass(frozen=True)
class CohortConfig:
    condition: str
    protocol: str
    n: int
    seed: int
    interventions: tuple[str, ...] = ()
    ablate: tuple[str, ...] = ()
    days: int | None = None
    start_day: float | None = None
    stop_day: float | None = None
    attribution: bool = True
    attribution_scale: str = "readout"  # or "log_drive" (ATTRIBUTION_SCALES)
    pathway: bool = True  # the pathway view beside the entry view
    # exact attribution: every coalition of both views as one coalition-factored system
    # (simulate/factored.py); False: one run per coalition (the reference it is checked on)
    factored: bool = True
    memory_gb: float = 2.0
    max_exact: int = 12
    n_permutations: int = 128
    chunk_size: int | None = None
    genotype_overrides: dict = field(default_factory=dict)
    sex: str | None = None  # rodents: male (default), female or mixed (SEX_FRACTIONS)
    posterior_draws: int = 16  # subject i uses draw i mod K of the calibration posterior
    params: dict | None = None  # partial overrides of the nominal values (model.overrides)


@dataclass
class CohortResult:
    summary: dict
    subjects: pa.Table | None  # in memory when no output folder was given
    folder: Path | None = None  # the output folder (its subjects.parquet), when one was given

    def to_frame(self) -> pd.DataFrame:
        """One row per subject (pandas): the in-memory table, or the output folder's
        ``subjects.parquet`` when the rows were streamed there."""
        if self.subjects is not None:
            return self.subjects.to_pandas()
        if self.folder is None:
            raise ValueError("this cohort's subjects were neither kept nor written to a folder")
        return pq.read_table(Path(self.folder) / "subjects.parquet").to_pandas()

    def __repr__(self) -> str:
        s = self.summary
        share = s.get("priming_mechanism_share") or {}
        top = max(share.items(), key=lambda kv: kv[1], default=None)
        primed = f", primed by {top[0]} {100 * top[1]:.0f}%" if top else ""
        where = f", in {self.folder}" if self.subjects is None and self.folder else ""
        rate = s["responder30_rate"]
        return (f"CohortResult({s['condition']} x {s['protocol']}, n={s['n']} (failed "
                f"{s['failed']}): mean benefit {s['mean_benefit']:.3g} {s['readout']}, "
                f">=30% responders {'n/a' if rate != rate else f'{100 * rate:.0f}%'}"
                f"{primed}{where})")

    def plot(self) -> Figure:
        """Benefit distribution (histogram) and priming-mechanism shares (bars, per view)
        (:func:`exerpain.interfaces.figures.cohort_figure`)."""
        from exerpain.interfaces.figures import cohort_figure

        return cohort_figure(self.to_frame(), self.summary)


def _posterior(config: CohortConfig, model: Model) -> dict[tuple[str, str], np.ndarray]:
    """The calibration-posterior draws the subjects use (empty: every subject uses the
    shipped MAP values)."""
    if config.posterior_draws == 0:
        return {}
    return posterior_draws(model.parameter_table(declared=True), config.posterior_draws,
                           config.seed)


def subject_base(defaults: dict, condition, draws: dict, ids: np.ndarray) -> dict:
    """Base parameters of subjects ``ids``: the shipped ``defaults`` (not modified), with each
    fitted parameter replaced by the subject's posterior draw (draw ``id mod K``), condition
    applied."""
    params = {group: dict(values) for group, values in defaults.items()}
    if draws:
        k = len(next(iter(draws.values())))
        for (group, name), values in draws.items():
            params[group][name] = values[ids % k]
    return condition.apply(params)


def female_fraction(config: CohortConfig) -> float | None:
    """Share of females of a rodent cohort (``None``: the condition's population)."""
    return None if config.sex is None else SEX_FRACTIONS[config.sex]


def check_seed(seed: object) -> None:
    """Raise :class:`InputError` unless ``seed`` is an integer within the allowed range."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"seed: must be an integer, got {seed!r}")
    if not SEED_MIN <= seed <= SEED_MAX:
        raise InputError(f"seed: must be within {SEED_MIN}-{SEED_MAX} (2^63 - 1), got {seed}")


def validate_config(config: CohortConfig) -> None:
    """Raise :class:`InputError` naming the first invalid field of ``config``."""
    if isinstance(config.n, bool) or not isinstance(config.n, int) or config.n <= 0:
        raise InputError(f"n: must be a positive integer, got {config.n!r}")
    check_seed(config.seed)
    if config.attribution and set(config.ablate) >= set(Model.default().exercise_mechanisms):
        raise InputError("ablate: every mechanism is ablated, so exercise acts through none "
                         "and there is nothing to attribute; keep one, or pass "
                         "--no-attribution")
    if config.sex is not None:
        if config.sex not in SEX_FRACTIONS:
            raise InputError(f"sex: must be one of {', '.join(SEX_FRACTIONS)}, "
                             f"got {config.sex!r}")
        if get_condition(config.condition).kind != "rodent":
            raise InputError(f"sex: applies to rodent conditions only; {config.condition!r} "
                             "keeps the sex ratio of its patient population")
    if not 0 <= config.posterior_draws <= 1000:
        raise InputError(f"posterior_draws: must be within 0-1000, got "
                         f"{config.posterior_draws}")
    if config.attribution_scale not in ATTRIBUTION_SCALES:
        raise InputError(f"attribution_scale: must be one of {', '.join(ATTRIBUTION_SCALES)}, "
                         f"got {config.attribution_scale!r}")
    if config.params:
        check_overrides(parse_overrides(config.params), Model.default(),
                        get_condition(config.condition))
    if not 0.01 <= config.memory_gb <= 4096:
        raise InputError(f"memory_gb: must be within 0.01-4096, got {config.memory_gb}")
    limit = int(config.memory_gb * 2**30 // BYTES_PER_SUBJECT_RESIDENT)
    if config.n > limit:
        raise InputError(f"n: {config.n} exceeds what a {config.memory_gb:g} GiB memory budget "
                         f"can stream ({limit}); raise --memory-gb")


SORT_GROUPS = 8  # compiled batches per chunk, ordered by stiffness (simulate/stiffness.py)


def chunk_size_for(config: CohortConfig, runs: float, memory_runs: float | None = None
                   ) -> tuple[int, int]:
    """``(chunk, batch)``: subjects per chunk (the unit of work, of progress and of a Dask
    task) and per compiled batch (a chunk is solved as ``ceil(chunk / batch)`` batches of
    similar stiffness, :mod:`exerpain.simulate.stiffness`); ``runs``: one subject's lanes
    and ``memory_runs`` (default ``runs``) its solver memory, in single runs
    (:func:`runs_per_subject`)."""
    budget = config.memory_gb * 2**30
    by_memory = int(budget // (BYTES_PER_LANE * (runs if memory_runs is None else memory_runs)))
    lanes = MAX_LANES.get(jax.default_backend(), MAX_LANES_ACCELERATOR)
    largest = max(1, min(by_memory, max(1, int(lanes // runs)), config.n))
    if config.chunk_size is not None:
        chunk = max(1, min(config.chunk_size, config.n))
    else:
        chunk = min(config.n, largest * SORT_GROUPS)
        # balance the chunks so the padded last one wastes little work
        chunk = math.ceil(config.n / math.ceil(config.n / chunk))
    return chunk, math.ceil(chunk / math.ceil(chunk / largest))


def runs_per_subject(model: Model, att: _Attribution) -> tuple[float, float]:
    """One subject's lanes and solver memory in units of one run: its entry-view runs and
    :data:`PATHWAY_RUN_WEIGHT` per pathway-view run, or, factored, :data:`FACTORED_LANES`
    lanes and the factored system's states over the model's for memory."""
    if att.structure is not None:
        system = factored_system(model, att.structure, att.players, "pathway" in att.views)
        return FACTORED_LANES, system.size / len(model.state_names)
    runs = len(att.masks["entry"]) + PATHWAY_RUN_WEIGHT * len(att.masks.get("pathway", ()))
    return runs, runs


def functional_outputs(model: Model, kind: str) -> tuple[str, ...]:
    """The kind's functional read-outs (none for a model without the injury module)."""
    return functional_names(kind) if "injury.damage" in model.state_names else ()


def cohort_outputs(model: Model, kind: str, readout: str, view: str = "entry"
                   ) -> tuple[str, ...]:
    """Observables the cohort solver returns per coalition of ``view``: the primary read-out
    and the nociceptive drive (the two attribution scales), then (entry view only) the
    kind's functional read-outs of :func:`functional_outputs`."""
    functional = functional_outputs(model, kind) if view == "entry" else ()
    return (readout, DRIVE, *functional)


def _with_exercise_through(inputs: ModelInputs, mechanisms: tuple[str, ...], mask: Array
                           ) -> ModelInputs:
    """``inputs`` with exercise acting only through the mechanisms where ``mask`` is 1."""
    return inputs._replace(ablation={m: 1.0 - mask[i] for i, m in enumerate(mechanisms)})


def _coalition_run(model: Model, view: str, observe: Callable, outputs: tuple[str, ...],
                   rtol: float, atol: float, method: str = FUSED,
                   max_steps: int = MAX_STEPS) -> Callable:
    """``(inputs, y_split, t_split, jumps, t_end, full, mask) -> ({name: value}, code)``: one
    coalition of one subject from the state at ``t_split`` to the last day, in ``view``.

    ``full``: 0/1 per exercise mechanism, exercise acting (the players). ``mask``: entry
    view, 0/1 per exercise mechanism (exercise acts through the coalition); pathway view, 0/1
    per state (:func:`exerpain.simulate.pathway.state_masks`). The pathway view also returns
    the observables of its own sedentary half (keys prefixed :data:`PAIRED`), the reference
    of its coalition value: integrated with the same steps, so whatever the coalition leaves
    unchanged cancels exactly instead of to solver tolerance.
    """
    mechanisms = model.exercise_mechanisms

    def entry(inputs, y_split, t_split, jumps, t_end, full, mask):
        coalition = _with_exercise_through(inputs, mechanisms, mask)
        ys, code = integrate_run(model, coalition, y_split, t_split, jumps, t_end[None],
                                 rtol, atol, method, max_steps)
        obs = observe(t_end, ys[-1], coalition)
        return {name: obs[name] for name in outputs}, code

    system = PathwaySystem(model)

    def pathway(inputs, y_split, t_split, jumps, t_end, full, mask):
        exercise = _with_exercise_through(inputs, mechanisms, full)
        sedentary = _with_exercise_through(inputs, mechanisms, jnp.zeros_like(full))
        zs, code = integrate_run(system, (exercise, sedentary, mask), system.start(y_split),
                                 t_split, jumps, t_end[None], rtol, atol, method, max_steps)
        obs = observe(t_end, system.mixed(zs[-1], mask), exercise)
        reference = observe(t_end, zs[-1, : system.n_states], sedentary)
        return ({**{name: obs[name] for name in outputs},
                 **{f"{PAIRED}{name}": reference[name] for name in outputs}}, code)

    return {"entry": entry, "pathway": pathway}[view]


def _factored_runs(model: Model, structure: Structure, players: tuple[str, ...],
                   views: tuple[str, ...], observe: Callable, outputs: dict[str, tuple],
                   rtol: float, atol: float, method: str, max_steps: int) -> Callable:
    """``(inputs, y_split, t_split, jumps, t_end, full, masks) -> {view: (values, codes)}``:
    every coalition of ``views`` of one subject from the state at ``t_split``, as one
    coalition-factored system (:mod:`exerpain.simulate.factored`), in the order and with
    the outputs of the per-coalition runs (:func:`_coalition_run`). The pathway view's
    interior coalitions take the entry view's sedentary run, solved with the same steps, as
    their paired reference."""
    system = factored_system(model, structure, players, "pathway" in views)
    mechanisms = model.exercise_mechanisms
    empty = int(np.flatnonzero(~system.coalitions["entry"].any(axis=1))[0])

    def runs(inputs, y_split, t_split, jumps, t_end, full, masks):
        zs, code = integrate_run(system, inputs, system.start(y_split), t_split, jumps,
                                 t_end[None], rtol, atol, method, max_steps, system.norm)

        def observed(ys, acting, names):
            def one(y, mask):
                obs = observe(t_end, y, _with_exercise_through(inputs, mechanisms, mask))
                return {name: obs[name] for name in names}
            return jax.vmap(one)(ys, acting)

        entry_masks = masks["entry"]
        entry = observed(system.states(zs[-1], "entry"), entry_masks, outputs["entry"])
        out = {"entry": (entry, jnp.full(entry_masks.shape[0], code))}
        if "pathway" in views:
            n_interior = masks["pathway"].shape[0]
            mixed = observed(system.states(zs[-1], "pathway"),
                             jnp.broadcast_to(full, (n_interior, full.shape[0])),
                             outputs["pathway"])
            sedentary = {f"{PAIRED}{name}": jnp.broadcast_to(entry[name][empty],
                                                              (n_interior,))
                         for name in outputs["pathway"]}
            out["pathway"] = ({**mixed, **sedentary}, jnp.full(n_interior, code))
        return out

    return runs


@lru_cache(maxsize=16)
def _cohort_solver(model: Model, kind: str, readout: str, rtol: float,
                   atol: float, views: tuple[str, ...] = ("entry",), method: str = FUSED,
                   max_steps: int = MAX_STEPS,
                   factored: tuple[Structure, tuple[str, ...]] | None = None):
    """``(inputs, y0, code0, t0, jumps, t_split, t_end, full, masks) -> {view: (values,
    codes)}``, from each subject's initial state ``y0`` (and its failure code,
    :func:`exerpain.simulate.stiffness.start_states`), with ``masks = {view:
    (n_coalitions_view, width)}``: per view, the observables of :func:`cohort_outputs` on the
    last day, ``{name: (n, n_coalitions_view)}``, and failure codes ``(n,
    n_coalitions_view)``. Phase 1 (to ``t_split``) is solved once per subject. ``method``,
    ``max_steps``: the integrator (:data:`exerpain.simulate.solve.METHODS`). ``factored``:
    ``(structure, players)`` of an exact plan: phase 2 solves every coalition as one
    coalition-factored system (:func:`_factored_runs`) instead of one run per coalition."""
    observe = observer(model, kind)
    outputs = {view: cohort_outputs(model, kind, readout, view) for view in views}
    runs = {view: _coalition_run(model, view, observe, outputs[view], rtol, atol, method,
                                 max_steps)
            for view in views}
    together = None if factored is None else _factored_runs(
        model, *factored, views, observe, outputs, rtol, atol, method, max_steps)

    def subject(inputs, y0, code_init, t0, jumps, t_split, t_end, full, masks):
        ys, code_start = integrate_run(model, inputs, y0, t0, jumps, t_split[None], rtol, atol,
                                       method, max_steps)
        code_start = jnp.maximum(code_start, code_init)
        if together is not None:
            return {view: (values, jnp.maximum(codes, code_start)) for view, (values, codes)
                    in together(inputs, ys[-1], t_split, jumps, t_end, full, masks).items()}
        out = {}
        for view, run in runs.items():
            values, codes = jax.vmap(
                lambda mask, run=run: run(inputs, ys[-1], t_split, jumps, t_end, full, mask)
            )(masks[view])
            out[view] = (values, jnp.maximum(codes, code_start))
        return out

    return jax.jit(jax.vmap(subject, in_axes=(0, 0, 0, None, None, None, None, None, None)))


def broadcast(tree, n: int):
    """Every leaf of ``tree`` broadcast to a leading axis of ``n`` runs."""
    return jax.tree_util.tree_map(lambda x: jnp.broadcast_to(jnp.asarray(x), (n,)), tree)


def cohort_inputs(prepared, subjects) -> ModelInputs:
    """Batched solver inputs: the scenario's inputs with each subject's parameters and
    adherence (fraction of sessions done)."""
    n = len(subjects.ids)
    base = prepared.inputs
    return base._replace(
        params=subjects.params,
        targets=broadcast(base.targets, n),
        condition=broadcast(base.condition, n),
        ablation=broadcast(base.ablation, n),
        exercise=broadcast(base.exercise, n)._replace(
            sessions_per_day=base.exercise.sessions_per_day
            * jnp.asarray(subjects.covariates["adherence"])),
    )


def device_description() -> str:
    dev = jax.devices()[0]
    return f"{dev.platform}:{getattr(dev, 'device_kind', '')}".rstrip(":")


@dataclass(frozen=True)
class _Attribution:
    """What a cohort attributes: the coalition plan over ``players`` and, per view solved,
    the solver's coalition masks.

    ``full``: (n_exercise_mechanisms,) 0/1, exercise acting (the players).
    ``masks``: per view, entry: (C, n_exercise_mechanisms) exercise through the coalition;
    pathway: (C - 2, n_states) free states, for the plan's coalitions other than the full
    and the empty one (``interior``), which are the entry view's runs.
    ``structure``: the model's dependencies when the coalitions are solved as one factored
    system (exact plans, ``config.factored``), else ``None``.
    """

    plan: CoalitionPlan
    players: tuple[str, ...]
    views: tuple[str, ...]
    full: np.ndarray
    masks: dict[str, np.ndarray]
    interior: np.ndarray
    structure: Structure | None = None

    def factored(self, method: str) -> tuple[Structure, tuple[str, ...]] | None:
        """The solver's ``factored`` argument (:func:`_cohort_solver`) for integrator
        ``method``: the fused explicit pass solves the factored system; the stiff retry
        solves each coalition on its own (an implicit step on the factored system would
        factorise a matrix of its 892 states)."""
        if self.structure is None or method != FUSED:
            return None
        return (self.structure, self.players)


def _attribution(config: CohortConfig, model: Model, inputs: ModelInputs | None = None
                 ) -> _Attribution:
    """The attribution of ``config``; ``inputs``: one run's solver inputs (their structure
    gives the model's dependencies, for the factored solve)."""
    players = tuple(m for m in model.exercise_mechanisms if m not in config.ablate)
    if config.attribution:
        plan = plan_for(players, config.max_exact, config.n_permutations, config.seed)
    else:
        plan = CoalitionPlan(players, np.array([[True] * len(players), [False] * len(players)]),
                             exact=False)
    column = {m: i for i, m in enumerate(players)}
    entry = np.zeros((len(plan.masks), len(model.exercise_mechanisms)))
    for j, m in enumerate(model.exercise_mechanisms):
        if m in column:
            entry[:, j] = plan.masks[:, column[m]]
    interior = np.setdiff1d(np.arange(len(plan.masks)), [plan.full, plan.empty])
    masks = {"entry": entry}
    if config.attribution and config.pathway and len(interior):
        masks["pathway"] = state_masks(model, players, plan.masks[interior])
    structure = None
    if config.attribution and config.factored and plan.exact and inputs is not None:
        structure = model_structure(model, inputs)
    return _Attribution(plan, players, tuple(masks), entry[plan.full], masks, interior,
                        structure)


def attribution_value(scale: str, readout: str, outputs: dict[str, np.ndarray],
                      sedentary: dict[str, np.ndarray]) -> np.ndarray:
    """Benefit of ``outputs`` over ``sedentary`` on the attribution scale, positive = less
    pain: read-out units (``readout``) or ``log N_sed - log N`` (``log_drive``)."""
    if scale == "log_drive":
        return np.log(sedentary[DRIVE]) - np.log(outputs[DRIVE])
    return benefit(readout, outputs[readout], sedentary[readout])


def _coalition_values(config: CohortConfig, readout: str, att: _Attribution,
                      outputs: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per view solved, (n, C) coalition values on ``config.attribution_scale``: entry view,
    over the sedentary run (its empty coalition); pathway view, the entry view's values for
    the full and empty coalitions and, for the others, the mixed state over the run's own
    sedentary half."""
    entry = outputs["entry"]
    sedentary = {k: v[:, [att.plan.empty]] for k, v in entry.items()}
    values = {"entry": attribution_value(config.attribution_scale, readout, entry, sedentary)}
    if "pathway" in outputs:
        mixed = outputs["pathway"]
        paired = {k[len(PAIRED):]: v for k, v in mixed.items() if k.startswith(PAIRED)}
        pathway = values["entry"].copy()
        pathway[:, att.interior] = attribution_value(config.attribution_scale, readout,
                                                     mixed, paired)
        values["pathway"] = pathway
    return values


def _shapley(config: CohortConfig, att: _Attribution, values: dict[str, np.ndarray]
             ) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Per view, Shapley values (n, M) and the sampled estimator's 95% bound (None when
    exact); NaN for a view not attributed."""
    n, m = len(values["entry"]), len(att.players)
    out = {}
    for view in VIEW_COLUMNS:
        if not config.attribution or view not in values:
            out[view] = (np.full((n, m), np.nan), None)
            continue
        phi, bound = att.plan.estimate(values[view])
        out[view] = (phi, None if att.plan.exact else bound)
    return out


def _solve_chunk(solver: Callable, att: _Attribution, inputs: ModelInputs, y0: np.ndarray,
                 code0: np.ndarray, prepared, t_split: float, t_end: float, n: int
                 ) -> tuple[dict, np.ndarray]:
    """Per view ``{name: (n, C_view)}`` with failed subjects' values NaN, and the (n,)
    worst failure code of each subject over every run of both views."""
    raw = solver(inputs, jnp.asarray(y0), jnp.asarray(code0), jnp.asarray(prepared.t0),
                 jnp.asarray(prepared.jump_ts),
                 jnp.asarray(t_split), jnp.asarray(t_end), jnp.asarray(att.full),
                 {view: jnp.asarray(mask) for view, mask in att.masks.items()})
    code = np.max([np.asarray(codes)[:n].max(axis=1) for _, codes in raw.values()], axis=0)
    failed = (code != 0)[:, None]
    outputs = {view: {k: np.where(failed, np.nan, np.asarray(v)[:n]) for k, v in values.items()}
               for view, (values, _) in raw.items()}
    return outputs, code


@float64
def run_cohort(config: CohortConfig, out: str | Path | None = None,
               progress: Callable[[int, int], None] | None = None,
               model: Model | None = None, overwrite: bool = False,
               dask: str | None = None) -> CohortResult:
    """Simulate a virtual cohort. With ``out``, per-subject rows stream to
    ``out/subjects.parquet`` and the summary goes to ``out/summary.json``, written as one run
    (:class:`exerpain.storage.OutputFolder`: checked before any work, refused if ``out``
    already holds results unless ``overwrite``). ``dask``: compute the chunks on a Dask
    cluster (:func:`exerpain.simulate.distribute.map_chunks`; the same output bit for bit)."""
    validate_config(config)
    check_dask(dask)
    with maybe_output(out, overwrite) as folder:
        result = cohort_into(config, folder, progress, model, dask)
    if out is not None:
        result.folder = Path(out).expanduser()  # its temporary folder became ``out``
    return result


def cohort_into(config: CohortConfig, folder: Path | None,
                progress: Callable[[int, int], None] | None = None,
                model: Model | None = None, dask: str | None = None) -> CohortResult:
    """A cohort written into ``folder`` (an :class:`exerpain.storage.OutputFolder`'s
    temporary folder, or ``None``: in memory): ``subjects.parquet`` then ``summary.json``."""
    validate_config(config)
    result = _run_cohort(config, folder, progress, model, check_dask(dask))
    if folder is not None:
        write_json(folder / "summary.json", result.summary)
    return result


@dataclass(frozen=True)
class _CohortPlan:
    """Everything a chunk of a cohort needs, derived from its config once per process."""

    config: CohortConfig
    model: Model
    prepared: object  # exerpain.simulate.scenario.Prepared
    condition: object  # exerpain.model.conditions.Condition
    readout: str
    att: _Attribution
    chunk: int  # subjects per chunk
    batch: int  # subjects per compiled batch
    defaults: dict
    draws: dict
    base_params: dict
    healthy: float
    t_split: float
    t_end: float

    def solver(self, method: str) -> Callable:
        """The compiled cohort solver with integrator ``method``."""
        return _cohort_solver(self.model, self.prepared.kind, self.readout, ENGINE_RTOL,
                              ENGINE_ATOL, self.att.views, method, max_steps_for(method),
                              self.att.factored(method))

    def padded(self) -> int:
        """Subjects per chunk with padding: a whole number of batches."""
        return self.batch * math.ceil(self.chunk / self.batch)


def _plan(config: CohortConfig, model: Model | None) -> _CohortPlan:
    model = model or Model.default()
    scenario = Scenario.create(condition=config.condition, protocol=config.protocol,
                               interventions=config.interventions, ablate=config.ablate,
                               days=config.days, start_day=config.start_day,
                               stop_day=config.stop_day, params=config.params)
    prepared = scenario.build(model)
    condition = scenario.resolved_condition()
    readout = PRIMARY_READOUT[prepared.kind]
    att = _attribution(config, model, prepared.inputs)
    chunk, batch = chunk_size_for(config, *runs_per_subject(model, att))
    overrides = scenario.params or {}
    defaults = apply_overrides(model.default_params(), overrides)
    base_params = condition.apply(defaults)
    # a parameter the user set is not redrawn from the calibration posterior
    draws = {key: v for key, v in _posterior(config, model).items()
             if key[1] not in overrides.get(key[0], {})}
    t_end = float(prepared.days)
    return _CohortPlan(config, model, prepared, condition, readout, att, chunk, batch, defaults,
                       draws, base_params, healthy_value(readout, base_params["readout"]),
                       min(float(prepared.protocol.start_day), t_end - 0.5), t_end)


@dataclass
class _ChunkResult:
    """One chunk's rows and what the cohort's summary gathers from it."""

    ids: np.ndarray
    table: pa.Table
    phi: dict[str, np.ndarray]  # view -> (n, players)
    benefit: np.ndarray
    functional: dict[str, np.ndarray]  # name -> (n, 2): exercise, sedentary
    counts: Counter  # r30, r50, undefined, failed, retried, recovered
    reasons: list[str]  # the failure reason of each failed subject


RETRY_WIDTH = 4  # subjects per stiff re-solve (one compiled shape)


def _solve_subjects(solver: Callable[[str], Callable], model: Model, steady: bool,
                    att: _Attribution, inputs: ModelInputs, frame, t_split: float,
                    t_end: float, n: int, batch: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """The first ``n`` of the subjects in ``inputs`` (a whole number of ``batch``-subject
    batches, padding included): their initial states, then :func:`_solve_chunk` with Tsit5
    (``solver(method)`` gives the compiled solver) in batches of similar stiffness
    (:mod:`exerpain.simulate.stiffness`), then each failed subject again with Kvaerno5
    (stiff), :data:`RETRY_WIDTH` at a time. Returns the outputs, the failure codes after
    the retry, and which subjects were retried."""
    # runs are gathered on the host (a device array's gather costs ~1 ms of dispatch per
    # leaf: the continuation fallback's gathers were 1.5 of 10.7 s of a DPN cohort of 10,000)
    inputs = jax.tree_util.tree_map(np.asarray, inputs)
    y0, code0 = start_states(model, steady, inputs, frame.t0)
    order = batches(model, steady, inputs, y0, t_split, batch)
    outputs: dict = {}
    codes = np.zeros(len(y0), dtype=int)
    for idx in order:
        part, part_codes = _solve_chunk(solver(FUSED), att, take(inputs, idx), y0[idx],
                                        code0[idx], frame, t_split, t_end, len(idx))
        for view, values in part.items():
            for name, v in values.items():
                outputs.setdefault(view, {}).setdefault(
                    name, np.full((len(y0), *v.shape[1:]), np.nan))[idx] = v
        codes[idx] = part_codes
    outputs = {view: {name: v[:n] for name, v in values.items()}
               for view, values in outputs.items()}
    codes = codes[:n]
    retried = np.zeros(n, dtype=bool)
    failed = np.flatnonzero(codes != 0)
    for idx, padded in padded_slices(failed, RETRY_WIDTH):
        again, again_codes = _solve_chunk(solver(STIFF), att, take(inputs, padded), y0[padded],
                                          code0[padded], frame, t_split, t_end, len(idx))
        for view, values in again.items():
            for name, v in values.items():
                outputs[view][name][idx] = v
        codes[idx] = again_codes
        retried[idx] = True
    return outputs, codes, retried


def _subjects(plan: _CohortPlan, ids: np.ndarray):
    """The cohort's subjects ``ids`` (:func:`exerpain.population.sampling.sample_subjects`
    on the plan's base parameters and posterior draws)."""
    config = plan.config
    return sample_subjects(plan.model, plan.condition,
                           subject_base(plan.defaults, plan.condition, plan.draws, ids),
                           jax.random.key(config.seed), ids, dict(config.genotype_overrides),
                           female_fraction=female_fraction(config))


def _chunk(plan: _CohortPlan, first: int) -> _ChunkResult:
    """Subjects ``first`` .. ``first + plan.chunk - 1`` (fewer at the end), padded to the
    chunk's fixed shape: sampled, solved (with the stiff retry), attributed, as rows."""
    config, att, readout = plan.config, plan.att, plan.readout
    ids = np.arange(first, min(first + plan.chunk, config.n))
    subjects = _subjects(plan, np.concatenate([ids, np.full(plan.padded() - len(ids),
                                                            ids[0])]))
    outputs, codes, retried = _solve_subjects(
        plan.solver, plan.model, plan.prepared.steady_start, att,
        cohort_inputs(plan.prepared, subjects), plan.prepared, plan.t_split, plan.t_end,
        len(ids), plan.batch)
    failed = codes != 0
    entry = {k: _blank_failed(v, failed) for k, v in outputs["entry"].items()}
    functional = {name: entry[name][:, [att.plan.full, att.plan.empty]]
                  for name in functional_outputs(plan.model, plan.prepared.kind)}
    runs = [{k: v[:, i] for k, v in entry.items()} for i in (att.plan.full, att.plan.empty)]
    exercise, sedentary = (run[readout] for run in runs)
    gain, log_drive_gain = (attribution_value(scale, readout, *runs)
                            for scale in ATTRIBUTION_SCALES)
    phi = _shapley(config, att, _coalition_values(config, readout, att, outputs))
    phi = {view: (_blank_failed(values, failed),
                  None if bound is None else _blank_failed(bound, failed))
           for view, (values, bound) in phi.items()}
    r30, r50, defined = responder_status(readout, exercise, sedentary, plan.healthy,
                                         plan.base_params["readout"])
    defined = defined & ~failed  # a failed subject's status is unknown: null
    reason = np.array([FAILURE_REASONS[int(c)] for c in codes], dtype=object)
    counts = Counter(r30=int(r30[~failed].sum()), r50=int(r50[~failed].sum()),
                     undefined=int((~defined & ~failed).sum()), failed=int(failed.sum()),
                     retried=int(retried.sum()), recovered=int((retried & ~failed).sum()))
    table = _rows(subjects, ids, plan.condition.species,
                  (sedentary, exercise, gain, log_drive_gain), (r30, r50, defined), functional,
                  plan.model.exercise_mechanisms, att.players, phi, reason,
                  np.where(retried, STIFF, FUSED).astype(object))
    return _ChunkResult(ids, table, {view: values for view, (values, _) in phi.items()},
                        gain, functional, counts, list(reason[failed]))


@float64
def cohort_chunk(config: CohortConfig, first: int) -> _ChunkResult:
    """One chunk of the default model's cohort ``config``: the task a Dask worker runs (the
    plan is built once per worker process and config,
    :func:`exerpain.simulate.distribute.worker_plan`)."""
    return _chunk(worker_plan(f"cohort {config!r}", lambda: _plan(config, None)), first)


def _run_cohort(config: CohortConfig, folder: Path | None,
                progress: Callable[[int, int], None] | None, model: Model | None,
                dask: str | None = None) -> CohortResult:
    started = time.perf_counter()
    if dask is not None and model is not None and model is not Model.default():
        raise InputError("dask: a cohort of a custom model runs in this process only")
    plan = _plan(config, model)
    att, chunk = plan.att, plan.chunk
    sink = _Sink(folder)
    phi_all = {view: np.full((config.n, len(att.players)), np.nan) for view in VIEW_COLUMNS}
    benefit_all = np.full(config.n, np.nan)
    functional = {name: np.full((config.n, 2), np.nan)
                  for name in functional_outputs(plan.model, plan.prepared.kind)}
    stats = {"counts": Counter(), "reasons": Counter()}
    firsts = range(0, config.n, chunk)
    task = (partial(_chunk, plan) if dask is None
            else partial(cohort_chunk, config))
    try:
        for part in map_chunks(task, firsts, dask, label="cohort"):
            for view, values in part.phi.items():
                phi_all[view][part.ids] = values
            benefit_all[part.ids] = part.benefit
            for name, values in part.functional.items():
                functional[name][part.ids] = values
            stats["counts"].update(part.counts)
            stats["reasons"].update(part.reasons)
            sink.write(part.table)
            if progress is not None:
                progress(int(part.ids[-1]) + 1, config.n)
        endotypes = find_endotypes(phi_all["entry"], att.players, seed=config.seed) \
            if config.attribution else None
        table = sink.finish(endotypes.labels if endotypes is not None else None)
    except BaseException:
        sink.abort()
        raise
    ok = np.isfinite(benefit_all)
    runtime = time.perf_counter() - started
    summary = _summary(config, plan.condition, plan.prepared, plan.readout, att,
                       (chunk, plan.batch), ok,
                       benefit_all, phi_all, stats, endotypes, runtime)
    summary["execution"] = {"dask": dask or "none (this process)", "chunks": len(firsts)}
    summary["functional"] = _functional_means(functional, ok, plan.base_params["readout"])
    return CohortResult(summary=summary, subjects=table)


def _blank_failed(values: np.ndarray, failed: np.ndarray) -> np.ndarray:
    """``values`` (subjects first) with a failed subject's entries set to NaN: a run the
    solver gave up on (or whose vector field went non-finite) has no outcome, even where its
    padded values happen to be finite."""
    return np.where(failed.reshape((-1,) + (1,) * (values.ndim - 1)), np.nan, values)


def _functional_means(functional: dict[str, np.ndarray], ok: np.ndarray,
                      readout_params: dict) -> dict:
    """``{name: {"exercise", "sedentary", "healthy"}}``: cohort means of each functional
    read-out on the last day over subjects whose solve succeeded, and its healthy value."""
    out = {}
    for name, values in functional.items():
        means = values[ok].mean(axis=0) if ok.any() else np.full(2, np.nan)
        out[name] = {"exercise": float(means[0]), "sedentary": float(means[1]),
                     "healthy": functional_healthy_value(name, readout_params)}
    return out


def _nullable(flags: np.ndarray, defined: np.ndarray) -> pa.Array:
    """Booleans with null where ``defined`` is False (undefined responder status)."""
    return pa.array(np.asarray(flags, dtype=bool), type=pa.bool_(),
                    mask=~np.asarray(defined, dtype=bool))


def _rows(subjects, ids, species, values, responders, functional, mechanisms, players, phi,
          reason, solver) -> pa.Table:
    """One chunk's rows. ``values`` is ``(sedentary, exercise, benefit, log_drive_benefit)``;
    ``responders`` is ``(r30, r50, defined)``; ``functional`` maps each functional read-out
    to ``(n, 2)`` values (exercise, sedentary); ``phi`` maps each view to its Shapley values
    and sampled bound (:func:`_shapley`)."""
    n = len(ids)
    cov = {k: v[:n] for k, v in subjects.covariates.items()}
    data = {
        "subject_id": ids.astype(np.int64),
        "species": np.full(n, species, dtype=object),
        "sex": np.where(cov["female"] > 0.5, "female", "male").astype(object),
        "age": cov["age"], "bmi": cov["bmi"], "hba1c": cov["hba1c"],
        "vo2max": cov["vo2max"], "adherence": cov["adherence"],
    }
    for variant in VARIANT_NAMES:
        data[variant] = subjects.genotype_labels(variant)[:n]
    sedentary, exercise, gain, log_drive_gain = values
    r30, r50, defined = responders
    data.update({"sedentary_value": sedentary, "exercise_value": exercise,
                 "benefit": gain, "log_drive_benefit": log_drive_gain,
                 "responder30": _nullable(r30, defined),
                 "responder50": _nullable(r50, defined)})
    for name, fvalues in functional.items():
        data[name] = fvalues[:, 0]
        data[f"sedentary_{name}"] = fvalues[:, 1]
    for view, (prefix, _) in VIEW_COLUMNS.items():
        data.update(_shapley_columns(prefix, mechanisms, players, *phi[view]))
    failed = np.asarray(reason != FAILURE_REASONS[0], dtype=bool)
    for view, (_, priming) in VIEW_COLUMNS.items():
        data[priming] = pa.array(priming_labels(priming_index(phi[view][0]), players),
                                 type=pa.string(), mask=failed)  # null for a failed subject
    data["status"] = reason
    data["solver"] = solver  # the integrator that gave the row (Tsit5, or the stiff retry)
    return pa.table(data)


def _shapley_columns(prefix: str, mechanisms: tuple[str, ...], players: tuple[str, ...],
                     phi: np.ndarray, sampled_bound: np.ndarray | None) -> dict:
    """``<prefix>_<mechanism>`` (0 for a mechanism that is not a player) and, for sampled
    plans, ``<prefix>_bound_<mechanism>``."""
    column = {m: i for i, m in enumerate(players)}
    zeros = np.zeros(len(phi))
    data = {f"{prefix}_{m}": phi[:, column[m]] if m in column else zeros for m in mechanisms}
    if sampled_bound is not None:
        data.update({f"{prefix}_bound_{m}": sampled_bound[:, column[m]] if m in column
                     else zeros for m in mechanisms})
    return data


class _Sink:
    """Collects chunk tables in memory, or streams them to a temporary Parquet file."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.tables: list[pa.Table] = []
        self.writer = None
        self.partial: str | None = None
        if self.folder is not None:
            fd, self.partial = tempfile.mkstemp(prefix=".subjects.", suffix=".partial",
                                                dir=self.folder)
            os.close(fd)

    def write(self, table: pa.Table) -> None:
        if self.folder is None:
            self.tables.append(table)
            return
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.partial, table.schema)
        self.writer.write_table(table)

    def finish(self, endotypes: np.ndarray | None) -> pa.Table | None:
        def with_endotype(table: pa.Table, start: int) -> pa.Table:
            labels = (endotypes[start:start + table.num_rows] if endotypes is not None
                      else np.full(table.num_rows, -1))
            index = table.schema.get_field_index("status")
            return table.add_column(index, "endotype", pa.array(labels, pa.int64()))

        if self.folder is None:
            out, start = [], 0
            for t in self.tables:
                out.append(with_endotype(t, start))
                start += t.num_rows
            return pa.concat_tables(out)
        self.writer.close()
        self.writer = None

        def stream(final: str) -> None:
            writer, start = None, 0
            for batch in pq.ParquetFile(self.partial).iter_batches(batch_size=65_536):
                table = with_endotype(pa.Table.from_batches([batch]), start)
                start += table.num_rows
                if writer is None:
                    writer = pq.ParquetWriter(final, table.schema)
                writer.write_table(table)
            writer.close()

        try:
            atomic_write(self.folder / "subjects.parquet", stream)
        finally:
            Path(self.partial).unlink(missing_ok=True)
        return None

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.partial is not None:
            Path(self.partial).unlink(missing_ok=True)


def _summary(config, condition, prepared, readout, att, sizes, ok, benefit, phi, stats,
             endotypes, runtime) -> dict:
    counts = stats["counts"]
    n_ok = int(ok.sum())
    n_defined = n_ok - counts["undefined"]
    b = benefit[ok]
    mean = float(b.mean()) if n_ok else float("nan")
    half = 1.96 * float(b.std(ddof=1)) / math.sqrt(n_ok) if n_ok > 1 else float("nan")
    summary = {
        "condition": condition.name, "species": condition.species,
        "protocol": prepared.protocol.name,
        # a name given twice counts once (the scenario warns)
        "interventions": list(dict.fromkeys(config.interventions)),
        "ablate": list(dict.fromkeys(config.ablate)), "days": prepared.days, "seed": config.seed,
        "readout": readout, "n": config.n, "failed": counts["failed"],
        "completed": n_ok, "failure_reasons": dict(stats["reasons"]),
        "retried_stiff": counts["retried"], "recovered_stiff": counts["recovered"],
        "failure_handling": "every subject is solved with Tsit5; a subject whose solve "
                            "failed (any run: max steps, step size below minimum, non-finite "
                            "values) is solved again, all its runs, with the stiff Kvaerno5 "
                            "(column `solver`); a subject that fails both is kept with null "
                            "outcomes and its reason in `status`",
        "rates_over": f"the {n_ok} completed subjects (n minus failed); a failed subject's "
                      "row has null outcomes and its reason in `status`",
        "sex": config.sex or ("male" if condition.kind == "rodent" else "population"),
        # rates over the subjects whose responder status is defined (NaN -> null if none)
        "responder30_rate": counts["r30"] / n_defined if n_defined else float("nan"),
        "responder50_rate": counts["r50"] / n_defined if n_defined else float("nan"),
        "responder_undefined": counts["undefined"],
        "mean_benefit": mean, "benefit_ci95": [mean - half, mean + half],
        "benefit_sd": float(b.std(ddof=1)) if n_ok > 1 else float("nan"),
    }
    if config.attribution:
        summary.update(_attribution_summary(config, att, ok, phi))
        summary["endotypes"] = {
            "k": endotypes.k, "silhouette": endotypes.silhouette,
            "sizes": endotypes.sizes, "profiles": endotypes.profiles,
            "method": "k-means on entry-view Shapley profiles normalised by sum |phi|; k by "
                      "silhouette",
        }
    summary.update({"runtime_s": runtime, "subjects_per_s": config.n / runtime,
                    "chunk_size": sizes[0], "batch_size": sizes[1], "device": device_description()})
    return summary


# Summary keys of each view's priming share (the entry view's name predates the pathway view)
SHARE_KEYS = {"entry": "priming_mechanism_share", "pathway": "pathway_priming_share"}


def _attribution_summary(config: CohortConfig, att: _Attribution, ok: np.ndarray,
                         phi: dict[str, np.ndarray]) -> dict:
    """Attribution method, mean Shapley values, and per view the priming share with its
    interval (:mod:`exerpain.explain.priming`: calibration-posterior draws and subjects),
    over the subjects solved."""
    plan, players = att.plan, att.players
    k = config.posterior_draws if shipped().get("parameters") else 0
    out = {"attribution": {
        "method": "exact" if plan.exact else f"sampled ({len(plan.before)} permutations)",
        "players": list(players), "coalitions": int(len(plan.masks)),
        "views": list(att.views), "scale": config.attribution_scale,
        "solved_as": ("one coalition-factored system per subject" if att.structure is not None
                      else "one run per coalition"),
        "sums_to": "benefit" if config.attribution_scale == "readout" else "log_drive_benefit",
        "share_interval": {
            "method": "percentile bootstrap: a posterior draw, then a cohort of all subjects "
                      "from that draw's shares" if k else "percentile bootstrap over subjects",
            "resamples": BOOTSTRAP_RESAMPLES, "level": INTERVAL_LEVEL, "seed": config.seed,
            "parameter_uncertainty": bool(k), "posterior_draws": k,
        },
    }}
    draw = np.arange(len(ok))[ok] % max(k, 1)
    for view in att.views:
        prefix = "" if view == "entry" else f"{view}_"
        values = phi[view][ok]
        out["attribution"][f"{prefix}mean_shapley"] = dict(
            zip(players, values.mean(axis=0).tolist(), strict=True)) if ok.any() else {}
        index = priming_index(values)
        out[SHARE_KEYS[view]] = priming_share(index, players)
        by_draw = [index[draw == d] for d in range(max(k, 1))]
        out[f"{SHARE_KEYS[view]}_interval"] = share_interval(
            [i for i in by_draw if len(i)], players, config.seed)
    return out


def attribute(model: Model, inputs: ModelInputs, t0: float, jump_ts: np.ndarray,
              t_split: float, t_end: float, steady: bool, config: CohortConfig
              ) -> tuple[tuple[str, ...], dict[str, np.ndarray], np.ndarray]:
    """Shapley attribution of runs given as batched solver ``inputs`` (every leaf with a
    leading axis of ``n`` runs, e.g. one patient's posterior draws), on the human NRS, with
    the cohort engine's coalition plan and solver (``config``: players, views, exactness;
    its ``n`` is ignored). Returns the players, per view solved the Shapley values
    (n, players), NaN for a failed run, and each run's failure code."""
    att = _attribution(config, model, jax.tree_util.tree_map(lambda x: np.asarray(x)[0],
                                                             inputs))

    def solver(method: str) -> Callable:
        return _cohort_solver(model, "human", PRIMARY_READOUT["human"], ENGINE_RTOL,
                              ENGINE_ATOL, att.views, method, max_steps_for(method),
                              att.factored(method))

    n = len(jax.tree_util.tree_leaves(inputs.params)[0])
    frame = _Clock(t0=t0, jump_ts=jump_ts)
    outputs, codes, _ = _solve_subjects(solver, model, steady, att, inputs, frame, t_split,
                                        t_end, n, n)
    values = _coalition_values(config, PRIMARY_READOUT["human"], att, outputs)
    phi = _shapley(config, att, values)
    return att.players, {view: _blank_failed(phi[view][0], codes != 0)
                         for view in att.views}, codes


@dataclass(frozen=True)
class _Clock:
    """The two fields of a :class:`Prepared` that :func:`_solve_subjects` reads."""

    t0: float
    jump_ts: np.ndarray
