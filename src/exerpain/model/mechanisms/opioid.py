"""Endogenous opioid tone (beta-endorphin, enkephalins) in PAG/RVM, with receptors by site.

Exercise analgesia after nerve injury depends on central (supraspinal) opioid receptors:
systemic naloxone, i.c.v. naloxone methiodide and continuous naltrexone abolished it, while
peripheral (s.c. methiodide) or intrathecal (spinal) methiodide did not (Stagg 2011,
doi:10.1097/ALN.0b013e318210f880, PMID 21386701). Mesolimbic dopamine feeds descending opioid
output (serial dependency; VTA silencing offsets exercise analgesia, PMC5140073). Plasma
beta-endorphin rises acutely only at >= ~70% VO2max held for >= ~15 min (Goldfarb 1990,
PMID 2141380; clinical.md section 2): that gated acute signal adds to the tone.

    tone* = (1 + exercise_opioid_gain * chronic + acute_opioid_gain * acute_opioid)
            * max(0, 1 + dopamine_opioid_gain * (vta_activity - 1))
    d tone/dt = k_opioid * (tone* - tone)
    activation(site) = (tone + agonist) * (1 - block(site))
    pain: descending inhibitory(activation(supraspinal)), spinal ..., peripheral ...
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array

from exerpain.model.mechanisms.base import (
    Context,
    Mechanism,
    inhibitory_factor,
    param,
    relax,
    state,
)
from exerpain.model.registry import register

SITES = ("supraspinal", "spinal", "peripheral")


def receptor_activation(c: Context, site: str) -> Array:
    """Opioid receptor activation at ``site`` (fold over healthy tone; 0 when fully blocked).

    Endogenous tone plus exogenous agonism (``mor_agonist``, e.g. tramadol), times the
    unblocked fraction of receptors at that site.
    """
    tone = c.get("opioid.tone") + c.params["opioid"]["agonist_scale"] * c.target("mor_agonist")
    return tone * (1.0 - c.target(f"mor_{site}"))


@register
class Opioid(Mechanism):
    name = "opioid"
    summary = "endogenous opioid tone (beta-endorphin, enkephalins; PAG/RVM) and its receptors"
    states = (state("tone", "endogenous opioid tone in PAG/RVM (beta-endorphin, enkephalins)"),)
    parameters = (
        param("k_opioid", 0.2, "1/day", 0.02, 2.0, "assumed", "peptide content changes over days",
              "relaxation rate of opioid tone"),
        param("exercise_opioid_gain", 0.1, "dimensionless", 0.0, 1.0, "assumed",
              "opioid peptides up in PAG/RVM with exercise (Stagg 2011); the larger part is "
              "routed through VTA dopamine (PMC5140073); size assumed",
              "direct fold increase of tone at full training adaptation"),
        param("acute_opioid_gain", 0.5, "dimensionless", 0.0, 3.0, "assumed",
              "beta-endorphin 4.34 -> 21.91 pmol/l at 80% VO2max (Goldfarb 1990, PMID 2141380) "
              "is plasma, not PAG tone; central fold size assumed",
              "fold increase of tone per daily session above the intensity threshold"),
        param("dopamine_opioid_gain", 0.8, "dimensionless", 0.0, 0.99, "assumed",
              "VTA dopamine silencing 'dramatically offset' exercise analgesia (PMC5140073) "
              "and dopamine drives descending opioid output; size assumed",
              "fold change of opioid tone per fold of VTA activity"),
        param("agonist_scale", 2.0, "fold", 0.0, 10.0, "assumed",
              "a full exogenous mu-agonist action doubles receptor activation over tone",
              "receptor activation added by complete mor_agonist action"),
        param("kappa_opioid", 0.5, "dimensionless", 0.1, 10.0, "assumed",
              "tone-to-inhibition saturation", "strength of opioid inhibition"),
        param("supraspinal_pain_weight", 1.0, "dimensionless", 0.0, 3.0, "assumed",
              "supraspinal receptors carry exercise analgesia (Stagg 2011, i.c.v. methiodide)",
              "exponent of the supraspinal (descending) opioid factor"),
        param("spinal_pain_weight", 0.1, "dimensionless", 0.0, 1.0, "assumed",
              "intrathecal methiodide did not abolish exercise analgesia (Stagg 2011)",
              "exponent of the spinal opioid factor"),
        param("peripheral_pain_weight", 0.1, "dimensionless", 0.0, 1.0, "assumed",
              "s.c. naloxone methiodide did not abolish exercise analgesia (Stagg 2011)",
              "exponent of the peripheral opioid factor"),
    )
    targets = {
        "mor_supraspinal": "opioid receptor blockade in the brain (naloxone i.c.v.)",
        "mor_spinal": "opioid receptor blockade in the spinal cord (intrathecal)",
        "mor_peripheral": "opioid receptor blockade outside the CNS (naloxone methiodide s.c.)",
        "mor_agonist": "exogenous mu-opioid agonism (tramadol)",
    }
    exercise_action = ("raises PAG/RVM opioid tone (chronic, mostly via VTA dopamine) and "
                       "acutely above ~70% VO2max")
    intervention_action = "receptor blockade by site; exogenous agonism"
    pain_contribution = "descending (supraspinal), spinal and peripheral inhibition"

    def derivatives(self, c: Context) -> dict:
        p = self.p(c)
        drive = c.drive(self.name)
        dopamine = jnp.maximum(
            0.0, 1.0 + p["dopamine_opioid_gain"] * (c.get("dopaminergic.vta_activity") - 1.0)
        )
        target = (1.0 + p["exercise_opioid_gain"] * drive.chronic
                  + p["acute_opioid_gain"] * drive.acute_opioid) * dopamine
        return {"tone": relax(p["k_opioid"], target, self.s(c, "tone"))}

    def pain_factors(self, c: Context) -> dict:
        p = self.p(c)
        site_of = {"supraspinal": "descending", "spinal": "spinal", "peripheral": "peripheral"}
        return {
            site_of[s]: inhibitory_factor(
                receptor_activation(c, s), p["kappa_opioid"], p[f"{s}_pain_weight"]
            )
            for s in SITES
        }
