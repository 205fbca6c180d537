"""Global sensitivity analysis: which uncertain parameters move a target, alone and together.

Designs and estimators are SALib's (1.6.0; Herman & Usher 2017, doi:10.21105/joss.00097):

``sobol``
    Saltelli's scheme on a scrambled Sobol' sequence (``SALib.sample.sobol``: ``N`` base
    samples, ``N (D + 2)`` evaluations for ``D`` parameters without second-order indices)
    and ``SALib.analyze.sobol``: first-order ``S1`` (Saltelli et al. 2010,
    doi:10.1016/j.cpc.2009.09.018) and total ``ST`` (Jansen's estimator, same paper), each
    with a bootstrap half-width ``*_conf`` over the base samples at level 0.95 (normal
    approximation: the interval is ``index +/- conf``). ``N`` is a power of two (the
    sequence's balance properties hold only there).
``morris``
    Elementary effects (``SALib.sample.morris``, ``N`` trajectories on a ``levels``-level
    grid, ``N (D + 1)`` evaluations; ``SALib.analyze.morris``): ``mu_star`` (mean absolute
    effect, Campolongo et al. 2007, doi:10.1016/j.envsoft.2006.10.004, in the target's
    unit per unit of the scaled range), its bootstrap ``mu_star_conf`` and ``sigma``
    (spread: interactions or non-linearity). A screening method: a ranking, not a share of
    variance.

Parameters are sampled uniformly over their declared ranges (the uniform priors of the
parameter table; ``range_scale`` < 1 shrinks each range toward the calibrated value,
``[v - s (v - low), v + s (high - v)]``, or a range is given explicitly as
``NAME=LOW:HIGH`` within the declared one). Evaluations run on the batched engine
(:mod:`exerpain.explain.evaluate`).

Failed evaluations are never fed to SALib as NaN: with ``on_failure="drop"`` (default) every
base sample (Sobol': its ``D + 2`` rows) or trajectory (Morris: its ``D + 1`` rows) that
holds a failed evaluation is dropped whole, so the estimators keep their structure over the
rest, and the counts are reported (the indices then describe the region of parameter space
where the model solves); ``on_failure="error"`` stops with the count instead.

Convergence check: the indices are recomputed on the first half of the (kept) base samples
or trajectories and compared with all of them. Sobol': the largest absolute change of any
``ST``, flagged above :data:`SOBOL_CONVERGENCE_THRESHOLD` (0.05 on the 0-1 scale of the
indices; an assumed threshold, of the size that Sarrazin, Pianosi & Wagener 2016,
doi:10.1016/j.envsoft.2016.02.005, use for the width of bootstrap intervals when judging
that indices have converged). Morris: the largest absolute change of any ``mu_star`` over
the largest ``mu_star``, flagged above :data:`MORRIS_CONVERGENCE_THRESHOLD` (0.1, assumed).
A flag means: raise ``N``.
"""

from __future__ import annotations

import math
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from exerpain.errors import InputError
from exerpain.explain.evaluate import (
    Evaluation,
    Setting,
    Task,
    check_names,
    chunk_for,
    evaluate,
    target_kind,
    target_unit,
)
from exerpain.model.registry import Model
from exerpain.simulate.distribute import check_dask

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

METHODS = ("sobol", "morris")
SOBOL_CONVERGENCE_THRESHOLD = 0.05
"""Largest tolerated change of any ST between half and all base samples (module docstring)."""
MORRIS_CONVERGENCE_THRESHOLD = 0.1
"""Largest tolerated change of any mu_star between half and all trajectories, relative to
the largest mu_star (module docstring)."""
CONF_LEVEL = 0.95
DEFAULT_RESAMPLES = 1000
MORRIS_LEVELS = 4  # SALib's default grid
MIN_BLOCKS = 4  # base samples / trajectories below which no index is estimated
MAX_N = 2**20
FAILURE_POLICIES = ("drop", "error")
PARAMETER_SETS = ("all-fitted", "exercise-gains")
"""``all-fitted``: every parameter the active calibration fitted; ``exercise-gains``: every
mechanism's exercise gains and the programme's adaptation parameters; both without those the
condition sets itself and those of the other species' read-outs."""


@dataclass(frozen=True)
class Factor:
    """One varied parameter: its sampled range ``[low, high]`` (``unit``), the calibrated
    value it centres on and its declared range."""

    name: str
    low: float
    high: float
    nominal: float
    unit: str
    declared: tuple[float, float]
    kind: str

    def describe(self) -> dict:
        return {"name": self.name, "low": self.low, "high": self.high,
                "nominal": self.nominal, "unit": self.unit,
                "declared_range": list(self.declared), "provenance_kind": self.kind}


# Parameters of the primary read-out (human NRS, rodent von Frey), by prefix in group
# ``readout``; the other read-outs' parameters (and the day-to-day noise, which a
# deterministic run does not use) cannot move a benefit.
READOUT_PREFIX = {"human": "nrs_", "rodent": "vf_"}


def parameter_set(name: str, setting: Setting, model: Model | None = None) -> list[str]:
    """The names of a :data:`PARAMETER_SETS` entry that this ``setting`` can vary: without
    the parameters the condition sets itself, other conditions' own parameters, other
    read-outs' parameters and the other species' responsiveness."""
    from exerpain.model.calibrated import shipped
    from exerpain.simulate.scenario import Scenario

    model = model or Model.default()
    condition = Scenario.create(condition=setting.condition).resolved_condition()
    kind = condition.kind
    if name == "all-fitted":
        chosen = list(shipped().get("parameters", {}))
    else:
        chosen = [f"{g}.{p.name}" for g, p in model.parameter_table()
                  if g in model.exercise_mechanisms and "exercise_" in p.name]
        chosen += [f"exercise.responsiveness_{kind}", "exercise.tau_adaptation",
                   "exercise.load_half_saturation", "exercise.strain_tolerance"]
    own = set(condition.linked) | set(condition.overrides) | {k for k, _ in setting.fixed}
    table = {f"{g}.{p.name}": p for g, p in model.parameter_table()}
    other = "rodent" if kind == "human" else "human"

    def usable(key: str) -> bool:
        group, param = key.split(".")
        if key not in table or key in own or table[key].low == table[key].high:
            return False
        if group == "readout":
            return param.startswith(READOUT_PREFIX[kind]) and "noise" not in param
        if group == "condition":
            return param.startswith(f"{condition.name}_")
        return key != f"exercise.responsiveness_{other}"

    return [key for key in chosen if usable(key)]


def parse_params(text: str | Sequence[str], setting: Setting) -> tuple[list[str],
                                                                       dict[str, tuple]]:
    """``"a.b,c.d=0.1:0.4"`` or a list of such items (or a :data:`PARAMETER_SETS` name) ->
    ``(names, {name: (low, high)})`` of the explicitly ranged ones."""
    items = text.split(",") if isinstance(text, str) else list(text)
    names: list[str] = []
    ranges: dict[str, tuple[float, float]] = {}
    for item in (i.strip() for i in items):
        if not item:
            continue
        if item in PARAMETER_SETS:
            names += [n for n in parameter_set(item, setting) if n not in names]
            continue
        name, sep, bounds = item.partition("=")
        name = name.strip()
        if sep:
            low, colon, high = bounds.partition(":")
            try:
                if not colon:
                    raise ValueError
                ranges[name] = (float(low), float(high))
            except ValueError:
                raise InputError(f"params.{name}: {bounds!r:.40} is not a range; use "
                                 "NAME=LOW:HIGH, e.g. opioid.k_opioid=0.1:0.4") from None
        names.append(name)
    return names, ranges


def factors_for(names: Sequence[str], setting: Setting, range_scale: float = 1.0,
                ranges: dict[str, tuple[float, float]] | None = None) -> list[Factor]:
    """Validated factors (:func:`exerpain.explain.evaluate.check_names`): unknown names,
    parameters the condition sets, repeats and ranges outside the declared one are one
    :class:`InputError` naming the field."""
    if not (isinstance(range_scale, int | float) and 0 < range_scale <= 1):
        raise InputError(f"range_scale: must be within (0, 1], got {range_scale!r}")
    ranges = ranges or {}
    out = []
    for name, p in check_names(names, setting):
        if name in ranges:
            low, high = ranges[name]
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise InputError(f"params.{name}: the range {low:g}:{high:g} must be "
                                 "finite with LOW < HIGH")
            if low < p.low or high > p.high:
                raise InputError(f"params.{name}: must be within {p.low:g}-{p.high:g} "
                                 f"{p.unit} (the parameter's declared range), got "
                                 f"{low:g}:{high:g}")
        else:
            low = p.value - range_scale * (p.value - p.low)
            high = p.value + range_scale * (p.high - p.value)
        out.append(Factor(name, float(low), float(high), float(p.value), p.unit,
                          (float(p.low), float(p.high)), p.kind))
    return out


def problem(factors: Sequence[Factor]) -> dict:
    """SALib's problem definition (uniform over each factor's range)."""
    return {"num_vars": len(factors), "names": [f.name for f in factors],
            "bounds": [[f.low, f.high] for f in factors]}


def check_design(method: str, n: int) -> None:
    if method not in METHODS:
        raise InputError(f"method: must be one of {', '.join(METHODS)}, got {method!r:.40}")
    if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= MAX_N:
        raise InputError(f"n: must be an integer within 2-{MAX_N}, got {n!r}")
    if method == "sobol" and n & (n - 1):
        raise InputError(f"n: Sobol' designs need a power of two base samples (balance of "
                         f"the sequence), got {n}; e.g. {1 << (n.bit_length() - 1)} or "
                         f"{1 << n.bit_length()}")
    if n < 2 * MIN_BLOCKS:
        raise InputError(f"n: at least {2 * MIN_BLOCKS} (the convergence check halves it), "
                         f"got {n}")


def design(method: str, factors: Sequence[Factor], n: int, seed: int,
           levels: int = MORRIS_LEVELS) -> np.ndarray:
    """The design's rows, ``(rows, D)``: Sobol' ``N (D + 2)`` (A, the D AB matrices, B per
    base sample), Morris ``N (D + 1)``."""
    check_design(method, n)
    prob = problem(factors)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib's notes on sequence length
        if method == "sobol":
            from SALib.sample import sobol

            return sobol.sample(prob, n, calc_second_order=False, scramble=True, seed=seed)
        from SALib.sample import morris

        return morris.sample(prob, n, num_levels=levels, seed=seed)


def block_size(method: str, d: int) -> int:
    """Rows per base sample (Sobol', no second order) or trajectory (Morris)."""
    return d + 2 if method == "sobol" else d + 1


def _indices(method: str, prob: dict, x: np.ndarray, y: np.ndarray, resamples: int,
             seed: int, levels: int) -> dict[str, np.ndarray]:
    """SALib's estimators on complete blocks; a constant target gives zeros (SALib would
    divide by its zero variance)."""
    d = prob["num_vars"]
    if np.ptp(y) <= 1e-12 * max(1.0, float(np.max(np.abs(y)))):
        zero = np.zeros(d)
        if method == "sobol":
            return {"S1": zero, "S1_conf": zero, "ST": zero, "ST_conf": zero}
        return {"mu": zero, "mu_star": zero, "mu_star_conf": zero, "sigma": zero}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "sobol":
            from SALib.analyze import sobol

            # SALib's analyse treats a seed of 0 as none: the bootstrap seed is seed + 1
            s = sobol.analyze(prob, y, calc_second_order=False, num_resamples=resamples,
                              conf_level=CONF_LEVEL, seed=seed + 1)
            return {k: np.asarray(s[k], dtype=float) for k in ("S1", "S1_conf", "ST",
                                                                "ST_conf")}
        from SALib.analyze import morris

        s = morris.analyze(prob, x, y, num_resamples=resamples, conf_level=CONF_LEVEL,
                           num_levels=levels, seed=seed + 1)
        return {k: np.asarray(s[k], dtype=float) for k in ("mu", "mu_star", "mu_star_conf",
                                                            "sigma")}


def analyse(method: str, factors: Sequence[Factor], x: np.ndarray, y: np.ndarray,
            failed: np.ndarray | None = None, *, resamples: int = DEFAULT_RESAMPLES,
            seed: int = 0, levels: int = MORRIS_LEVELS, on_failure: str = "drop",
            reasons: Sequence[str] | None = None) -> dict:
    """Indices with bootstrap intervals, the convergence check and the failure account.

    ``x``: the design (``(rows, D)``, as :func:`design` made it); ``y``: the target per row;
    ``failed``: rows whose evaluation failed (their ``y`` is ignored). Returns a JSON-ready
    dict: ``indices`` (per parameter), ``convergence``, ``failures``."""
    if method not in METHODS:
        raise InputError(f"method: must be one of {', '.join(METHODS)}, got {method!r:.40}")
    if on_failure not in FAILURE_POLICIES:
        raise InputError(f"on_failure: must be one of {', '.join(FAILURE_POLICIES)}, got "
                         f"{on_failure!r:.40}")
    if not isinstance(resamples, int) or not 10 <= resamples <= 100_000:
        raise InputError(f"resamples: must be an integer within 10-100000, got {resamples!r}")
    prob = problem(factors)
    d = len(factors)
    size = block_size(method, d)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float).ravel()
    if len(y) != len(x) or len(y) % size:
        raise ValueError(f"{len(y)} outputs for {len(x)} design rows in blocks of {size}")
    failed = np.zeros(len(y), bool) if failed is None else np.asarray(failed, bool)
    failed = failed | ~np.isfinite(y)  # a NaN never reaches SALib
    blocks = len(y) // size
    bad_blocks = failed.reshape(blocks, size).any(axis=1)
    counts = Counter(r for r, f in zip(reasons if reasons is not None else
                                       ["non-finite target"] * len(y), failed, strict=True)
                     if f)
    failures = {"evaluations": int(len(y)), "failed": int(failed.sum()),
                "reasons": dict(counts), "policy": on_failure,
                "blocks": int(blocks), "blocks_dropped": int(bad_blocks.sum()),
                "block": "base sample" if method == "sobol" else "trajectory"}
    if failed.any() and on_failure == "error":
        raise InputError(f"{int(failed.sum())} of {len(y)} evaluations failed "
                         f"({', '.join(f'{k}: {v}' for k, v in counts.items())}); pass "
                         "--on-failure drop to drop their base samples, or narrow the ranges")
    keep = np.repeat(~bad_blocks, size)
    kept = int((~bad_blocks).sum())
    if kept < MIN_BLOCKS * 2:
        raise InputError(f"only {kept} of {blocks} {failures['block']}s evaluated without "
                         f"failure ({int(failed.sum())} evaluations failed: "
                         f"{', '.join(f'{k}: {v}' for k, v in counts.items())}); at least "
                         f"{2 * MIN_BLOCKS} are needed; narrow the ranges (--range-scale)")
    xk, yk = x[keep], y[keep]
    full = _indices(method, prob, xk, yk, resamples, seed, levels)
    half = (kept // 2) * size
    first = _indices(method, prob, xk[:half], yk[:half], resamples, seed, levels)
    if method == "sobol":
        change = float(np.max(np.abs(first["ST"] - full["ST"])))
        convergence = {
            "compared": f"ST on the first {kept // 2} base samples vs all {kept}",
            "max_abs_change_ST": change,
            "max_abs_change_S1": float(np.max(np.abs(first["S1"] - full["S1"]))),
            "threshold": SOBOL_CONVERGENCE_THRESHOLD,
            "converged": change <= SOBOL_CONVERGENCE_THRESHOLD,
            "half": {f.name: {"S1": float(first["S1"][i]), "ST": float(first["ST"][i])}
                     for i, f in enumerate(factors)},
        }
    else:
        scale = float(np.max(full["mu_star"]))
        change = float(np.max(np.abs(first["mu_star"] - full["mu_star"])))
        relative = change / scale if scale > 0 else 0.0
        convergence = {
            "compared": f"mu_star on the first {kept // 2} trajectories vs all {kept}",
            "max_abs_change_mu_star": change,
            "max_relative_change_mu_star": relative,
            "threshold": MORRIS_CONVERGENCE_THRESHOLD,
            "converged": relative <= MORRIS_CONVERGENCE_THRESHOLD,
            "half": {f.name: {"mu_star": float(first["mu_star"][i])}
                     for i, f in enumerate(factors)},
        }
    convergence["advice"] = ("converged at this threshold" if convergence["converged"] else
                             "not converged: raise n")
    indices = {f.name: {k: float(v[i]) for k, v in full.items()} for i, f in
               enumerate(factors)}
    order = "ST" if method == "sobol" else "mu_star"
    ranking = sorted(indices, key=lambda k: -indices[k][order])
    return {"indices": indices, "ranking": ranking, "ranked_by": order,
            "convergence": convergence, "failures": failures,
            "target_values": _describe(yk),
            "intervals": {"method": "bootstrap over the " + failures["block"] + "s (SALib), "
                                    "half-width at the level: index +/- conf",
                          "resamples": resamples, "level": CONF_LEVEL,
                          "seed": seed + 1}}


def _describe(y: np.ndarray) -> dict:
    return {"mean": float(np.mean(y)), "sd": float(np.std(y, ddof=1)) if len(y) > 1 else 0.0,
            "min": float(np.min(y)), "max": float(np.max(y)), "n": int(len(y))}


@dataclass
class SensitivityResult:
    summary: dict
    samples: pd.DataFrame  # one row per evaluation: parameter values, outputs, status

    def plot(self) -> Figure:
        return sensitivity_figure(self.summary)

    def __repr__(self) -> str:
        s = self.summary
        key = s["ranked_by"]
        top = ", ".join(f"{n} {s['indices'][n][key]:.2f}" for n in s["ranking"][:3])
        return (f"SensitivityResult({s['method']}, {s['target']}, N={s['design']['n']}: "
                f"top {key} {top})")


def run_sensitivity(setting: Setting, params: str | Sequence[str], method: str = "sobol",
                    n: int = 64, target: str = "benefit", seed: int = 0,
                    range_scale: float = 1.0, cohort_n: int = 0, resamples: int =
                    DEFAULT_RESAMPLES, levels: int = MORRIS_LEVELS,
                    on_failure: str = "drop", dask: str | None = None,
                    chunk: int | None = None,
                    progress: Callable[[int, int], None] | None = None) -> SensitivityResult:
    """A global sensitivity analysis of ``target`` over ``params`` (module docstring).

    ``params``: ``"a.b,c.d"``, a list of names, ``NAME=LOW:HIGH`` items, or a
    :data:`PARAMETER_SETS` name. Cohort targets need ``cohort_n`` subjects (one cohort per
    evaluation, the same ``seed``: common random numbers)."""
    import pandas as pd

    started = time.perf_counter()
    kind = target_kind(target)
    if kind == "cohort" and not (isinstance(cohort_n, int) and cohort_n >= 1):
        raise InputError(f"n_subjects: target {target!r} runs one cohort per evaluation; give "
                         "its size (--cohort-n), e.g. 50")
    check_design(method, n)
    check_dask(dask)
    if not isinstance(levels, int) or not 2 <= levels <= 20 or levels % 2:
        raise InputError(f"levels: must be an even integer within 2-20, got {levels!r}")
    names, ranges = parse_params(params, setting)
    factors = factors_for(names, setting, range_scale, ranges)
    x = design(method, factors, n, seed, levels)
    task = Task(setting=setting, names=tuple(f.name for f in factors), targets=(target,),
                n=cohort_n if kind == "cohort" else 0, seed=seed, pair=kind == "pair",
                chunk=chunk_for(len(x), chunk))
    ev: Evaluation = evaluate(task, x, dask=dask, progress=progress)
    result = analyse(method, factors, x, ev.values[target], ev.failed, resamples=resamples,
                     seed=seed, levels=levels, on_failure=on_failure,
                     reasons=list(ev.status))
    runtime = time.perf_counter() - started
    summary = {
        "method": method, "target": target,
        "target_unit": target_unit(target, setting.describe()["readout"]), **setting.describe(),
        "design": {"n": n, "evaluations": int(len(x)), "seed": seed,
                   "sampler": ("SALib.sample.sobol: Saltelli scheme on a scrambled Sobol' "
                               "sequence, no second order")
                   if method == "sobol" else
                   f"SALib.sample.morris: {n} trajectories, {levels} levels",
                   "range_scale": range_scale},
        "parameters": [f.describe() for f in factors],
        **result,
        "runtime_s": runtime, "evaluations_per_s": len(x) / runtime,
    }
    if kind == "cohort":
        summary["cohort"] = {"n": cohort_n, "seed": seed, "common_random_numbers": True,
                             "note": "one cohort per evaluation, the same seed for all: the "
                                     "same subjects, genotypes and posterior draws"}
    samples = pd.DataFrame(x, columns=list(task.names))
    samples.insert(0, "block", np.arange(len(x)) // block_size(method, len(factors)))
    for key, values in ev.values.items():
        samples[key] = values
    samples["status"] = ev.status
    return SensitivityResult(summary, samples)


def sensitivity_figure(summary: dict) -> Figure:
    """Bars of the indices with their bootstrap intervals, parameters ranked (Sobol': S1
    and ST side by side; Morris: mu_star, with sigma as open markers)."""
    from exerpain.interfaces.figures import _colors, new_figure

    names = summary["ranking"]
    idx = summary["indices"]
    y = np.arange(len(names))
    fig = new_figure(7.5, 1.2 + 0.32 * len(names))
    ax = fig.add_subplot()
    c = _colors()
    if summary["method"] == "sobol":
        for offset, key, color in ((-0.2, "S1", c[0]), (0.2, "ST", c[1])):
            ax.barh(y + offset, [idx[n][key] for n in names], height=0.38, color=color,
                    xerr=[idx[n][f"{key}_conf"] for n in names], capsize=2, label=key)
        conv = summary["convergence"]
        ax.set_xlabel(f"Sobol' index of {summary['target']} (95% bootstrap interval)")
        state = "converged" if conv["converged"] else "NOT converged"
        note = (f"N={summary['design']['n']}; max |dST| half vs all "
                f"{conv['max_abs_change_ST']:.3f} ({state})")
    else:
        ax.barh(y, [idx[n]["mu_star"] for n in names], height=0.6, color=c[0],
                xerr=[idx[n]["mu_star_conf"] for n in names], capsize=2, label="mu*")
        ax.plot([idx[n]["sigma"] for n in names], y, "o", mfc="none", color=c[1],
                label="sigma")
        ax.set_xlabel(f"elementary effects of {summary['target']} ({summary['target_unit']})")
        note = f"N={summary['design']['n']} trajectories"
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="grey", lw=0.6)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"{summary['condition']} x {summary['protocol']}: {note}", fontsize=9)
    fig.tight_layout()
    return fig
