"""The ``exerpain`` command line (Typer). Every command is a thin layer over the Python API;
:mod:`exerpain.interfaces.boundary` turns every outcome into one line and an exit code."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Annotated

import typer

from exerpain.errors import InputError
from exerpain.interfaces.boundary import BoundaryGroup
from exerpain.interfaces.evidence_cli import evidence_app
from exerpain.interfaces.export_cli import export_app
from exerpain.interfaces.patient_cli import diary_app, personalise, prescribe
from exerpain.interfaces.run_cli import (
    calibration_app,
    report,
    run,
    runs_app,
    version_callback,
)
from exerpain.interfaces.sensitivity_cli import scan, sensitivity
from exerpain.interfaces.serve_cli import serve
from exerpain.interfaces.trial_cli import trial

app = typer.Typer(cls=BoundaryGroup, add_completion=False, no_args_is_help=True,
                  help="Simulate, explain and personalise exercise-induced hypoalgesia in "
                       "neuropathic pain.")
app.add_typer(evidence_app, name="evidence")
app.add_typer(export_app, name="export")
app.command("trial")(trial)
app.command("personalise")(personalise)
app.command("prescribe")(prescribe)
app.add_typer(diary_app, name="diary")
app.command("run")(run)
app.command("report")(report)
app.command("serve")(serve)
app.command("scan")(scan)
app.command("sensitivity")(sensitivity)
app.add_typer(runs_app, name="runs")
app.add_typer(calibration_app, name="calibration")


@app.callback()
def main(
    version: Annotated[bool, typer.Option(
        "--version", callback=version_callback, is_eager=True,
        help="print the version and exit")] = False,
) -> None:
    """Simulate, explain and personalise exercise-induced hypoalgesia in neuropathic pain."""

# Options shared by `simulate` and `cohort`.
Condition = Annotated[str, typer.Option(help="cci, sni, pnsl, stz, paclitaxel, sham, dpn, "
                                             "cipn")]
ProtocolOpt = Annotated[str, typer.Option("--protocol",
                                          help="preset name or a YAML/JSON protocol file")]
Interventions = Annotated[list[str] | None, typer.Option(
    "--intervention", help="blockade or drug (repeatable)")]
Ablations = Annotated[list[str] | None, typer.Option(
    "--ablate", help="remove exercise's action through a mechanism (repeatable)")]
StartDay = Annotated[float | None, typer.Option(help="override the programme's start day")]
StopDay = Annotated[float | None, typer.Option(help="override the programme's stop day")]
Days = Annotated[int | None, typer.Option(help="days to simulate after onset (1-3650)")]
JsonFlag = Annotated[bool, typer.Option("--json", help="print the summary as JSON")]
Overwrite = Annotated[bool, typer.Option(
    "--overwrite", help="replace the results already in --out (an exerpain output folder)")]




Sets = Annotated[list[str] | None, typer.Option(
    "--set", help="change a parameter: GROUP.NAME=VALUE, within its declared range "
                  "(repeatable; `exerpain params` lists them)")]
CalibrationOpt = Annotated[str | None, typer.Option(
    help="calibration by name (`exerpain calibration list`); default: the active one")]
DaskOpt = Annotated[str | None, typer.Option(
    help="compute the chunks on Dask: local (one worker per core), local:N, or a scheduler "
         "address (tcp://host:8786); the results are the same bit for bit")]


def _execute(spec, out: Path | None, overwrite: bool, dask: str | None = None):
    """Run ``spec`` through the one runner (:mod:`exerpain.interfaces.runner`), with a
    progress bar on stderr; ``dask``: where the chunks run
    (:mod:`exerpain.simulate.distribute`)."""
    import sys

    from exerpain.interfaces.progress import progress_bar
    from exerpain.interfaces.runner import UNITS, execute
    from exerpain.interfaces.runspec import check_spec

    check_spec(spec)  # before the progress bar, so bad input is one error line
    if out is not None:
        from exerpain.storage import check_target

        check_target(out, overwrite)
    if spec.kind == "trial":
        label, total = f"trial {spec.design}", spec.replicates
    else:
        label, total = f"{spec.condition} x {spec.protocol}", getattr(spec, "n", None)
    with progress_bar(label, total, UNITS[spec.kind]) as update:
        return execute(spec, out, overwrite, progress=lambda d, t, _: update(d, t),
                       command=sys.argv, checked=True, dask=dask)


def _spec(kind: str, sets: list[str] | None, **fields):
    """The run spec of a command's options (``--set`` merged into the overrides)."""
    from exerpain.interfaces.runspec import parse_spec, with_assignments

    fields = {k: v for k, v in fields.items() if v is not None}
    return with_assignments(parse_spec({"kind": kind, **fields}), sets)


@app.command()
def simulate(
    condition: Condition,
    protocol: ProtocolOpt,
    intervention: Interventions = None,
    ablate: Ablations = None,
    start_day: StartDay = None,
    stop_day: StopDay = None,
    days: Days = None,
    set_: Sets = None,
    calibration: CalibrationOpt = None,
    out: Annotated[Path | None, typer.Option(help="folder for trajectory.parquet, "
                                                  "summary.json and run.json")] = None,
    overwrite: Overwrite = False,
    json_: JsonFlag = False,
) -> None:
    """Simulate a protocol and its sedentary control; report the benefit."""
    from exerpain.storage import to_json

    started = time.perf_counter()
    spec = _spec("simulate", set_, condition=condition, protocol=protocol,
                 interventions=intervention or [], ablate=ablate or [], days=days,
                 start_day=start_day, stop_day=stop_day, calibration=calibration)
    outcome = _execute(spec, out, overwrite)
    summary = {**outcome.summary, "runtime_s": time.perf_counter() - started,
               "run_id": outcome.run_id}
    if json_:
        typer.echo(to_json(summary))
    else:
        s = summary
        typer.echo(
            f"{s['condition']} ({s['species']}), {s['protocol']}, day {s['days']}: "
            f"{s['readout']} exercise {s['exercise_value']:.3g}, sedentary "
            f"{s['sedentary_value']:.3g}, healthy {s['healthy_value']:.3g}; benefit "
            f"{s['benefit']:.3g} ({_percent(s['benefit_fraction'], 0)} of the deficit)")
        if out is not None:
            typer.echo(f"wrote {out}/trajectory.parquet, summary.json and run.json "
                       f"(run {outcome.run_id})")


def _percent(rate: float | None, digits: int = 1) -> str:
    """A rate as a percentage; ``n/a`` where it is undefined (NaN or None)."""
    return "n/a" if rate is None or rate != rate else f"{100 * rate:.{digits}f}%"


INTEGER = re.compile(r"[+-]?[0-9]+")


def _integer(name: str, text: str, low: int, high: int) -> int:
    """An integer option in ASCII digits within ``[low, high]`` (Python's ``int`` also
    takes other scripts' digits and underscores)."""
    if not INTEGER.fullmatch(text.strip()):
        raise InputError(f"{name}: must be an integer in ASCII digits, got {text!r}")
    value = int(text)
    if not low <= value <= high:
        raise InputError(f"{name}: must be within {low}-{high}, got {value}")
    return value


@app.command()
def cohort(
    condition: Condition,
    protocol: ProtocolOpt,
    n: Annotated[str, typer.Option("--n", help="number of virtual subjects")],
    seed: Annotated[str, typer.Option(help="integer seed of the JAX PRNG key")],
    intervention: Interventions = None,
    ablate: Ablations = None,
    start_day: StartDay = None,
    stop_day: StopDay = None,
    days: Days = None,
    attribution: Annotated[bool, typer.Option(help="Shapley attribution and endotypes")]
    = True,
    attribution_scale: Annotated[str, typer.Option(
        help="scale of both attribution views: readout or log_drive")] = "readout",
    pathway: Annotated[bool, typer.Option(
        help="the pathway attribution view beside the entry view")] = True,
    posterior_draws: Annotated[int, typer.Option(
        help="draws from the calibration posterior shared out over the subjects (0 = the "
             "shipped MAP for everyone)", min=0, max=1000)] = 16,
    sex: Annotated[str | None, typer.Option(
        help="rodents: male (default, as most published designs), female or mixed (50:50)")]
    = None,
    memory_gb: Annotated[float, typer.Option(help="memory budget for one chunk (GiB)")] = 2.0,
    set_: Sets = None,
    calibration: CalibrationOpt = None,
    out: Annotated[Path | None, typer.Option(help="folder for subjects.parquet, "
                                                  "summary.json and run.json")] = None,
    overwrite: Overwrite = False,
    json_: JsonFlag = False,
    dask: DaskOpt = None,
) -> None:
    """Simulate a virtual cohort: benefit, responders, attribution, priming, endotypes."""
    from exerpain.simulate.engine import SEED_MAX, SEED_MIN
    from exerpain.storage import to_json

    spec = _spec("cohort", set_, condition=condition, protocol=protocol,
                 n=_integer("n", n, 1, 10**9), seed=_integer("seed", seed, SEED_MIN, SEED_MAX),
                 interventions=intervention or [], ablate=ablate or [], days=days,
                 start_day=start_day, stop_day=stop_day, attribution=attribution,
                 attribution_scale=attribution_scale, pathway=pathway, memory_gb=memory_gb,
                 sex=sex, posterior_draws=posterior_draws, calibration=calibration)
    result = _execute(spec, out, overwrite, dask)
    s = result.summary
    if json_:
        typer.echo(to_json(s))
        return
    typer.echo(f"{s['condition']} x {s['protocol']}: n={s['n']} (failed {s['failed']}"
               + (f": {', '.join(f'{k} {v}' for k, v in s['failure_reasons'].items())}; rates "
                  "over the completed subjects" if s["failed"] else "") + "), mean "
               f"benefit {s['mean_benefit']:.3g} {s['readout']} (95% CI "
               f"{s['benefit_ci95'][0]:.3g} to {s['benefit_ci95'][1]:.3g}); responders "
               f">=30% {_percent(s['responder30_rate'])}, >=50% "
               f"{_percent(s['responder50_rate'])} (undefined for {s['responder_undefined']}); "
               f"{s['subjects_per_s']:.0f} subjects/s")
    for key, label in (("priming_mechanism_share", "priming mechanism (entry)"),
                       ("pathway_priming_share", "priming mechanism (pathway)")):
        if key in s:
            shares = ", ".join(f"{k} {100 * v:.0f}%" for k, v in
                               sorted(s[key].items(), key=lambda kv: -kv[1]) if v > 0)
            typer.echo(f"{label}: {shares}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="folder for figures and summary")] = Path(
        "exerpain-demo"),
    overwrite: Overwrite = False,
) -> None:
    """Run the default scenarios (CCI rat with blockade arms; DPN patient) and plot them."""
    from exerpain.interfaces.demo import run_demo
    from exerpain.interfaces.progress import progress_bar

    with progress_bar("demo", unit="steps") as update:
        folder = run_demo(out, overwrite, progress=update)
    typer.echo(f"demo written to {folder}/ (summary.json, figures *.png)")


@app.command()
def validate(
    json_: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
    draws: Annotated[int, typer.Option(
        help="prior parameter draws for each finding's informativeness (0-1000; 0 skips it)",
        min=0, max=1000)] = 32,
    trials: Annotated[bool, typer.Option(
        "--trials/--no-trials", help="also run the virtual versions of published trials "
                                     "(minutes)")] = True,
) -> None:
    """Run the model against every published finding: pass/fail, and how many prior draws
    would fail each check (informativeness; a finding no draw fails is structural); and the
    virtual versions of published trials against their published intervals."""
    from exerpain.evidence.validation import validate as run_validation
    from exerpain.interfaces.progress import progress_bar
    from exerpain.storage import to_json

    with progress_bar("findings", 1 + draws, "solves") as update:
        report = run_validation(draws=draws, progress=update)
    if trials:
        from exerpain.design.validation import validate_trials

        with progress_bar("published trials", unit="checks") as update:
            report["trials"] = validate_trials(progress=update)
    from exerpain.interfaces.provenance import version
    from exerpain.interfaces.validation_record import save
    from exerpain.model.calibrated import identity

    # the HTML report of a run shows the validation of its model version and calibration
    save(report, version(), identity()["sha256"])
    if json_:
        typer.echo(to_json(report))
        return
    for f in report["findings"]:
        mark = "PASS" if f["pass"] else "FAIL"
        typer.echo(f"{mark}  {f['kind']:10s} {f['id']:36s} model {f['model_value']:<9.3g} "
                   f"expected {f['expected']:28s} informativeness "
                   f"{f['informativeness']:.2f}  {f['citation']}")
    kinds = ", ".join(f"{name} {v['passed']}/{v['total']}"
                      for name, v in report["by_kind"].items())
    info = report["informative"]
    typer.echo(f"passed {report['passed']}/{report['total']} ({kinds}); non-structural "
               f"{info['passed']}/{info['total']} ({100 * info['rate']:.0f}%); "
               f"{report['draws']} prior draws")
    if "trials" in report:
        t = report["trials"]
        for c in t["checks"]:
            mark = "IN  " if c["inside"] else "OUT "
            typer.echo(f"{mark} {c['set']:8s} {c['id']:42s} model {c['model_value']:<7.2f} "
                       f"published {c['published']:.2f} [{c['interval'][0]:.2f}, "
                       f"{c['interval'][1]:.2f}] {c['source']}")
        sets = ", ".join(f"{k} {v['inside']}/{v['total']}" for k, v in t["by_set"].items())
        typer.echo(f"trials: {t['inside']}/{t['total']} inside the published interval "
                   f"({sets}; {t['replicates']} replicate trials each)")


MIN_MAP_COUNT = 262144
"""Memory mappings the calibration's compiled experiments need: with Linux's default 65,530
the 25 fitted targets' executables exhausted them (LLVM "Cannot allocate memory" with 18
GiB free)."""


def _max_map_count() -> int | None:
    try:
        return int(Path("/proc/sys/vm/max_map_count").read_text())
    except (OSError, ValueError):
        return None


@app.command()
def calibrate(
    out: Annotated[Path, typer.Option(help="folder for calibration.json, parameters.csv and "
                                           "targets.csv")] = Path("exerpain-calibration"),
    starts: Annotated[int, typer.Option(help="optimiser starts (1 = the prior centre only)",
                                        min=1, max=64)] = 3,
    seed: Annotated[int, typer.Option(help="seed of the extra starts")] = 0,
    max_steps: Annotated[int, typer.Option(help="L-BFGS steps per start", min=1,
                                           max=10_000)] = 200,
    ship: Annotated[bool, typer.Option("--ship", help="install the fit as a new named "
                                                      "calibration in the data directory and "
                                                      "make it the active one")] = False,
    name: Annotated[str | None, typer.Option(
        help="name of the calibration --ship or --ship-from installs (default cal-<UTC "
             "time>; names are never reused)")] = None,
    ship_from: Annotated[Path | None, typer.Option(
        help="install a reviewed earlier fit (its --out folder) as the defaults, no fitting")]
    = None,
    start_from: Annotated[Path | None, typer.Option(
        help="warm start: the first start is an earlier fit's MAP values (its --out folder) "
             "instead of the prior centre; the prior is unchanged")] = None,
    overwrite: Overwrite = False,
) -> None:
    """Fit the free parameters to the evidence (MAP, Laplace); report held-out scores."""
    from exerpain.calibrate import report
    from exerpain.calibrate.fit import CalibrationError, compile_cache
    from exerpain.calibrate.fit import calibrate as run_calibration
    from exerpain.calibrate.space import free_space
    from exerpain.model.calibrated import available, check_name
    from exerpain.model.registry import Model
    from exerpain.storage import OutputFolder

    model = Model.default()
    free = free_space(model, model.parameter_table(declared=True)).names
    if name is not None:
        check_name(name, "name")
        if name in available():
            raise InputError(f"name: a calibration named {name!r} exists; choose another")
    if ship_from is not None:
        path = report.ship(report.record_from_folder(ship_from, free), name)
        typer.echo(f"installed {ship_from} as the active calibration: {path}")
        return
    warm = None
    if start_from is not None:
        record = report.record_from_folder(start_from, free, field="start_from")
        warm = {name: row["value"] for name, row in record["parameters"].items()}
    output = OutputFolder(out, overwrite)  # checked before the compiles
    try:
        cache = compile_cache()
        typer.echo("compiling each experiment's value and gradient (about 25 minutes on 2 "
                   f"cores; JAX's compilation cache: {cache})...", err=True)
        maps = _max_map_count()
        if maps is not None and maps < MIN_MAP_COUNT:
            typer.echo(f"warning: vm.max_map_count is {maps}; the compiled experiments need "
                       f"more memory mappings than that (LLVM 'Cannot allocate memory' with "
                       f"GiBs free): raise it, e.g. sysctl -w vm.max_map_count={MIN_MAP_COUNT}",
                       err=True)
        result = run_calibration(
            starts=starts, seed=seed, max_steps=max_steps, start_from=warm,
            progress=lambda i, step, loss: typer.echo(f"start {i} step {step}: loss {loss:.6g}",
                                                      err=True))
    except CalibrationError as err:
        raise InputError(f"calibration: {err}") from None
    units = {f"{g}.{p.name}": p.unit for g, p in model.parameter_table(declared=True)}
    params_frame = report.parameter_frame(result, units)
    targets_frame = report.target_frame(result)
    info = report.summary(result, targets_frame)
    with output as folder:
        report.write(folder, params_frame, targets_frame, info)
    for row in targets_frame.itertuples():
        typer.echo(f"{row.set:9s} {row.id:30s} target {row.target:<7.3g} before "
                   f"{row.model_before:<8.3g} after {row.model_after:<8.3g} z {row.z_after:+.2f}")
    sc = info["scores"]
    typer.echo(f"loss {result.loss_before:.4g} -> {result.loss_after:.4g}; mean z^2 fitted "
               f"{sc['fitted']['mean_z2_before']:.3g} -> {sc['fitted']['mean_z2_after']:.3g}"
               + (f", held-out {sc['held-out']['mean_z2_before']:.3g} -> "
                  f"{sc['held-out']['mean_z2_after']:.3g}" if "held-out" in sc else ""))
    for st in info["starts"]:
        typer.echo(f"start {st['start']}: loss {st['loss']:.6g} after {st['steps']} steps "
                   f"({st['stopped']})")
    counts = {k: len(v) for k, v in info["identifiability"].items()}
    typer.echo(f"identifiability: {counts}")
    if ship:
        path = report.ship(report.shipped_record(params_frame, info), name)
        typer.echo(f"installed as the active calibration: {path}")
    typer.echo(f"wrote {output.target}/calibration.json, parameters.csv, targets.csv")


@app.command()
def identifiability(
    json_: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
) -> None:
    """Which parameters the shipped calibration's evidence constrains (posterior/prior SD)."""
    from exerpain.calibrate.identifiability import classify
    from exerpain.model.calibrated import shipped
    from exerpain.storage import to_json

    record = shipped()
    if not record:
        raise InputError("no calibration is shipped; run `exerpain calibrate --ship`")
    rows = [{"parameter": name, "value": e["value"], "declared": e["declared"],
             "low95": e["low95"], "high95": e["high95"], "sd_ratio": e["sd_ratio"],
             "identifiability": classify(e["sd_ratio"])}
            for name, e in sorted(record["parameters"].items(), key=lambda kv: kv[1]["sd_ratio"])]
    if json_:
        typer.echo(to_json({"fitted_to": record["fitted_to"], "held_out": record["held_out"],
                            "scores": record["scores"], "parameters": rows}))
        return
    typer.echo(f"fitted to: {', '.join(record['fitted_to'])}")
    typer.echo(f"held out:  {', '.join(record['held_out'])}")
    for r in rows:
        typer.echo(f"{r['parameter']:42s} {r['value']:<10.4g} (declared {r['declared']:<9.4g}) "
                   f"95% {r['low95']:.3g}-{r['high95']:.3g}  SD ratio {r['sd_ratio']:.2f}  "
                   f"{r['identifiability']}")


@app.command()
def info(
    json_: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
) -> None:
    """List conditions, protocols, interventions, mechanisms and parameter provenance."""
    from exerpain.interfaces.catalogue import catalogue
    from exerpain.storage import to_json

    data = catalogue()
    if json_:
        typer.echo(to_json(data))
        return
    for section in ("conditions", "protocols", "interventions", "mechanisms"):
        typer.echo(f"{section}:")
        for name, text in data[section].items():
            typer.echo(f"  {name:24s} {text}")
    typer.echo(f"parameters: {data['provenance_counts']}")


@app.command()
def params(
    json_: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
) -> None:
    """The parameter table: value, unit, range, provenance kind and source."""
    from exerpain.interfaces.catalogue import parameter_rows
    from exerpain.storage import to_json

    rows = parameter_rows()
    if json_:
        typer.echo(to_json(rows))
        return
    for r in rows:
        typer.echo(f"{r['group']}.{r['name']:28s} {r['value']:<10.4g} {r['unit']:22s} "
                   f"[{r['low']:.3g}, {r['high']:.3g}] {r['kind']:10s} {r['provenance']}")
