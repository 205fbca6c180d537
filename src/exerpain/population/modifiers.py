"""How covariates and genotypes shift a subject's parameters, each with its evidence.

A modifier multiplies one or more parameters. Genotype modifiers act on carriers of the
effect allele (``carriers``: one or two copies) or on homozygotes (``homozygotes``); covariate
modifiers act as ``exp(magnitude * (x - centre) / scale)``. Where the evidence gives only a
direction, the magnitude is a named parameter (group ``population``) that calibration may
fit; where the evidence is null, the magnitude is neutral (1 or 0) and the row documents it.
Directions come from ``../shared/evidence/modifiers.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from exerpain.model.mechanisms.base import param
from exerpain.model.parameters import Parameter

_OPIOID_EXERCISE = ("opioid.exercise_opioid_gain", "opioid.acute_opioid_gain")


@dataclass(frozen=True)
class Modifier:
    """``species``: who the modifier applies to (``human``, ``rodent`` or ``any``)."""

    name: str
    factor: str  # a genotype (VARIANT_NAMES) or covariate name
    mode: Literal["carriers", "homozygotes", "per_unit", "female"]
    targets: tuple[str, ...]
    magnitude: Parameter
    centre: float = 0.0
    scale: float = 1.0
    species: Literal["human", "rodent", "any"] = "human"


def _m(name, value, low, high, kind, provenance, description):
    return param(name, value, "dimensionless", low, high, kind, provenance, description)


MODIFIERS: tuple[Modifier, ...] = (
    Modifier("bdnf_met", "bdnf_rs6265", "carriers", ("neurotrophic.exercise_bdnf_gain",),
             _m("bdnf_met_factor", 0.5, 0.1, 1.0, "assumed",
                "direction: Met carriers had 72% lower odds of pain improvement with "
                "rehabilitation (de Toledo Goncalves 2023, PMID 36199368); size assumed",
                "multiplier on the neurotrophic exercise gain in Met carriers")),
    Modifier("oprm1_g", "oprm1_rs1799971", "carriers",
             (*_OPIOID_EXERCISE, "opioid.dopamine_opioid_gain"),
             _m("oprm1_g_factor", 0.7, 0.1, 1.0, "assumed",
                "direction: G carriers had 85% lower odds of pain improvement with "
                "rehabilitation (PMID 36199368); size assumed",
                "multiplier on opioid-mediated exercise gains in G carriers")),
    Modifier("comt_metmet", "comt_rs4680", "homozygotes", _OPIOID_EXERCISE,
             _m("comt_metmet_factor", 0.8, 0.1, 1.5, "assumed",
                "direction: Met/Met had smaller mu-opioid release to sustained pain "
                "(Zubieta 2003, Science); conflicting data (Baumbauer 2020); size assumed",
                "multiplier on the opioid exercise gains in Met/Met")),
    Modifier("sod2_valval", "sod2_rs4880", "homozygotes", ("oxidative.metabolic_ros",),
             _m("sod2_valval_factor", 1.25, 1.0, 2.0, "assumed",
                "direction: the Ala allele protects from diabetic complications (DN OR "
                "0.42, CKD OR 0.55, DR OR 0.66; modifiers.csv); size assumed",
                "multiplier on metabolic ROS production in Val/Val")),
    Modifier("il10_g", "il10_1082", "carriers", ("inflammation.kappa_il10",),
             _m("il10_g_factor", 1.0, 0.5, 2.0, "cited",
                "null: IL10 -1082 did not modify the exercise effect on inflammatory "
                "markers (Pereira 2013, AGE, doi:10.1007/s11357-013-9515-1); neutral",
                "multiplier on IL-10 restraint in G carriers")),
    Modifier("tnf_a", "tnf_308", "carriers", ("inflammation.cyt_per_damage",),
             _m("tnf_a_factor", 1.0, 0.5, 2.0, "cited",
                "null: TNF -308 did not modify the exercise effect on inflammatory markers "
                "(Pereira 2013, doi:10.1007/s11357-013-9515-1); neutral",
                "multiplier on cytokine production in A carriers")),
    Modifier("httlpr_ss", "httlpr", "homozygotes", ("monoaminergic.exercise_serotonin_gain",),
             _m("httlpr_ss_factor", 0.7, 0.1, 1.0, "assumed",
                "direction: S/S had more pain and poorer drug response in trigeminal "
                "neuralgia (doi:10.1186/1129-2377-15-42); null in 80 healthy people; "
                "size assumed", "multiplier on the serotonergic exercise gain in S/S")),
    Modifier("female", "female", "female", ("injury.ectopic_gain",),
             _m("female_pain_factor", 1.2, 1.0, 2.0, "assumed",
                "direction: women have more painful DPN (OR 1.5, PMC3177727; OR 2.69 T1D) "
                "and higher experimental pain sensitivity (ES 0.55, PMID 9520232); size "
                "assumed", "multiplier on ectopic drive in women")),
    Modifier("female_rodent_microglia", "female", "female",
             ("neurotrophic.bdnf_per_microglia",),
             _m("female_rodent_microglia_factor", 0.3, 0.05, 1.0, "assumed",
                "direction: mechanical hypersensitivity after nerve injury depends on spinal "
                "microglia (P2X4R-BDNF) in male but not female mice, which use T cells "
                "(Sorge 2015, Nat Neurosci 18:1081, doi:10.1038/nn.4053); size assumed",
                "multiplier on microglial BDNF release in female rodents"),
             species="rodent"),
    Modifier("age", "age", "per_unit", ("exercise.responsiveness_human",),
             _m("age_responsiveness_per_decade", -0.1, -0.5, 0.5, "assumed",
                "direction: reduced exercise-induced hypoalgesia in older adults (Naugle "
                "2016, PMC5006180; conflicting: similar EIH, Bement 2016); size assumed",
                "log-change of responsiveness per decade of age"), centre=60.0, scale=10.0),
    Modifier("bmi", "bmi", "per_unit", ("inflammation.cyt_per_damage",),
             _m("bmi_cytokine_per_5", 0.1, 0.0, 0.5, "assumed",
                "direction: obesity AOR 1.74 for painful DPN (PMC6825939); CRP falls more "
                "with BMI loss (ES 0.38 vs 0.19); size assumed",
                "log-change of cytokine production per 5 kg/m2"), centre=30.0, scale=5.0),
    Modifier("hba1c", "hba1c", "per_unit", ("injury.insult_rate",),
             _m("hba1c_insult_per_percent", 0.15, 0.0, 0.5, "assumed",
                "direction: HbA1c tracks neuropathy presence, not pain phenotype (Saudi "
                "T2DM, n=430; EURODIAB); size assumed",
                "log-change of the neuropathic insult per % HbA1c"), centre=7.6, scale=1.0),
    Modifier("fitness", "vo2max", "per_unit", _OPIOID_EXERCISE,
             _m("fitness_opioid_per_4ml", 0.1, 0.0, 0.5, "assumed",
                "direction: fitter people have larger, naloxone-sensitive hypoalgesia (Nold, "
                "eLife reviewed preprint 109061); MVPA predicts EIH (beta 0.35, Ohlman "
                "2018); size assumed",
                "log-change of opioid exercise gains per 4 ml/kg/min VO2max"),
             centre=16.0, scale=4.0),
)

SPREAD_NOMINAL = 0.25


def spread_parameter(mechanism: str) -> Parameter:
    """``sigma_<mechanism>``: between-subject spread of one mechanism module's parameters."""
    return param(f"sigma_{mechanism}", SPREAD_NOMINAL, "dimensionless (log scale)", 0.0, 1.0,
                 "assumed",
                 "prior centre: the former common spread of every mechanism (assumed); each "
                 "mechanism has its own, calibrated where between-subject variation of the "
                 "response informs it",
                 f"SD of log parameter values of the {mechanism} module around their nominal")


POPULATION_PARAMETERS: tuple[Parameter, ...] = (
    param("sigma_responsiveness", SPREAD_NOMINAL, "dimensionless (log scale)", 0.0, 1.0,
          "assumed", "prior centre assumed (the former common spread); calibrated to the "
          "between-subject variation of response where the evidence gives it",
          "SD of log exercise responsiveness around its nominal"),
    *(m.magnitude for m in MODIFIERS),
)
"""Population parameters besides the per-mechanism spreads (:func:`spread_parameter`, one per
mechanism module of the model, added by :meth:`exerpain.model.registry.Model.parameter_table`)."""
