"""Covariate distributions of virtual subjects, per condition, with their sources.

Continuous covariates are normal, truncated by clipping to a plausible range; sex is
Bernoulli; adherence (fraction of sessions done) is Beta. A ``None`` entry means the
covariate does not apply (reported as missing).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Normal:
    mean: float
    sd: float
    low: float
    high: float
    unit: str
    source: str


@dataclass(frozen=True)
class BetaDist:
    a: float
    b: float
    source: str


@dataclass(frozen=True)
class CovariateModel:
    female_fraction: float
    female_source: str
    age: Normal | None = None
    bmi: Normal | None = None
    hba1c: Normal | None = None
    vo2max: Normal | None = None
    adherence: BetaDist | None = None


# P(attending >= 67% of sessions) = 89/159 = 0.56 (per-protocol vs ITT, Br J Cancer 2021,
# PMC8476560), with an assumed concentration a + b = 4: a = 2.70, b = 1.30 (mean 0.68).
_ADHERENCE = BetaDist(2.70, 1.30, "calibrated to 56% of patients attending >= 67% of "
                                  "sessions (89/159, PMC8476560); concentration assumed")

_DPN = CovariateModel(
    female_fraction=0.389,
    female_source="130/334 female in a duloxetine DPN trial (Wernicke 2006, "
                  "doi:10.1212/01.wnl.0000240225.04000.1a)",
    age=Normal(60.7, 10.6, 30.0, 85.0, "year", "Wernicke 2006 (60.7 +/- 10.6 years)"),
    bmi=Normal(31.0, 5.0, 20.0, 50.0, "kg/m2", "assumed (type 2 diabetes populations)"),
    hba1c=Normal(7.6, 1.2, 5.5, 12.0, "%", "median 7.6% in pooled duloxetine trials "
                 "(Diabetes Care 30(3):664); SD assumed"),
    vo2max=Normal(16.02, 3.84, 8.0, 35.0, "ml/kg/min", "16.02 +/- 3.84 in painful DPN "
                  "(Yoo 2015, PMC4673891)"),
    adherence=_ADHERENCE,
)

_CIPN = CovariateModel(
    female_fraction=0.93,
    female_source="93% female (79% breast cancer) in an exercise trial with CIPN outcomes "
                  "(Kleckner 2018, doi:10.1007/s00520-017-4013-0)",
    age=Normal(56.0, 11.0, 25.0, 85.0, "year", "Kleckner 2018 (56 +/- 11 years)"),
    bmi=Normal(27.0, 5.0, 17.0, 50.0, "kg/m2", "assumed"),
    vo2max=Normal(24.0, 6.0, 10.0, 45.0, "ml/kg/min", "assumed (deconditioned after "
                  "chemotherapy)"),
    adherence=_ADHERENCE,
)

_RODENT = CovariateModel(
    female_fraction=0.0,
    female_source="the pooled rodent evidence is from male animals only (Matesanz-Garcia "
                  "2023, doi:10.1016/j.jpain.2023.01.011)",
)


SEX_FRACTIONS = {"male": 0.0, "female": 1.0, "mixed": 0.5}
"""Share of females of a rodent cohort by ``--sex`` (default ``male``, as most published
designs; ``mixed`` is 50:50)."""


def covariate_model(condition_name: str, kind: str, female_fraction: float | None = None
                    ) -> CovariateModel:
    """The covariate model of a condition; ``female_fraction`` replaces its share of females
    (rodents; humans keep their condition's population)."""
    base = _RODENT if kind == "rodent" else {"dpn": _DPN, "cipn": _CIPN}[condition_name]
    if female_fraction is None:
        return base
    return replace(base, female_fraction=float(female_fraction),
                   female_source=f"set by the user: {female_fraction:.0%} female")
