"""``exerpain run``, ``exerpain runs``, ``exerpain report`` and ``exerpain calibration``: runs
from a spec file, the run store, the HTML report, and the named calibrations. Thin layers
over :mod:`exerpain.interfaces.runner`, :mod:`exerpain.interfaces.runstore`,
:mod:`exerpain.interfaces.report` and :mod:`exerpain.model.calibrated`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

runs_app = typer.Typer(no_args_is_help=True, help="The run store: every run and its headline "
                                                  "results (list, show, compare).")
calibration_app = typer.Typer(no_args_is_help=True, help="Named calibrations: list them, "
                                                         "choose the active one.")
JsonFlag = Annotated[bool, typer.Option("--json", help="print as JSON")]


def run(
    spec: Annotated[Path, typer.Option(help="a run spec (YAML/JSON; a run.json repeats its "
                                            "run)")],
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="change a parameter: GROUP.NAME=VALUE (repeatable)")] = None,
    out: Annotated[Path | None, typer.Option(help="output folder (results + run.json)")]
    = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace --out's results")]
    = False,
    json_: JsonFlag = False,
    dask: Annotated[str | None, typer.Option(
        help="cohort and trial: compute the chunks on Dask (local, local:N or a scheduler "
             "address)")] = None,
) -> None:
    """Run a spec file: simulate, cohort or trial (`exerpain run --spec my-run.yaml`)."""
    from exerpain.interfaces.cli import _execute
    from exerpain.interfaces.runspec import load_spec, with_assignments
    from exerpain.storage import to_json

    parsed = with_assignments(load_spec(spec), set_)
    outcome = _execute(parsed, out, overwrite, dask)
    if json_:
        typer.echo(to_json({"run_id": outcome.run_id, **outcome.summary}))
        return
    headline = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in outcome.provenance["headline"].items())
    typer.echo(f"run {outcome.run_id} ({parsed.kind}): {headline}")
    if out is not None:
        typer.echo(f"wrote {out}/ ({', '.join(outcome.provenance['files'] + ['run.json'])})")


@runs_app.command("list")
def runs_list(
    limit: Annotated[int, typer.Option(help="newest runs shown", min=1, max=100_000)] = 20,
    kind: Annotated[str | None, typer.Option(help="simulate, cohort or trial")] = None,
    json_: JsonFlag = False,
) -> None:
    """The newest runs, newest first."""
    from exerpain.errors import InputError
    from exerpain.interfaces.runspec import KINDS
    from exerpain.interfaces.runstore import list_runs
    from exerpain.storage import to_json

    if kind is not None and kind not in KINDS:
        raise InputError(f"kind: must be one of {', '.join(KINDS)}, got {kind!r}")
    rows = list_runs(limit, kind)
    if json_:
        typer.echo(to_json(rows))
        return
    if not rows:
        typer.echo("no runs recorded yet")
    for r in rows:
        head = r["headline"] or {}
        key = "benefit" if "benefit" in head else "mean_benefit" if "mean_benefit" in head \
            else "power"
        value = head.get(key)
        shown = f"{key} {value:.3g}" if isinstance(value, float) else ""
        typer.echo(f"{r['run_id']}  {r['kind']:8s} {r['status']:9s} {r['condition'] or '':5s} "
                   f"{r['protocol'] or '':22.22s} {shown:22s} cal {r['calibration']}  "
                   f"{r['folder'] or '(not written)'}")


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="a run id or a unique prefix")],
    json_: JsonFlag = False,
) -> None:
    """One run's provenance and headline results."""
    from exerpain.interfaces.runstore import get_run
    from exerpain.storage import to_json

    row = get_run(run_id)
    if json_:
        typer.echo(to_json(row["provenance"]))
        return
    p = row["provenance"]
    typer.echo(f"run {p['run_id']} ({p['kind']}, {p['status']}), {p['started']} - "
               f"{p['ended']} ({p['runtime_s']:.1f} s)")
    typer.echo(f"spec: {to_json(p['spec'])}")
    typer.echo(f"exerpain {p['exerpain_version']} ({p.get('git_commit') or 'installed'}), "
               f"jax {p['jax']}, {p['device']}")
    cal = p["calibration"]
    typer.echo(f"calibration {cal['name']} (sha256 {cal['sha256'][:12]}), parameters sha256 "
               f"{p['parameters']['sha256'][:12]}")
    for d in p["parameters"]["deviations"]:
        typer.echo(f"  {d['parameter']} = {d['value']:g} {d['unit']} (default {d['default']:g})")
    typer.echo(f"command: {' '.join(p['command'])}")
    typer.echo(f"folder: {row['folder'] or '(not written)'}")
    typer.echo("headline: " + ", ".join(f"{k} {v}" for k, v in p["headline"].items()))


@runs_app.command("compare")
def runs_compare(
    a: Annotated[str, typer.Argument(help="first run id (or prefix)")],
    b: Annotated[str, typer.Argument(help="second run id (or prefix)")],
    json_: JsonFlag = False,
) -> None:
    """What differs between two runs: spec, parameters, calibration, environment, results."""
    from exerpain.interfaces.runstore import compare
    from exerpain.storage import to_json

    diff = compare(a, b)
    if json_:
        typer.echo(to_json(diff))
        return
    typer.echo(f"{diff['runs'][0]}  vs  {diff['runs'][1]}")
    for section in ("spec", "parameters", "calibration", "environment", "headline"):
        items = diff[section]
        typer.echo(f"{section}: {'same' if not items else ''}")
        for key, (x, y) in items.items():
            typer.echo(f"  {key}: {x} -> {y}")


def report(
    run_dir: Annotated[Path, typer.Argument(help="an output folder holding run.json")],
    out: Annotated[Path | None, typer.Option(help="the HTML file (default RUN_DIR/"
                                                  "report.html)")] = None,
) -> None:
    """A self-contained HTML report of a run: spec, provenance, figures, deviations."""
    from exerpain.interfaces.report import write_report

    path = write_report(run_dir, out)
    typer.echo(f"wrote {path}")


@calibration_app.command("list")
def calibration_list(json_: JsonFlag = False) -> None:
    """Every calibration (the package's and those shipped into the data directory)."""
    from exerpain.model.calibrated import active_name, available, identity
    from exerpain.storage import to_json

    active = active_name()
    rows = [{**identity(name), "active": name == active} for name in available()]
    if json_:
        typer.echo(to_json(rows))
        return
    for r in rows:
        typer.echo(f"{'*' if r['active'] else ' '} {r['name']:28s} sha256 "
                   f"{(r['sha256'] or '-')[:12]}  created {r['created'] or '-'}  fitted to "
                   f"{len(r['fitted_to'])} findings, {len(r['held_out'])} held out")


@calibration_app.command("use")
def calibration_use(
    name: Annotated[str, typer.Argument(help="a calibration name, or 'package'")],
) -> None:
    """Make a calibration the one later runs use."""
    from exerpain.model.calibrated import activate_calibration, check_name

    activate_calibration(check_name(name, "name"))
    typer.echo(f"active calibration: {name}")


def version_callback(value: bool) -> None:
    """``--version``: the package's version, without importing JAX."""
    if value:
        from exerpain.interfaces.provenance import version

        typer.echo(f"exerpain {version()} (python {sys.version.split()[0]})")
        raise typer.Exit()
