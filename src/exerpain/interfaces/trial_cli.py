"""``exerpain trial``: virtual randomised trials (thin layer over :mod:`exerpain.design`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def trial(
    design: Annotated[str, typer.Argument(
        help="a trial design file (YAML or JSON), or 'example' to print a commented one")],
    replicates: Annotated[str, typer.Option(help="replicate trials (1-20000)")] = "200",
    seed: Annotated[str, typer.Option(help="random seed")] = "0",
    n: Annotated[str | None, typer.Option("--n", help="override the number randomised")]
    = None,
    null: Annotated[bool, typer.Option(
        "--null", help="every arm identical to the control: power is the type I error")]
    = False,
    power: Annotated[float | None, typer.Option(
        help="find the n per arm that gives this power (0-1)")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="change a parameter: GROUP.NAME=VALUE, within its declared range "
                      "(repeatable)")] = None,
    calibration: Annotated[str | None, typer.Option(
        help="calibration by name; default: the active one")] = None,
    out: Annotated[Path | None, typer.Option(
        help="folder for patients.parquet, diary.parquet, replicates.parquet, "
             "summary.json and run.json")] = None,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="replace the results already in --out")] = False,
    json_: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    dask: Annotated[str | None, typer.Option(
        help="compute the groups of replicates on Dask: local, local:N or a scheduler "
             "address; the results are the same bit for bit")] = None,
) -> None:
    """Run a virtual randomised trial: power, effect estimate, responders, NNT."""
    from exerpain.design.spec import EXAMPLE
    from exerpain.interfaces.cli import _execute, _integer, _spec
    from exerpain.simulate.engine import SEED_MAX, SEED_MIN

    if design == "example" and not Path(design).exists():
        typer.echo(EXAMPLE, nl=False)
        return
    from exerpain.design.trial import MAX_REPLICATES
    from exerpain.storage import to_json

    spec = _spec("trial", set_, design=design,
                 replicates=_integer("replicates", replicates, 1, MAX_REPLICATES),
                 seed=_integer("seed", seed, SEED_MIN, SEED_MAX),
                 n=None if n is None else _integer("n", n, 2, 100_000), null=null,
                 power=power, calibration=calibration)
    summary = _execute(spec, out, overwrite, dask).summary
    if json_:
        typer.echo(to_json(summary))
        return
    _print(summary)


def _fmt(value, spec=".2f"):
    return "n/a" if value is None else format(value, spec)


def _print(s: dict) -> None:
    d = s["difference"]
    typer.echo(f"{s['design']} ({s['condition']}, n={s['n_randomised']}, {s['replicates']} "
               f"trials{', null' if s['null'] else ''}): power {_fmt(s['power'])} "
               f"(+/- {_fmt(s['power_mc_se'], '.3f')}) at alpha {s['alpha']:g}; difference "
               f"{_fmt(d['mean'])} NRS points vs {s['control']} (95% of trials "
               f"{_fmt(d['ci95'][0])} to {_fmt(d['ci95'][1])}); SMD {_fmt(s['smd']['mean'])}")
    for name, c in s["comparisons"].items():
        if name != s["primary_comparison"]:
            typer.echo(f"  {name} vs {s['control']}: power {_fmt(c['power'])}, difference "
                       f"{_fmt(c['difference']['mean'])} (95% of trials "
                       f"{_fmt(c['difference']['ci95'][0])} to "
                       f"{_fmt(c['difference']['ci95'][1])})")
    for name, a in s["arms"].items():
        typer.echo(f"  {name}: randomised {_fmt(a['n_randomised'], '.1f')}, dropped out "
                   f"{_fmt(a['dropped_out'], '.1f')}, analysed {_fmt(a['n_analysed'], '.1f')}; "
                   f"change {_fmt(a['mean_change'])}; >=30% {_fmt(a['responder30_rate'])}, "
                   f">=50% {_fmt(a['responder50_rate'])}"
                   + ("" if a["control"] else f"; NNT50 {_fmt(a['nnt50'], '.1f')}"))
    if "n_per_arm" in s:
        n = s["n_per_arm"]
        tried = ", ".join(f"{p['n_per_arm']}: {p['power']:.2f}" for p in s["power_search"])
        typer.echo(f"n per arm for power {s['target_power']:g}: {n['estimate']} (95% "
                   f"{n['ci95'][0]}-{n['ci95'][1]}, {n['method']}; power by n per arm: "
                   f"{tried})")
    if s["failed_patients"]:
        typer.echo(f"failed patients: {s['failed_patients']} ({s['failure_reasons']})")
