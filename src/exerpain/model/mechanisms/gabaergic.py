"""Spinal GABAergic inhibition: KCC2 (chloride extrusion) and GAD65/67 (GABA synthesis).

Spinal BDNF acting on TrkB lowers KCC2 and turns GABA-A inhibition weak (chloride
dysregulation); injury and ROS reduce GAD. Exercise prevents the fall of GAD65/67 and GABA
(Kami, Mol Pain, pSNL) and keeps the KCC2/NKCC1 balance (Lopez-Alvarez 2015,
doi:10.1097/j.pain.0000000000000268).

    d kcc2/dt = k_kcc2 * ((1 + kappa_bdnf) / (1 + kappa_bdnf * bdnf_spinal * (1 - trkb)) - kcc2)
    d gad/dt  = k_gad * ((1 + exercise_gad_gain * chronic)
                         / (1 + gad_per_damage * damage + gad_per_ros * max(ros - 1, 0)) - gad)
    spinal pain factor = inhibitory(kcc2 * gad * (1 - gabaa), kappa_gaba, gaba_pain_weight)
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
from exerpain.model.registry import register


@register
class Gabaergic(Mechanism):
    name = "gabaergic"
    summary = "spinal inhibition: KCC2 chloride extrusion and GAD65/67 GABA synthesis"
    states = (
        state("kcc2", "dorsal-horn KCC2 (chloride gradient for GABA-A inhibition)"),
        state("gad", "dorsal-horn GAD65/67 (GABA synthesis)"),
    )
    parameters = (
        param("k_kcc2", 0.1, "1/day", 0.01, 1.0, "assumed", "transporter turnover over days",
              "relaxation rate of KCC2"),
        param("kappa_bdnf", 1.0, "dimensionless", 0.1, 5.0, "assumed",
              "BDNF-TrkB lowers KCC2 (Coull 2005 mechanism, named in Grace 2016); size assumed",
              "sensitivity of KCC2 to spinal BDNF"),
        param("k_gad", 0.05, "1/day", 0.005, 0.5, "assumed", "interneuron/enzyme change over weeks",
              "relaxation rate of GAD"),
        param("exercise_gad_gain", 0.3, "dimensionless", 0.0, 1.0, "assumed",
              "direction: running prevented GAD65/67 loss (Kami, Mol Pain); size assumed",
              "fold increase of GAD at full training adaptation"),
        param("gad_per_damage", 0.5, "dimensionless", 0.0, 3.0, "assumed",
              "GABA/GAD fall after pSNL (Kami, Mol Pain); size assumed",
              "relative GAD loss per unit damage"),
        param("gad_per_ros", 0.3, "dimensionless", 0.0, 2.0, "assumed",
              "oxidative stress damages GABAergic interneurons; size assumed",
              "relative GAD loss per fold of excess ROS"),
        param("kappa_gaba", 1.0, "dimensionless", 0.1, 10.0, "assumed",
              "full loss of GABA-A inhibition doubles spinal transmission at weight 1",
              "strength of spinal GABAergic inhibition"),
        param("gaba_pain_weight", 1.0, "dimensionless", 0.0, 3.0, "assumed",
              "pain thresholds correlate with GABA/GAD (Kami, Mol Pain); size assumed",
              "exponent of the spinal GABA pain factor"),
    )
    targets = {"gabaa": "GABA-A receptor blockade (bicuculline)"}
    exercise_action = "preserves GAD65/67 (chronic adaptation); KCC2 via spinal BDNF"
    intervention_action = "gabaa blockade removes GABA-A inhibition"
    pain_contribution = "spinal: loss of GABAergic inhibition"

    def derivatives(self, c: Context) -> dict:
        p = self.p(c)
        drive = c.drive(self.name)
        bdnf = c.get("neurotrophic.bdnf_spinal") * (1.0 - c.target("trkb"))
        kcc2_target = (1.0 + p["kappa_bdnf"]) / (1.0 + p["kappa_bdnf"] * bdnf)
        loss = (1.0 + p["gad_per_damage"] * c.get("injury.damage", 0.0)
                + p["gad_per_ros"] * jnp.maximum(c.get("oxidative.ros") - 1.0, 0.0))
        gad_target = (1.0 + p["exercise_gad_gain"] * drive.chronic) / loss
        return {
            "kcc2": relax(p["k_kcc2"], kcc2_target, self.s(c, "kcc2")),
            "gad": relax(p["k_gad"], gad_target, self.s(c, "gad")),
        }

    def pain_factors(self, c: Context) -> dict:
        p = self.p(c)
        tone = self.s(c, "kcc2") * self.s(c, "gad") * (1.0 - c.target("gabaa"))
        return {"spinal": inhibitory_factor(tone, p["kappa_gaba"], p["gaba_pain_weight"])}
