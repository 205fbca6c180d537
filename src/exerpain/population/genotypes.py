"""Genotypes of virtual subjects (humans), drawn with population frequencies.

Each variant has three genotypes, ordered by the number of copies of the *effect allele*
(0, 1, 2). Frequencies are either genotype frequencies seen in a study or derived from an
allele frequency under Hardy-Weinberg equilibrium. Addresses where the numbers were seen:
- BDNF rs6265 Met 0.195, 556 healthy Croatians (Pivac 2009, PMC2657559).
- OPRM1 rs1799971 G 0.186, FINRISK n=2360 (doi:10.1093/alcalc/agt050, PMID 23729673).
- COMT rs4680 Val/Val 25%, Val/Met 41%, Met/Met 34% (n=142, PMC6509985).
- SOD2 rs4880 Ala/Ala 27.7%, Ala/Val 43.1%, Val/Val 29.2% (n=65 Russian adolescents;
  small sample, discovery.researcher.life topic 4047617).
- IL10 -1082 G 0.441 (GCC haplotype), TNF -308 A 0.149: 205 healthy Polish Caucasians
  ("Frequencies of the common promoter polymorphisms in cytokine genes in a Polish
  population", discovery.researcher.life).
- 5-HTTLPR S/S 16.5%, S/L 48.0%, L/L 35.5% (n=1596 controls, PMC3692498 Table 2).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    name: str
    labels: tuple[str, str, str]  # by copies of the effect allele: 0, 1, 2
    frequencies: tuple[float, float, float]
    effect_allele: str
    source: str


def _hwe(p: float) -> tuple[float, float, float]:
    return ((1 - p) ** 2, 2 * p * (1 - p), p * p)


VARIANTS: tuple[Variant, ...] = (
    Variant("bdnf_rs6265", ("Val/Val", "Val/Met", "Met/Met"), _hwe(0.195), "Met",
            "Met allele 0.195 (Pivac 2009, PMC2657559), Hardy-Weinberg"),
    Variant("comt_rs4680", ("Val/Val", "Val/Met", "Met/Met"), (0.25, 0.41, 0.34), "Met",
            "25/41/34% (PMC6509985)"),
    Variant("oprm1_rs1799971", ("A/A", "A/G", "G/G"), _hwe(0.186), "G",
            "G allele 0.186 (FINRISK, PMID 23729673), Hardy-Weinberg"),
    Variant("sod2_rs4880", ("Ala/Ala", "Ala/Val", "Val/Val"), (0.277, 0.431, 0.292), "Val",
            "27.7/43.1/29.2% (n=65; discovery.researcher.life topic 4047617)"),
    Variant("il10_1082", ("A/A", "A/G", "G/G"), _hwe(0.441), "G",
            "G allele 0.441 (Polish Caucasians), Hardy-Weinberg"),
    Variant("tnf_308", ("G/G", "G/A", "A/A"), _hwe(0.149), "A",
            "A allele 0.149 (Polish Caucasians), Hardy-Weinberg"),
    Variant("httlpr", ("L/L", "S/L", "S/S"), (0.355, 0.480, 0.165), "S",
            "16.5/48.0/35.5% S/S, S/L, L/L (PMC3692498)"),
)
VARIANT_NAMES = tuple(v.name for v in VARIANTS)
