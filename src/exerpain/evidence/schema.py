"""Row schemas of the shipped evidence tables (``data/studies.csv``, ``outcomes.csv``,
``findings.csv``).

Every row is validated with pydantic at load. A blank cell means *unknown* (never zero) and
becomes ``None``. Sources: ``/work/shared/evidence`` (preclinical.md, clinical.md and their
CSVs); every row carries the address where its numbers were seen (``url_seen``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Slug = Field(pattern=r"^[a-z0-9_]+$", min_length=2, max_length=60)
Url = Field(pattern=r"^https?://", min_length=10)
Text = Field(min_length=1)

Species = Literal["rat", "mouse", "rodent", "human"]
Condition = Literal[
    "cci", "sni", "pnsl", "snl", "crush", "sciatic", "stz", "paclitaxel", "dpn", "cipn", "hiv",
    "sci", "sciatica", "healthy", "chronic_msk", "muscle_pain", "other",
]
"""Condition keys: rodent models (chronic constriction injury, spared nerve injury, partial
sciatic nerve ligation, spinal nerve ligation, crush, ``sciatic`` = other or pooled sciatic
injuries, streptozotocin diabetes, paclitaxel) and human populations (painful diabetic
neuropathy, chemotherapy-induced neuropathy, HIV neuropathy, spinal cord injury, sciatica,
healthy, chronic musculoskeletal pain); ``muscle_pain`` marks non-neuropathic rodent models."""
Mechanism = Literal[
    "injury", "oxidative", "inflammation", "neurotrophic", "gabaergic", "opioid",
    "monoaminergic", "endocannabinoid", "dopaminergic", "sensitization", "exercise",
]
"""Mechanism keys; ``exercise`` marks an overall effect of exercise on pain or nerve outcomes."""
FindingDirection = Literal["up", "down", "abolished", "not_abolished", "none"]
"""Direction with exercise vs the sedentary (or untreated) comparator; ``abolished`` /
``not_abolished`` for blockade and knock-out tests of exercise analgesia."""
OutcomeDirection = Literal["favours_exercise", "favours_control", "increase", "decrease", "none"]
PositiveMeans = Literal["favours_exercise", "favours_control", "increase", "decrease"]
"""What a positive ``effect`` means as published: used to put effects on one scale
(positive = favours exercise, or positive = increase with exercise) before pooling."""


class _Row(BaseModel):
    # allow_inf_nan=False: "nan", "inf" or "1e999" in a number cell is refused with the
    # column named (a NaN effect used to load, then poison pooling downstream).
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True,
                              allow_inf_nan=False)


class Study(_Row):
    """One published source (trial, experiment, review or meta-analysis)."""

    study_id: str = Slug
    citation: str = Text
    year: int | None = Field(default=None, ge=1950, le=2100)
    doi_or_pmid: str | None = None
    url_seen: str = Url
    species: str = Text
    population: str = Text
    design: str = Text


class Outcome(_Row):
    """One effect size: a pooled meta-analytic estimate or a single study/arm estimate.

    ``effect`` is as published, in ``effect_measure`` units (SMD, Hedges g, Cohen d, MD in
    scale points or kPa, ...); ``ci_low``/``ci_high`` its 95% confidence interval; ``n`` the
    total number of participants or animals. Dose fields stay text, exactly as published
    ("30-50", "~20 (length of chemo)").
    """

    study_id: str = Slug
    outcome: str = Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
    mechanism: Mechanism
    condition: Condition
    species: Species
    modality: str = Text
    intensity: str | None = None
    minutes_per_session: str | None = None
    sessions_per_week: str | None = None
    weeks: str | None = None
    effect_measure: str = Text
    effect: float
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = Field(default=None, gt=0)
    timepoint: str | None = None
    direction: OutcomeDirection
    positive_means: PositiveMeans | None = None
    level: Literal["pooled", "study"]
    url_seen: str = Url
    notes: str | None = None

    @model_validator(mode="after")
    def _ci_brackets_effect(self) -> Outcome:
        if (self.ci_low is None) != (self.ci_high is None):
            raise ValueError("ci_low and ci_high must both be given or both be blank")
        if self.ci_low is not None and self.ci_high is not None and not (
            self.ci_low <= self.effect <= self.ci_high
        ):
            raise ValueError(f"effect {self.effect} lies outside its CI [ci_low, ci_high] = "
                             f"[{self.ci_low}, {self.ci_high}]")
        return self


class Finding(_Row):
    """One directional or blockade finding, e.g. "IL-4 knockout abolishes exercise analgesia"."""

    finding_id: str = Slug
    study_id: str = Slug
    mechanism: Mechanism
    condition: Condition
    species: Species
    claim: str = Text
    direction: FindingDirection
    url_seen: str = Url


class TimePoint(_Row):
    """One time point of a published course (``timecourses.csv``): a group mean on ``day``
    (rodents: days after injury, negative = before; humans: days after the start of training)
    with its spread, or, with readout ``course_statement`` and no mean, a dated statement about
    the course ("allodynia from day 1 through day 180") quoted in ``notes``. ``value_source``
    says whether the number was read from text, a table or a figure."""

    series_id: str = Slug
    study_id: str = Slug
    condition: Condition
    species: Species
    sex: Literal["male", "female", "mixed", "unknown"]
    arm: Literal["sedentary", "exercise", "sham", "naive", "control"]
    modality: str = Text
    intensity: str | None = None
    minutes_per_session: str | None = None
    sessions_per_week: str | None = None
    start_day: float | None = None
    stop_day: float | None = None
    readout: str = Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
    day: float = Field(ge=-400, le=5000)
    mean: float | None = None
    spread: float | None = Field(default=None, ge=0)
    spread_kind: Literal["sd", "sem", "ci95_halfwidth", "none"]
    n: int | None = Field(default=None, gt=0)
    value_source: Literal["text", "table", "figure"]
    url_seen: str = Url
    notes: str | None = None

    @model_validator(mode="after")
    def _statement_or_value(self) -> TimePoint:
        if self.readout != "course_statement" and self.mean is None:
            raise ValueError("mean is required unless readout is course_statement")
        if self.readout == "course_statement" and not self.notes:
            raise ValueError("a course_statement needs the statement in notes")
        return self


class TrialArm(_Row):
    """One arm (or pooled result) of a published randomised trial (``trials.csv``): the
    evidence behind the virtual trials (:mod:`exerpain.design`), drug calibration and
    placebo response. Numbers as published on ``pain_scale`` (negative change = pain fell;
    ``diff_vs_control_mean`` = active minus control); rates are fractions. Dose and weeks stay
    text as published ("150-600", "8-12"). ``notes`` marks values computed from published
    numbers ("COMPUTED") and where a study was matched to its paper."""

    trial_id: str = Slug
    citation: str = Text
    year: int | None = Field(default=None, ge=1950, le=2100)
    doi_or_pmid: str | None = None
    url_seen: str = Url
    condition: Literal["dpn", "cipn", "neuropathic_mixed", "other"]
    arm: str = Text
    kind: Literal["drug", "placebo", "exercise", "usual_care", "pooled_drug", "pooled_placebo",
                  "pooled_exercise", "diary_variability"]
    drug: str | None = None
    dose_mg_day: str | None = None
    titration_days: str | None = None
    exercise: str | None = None
    weeks: str | None = None
    n_randomised: int | None = Field(default=None, gt=0)
    n_analysed: int | None = Field(default=None, gt=0)
    baseline_pain_mean: float | None = None
    baseline_pain_sd: float | None = Field(default=None, ge=0)
    pain_scale: str | None = None
    change_mean: float | None = None
    change_sd: float | None = Field(default=None, ge=0)
    change_se: float | None = Field(default=None, ge=0)
    diff_vs_control_mean: float | None = None
    diff_ci_low: float | None = None
    diff_ci_high: float | None = None
    responder30_rate: float | None = Field(default=None, ge=0, le=1)
    responder50_rate: float | None = Field(default=None, ge=0, le=1)
    dropout_rate: float | None = Field(default=None, ge=0, le=1)
    dropout_ae_rate: float | None = Field(default=None, ge=0, le=1)
    endpoint: str | None = None
    inclusion: str | None = None
    where_in_source: str | None = None
    read_from_figure: Literal["yes", "no"] | None = None
    notes: str | None = None


TABLES: dict[str, type[_Row]] = {
    "studies.csv": Study,
    "outcomes.csv": Outcome,
    "findings.csv": Finding,
    "timecourses.csv": TimePoint,
    "trials.csv": TrialArm,
}
"""File name -> row model."""
