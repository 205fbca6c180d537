"""Parameter rows -> targets, on the batched engine: the evaluations behind scans and global
sensitivity analyses.

A *factor* is one model parameter (``group.name``) that a scan or a sensitivity design
varies; a *row* gives one value per factor (in the parameter's unit). Each row is evaluated
as a partial override (:mod:`exerpain.model.overrides`) on top of a shared :class:`Setting`
(condition, protocol, interventions, ablations, days, fixed ``--set`` overrides):

- single-subject targets (:data:`PAIR_TARGETS`) come from the pair that ``exerpain
  simulate`` computes (:func:`exerpain.simulate.pair.simulate_pair`): the exercise run and its
  sedentary control, same time origin, solved together; every target is read on the last
  day on the primary read-out of the condition's species (NRS for humans, von Frey threshold
  in g for rodents). The rows of a chunk are solved in one vmapped batch of ``2 x chunk``
  runs (:func:`exerpain.simulate.solve.solve`), the last chunk padded with copies of its
  first row so every chunk has the same shape and compiles once;
- cohort targets (:data:`COHORT_TARGETS`) run one virtual cohort per row
  (:func:`exerpain.simulate.engine.run_cohort`) with the same seed for every row: common
  random numbers (the same subjects, genotypes, covariates and calibration-posterior draws),
  so a difference between rows is the parameter's effect, not a new sample of subjects.
  A varied parameter is set for every subject and not redrawn from the posterior.

A row whose solve fails (solver failure, non-finite values; a cohort in which every subject
failed) or whose target is undefined (e.g. ``benefit_fraction`` where the sedentary deficit
is below :func:`exerpain.model.readouts.minimal_deficit`) gets NaN and its reason in
``status``; never a silent number. :func:`evaluate_chunk` is a module-level function of
picklable arguments, so chunks can go through Dask (:func:`evaluate`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial

import numpy as np

from exerpain.errors import InputError
from exerpain.model.overrides import (
    Overrides,
    apply_overrides,
    check_overrides,
    parse_overrides,
)
from exerpain.model.protocols import PRESETS, Protocol
from exerpain.model.readouts import (
    PRIMARY_READOUT,
    benefit,
    healthy_value,
    responder_defined,
)
from exerpain.model.registry import Model
from exerpain.precision import float64
from exerpain.simulate.distribute import check_dask, map_chunks

PAIR_TARGETS = ("benefit", "benefit_fraction", "exercise_value", "sedentary_value",
                "healthy_value")
"""Targets of the single-subject pair, on the primary read-out on the last day (read-out
units; ``benefit_fraction`` is a fraction of the sedentary deficit from health)."""
COHORT_TARGETS = ("cohort_mean_benefit", "cohort_responder30_rate")
"""Targets of one virtual cohort per row (mean benefit in read-out units; rate 0-1)."""
PRIMING_PREFIX = "priming_share:"
"""``priming_share:MECHANISM``: share of a cohort's subjects primed by the mechanism (entry
view, :mod:`exerpain.explain.priming`), 0-1."""
DEFAULT_CHUNK = 64
"""Rows per solve on the pair engine (128 runs): measured on 2 CPU cores, DPN 112 days, 9 ms
per run at 128 runs vs 12 ms at 32; larger batches wait for their slowest run."""
COHORT_POSTERIOR_DRAWS = 16  # as `exerpain cohort`'s default


@dataclass(frozen=True)
class Setting:
    """What every row shares: the scenario of ``exerpain simulate`` and fixed overrides.

    ``protocol`` is resolved (a :class:`Protocol`, not a file name) so that the setting
    travels to other processes whole. ``fixed``: ``(("group.name", value), ...)``.
    """

    condition: str
    protocol: Protocol
    interventions: tuple[str, ...] = ()
    ablate: tuple[str, ...] = ()
    days: int | None = None
    fixed: tuple[tuple[str, float], ...] = ()

    @classmethod
    def create(cls, condition: str, protocol: str | Protocol,
               interventions: Iterable[str] = (), ablate: Iterable[str] = (),
               days: int | None = None, fixed: object = None) -> Setting:
        """Validated (one :class:`InputError` naming the field): the scenario is built once
        here, so a bad condition, protocol, ablation or ``--set`` fails before any work."""
        from exerpain.simulate.scenario import Scenario

        overrides = parse_overrides(fixed, "set")
        scenario = Scenario.create(condition=condition, protocol=protocol,
                                   interventions=tuple(interventions), ablate=tuple(ablate),
                                   days=days)
        model = Model.default()
        check_overrides(overrides, model, scenario.resolved_condition(), "set")
        setting = cls(condition=condition, protocol=scenario.resolved_protocol(),
                      interventions=scenario.interventions, ablate=scenario.ablate,
                      days=days, fixed=tuple(sorted(
                          (f"{g}.{n}", float(v)) for g, values in overrides.items()
                          for n, v in values.items())))
        _base(setting)  # builds both runs: a protocol for another species fails here
        return setting

    @property
    def overrides(self) -> Overrides:
        return parse_overrides(dict(self.fixed))

    def describe(self) -> dict:
        return {"condition": self.condition, "protocol": self.protocol.name,
                "protocol_detail": self.protocol.model_dump(),
                "interventions": list(self.interventions), "ablate": list(self.ablate),
                "days": _base(self).exercise.days, "readout": _base(self).readout,
                "fixed": dict(self.fixed)}


def target_kind(target: str, model: Model | None = None) -> str:
    """``"pair"`` or ``"cohort"``; :class:`InputError` (field ``target``) for an unknown one."""
    if not isinstance(target, str):
        raise InputError(f"target: must be a name, not {type(target).__name__}")
    if target in PAIR_TARGETS:
        return "pair"
    if target in COHORT_TARGETS:
        return "cohort"
    if target.startswith(PRIMING_PREFIX):
        mechanisms = (model or Model.default()).exercise_mechanisms
        if target.removeprefix(PRIMING_PREFIX) not in mechanisms:
            raise InputError(f"target: unknown mechanism in {target!r:.80}; allowed: "
                             f"{', '.join(PRIMING_PREFIX + m for m in mechanisms)}")
        return "cohort"
    raise InputError(f"target: {target!r:.80} is not a target; allowed: "
                     f"{', '.join(PAIR_TARGETS + COHORT_TARGETS)}, {PRIMING_PREFIX}MECHANISM")


def target_unit(target: str, readout: str) -> str:
    """The unit of ``target`` on ``readout`` (the primary read-out of the species)."""
    if target == "benefit_fraction" or "rate" in target or "share" in target:
        return "fraction (0-1)"
    if target == "cohort_failed_subjects":
        return "subjects"
    return "NRS points (0-10)" if readout == "nrs" else {
        "withdrawal_threshold_g": "g", "withdrawal_latency_s": "s"}.get(readout, readout)


@dataclass(frozen=True)
class Task:
    """One evaluation job: the setting, the varied parameters (``names``, ``group.name``) and
    the targets (cohort targets: ``n`` subjects, ``seed``). The pair's targets
    (:data:`PAIR_TARGETS`) are computed whenever ``pair`` is true or a target needs them."""

    setting: Setting
    names: tuple[str, ...]
    targets: tuple[str, ...] = ("benefit",)
    n: int = 0
    seed: int = 0
    pair: bool = True
    chunk: int = DEFAULT_CHUNK

    @property
    def cohort_targets(self) -> tuple[str, ...]:
        return tuple(t for t in self.targets if target_kind(t) == "cohort")

    @property
    def outputs(self) -> tuple[str, ...]:
        """Output columns, in order: the pair's targets (if computed), then the cohort's and
        its count of failed subjects."""
        cohort = self.cohort_targets
        out = PAIR_TARGETS if self.pair or len(cohort) < len(self.targets) else ()
        return out + ((*cohort, "cohort_failed_subjects") if cohort else ())


@dataclass(frozen=True)
class Evaluation:
    """``values``: ``{output: (rows,)}`` (NaN where the row failed); ``status``: per row
    ``"ok"`` or the reason it failed."""

    values: dict[str, np.ndarray]
    status: np.ndarray

    @property
    def failed(self) -> np.ndarray:
        return self.status != "ok"

    @staticmethod
    def concatenate(parts: Sequence[Evaluation]) -> Evaluation:
        keys = parts[0].values
        return Evaluation({k: np.concatenate([p.values[k] for p in parts]) for k in keys},
                          np.concatenate([p.status for p in parts]))


def check_names(names: Sequence[str], setting: Setting, field: str = "params",
                model: Model | None = None) -> list[tuple[str, object]]:
    """``[(name, Parameter)]`` for dotted ``names``: known, not repeated, not set by the
    condition (the message names the parameter to vary instead), not fixed by ``--set``.
    :class:`InputError` naming ``field.group.name`` otherwise."""
    from exerpain.simulate.scenario import Scenario

    model = model or Model.default()
    table = {f"{g}.{p.name}": p for g, p in model.parameter_table()}
    condition = Scenario.create(condition=setting.condition).resolved_condition()
    fixed = dict(setting.fixed)
    out = []
    for name in names:
        parse_overrides({name: 0.0}, field)  # GROUP.NAME syntax
        if name not in table:
            # names the group's allowed parameters (or the allowed groups)
            check_overrides(parse_overrides({name: 0.0}, field), model, None, field)
        p = table[name]
        if p.low == p.high:
            raise InputError(f"{field}.{name}: its declared range is a single value "
                             f"({p.low:g} {p.unit}); nothing to vary")
        for bound in (p.low, p.high):  # the condition's own parameters are refused here
            check_overrides(parse_overrides({name: bound}, field), model, condition, field)
        if name in fixed:
            raise InputError(f"{field}.{name}: also fixed by --set; vary it or fix it, not "
                             "both")
        if name in dict(out):
            raise InputError(f"{field}.{name}: given more than once")
        out.append((name, p))
    if not out:
        raise InputError(f"{field}: give at least one parameter (GROUP.NAME)")
    return out


def check_values(name: str, values: Iterable[float], setting: Setting,
                 field: str = "values") -> list[float]:
    """Each value of ``name`` within its declared range (:func:`check_overrides`), finite."""
    from exerpain.simulate.scenario import Scenario

    condition = Scenario.create(condition=setting.condition).resolved_condition()
    model = Model.default()
    out = []
    for value in values:
        check_overrides(parse_overrides({name: value}, field), model, condition, field)
        out.append(float(value))
    return out


@dataclass(frozen=True)
class _Base:
    model: Model
    exercise: object  # Prepared
    control: object  # Prepared
    condition: object
    defaults: dict
    readout: str


@lru_cache(maxsize=8)
@float64
def _base(setting: Setting) -> _Base:
    """The setting's two runs, built once per process (the exercise run and its sedentary
    control with the same time origin, as :func:`simulate_pair` builds them)."""
    from exerpain.simulate.scenario import Scenario

    model = Model.default()
    scenario = Scenario.create(condition=setting.condition, protocol=setting.protocol,
                               interventions=setting.interventions, ablate=setting.ablate,
                               days=setting.days, params=setting.overrides or None)
    exercise = scenario.build(model)
    control = scenario.model_copy(update={"protocol": PRESETS["sedentary"], "start_day": None,
                                          "stop_day": None}).build(model)
    control = dataclasses.replace(control, t0=min(control.t0, exercise.t0))
    condition = scenario.resolved_condition()
    defaults = apply_overrides(model.default_params(), scenario.params or {})
    return _Base(model, exercise, control, condition, defaults, PRIMARY_READOUT[condition.kind])


def chunk_for(rows: int, chunk: int | None = None) -> int:
    """Rows per solve: ``chunk``, else :data:`DEFAULT_CHUNK`, but no more than the next power
    of two above ``rows`` (a small job pads less; powers of two keep the compiled shapes few:
    each batch size compiles once per process, about 15 s on 2 cores)."""
    largest = chunk or DEFAULT_CHUNK
    if not isinstance(largest, int) or largest < 1:
        raise InputError(f"chunk: must be a positive integer, got {largest!r}")
    return min(largest, 1 << max(0, rows - 1).bit_length()) if chunk is None else largest


def row_overrides(names: Sequence[str], row: Sequence[float]) -> Overrides:
    """``{group: {name: value}}`` of one row."""
    out: Overrides = {}
    for name, value in zip(names, row, strict=True):
        group, _, key = name.partition(".")
        out.setdefault(group, {})[key] = float(value)
    return out


def _pair_chunk(task: Task, rows: np.ndarray) -> Evaluation:
    """The pair's targets for ``rows`` (at most ``task.chunk``), in one padded solve."""
    from exerpain.simulate.solve import solve

    base = _base(task.setting)
    k = len(rows)
    padded = np.concatenate([rows, np.repeat(rows[:1], task.chunk - k, axis=0)])
    params = [base.condition.apply(apply_overrides(base.defaults,
                                                   row_overrides(task.names, row)))
              for row in padded]
    prepared = []
    for p in params:
        prepared += [dataclasses.replace(run, inputs=run.inputs._replace(params=p))
                     for run in (base.exercise, base.control)]
    trajectory = solve(prepared, base.model)
    final = trajectory.observables[base.readout][:, -1].reshape(-1, 2)[:k]
    status = np.asarray(trajectory.status, dtype=object).reshape(-1, 2)[:k]
    exercise, sedentary = final[:, 0], final[:, 1]
    healthy = np.array([healthy_value(base.readout, p["readout"]) for p in params[:k]])
    gain = np.asarray(benefit(base.readout, exercise, sedentary), dtype=float)
    deficit = np.asarray(benefit(base.readout, healthy, sedentary), dtype=float)
    defined = np.array([bool(responder_defined(base.readout, s, h, p["readout"]))
                        for s, h, p in zip(sedentary, healthy, params[:k], strict=True)])
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(defined & (deficit > 1e-9), gain / deficit, np.nan)
    reasons = np.array([_pair_status(s) for s in status], dtype=object)
    bad = reasons != "ok"
    values = {"benefit": gain, "benefit_fraction": fraction, "exercise_value": exercise,
              "sedentary_value": sedentary, "healthy_value": healthy}
    values = {key: np.where(bad, np.nan, v) for key, v in values.items()}
    return Evaluation(values, reasons)


def _pair_status(status: Sequence[str]) -> str:
    failed = [f"{run}: {s}" for run, s in zip(("exercise", "sedentary"), status, strict=True)
              if s != "ok"]
    return "; ".join(failed) if failed else "ok"


def _cohort_row(task: Task, row: np.ndarray) -> tuple[dict[str, float], str]:
    """One cohort with ``row``'s values: the cohort targets and the status."""
    from exerpain.simulate.engine import CohortConfig, run_cohort

    s = task.setting
    priming = any(t.startswith(PRIMING_PREFIX) for t in task.cohort_targets)
    params = apply_overrides(s.overrides, row_overrides(task.names, row))
    config = CohortConfig(condition=s.condition, protocol=s.protocol, n=task.n,
                          seed=task.seed, interventions=s.interventions, ablate=s.ablate,
                          days=s.days, attribution=priming, pathway=False, params=params,
                          posterior_draws=COHORT_POSTERIOR_DRAWS)
    summary = run_cohort(config).summary
    out = {"cohort_failed_subjects": float(summary["failed"])}
    for target in task.cohort_targets:
        if target == "cohort_mean_benefit":
            out[target] = summary["mean_benefit"]
        elif target == "cohort_responder30_rate":
            out[target] = summary["responder30_rate"]
        else:
            share = summary.get("priming_mechanism_share") or {}
            out[target] = share.get(target.removeprefix(PRIMING_PREFIX), math.nan)
    if summary["completed"] == 0:
        return out, f"cohort: every subject failed ({summary['failure_reasons']})"
    return out, "ok"


@float64
def evaluate_chunk(task: Task, rows: np.ndarray) -> Evaluation:
    """Every output of ``task`` for ``rows`` (``(k, len(task.names))``, ``k <= task.chunk``).

    Module-level and of picklable arguments: the unit of work of :func:`evaluate`. A row whose
    target is not finite is failed (``status`` says why), its values NaN."""
    rows = np.asarray(rows, dtype=float).reshape(-1, len(task.names))
    k = len(rows)
    values = {name: np.full(k, np.nan) for name in task.outputs}
    status = np.full(k, "ok", dtype=object)
    if "benefit" in task.outputs:
        pair = _pair_chunk(task, rows)
        values.update(pair.values)
        status = pair.status.copy()
    for i, row in enumerate(rows if task.cohort_targets else ()):
        out, reason = _cohort_row(task, row)
        for key, value in out.items():
            values[key][i] = value
        if status[i] == "ok":
            status[i] = reason
    for target in task.targets:  # an undefined target is a failed evaluation, with a reason
        undefined = (status == "ok") & ~np.isfinite(values[target])
        status[undefined] = f"{target} undefined"
    return Evaluation(values, status)


def evaluate(task: Task, rows: np.ndarray, dask: str | None = None,
             progress: Callable[[int, int], None] | None = None) -> Evaluation:
    """Every output of ``task`` for every row of ``rows`` (``(m, len(task.names))``), in
    chunks of ``task.chunk`` rows (one row per chunk for cohort targets), here or on Dask
    (``dask``: ``local``, ``local:N`` or a scheduler address;
    :func:`exerpain.simulate.distribute.map_chunks`, results in chunk order)."""
    dask = check_dask(dask)
    rows = np.asarray(rows, dtype=float).reshape(-1, len(task.names))
    size = 1 if task.cohort_targets else task.chunk
    chunks = [rows[i:i + size] for i in range(0, len(rows), size)]
    parts = []
    for part in map_chunks(partial(evaluate_chunk, task), chunks, dask, label="rows"):
        parts.append(part)
        if progress is not None:
            progress(min(len(parts) * size, len(rows)), len(rows))
    return Evaluation.concatenate(parts)
