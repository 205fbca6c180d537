"""The trial design file: a YAML or JSON document, validated with pydantic.

A design names the condition and who is included, the arms (an exercise protocol or none,
drugs with their doses, blockades, an allocation weight, adherence, dropout), the number
randomised, the run-in, treatment and follow-up weeks, how patients report (diary noise,
rounding) and the analysis (endpoint window, estimator, missing data, alpha). Every error
names its field: ``trial design file PATH: field 'arms.1.dropout.rate': ...``.

``EXAMPLE`` is the commented example design printed by ``exerpain trial example``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from exerpain.errors import InputError
from exerpain.model.conditions import get_condition
from exerpain.model.pharmacology import get_drug
from exerpain.model.protocols import (
    Protocol,
    checked_number,
    field_bounds,
    load_document,
    resolve_protocol,
    validate_protocol,
)

MAX_ARMS = 8
MAX_N = 100_000
MAX_WEEKS = 104


INTEGER = (int, int | None)
NUMERIC = (float, float | None, *INTEGER)


class _Strict(BaseModel):
    """Strict numbers (no booleans, numeric strings, NaN or inf) in every numeric field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _number(cls, value: Any, info) -> Any:
        field = cls.model_fields[info.field_name]
        if field.annotation not in NUMERIC or value is None:
            return value
        low, high = field_bounds(field)
        return checked_number(value, low, high, integer=field.annotation in INTEGER)


class Dose(_Strict):
    """A drug at a daily dose (mg/day; one of the doses of its trials)."""

    name: str
    dose_mg_day: float | None = Field(default=None, ge=0.0, le=10_000.0)

    @model_validator(mode="after")
    def _known(self) -> Dose:
        get_drug(self.name).checked_dose(self.dose_mg_day)
        return self


class Adherence(_Strict):
    """Fraction of exercise sessions done: Beta-distributed between patients (mean, SD),
    and optionally falling over time as patients quit the programme (exponential, half of
    them by ``halflife_weeks``)."""

    mean: float = Field(default=0.68, gt=0.0, le=1.0)
    sd: float = Field(default=0.2, ge=0.0, lt=0.5)
    halflife_weeks: float | None = Field(default=None, gt=0.0, le=1000.0)

    @model_validator(mode="after")
    def _beta(self) -> Adherence:
        if self.mean < 1.0 and self.sd ** 2 >= self.mean * (1.0 - self.mean):
            largest = math.sqrt(self.mean * (1 - self.mean))
            raise ValueError(f"sd ({self.sd:g}) too large for mean {self.mean:g}: a Beta "
                             f"distribution needs sd < {largest:.3f}")
        return self


class Dropout(_Strict):
    """Dropout during treatment.

    rate: share of patients who stop before the end of treatment for reasons other than
        adverse events (constant hazard over the treatment weeks).
    mechanism: ``mcar`` (completely at random) or ``pain`` (the hazard rises by the factor
        ``exp(pain_log_hazard_per_point x (last week's mean pain - baseline))``; the overall
        rate is then only approximately ``rate``).
    adverse_event_rate: share who stop for adverse events, uniformly within the first
        ``adverse_event_weeks`` weeks.
    """

    rate: float = Field(default=0.0, ge=0.0, le=1.0)
    mechanism: Literal["mcar", "pain"] = "mcar"
    pain_log_hazard_per_point: float = Field(default=0.5, ge=0.0, le=5.0)
    adverse_event_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    adverse_event_weeks: float = Field(default=4.0, gt=0.0, le=MAX_WEEKS)

    @model_validator(mode="after")
    def _total(self) -> Dropout:
        if self.rate + self.adverse_event_rate > 1.0:
            raise ValueError("rate + adverse_event_rate must be at most 1")
        return self


class Arm(_Strict):
    """One arm: what its patients receive."""

    name: str = Field(min_length=1, max_length=80)
    control: bool = False
    protocol: str | dict = "sedentary"
    drugs: tuple[Dose, ...] = ()
    interventions: tuple[str, ...] = ()
    weight: float = Field(default=1.0, ge=0.0, le=100.0)
    adherence: Adherence | None = None
    dropout: Dropout = Dropout()
    expectation: float = Field(default=1.0, ge=0.0, le=3.0)

    @field_validator("protocol", mode="after")
    @classmethod
    def _protocol(cls, value: str | dict) -> str | dict:
        if isinstance(value, dict):
            validate_protocol({"name": "arm protocol", **value}, where="protocol")
        return value

    def resolved_protocol(self, base: Path | None) -> Protocol:
        """The arm's programme, starting at randomisation (day 0)."""
        if isinstance(self.protocol, dict):
            return validate_protocol({"name": self.name, **self.protocol})
        spec = self.protocol
        if base is not None and Path(spec).suffix.lower() in (".yaml", ".yml", ".json") \
                and not Path(spec).is_absolute():
            spec = os.fspath(base / spec)
        return resolve_protocol(spec)


class Weeks(_Strict):
    run_in: int = Field(default=1, ge=1, le=12)
    treatment: int = Field(default=12, ge=1, le=MAX_WEEKS)
    follow_up: int = Field(default=0, ge=0, le=MAX_WEEKS)


class Inclusion(_Strict):
    """Who is randomised: the run-in diary mean (0-10) and covariate ranges."""

    baseline_pain_min: float = Field(default=4.0, ge=0.0, le=10.0)
    baseline_pain_max: float = Field(default=10.0, ge=0.0, le=10.0)
    age_min: float | None = Field(default=None, ge=0.0, le=120.0)
    age_max: float | None = Field(default=None, ge=0.0, le=120.0)
    hba1c_min: float | None = Field(default=None, ge=3.0, le=20.0)
    hba1c_max: float | None = Field(default=None, ge=3.0, le=20.0)

    @model_validator(mode="after")
    def _ranges(self) -> Inclusion:
        for name in ("baseline_pain", "age", "hba1c"):
            low, high = getattr(self, f"{name}_min"), getattr(self, f"{name}_max")
            if low is not None and high is not None and low > high:
                raise ValueError(f"{name}_min ({low:g}) is above {name}_max ({high:g})")
        return self


class Diary(_Strict):
    """How patients report: ``noise`` adds day-to-day and slow fluctuations
    (:mod:`exerpain.design.reporting`), ``rounding`` rounds to whole points, ``placebo``
    adds the placebo and expectation response."""

    noise: bool = True
    rounding: bool = True
    placebo: bool = True


class Analysis(_Strict):
    """The primary endpoint (mean of the last ``endpoint_days`` daily ratings before the end
    of treatment, or of follow-up with ``endpoint_at: end_of_follow_up``: what is left of
    the effect after the programme and drugs stop), the estimator, the handling of missing
    data and the significance level."""

    endpoint_days: int = Field(default=7, ge=1, le=28)
    endpoint_at: Literal["end_of_treatment", "end_of_follow_up"] = "end_of_treatment"
    estimator: Literal["ancova", "change"] = "ancova"
    missing: Literal["completers", "locf", "multiple_imputation"] = "locf"
    imputations: int = Field(default=20, ge=2, le=200)
    alpha: float = Field(default=0.05, gt=0.0, lt=0.5)


class TrialDesign(_Strict):
    """A parallel-group randomised trial."""

    name: str = Field(default="trial", max_length=200)
    condition: str
    n_randomised: int = Field(ge=2, le=MAX_N)
    weeks: Weeks = Weeks()
    inclusion: Inclusion = Inclusion()
    arms: tuple[Arm, ...] = Field(min_length=2, max_length=MAX_ARMS)
    diary: Diary = Diary()
    analysis: Analysis = Analysis()
    source: str = ""

    @field_validator("condition", mode="after")
    @classmethod
    def _human(cls, value: str) -> str:
        condition = get_condition(value)
        if condition.species != "human":
            raise ValueError(f"a virtual trial reports NRS diaries, so it needs a human "
                             f"condition; {value!r} is a {condition.species} model")
        return value

    @model_validator(mode="after")
    def _arms(self) -> TrialDesign:
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError("arms: every arm needs its own name")
        controls = [a for a in self.arms if a.control]
        if len(controls) != 1:
            raise ValueError(f"arms: exactly one arm must be the control (control: true); "
                             f"{len(controls)} are")
        if sum(a.weight for a in self.arms) <= 0:
            raise ValueError("arms: the allocation weights must sum to a positive number")
        if self.n_randomised < len(self.arms):
            raise ValueError(f"n_randomised ({self.n_randomised}) is below the number of "
                             f"arms ({len(self.arms)})")
        if self.analysis.endpoint_days > 7 * self.weeks.treatment:
            raise ValueError(f"analysis.endpoint_days ({self.analysis.endpoint_days}) is "
                             f"longer than the treatment ({self.weeks.treatment} weeks)")
        if self.analysis.endpoint_at == "end_of_follow_up" and self.weeks.follow_up == 0:
            raise ValueError("analysis.endpoint_at: end_of_follow_up needs follow-up weeks "
                             "(weeks.follow_up is 0)")
        return self

    @property
    def control(self) -> Arm:
        return next(a for a in self.arms if a.control)

    @property
    def endpoint_day(self) -> int:
        """Last day of the primary endpoint's window (day 0 = randomisation)."""
        if self.analysis.endpoint_at == "end_of_follow_up":
            return self.days
        return 7 * self.weeks.treatment

    @property
    def days(self) -> int:
        """Days from randomisation (day 0) to the end of follow-up."""
        return 7 * (self.weeks.treatment + self.weeks.follow_up)

    def with_n(self, n: int) -> TrialDesign:
        return validated({**self.model_dump(), "n_randomised": n}, "n")

    def null(self) -> TrialDesign:
        """Every arm made identical to the control arm (names and weights kept): the
        analysis's type I error is then its power."""
        control = self.control.model_dump()
        arms = [{**control, "name": a.name, "control": a.control, "weight": a.weight}
                for a in self.arms]
        return validated({**self.model_dump(), "arms": arms}, "null")


def _field(loc: tuple) -> str:
    return ".".join(str(x)[:60] for x in loc)


def validated(data: Any, where: str = "design") -> TrialDesign:
    """A :class:`TrialDesign` from a mapping, or one :class:`InputError` naming the field."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a mapping with the fields "
                         f"{', '.join(TrialDesign.model_fields)}")
    try:
        return TrialDesign.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        kind = first["type"]
        if kind == "extra_forbidden":
            message = "unknown field"
        elif kind == "missing":
            message = "required field is missing"
        else:
            message = first["msg"].removeprefix("Value error, ")
        field = _field(first["loc"]) or "design"
        raise InputError(f"{where}: field {field!r}: {message}") from None
    except InputError as err:  # a drug, dose, condition or protocol refused inside
        raise InputError(f"{where}: {err}") from None


def load_design(path: str | os.PathLike[str]) -> tuple[TrialDesign, Path]:
    """A design from a YAML or JSON file, and the folder relative protocol paths are
    resolved against."""
    path = Path(path)
    data, where = load_document(path, "trial design", "a design nests arms, drugs and "
                                                      "settings a few levels deep")
    return validated(data, where), path.parent


EXAMPLE = """\
# exerpain trial design: painful diabetic neuropathy, aerobic exercise vs usual care.
# Run it with:  exerpain trial this-file.yaml --replicates 200
name: DPN aerobic exercise vs usual care
condition: dpn              # a human condition: dpn or cipn
n_randomised: 120           # patients randomised over all arms (--n overrides)
weeks:
  run_in: 1                 # baseline diary weeks before randomisation
  treatment: 12
  follow_up: 0              # weeks after treatment (the programme stops)
inclusion:                  # who is randomised
  baseline_pain_min: 4      # mean of the last run-in week's daily 0-10 diary
  hba1c_max: 11             # % (optional: age_min, age_max, hba1c_min)
arms:
  - name: usual care
    control: true           # the arm every other arm is compared with
    protocol: sedentary
    dropout: {rate: 0.1}
    expectation: 0.5        # open-label usual care: half the placebo/expectation response
  - name: aerobic exercise
    protocol:               # a preset name, a protocol file, or inline:
      modality: aerobic
      intensity: 0.6        # fraction of VO2max reserve
      minutes_per_session: 40
      sessions_per_week: 3
    adherence: {mean: 0.7, sd: 0.2, halflife_weeks: 26}
    dropout: {rate: 0.15, mechanism: mcar}
    # drugs: [{name: pregabalin, dose_mg_day: 300}]   # beside exercise, if wanted
diary:
  noise: true               # day-to-day and slow fluctuation of ratings
  rounding: true            # whole points, as patients report
  placebo: true             # placebo and expectation response in every arm
analysis:
  endpoint_days: 7          # primary endpoint: mean of the last 7 daily ratings
  estimator: ancova         # change from baseline, adjusted for baseline (or: change)
  missing: locf             # completers, locf, or multiple_imputation
  alpha: 0.05
"""
