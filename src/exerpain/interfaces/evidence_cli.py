"""``exerpain evidence``: browse the shipped evidence base and pool effect sizes
(random-effects meta-analysis, forest plots). Thin layer over :mod:`exerpain.evidence`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, get_args

import typer

from exerpain.errors import InputError
from exerpain.storage import to_json, writable_file

evidence_app = typer.Typer(add_completion=False, no_args_is_help=True,
                           help="Browse published findings and pool effect sizes.")



def _cite(row) -> str:  # noqa: ANN001 (pandas row)
    doi = row["doi_or_pmid"]
    return doi if isinstance(doi, str) and doi else row["url_seen"]


def _check_choice(value: str | None, allowed: tuple[str, ...], name: str) -> None:
    if value is not None and value not in allowed:
        raise InputError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")


@evidence_app.command("list")
def list_(
    mechanism: Annotated[str | None, typer.Option(help="mechanism key, e.g. opioid, "
                                                       "inflammation, exercise")] = None,
    condition: Annotated[str | None, typer.Option(help="condition key, e.g. cci, cipn, dpn")]
    = None,
    json_: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
) -> None:
    """List findings and effect-size rows matching a mechanism and/or condition, and the
    outcome keys accepted by ``evidence meta``."""
    from exerpain.evidence.load import load_findings, load_outcomes, with_citations
    from exerpain.evidence.meta import outcome_keys
    from exerpain.evidence.schema import Condition, Mechanism

    _check_choice(mechanism, get_args(Mechanism), "mechanism")
    _check_choice(condition, get_args(Condition), "condition")
    findings, outcomes = with_citations(load_findings()), with_citations(load_outcomes())
    for column, value in (("mechanism", mechanism), ("condition", condition)):
        if value is not None:
            findings = findings[findings[column] == value]
            outcomes = outcomes[outcomes[column] == value]
    keys = outcome_keys(outcomes) if not outcomes.empty else []
    if json_:
        payload = {"findings": findings.drop(columns="row").to_dict(orient="records"),
                   "outcomes": outcomes.drop(columns="row").to_dict(orient="records"),
                   "outcome_keys": keys}
        typer.echo(to_json(payload))
        return
    typer.echo(f"Findings ({len(findings)}):")
    for _, f in findings.iterrows():
        typer.echo(f"  {f['finding_id']:<40} {f['mechanism']:<14} {f['condition']:<11} "
                   f"{f['direction']:<13} {f['claim']}  [{f['citation']}; "
                   f"{_cite(f)}]")
    typer.echo(f"\nEffect sizes ({len(outcomes)}):")
    for _, o in outcomes.iterrows():
        ci = ("" if o["ci_low"] is None or math.isnan(o["ci_low"])
              else f" ({o['ci_low']:g} to {o['ci_high']:g})")
        typer.echo(f"  {o['outcome']:<36} {o['effect_measure']:<12} {o['effect']:g}{ci}  "
                   f"{o['modality']} [{o['citation']}]")
    typer.echo("\nOutcome keys for `exerpain evidence meta --outcome`: " + ", ".join(keys))


def _print_result(result) -> None:  # noqa: ANN001 (OutcomeMeta)
    typer.echo(f"Outcome {result.outcome}: {result.effect_measure}, {result.scale}; "
               f"method {result.method.upper()}; k={result.k}")
    for _, r in result.rows.iterrows():
        typer.echo(f"  {r['label']:<50} {r['effect']:7.3f} ({r['ci_low']:.3f} to "
                   f"{r['ci_high']:.3f})")
    for reason in result.excluded:
        typer.echo(f"  left out: {reason}")
    res = result.overall
    if res is not None:
        typer.echo(f"Pooled: {res.estimate:.3f} (95% CI {res.ci_low:.3f} to {res.ci_high:.3f}), "
                   f"SE {res.se:.3f}, p={res.p_value:.3g}")
        typer.echo(f"Heterogeneity: tau2={res.tau2:.4f}, I2={100 * res.i2:.1f}%, "
                   f"Q={res.q:.3f} (df {res.q_df}, p={res.q_p_value:.3g})")
        if res.pi_low is not None:
            typer.echo(f"95% prediction interval: {res.pi_low:.3f} to {res.pi_high:.3f}")
    if result.subgroups is not None:
        sub = result.subgroups
        typer.echo(f"Subgroups by {sub.by}:")
        for name, g in sub.groups.items():
            typer.echo(f"  {name:<40} k={g.k} {g.estimate:.3f} ({g.ci_low:.3f} to "
                       f"{g.ci_high:.3f})")
        typer.echo(f"  between-subgroup Q={sub.q_between:.3f} (df {sub.df}, "
                   f"p={sub.p_value:.3g})")
    for note in result.notes:
        typer.echo(f"note: {note}")


@evidence_app.command()
def meta(
    outcome: Annotated[str, typer.Option(help="outcome key (see `exerpain evidence list`), "
                                              "e.g. cipn_symptoms, rodent_hypersensitivity")],
    by: Annotated[str | None, typer.Option(help="subgroup field: modality, species, condition, "
                                                "study_id, timepoint, level, effect_measure")]
    = None,
    method: Annotated[str, typer.Option(help="tau^2 estimator: dl or reml")] = "reml",
    json_: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
    plot: Annotated[Path | None, typer.Option(help="write a forest plot (.png or .svg)")]
    = None,
) -> None:
    """Random-effects meta-analysis of the effect sizes shipped for one outcome."""
    from exerpain.evidence.forest import forest_plot
    from exerpain.evidence.load import load_outcomes
    from exerpain.evidence.meta import pool_outcome

    if plot is not None:
        if plot.suffix.lower() not in (".png", ".svg"):
            raise InputError(f"plot file {str(plot)!r} must end in .png or .svg")
        writable_file(plot, "plot")  # before the work
    result = pool_outcome(load_outcomes(), outcome, by=by, method=method)
    if plot is not None and result.k >= 1:
        forest_plot(plot, result.rows["label"].tolist(), result.rows["effect"].tolist(),
                    result.rows["ci_low"].tolist(), result.rows["ci_high"].tolist(),
                    result.overall, title=f"{outcome} ({result.effect_measure})",
                    xlabel=f"effect ({result.scale})")
    if json_:
        typer.echo(to_json(result.to_dict()))
    else:
        _print_result(result)
