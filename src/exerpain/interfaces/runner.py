"""Execute a run spec: the one door to the engine for the command line, the Python API and
the HTTP API.

:func:`execute` checks the spec (:func:`exerpain.interfaces.runspec.check_spec`) and the
output folder before any work, pins the calibration for the whole run, runs it, writes the
results and ``run.json`` (:mod:`exerpain.interfaces.provenance`) into the output folder's
temporary twin (renamed into place at the end: :class:`exerpain.storage.OutputFolder`), and
then records the run in the run store (:mod:`exerpain.interfaces.runstore`). A run that
fails or is cancelled leaves no folder and no store row.

Cancellation and time limits are cooperative: the engine reports progress between chunks
(a cohort's chunk, a trial's replicate), and the progress callback raises
:class:`CancelledError` when the ``cancel`` event is set or the deadline has passed.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exerpain.errors import InputError
from exerpain.interfaces import provenance as prov
from exerpain.interfaces.runspec import (
    CohortSpec,
    SimulateSpec,
    TrialSpec,
    check_spec,
    cohort_config,
    scenario_of,
    trial_design,
)

Progress = Callable[[int, int, str], None]
"""``progress(done, total, unit)``."""
UNITS = {"simulate": "runs", "cohort": "subjects", "trial": "trials"}
"""What a run's progress counts, by kind."""


class CancelledError(Exception):
    """A run stopped by its ``cancel`` event or its time limit."""


@dataclass
class RunOutcome:
    """A finished run: its id, summary, the kind's own result object, its output folder
    (``None`` if it was not written) and its provenance (``run.json``)."""

    run_id: str
    spec: Any
    summary: dict
    result: Any
    folder: Path | None
    provenance: dict = field(repr=False)

    def __repr__(self) -> str:
        where = f", folder={str(self.folder)!r}" if self.folder else ""
        return (f"RunOutcome({self.run_id}, {self.spec.kind}, "
                f"{_headline_text(self.provenance['headline'])}{where})")


def _headline_text(headline: dict) -> str:
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                     for k, v in list(headline.items())[:4])


def headline(kind: str, summary: dict) -> dict:
    """The few numbers the run store lists for a run."""
    if kind == "simulate":
        keys = ("readout", "exercise_value", "sedentary_value", "benefit", "benefit_fraction",
                "responder30")
    elif kind == "cohort":
        keys = ("readout", "n", "failed", "mean_benefit", "responder30_rate",
                "responder50_rate")
    else:
        keys = ("design", "n_randomised", "replicates", "power", "smd")
    out = {k: summary.get(k) for k in keys if k in summary}
    if kind == "trial" and isinstance(out.get("smd"), dict):
        out["smd"] = out["smd"].get("mean")
    if kind == "trial" and isinstance(summary.get("difference"), dict):
        out["difference"] = summary["difference"].get("mean")
    shares = summary.get("priming_mechanism_share")
    if shares:
        top = max(shares, key=shares.get)
        out["priming_mechanism"] = top
        out["priming_share"] = shares[top]
    return out


def _checker(progress: Progress | None, cancel: threading.Event | None,
             deadline: float | None, unit: str) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        if cancel is not None and cancel.is_set():
            raise CancelledError("cancelled")
        if deadline is not None and time.monotonic() > deadline:
            raise CancelledError("time limit reached")
        if progress is not None:
            progress(done, total, unit)
    return report


def _simulate(spec: SimulateSpec, folder: Path | None, report, dask: str | None = None
              ) -> tuple[Any, dict, list[str]]:
    from exerpain.simulate.pair import simulate_pair
    from exerpain.storage import write_results

    report(0, 1)
    s = scenario_of(spec)
    result = simulate_pair(s.condition, s.protocol, interventions=s.interventions,
                           ablate=s.ablate, days=s.days, start_day=s.start_day,
                           stop_day=s.stop_day, params=s.params)
    report(1, 1)
    files = []
    if folder is not None:
        write_results(folder, {"trajectory": result.to_frame()}, result.summary)
        files = ["trajectory.parquet", "summary.json"]
    return result, result.summary, files


def _cohort(spec: CohortSpec, folder: Path | None, report, dask: str | None = None
            ) -> tuple[Any, dict, list[str]]:
    from exerpain.simulate.engine import cohort_into

    result = cohort_into(cohort_config(spec), folder, report, dask=dask)
    return result, result.summary, (["subjects.parquet", "summary.json"] if folder else [])


def _trial(spec: TrialSpec, folder: Path | None, report, dask: str | None = None
           ) -> tuple[Any, dict, list[str]]:
    from exerpain.design.run import run_trial_spec

    design, base = trial_design(spec)
    summary, run = run_trial_spec(design, base, spec.replicates, spec.seed, spec.null,
                                  spec.power, folder, report, spec.params or None, dask)
    files = sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) \
        if folder is not None else []
    return run, summary, files


RUNNERS = {"simulate": _simulate, "cohort": _cohort, "trial": _trial}


def execute(spec, out: str | Path | None = None, overwrite: bool = False,
            progress: Progress | None = None, cancel: threading.Event | None = None,
            time_limit_s: float | None = None, command: list[str] | None = None,
            store: bool = True, checked: bool = False, dask: str | None = None
            ) -> RunOutcome:
    """Run ``spec``; write ``out`` (results + ``run.json``) and record the run in the store.

    ``dask``: where cohort chunks and trial groups are computed (``None``: this process;
    ``local``, ``local:N`` or a scheduler address, :mod:`exerpain.simulate.distribute`); the
    results are the same bit for bit, and ``run.json`` records it under ``execution``.

    ``progress(done, total, unit)`` is called as the run proceeds; setting ``cancel`` or
    passing ``time_limit_s`` stops it at the next progress point (:class:`CancelledError`);
    ``command`` is recorded as the command line (default: this process's). Bad input is one
    :class:`InputError` naming the field, raised before any work or any file is written.
    """
    from exerpain.model.calibrated import active_name, using
    from exerpain.model.overrides import apply_overrides
    from exerpain.model.registry import Model
    from exerpain.precision import float64
    from exerpain.simulate.distribute import check_dask
    from exerpain.storage import maybe_output, write_json

    if not checked:
        check_spec(spec)
    dask = check_dask(dask)
    if dask is not None and spec.kind == "simulate":
        raise InputError("dask: applies to cohort and trial runs (a simulation is two runs)")
    calibration = spec.calibration or active_name()
    started = prov.now()
    run_id = prov.new_run_id(started)
    deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
    report = _checker(progress, cancel, deadline, UNITS[spec.kind])
    with using(calibration), maybe_output(out, overwrite) as folder:
        model = Model.default()
        resolved = apply_overrides(model.default_params(), spec.params)
        result, summary, files = float64(RUNNERS[spec.kind])(spec, folder, report, dask)
        record = prov.record(spec, run_id, started, prov.now(), "ok", command, model,
                             resolved, headline(spec.kind, summary), files)
        record["execution"] = {"dask": dask or "none (this process)"}
        if folder is not None:
            write_json(folder / "run.json", record)
    final = Path(out) if out is not None else None
    if final is not None and hasattr(result, "folder"):
        result.folder = final.expanduser()  # its temporary folder became ``out``
    if store:
        from exerpain.interfaces.runstore import record as store_record

        with contextlib.suppress(OSError):  # a read-only data directory: results still stand
            store_record(record, final)
    return RunOutcome(run_id, spec, summary, result, final, record)


def run(kind: str = "simulate", *, out: str | Path | None = None, overwrite: bool = False,
        progress: Progress | None = None, **fields: Any) -> RunOutcome:
    """The Python API's one call: ``run("cohort", condition="dpn", protocol=
    "aerobic-moderate", n=200, params={"opioid.k_opioid": 0.3})``."""
    from exerpain.interfaces.runspec import parse_spec

    if "kind" in fields:
        raise InputError("kind: give it as the first argument")
    return execute(parse_spec({"kind": kind, **fields}), out=out, overwrite=overwrite,
                   progress=progress)
