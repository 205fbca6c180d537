"""``exerpain demo``: the default scenarios, their figures and a summary.

- A CCI rat, sedentary vs treadmill (``treadmill-moderate``), with and without systemic
  naloxone and PCPA (serotonin depletion): von Frey thresholds over 42 days.
- A DPN patient, sedentary vs supervised aerobic exercise (``aerobic-moderate``): pain NRS
  over 16 weeks.
- The mechanism states of the CCI rat (exercise vs sedentary).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from exerpain.interfaces.figures import mechanisms_figure, pair_figure
from exerpain.simulate.pair import PairResult, simulate_pair
from exerpain.storage import OutputFolder, write_results

RODENT_ARMS = ((), ("naloxone",), ("pcpa",))


def _plot_pairs(pairs: list[tuple[str, PairResult]], readout: str, ylabel: str,
                path: Path, title: str) -> None:
    pair_figure(pairs, readout, ylabel, title).savefig(path, dpi=120)


def _plot_mechanisms(pair: PairResult, path: Path) -> None:
    mechanisms_figure(pair, "CCI rat: mechanism states (fold change vs healthy; damage and "
                            "M2 as fractions)").savefig(path, dpi=110)


def run_demo(out: str | Path, overwrite: bool = False,
             progress: Callable[[int, int, str], None] | None = None) -> Path:
    """Simulate the default scenarios and write figures and ``summary.json`` into ``out``
    (one run's files; refused if ``out`` holds results, unless ``overwrite``).
    ``progress(done, total, label)`` is called before each scenario, before the figures and
    at the end."""
    output = OutputFolder(out, overwrite)  # checked before the work
    total = len(RODENT_ARMS) + 2  # the scenarios, then the figures

    def report(done: int, label: str) -> None:
        if progress is not None:
            progress(done, total, label)

    rodent = []
    for i, arm in enumerate(RODENT_ARMS):
        label = f" + {'+'.join(arm)}" if arm else ""
        report(i, f"CCI rat{label}")
        rodent.append((label, simulate_pair("cci", "treadmill-moderate", interventions=arm,
                                            days=42)))
    report(len(RODENT_ARMS), "DPN patient")
    human = [("", simulate_pair("dpn", "aerobic-moderate", days=112))]
    report(total - 1, "figures")
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
    report(total, "done")
    return output.target
