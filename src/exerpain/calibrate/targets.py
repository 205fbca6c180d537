"""Quantitative findings as calibration targets, and the fixed held-out set.

Each target is a published number (or one derived from published numbers by stated
arithmetic), its standard deviation, and the virtual experiment that measures the same thing
in the model. Standard deviations come from the published 95% interval as
``(upper - lower) / 3.92`` where there is one, otherwise from the stated spread.

The split is fixed and documented: ``held_out=True`` targets are never fitted and are
reported separately as the held-out score (with every directional and blockade finding of
``exerpain validate``, none of which is fitted either).

- fitted: Leung 2016 M2 share, Chaplan 1994 neuropathic threshold, baseline NRS of DPN
  trials, the rodent mechanical SMD (Matesanz-Garcia 2023), the DPN exercise-trial pain SMD
  and the Nakagawa 2024 CIPN SMD;
- held out: the rodent heat SMD (same meta-analysis, another read-out) and Khmethong 2024's
  CIPN effect size (a second, independent meta-analysis).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
from jax import Array

from exerpain.calibrate.experiments import CohortSMD, Experiment, SingleRun, run_experiments

RODENT_DAYS = 42


@dataclass(frozen=True)
class Target:
    """One quantitative finding the model is fitted to (or scored on, if held out).

    id: the finding id shown by ``exerpain validate``.
    evidence: rows of the shipped evidence base (``findings.csv`` ids) or the citation.
    value, sd: the target and its standard deviation (units of the measure).
    sd_source: where ``sd`` comes from.
    measure: the virtual experiment (:mod:`exerpain.calibrate.experiments`).
    """

    id: str
    evidence: str
    citation: str
    claim: str
    value: float
    sd: float
    sd_source: str
    held_out: bool
    measure: Experiment
    published_interval: tuple[float, float] | None = None

    def interval(self) -> tuple[float, float]:
        """The published 95% interval, or ``value +/- 1.96 sd`` where none was published."""
        if self.published_interval is not None:
            return self.published_interval
        return self.value - 1.96 * self.sd, self.value + 1.96 * self.sd


def _ci_sd(lower: float, upper: float) -> float:
    return (upper - lower) / 3.92


MATESANZ = "Matesanz-Garcia 2023, doi:10.1016/j.jpain.2023.01.011"
TARGETS: tuple[Target, ...] = (
    Target("leung-m2-share", "sluka2016_m2", "Leung 2016, Pain 157:70, PMID 26230740",
           "M2 share of macrophages after 8 weeks of wheel running: 68.5% +/- 4.6%", 0.685,
           0.046, "the published +/- 4.6%", False,
           SingleRun("sham", "wheel", 56, "inflammation.m2_fraction")),
    Target("chaplan-neuropathic-threshold", "Chaplan 1994, J Neurosci Methods 53:55",
           "Chaplan 1994, J Neurosci Methods 53:55",
           "median 50% von Frey threshold of neuropathic rats 2.4 g (sedentary CCI rat, day 14)",
           2.4, 0.3, "assumed tolerance (no spread published with the median)", False,
           SingleRun("cci", "sedentary", 14, "withdrawal_threshold_g", RODENT_DAYS)),
    Target("dpn-baseline-nrs", "PMC3047984 Table 1", "PMC3047984 (duloxetine DPN trials)",
           "baseline average pain 5.9 and 5.6 / 10 in two DPN trials", 5.75, 0.15,
           "half the difference between the two trials", False,
           SingleRun("dpn", "sedentary", 0, "nrs", 1)),
    Target("matesanz-mechanical-smd", "matesanz2023_mechanical", MATESANZ,
           "rodent mechanical hypersensitivity SMD 0.53 (95% CI 0.31-0.74)", 0.53,
           _ci_sd(0.31, 0.74), "published 95% CI", False,
           CohortSMD("cci", "treadmill-moderate", "withdrawal_threshold_g", RODENT_DAYS),
           (0.31, 0.74)),
    Target("dpn-virtual-trial-smd", "yoo2015_intensity; clinical.md section 6",
           "clinical.md section 6 (SMD 0.2-0.5 in DPN/CIPN exercise trials); Yoo 2015, "
           "PMID 25800666", "supervised aerobic exercise in painful DPN: pain SMD 0.2-0.5 "
           "(derived midpoint 0.35)", 0.35, _ci_sd(0.2, 0.5),
           "the 0.2-0.5 range read as a 95% interval (derived)", False,
           CohortSMD("dpn", "aerobic-moderate", "nrs"), (0.2, 0.5)),
    Target("nakagawa-cipn-smd", "nakagawa2024_symptoms", "Nakagawa 2024 (clinical.md section 1b)",
           "exercise improves CIPN symptoms, SMD 0.46 (95% CI 0.11-0.82); the model's read-out "
           "is pain NRS", 0.46, _ci_sd(0.11, 0.82), "published 95% CI", False,
           CohortSMD("cipn", "combined", "nrs"), (0.11, 0.82)),
    Target("matesanz-heat-smd", "matesanz2023_heat", MATESANZ,
           "rodent heat hypersensitivity SMD 0.32 (95% CI 0.07-0.57)", 0.32, _ci_sd(0.07, 0.57),
           "published 95% CI", True,
           CohortSMD("cci", "treadmill-moderate", "withdrawal_latency_s", RODENT_DAYS),
           (0.07, 0.57)),
    Target("khmethong-cipn-g", "khmethong2024_symptoms", "Khmethong 2024 (clinical.md section 1b)",
           "exercise improves CIPN, g 0.28 (95% CI 0.12-0.45), 20 studies", 0.28,
           _ci_sd(0.12, 0.45), "published 95% CI", True, CohortSMD("cipn", "combined", "nrs"),
           (0.12, 0.45)),
)


def fitted_targets() -> tuple[Target, ...]:
    return tuple(t for t in TARGETS if not t.held_out)


def held_out_targets() -> tuple[Target, ...]:
    return tuple(t for t in TARGETS if t.held_out)


def measure_all(targets: tuple[Target, ...], params: dict) -> tuple[Array, Array]:
    """Model values of ``targets`` and the worst failure code (0 = every run ok)."""
    values, codes = run_experiments(tuple(t.measure for t in targets), params)
    return values, jnp.max(codes)
