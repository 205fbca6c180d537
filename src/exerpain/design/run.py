"""One virtual-trial run: replicate trials of a design, optionally searching for the n per arm
that gives a target power, summarised and written to a folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from exerpain.design.spec import TrialDesign
from exerpain.design.trial import TrialRun


def run_trial_spec(design: TrialDesign, base: Path | None, replicates: int, seed: int,
                   null: bool, power: float | None, folder: Path | None,
                   progress: Callable[[int, int], None] | None = None,
                   params: dict | None = None, dask: str | None = None
                   ) -> tuple[dict, TrialRun]:
    """``(summary, run)`` of ``replicates`` trials of ``design`` (already with ``n`` and
    ``null`` applied); with ``power``, first the n per arm that reaches it
    (:func:`exerpain.design.power.find_n`). ``folder``: write the trial's tables and
    summary into it."""
    from exerpain.design.power import find_n, total_for
    from exerpain.design.results import summarise, write_trial
    from exerpain.design.trial import simulate_trials

    def trials(d: TrialDesign) -> TrialRun:
        return simulate_trials(d, replicates, seed, base, progress=progress, params=params,
                               dask=dask)

    found = None
    if power is not None:
        primary = next(a.name for a in design.arms if not a.control)
        found = find_n(design, power, lambda d: [r.comparisons[primary]["p"]
                                                  for r in trials(d).replicates])
        design = design.with_n(total_for(design, found["n_per_arm"]["estimate"]))
    result = trials(design)
    summary = summarise(design, result, replicates, seed, null)
    if found is not None:
        summary["n_per_arm"] = found["n_per_arm"]
        summary["target_power"] = power
        summary["power_search"] = found["evaluated"]
    if folder is not None:
        write_trial(folder, design, result, summary)
    return summary, result
