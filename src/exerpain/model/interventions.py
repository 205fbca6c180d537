"""Interventions: experimental blockades/knock-outs and drugs used beside exercise.

Each intervention acts on named pharmacological targets declared by the mechanism modules,
as a fraction 0..1 of complete action (receptor occupancy, depletion, knock-out = 1).
Interventions act over the whole simulated period (continuous administration or genetic
knock-out). Several interventions on one target combine as independent actions:
``1 - prod(1 - a_i)``.

A *blockade* removes a mechanism's effect, including its own tone; an *attribution ablation*
(:mod:`exerpain.simulate.scenario`, ``--ablate``) removes only exercise's action through it.
The blockade fractions below are assumptions standing for high-occupancy experimental doses;
the experiments they represent are cited. Drugs (:mod:`exerpain.model.pharmacology`) act at
their usual dose, with the action calibrated to their trials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from exerpain.errors import InputError
from exerpain.model.pharmacology import Drug, drugs


@dataclass(frozen=True)
class Intervention:
    name: str
    kind: Literal["blockade", "drug"]
    targets: dict[str, float]
    description: str
    provenance: str


_OPIOID_ALL = {"mor_supraspinal": 0.95, "mor_spinal": 0.95, "mor_peripheral": 0.95}

INTERVENTIONS: dict[str, Intervention] = {i.name: i for i in (
    Intervention("naloxone", "blockade", _OPIOID_ALL,
                 "systemic opioid antagonist (naloxone 1 mg/kg s.c.)",
                 "Stagg 2011, doi:10.1097/ALN.0b013e318210f880; occupancy 0.95 assumed"),
    Intervention("naloxone-peripheral", "blockade", {"mor_peripheral": 0.95},
                 "peripheral opioid antagonist (naloxone methiodide 0.1 mg/kg s.c.)",
                 "Stagg 2011; occupancy assumed"),
    Intervention("naloxone-spinal", "blockade", {"mor_spinal": 0.95},
                 "spinal opioid antagonist (naloxone methiodide 10 ug intrathecal)",
                 "Stagg 2011; occupancy assumed"),
    Intervention("naloxone-brain", "blockade", {"mor_supraspinal": 0.95},
                 "brain opioid antagonist (naloxone methiodide 2 ug i.c.v.)",
                 "Stagg 2011; occupancy assumed"),
    Intervention("naltrexone-continuous", "blockade", _OPIOID_ALL,
                 "continuous systemic opioid antagonist (naltrexone 70 ug/h)",
                 "Stagg 2011; occupancy assumed"),
    Intervention("pcpa", "blockade", {"tph": 0.9},
                 "serotonin depletion by tryptophan hydroxylase inhibition (PCPA)",
                 "serotonin route named by Bobinski 2015; depletion 0.9 assumed"),
    Intervention("am251", "blockade", {"cb1": 0.9}, "CB1 receptor antagonist (AM251)",
                 "occupancy assumed"),
    Intervention("am630", "blockade", {"cb2": 0.9}, "CB2 receptor antagonist (AM630)",
                 "occupancy assumed"),
    Intervention("il4-ko", "blockade", {"il4": 1.0}, "IL-4 knock-out (IL-4-/- mice)",
                 "Bobinski 2018, doi:10.1097/j.pain.0000000000001109"),
    Intervention("il10-ko", "blockade", {"il10": 1.0}, "IL-10 knock-out",
                 "IL-10 blockade abolished exercise analgesia in muscle pain (PMID 26230740)"),
    Intervention("minocycline", "blockade", {"microglia": 0.7},
                 "microglial inhibitor (minocycline)", "inhibition 0.7 assumed"),
    Intervention("ana12", "blockade", {"trkb": 0.8}, "TrkB antagonist (ANA-12)",
                 "TrkB-IgG tested in SCI (Li 2020, PMC7235678; result not available); "
                 "inhibition assumed"),
    Intervention("nac", "drug", {"antioxidant_supplement": 0.5}, "N-acetylcysteine",
                 "action 0.5 assumed"),
    Intervention("bicuculline", "blockade", {"gabaa": 0.8}, "GABA-A antagonist (bicuculline)",
                 "occupancy assumed"),
    Intervention("vta-silencing", "blockade", {"vta": 0.8},
                 "chemogenetic (hM4Di) silencing of VTA dopamine neurons",
                 "PMC5140073; suppression 0.8 assumed"),
)}


def _drug_intervention(drug: Drug) -> Intervention:
    """A drug given at its usual dose, at steady exposure over the whole run (a trial's
    schedule, with titration, is :func:`exerpain.model.pharmacology.dosing_inputs`)."""
    action = drug.action(drug.usual_dose_mg_day)
    return Intervention(drug.name, "drug", {t: action * share for t, share in drug.targets.items()},
                        f"{drug.name} {drug.usual_dose_mg_day:g} mg/day ({drug.description})",
                        f"{drug.emax.name}: {drug.emax.provenance}")


INTERVENTIONS.update({d.name: _drug_intervention(d) for d in drugs().values()})


def get_intervention(name: str) -> Intervention:
    try:
        return INTERVENTIONS[name]
    except KeyError:
        raise InputError(f"intervention: unknown name {name!r}; allowed: "
                         f"{', '.join(INTERVENTIONS)}") from None


def target_fractions(names: list[str], target_names: tuple[str, ...]) -> dict[str, float]:
    """Combined action on every target of the model (independent actions multiply)."""
    remaining = {t: 1.0 for t in target_names}
    for name in names:
        for target, fraction in get_intervention(name).targets.items():
            if target not in remaining:
                raise InputError(f"intervention {name!r}: target {target!r} is not in the model")
            remaining[target] *= 1.0 - fraction
    return {t: 1.0 - r for t, r in remaining.items()}
