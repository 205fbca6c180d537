"""Synthetic patients: a virtual patient drawn from the population, their diary, sessions and
labs generated with the noise the fit assumes, and the truth kept beside them.

Per patient (seeded): covariates and genotypes from the condition's population, parameter
deviates ``z`` and placebo deviate ``u`` standard normal (the prior of
:mod:`exerpain.patient.likelihood`); :data:`BASELINE_WEEKS` weeks without exercise, then
:data:`PROGRAMME` with each planned session done with the patient's adherence, minutes and
intensity varying from session to session; each day's rating missing with probability
:data:`MISSING_RATE`; labs (BDNF, IL-6, IL-10) on the first day and the last day of the
diary. The diary is followed by :data:`HOLD_BACK_DAYS` held-back days (sessions continuing
as planned), kept in the truth to check predictions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np

from exerpain.design.reporting import unit_fluctuation
from exerpain.errors import InputError
from exerpain.model.conditions import get_condition
from exerpain.model.protocols import PRESETS
from exerpain.model.registry import Model
from exerpain.patient.history import CONDITIONS, patient_data
from exerpain.patient.likelihood import PatientModel
from exerpain.patient.record import BIOMARKERS, COVARIATES, PatientRecord
from exerpain.population.genotypes import VARIANTS
from exerpain.population.sampling import sample_subjects
from exerpain.precision import float64

BASELINE_WEEKS = 2
HOLD_BACK_DAYS = 14
MISSING_RATE = 0.1
PROGRAMME = PRESETS["aerobic-moderate"]  # 40 min, 60% VO2R, 3 per week
SESSION_DAYS = (0, 2, 4)  # weekdays of the planned sessions
LAB_MARKERS = ("bdnf", "il6", "il10")
START = dt.date(2026, 1, 5)
MIN_WEEKS, MAX_WEEKS = 4, 52


@dataclass(frozen=True)
class Synthetic:
    record: PatientRecord
    truth: dict


def write_synthetic(folder: Path, synthetic: Synthetic) -> None:
    """``diary.csv``, ``labs.csv``, ``bundle.json`` (FHIR R4) and ``truth.json``."""
    from exerpain.patient.fhir import bundle_of
    from exerpain.patient.record import write_csv_record
    from exerpain.storage import write_json

    write_csv_record(synthetic.record, folder)
    write_json(folder / "bundle.json", bundle_of(synthetic.record))
    write_json(folder / "truth.json", synthetic.truth)


def _draw_covariates(condition: str, seed: int) -> tuple[dict, np.ndarray]:
    model = Model.default()
    cond = get_condition(condition)
    subjects = sample_subjects(model, cond, cond.apply(model.default_params()),
                               jax.random.key(seed), np.array([0]))
    cov = {k: float(v[0]) for k, v in subjects.covariates.items()}
    genotypes = np.array([subjects.genotypes[v.name][0] for v in VARIANTS])
    return cov, genotypes


@float64
def simulate_patient(condition: str, seed: int, weeks: int, model: Model | None = None
                     ) -> Synthetic:
    """A synthetic patient with ``weeks`` weeks of diary (module docstring)."""
    if condition not in CONDITIONS:
        raise InputError(f"condition: must be one of {', '.join(CONDITIONS)}, got "
                         f"{condition!r}")
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not (
            MIN_WEEKS <= weeks <= MAX_WEEKS):
        raise InputError(f"weeks: must be an integer within {MIN_WEEKS}-{MAX_WEEKS}, got "
                         f"{weeks!r}")
    model = model or Model.default()
    rng = np.random.default_rng([seed, 12])
    cov, genotypes = _draw_covariates(condition, seed)
    days = 7 * weeks + HOLD_BACK_DAYS
    entries = []
    for day in range(days):
        entry: dict = {"date": START + dt.timedelta(days=day)}
        week, weekday = divmod(day, 7)
        if week >= BASELINE_WEEKS and weekday in SESSION_DAYS and rng.random() < cov[
                "adherence"]:
            entry.update(minutes=float(np.clip(round(rng.normal(
                PROGRAMME.minutes_per_session, 5.0)), 10, 90)), intensity=float(np.clip(
                    round(rng.normal(PROGRAMME.intensity, 0.05), 2), 0.3, 0.9)),
                modality=PROGRAMME.modality)
        entries.append(entry)
    record_fields = {
        "patient_id": f"synthetic-{condition}-{seed}",
        "sex": "female" if cov["female"] > 0.5 else "male", "age": float(round(cov["age"])),
        **{k: float(round(cov[k], 1)) for k in COVARIATES if k != "age"
           and np.isfinite(cov.get(k, np.nan))},
        "genotypes": {v.name: v.labels[int(g)] for v, g in zip(VARIANTS, genotypes,
                                                                 strict=True)},
        "diary": [{k: v for k, v in e.items()} for e in entries],
    }
    full = PatientRecord(**record_fields)
    data = patient_data(full, condition)
    pm = PatientModel.create(data, model)
    z = rng.standard_normal(pm.n_z)
    u = float(rng.standard_normal())
    felt, states, code = pm.outputs(np.append(z, u)[None, :], data.history)
    if int(code[0]) != 0:
        raise RuntimeError(f"synthetic patient {seed}: the solve failed (code {int(code[0])})")
    ys = states[0]
    expected = felt[0, :days]
    r = pm.report
    slow, daily = unit_fluctuation(rng, 1, days, r.slow_days)
    reported = np.rint(np.clip(expected + r.slow_sd * slow[0] + r.daily_sd * daily[0],
                               0.0, 10.0))
    missing = rng.random(days) < MISSING_RATE
    visible = 7 * weeks
    cv = float(pm.base["readout"]["biomarker_noise_cv"])
    names = model.state_names
    labs = []
    for day in (0, visible - 1):
        for marker in LAB_MARKERS:
            state = float(np.asarray(ys)[day, names.index(BIOMARKERS[marker].state)])
            labs.append({"date": START + dt.timedelta(days=day), "name": marker,
                         "value": float(f"{state * np.exp(cv * rng.standard_normal()):.6g}"),
                         "unit": BIOMARKERS[marker].unit})
    diary = []
    for day, entry in enumerate(entries[:visible]):
        if missing[day] and "minutes" not in entry and 0 < day < visible - 1:
            continue  # a missing day is absent (the first and last stay: the labs' days)
        diary.append({**entry, "pain": None if missing[day] else float(reported[day])})
    record = PatientRecord(**{**record_fields, "diary": diary, "labs": labs})
    truth_params = pm.params(z)
    truth = {
        "condition": condition, "seed": seed, "weeks": weeks,
        "z": z.tolist(), "placebo_u": u, "placebo_fraction": float(pm.placebo(u)),
        "parameters": {f"{g}.{n}": float(truth_params[g][n]) for g, n in pm.varied},
        "held_back": [{"day": day, "date": (START + dt.timedelta(days=day)).isoformat(),
                       "pain": float(reported[day]), "expected": float(expected[day])}
                      for day in range(visible, days)],
        "held_back_sessions": [{"day": d, "minutes": entries[d]["minutes"],
                                "intensity": entries[d]["intensity"]}
                               for d in range(visible, days) if "minutes" in entries[d]],
    }
    return Synthetic(record, truth)
