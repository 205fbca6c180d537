"""Drugs used beside exercise: dose, titration and action on the model's targets.

A drug acts on one or more pharmacological targets declared by the mechanism modules
(:mod:`exerpain.model.mechanisms`) as a fraction 0..1 of complete action. Its action at a
steady daily dose ``d`` (mg/day) is an Emax function of dose,

    a(d) = emax * d / (d + ed50),

shared by all its targets in the proportions ``targets`` (duloxetine: reuptake inhibition
of serotonin and noradrenaline, ``sert_inhibition``; tramadol: mu agonism and reuptake
inhibition). Exposure builds up linearly over the titration period of its trials and then
stays at steady state (:class:`DosingInputs`): "a simple pharmacokinetic input (onset and
titration as in the trials, steady exposure after)". Days-scale absorption and elimination
(half-lives of hours) are not resolved; the model runs on days.

``emax`` and ``ed50`` are calibrated to the drug's placebo-controlled trials in painful
diabetic neuropathy through virtual trials (:mod:`exerpain.design.drug_calibration`, shipped
in ``data/drugs.json``), ``ed50`` under a log-normal prior around its declared value: where
the trials tested one dose, the shape of the dose-response rests on that prior (its
provenance says so). Tramadol is not calibrated (see its ``emax``). Combinations with
exercise follow from the model: exercise and the drug act on the same states, nothing is
added by rule.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import NamedTuple

import jax.numpy as jnp
from jax import Array

from exerpain.errors import InputError
from exerpain.model.mechanisms.base import param
from exerpain.model.parameters import Parameter

FILE = "drugs.json"
AT_BOUND = 0.99  # an emax fitted above this sits at its bound (reported in its provenance)
NO_DRUG_DAY = 1.0e4  # day; start and stop of a run without drugs (after every run ends)


@dataclass(frozen=True)
class Drug:
    """A drug: its targets, the doses its trials tested and its dose-action parameters.

    targets: target -> share of the drug's action on it (1 for the main target).
    doses_mg_day: the daily doses of its placebo-controlled DPN trials (allowed doses).
    usual_dose_mg_day: the dose used when none is given.
    titration_days: days from the first dose to full steady exposure, as in its trials.
    emax, ed50: :class:`Parameter` (dimensionless; mg/day).
    """

    name: str
    description: str
    targets: dict[str, float]
    doses_mg_day: tuple[float, ...]
    usual_dose_mg_day: float
    titration_days: float
    titration_source: str
    emax: Parameter
    ed50: Parameter

    def action(self, dose_mg_day: float, emax: float | None = None,
               ed50: float | None = None) -> float:
        """Fraction of complete action on the main target at steady exposure."""
        e = self.emax.value if emax is None else emax
        k = self.ed50.value if ed50 is None else ed50
        return e * dose_mg_day / (dose_mg_day + k)

    def checked_dose(self, dose: float | None) -> float:
        """``dose`` (mg/day) if its trials tested it (the usual dose if ``None``)."""
        if dose is None:
            return self.usual_dose_mg_day
        if isinstance(dose, bool) or not isinstance(dose, (int, float)) or not any(
                abs(float(dose) - d) < 1e-9 for d in self.doses_mg_day):
            allowed = ", ".join(f"{d:g}" for d in self.doses_mg_day)
            raise InputError(f"dose: {self.name} is modelled at the doses of its trials "
                             f"({allowed} mg/day), not {dose!r}")
        return float(dose)


def _emax(name: str, value: float, provenance: str) -> Parameter:
    return param(f"{name}_emax", value, "dimensionless", 0.0, 1.0, "calibrated", provenance,
                 f"largest fraction of complete action of {name} on its main target")


def _ed50(name: str, value: float, low: float, high: float, kind: str, provenance: str
          ) -> Parameter:
    return param(f"{name}_ed50", value, "mg/day", low, high, kind, provenance,
                 f"daily dose of {name} giving half its largest action")


_DECLARED = (
    Drug("pregabalin", "alpha-2-delta ligand", {"a2d": 1.0}, (75.0, 150.0, 300.0, 600.0), 300.0,
         7.0, "assumed: full dose within the first week (trial titration schedules not "
              "retrieved)",
         _emax("pregabalin", 0.4, "prior centre; calibrated to the pregabalin DPN trials"),
         _ed50("pregabalin", 150.0, 10.0, 2000.0, "calibrated",
               "prior centre (the lowest tested dose); calibrated to the dose arms of the "
               "pregabalin DPN trials")),
    Drug("gabapentin", "alpha-2-delta ligand", {"a2d": 1.0},
         (900.0, 1200.0, 1800.0, 2400.0, 3000.0, 3600.0), 3600.0, 28.0,
         "titrated over 4 weeks to 3600 mg/day or the largest tolerated dose (Backonja "
         "1998, doi:10.1001/jama.280.21.1831; evidence/data/TRIALS.md)",
         _emax("gabapentin", 0.3, "prior centre; calibrated to the gabapentin DPN trial"),
         _ed50("gabapentin", 1200.0, 100.0, 10000.0, "assumed",
               "assumed: the smallest dose usually called effective (one trial dose only)")),
    Drug("duloxetine", "serotonin-noradrenaline reuptake inhibitor", {"sert_inhibition": 1.0},
         (60.0, 120.0), 60.0, 7.0,
         "assumed: full effect of 60 mg once daily within a week",
         _emax("duloxetine", 0.6, "prior centre; calibrated to the duloxetine DPN trials"),
         _ed50("duloxetine", 30.0, 5.0, 300.0, "assumed",
               "assumed: half the usual dose (the trials with 0-10 differences found test "
               "60 mg only)")),
    Drug("tramadol", "weak mu-opioid agonist and monoamine reuptake inhibitor",
         {"mor_agonist": 1.0, "sert_inhibition": 1.0}, (200.0, 400.0), 200.0, 14.0,
         "assumed: two weeks to the trial's mean dose of 210 mg/day (Harati 1998, "
         "doi:10.1212/wnl.50.6.1842, titration schedule not retrieved)",
         param("tramadol_emax", 0.3, "dimensionless", 0.0, 1.0, "assumed",
               "assumed, not calibrated: its DPN trial (Harati 1998) reported a 0-4 scale "
               "without arm means in the sources found",
               "largest fraction of complete action of tramadol on its targets"),
         _ed50("tramadol", 100.0, 10.0, 1000.0, "assumed",
               "assumed: half the trial's mean dose (one trial dose only)")),
    Drug("alpha-lipoic-acid", "antioxidant (thioctic acid)", {"antioxidant_supplement": 1.0},
         (600.0, 1200.0, 1800.0), 600.0, 1.0,
         "assumed: the full oral dose from the first day, as in SYDNEY 2 (Ziegler 2006, "
         "doi:10.2337/dc06-0216)",
         _emax("alpha-lipoic-acid", 0.4,
               "prior centre; calibrated to the alpha-lipoic acid DPN trials"),
         _ed50("alpha-lipoic-acid", 300.0, 10.0, 5000.0, "calibrated",
               "prior centre (half the lowest tested dose); calibrated to the dose arms of "
               "SYDNEY 2")),
    Drug("oxycodone", "mu-opioid agonist (controlled release)", {"mor_agonist": 1.0}, (37.0,),
         37.0, 14.0,
         "dose raised every 3 days as needed to a mean 37 mg/day (Gimbel 2003, Neurology "
         "60:927; evidence/data/TRIALS.md); two weeks assumed",
         _emax("oxycodone", 0.2, "prior centre; calibrated to the oxycodone DPN trial"),
         _ed50("oxycodone", 20.0, 2.0, 200.0, "assumed",
               "assumed: about half the trial's mean dose (one trial dose only)")),
)


@cache
def shipped_fit() -> dict:
    """The shipped drug calibration (``{drug: {"emax": x, "ed50": y, ...}}``; empty if none)."""
    path = resources.files("exerpain.model") / "data" / FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def _calibrated(drug: Drug) -> Drug:
    fit = shipped_fit().get("drugs", {}).get(drug.name)
    if not fit:
        return drug
    where = f"calibrated to {', '.join(fit['fitted_to'])} (data/{FILE})"
    bound = ("; at its upper bound: the model reaches the trials' effect only with complete "
             "action on the target" if fit["emax"] > AT_BOUND else "")
    emax = Parameter(drug.emax.name, fit["emax"], drug.emax.unit, drug.emax.low,
                     drug.emax.high, "calibrated", where + bound, drug.emax.description)
    ed50 = drug.ed50
    if "ed50" in fit:
        shape = ("" if fit.get("doses_fitted", 2) >= 2 else
                 "; one dose tested, so the dose-response shape rests on the prior "
                 f"(log-normal around {ed50.value:g} mg/day, SD 1 on the log scale)")
        ed50 = Parameter(ed50.name, fit["ed50"], ed50.unit, ed50.low, ed50.high,
                         "calibrated", where + shape, ed50.description)
    return Drug(drug.name, drug.description, drug.targets, drug.doses_mg_day,
                drug.usual_dose_mg_day, drug.titration_days, drug.titration_source, emax, ed50)


@cache
def drugs() -> dict[str, Drug]:
    """Every drug, with the shipped calibration applied."""
    return {d.name: _calibrated(d) for d in _DECLARED}


def declared_drug(name: str) -> Drug:
    """A drug with its declared values (the calibration's prior centres)."""
    for drug in _DECLARED:
        if drug.name == name:
            return drug
    raise InputError(f"drug: unknown name {name!r}; allowed: {', '.join(drugs())}")


def get_drug(name: str) -> Drug:
    try:
        return drugs()[name]
    except KeyError:
        raise InputError(f"drug: unknown name {name!r}; allowed: {', '.join(drugs())}") from None


class DosingInputs(NamedTuple):
    """Drugs of one run as solver arrays (a vmappable pytree).

    fraction: target -> steady-state action (0..1) of the run's drugs combined.
    titration: target -> days to reach it (linear build-up from ``start``).
    start, stop: first and last-plus-one day of dosing (day).
    """

    fraction: dict
    titration: dict
    start: Array
    stop: Array


def no_dosing(target_names: Iterable[str]) -> DosingInputs:
    """Inputs of a run without drugs (the same shapes as a run with them)."""
    names = tuple(target_names)
    return DosingInputs({t: jnp.asarray(0.0) for t in names},
                        {t: jnp.asarray(1.0) for t in names},
                        jnp.asarray(NO_DRUG_DAY), jnp.asarray(NO_DRUG_DAY + 1.0))


def dosing_inputs(regimen: Iterable[tuple[str, float | None]], start: float, stop: float,
                  target_names: Iterable[str], emax: dict[str, float] | None = None,
                  ed50: dict[str, float] | None = None) -> DosingInputs:
    """Dosing of ``regimen`` (drug name, dose in mg/day or ``None`` for the usual dose) from
    day ``start`` to ``stop``. Drugs on one target combine as independent actions
    (``1 - prod(1 - a_i)``); the target's titration is the longest of its drugs'.
    ``emax``/``ed50`` override the shipped values by drug name (calibration)."""
    names = tuple(target_names)
    remaining = {t: 1.0 for t in names}
    titration = {t: 1.0 for t in names}
    for name, dose in regimen:
        drug = get_drug(name)
        a = drug.action(drug.checked_dose(dose), (emax or {}).get(name), (ed50 or {}).get(name))
        for target, share in drug.targets.items():
            if target not in remaining:
                raise InputError(f"drug {name!r}: target {target!r} is not in the model")
            remaining[target] = remaining[target] * (1.0 - a * share)
            titration[target] = max(titration[target], drug.titration_days)
    if not stop > start:
        raise InputError(f"dosing: the last day ({stop:g}) must be after the first ({start:g})")
    return DosingInputs({t: 1.0 - jnp.asarray(r) for t, r in remaining.items()},
                        {t: jnp.asarray(float(d)) for t, d in titration.items()},
                        jnp.asarray(float(start)), jnp.asarray(float(stop)))


def exposure(t: Array, dosing: DosingInputs, target: str) -> Array:
    """Fraction of steady exposure at day ``t``: 0 before ``start``, a linear build-up over
    the titration days, 1 until ``stop``, 0 after."""
    ramp = jnp.clip((t - dosing.start) / dosing.titration[target], 0.0, 1.0)
    return jnp.where(t < dosing.stop, ramp, 0.0)


def effective_targets(t: Array, targets: dict, dosing: DosingInputs | None) -> dict:
    """Action on every target at day ``t``: the run's constant interventions (blockades,
    drugs given for the whole run) combined with its dosed drugs as independent actions."""
    if dosing is None:
        return targets
    return {name: 1.0 - (1.0 - a) * (1.0 - dosing.fraction[name] * exposure(t, dosing, name))
            for name, a in targets.items()}


def drug_parameters() -> tuple[tuple[str, Parameter], ...]:
    """``("pharmacology", Parameter)`` rows of every drug (for tables and reports)."""
    return tuple(("pharmacology", p) for d in drugs().values() for p in (d.emax, d.ed50))
