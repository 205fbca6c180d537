"""Read-outs: behavioural and clinical measures as saturating functions of nociceptive drive.

``N`` is the product of all pain factors (1 in health; see :mod:`exerpain.model.registry`).
The relief fraction ``r(N) = (1 + n50**-h) / (1 + (N / n50)**h)`` is 1 in health and falls
sigmoidally as ``N`` rises, so one route alone moves the read-out little while several
together move it a lot (DESIGN.md section 2).

- von Frey paw-withdrawal threshold (g): ``floor + (healthy - floor) * r(N)``, capped at the
  largest filament;
- Hargreaves withdrawal latency (s): same form with its own slope (heat effects are smaller,
  SMD 0.32 vs 0.53 mechanical, Matesanz-Garcia 2023);
- pain NRS 0-10 (humans): ``10 * max(0, q(N) - q(1)) / (1 - q(1))`` with
  ``q(N) = N**h / (N**h + n50**h)``, 0 in health.

These are the true (noise-free) values. :func:`measure` adds the measurement error of one
determination (von Frey up-down threshold, Hargreaves latency, a patient's NRS rating), which
virtual experiments need to reproduce standardised mean differences.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax import Array

from exerpain.model.function import FUNCTION_PARAMETERS
from exerpain.model.mechanisms.base import param

PAIN_READOUT_PARAMETERS = (
    param("vf_healthy_g", 15.0, "g", 0.5, 26.0, "cited",
          "healthy rats reach the top filament, 15.1 g (Chaplan 1994, J Neurosci Methods "
          "53:55-63); mouse value set by the condition",
          "von Frey threshold in health"),
    param("vf_floor_g", 0.41, "g", 0.008, 2.0, "cited",
          "smallest filament 0.41 g (Chaplan 1994); mouse value set by the condition",
          "lowest measurable von Frey threshold"),
    param("vf_cutoff_g", 15.1, "g", 1.0, 26.0, "cited", "largest filament 15.1 g (Chaplan 1994)",
          "von Frey cut-off"),
    param("vf_n50", 3.7060, "dimensionless", 1.05, 10.0, "calibrated",
          "calibrated to the median 2.4 g threshold of neuropathic (SNL) rats (Chaplan 1994) "
          "for the sedentary CCI rat at day 14 (prior centre for exerpain calibrate)",
          "nociceptive drive at half-maximal von Frey threshold"),
    param("vf_hill", 2.5, "dimensionless", 0.5, 6.0, "assumed",
          "steepness of the saturating read-out", "Hill exponent of the von Frey read-out"),
    param("latency_healthy_s", 10.0, "s", 4.0, 20.0, "assumed",
          "lab convention: heat set for ~10 s baseline latency in rats (Hargreaves 1988 method, "
          "PMID 3340425; value from apparatus guidance, not the paper)",
          "Hargreaves latency in health"),
    param("latency_floor_s", 2.0, "s", 0.5, 5.0, "assumed", "reaction-time floor",
          "shortest Hargreaves latency"),
    param("latency_cutoff_s", 20.0, "s", 10.0, 35.0, "assumed",
          "lab convention 20-30 s cut-off to avoid tissue damage", "Hargreaves cut-off"),
    param("latency_hill", 1.5, "dimensionless", 0.5, 6.0, "assumed",
          "heat read-out less steep than mechanical (smaller pooled SMD, Matesanz-Garcia 2023)",
          "Hill exponent of the Hargreaves read-out"),
    param("nrs_n50", 7.3234, "dimensionless", 1.05, 50.0, "calibrated",
          "calibrated to baseline average pain 5.75/10 (mean of 5.9 and 5.6 in two duloxetine "
          "DPN trials, PMC3047984 Table 1) for the sedentary DPN patient at day 0 "
          "(prior centre for exerpain calibrate)", "nociceptive drive at half-maximal pain"),
    param("nrs_hill", 2.0, "dimensionless", 0.5, 6.0, "assumed",
          "steepness of the saturating read-out", "Hill exponent of the NRS read-out"),
    param("vf_noise_log10", 0.224, "log10(g)", 0.02, 0.6, "assumed",
          "SD of one up-down 50% threshold determination, of the order of the mean filament "
          "spacing delta = 0.224 log10 units of the up-down method (Chaplan 1994, J Neurosci "
          "Methods 53:55); the SD itself was not published",
          "measurement error of a von Frey threshold (log10 units)"),
    param("latency_noise_cv", 0.15, "dimensionless", 0.02, 0.6, "assumed",
          "trial-to-trial variation of Hargreaves latencies; size assumed",
          "measurement error of a Hargreaves latency (coefficient of variation)"),
    param("biomarker_noise_cv", 0.3, "dimensionless", 0.05, 1.0, "assumed",
          "between-sample variation of a serum/tissue marker measured once (assay and "
          "day-to-day biology, e.g. serum BDNF, IL-6); size assumed",
          "measurement error of one biomarker determination (coefficient of variation)"),
    param("nrs_noise_sd", 1.0, "NRS points", 0.1, 3.0, "assumed",
          "day-to-day variation of a patient's average pain rating; size assumed",
          "measurement error of one NRS rating (points)"),
)
# The ``readout`` group of the parameter table: pain read-outs, then the functional read-outs
# (SFI, NCV, IENFD; :mod:`exerpain.model.function`).
READOUT_PARAMETERS = (*PAIN_READOUT_PARAMETERS, *FUNCTION_PARAMETERS)


def relief_fraction(drive: Array, n50: Array, hill: Array) -> Array:
    """``r(N)``: 1 in health, below 1 when nociceptive drive rises, above 1 when it falls."""
    return (1.0 + n50 ** (-hill)) / (1.0 + (drive / n50) ** hill)


def withdrawal_threshold_g(drive: Array, p: dict) -> Array:
    """von Frey 50% paw-withdrawal threshold (g)."""
    value = p["vf_floor_g"] + (p["vf_healthy_g"] - p["vf_floor_g"]) * relief_fraction(
        drive, p["vf_n50"], p["vf_hill"])
    return jnp.minimum(value, p["vf_cutoff_g"])


def withdrawal_latency_s(drive: Array, p: dict) -> Array:
    """Hargreaves paw-withdrawal latency (s); the heat read-out shares ``vf_n50``."""
    value = p["latency_floor_s"] + (p["latency_healthy_s"] - p["latency_floor_s"]) * (
        relief_fraction(drive, p["vf_n50"], p["latency_hill"]))
    return jnp.minimum(value, p["latency_cutoff_s"])


def nrs(drive: Array, p: dict) -> Array:
    """Average pain intensity on a 0-10 numeric rating scale (0 in health)."""
    def q(x):
        return x ** p["nrs_hill"] / (x ** p["nrs_hill"] + p["nrs_n50"] ** p["nrs_hill"])

    q1 = q(jnp.asarray(1.0))
    return 10.0 * jnp.maximum(q(jnp.maximum(drive, 0.0)) - q1, 0.0) / (1.0 - q1)


READOUTS = {
    "rodent": {"withdrawal_threshold_g": withdrawal_threshold_g,
               "withdrawal_latency_s": withdrawal_latency_s},
    "human": {"nrs": nrs},
}
PRIMARY_READOUT = {"rodent": "withdrawal_threshold_g", "human": "nrs"}
# +1: a higher read-out means less pain; -1: a higher read-out means more pain.
READOUT_DIRECTION = {"withdrawal_threshold_g": 1.0, "withdrawal_latency_s": 1.0, "nrs": -1.0}


def measure(readout: str, value: Array, p: dict, z: Array) -> Array:
    """One noisy determination of ``readout`` given its true ``value`` and a standard-normal
    draw ``z``: log-normal error for von Frey thresholds (kept within the filament range) and
    Hargreaves latencies (kept below the cut-off), additive error for NRS (kept within 0-10),
    log-normal error for a biomarker (a model state, fold change: ``biomarker_noise_cv``)."""
    if readout == "withdrawal_threshold_g":
        return jnp.clip(value * 10.0 ** (p["vf_noise_log10"] * z), p["vf_floor_g"],
                        p["vf_cutoff_g"])
    if readout == "withdrawal_latency_s":
        return jnp.minimum(value * jnp.exp(p["latency_noise_cv"] * z), p["latency_cutoff_s"])
    if readout == "nrs":
        return jnp.clip(value + p["nrs_noise_sd"] * z, 0.0, 10.0)
    if "." in readout:
        return value * jnp.exp(p["biomarker_noise_cv"] * z)
    raise KeyError(readout)


def healthy_value(readout: str, readout_params: dict) -> float:
    """The read-out in health (nociceptive drive 1)."""
    for fns in READOUTS.values():
        if readout in fns:
            return float(fns[readout](np.float64(1.0), readout_params))
    raise KeyError(readout)


def benefit(readout: str, exercise, sedentary):
    """Improvement of ``exercise`` over ``sedentary`` in read-out units, positive = less pain."""
    return READOUT_DIRECTION[readout] * (exercise - sedentary)


# Responder status (IMMPACT: >= 30% / >= 50% reduction) is a ratio over the subject's deficit
# from health, which is undefined where there is (almost) no deficit, as in sham or healthy
# subjects. Below these minimal deficits the status is undefined (null), not "responder".
# Rodents: a sedentary deficit below 10% of the read-out's healthy-to-floor range (1.46 g for
# rat von Frey thresholds, 15 -> 0.41 g) lies within one filament step of the up-down method
# (0.224 log10 units, Chaplan 1994, J Neurosci Methods 53:55), so a fraction of it cannot be
# measured; the 10% itself is a modelling choice (assumed).
MIN_DEFICIT_FRACTION = 0.1
# Humans: a sedentary NRS below 1 point (healthy 0) is below the scale's resolution (integer
# ratings) and the day-to-day error of one rating (``nrs_noise_sd`` 1 point): a 30% reduction
# of it would be under 0.3 points. Neuropathic-pain trials enrol patients with average pain
# well above this (e.g. >= 4/10); the 1-point limit is a modelling choice (assumed).
MIN_SEDENTARY_NRS = 1.0
READOUT_FLOOR = {"withdrawal_threshold_g": "vf_floor_g", "withdrawal_latency_s": "latency_floor_s"}


def minimal_deficit(readout: str, readout_params: dict) -> float:
    """Smallest deficit from health (read-out units) over which responder status is defined:
    ``MIN_DEFICIT_FRACTION`` of the healthy-to-floor range (rodent read-outs) or
    ``MIN_SEDENTARY_NRS`` points (NRS)."""
    if readout == "nrs":
        return MIN_SEDENTARY_NRS
    floor = readout_params[READOUT_FLOOR[readout]]
    return MIN_DEFICIT_FRACTION * (healthy_value(readout, readout_params) - floor)


def relative_reduction(readout: str, exercise, sedentary, healthy) -> np.ndarray:
    """IMMPACT-style reduction relative to the same subject's sedentary value: the fraction of
    the sedentary deficit from health that exercise removes (for NRS, healthy 0: the NRS fall
    as a fraction of the sedentary NRS). NaN where the deficit is 0."""
    gain = np.asarray(benefit(readout, exercise, sedentary), dtype=float)
    deficit = np.asarray(benefit(readout, healthy, sedentary), dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return gain / deficit


def responder_defined(readout: str, sedentary, healthy, readout_params: dict) -> np.ndarray:
    """Whether responder status is defined: the sedentary deficit from health reaches
    :func:`minimal_deficit` (False for NaN values, e.g. failed runs)."""
    deficit = np.asarray(benefit(readout, healthy, sedentary), dtype=float)
    with np.errstate(invalid="ignore"):
        return deficit >= minimal_deficit(readout, readout_params)


def responder_status(readout: str, exercise, sedentary, healthy, readout_params: dict
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(responder30, responder50, defined)``: reduction >= 30% / >= 50% of the sedentary
    deficit, and where that status is defined (elsewhere the first two are meaningless and
    are reported as null)."""
    reduction = relative_reduction(readout, exercise, sedentary, healthy)
    defined = responder_defined(readout, sedentary, healthy, readout_params)
    with np.errstate(invalid="ignore"):
        return (reduction >= 0.3) & defined, (reduction >= 0.5) & defined, defined
