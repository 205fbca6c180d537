"""Neurotrophins: spinal (microglial, pro-nociceptive) vs peripheral (regenerative) BDNF.

Kept as two variables because their directions differ by tissue (preclinical.md section 4):
microglial BDNF in the dorsal horn drives KCC2 loss (read by the gabaergic module) and falls
with exercise as microglia settle (Lopez-Alvarez 2015, doi:10.1097/j.pain.0000000000000268;
Grace 2016); peripheral BDNF in nerve/DRG/muscle rises with exercise (Cho & Seo 2023, J Exerc
Rehabil 19(6); resting BDNF SMD 0.66 after aerobic, 0.07 after resistance training, Dinoff
2016, doi:10.1371/journal.pone.0163037) and speeds regeneration (read by the injury module).

    d bdnf_spinal/dt = k_bdnf_spinal * (1 + bdnf_per_microglia * (microglia - 1) - bdnf_spinal)
    d bdnf_peripheral/dt = k_bdnf_peripheral * (1 + exercise_bdnf_gain * chronic - bdnf_peripheral)
"""

from __future__ import annotations

import jax.numpy as jnp

from exerpain.model.mechanisms.base import Context, Mechanism, param, relax, state
from exerpain.model.registry import register


@register
class Neurotrophic(Mechanism):
    name = "neurotrophic"
    summary = "spinal microglial BDNF (pro-nociceptive) vs peripheral BDNF/GDNF (regenerative)"
    states = (
        state("bdnf_spinal", "dorsal-horn (microglial) BDNF"),
        state("bdnf_peripheral", "nerve/DRG/muscle BDNF supporting regeneration"),
    )
    parameters = (
        param("k_bdnf_spinal", 0.2, "1/day", 0.02, 2.0, "assumed", "protein turnover over days",
              "relaxation rate of spinal BDNF"),
        param("bdnf_per_microglia", 0.5, "dimensionless", 0.0, 3.0, "assumed",
              "activated microglia release BDNF via P2X4R (Grace 2016 P2X4R-BDNF axis); "
              "size assumed", "fold rise of spinal BDNF per fold of microglial activation"),
        param("k_bdnf_peripheral", 0.2, "1/day", 0.02, 2.0, "assumed",
              "protein turnover over days", "relaxation rate of peripheral BDNF"),
        param("exercise_bdnf_gain", 0.4, "dimensionless", 0.0, 2.0, "assumed",
              "direction: BDNF up in DRG with walking (Cho & Seo 2023) and resting BDNF up "
              "with aerobic training (Dinoff 2016 SMD 0.66); fold size assumed",
              "fold increase of peripheral BDNF at full training adaptation (aerobic)"),
    )
    targets = {"trkb": "TrkB receptor blockade (ANA-12, TrkB-IgG)"}
    exercise_action = "raises peripheral (regenerative) BDNF; spinal BDNF falls via microglia"
    intervention_action = "trkb blocks BDNF signalling at both sites (read by consumers)"
    pain_contribution = "indirect: spinal BDNF lowers KCC2; peripheral BDNF speeds regeneration"

    def derivatives(self, c: Context) -> dict:
        p = self.p(c)
        drive = c.drive(self.name)
        spinal_target = 1.0 + p["bdnf_per_microglia"] * (c.get("inflammation.microglia") - 1.0)
        return {
            "bdnf_spinal": relax(p["k_bdnf_spinal"], jnp.maximum(spinal_target, 0.05),
                                 self.s(c, "bdnf_spinal")),
            "bdnf_peripheral": relax(p["k_bdnf_peripheral"],
                                     1.0 + p["exercise_bdnf_gain"] * drive.chronic,
                                     self.s(c, "bdnf_peripheral")),
        }
