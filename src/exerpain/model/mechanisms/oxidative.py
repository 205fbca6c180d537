"""Oxidative stress: reactive oxygen species (ROS) against antioxidant capacity.

    d ros/dt = k_ros * ((1 + ros_per_damage * damage + metabolic_ros * after_onset)
                        / (antioxidant * (1 + supplement)) - ros)
    d antioxidant/dt = k_antioxidant * ((1 + exercise_antioxidant_gain * chronic)
                                        / (1 + antioxidant_consumption * x / (1 + x))
                                        - antioxidant),   x = max(ros - 1, 0)
    peripheral pain factor = ros ** ros_pain_weight

Exercise raises antioxidant capacity (SOD, catalase, GPx, Nrf2). Evidence is weak: serum FRAP
fell with CCI and exercise restored it, while MDA did not differ (Safakhah 2017,
doi:10.2147/JPR.S135081); excess ROS consume antioxidant capacity, which is how the injury
lowers it (saturating, so capacity falls at most to 1 / (1 + antioxidant_consumption) and
the ROS-antioxidant loop cannot run away). N-acetylcysteine and alpha-lipoic acid act on the
``antioxidant_supplement`` target.
"""

from __future__ import annotations

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


@register
class Oxidative(Mechanism):
    name = "oxidative"
    summary = "ROS vs antioxidant capacity (SOD, catalase, GPx, Nrf2); lipid peroxidation"
    states = (
        state("ros", "oxidative stress: ROS and lipid peroxidation markers (MDA)"),
        state("antioxidant", "antioxidant capacity (SOD, catalase, GPx; FRAP)"),
    )
    parameters = (
        param("k_ros", 0.3, "1/day", 0.1, 10.0, "assumed",
              "the state stands for oxidative-damage markers (MDA, FRAP), which change over "
              "days (free radicals themselves turn over in seconds)", "relaxation rate of ROS"),
        param("ros_per_damage", 1.0, "dimensionless", 0.0, 5.0, "assumed",
              "injured nerve and infiltrating macrophages generate ROS; magnitude assumed",
              "fold increase of ROS production per unit damage"),
        param("metabolic_ros", 0.0, "dimensionless", 0.0, 5.0, "assumed",
              "set per condition: hyperglycaemia (STZ, DPN) or paclitaxel mitochondrial "
              "toxicity add ROS production; plasma SOD1/GPX1 lower in DSPN (modifiers.csv, "
              "Polish T2DM cohort)",
              "extra ROS production from the condition's metabolic insult"),
        param("supplement_scavenging", 1.0, "dimensionless", 0.0, 5.0, "assumed",
              "NAC/alpha-lipoic acid at full action double ROS scavenging; size assumed",
              "extra ROS scavenging (fold) at complete antioxidant_supplement action"),
        param("k_antioxidant", 0.05, "1/day", 0.01, 0.5, "assumed",
              "antioxidant-enzyme training adaptation over weeks",
              "relaxation rate of antioxidant capacity"),
        param("exercise_antioxidant_gain", 0.3, "dimensionless", 0.0, 10.0, "assumed",
              "direction from Safakhah 2017, doi:10.2147/JPR.S135081 (FRAP restored by "
              "exercise after CCI); range to 10: antioxidant capacity rose by SMD 1.45 "
              "with training (de Sousa 2017, doi:10.1007/s40279-016-0566-1) and "
              "malondialdehyde fell by SMD 1.29 in type 2 diabetes (Qiu 2025, "
              "doi:10.7717/peerj.19814), which a gain of 3 reaches about halfway in DPN; "
              "a calibration target since 2026-11-26 that the shipped fit predates",
              "fold increase of antioxidant capacity at full training adaptation"),
        param("antioxidant_consumption", 0.5, "dimensionless", 0.0, 3.0, "assumed",
              "direction from Safakhah 2017, doi:10.2147/JPR.S135081 (serum FRAP fell after "
              "CCI, P=0.001); size assumed",
              "saturating consumption of antioxidant capacity by excess ROS (capacity "
              "falls at most to 1 / (1 + value))"),
        param("ros_pain_weight", 0.3, "dimensionless", 0.0, 1.0, "assumed",
              "ROS sensitise nociceptors (TRPA1); weak support (MDA unchanged, Safakhah 2017)",
              "exponent of the ROS peripheral pain factor"),
    )
    targets = {"antioxidant_supplement": "exogenous ROS scavenging (NAC, alpha-lipoic acid)"}
    exercise_action = "raises antioxidant capacity (chronic adaptation)"
    intervention_action = "antioxidant_supplement divides ROS production"
    pain_contribution = "peripheral: ros ** ros_pain_weight"

    def derivatives(self, c: Context) -> dict:
        p = self.p(c)
        ros, aox = self.s(c, "ros"), self.s(c, "antioxidant")
        production = (1.0 + p["ros_per_damage"] * c.get("injury.damage", 0.0)
                      + p["metabolic_ros"] * c.after_onset())
        scavenging = aox * (1.0 + p["supplement_scavenging"] * c.target("antioxidant_supplement"))
        drive = c.drive(self.name)
        excess = jnp.maximum(ros - 1.0, 0.0)
        consumption = 1.0 + p["antioxidant_consumption"] * excess / (1.0 + excess)
        return {
            "ros": relax(p["k_ros"], production / scavenging, ros),
            "antioxidant": relax(
                p["k_antioxidant"],
                (1.0 + p["exercise_antioxidant_gain"] * drive.chronic) / consumption, aox,
            ),
        }

    def pain_factors(self, c: Context) -> dict:
        return {"peripheral": excitatory_factor(self.s(c, "ros"), self.p(c)["ros_pain_weight"])}
