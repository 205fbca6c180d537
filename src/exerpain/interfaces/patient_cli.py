"""``exerpain personalise``, ``exerpain prescribe`` and ``exerpain diary simulate``: one
patient's journey (thin layer over :mod:`exerpain.patient`).

A fit that does not converge prints its diagnostics on one ``error:`` line and exits with
:data:`EXIT_NOT_CONVERGED`; nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

EXIT_NOT_CONVERGED = 3
diary_app = typer.Typer(no_args_is_help=True, help="Synthetic patient records.")

Seed = Annotated[str, typer.Option(help="random seed")]
Out = Annotated[Path | None, typer.Option(help="output folder")]
Overwrite = Annotated[bool, typer.Option("--overwrite",
                                         help="replace the results already in --out")]
JsonFlag = Annotated[bool, typer.Option("--json", help="print the result as JSON")]


def _seed(text: str) -> int:
    from exerpain.interfaces.cli import _integer
    from exerpain.simulate.engine import SEED_MAX, SEED_MIN

    return _integer("seed", text, SEED_MIN, SEED_MAX)


def _with_bar(label: str, run):
    """``run(progress)`` under a progress bar on stderr (closed before any error line)."""
    from exerpain.interfaces.progress import progress_bar

    def wrapped():
        with progress_bar(label, unit="stages") as update:
            return run(update)

    return wrapped


def _fit(run):
    from exerpain.patient.inference import NotConvergedError

    try:
        return run()
    except NotConvergedError as err:
        from exerpain.storage import to_json

        typer.echo(f"error: {err}; diagnostics: {to_json(err.diagnostics)}".replace("\n", " "),
                   err=True)
        raise typer.Exit(EXIT_NOT_CONVERGED) from None


def personalise(
    record: Annotated[str, typer.Argument(
        help="a FHIR R4 Bundle (.json), or a diary CSV with labs.csv beside it")],
    condition: Annotated[str, typer.Option(help="dpn or cipn")] = "dpn",
    labs: Annotated[Path | None, typer.Option(help="labs CSV of a diary CSV")] = None,
    fast: Annotated[bool, typer.Option(
        "--fast", help="Laplace approximation checked by importance sampling, not NUTS")]
    = False,
    change: Annotated[str | None, typer.Option(
        help="the changed plan predicted (preset or protocol file; default: guideline)")]
    = None,
    seed: Seed = "0", out: Out = None, overwrite: Overwrite = False, json_: JsonFlag = False,
) -> None:
    """Personalise: posterior, priming-mechanism probability, diary predictions."""
    from exerpain.model.protocols import resolve_protocol
    from exerpain.patient.personalise import personalise as run
    from exerpain.patient.record import load_record
    from exerpain.storage import check_target, maybe_output, to_json

    s = _seed(seed)
    rec = load_record(record, labs)
    future = resolve_protocol(change) if change is not None else None
    if out is not None:
        check_target(out, overwrite)
    summary, fitted = _fit(_with_bar(f"personalise {rec.patient_id}", lambda update: run(
        rec, condition, "laplace" if fast else "nuts", s, future, progress=update)))
    with maybe_output(out, overwrite) as folder:
        if folder is not None:
            write_fitted(folder, fitted, summary)
    if json_:
        typer.echo(to_json(summary))
        return
    _print_personalised(summary)


def write_fitted(folder: Path, fitted, summary: dict) -> None:
    """``summary.json``, ``record.json`` and ``posterior.npz`` (the draws) of a fit."""
    import numpy as np

    from exerpain.storage import atomic_write, write_json

    write_json(folder / "summary.json", summary)
    atomic_write(folder / "record.json", lambda tmp: Path(tmp).write_text(
        fitted.data.record.model_dump_json(indent=1)))
    def save(tmp) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, draws=fitted.posterior.draws)

    atomic_write(folder / "posterior.npz", save)


def _load_fitted(path: Path, condition: str, seed: int, fast: bool, horizon: int):
    """A ``personalise --out`` folder, or a record to personalise first; the patient's
    frame reaches ``horizon`` days past the diary."""
    import numpy as np

    from exerpain.errors import InputError
    from exerpain.patient.inference import Posterior
    from exerpain.patient.personalise import Fitted, personalise, personalised_model
    from exerpain.patient.record import PatientRecord, load_record

    if path.is_dir():
        files = [path / n for n in ("summary.json", "record.json", "posterior.npz")]
        if not all(f.is_file() for f in files):
            raise InputError(f"{path}: not a personalise --out folder (needs summary.json, "
                             "record.json, posterior.npz)")
        summary = json.loads(files[0].read_text())
        rec = PatientRecord.model_validate_json(files[1].read_text())
        draws = np.load(files[2])["draws"]
        pm = personalised_model(rec, summary["condition"], horizon=horizon)
        if draws.ndim != 2 or draws.shape[1] != pm.n_z + 1:
            raise InputError(f"{files[2]}: draws of shape {draws.shape}; expected (n, "
                             f"{pm.n_z + 1})")
        return Fitted(pm, Posterior(summary["method"], draws, summary["diagnostics"], 0.0),
                      {})
    rec = load_record(path)
    _, fitted = _fit(_with_bar(f"personalise {rec.patient_id}", lambda update: personalise(
        rec, condition, "laplace" if fast else "nuts", seed, attribution=0, progress=update)))
    pm = personalised_model(rec, condition, horizon=horizon)
    return Fitted(pm, fitted.posterior, fitted.plans)


def prescribe(
    source: Annotated[Path, typer.Argument(
        help="a personalise --out folder, or a record (personalised first)")],
    constraints: Annotated[Path | None, typer.Option(help="constraints file (YAML/JSON)")]
    = None,
    condition: Annotated[str, typer.Option(help="dpn or cipn (for a record)")] = "dpn",
    fast: Annotated[bool, typer.Option("--fast", help="for a record: the fast fit")] = False,
    seed: Seed = "0", json_: JsonFlag = False,
) -> None:
    """Prescribe: the programmes that do most for this patient, next to the guideline."""
    from exerpain.patient.prescribe import load_constraints
    from exerpain.patient.prescribe import prescribe as run
    from exerpain.storage import to_json

    s = _seed(seed)
    c = load_constraints(constraints)
    from exerpain.patient.prescribe import candidates

    candidates(c)  # constraints no programme meets: refused before the fit
    fitted = _load_fitted(source, condition, s, fast, 7 * c.weeks + 1)
    result = run(fitted, c, s)
    if json_:
        typer.echo(to_json(result))
        return
    typer.echo(f"patient {result['patient_id']}: {result['candidates']} programmes over "
               f"{result['draws']} posterior draws; objective {result['objective']}")
    for k, row in enumerate([*result["recommendations"], result["guideline"]]):
        p = row["protocol"]
        label = "guideline" if k == len(result["recommendations"]) else f"#{k + 1}"
        typer.echo(f"{label:>9}: {p['modality']} {p['intensity']:g} x "
                   f"{p['minutes_per_session']:g} min x {p['sessions_per_week']:g}/wk: benefit "
                   f"{row['expected_benefit']:.2f} NRS (90% {row['benefit_ci90'][0]:.2f} to "
                   f"{row['benefit_ci90'][1]:.2f}), P(>=30%) {row['p_response30']:.0%}, "
                   f"P(>=50%) {row['p_response50']:.0%}, relies on "
                   f"{row['relies_on']['mechanism']} "
                   f"({row['relies_on']['probability']:.0%})")


@diary_app.command("simulate")
def diary_simulate(
    condition: Annotated[str, typer.Option(help="dpn or cipn")] = "dpn",
    seed: Seed = "0",
    weeks: Annotated[str, typer.Option(help="weeks of diary (4-52)")] = "10",
    out: Annotated[Path, typer.Option(help="output folder")] = Path("synthetic-patient"),
    overwrite: Overwrite = False,
) -> None:
    """Write a synthetic patient: diary.csv, labs.csv, bundle.json (FHIR) and truth.json."""
    from exerpain.interfaces.cli import _integer
    from exerpain.patient.fhir import bundle_of
    from exerpain.patient.synthetic import MAX_WEEKS, MIN_WEEKS, simulate_patient, write_synthetic
    from exerpain.storage import check_target, maybe_output

    s = _seed(seed)
    w = _integer("weeks", weeks, MIN_WEEKS, MAX_WEEKS)
    check_target(out, overwrite)
    synthetic = simulate_patient(condition, s, w)
    bundle_of(synthetic.record)  # validated before anything is written
    with maybe_output(out, overwrite) as folder:
        write_synthetic(folder, synthetic)
    typer.echo(f"wrote {out}/diary.csv, labs.csv, bundle.json, truth.json "
               f"({len(synthetic.record.diary)} diary days, "
               f"{len(synthetic.truth['held_back'])} held back)")


def _print_personalised(summary: dict) -> None:
    typer.echo(f"patient {summary['patient_id']} ({summary['condition']}): "
               f"{summary['rated_days']} rated days, {summary['sessions']} sessions; "
               f"{summary['method']} in {summary['fit_runtime_s']:.0f} s, converged")
    for key, label in (("priming_mechanism_probability", "priming (entry view)"),
                       ("pathway_priming_mechanism_probability", "priming (pathway view)")):
        if key in summary:
            ranked = sorted(summary[key].items(), key=lambda kv: -kv[1])
            prior = summary[f"prior_{key}"]
            typer.echo(f"{label}: " + ", ".join(f"{m} {p:.0%} (prior {prior[m]:.0%})"
                                                for m, p in ranked if p > 0))
    for name, rows in summary["prediction"].items():
        last = rows[-1]
        typer.echo(f"{name}: day {last['day']} median {last['median']:g} "
                   f"(50% {last['lower50']:g}-{last['upper50']:g}, 90% "
                   f"{last['lower90']:g}-{last['upper90']:g})")
