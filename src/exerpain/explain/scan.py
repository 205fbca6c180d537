"""Parameter scans: a target over a list of values of one parameter, or a grid of two.

Every point is the pair ``exerpain simulate`` computes (the exercise run and its sedentary
control, :mod:`exerpain.explain.evaluate`) with the scanned values as partial overrides, all
points solved in batches on the batched engine; optionally a cohort target per point (one
cohort per point, the same seed: common random numbers). The other parameters keep their
calibrated values (or the ``--set`` ones). A one-parameter scan is a local, one-at-a-time
view: it shows a shape, not how much the parameter matters over the others' uncertainty
(that is :mod:`exerpain.explain.sensitivity`).
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from exerpain.errors import InputError
from exerpain.explain.evaluate import (
    PAIR_TARGETS,
    Setting,
    Task,
    check_names,
    check_values,
    chunk_for,
    evaluate,
    target_kind,
    target_unit,
)
from exerpain.simulate.distribute import check_dask

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

MAX_POINTS = 10_000
"""Largest grid (points): a 100 x 100 heat map."""


@dataclass
class ScanResult:
    summary: dict
    table: pd.DataFrame  # one row per point: the scanned values, every output, status

    def plot(self, target: str | None = None) -> Figure:
        return scan_figure(self.table, self.summary, target)

    def __repr__(self) -> str:
        s = self.summary
        return (f"ScanResult({s['condition']} x {s['protocol']}, "
                f"{' x '.join(p['name'] for p in s['parameters'])}: {s['points']} points, "
                f"{s['failed']} failed)")


def parse_values(text: str, field: str = "values") -> list[float]:
    """``"0.1,0.2,0.3"`` -> numbers (:class:`InputError` naming ``field`` otherwise)."""
    out = []
    for item in (t.strip() for t in str(text).split(",")):
        if not item:
            continue
        try:
            out.append(float(item))
        except ValueError:
            raise InputError(f"{field}: {item!r:.40} is not a number; give "
                             "comma-separated numbers, e.g. 0.1,0.2,0.4") from None
    if not out:
        raise InputError(f"{field}: give at least one value, e.g. 0.1,0.2,0.4")
    return out


def run_scan(setting: Setting, axes: Sequence[tuple[str, Sequence[float]]],
             target: str = "benefit", n: int = 0, seed: int = 0, dask: str | None = None,
             chunk: int | None = None,
             progress: Callable[[int, int], None] | None = None) -> ScanResult:
    """Scan ``axes`` (one or two ``(name, values)``; two make a grid, the first parameter
    varying slowest). Every point reports the pair's targets (:data:`PAIR_TARGETS`); a
    cohort ``target`` adds one cohort of ``n`` subjects per point (seed ``seed``)."""
    import pandas as pd

    started = time.perf_counter()
    if not 1 <= len(axes) <= 2:
        raise InputError(f"param: give one or two parameters, got {len(axes)}")
    kind = target_kind(target)
    if kind == "cohort" and not (isinstance(n, int) and n >= 1):
        raise InputError(f"n: target {target!r} runs one cohort per point; give its size "
                         "(--n), e.g. 50")
    names = [name for name, _ in axes]
    table = dict(check_names(names, setting, "param"))
    check_dask(dask)
    values = [check_values(name, vals, setting) for name, vals in axes]
    for name, vals in zip(names, values, strict=True):
        if len(set(vals)) < len(vals):
            raise InputError(f"values.{name}: a value is given twice")
    points = int(np.prod([len(v) for v in values]))
    if points > MAX_POINTS:
        raise InputError(f"values: {points} points; at most {MAX_POINTS}")
    rows = np.array(list(itertools.product(*values)), dtype=float)
    task = Task(setting=setting, names=tuple(names), targets=(target,),
                n=n if kind == "cohort" else 0, seed=seed, pair=True,
                chunk=chunk_for(len(rows), chunk))
    ev = evaluate(task, rows, dask=dask, progress=progress)
    frame = pd.DataFrame(rows, columns=names)
    for key, vals in ev.values.items():
        frame[key] = vals
    frame["status"] = ev.status
    summary = {
        **setting.describe(), "target": target,
        "target_unit": target_unit(target, setting.describe()["readout"]),
        "parameters": [{"name": name, "values": vals, "unit": table[name].unit,
                        "nominal": table[name].value,
                        "declared_range": [table[name].low, table[name].high]}
                       for name, vals in zip(names, values, strict=True)],
        "outputs": list(task.outputs), "points": len(rows), "failed": int(ev.failed.sum()),
        "failure_reasons": dict(Counter(ev.status[ev.failed])),
        "readout_at": "the last day, primary read-out of the species",
        "rows": frame.to_dict(orient="records"),
        "runtime_s": time.perf_counter() - started,
    }
    if kind == "cohort":
        summary["cohort"] = {"n": n, "seed": seed, "common_random_numbers": True}
    return ScanResult(summary, frame)


def scan_figure(table: pd.DataFrame, summary: dict, target: str | None = None) -> Figure:
    """One parameter: ``target`` against the value (the calibrated value marked), and for a
    pair target the exercise and sedentary read-outs beside it. Two: a heat map of
    ``target`` over the grid (cells in the order given; failed points blank)."""
    from exerpain.interfaces.figures import READOUT_LABELS, _colors, new_figure

    target = target or summary["target"]
    params = summary["parameters"]
    if len(params) == 1:
        p = params[0]
        x = table[p["name"]].to_numpy()
        two = target in PAIR_TARGETS
        fig = new_figure(10 if two else 6, 4)
        ax = fig.add_subplot(1, 2 if two else 1, 1)
        ax.plot(x, table[target], "o-", color=_colors()[0])
        ax.axvline(p["nominal"], color="grey", ls=":", lw=0.8, label="calibrated value")
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_xlabel(f"{p['name']} ({p['unit']})")
        ax.set_ylabel(f"{target} ({summary['target_unit']})")
        ax.legend(fontsize=8)
        if two:
            ax2 = fig.add_subplot(1, 2, 2)
            ax2.plot(x, table["exercise_value"], "o-", label="exercise")
            ax2.plot(x, table["sedentary_value"], "s--", label="sedentary")
            ax2.plot(x, table["healthy_value"], ":", color="grey", label="healthy")
            ax2.set_xlabel(f"{p['name']} ({p['unit']})")
            ax2.set_ylabel(READOUT_LABELS.get(summary["readout"], summary["readout"]))
            ax2.legend(fontsize=8)
    else:
        (a, b) = params
        grid = table[target].to_numpy().reshape(len(a["values"]), len(b["values"]))
        fig = new_figure(6.5, 5)
        ax = fig.add_subplot()
        image = ax.imshow(np.ma.masked_invalid(grid), origin="lower", aspect="auto",
                          cmap="viridis")
        ax.set_yticks(range(len(a["values"])), [f"{v:g}" for v in a["values"]])
        ax.set_xticks(range(len(b["values"])), [f"{v:g}" for v in b["values"]],
                      rotation=45)
        ax.set_ylabel(f"{a['name']} ({a['unit']})")
        ax.set_xlabel(f"{b['name']} ({b['unit']})")
        fig.colorbar(image, ax=ax, label=f"{target} ({summary['target_unit']})")
    fig.suptitle(f"{summary['condition']} x {summary['protocol']}: {target}", fontsize=10)
    fig.tight_layout()
    return fig
