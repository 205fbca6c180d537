"""Central sensitization (NMDA-dependent wind-up, long-term potentiation in the dorsal horn).

Driven by the product of peripheral drive, spinal disinhibition and lost descending
inhibition, and released when inhibition returns; exercise acts on it only through the
modules above (DESIGN.md section 2). Gabapentinoids (alpha-2-delta ligands) damp the gain.

    X = peripheral * spinal * descending   (products of the other modules' factors)
    d gain/dt = k_sensitization * (X ** amplification - gain)
    central pain factor = 1 + (gain - 1) * (1 - a2d)
"""

from __future__ import annotations

from exerpain.model.mechanisms.base import Context, Mechanism, param, relax, state
from exerpain.model.registry import register


@register
class Sensitization(Mechanism):
    name = "sensitization"
    summary = "central sensitization (NMDA, wind-up) driven by input, released by inhibition"
    states = (state("central_gain", "dorsal-horn central gain (wind-up, LTP)"),)
    parameters = (
        param("k_sensitization", 0.3, "1/day", 0.01, 5.0, "assumed",
              "allodynia is evident by day 2 after CCI (Bennett & Xie 1988, "
              "doi:10.1016/0304-3959(88)90209-6): central gain builds over days; the upper "
              "bound allows the hours of the first demonstration of central sensitization "
              "(Woolf 1983, doi:10.1038/306686a0)",
              "relaxation rate of central gain"),
        param("amplification", 0.5, "dimensionless", 0.0, 2.0, "assumed",
              "central gain amplifies sustained input (elasticity of gain to drive)",
              "exponent of drive in the central gain target"),
    )
    targets = {"a2d": "alpha-2-delta subunit of Ca channels (gabapentin, pregabalin)"}
    exercise_action = None
    intervention_action = "gabapentinoids damp the central gain"
    pain_contribution = "central: multiplies all other factors"

    def derivatives(self, c: Context) -> dict:
        p = self.p(c)
        target = c.pain_power(("peripheral", "spinal", "descending"), p["amplification"])
        return {"central_gain": relax(p["k_sensitization"], target, self.s(c, "central_gain"))}

    def pain_factors(self, c: Context) -> dict:
        gain = self.s(c, "central_gain")
        return {"central": 1.0 + (gain - 1.0) * (1.0 - c.target("a2d"))}
