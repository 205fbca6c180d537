"""Figures of results: one function per kind of result, each returning a matplotlib
:class:`~matplotlib.figure.Figure`.

Figures are made without pyplot (a :class:`Figure` on an Agg canvas): no window opens, no
global figure list grows, nothing needs closing; ``fig.savefig(path)`` writes it and a
notebook shows it. The result classes' ``plot()`` methods
(:class:`exerpain.simulate.pair.PairResult`, :class:`exerpain.simulate.engine.CohortResult`,
:class:`exerpain.design.trial.TrialRun`) and ``exerpain demo`` draw with these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from exerpain.simulate.pair import PairResult

READOUT_LABELS = {"withdrawal_threshold_g": "von Frey threshold (g)",
                  "withdrawal_latency_s": "withdrawal latency (s)",
                  "nrs": "average pain (NRS 0-10)"}
"""Axis labels of the read-outs, with units."""


def new_figure(width: float, height: float) -> Figure:
    """An empty figure of ``width`` x ``height`` inches on an Agg canvas (no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _colors() -> list[str]:
    import matplotlib

    return matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]


def pair_figure(pairs: list[tuple[str, PairResult]], readout: str | None = None,
                ylabel: str | None = None, title: str | None = None) -> Figure:
    """``readout`` (default: the first pair's primary read-out) over days: per pair (a
    label suffix and a :class:`PairResult`) exercise (solid) and sedentary (dashed) in one
    colour; the first pair's healthy value (dotted grey)."""
    first = pairs[0][1]
    readout = readout or first.summary["readout"]
    fig = new_figure(7, 4.2)
    ax = fig.add_subplot()
    for (label, pair), color in zip(pairs, _colors(), strict=False):
        tr = pair.trajectory
        ax.plot(tr.days, tr.observables[readout][0], color=color, lw=2,
                label=f"exercise{label}")
        ax.plot(tr.days, tr.observables[readout][1], color=color, lw=1.5, ls="--",
                label=f"sedentary{label}")
    if readout == first.summary["readout"]:
        ax.axhline(first.summary["healthy_value"], color="grey", lw=0.8, ls=":",
                   label="healthy")
    ax.set_xlabel("day after injury" if readout != "nrs" else "day of programme")
    ax.set_ylabel(ylabel or READOUT_LABELS.get(readout, readout))
    s = first.summary
    ax.set_title(title or f"{s['condition']}: {s['protocol']} vs sedentary")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def mechanisms_figure(pair: PairResult, title: str | None = None) -> Figure:
    """Every mechanism state over days, exercise (solid) vs sedentary (dashed)."""
    tr = pair.trajectory
    names = tr.state_names
    n = len(names)
    cols = 6
    rows = -(-n // cols)
    fig = new_figure(2.6 * cols, 2.0 * rows)
    axes = fig.subplots(rows, cols, sharex=True, squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        ax.plot(tr.days, tr.states[0, :, i], lw=1.8, label="exercise")
        ax.plot(tr.days, tr.states[1, :, i], lw=1.2, ls="--", label="sedentary")
        ax.set_title(names[i], fontsize=8)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(title or f"{pair.summary['condition']}: mechanism states", fontsize=10)
    fig.tight_layout()
    return fig


def cohort_figure(subjects: pd.DataFrame, summary: dict) -> Figure:
    """Left: the distribution of per-subject benefit (read-out units) with its mean. Right:
    the share of subjects primed by each mechanism, per attribution view (empty without
    attribution)."""
    import numpy as np

    fig = new_figure(10, 4)
    left, right = fig.subplots(1, 2)
    benefit = subjects["benefit"].to_numpy(dtype=float)
    benefit = benefit[np.isfinite(benefit)]
    left.hist(benefit, bins=max(5, min(40, len(benefit) // 5)), color=_colors()[0])
    left.axvline(summary["mean_benefit"], color="black", lw=1, ls="--", label="mean")
    left.set_xlabel(f"benefit ({READOUT_LABELS.get(summary['readout'], summary['readout'])})")
    left.set_ylabel("subjects")
    left.legend(fontsize=7)
    left.set_title(f"{summary['condition']} x {summary['protocol']}: n={summary['n']}")
    views = [(key, label) for key, label in (("priming_mechanism_share", "entry"),
                                             ("pathway_priming_share", "pathway"))
             if summary.get(key)]
    if views:
        names = list(summary[views[0][0]])
        width = 0.8 / len(views)
        x = np.arange(len(names))
        for k, ((key, label), color) in enumerate(zip(views, _colors(), strict=False)):
            shares = [summary[key].get(name, 0.0) for name in names]
            right.bar(x + (k - (len(views) - 1) / 2) * width, shares, width, color=color,
                      label=label)
        right.set_xticks(x, names, rotation=45, ha="right", fontsize=7)
        right.set_ylabel("share of subjects")
        right.legend(fontsize=7, title="view", title_fontsize=7)
    else:
        right.text(0.5, 0.5, "no attribution", ha="center", va="center",
                   transform=right.transAxes)
        right.set_axis_off()
    right.set_title("priming mechanism")
    fig.tight_layout()
    return fig


def trial_figure(replicates: pd.DataFrame, title: str = "",
                 alpha: float | None = None) -> Figure:
    """Left: the estimated difference from control (NRS points) over replicate trials, per
    comparison. Right: the p values over replicate trials, per comparison, with ``alpha``."""
    import numpy as np

    fig = new_figure(10, 4)
    left, right = fig.subplots(1, 2)
    bins = max(5, min(40, len(replicates) // 5))
    for (arm, rows), color in zip(replicates.groupby("arm", sort=False), _colors(),
                                  strict=False):
        estimate = rows["estimate"].to_numpy(dtype=float)
        p = rows["p"].to_numpy(dtype=float)
        left.hist(estimate[np.isfinite(estimate)], bins=bins, alpha=0.6, color=color,
                  label=arm)
        right.hist(p[np.isfinite(p)], bins=np.linspace(0, 1, 21), alpha=0.6, color=color,
                   label=arm)
    left.axvline(0, color="grey", lw=0.8, ls=":")
    left.set_xlabel("difference from control (NRS points)")
    left.set_ylabel("replicate trials")
    left.legend(fontsize=7)
    left.set_title(title)
    if alpha is not None:
        right.axvline(alpha, color="black", lw=1, ls="--", label=f"alpha {alpha:g}")
    right.set_xlabel("p value")
    right.legend(fontsize=7)
    fig.tight_layout()
    return fig
