"""Prescription: the programme that does most for one personalised patient, under their
constraints, over their posterior.

Search: every programme of the grid (modality x intensity x minutes per session x sessions
per week, for ``weeks`` weeks from the day after the diary) that meets the constraints is
solved for :data:`PRESCRIPTION_DRAWS` posterior draws (one vmapped solve per candidate
batch). With ``max_weekly_increase``, a programme is reached by weekly steps from the
patient's current weekly minutes (at least :data:`RAMP_START_MINUTES`), each week at most
that fraction above the last (the ramp is part of the candidate's schedule).

Outcome per draw, on the programme's last day, against stopping exercise now: benefit = NRS
(stopped) - NRS (programme), the model's true pain (the placebo response, common to both,
left out); response = benefit / NRS (stopped) >= 30% / 50% (IMMPACT thresholds, as the
cohort engine's responder status). Candidates are ranked by ``objective`` (expected benefit
or P(>= 30%)); the best few are reported with the mechanism each relies on (the most
probable priming mechanism over draws, entry view) beside the guideline programme.
The grid is global and discrete; no gradient refinement of the continuous settings is made.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from exerpain.errors import InputError
from exerpain.model.protocols import Protocol, load_document
from exerpain.patient.history import GUIDELINE, continued_protocol, plan
from exerpain.patient.personalise import (
    Fitted,
    personalised_model,
    priming_probability,
    trajectories,
)
from exerpain.precision import float64

PRESCRIPTION_DRAWS = 32
RELIES_ON_DRAWS = 8
RAMP_START_MINUTES = 60.0  # min/week a ramp starts from when the patient does less (assumed)
TOP = 5


class Constraints(BaseModel):
    """What the patient can do (every field optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    minutes_per_week_max: float = Field(default=300.0, ge=10.0, le=2000.0,
                                        allow_inf_nan=False)
    modalities: tuple[Literal["aerobic", "resistance", "combined", "hiit"], ...] = (
        "aerobic", "resistance", "combined", "hiit")
    intensity_max: float = Field(default=0.9, ge=0.1, le=1.2, allow_inf_nan=False)
    intensity_min: float = Field(default=0.3, ge=0.0, le=1.2, allow_inf_nan=False)
    minutes_options: tuple[float, ...] = (20.0, 30.0, 40.0, 50.0, 60.0)
    sessions_options: tuple[float, ...] = (2.0, 3.0, 4.0, 5.0)
    intensity_step: float = Field(default=0.1, ge=0.01, le=0.5, allow_inf_nan=False)
    weeks: int = Field(default=12, ge=2, le=52)
    max_weekly_increase: float | None = Field(default=None, gt=0.0, le=2.0,
                                              allow_inf_nan=False)
    objective: Literal["expected_benefit", "p_response30"] = "expected_benefit"

    @model_validator(mode="after")
    def _check(self) -> Constraints:
        if not self.modalities:
            raise ValueError("modalities: at least one is needed")
        if self.intensity_min > self.intensity_max:
            raise ValueError(f"intensity_min ({self.intensity_min}) is above intensity_max "
                             f"({self.intensity_max})")
        for name in ("minutes_options", "sessions_options"):
            values = getattr(self, name)
            high = 600.0 if name == "minutes_options" else 14.0
            if not values or any(not 0 < v <= high for v in values):
                raise ValueError(f"{name}: needs values within 0-{high:g} (exclusive of 0)")
        return self


def load_constraints(path: str | Path | None) -> Constraints:
    if path is None:
        return Constraints()
    data, where = load_document(path, "constraints", "constraints are a mapping of fields")
    if not isinstance(data, dict):
        raise InputError(f"{where}: constraints are a mapping of fields")
    try:
        return Constraints(**data)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(x) for x in first["loc"]) or "constraints"
        raise InputError(f"{where}: {field}: {first['msg'].removeprefix('Value error, ')}"
                         ) from None


def candidates(c: Constraints) -> list[Protocol]:
    """Programmes of the grid that meet ``c``."""
    steps = math.floor((c.intensity_max - c.intensity_min) / c.intensity_step + 1e-9)
    intensities = [round(c.intensity_min + k * c.intensity_step, 4) for k in range(steps + 1)]
    out = []
    for modality, intensity, minutes, sessions in itertools.product(
            c.modalities, intensities, c.minutes_options, c.sessions_options):
        if minutes * sessions <= c.minutes_per_week_max + 1e-9:
            out.append(Protocol(name=f"{modality} {intensity:g} x {minutes:g} min x "
                                     f"{sessions:g}/wk", modality=modality,
                                intensity=intensity, minutes_per_session=minutes,
                                sessions_per_week=sessions, species="human"))
    if not out:
        raise InputError("constraints: no programme meets them (minutes_per_week_max "
                         f"{c.minutes_per_week_max:g} is below the smallest session plan "
                         f"{min(c.minutes_options) * min(c.sessions_options):g} min/week, or "
                         "no intensity lies within intensity_min-intensity_max)")
    return out


def ramped(fitted: Fitted, target: Protocol, c: Constraints) -> tuple[Protocol, ...]:
    """The future phases of ``target`` for ``c.weeks`` weeks from the day after the diary,
    ramped by at most ``max_weekly_increase`` a week (module docstring)."""
    start = float(fitted.data.days)
    end = start + 7.0 * c.weeks
    goal = target.minutes_per_session * target.sessions_per_week
    if c.max_weekly_increase is None:
        return (target.with_schedule(start, end),)
    now = continued_protocol(fitted.data.record)
    level = max(RAMP_START_MINUTES, 0.0 if now is None
                else now.minutes_per_session * now.sessions_per_week)
    phases, day = [], start
    while level < goal and day < end - 7.0:
        phases.append(target.model_copy(update={
            "minutes_per_session": level / target.sessions_per_week,
            "start_day": day, "stop_day": day + 7.0}))
        level *= 1.0 + c.max_weekly_increase
        day += 7.0
    # a ramp that cannot reach the target within the weeks stays on its last step
    phases.append(target.model_copy(update={
        "minutes_per_session": min(goal, level) / target.sessions_per_week,
        "start_day": day, "stop_day": end}))
    return tuple(phases)


def evaluate(fitted: Fitted, programmes: list[Protocol], c: Constraints, thetas: np.ndarray
             ) -> list[dict]:
    """Benefit and response of each programme over draws ``thetas``."""
    pm = fitted.pm
    last = fitted.data.days + 7 * c.weeks - 1
    no_placebo = thetas.copy()
    no_placebo[:, -1] = -pm.report.placebo_mean / max(pm.report.placebo_sd, 1e-12)
    base, codes = trajectories(pm, no_placebo, plan(fitted.data, None, float(last + 1)))
    rows = []
    for programme in programmes:
        phases = (*fitted.data.history, *ramped(fitted, programme, c))
        nrs, run_codes = trajectories(pm, no_placebo, phases)
        ok = (codes == 0) & (run_codes == 0)
        benefit = base[ok, last] - nrs[ok, last]
        reduction = benefit / np.maximum(base[ok, last], 1e-9)
        lo, hi = np.percentile(benefit, [5, 95]) if ok.any() else (np.nan, np.nan)
        rows.append({
            "protocol": {"modality": programme.modality, "intensity": programme.intensity,
                         "minutes_per_session": programme.minutes_per_session,
                         "sessions_per_week": programme.sessions_per_week,
                         "weeks": c.weeks, "ramp_weeks": len(phases)
                         - len(fitted.data.history) - 1,
                         "reaches_target": bool(phases[-1].minutes_per_session
                                                >= programme.minutes_per_session - 1e-9)},
            "expected_benefit": float(benefit.mean()), "benefit_ci90": [float(lo), float(hi)],
            "p_response30": float((reduction >= 0.3).mean()),
            "p_response50": float((reduction >= 0.5).mean()),
            "sedentary_nrs": float(base[ok, last].mean()), "failed_draws": int((~ok).sum()),
        })
    return rows


def relies_on(fitted: Fitted, programme: dict, c: Constraints, seed: int) -> dict:
    """The most probable priming mechanism of ``programme`` (entry view) over draws."""
    protocol = Protocol(modality=programme["modality"], intensity=programme["intensity"],
                        minutes_per_session=programme["minutes_per_session"],
                        sessions_per_week=programme["sessions_per_week"], species="human")
    phases = (*fitted.data.history, *ramped(fitted, protocol, c))
    share, _ = priming_probability(fitted.pm, fitted.subset(RELIES_ON_DRAWS), phases, seed)
    best = max(share["entry"], key=lambda k: share["entry"][k])
    return {"mechanism": best, "probability": share["entry"][best]}


@float64
def prescribe(fitted: Fitted, constraints: Constraints, seed: int = 0) -> dict:
    """Ranked recommendations and the guideline programme for one patient (JSON-ready)."""
    programmes = candidates(constraints)
    if fitted.data.days + 7 * constraints.weeks > fitted.pm.fr.days:  # frame too short
        pm = personalised_model(fitted.data.record, fitted.data.condition.name,
                                fitted.pm.model, horizon=7 * constraints.weeks + 1)
        fitted = Fitted(pm, fitted.posterior, fitted.plans)
    thetas = fitted.subset(PRESCRIPTION_DRAWS)
    rows = evaluate(fitted, programmes, constraints, thetas)
    key = constraints.objective
    ranked = sorted(rows, key=lambda r: -np.nan_to_num(r[key], nan=-np.inf))[:TOP]
    for row in ranked:
        row["relies_on"] = relies_on(fitted, row["protocol"], constraints, seed)
    guideline = evaluate(fitted, [GUIDELINE], constraints, thetas)[0]
    guideline["relies_on"] = relies_on(fitted, guideline["protocol"], constraints, seed)
    return {
        "patient_id": fitted.data.record.patient_id, "objective": key,
        "constraints": constraints.model_dump(), "candidates": len(programmes),
        "draws": len(thetas), "recommendations": ranked, "guideline": guideline,
        "outcome": "on the programme's last day, against stopping exercise after the diary; "
                   "NRS points, placebo response left out",
    }
