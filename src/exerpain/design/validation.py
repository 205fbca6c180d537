"""Virtual versions of published trials (``exerpain validate``): does the model's trial land
inside the published interval?

Each design is a file shipped in ``exerpain/design/trials/``; each check compares one
quantity of the virtual trial, the mean over replicate trials at the published size, with the
published value's 95% interval (its confidence interval, or +/- 1.96 SE where the source gave
only an estimate and the SE is the calibration's assumed one). ``fitted`` checks were seen by
the drug calibration (:mod:`exerpain.design.drug_calibration`); the rest are held out.

No controlled exercise trial in painful DPN with a 0-10 pain outcome was found (see
``evidence/data/TRIALS.md``); the one exercise check is Kluding 2012's single arm
(VAS 0-100 mm, change -18.1, SD 35.5, n = 17), taken as -1.81 points on 0-10 (a scale
conversion, assumed) against the virtual exercise arm's mean change.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from exerpain.design.drug_calibration import targets
from exerpain.design.results import summarise
from exerpain.design.spec import load_design
from exerpain.design.trial import simulate_trials
from exerpain.evidence.load import load_outcomes

REPLICATES = 20
SEED = 7
POSTERIOR_DRAWS = 64  # the replicates share one set of calibration-posterior draws


@dataclass(frozen=True)
class TrialCheck:
    id: str
    design: str  # file in exerpain/design/trials
    quantity: str  # "difference" (arm minus control) or "arm_change"
    arm: str
    published: float
    low: float
    high: float
    interval: str
    source: str
    fitted: bool


def design_path(name: str) -> Path:
    return Path(str(resources.files("exerpain.design") / "trials" / f"{name}.yaml"))


def checks() -> list[TrialCheck]:
    """Every trial check, from the calibration targets (difference from placebo) and the
    exercise evidence."""
    by_trial = {
        "pfz1008_029_lesser2004": "lesser2004_pregabalin",
        "pfz1008_014_richter2005": "richter2005_pregabalin",
        "pfz1008_131_rosenstock2004": "rosenstock2004_pregabalin",
        "pfza0081060_arezzo2008": "arezzo2008_pregabalin",
        "satoh2011": "satoh2011_pregabalin", "gao2015_duloxetine_china": "gao2015_duloxetine",
        "yasuda2011_duloxetine_japan": "yasuda2011_duloxetine",
        "backonja1998": "backonja1998_gabapentin",
        "sandercock2012_gabapentin_gr": "sandercock2012_gabapentin",
        "gimbel2003_oxycodone": "gimbel2003_oxycodone",
    }
    out = []
    for t in targets():
        if t.kind != "difference" or t.trial_id not in by_trial:
            continue
        interval = "95% CI" if "SE assumed" not in t.note else "+/- 1.96 SE (SE assumed)"
        out.append(TrialCheck(t.id, by_trial[t.trial_id], "difference",
                              f"{t.drug} {t.dose:g}", t.value, t.value - 1.96 * t.se,
                              t.value + 1.96 * t.se, interval,
                              f"trials.csv row {t.row} ({t.trial_id})", t.fitted))
    kluding = load_outcomes().query("study_id == 'kluding2012'").iloc[0]
    change = kluding.effect / 10.0
    se = 35.5 / 10.0 / math.sqrt(17)
    out.append(TrialCheck("kluding2012-exercise-change", "kluding2012_exercise", "arm_change",
                          "exercise", change, change - 1.96 * se, change + 1.96 * se,
                          "+/- 1.96 SE (SD 35.5 mm, n = 17; VAS/10 assumed)",
                          f"outcomes.csv row {int(kluding.row)} (kluding2012)", False))
    return out


def validate_trials(replicates: int = REPLICATES, seed: int = SEED,
                    progress: Callable[[int, int, str], None] | None = None,
                    designs: set[str] | None = None) -> dict:
    """Run every shipped trial design (or those named in ``designs``) and score its
    checks. ``progress(done, total, label)``: checks done of all, and the design being run
    (called before each design's trials and after each check)."""
    rows = []
    summaries: dict[str, dict] = {}
    cs = [c for c in checks() if designs is None or c.design in designs]
    for i, c in enumerate(cs):
        if c.design not in summaries:
            if progress:
                progress(i, len(cs), c.design)
            design, base = load_design(design_path(c.design))
            run = simulate_trials(design, replicates, seed, base, posterior=POSTERIOR_DRAWS)
            summaries[c.design] = summarise(design, run, replicates, seed)
        s = summaries[c.design]
        if c.quantity == "difference":
            value = s["comparisons"][c.arm]["difference"]["mean"]
        else:
            value = s["arms"][c.arm]["mean_change"]
        inside = value is not None and c.low <= value <= c.high
        rows.append({"id": c.id, "design": c.design, "quantity": c.quantity, "arm": c.arm,
                     "model_value": value, "published": c.published,
                     "interval": [c.low, c.high], "interval_kind": c.interval,
                     "source": c.source, "set": "fitted" if c.fitted else "held-out",
                     "inside": bool(inside)})
        if progress:
            progress(i + 1, len(cs), c.design)

    def count(set_: str) -> dict:
        chosen = [r for r in rows if r["set"] == set_]
        return {"inside": sum(r["inside"] for r in chosen), "total": len(chosen)}

    return {"checks": rows, "inside": sum(r["inside"] for r in rows), "total": len(rows),
            "by_set": {s: count(s) for s in ("fitted", "held-out")},
            "replicates": replicates, "seed": seed,
            "mean_abs_error": float(np.mean([abs(r["model_value"] - r["published"])
                                             for r in rows]))}
