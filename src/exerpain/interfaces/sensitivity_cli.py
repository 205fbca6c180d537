"""``exerpain scan`` and ``exerpain sensitivity``: parameter scans and global sensitivity
analysis (thin layers over :mod:`exerpain.explain.scan` and
:mod:`exerpain.explain.sensitivity`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from exerpain.errors import InputError

ConditionOpt = Annotated[str, typer.Option(help="cci, sni, pnsl, stz, paclitaxel, sham, dpn, "
                                                "cipn")]
ProtocolOpt = Annotated[str, typer.Option(help="preset name or a YAML/JSON protocol file")]
Interventions = Annotated[list[str] | None, typer.Option(
    "--intervention", help="blockade or drug (repeatable)")]
Ablations = Annotated[list[str] | None, typer.Option(
    "--ablate", help="remove exercise's action through a mechanism (repeatable)")]
Days = Annotated[int | None, typer.Option(help="days to simulate after onset (1-3650)")]
Sets = Annotated[list[str] | None, typer.Option(
    "--set", help="fix a parameter for every point: GROUP.NAME=VALUE (repeatable)")]
Seed = Annotated[str, typer.Option(help="seed (design, bootstrap, cohort subjects)")]
Dask = Annotated[str | None, typer.Option(
    help="evaluate the chunks on Dask: local (one worker per core), local:N, or a scheduler "
         "address (tcp://host:8786)")]
Overwrite = Annotated[bool, typer.Option(
    "--overwrite", help="replace the results already in --out (an exerpain output folder)")]
JsonFlag = Annotated[bool, typer.Option("--json", help="print the summary as JSON")]
TARGET_HELP = ("benefit, benefit_fraction, exercise_value, sedentary_value, healthy_value "
               "(the simulate pair, last day); cohort_mean_benefit, cohort_responder30_rate, "
               "priming_share:MECHANISM (one cohort per point)")


def _setting(condition, protocol, intervention, ablate, days, set_):
    from exerpain.explain.evaluate import Setting

    return Setting.create(condition, protocol, intervention or (), ablate or (), days,
                          list(set_ or ()))


def _write(out: Path | None, overwrite: bool, files: dict) -> None:
    """``files``: ``{name: writer(path)}`` into the output folder (one run, atomic)."""
    from exerpain.storage import OutputFolder

    if out is None:
        return
    with OutputFolder(out, overwrite) as folder:
        for name, write in files.items():
            write(folder / name)


def _csv(frame):
    from exerpain.storage import atomic_write

    return lambda path: atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def _png(figure):
    from exerpain.storage import atomic_write

    return lambda path: atomic_write(path, lambda tmp: figure.savefig(tmp, dpi=120,
                                                                      format="png"))


def _json(data):
    from exerpain.storage import write_json

    return lambda path: write_json(path, data)


def scan(
    condition: ConditionOpt,
    protocol: ProtocolOpt,
    param: Annotated[list[str], typer.Option(
        "--param", help="parameter to scan, GROUP.NAME (once, or twice for a grid)")],
    values: Annotated[list[str], typer.Option(
        "--values", help="comma-separated values of the matching --param, within its "
                         "declared range")],
    target: Annotated[str, typer.Option(help=TARGET_HELP)] = "benefit",
    n: Annotated[str | None, typer.Option("--n", help="subjects per cohort (cohort targets)")]
    = None,
    seed: Seed = "0",
    intervention: Interventions = None,
    ablate: Ablations = None,
    days: Days = None,
    set_: Sets = None,
    dask: Dask = None,
    out: Annotated[Path | None, typer.Option(help="folder for scan.json, scan.csv and "
                                                  "scan.png")] = None,
    overwrite: Overwrite = False,
    json_: JsonFlag = False,
) -> None:
    """Scan one parameter over values, or two over a grid: benefit and read-outs per point."""
    from exerpain.explain.scan import parse_values, run_scan
    from exerpain.interfaces.cli import _integer
    from exerpain.interfaces.progress import progress_bar
    from exerpain.simulate.engine import SEED_MAX, SEED_MIN
    from exerpain.storage import check_target, to_json

    if len(param) != len(values):
        raise InputError(f"values: give one --values per --param ({len(param)} --param, "
                         f"{len(values)} --values)")
    axes = [(name, parse_values(text, f"values.{i + 1}"))
            for i, (name, text) in enumerate(zip(param, values, strict=True))]
    s = _integer("seed", seed, SEED_MIN, SEED_MAX)
    size = 0 if n is None else _integer("n", n, 1, 100_000)
    setting = _setting(condition, protocol, intervention, ablate, days, set_)
    if out is not None:
        check_target(out, overwrite)
    total = 1
    for _, vals in axes:
        total *= len(vals)
    with progress_bar(f"scan {condition} x {protocol}", total, "points") as update:
        result = run_scan(setting, axes, target, size, s, dask,
                          progress=lambda done, all_: update(done, all_))
    summary = result.summary
    _write(out, overwrite, {"scan.json": _json(summary), "scan.csv": _csv(result.table),
                            "scan.png": _png(result.plot())})
    if json_:
        typer.echo(to_json(summary))
        return
    names = [p["name"] for p in summary["parameters"]]
    shown = [*names, target] + ([] if target == "benefit" else ["benefit"])
    shown += ["exercise_value", "sedentary_value", "status"]
    typer.echo(f"{summary['condition']} x {summary['protocol']} ({summary['readout']}, day "
               f"{summary['days']}): {summary['points']} points, {summary['failed']} failed, "
               f"{summary['runtime_s']:.1f} s")
    typer.echo(result.table[list(dict.fromkeys(shown))].to_string(
        index=False, float_format=lambda v: f"{v:.4g}"))
    if out is not None:
        typer.echo(f"wrote {out}/scan.json, scan.csv and scan.png")


def sensitivity(
    condition: ConditionOpt,
    protocol: ProtocolOpt,
    params: Annotated[str, typer.Option(
        help="comma-separated GROUP.NAME (optionally GROUP.NAME=LOW:HIGH), or all-fitted, "
             "or exercise-gains")],
    n: Annotated[str, typer.Option(
        "--n", help="base samples (Sobol', a power of two; N (D + 2) evaluations) or "
                    "trajectories (Morris; N (D + 1))")],
    method: Annotated[str, typer.Option(help="sobol or morris")] = "sobol",
    target: Annotated[str, typer.Option(help=TARGET_HELP)] = "benefit",
    seed: Seed = "0",
    range_scale: Annotated[float, typer.Option(
        help="shrink each declared range toward the calibrated value (0-1; 1 = declared)")]
    = 1.0,
    cohort_n: Annotated[str | None, typer.Option(
        help="subjects per cohort (cohort targets)")] = None,
    resamples: Annotated[str, typer.Option(help="bootstrap resamples of the intervals")]
    = "1000",
    levels: Annotated[str, typer.Option(help="Morris grid levels (even)")] = "4",
    on_failure: Annotated[str, typer.Option(
        help="drop: drop base samples holding a failed evaluation (counted); error: stop")]
    = "drop",
    intervention: Interventions = None,
    ablate: Ablations = None,
    days: Days = None,
    set_: Sets = None,
    dask: Dask = None,
    out: Annotated[Path | None, typer.Option(
        help="folder for sensitivity.json, samples.csv and sensitivity.png")] = None,
    overwrite: Overwrite = False,
    json_: JsonFlag = False,
) -> None:
    """Global sensitivity (Sobol' or Morris, SALib) of a target over chosen parameters."""
    from exerpain.explain.sensitivity import MAX_N, block_size, parse_params, run_sensitivity
    from exerpain.interfaces.cli import _integer
    from exerpain.interfaces.progress import progress_bar
    from exerpain.simulate.engine import SEED_MAX, SEED_MIN
    from exerpain.storage import check_target, to_json

    s = _integer("seed", seed, SEED_MIN, SEED_MAX)
    size = _integer("n", n, 2, MAX_N)
    subjects = 0 if cohort_n is None else _integer("cohort_n", cohort_n, 1, 100_000)
    setting = _setting(condition, protocol, intervention, ablate, days, set_)
    if out is not None:
        check_target(out, overwrite)
    d = len(parse_params(params, setting)[0])
    total = size * block_size(method, d) if method in ("sobol", "morris") else None
    with progress_bar(f"{method} {condition} x {protocol}", total, "evaluations") as update:
        result = run_sensitivity(
            setting, params, method, size, target, s, range_scale, subjects,
            _integer("resamples", resamples, 10, 100_000), _integer("levels", levels, 2, 20),
            on_failure, dask, progress=lambda done, all_: update(done, all_))
    summary = result.summary
    _write(out, overwrite, {"sensitivity.json": _json(summary),
                            "samples.csv": _csv(result.samples),
                            "sensitivity.png": _png(result.plot())})
    if json_:
        typer.echo(to_json(summary))
        return
    _print(summary)
    if out is not None:
        typer.echo(f"wrote {out}/sensitivity.json, samples.csv and sensitivity.png")


def _print(s: dict) -> None:
    f, c = s["failures"], s["convergence"]
    typer.echo(f"{s['method']} {s['condition']} x {s['protocol']}, {s['target']} "
               f"({s['target_unit']}): N={s['design']['n']}, {f['evaluations']} evaluations "
               f"({f['failed']} failed, {f['blocks_dropped']} {f['block']}s dropped), "
               f"{s['runtime_s']:.0f} s")
    for name in s["ranking"]:
        i = s["indices"][name]
        if s["method"] == "sobol":
            typer.echo(f"  {name:42s} ST {i['ST']:6.3f} +/- {i['ST_conf']:.3f}   S1 "
                       f"{i['S1']:6.3f} +/- {i['S1_conf']:.3f}")
        else:
            typer.echo(f"  {name:42s} mu* {i['mu_star']:.4g} +/- {i['mu_star_conf']:.2g}   "
                       f"sigma {i['sigma']:.4g}")
    key = "max_abs_change_ST" if s["method"] == "sobol" else "max_relative_change_mu_star"
    typer.echo(f"convergence ({c['compared']}): {key} {c[key]:.3f} vs threshold "
               f"{c['threshold']:g}: {c['advice']}")
