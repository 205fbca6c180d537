"""Mesolimbic reward: VTA dopamine neurons and their nucleus accumbens projection.

Chemogenetic (hM4Di) suppression of VTA dopamine neurons "dramatically offset" treadmill
hypoalgesia in pSNL mice, and silencing VTA->NAc neurons attenuated it (PMC5140073, Mol Pain
2016); voluntary exercise raised pCREB in VTA dopamine neurons (Kami 2019 review,
PMC6550110). Chronic pain lowers mesolimbic activity (hypodopaminergic state). The main route
to analgesia is serial, through descending opioid output (read by the opioid module); a small
direct descending factor stands for accumbal reward analgesia.

    d vta/dt = k_vta * ((1 - vta_silencing) * (1 + exercise_vta_gain * chronic)
                        / (1 + vta_loss_per_damage * damage) - vta)
    descending pain factor = inhibitory(vta, kappa_vta, vta_pain_weight)
"""

from __future__ import annotations

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
class Dopaminergic(Mechanism):
    name = "dopaminergic"
    summary = "mesolimbic dopamine: VTA neurons and their nucleus accumbens projection"
    states = (state("vta_activity", "activity of VTA dopamine neurons (pCREB, firing)"),)
    parameters = (
        param("k_vta", 0.2, "1/day", 0.02, 2.0, "assumed", "adaptation over days",
              "relaxation rate of VTA activity"),
        param("exercise_vta_gain", 1.2048, "dimensionless", 0.0, 50.0, "calibrated",
              "calibrated to an assumed target: the VTA-opioid arm weighs as much as the IL-4 "
              "arm in the CCI rat, since removing either abolishes the effect (PMC5140073; "
              "Bobinski 2018); direction: pCREB up in VTA DA neurons (PMC6550110)",
              "fold increase of VTA activity at full training adaptation"),
        param("vta_loss_per_damage", 0.2, "dimensionless", 0.0, 2.0, "assumed",
              "chronic neuropathic pain is hypodopaminergic; size assumed",
              "relative VTA activity loss per unit damage"),
        param("kappa_vta", 1.0, "dimensionless", 0.1, 10.0, "assumed",
              "tone-to-inhibition saturation", "strength of accumbal reward analgesia"),
        param("vta_pain_weight", 0.2, "dimensionless", 0.0, 2.0, "assumed",
              "most of the dopamine effect is routed through opioid output; size assumed",
              "exponent of the direct descending dopamine factor"),
    )
    targets = {"vta": "chemogenetic silencing of VTA dopamine neurons (hM4Di)"}
    exercise_action = "raises VTA dopamine activity (chronic), which drives opioid output"
    intervention_action = "vta silencing suppresses VTA dopamine neurons"
    pain_contribution = "descending (small direct) and via the opioid module"

    def derivatives(self, c: Context) -> dict:
        p = self.p(c)
        drive = c.drive(self.name)
        target = ((1.0 - c.target("vta")) * (1.0 + p["exercise_vta_gain"] * drive.chronic)
                  / (1.0 + p["vta_loss_per_damage"] * c.get("injury.damage", 0.0)))
        return {"vta_activity": relax(p["k_vta"], target, self.s(c, "vta_activity"))}

    def pain_factors(self, c: Context) -> dict:
        p = self.p(c)
        return {"descending": inhibitory_factor(self.s(c, "vta_activity"), p["kappa_vta"],
                                                p["vta_pain_weight"])}
