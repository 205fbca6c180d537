"""Forest plot of effects with 95% CIs, the pooled random-effects diamond and the 95%
prediction interval. Matplotlib's Agg canvas (no display, no pyplot state); PNG or SVG by
the file suffix."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from exerpain.errors import InputError
from exerpain.evidence.meta import MetaResult
from exerpain.storage import atomic_write

FORMATS = {".png": "png", ".svg": "svg"}


def forest_plot(path: str | Path, labels: Sequence[str], effects: Sequence[float],
                ci_low: Sequence[float], ci_high: Sequence[float],
                pooled: MetaResult | None = None, *, title: str = "",
                xlabel: str = "effect (positive = favours exercise)") -> Path:
    """Write a forest plot to ``path`` (.png or .svg) and return the path.

    Each row is a square at the effect with its 95% CI; the pooled estimate is a diamond
    spanning its 95% CI, with the prediction interval as a line through it (k >= 3).
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"plot file {str(path)!r} must end in .png or .svg")
    k = len(labels)
    if not (len(effects) == len(ci_low) == len(ci_high) == k) or k == 0:
        raise InputError("forest plot needs one effect and CI per label")
    rows = k + (2 if pooled is not None else 0)
    fig = Figure(figsize=(8.0, 1.2 + 0.35 * rows))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ys = list(range(rows - 1, rows - 1 - k, -1))
    weights = pooled.weights if pooled is not None and len(pooled.weights) == k else [1 / k] * k
    for y, e, lo, hi, w in zip(ys, effects, ci_low, ci_high, weights, strict=True):
        ax.plot([lo, hi], [y, y], color="black", lw=1)
        ax.plot([e], [y], marker="s", color="black", markersize=4 + 10 * w ** 0.5)
    ticks, names = list(ys), list(labels)
    if pooled is not None:
        if pooled.pi_low is not None and pooled.pi_high is not None:
            ax.plot([pooled.pi_low, pooled.pi_high], [0, 0], color="tab:red", lw=1.5,
                    label="95% prediction interval")
        ax.fill([pooled.ci_low, pooled.estimate, pooled.ci_high, pooled.estimate],
                [0, 0.3, 0, -0.3], color="tab:blue",
                label=f"pooled ({pooled.method.upper()}), 95% CI")
        ax.axvline(pooled.estimate, color="tab:blue", lw=0.8, ls=":")
        ticks.append(0)
        names.append(f"Pooled (k={pooled.k}, tau2={pooled.tau2:.3g}, I2={100 * pooled.i2:.0f}%)")
        ax.legend(loc="lower right", fontsize=7, frameon=False)
    ax.axvline(0.0, color="grey", lw=0.8)
    ax.set_yticks(ticks, names, fontsize=8)
    ax.set_ylim(-1, rows)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=150))
    return path
