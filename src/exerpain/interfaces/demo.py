"""``exerpain demo``: the default scenarios, their figures and a summary.

- A CCI rat, sedentary vs treadmill (``treadmill-moderate``), with and without systemic
  naloxone and PCPA (serotonin depletion): von Frey thresholds over 42 days.
- A DPN patient, sedentary vs supervised aerobic exercise (``aerobic-moderate``): pain NRS
  over 16 weeks.
- The mechanism states of the CCI rat (exercise vs sedentary).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from exerpain.simulate.pair import PairResult, simulate_pair  # noqa: E402
from exerpain.storage import OutputFolder, write_results  # noqa: E402

RODENT_ARMS = ((), ("naloxone",), ("pcpa",))


def _plot_pairs(pairs: list[tuple[str, PairResult]], readout: str, ylabel: str,
                path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (label, pair), color in zip(pairs, colors, strict=False):
        tr = pair.trajectory
        ax.plot(tr.days, tr.observables[readout][0], color=color, lw=2,
                label=f"exercise{label}")
        ax.plot(tr.days, tr.observables[readout][1], color=color, lw=1.5, ls="--",
                label=f"sedentary{label}")
    ax.axhline(pairs[0][1].summary["healthy_value"], color="grey", lw=0.8, ls=":",
               label="healthy")
    ax.set_xlabel("day after injury" if readout != "nrs" else "day of programme")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_mechanisms(pair: PairResult, path: Path) -> None:
    tr = pair.trajectory
    names = tr.state_names
    n = len(names)
    cols = 6
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.0 * rows), sharex=True)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        ax.plot(tr.days, tr.states[0, :, i], lw=1.8, label="exercise")
        ax.plot(tr.days, tr.states[1, :, i], lw=1.2, ls="--", label="sedentary")
        ax.set_title(names[i], fontsize=8)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("CCI rat: mechanism states (fold change vs healthy; damage and M2 as fractions)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_demo(out: str | Path, overwrite: bool = False) -> Path:
    """Simulate the default scenarios and write figures and ``summary.json`` into ``out``
    (one run's files; refused if ``out`` holds results, unless ``overwrite``)."""
    output = OutputFolder(out, overwrite)  # checked before the work
    rodent = [(f" + {'+'.join(arm)}" if arm else "",
               simulate_pair("cci", "treadmill-moderate", interventions=arm, days=42))
              for arm in RODENT_ARMS]
    human = [("", simulate_pair("dpn", "aerobic-moderate", days=112))]
    summary = {"scenarios": [p.summary for _, p in rodent + human]}

    def figures(folder: Path) -> None:
        _plot_pairs(rodent, "withdrawal_threshold_g", "von Frey threshold (g)",
                    folder / "cci_withdrawal_threshold.png",
                    "CCI rat: treadmill vs sedentary, with blockade arms")
        _plot_pairs(human, "nrs", "average pain (NRS 0-10)", folder / "dpn_nrs.png",
                    "Painful DPN: aerobic exercise vs usual care")
        _plot_mechanisms(rodent[0][1], folder / "cci_mechanisms.png")

    with output as folder:
        write_results(folder, {}, summary, extra=figures)
    return output.target
