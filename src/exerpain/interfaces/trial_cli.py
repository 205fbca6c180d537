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
    out: Annotated[Path | None, typer.Option(
        help="folder for patients.parquet, diary.parquet, replicates.parquet and "
             "summary.json")] = None,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="replace the results already in --out")] = False,
    json_: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Run a virtual randomised trial: power, effect estimate, responders, NNT."""
    from exerpain.design.power import check_power
    from exerpain.design.spec import EXAMPLE, load_design
    from exerpain.interfaces.cli import _integer
    from exerpain.simulate.engine import SEED_MAX, SEED_MIN

    if design == "example" and not Path(design).exists():
        typer.echo(EXAMPLE, nl=False)
        return
    from exerpain.design.trial import MAX_REPLICATES
    from exerpain.storage import check_target, maybe_output, to_json

    spec, base = load_design(design)
    r = _integer("replicates", replicates, 1, MAX_REPLICATES)
    s = _integer("seed", seed, SEED_MIN, SEED_MAX)
    if n is not None:
        spec = spec.with_n(_integer("n", n, 2, 100_000))
    if null:
        spec = spec.null()
    if power is not None:
        check_power(power)  # before the output folder and the progress bar
    if out is not None:
        check_target(out, overwrite)
    with maybe_output(out, overwrite) as folder:
        summary = _run(spec, base, r, s, null, power, folder)
    if json_:
        typer.echo(to_json(summary))
        return
    _print(summary)


def _run(spec, base, replicates, seed, null, power, folder):
    from exerpain.design.power import find_n, total_for
    from exerpain.design.results import summarise, write_trial
    from exerpain.design.trial import simulate_trials
    from exerpain.interfaces.progress import progress_bar

    def run(design):  # one bar per design run (the power search runs several)
        with progress_bar(f"{design.name} (n={design.n_randomised})", replicates,
                          "trials") as update:
            return simulate_trials(design, replicates, seed, base,
                                   progress=lambda done, _: update(done))

    if power is not None:
        primary = next(a.name for a in spec.arms if not a.control)
        found = find_n(spec, power, lambda d: [r.comparisons[primary]["p"]
                                                for r in run(d).replicates])
        spec = spec.with_n(total_for(spec, found["n_per_arm"]["estimate"]))
    result = run(spec)
    summary = summarise(spec, result, replicates, seed, null)
    if power is not None:
        summary["n_per_arm"] = found["n_per_arm"]
        summary["target_power"] = power
        summary["power_search"] = found["evaluated"]
    if folder is not None:
        write_trial(folder, spec, result, summary)
    return summary


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
