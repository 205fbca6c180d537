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
from exerpain.model.mechanisms.base import param
from exerpain.model.parameters import Parameter

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
        overrides: ``{"group.param": value}`` replacing parameter defaults (fixed values,
            e.g. the mouse filament set).
        linked: ``{"group.param": name}``: parameters set from the condition's own calibratable
            parameters (``params["condition"][name]``, declared in
            :data:`CONDITION_PARAMETERS` with units, range and provenance), e.g. the insult and
            regeneration rates that shape each model's onset, lowest point and recovery.
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
    linked: dict[str, str] = field(default_factory=dict)
    default_days: int = 42
    start: Literal["healthy", "steady_state"] = "healthy"

    @property
    def kind(self) -> str:
        return "human" if self.species == "human" else "rodent"

    def apply(self, params: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        """A copy of ``params`` with this condition's overrides and linked parameters applied
        (linked values are taken as they are, so traced values stay differentiable)."""
        out = {group: dict(values) for group, values in params.items()}
        own = params.get("condition", {})
        settings = {**{k: float(v) for k, v in self.overrides.items()},
                    **{k: own[v] for k, v in self.linked.items() if v in own}}
        for key, value in settings.items():
            group, name = key.split(".")
            if name not in out.get(group, {}):
                raise KeyError(f"condition {self.name}: unknown parameter {key}")
            out[group][name] = value
        return out


INJURY_LINKS = ("injury.insult_rate", "injury.regeneration_rate")


def _links(condition: str, *keys: str) -> dict[str, str]:
    """``{"group.param": "<condition>_<param>"}`` for each linked key."""
    return {key: f"{condition}_{key.split('.')[1]}" for key in keys}


def _rates(condition: str, insult: float, regeneration: float, source: str,
           insult_range: tuple[float, float] = (0.05, 10.0),
           regeneration_range: tuple[float, float] = (1e-4, 0.2)) -> tuple[Parameter, ...]:
    return (
        param(f"{condition}_insult_rate", insult, "1/day", *insult_range, "assumed", source,
              f"{condition}: rate at which the insult injures intact afferents while it acts"),
        param(f"{condition}_regeneration_rate", regeneration, "1/day", *regeneration_range,
              "assumed", source,
              f"{condition}: first-order recovery rate of damaged afferents (untreated)"),
    )


def _metabolic(condition: str, value: float, source: str) -> Parameter:
    return param(f"{condition}_metabolic_ros", value, "fold change per day", 0.02, 3.0,
                 "assumed", source,
                 f"{condition}: ROS production by the metabolic/toxic insult")


CONDITION_PARAMETERS: tuple[Parameter, ...] = (
    *_rates("cci", 2.0, 0.015,
            "onset within 2 days (Bennett & Xie 1988, doi:10.1016/0304-3959(88)90209-6), "
            "spontaneous recovery over ~2 months; rates assumed, fitted to the courses"),
    *_rates("sni", 3.0, 0.001,
            "hypersensitivity from day 1 lasting >= 180 days (Decosterd & Woolf 2000, Pain "
            "87:149; mouse SNI doi:10.1186/1744-8069-9-61): near-zero regeneration assumed"),
    *_rates("pnsl", 1.0, 0.005,
            "onset within hours, lasting several months (Seltzer 1990, Pain 43:205); rates "
            "assumed"),
    *_rates("stz", 0.06, 0.03,
            "allodynia within days (Calcutt 1996, PMID 9121817) to >= 2 weeks of diabetes "
            "(Courteix 1993, doi:10.1016/0304-3959(93)90059-x), persisting >= 8 weeks; rates "
            "assumed", insult_range=(0.005, 1.0)),
    _metabolic("stz", 0.5, "hyperglycaemia-driven ROS (direction; size assumed)"),
    *_rates("paclitaxel", 0.15, 0.01,
            "delayed onset, peak ~day 28, persisting for months (Griffiths 2018, "
            "doi:10.1155/2018/8217613; Polomano 2001, Pain 94:293); rates assumed",
            insult_range=(0.01, 2.0)),
    _metabolic("paclitaxel", 0.5, "mitochondrial ROS of taxanes (direction; size assumed)"),
    *_rates("dpn", 0.004, 0.004,
            "established, stable neuropathy; day 0 is the steady state of the ongoing insult "
            "(rates assumed)", insult_range=(1e-4, 0.1), regeneration_range=(1e-4, 0.1)),
    _metabolic("dpn", 0.5, "hyperglycaemia-driven ROS (direction; size assumed)"),
    *_rates("cipn", 0.01, 0.003,
            "~20 weeks of chemotherapy (Br J Cancer 2021, PMC8476560); slow partial recovery "
            "after it (rates assumed)", insult_range=(1e-3, 0.2),
            regeneration_range=(1e-4, 0.1)),
    _metabolic("cipn", 0.3, "chemotherapy-induced ROS (direction; size assumed)"),
)
"""Calibratable parameters of the conditions (group ``condition``), linked into the injury
and oxidative modules by :meth:`Condition.apply`."""

_ROS = "oxidative.metabolic_ros"

CONDITIONS: dict[str, Condition] = {c.name: c for c in (
    Condition(
        "cci", "rat", "chronic constriction injury of the sciatic nerve (rat)", 0.0, 1.0,
        {},
        "hyperalgesia from postoperative day 2, lasting over 2 months (Bennett & Xie 1988, "
        "doi:10.1016/0304-3959(88)90209-6): regeneration time constant ~67 d assumed",
        linked=_links("cci", *INJURY_LINKS)),
    Condition(
        "sni", "rat", "spared nerve injury (tibial and common peroneal transection; rat)",
        0.0, 1.0, {},
        "hypersensitivity from day 1 lasting at least 180 days (mouse SNI, Mol Pain 2013;9:61, "
        "doi:10.1186/1744-8069-9-61; Decosterd & Woolf 2000, Pain 87:149): near-zero "
        "regeneration assumed",
        linked=_links("sni", *INJURY_LINKS)),
    Condition(
        "pnsl", "mouse", "partial sciatic nerve ligation (mouse)", 0.0, 1.0,
        _MOUSE_READOUT,
        "onset within hours, lasting several months (Seltzer 1990, Pain 43:205); mouse pSNL "
        "as in PMC5140073 and Kami (Mol Pain); regeneration rate assumed",
        linked=_links("pnsl", *INJURY_LINKS)),
    Condition(
        "stz", "rat", "streptozotocin-induced diabetic neuropathy (rat)", 0.0, 1e5,
        {},
        "allodynia within days (Calcutt 1996, PMID 9121817) to >= 2 weeks of diabetes "
        "(Courteix 1993, doi:10.1016/0304-3959(93)90059-x), persisting for up to 8 weeks or "
        "more (Calcutt 1996): continuous hyperglycaemic insult approaching its steady state "
        "with a ~11-day time constant (rates assumed)",
        linked=_links("stz", *INJURY_LINKS, _ROS)),
    Condition(
        "paclitaxel", "rat", "paclitaxel-induced peripheral neuropathy (rat, days 0-6)",
        0.0, 7.0,
        {},
        "2 mg/kg i.p. on days 0, 2, 4, 6; hypersensitivity with delayed onset, peak ~day 28, "
        "persisting for months (Griffiths 2018, doi:10.1155/2018/8217613; Polomano 2001, "
        "Pain 94:293); mitochondrial ROS and rates assumed",
        linked=_links("paclitaxel", *INJURY_LINKS, _ROS)),
    Condition(
        "sham", "rat", "sham surgery (rat; no nerve injury)", 0.0, 1.0,
        {"injury.insult_rate": 0.0}, "no insult"),
    Condition(
        "dpn", "human", "painful diabetic peripheral neuropathy (established)", -730.0, 1e5,
        {},
        "established, stable neuropathy: day 0 is the steady state under an ongoing "
        "hyperglycaemic insult (assumed); trials use 10-16 week programmes (Yoo 2015, "
        "PMID 25800666)", default_days=112, start="steady_state",
        linked=_links("dpn", *INJURY_LINKS, _ROS)),
    Condition(
        "cipn", "human", "chemotherapy-induced peripheral neuropathy (after ~20 weeks of "
        "chemotherapy)", -180.0, 140.0,
        {},
        "chemotherapy lasting ~20 weeks (Br J Cancer 2021, PMC8476560); day 0 is 40 days "
        "after the last cycle (assumed); rates assumed", default_days=84,
        linked=_links("cipn", *INJURY_LINKS, _ROS)),
)}


def get_condition(name: str) -> Condition:
    try:
        return CONDITIONS[name]
    except KeyError:
        raise InputError(
            f"condition: unknown name {name!r}; allowed: {', '.join(CONDITIONS)}") from None
