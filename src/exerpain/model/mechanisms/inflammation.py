"""Neuroinflammation: IL-4 -> M2 macrophages -> IL-10 -> cytokines and spinal microglia.

A serial chain (DESIGN.md section 2): exercise raises IL-4 (Bobinski 2018,
doi:10.1097/j.pain.0000000000001109), IL-4 drives the M1-to-M2 macrophage shift (no shift in
IL-4-/- mice, same study), M2 macrophages make IL-10 (serum IL-10 up with running, Grace 2016,
doi:10.1097/j.pain.0000000000000607), and IL-10 restrains pro-inflammatory cytokines
(TNF-a, IL-1b, IL-6) and microglial activation. Removing IL-4 therefore removes the whole arm.

    d il4/dt = k_il4 * ((1 - il4_block) * (1 + exercise_il4_gain * chronic) - il4)
    m2* = logistic(logit(m2_healthy) + m2_il4_gain * (il4 - 1) - m2_damage_loss * damage)
    d m2/dt = k_m2 * (m2* - m2)
    d il10/dt = k_il10 * ((1 - il10_block) * m2 / m2_healthy - il10)
    d cyt/dt = k_cyt * ((1 + cyt_per_damage * damage + cyt_per_ros * (ros - 1)
                        + stress_cytokine_gain * stress) * I(il10) - cyt)
    d mg/dt  = k_microglia * (1 + (raw - 1) * (1 - minocycline)),
        raw = (1 + mg_per_damage * damage + mg_per_cytokine * (cyt - 1)) * I(il10)
    I(x) = (1 + kappa_il10) / (1 + kappa_il10 * x)
    pain: peripheral cyt ** cytokine_pain_weight; spinal mg ** microglia_pain_weight
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from exerpain.model.mechanisms.base import (
    Context,
    Mechanism,
    excitatory_factor,
    param,
    relax,
    state,
)
from exerpain.model.registry import register


def _logit(p):
    return jnp.log(p) - jnp.log1p(-p)


@register
class Inflammation(Mechanism):
    name = "inflammation"
    summary = "IL-4, M1/M2 macrophages, IL-10, pro-inflammatory cytokines, spinal microglia"
    states = (
        state("il4", "IL-4 (anti-inflammatory, drives M2 polarisation)"),
        state("m2_fraction", "M2 share of macrophages at the injury site", 0.458, 0.0, 1.0,
              "fraction"),
        state("il10", "IL-10 (anti-inflammatory)"),
        state("cytokines", "pro-inflammatory cytokines TNF-a, IL-1b, IL-6 (composite)"),
        state("microglia", "dorsal-horn microglial activation (Iba1)"),
    )
    parameters = (
        param("k_il4", 0.3, "1/day", 0.05, 5.0, "assumed",
              "tissue cytokine levels change over days (time constant ~3 d)",
              "relaxation rate of IL-4"),
        param("exercise_il4_gain", 3.0, "dimensionless", 0.0, 10.0, "assumed",
              "direction: IL-4 restored by low-intensity treadmill (Bobinski 2018, "
              "doi:10.1097/j.pain.0000000000001109); size assumed",
              "fold increase of IL-4 at full training adaptation"),
        param("m2_healthy", 0.458, "fraction", 0.3, 0.6, "cited",
              "M2 45.8% +/- 7.1% of macrophages in sedentary mice, PMID 26230740 "
              "(doi:10.1097/j.pain.0000000000000312)",
              "M2 share of macrophages in health"),
        param("k_m2", 0.2, "1/day", 0.02, 2.0, "assumed", "macrophage repolarisation over days",
              "relaxation rate of the M2 share"),
        param("m2_il4_gain", 1.1093, "logit per fold", 0.0, 10.0, "calibrated",
              "calibrated to M2 68.5% vs 45.8% after 8 wk wheel running, PMID 26230740 "
              "(prior centre for exerpain calibrate)",
              "change of the M2 log-odds per fold of IL-4"),
        param("m2_damage_loss", 1.5, "logit per damage", 0.0, 5.0, "assumed",
              "injury polarises macrophages to M1 (Grace 2016 iNOS; Bobinski 2018); size assumed",
              "decrease of the M2 log-odds per unit damage"),
        param("k_il10", 0.3, "1/day", 0.05, 5.0, "assumed",
              "tissue cytokine levels change over days (time constant ~3 d)",
              "relaxation rate of IL-10"),
        param("kappa_il10", 1.0, "dimensionless", 0.1, 10.0, "assumed",
              "half of cytokine restraint lost when IL-10 is absent",
              "strength of IL-10 restraint of cytokines and microglia"),
        param("k_cytokines", 0.3, "1/day", 0.05, 5.0, "assumed",
              "tissue cytokine levels change over days (time constant ~3 d)",
              "relaxation rate of pro-inflammatory cytokines"),
        param("cyt_per_damage", 1.0, "dimensionless", 0.0, 10.0, "assumed",
              "TNF-a/IL-1b rise in nerve and CSF after CCI (Chen 2012; Safakhah 2017); "
              "size assumed", "fold rise of cytokine production per unit damage"),
        param("cyt_per_ros", 0.3, "dimensionless", 0.0, 2.0, "assumed",
              "ROS activate NF-kB (Cho & Seo 2023 NF-kB down with exercise); size assumed",
              "cytokine production per fold of ROS"),
        param("stress_cytokine_gain", 0.5, "dimensionless", 0.0, 3.0, "assumed",
              "excessive load is pro-inflammatory (DESIGN.md; Cobianchi 2010 long running "
              "unfavourable, doi:10.1016/j.neuroscience.2010.03.035); size assumed",
              "cytokine production per unit of exercise stress"),
        param("k_microglia", 0.2, "1/day", 0.01, 1.0, "assumed",
              "microglial activation peaks 1-2 weeks after injury",
              "relaxation rate of microglial activation"),
        param("mg_per_damage", 1.0, "dimensionless", 0.0, 10.0, "assumed",
              "dorsal-horn microglia rise after injury and fall with exercise (Cobianchi 2010; "
              "Almeida 2015); size assumed", "microglial activation per unit damage"),
        param("mg_per_cytokine", 0.3, "dimensionless", 0.0, 3.0, "assumed",
              "cytokines activate microglia; size assumed",
              "microglial activation per fold of cytokines"),
        param("cytokine_pain_weight", 0.25, "dimensionless", 0.0, 2.0, "assumed",
              "TNF-a/IL-1b sensitise nociceptors; size assumed",
              "exponent of the cytokine peripheral pain factor"),
        param("microglia_pain_weight", 0.25, "dimensionless", 0.0, 2.0, "assumed",
              "microglial IL-1b/TNF in the dorsal horn facilitate transmission; size assumed",
              "exponent of the microglia spinal pain factor"),
    )
    targets = {
        "il4": "IL-4 production (knock-out or neutralising antibody)",
        "il10": "IL-10 production (knock-out)",
        "microglia": "microglial activation (minocycline)",
    }
    exercise_action = "raises IL-4 (M1->M2 shift, IL-10 up); excessive load raises cytokines"
    intervention_action = "il4/il10 knock-outs remove production; minocycline damps microglia"
    pain_contribution = "peripheral: cytokines; spinal: microglia"

    def healthy(self, params: dict) -> dict:
        return {"m2_fraction": params["m2_healthy"]}

    def derivatives(self, c: Context) -> dict:
        p = self.p(c)
        il4, m2, il10 = self.s(c, "il4"), self.s(c, "m2_fraction"), self.s(c, "il10")
        cyt, mg = self.s(c, "cytokines"), self.s(c, "microglia")
        damage = c.get("injury.damage", 0.0)
        drive = c.drive(self.name)
        restraint = (1.0 + p["kappa_il10"]) / (1.0 + p["kappa_il10"] * il10)
        m2_target = jax.nn.sigmoid(
            _logit(p["m2_healthy"]) + p["m2_il4_gain"] * (il4 - 1.0)
            - p["m2_damage_loss"] * damage
        )
        cyt_target = restraint * (
            1.0 + p["cyt_per_damage"] * damage
            + p["cyt_per_ros"] * (c.get("oxidative.ros") - 1.0)
            + p["stress_cytokine_gain"] * drive.stress
        )
        mg_raw = restraint * (1.0 + p["mg_per_damage"] * damage
                              + p["mg_per_cytokine"] * (cyt - 1.0))
        mg_target = 1.0 + (mg_raw - 1.0) * (1.0 - c.target("microglia"))
        return {
            "il4": relax(p["k_il4"], (1.0 - c.target("il4"))
                         * (1.0 + p["exercise_il4_gain"] * drive.chronic), il4),
            "m2_fraction": relax(p["k_m2"], m2_target, m2),
            "il10": relax(p["k_il10"], (1.0 - c.target("il10")) * m2 / p["m2_healthy"], il10),
            "cytokines": relax(p["k_cytokines"], jnp.maximum(cyt_target, 0.05), cyt),
            "microglia": relax(p["k_microglia"], jnp.maximum(mg_target, 0.05), mg),
        }

    def pain_factors(self, c: Context) -> dict:
        p = self.p(c)
        return {
            "peripheral": excitatory_factor(self.s(c, "cytokines"), p["cytokine_pain_weight"]),
            "spinal": excitatory_factor(self.s(c, "microglia"), p["microglia_pain_weight"]),
        }
