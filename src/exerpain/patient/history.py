"""A patient record as solver inputs: the days, the sessions as a training schedule, the
observations, and the plans that follow the diary (continued, changed, stopped).

Day 0 is the first diary day. The patient enters at the steady state of the untreated
condition (the model's chronic-patient start, as in the cohort engine), so their diary
before the first session is flat apart from noise.

Sessions become weekly phases (:class:`exerpain.model.protocols.Schedule`): per 7-day block
from day 0 with at least one session, its sessions per week (counted over the block's diary
days), mean minutes, minute-weighted mean intensity and most frequent modality. Within a
week the model averages the load, as it does for any programme.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from exerpain.errors import InputError
from exerpain.model.conditions import Condition, get_condition
from exerpain.model.protocols import Protocol, schedule
from exerpain.model.registry import Model, ModelInputs
from exerpain.patient.record import BIOMARKERS, PatientRecord
from exerpain.population.covariates import covariate_model
from exerpain.population.genotypes import VARIANT_NAMES, VARIANTS
from exerpain.precision import float64
from exerpain.simulate.scenario import Scenario

CONDITIONS = ("dpn", "cipn")
PHASE_BLOCK = 8  # schedules are padded to a multiple of this many phases (compiled shapes)
DAY_BLOCK = 28  # runs are padded to a multiple of this many days (compiled shapes)
CONTINUED_WINDOW = 28  # days: "continued" repeats the programme of the diary's last 4 weeks
# The guideline programme a prescription is compared with: 150 min/week of moderate aerobic
# exercise (WHO 2020 guidelines on physical activity, doi:10.1136/bjsports-2020-102955),
# as 5 x 30 min at 50% of heart-rate reserve (moderate: 40-59% HRR, Garber 2011 ACSM position
# stand, doi:10.1249/MSS.0b013e318213fefb).
GUIDELINE = Protocol(name="guideline 150 min/week moderate aerobic", modality="aerobic",
                     intensity=0.5, minutes_per_session=30.0, sessions_per_week=5.0,
                     species="human", source="WHO 2020; ACSM 2011")


def padded(n: int, block: int) -> int:
    return block * max(1, math.ceil(n / block))


@dataclass(frozen=True)
class PatientData:
    """What the fit reads: observation days and values, the sessions done, covariates."""

    record: PatientRecord
    condition: Condition
    days: int  # diary length (day 0 .. days - 1)
    pain_day: np.ndarray  # (n,) days with a rating
    pain: np.ndarray  # (n,) NRS
    lab_day: np.ndarray  # (m,) days of lab determinations
    lab_state: tuple[str, ...]  # (m,) model state each determination measures
    lab_marker: np.ndarray  # (m,) index of the marker (offsets are per marker)
    lab_log: np.ndarray  # (m,) log of the value
    history: tuple[Protocol, ...]  # weekly phases of the sessions done
    covariates: dict[str, float]
    genotypes: np.ndarray  # (n_variants,) effect-allele copies, -1 unknown

    @property
    def first_session(self) -> float | None:
        return self.history[0].start_day if self.history else None

    @property
    def informative_labs(self) -> int:
        """Determinations beyond the first of each marker (only changes inform)."""
        return int(len(self.lab_day) - len(np.unique(self.lab_marker)))


def weekly_phases(record: PatientRecord) -> tuple[Protocol, ...]:
    """The sessions of ``record`` as weekly phases (module docstring)."""
    by_week: dict[int, list] = {}
    for d in record.diary:
        by_week.setdefault((d.date - record.start).days // 7, []).append(d)
    phases = []
    for week, entries in sorted(by_week.items()):
        sessions = [d for d in entries if d.minutes > 0]
        if not sessions:
            continue
        start = 7 * week
        stop = min(start + 7, record.days)
        covered = max(1, len({(d.date - record.start).days for d in entries}))
        minutes = sum(d.minutes for d in sessions)
        phases.append(Protocol(
            name=f"week {week + 1}", modality=Counter(d.modality for d in sessions)
            .most_common(1)[0][0], intensity=sum(d.intensity * d.minutes for d in sessions)
            / minutes, minutes_per_session=minutes / len(sessions),
            sessions_per_week=min(14.0, 7.0 * len(sessions) / max(covered, 1)),
            start_day=float(start), stop_day=float(stop), species="human"))
    return tuple(phases)


def continued_protocol(record: PatientRecord) -> Protocol | None:
    """The programme of the diary's last :data:`CONTINUED_WINDOW` days (None if no session
    then): sessions per week over the window, mean minutes, minute-weighted intensity."""
    last = record.days - 1
    window = [d for d in record.diary if last - (d.date - record.start).days
              < CONTINUED_WINDOW]
    sessions = [d for d in window if d.minutes > 0]
    if not sessions:
        return None
    span = min(CONTINUED_WINDOW, record.days)
    minutes = sum(d.minutes for d in sessions)
    return Protocol(name="continued", modality=Counter(d.modality for d in sessions)
                    .most_common(1)[0][0],
                    intensity=sum(d.intensity * d.minutes for d in sessions) / minutes,
                    minutes_per_session=minutes / len(sessions),
                    sessions_per_week=min(14.0, 7.0 * len(sessions) / span), species="human")


def patient_data(record: PatientRecord, condition: str) -> PatientData:
    """Observations and sessions of ``record`` for ``condition`` (dpn or cipn)."""
    if condition not in CONDITIONS:
        raise InputError(f"condition: must be one of {', '.join(CONDITIONS)}, got "
                         f"{condition!r}")
    cond = get_condition(condition)
    rated = [d for d in record.diary if d.pain is not None]
    cov = covariate_model(cond.name, cond.kind, None)
    covariates = {"female": 1.0 if record.sex == "female" else 0.0, "age": record.age,
                  "adherence": 1.0}
    for name in ("bmi", "hba1c", "vo2max"):  # not recorded: the population's mean
        value = getattr(record, name)
        spec = getattr(cov, name)
        covariates[name] = float(value if value is not None else
                                 (spec.mean if spec is not None else np.nan))
    genotypes = np.full(len(VARIANTS), -1)
    for variant, label in record.genotypes.items():
        j = VARIANT_NAMES.index(variant)
        genotypes[j] = VARIANTS[j].labels.index(label)
    markers = sorted({lab.name for lab in record.labs})
    return PatientData(
        record=record, condition=cond, days=record.days,
        pain_day=np.array([(d.date - record.start).days for d in rated], dtype=float),
        pain=np.array([d.pain for d in rated], dtype=float),
        lab_day=np.array([(lab.date - record.start).days for lab in record.labs], dtype=float),
        lab_state=tuple(BIOMARKERS[lab.name].state for lab in record.labs),
        lab_marker=np.array([markers.index(lab.name) for lab in record.labs], dtype=int),
        lab_log=np.log([lab.value for lab in record.labs]) if record.labs else np.zeros(0),
        history=weekly_phases(record), covariates=covariates, genotypes=genotypes)


def plan(data: PatientData, future: Protocol | None, until: float) -> tuple[Protocol, ...]:
    """The sessions done, then ``future`` (None: stop) from the day after the diary to
    ``until``; a future phase that begins before the history ends starts where it ends."""
    phases = list(data.history)
    if future is not None and not future.is_sedentary and until > data.days:
        phases.append(future.with_schedule(float(data.days), float(until)))
    return tuple(phases)


@dataclass(frozen=True)
class Frame:
    """Solver frame shared by a patient's runs: the condition's inputs without exercise,
    the start day and state kind, and the padded lengths (compiled shapes)."""

    base: ModelInputs
    t0: float
    onset_jumps: tuple[float, ...]
    steady: bool
    days: int
    phases: int


def frame(model: Model, condition: Condition, days: int, phases: int) -> Frame:
    """A frame of at least ``days`` days and ``phases`` phases (padded)."""
    days = padded(days, DAY_BLOCK)
    prepared = Scenario.create(condition=condition.name, protocol="sedentary",
                               days=days).build(model)
    onset = tuple(float(t) for t in prepared.jump_ts if prepared.t0 < t <= days)
    return Frame(prepared.inputs, float(prepared.t0), onset, prepared.steady_start, days,
                 padded(phases, PHASE_BLOCK))


@float64
def plan_inputs(model: Model, fr: Frame, phases: tuple[Protocol, ...]
                ) -> tuple[ModelInputs, np.ndarray]:
    """Inputs (params from the frame's base; replace them per draw) and the jump days of a
    plan, padded to the frame's shapes."""
    if len(phases) > fr.phases:
        raise InputError(f"schedule: {len(phases)} phases exceed the frame's {fr.phases}")
    sedentary = Protocol(name="none", modality="none", intensity=0.0, minutes_per_session=0.0,
                         sessions_per_week=0.0, start_day=float(fr.days) + 1.0,
                         stop_day=float(fr.days) + 2.0)
    plan_ = schedule(phases or (sedentary,), model.exercise_mechanisms, "human", fr.phases,
                     end=float(fr.days))
    edges = sorted({*fr.onset_jumps, *(t for p in phases for t in (p.start_day, p.stop_day)
                                       if t <= fr.days)})
    jumps = np.full(2 * fr.phases + len(fr.onset_jumps) + 1, float(fr.days) + 10.0)
    jumps[:len(edges)] = edges
    return fr.base._replace(exercise=plan_), jumps

