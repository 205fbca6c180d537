"""The ensemble engine: virtual cohorts, batched over subjects and coalitions.

One code path for CPU and GPU. Per chunk of subjects (sized to a memory budget, fixed shape
so it compiles once):

1. the subjects are sampled (:mod:`exerpain.population.sampling`);
2. phase 1: each subject is integrated from its initial state (health, or the condition's
   steady state) to the day exercise starts (nothing before that day depends on the
   coalition), once;
3. phase 2: from that state, every coalition of mechanisms exercise may act through is
   integrated to the last day (``vmap`` over coalitions inside ``vmap`` over subjects, under
   one ``jit``), saving only the final day;
4. coalition values give the benefit, Shapley values, priming mechanism and responder
   status (null where the sedentary deficit from health is below
   :func:`exerpain.model.readouts.minimal_deficit`, e.g. sham subjects); the functional
   read-outs (:mod:`exerpain.model.function`) of the exercise run (the full coalition) and
   the sedentary run (the empty one) are kept beside them; rows are streamed to a Parquet
   file.

Subjects whose solve fails (solver failure, non-finite values) are marked failed with the
reason; the rest go on. After all chunks, endotypes are found and the final table is written
(streamed again, with the endotype column) and moved into place atomically; an interrupted
run leaves no Parquet file behind.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from exerpain.errors import InputError
from exerpain.explain.endotypes import find_endotypes
from exerpain.explain.shapley import CoalitionPlan, plan_for
from exerpain.model.function import functional_healthy_value, functional_names
from exerpain.model.readouts import PRIMARY_READOUT, benefit, healthy_value, responder_status
from exerpain.model.registry import Model, ModelInputs
from exerpain.population.genotypes import VARIANT_NAMES
from exerpain.population.sampling import sample_subjects
from exerpain.simulate.scenario import Scenario
from exerpain.simulate.solve import FAILURE_REASONS, initial_state, integrate_run, observer
from exerpain.storage import atomic_write, prepare_folder

# Estimated (not measured) upper bound of solver working memory per run, float64: 19 states
# x ~40 solver/interpolation buffers + ~110 parameters + saved values, with headroom.
BYTES_PER_LANE = 12_000
BYTES_PER_SUBJECT_RESIDENT = 1_000  # attribution profile + summary arrays kept for all
# Runs per compiled batch. Every run of a vmapped adaptive solve steps until the slowest run
# of its batch is done, so on CPU small batches waste less (measured on 2 cores: 2,048 runs
# per batch ~2.4x faster than 16,384 with attribution); accelerators want wide batches.
MAX_LANES = {"cpu": 2_048}
MAX_LANES_ACCELERATOR = 262_144
ENGINE_RTOL = 1e-6
ENGINE_ATOL = 1e-8


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
    memory_gb: float = 2.0
    max_exact: int = 12
    n_permutations: int = 128
    chunk_size: int | None = None
    genotype_overrides: dict = field(default_factory=dict)


@dataclass
class CohortResult:
    summary: dict
    subjects: pa.Table | None  # in memory when no output folder was given


def _validate(config: CohortConfig) -> None:
    if isinstance(config.n, bool) or not isinstance(config.n, int) or config.n <= 0:
        raise InputError(f"n: must be a positive integer, got {config.n!r}")
    if isinstance(config.seed, bool) or not isinstance(config.seed, int):
        raise InputError(f"seed: must be an integer, got {config.seed!r}")
    if not 0.01 <= config.memory_gb <= 4096:
        raise InputError(f"memory_gb: must be within 0.01-4096, got {config.memory_gb}")
    limit = int(config.memory_gb * 2**30 // BYTES_PER_SUBJECT_RESIDENT)
    if config.n > limit:
        raise InputError(f"n: {config.n} exceeds what a {config.memory_gb:g} GiB memory budget "
                         f"can stream ({limit}); raise --memory-gb")


def chunk_size_for(config: CohortConfig, n_coalitions: int) -> int:
    if config.chunk_size is not None:
        return max(1, min(config.chunk_size, config.n))
    budget = config.memory_gb * 2**30
    by_memory = int(budget // (BYTES_PER_LANE * n_coalitions))
    lanes = MAX_LANES.get(jax.default_backend(), MAX_LANES_ACCELERATOR)
    by_lanes = max(1, lanes // n_coalitions)
    largest = max(1, min(by_memory, by_lanes, config.n))
    # balance the chunks so the padded last one wastes little work
    return math.ceil(config.n / math.ceil(config.n / largest))


def cohort_outputs(model: Model, kind: str, readout: str) -> tuple[str, ...]:
    """Observables the cohort solver returns per coalition: the primary read-out, then the
    kind's functional read-outs (none for a model without the injury module)."""
    functional = functional_names(kind) if "injury.damage" in model.state_names else ()
    return (readout, *functional)


@lru_cache(maxsize=16)
def _cohort_solver(model: Model, kind: str, readout: str, steady: bool, rtol: float,
                   atol: float):
    """``(inputs, t0, jumps, t_split, t_end, masks) -> ({name: (n, n_coalitions)}, codes)``:
    the observables of :func:`cohort_outputs` on the last day, per subject and coalition."""
    observe = observer(model, kind)
    mechanisms = model.exercise_mechanisms
    outputs = cohort_outputs(model, kind, readout)

    def subject(inputs, t0, jumps, t_split, t_end, masks):
        y0, code_init = initial_state(model, inputs, t0, steady)
        ys, code_start = integrate_run(model, inputs, y0, t0, jumps, t_split[None], rtol, atol)
        code_start = jnp.maximum(code_start, code_init)

        def coalition(mask):
            ablation = {m: 1.0 - mask[i] for i, m in enumerate(mechanisms)}
            coal_inputs = inputs._replace(ablation=ablation)
            y_end, code = integrate_run(model, coal_inputs, ys[-1], t_split, jumps,
                                        t_end[None], rtol, atol)
            obs = observe(t_end, y_end[-1], coal_inputs)
            return {name: obs[name] for name in outputs}, code

        values, codes = jax.vmap(coalition)(masks)
        return values, jnp.maximum(codes, code_start)

    return jax.jit(jax.vmap(subject, in_axes=(0, None, None, None, None, None)))


def _broadcast(tree, n: int):
    return jax.tree_util.tree_map(lambda x: jnp.broadcast_to(jnp.asarray(x), (n,)), tree)


def cohort_inputs(prepared, subjects) -> ModelInputs:
    """Batched solver inputs: the scenario's inputs with each subject's parameters and
    adherence (fraction of sessions done)."""
    n = len(subjects.ids)
    base = prepared.inputs
    return base._replace(
        params=subjects.params,
        targets=_broadcast(base.targets, n),
        condition=_broadcast(base.condition, n),
        ablation=_broadcast(base.ablation, n),
        exercise=_broadcast(base.exercise, n)._replace(
            sessions_per_day=base.exercise.sessions_per_day
            * jnp.asarray(subjects.covariates["adherence"])),
    )


def device_description() -> str:
    dev = jax.devices()[0]
    return f"{dev.platform}:{getattr(dev, 'device_kind', '')}".rstrip(":")


def run_cohort(config: CohortConfig, out: str | Path | None = None,
               progress: Callable[[int, int], None] | None = None,
               model: Model | None = None) -> CohortResult:
    """Simulate a virtual cohort; stream per-subject rows to ``out/subjects.parquet``."""
    started = time.perf_counter()
    _validate(config)
    model = model or Model.default()
    scenario = Scenario.create(condition=config.condition, protocol=config.protocol,
                               interventions=config.interventions, ablate=config.ablate,
                               days=config.days, start_day=config.start_day,
                               stop_day=config.stop_day)
    prepared = scenario.build(model)
    condition = scenario.resolved_condition()
    kind = prepared.kind
    readout = PRIMARY_READOUT[kind]
    players = tuple(m for m in model.exercise_mechanisms if m not in config.ablate)
    if config.attribution:
        plan = plan_for(players, config.max_exact, config.n_permutations, config.seed)
    else:
        plan = CoalitionPlan(players, np.array([[True] * len(players), [False] * len(players)]),
                             exact=False)
    column = {m: i for i, m in enumerate(players)}
    masks = np.zeros((len(plan.masks), len(model.exercise_mechanisms)))
    for j, m in enumerate(model.exercise_mechanisms):
        if m in column:
            masks[:, j] = plan.masks[:, column[m]]
    chunk = chunk_size_for(config, len(masks))
    solver = _cohort_solver(model, kind, readout, prepared.steady_start, ENGINE_RTOL,
                            ENGINE_ATOL)
    base_params = condition.apply(model.default_params())
    healthy = healthy_value(readout, base_params["readout"])
    key = jax.random.key(config.seed)
    t_end = float(prepared.days)
    t_split = min(float(prepared.protocol.start_day), t_end - 0.5)
    jumps = jnp.asarray(prepared.jump_ts)
    jmasks = jnp.asarray(masks)

    sink = _Sink(out)
    phi_all = np.full((config.n, len(players)), np.nan)
    benefit_all = np.full(config.n, np.nan)
    functional = {name: np.full((config.n, 2), np.nan)
                  for name in cohort_outputs(model, kind, readout)[1:]}
    stats = {"r30": 0, "r50": 0, "failed": 0, "undefined": 0}
    try:
        for first in range(0, config.n, chunk):
            ids = np.arange(first, min(first + chunk, config.n))
            padded = np.concatenate([ids, np.full(chunk - len(ids), ids[0])])
            subjects = sample_subjects(model, condition, base_params, key, padded,
                                       dict(config.genotype_overrides))
            inputs = cohort_inputs(prepared, subjects)
            outputs, codes = solver(inputs, jnp.asarray(prepared.t0), jumps,
                                    jnp.asarray(t_split), jnp.asarray(t_end), jmasks)
            codes = np.asarray(codes)[: len(ids)]
            failed = (codes != 0).any(axis=1)
            outputs = {k: np.where(failed[:, None], np.nan, np.asarray(v)[: len(ids)])
                       for k, v in outputs.items()}
            values = outputs[readout]
            for name in functional:
                functional[name][ids] = outputs[name][:, [plan.full, plan.empty]]
            exercise = values[:, plan.full]
            sedentary = values[:, plan.empty]
            gain = benefit(readout, exercise, sedentary)
            if config.attribution:  # coalition values as benefits over the empty coalition
                phi, bound = plan.estimate(benefit(readout, values, sedentary[:, None]))
            else:
                phi = bound = np.full((len(ids), len(players)), np.nan)
            r30, r50, defined = responder_status(readout, exercise, sedentary, healthy,
                                                 base_params["readout"])
            phi_all[ids] = phi
            benefit_all[ids] = gain
            stats["r30"] += int(r30[~failed].sum())
            stats["r50"] += int(r50[~failed].sum())
            stats["undefined"] += int((~defined & ~failed).sum())
            stats["failed"] += int(failed.sum())
            reason = np.array([FAILURE_REASONS[int(c)] for c in codes.max(axis=1)], dtype=object)
            sink.write(_rows(subjects, ids, condition.species, sedentary, exercise, gain,
                             (r30, r50, defined),
                             {k: v[ids] for k, v in functional.items()},
                             model.exercise_mechanisms, players, phi,
                             None if plan.exact or not config.attribution else bound, reason))
            if progress is not None:
                progress(int(ids[-1]) + 1, config.n)
        endotypes = find_endotypes(phi_all, players, seed=config.seed) if config.attribution \
            else None
        table = sink.finish(endotypes.labels if endotypes is not None else None)
    except BaseException:
        sink.abort()
        raise
    ok = np.isfinite(benefit_all)
    runtime = time.perf_counter() - started
    summary = _summary(config, condition, prepared, readout, plan, chunk, ok, benefit_all,
                       phi_all, players, stats, endotypes, runtime)
    summary["functional"] = _functional_means(functional, ok, base_params["readout"])
    return CohortResult(summary=summary, subjects=table)


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


def _rows(subjects, ids, species, sedentary, exercise, benefit, responders, functional,
          mechanisms, players, phi, sampled_bound, reason) -> pa.Table:
    """One chunk's rows. ``responders`` is ``(r30, r50, defined)``; ``functional`` maps each
    functional read-out to ``(n, 2)`` values (exercise, sedentary)."""
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
    r30, r50, defined = responders
    data.update({"sedentary_value": sedentary, "exercise_value": exercise,
                 "benefit": benefit, "responder30": _nullable(r30, defined),
                 "responder50": _nullable(r50, defined)})
    for name, values in functional.items():
        data[name] = values[:, 0]
        data[f"sedentary_{name}"] = values[:, 1]
    column = {m: i for i, m in enumerate(players)}
    for m in mechanisms:
        data[f"shapley_{m}"] = phi[:, column[m]] if m in column else np.zeros(n)
        if sampled_bound is not None:
            data[f"shapley_bound_{m}"] = (sampled_bound[:, column[m]] if m in column
                                          else np.zeros(n))
    player_names = np.array(players, dtype=object)
    with np.errstate(invalid="ignore"):
        best = np.nanargmax(np.where(np.isfinite(phi), phi, -np.inf), axis=1) if len(players) \
            else np.zeros(n, dtype=int)
        top = np.take_along_axis(phi, best[:, None], axis=1)[:, 0] if len(players) else (
            np.zeros(n))
    # "none": no mechanism carries a positive share; "n/a": not attributed (or failed)
    data["priming_mechanism"] = np.where(
        ~np.isfinite(top), "n/a", np.where(top > 0, player_names[best], "none")).astype(object)
    data["status"] = reason
    return pa.table(data)


class _Sink:
    """Collects chunk tables in memory, or streams them to a temporary Parquet file."""

    def __init__(self, out: str | Path | None):
        self.folder = Path(out) if out is not None else None
        self.tables: list[pa.Table] = []
        self.writer = None
        self.partial: str | None = None
        if self.folder is not None:
            prepare_folder(self.folder)
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


def _summary(config, condition, prepared, readout, plan, chunk, ok, benefit, phi, players,
             stats, endotypes, runtime) -> dict:
    n_ok = int(ok.sum())
    n_defined = n_ok - stats["undefined"]
    b = benefit[ok]
    mean = float(b.mean()) if n_ok else float("nan")
    half = 1.96 * float(b.std(ddof=1)) / math.sqrt(n_ok) if n_ok > 1 else float("nan")
    summary = {
        "condition": condition.name, "species": condition.species,
        "protocol": prepared.protocol.name, "interventions": list(config.interventions),
        "ablate": list(config.ablate), "days": prepared.days, "seed": config.seed,
        "readout": readout, "n": config.n, "failed": stats["failed"],
        # rates over the subjects whose responder status is defined (NaN -> null if none)
        "responder30_rate": stats["r30"] / n_defined if n_defined else float("nan"),
        "responder50_rate": stats["r50"] / n_defined if n_defined else float("nan"),
        "responder_undefined": stats["undefined"],
        "mean_benefit": mean, "benefit_ci95": [mean - half, mean + half],
        "benefit_sd": float(b.std(ddof=1)) if n_ok > 1 else float("nan"),
    }
    if config.attribution:
        primed = phi[ok]
        top = np.argmax(primed, axis=1)
        positive = primed[np.arange(len(top)), top] > 0
        share = {m: float(np.mean(positive & (top == i))) if n_ok else float("nan")
                 for i, m in enumerate(players)}
        share["none"] = float(np.mean(~positive)) if n_ok else float("nan")
        summary["attribution"] = {
            "method": "exact" if plan.exact else f"sampled ({len(plan.before)} permutations)",
            "players": list(players), "coalitions": int(len(plan.masks)),
            "mean_shapley": dict(zip(players, np.nanmean(phi, axis=0).tolist(), strict=True))
            if n_ok else {},
        }
        summary["priming_mechanism_share"] = share
        summary["endotypes"] = {
            "k": endotypes.k, "silhouette": endotypes.silhouette,
            "sizes": endotypes.sizes, "profiles": endotypes.profiles,
            "method": "k-means on Shapley profiles normalised by sum |phi|; k by silhouette",
        }
    summary.update({"runtime_s": runtime, "subjects_per_s": config.n / runtime,
                    "chunk_size": chunk, "device": device_description()})
    return summary
