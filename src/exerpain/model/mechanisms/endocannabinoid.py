"""Endocannabinoids (AEA, 2-AG) acting on CB1 (central) and CB2 (immune/peripheral).

No rodent neuropathic exercise study measured endocannabinoids or blocked CB receptors
(preclinical.md section 4), so this arm is unconstrained and its weights are small. In humans,
AEA and 2-AG rose after 3 min of isometric exercise at 25% MVC and the resulting EIH was not
blocked by naltrexone (Koltyn 2014; Crombie 2018; clinical.md section 2): the acute signal
acts at any intensity.

    d ecb/dt = k_ecb * (1 + exercise_ecb_gain * (chronic + acute_general) - ecb)
    pain: descending inhibitory(ecb * (1 - cb1)), peripheral inhibitory(ecb * (1 - cb2))
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
class Endocannabinoid(Mechanism):
    name = "endocannabinoid"
    summary = "endocannabinoid tone (AEA, 2-AG) on CB1 and CB2 receptors"
    states = (state("ecb", "endocannabinoid tone (AEA, 2-AG)"),)
    parameters = (
        param("k_ecb", 0.3, "1/day", 0.05, 5.0, "assumed",
              "tissue endocannabinoid tone adapts over days (time constant ~3 d)",
              "relaxation rate of endocannabinoid tone"),
        param("exercise_ecb_gain", 0.2, "dimensionless", 0.0, 2.0, "assumed",
              "unconstrained in neuropathic pain (preclinical.md section 4); AEA/2-AG rise "
              "acutely in humans (Koltyn 2014); size assumed",
              "fold increase of tone per unit chronic adaptation or daily session"),
        param("kappa_ecb", 1.0, "dimensionless", 0.1, 10.0, "assumed",
              "tone-to-inhibition saturation", "strength of endocannabinoid inhibition"),
        param("cb1_pain_weight", 0.2, "dimensionless", 0.0, 2.0, "assumed",
              "unconstrained; kept small", "exponent of the CB1 (descending) factor"),
        param("cb2_pain_weight", 0.1, "dimensionless", 0.0, 2.0, "assumed",
              "unconstrained; kept small", "exponent of the CB2 (peripheral) factor"),
    )
    targets = {"cb1": "CB1 receptor blockade (AM251)", "cb2": "CB2 receptor blockade (AM630)"}
    exercise_action = "raises AEA/2-AG (acute, any intensity; and chronic)"
    intervention_action = "AM251 blocks CB1; AM630 blocks CB2"
    pain_contribution = "descending (CB1) and peripheral (CB2) inhibition"

    def derivatives(self, c: Context) -> dict:
        p = self.p(c)
        drive = c.drive(self.name)
        target = 1.0 + p["exercise_ecb_gain"] * (drive.chronic + drive.acute_general)
        return {"ecb": relax(p["k_ecb"], target, self.s(c, "ecb"))}

    def pain_factors(self, c: Context) -> dict:
        p = self.p(c)
        ecb = self.s(c, "ecb")
        return {
            "descending": inhibitory_factor(ecb * (1.0 - c.target("cb1")), p["kappa_ecb"],
                                            p["cb1_pain_weight"]),
            "peripheral": inhibitory_factor(ecb * (1.0 - c.target("cb2")), p["kappa_ecb"],
                                            p["cb2_pain_weight"]),
        }
