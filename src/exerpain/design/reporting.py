"""What a patient reports: a daily 0-10 pain diary made from the model's true NRS.

For patient ``i`` on day ``t`` (day 0 = randomisation)::

    reported = round(clip(true_i(t) * (1 - placebo_i(t)) + slow_i(t) + daily_it, 0, 10))

- ``true_i(t)``: the model's average pain (:func:`exerpain.model.readouts.nrs`);
- ``placebo_i(t) = p_i * expectation_arm * (1 - exp(-t / placebo_onset_days))`` for
  ``t >= 0``: the placebo and expectation response, a fraction of the pain, in every arm
  (``expectation`` 1 in a blinded arm; a design may lower it for open-label usual care).
  ``p_i`` is normal between patients (``placebo_fraction_mean``, ``placebo_fraction_sd``),
  calibrated to the placebo arms of painful-DPN drug trials
  (:mod:`exerpain.design.drug_calibration`);
- ``slow_i(t)``: a slow fluctuation of the patient's pain, a stationary AR(1) process with
  SD ``diary_slow_sd`` and correlation time ``diary_slow_days``. Screening on a run-in mean
  selects patients whose fluctuation was high then, so their pain falls afterwards in every
  arm: regression to the mean, created by the inclusion rule, not added;
- ``daily_it``: day-to-day error of one rating, SD ``readout.nrs_noise_sd``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from exerpain.model.mechanisms.base import param
from exerpain.model.parameters import Parameter

REPORTING_PARAMETERS: tuple[Parameter, ...] = (
    param("placebo_fraction_mean", 0.2, "dimensionless", -0.2, 0.6, "calibrated",
          "prior centre; calibrated to the placebo-arm pain change of painful-DPN drug "
          "trials (data/drugs.json)",
          "mean placebo and expectation response, as a fraction of the patient's pain"),
    param("placebo_fraction_sd", 0.25, "dimensionless", 0.0, 1.0, "calibrated",
          "prior centre; calibrated to the placebo-arm >= 50% responder rate of painful-DPN "
          "trials (data/drugs.json)",
          "between-patient SD of the placebo response fraction"),
    param("placebo_onset_days", 7.0, "day", 0.5, 42.0, "assumed",
          "placebo responses in neuropathic-pain trials appear within the first weeks of "
          "treatment; time constant assumed", "time constant of the placebo response"),
    param("diary_slow_sd", 0.8, "NRS points", 0.0, 3.0, "calibrated",
          "prior centre; calibrated to the SD of change of placebo arms of painful-DPN "
          "trials (data/drugs.json)",
          "SD of the slow fluctuation of daily pain"),
    param("diary_slow_days", 14.0, "day", 1.0, 120.0, "assumed",
          "correlation time of the slow fluctuation; assumed",
          "correlation time of the slow fluctuation of daily pain"),
)
DEFAULTS = {p.name: p.value for p in REPORTING_PARAMETERS}


def reporting_parameters() -> tuple[tuple[str, Parameter], ...]:
    """``("reporting", Parameter)`` rows with the shipped placebo fit applied."""
    from exerpain.model.pharmacology import shipped_fit

    fitted = shipped_values()
    rows = []
    for p in REPORTING_PARAMETERS:
        if p.name in fitted:
            where = ", ".join(shipped_fit()["placebo"]["fitted_to"])
            p = Parameter(p.name, fitted[p.name], p.unit, p.low, p.high, "calibrated",
                          f"calibrated to {where} (model/data/drugs.json)", p.description)
        rows.append(("reporting", p))
    return tuple(rows)


def shipped_values() -> dict:
    """The placebo fit shipped with the drug calibration (``model/data/drugs.json``)."""
    from exerpain.model.pharmacology import shipped_fit

    placebo = shipped_fit().get("placebo", {})
    return {k: placebo[k] for k in DEFAULTS if k in placebo}


@dataclass(frozen=True)
class Reporting:
    """Noise and placebo settings of one trial (values of :data:`REPORTING_PARAMETERS` and
    the daily error ``nrs_noise_sd``); switches from the design's ``diary`` section."""

    daily_sd: float
    slow_sd: float
    slow_days: float
    placebo_mean: float
    placebo_sd: float
    placebo_onset_days: float
    noise: bool = True
    rounding: bool = True
    placebo: bool = True

    @classmethod
    def from_values(cls, nrs_noise_sd: float, values: dict | None = None, noise: bool = True,
                    rounding: bool = True, placebo: bool = True) -> Reporting:
        v = {**DEFAULTS, **shipped_values(), **(values or {})}
        return cls(nrs_noise_sd, v["diary_slow_sd"], v["diary_slow_days"],
                   v["placebo_fraction_mean"], v["placebo_fraction_sd"],
                   v["placebo_onset_days"], noise, rounding, placebo)


def placebo_fractions(rng: np.random.Generator, n: int, r: Reporting) -> np.ndarray:
    """Each patient's placebo response ``p_i`` (fraction of pain; kept within -0.5..0.95)."""
    if not r.placebo:
        return np.zeros(n)
    return np.clip(r.placebo_mean + r.placebo_sd * rng.standard_normal(n), -0.5, 0.95)


def unit_fluctuation(rng: np.random.Generator, n: int, days: int, slow_days: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(n, days) standard stationary AR(1) paths (correlation time ``slow_days``) and
    standard daily errors; :func:`fluctuation` scales them."""
    phi = np.exp(-1.0 / slow_days)
    slow = np.empty((n, days))
    slow[:, 0] = rng.standard_normal(n)
    shocks = rng.standard_normal((n, days)) * np.sqrt(1.0 - phi ** 2)
    for t in range(1, days):
        slow[:, t] = phi * slow[:, t - 1] + shocks[:, t]
    return slow, rng.standard_normal((n, days))


def fluctuation(rng: np.random.Generator, n: int, days: int, r: Reporting) -> np.ndarray:
    """(n, days) slow AR(1) fluctuation plus daily rating error (zeros without noise)."""
    if not r.noise:
        return np.zeros((n, days))
    slow, daily = unit_fluctuation(rng, n, days, r.slow_days)
    return r.slow_sd * slow + r.daily_sd * daily


def report(true_nrs: np.ndarray, day: np.ndarray, placebo: np.ndarray, expectation: np.ndarray,
           noise: np.ndarray, r: Reporting) -> np.ndarray:
    """Reported daily ratings (n, days) from the true NRS (n, days) on days ``day``.

    ``placebo``: (n,) each patient's response; ``expectation``: (n,) of their arm;
    ``noise``: :func:`fluctuation`."""
    onset = np.where(day >= 0, -np.expm1(-np.maximum(day, 0) / r.placebo_onset_days), 0.0)
    felt = true_nrs * (1.0 - (placebo * expectation)[:, None] * onset[None, :])
    value = np.clip(felt + noise, 0.0, 10.0)
    return np.rint(value) if r.rounding else value
