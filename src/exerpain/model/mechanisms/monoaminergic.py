"""Descending monoaminergic inhibition: serotonin (and noradrenaline) and the transporter SERT.

Supraspinal opioid activation in PAG/RVM disinhibits descending serotonergic/noradrenergic
output (serial dependency). Exercise raises brainstem serotonin (Bobinski 2015, named as the
mechanism) and normalises the insult-induced rise of SERT in the RVM (Brito 2017,
doi:10.1097/pr9.0000000000000618). PCPA blocks synthesis (tryptophan hydroxylase);
duloxetine and tramadol inhibit reuptake.

    sert* = (1 + sert_per_damage * damage) / (1 + exercise_sert_gain * chronic)
    d sert/dt = k_sert * (sert* - sert)
    release = (1 + exercise_serotonin_gain * chronic) * (1 + opioid_serotonin_gain * (a_supra - 1))
    clearance = (1 - sert_share) + sert_share * sert * (1 - sert_inhibition)
    d serotonin/dt = k_serotonin * ((1 - tph) * release / clearance - serotonin)
    descending pain factor = inhibitory(serotonin, kappa_serotonin, serotonin_pain_weight)
"""

from __future__ import annotations

import jax.numpy as jnp

from exerpain.model.mechanisms.base import (
    Context,
    Mechanism,
    inhibitory_factor,
    param,
    relax,
    state,
)
from exerpain.model.mechanisms.opioid import receptor_activation
from exerpain.model.registry import register


@register
class Monoaminergic(Mechanism):
    name = "monoaminergic"
    summary = "descending serotonin/noradrenaline tone and the serotonin transporter (SERT)"
    states = (
        state("serotonin", "dorsal-horn serotonin/noradrenaline from descending fibres"),
        state("sert", "serotonin transporter (SERT) in RVM"),
    )
    parameters = (
        param("k_serotonin", 0.3, "1/day", 0.03, 3.0, "assumed", "days",
              "relaxation rate of descending monoamine tone"),
        param("k_sert", 0.1, "1/day", 0.01, 1.0, "assumed", "transporter expression over weeks",
              "relaxation rate of SERT"),
        param("sert_per_damage", 0.5, "dimensionless", 0.0, 3.0, "assumed",
              "insult raised RVM SERT (Brito 2017, muscle pain); size assumed",
              "fold rise of SERT per unit damage"),
        param("exercise_sert_gain", 0.3, "dimensionless", 0.0, 1.0, "assumed",
              "exercise normalised SERT (Brito 2017); size assumed",
              "relative SERT reduction at full training adaptation"),
        param("exercise_serotonin_gain", 0.2, "dimensionless", 0.0, 1.0, "assumed",
              "brainstem serotonin named as mechanism (Bobinski 2015); size assumed",
              "fold increase of serotonin release at full training adaptation"),
        param("opioid_serotonin_gain", 0.5, "dimensionless", 0.0, 0.99, "assumed",
              "PAG/RVM opioids disinhibit descending output (serial); size assumed",
              "fold change of release per fold of supraspinal opioid activation"),
        param("sert_share", 0.8, "fraction", 0.3, 0.95, "assumed",
              "most extracellular 5-HT is cleared by SERT", "fraction of clearance by SERT"),
        param("kappa_serotonin", 1.0, "dimensionless", 0.1, 10.0, "assumed",
              "tone-to-inhibition saturation", "strength of descending monoamine inhibition"),
        param("serotonin_pain_weight", 0.8, "dimensionless", 0.0, 3.0, "assumed",
              "descending 5-HT/NA inhibition; size assumed",
              "exponent of the descending monoamine factor"),
    )
    targets = {
        "tph": "serotonin synthesis (tryptophan hydroxylase) inhibition (PCPA)",
        "sert_inhibition": "monoamine reuptake inhibition (duloxetine, tramadol)",
    }
    exercise_action = "raises descending serotonin release and lowers SERT (chronic)"
    intervention_action = "PCPA blocks synthesis; SNRIs inhibit reuptake"
    pain_contribution = "descending inhibition"

    def derivatives(self, c: Context) -> dict:
        p = self.p(c)
        drive = c.drive(self.name)
        sert = self.s(c, "sert")
        sert_target = ((1.0 + p["sert_per_damage"] * c.get("injury.damage", 0.0))
                       / (1.0 + p["exercise_sert_gain"] * drive.chronic))
        opioid = jnp.maximum(
            0.0, 1.0 + p["opioid_serotonin_gain"]
            * (receptor_activation(c, "supraspinal") - 1.0)
        )
        release = (1.0 + p["exercise_serotonin_gain"] * drive.chronic) * opioid
        clearance = (1.0 - p["sert_share"]) + p["sert_share"] * sert * (
            1.0 - c.target("sert_inhibition"))
        target = (1.0 - c.target("tph")) * release / clearance
        return {
            "serotonin": relax(p["k_serotonin"], target, self.s(c, "serotonin")),
            "sert": relax(p["k_sert"], sert_target, sert),
        }

    def pain_factors(self, c: Context) -> dict:
        p = self.p(c)
        return {"descending": inhibitory_factor(
            self.s(c, "serotonin"), p["kappa_serotonin"], p["serotonin_pain_weight"])}
