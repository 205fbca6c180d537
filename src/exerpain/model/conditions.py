"""Conditions: rodent injury models and human neuropathies.

A condition fixes the species (and so the read-outs), the timing of the insult, and the
parameter values of the insult (injury and oxidative modules) and of species-specific
read-outs. Human conditions are established at day 0 (DPN as the steady state of its ongoing insult;
CIPN after chemotherapy that started ``onset_day`` days earlier); rodent injuries happen on
day 0 (day 0 is the pre-injury baseline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from exerpain.errors import InputError

Species = Literal["rat", "mouse", "human"]

_MOUSE_READOUT = {
    # Mouse filaments are finer than rat ones; values assumed (typical 0.008-2 g filament set,
    # healthy C57BL/6 thresholds around 1 g; normative data in Zumbusch 2024, J Pain
    # 25:104468, not retrieved).
    "readout.vf_healthy_g": 1.0,
    "readout.vf_floor_g": 0.02,
    "readout.vf_cutoff_g": 2.0,
}


@dataclass(frozen=True)
class Condition:
    """A neuropathic (or sham) condition.

    Attributes:
        name: short name used on the command line.
        species: ``rat``, ``mouse`` or ``human``.
        description: what the model is.
        onset_day: day the insult starts (day).
        insult_days: how long the insult acts (day).
        overrides: ``{"group.param": value}`` replacing parameter defaults.
        provenance: source of the timing and overrides.
        default_days: default simulated duration (day).
        start: ``healthy`` (integrate from health before onset) or ``steady_state`` (day 0 is
            the steady state of the untreated condition: a stable, established neuropathy
            with an ongoing insult; found by Newton's method, no run-in integration).
    """

    name: str
    species: Species
    description: str
    onset_day: float
    insult_days: float
    overrides: dict[str, float] = field(default_factory=dict)
    provenance: str = ""
    default_days: int = 42
    start: Literal["healthy", "steady_state"] = "healthy"

    @property
    def kind(self) -> str:
        return "human" if self.species == "human" else "rodent"

    def apply(self, params: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        """A copy of ``params`` with this condition's overrides applied."""
        out = {group: dict(values) for group, values in params.items()}
        for key, value in self.overrides.items():
            group, name = key.split(".")
            if name not in out.get(group, {}):
                raise KeyError(f"condition {self.name}: unknown parameter {key}")
            out[group][name] = float(value)
        return out


def _surgery(rate: float, regeneration: float) -> dict[str, float]:
    return {"injury.insult_rate": rate, "injury.regeneration_rate": regeneration}


CONDITIONS: dict[str, Condition] = {c.name: c for c in (
    Condition(
        "cci", "rat", "chronic constriction injury of the sciatic nerve (rat)", 0.0, 1.0,
        _surgery(2.0, 0.015),
        "hyperalgesia from postoperative day 2, lasting over 2 months (Bennett & Xie 1988, "
        "doi:10.1016/0304-3959(88)90209-6): regeneration time constant ~67 d assumed"),
    Condition(
        "sni", "rat", "spared nerve injury (tibial and common peroneal transection; rat)",
        0.0, 1.0, _surgery(3.0, 0.001),
        "hypersensitivity from day 1 lasting at least 180 days (mouse SNI, Mol Pain 2013;9:61, "
        "doi:10.1186/1744-8069-9-61; Decosterd & Woolf 2000, Pain 87:149): near-zero "
        "regeneration assumed"),
    Condition(
        "pnsl", "mouse", "partial sciatic nerve ligation (mouse)", 0.0, 1.0,
        {**_surgery(1.0, 0.005), **_MOUSE_READOUT},
        "onset within hours, lasting several months (Seltzer 1990, Pain 43:205); mouse pSNL "
        "as in PMC5140073 and Kami (Mol Pain); regeneration rate assumed"),
    Condition(
        "stz", "rat", "streptozotocin-induced diabetic neuropathy (rat)", 0.0, 1e5,
        {"injury.insult_rate": 0.06, "injury.regeneration_rate": 0.03,
         "oxidative.metabolic_ros": 0.5},
        "allodynia within days (Calcutt 1996, PMID 9121817) to >= 2 weeks of diabetes "
        "(Courteix 1993, doi:10.1016/0304-3959(93)90059-x), persisting for up to 8 weeks or "
        "more (Calcutt 1996): continuous hyperglycaemic insult approaching its steady state "
        "with a ~11-day time constant (rates assumed)"),
    Condition(
        "paclitaxel", "rat", "paclitaxel-induced peripheral neuropathy (rat, days 0-6)",
        0.0, 7.0,
        {"injury.insult_rate": 0.15, "injury.regeneration_rate": 0.01,
         "oxidative.metabolic_ros": 0.5},
        "2 mg/kg i.p. on days 0, 2, 4, 6; hypersensitivity with delayed onset, peak ~day 28, "
        "persisting for months (Griffiths 2018, doi:10.1155/2018/8217613; Polomano 2001, "
        "Pain 94:293); mitochondrial ROS and rates assumed"),
    Condition(
        "sham", "rat", "sham surgery (rat; no nerve injury)", 0.0, 1.0, _surgery(0.0, 0.015),
        "no insult"),
    Condition(
        "dpn", "human", "painful diabetic peripheral neuropathy (established)", -730.0, 1e5,
        {"injury.insult_rate": 0.004, "injury.regeneration_rate": 0.004,
         "oxidative.metabolic_ros": 0.5},
        "established, stable neuropathy: day 0 is the steady state under an ongoing "
        "hyperglycaemic insult (assumed); trials use 10-16 week programmes (Yoo 2015, "
        "PMID 25800666)", default_days=112, start="steady_state"),
    Condition(
        "cipn", "human", "chemotherapy-induced peripheral neuropathy (after ~20 weeks of "
        "chemotherapy)", -180.0, 140.0,
        {"injury.insult_rate": 0.01, "injury.regeneration_rate": 0.003,
         "oxidative.metabolic_ros": 0.3},
        "chemotherapy lasting ~20 weeks (Br J Cancer 2021, PMC8476560); day 0 is 40 days "
        "after the last cycle (assumed); rates assumed", default_days=84),
)}


def get_condition(name: str) -> Condition:
    try:
        return CONDITIONS[name]
    except KeyError:
        raise InputError(
            f"condition: unknown name {name!r}; allowed: {', '.join(CONDITIONS)}") from None
