"""Nerve injury: damage (ectopic drive) and its regeneration.

The condition sets the insult (surgery, toxin or hyperglycaemia: a rate acting over a window)
and the regeneration rate. Regeneration is sped up by peripheral (regenerative) BDNF, which is
how exercise acts here (through the neurotrophic module; DESIGN.md section 2). Excess reactive
oxygen species amplify the insult while it acts: oxidative stress is the common initiator of
hyperglycaemic nerve injury (Figueroa-Romero, Sadidi & Feldman 2008, "The oxidative stress
theory of diabetic neuropathy", doi:10.1007/s11154-008-9104-2), so exercise's antioxidant
adaptation (oxidative module) slows the damage of an ongoing insult (DPN, CIPN, STZ).

    d damage/dt = insult_rate * insult(t) * (1 + ros_insult_gain * max(ros - 1, 0))
                  * (1 - damage) - regeneration_rate * support * damage
    support = max(0, 1 + bdnf_regeneration_gain * (BDNF_peripheral * (1 - trkb) - 1))
    peripheral pain factor = 1 + ectopic_gain * damage
"""

from __future__ import annotations

import jax.numpy as jnp

from exerpain.model.mechanisms.base import Context, Mechanism, param, state
from exerpain.model.registry import register


@register
class Injury(Mechanism):
    name = "injury"
    summary = "nerve damage / ectopic drive and its regeneration, per condition"
    states = (
        state("damage", "fraction of afferents injured and ectopically active", 0.0, 0.0, 1.0,
              "fraction"),
    )
    parameters = (
        param("insult_rate", 0.0, "1/day", 0.0, 10.0, "assumed",
              "set per condition (see conditions.py); 0 = no insult (healthy/sham)",
              "rate at which the insult injures intact afferents while it acts"),
        param("regeneration_rate", 0.02, "1/day", 0.0, 0.5, "assumed",
              "set per condition (see conditions.py)",
              "first-order recovery rate of damaged afferents"),
        param("bdnf_regeneration_gain", 0.5, "dimensionless", 0.0, 0.95, "assumed",
              "activity-dependent BDNF/TrkB signalling speeds axon regeneration "
              "(Cho & Seo 2023 BDNF and GAP-43 up in DRG with walking); magnitude assumed",
              "relative change of regeneration rate per fold of peripheral BDNF"),
        param("ros_insult_gain", 0.5, "dimensionless", 0.0, 3.0, "assumed",
              "direction: oxidative stress initiates hyperglycaemic nerve injury "
              "(Figueroa-Romero 2008, doi:10.1007/s11154-008-9104-2); size assumed",
              "relative increase of the insult per fold of excess ROS"),
        param("ectopic_gain", 1.0, "dimensionless", 0.5, 10.0, "assumed",
              "order of magnitude: injured afferents dominate peripheral drive after injury",
              "peripheral nociceptive drive added per unit damage"),
    )
    pain_contribution = "peripheral: 1 + ectopic_gain * damage"
    intervention_action = "none (drugs act downstream)"

    def derivatives(self, c: Context) -> dict:
        p = self.p(c)
        damage = self.s(c, "damage")
        bdnf_p = c.get("neurotrophic.bdnf_peripheral") * (1.0 - c.target("trkb"))
        support = jnp.maximum(0.0, 1.0 + p["bdnf_regeneration_gain"] * (bdnf_p - 1.0))
        oxidative = 1.0 + p["ros_insult_gain"] * jnp.maximum(c.get("oxidative.ros") - 1.0, 0.0)
        insult = p["insult_rate"] * c.insult_active() * oxidative * (1.0 - damage)
        return {"damage": insult - p["regeneration_rate"] * support * damage}

    def pain_factors(self, c: Context) -> dict:
        return {"peripheral": 1.0 + self.p(c)["ectopic_gain"] * self.s(c, "damage")}
