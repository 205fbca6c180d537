"""Validation: the model against published findings, one check per finding.

Each :class:`Finding` states the published claim (a direction, a blockade result, or a
magnitude with its interval), the citation, and how the model is put to the same test
(condition, protocol, read-out or mediator, day). ``validate()`` runs them all and reports
the model's value and pass/fail. Thresholds used for words: "abolished" = less than half of
the exercise benefit left; "not abolished" = more than three quarters left; "no difference"
= within 10% of the sedentary value. Quantitative findings are the calibration targets
(:mod:`exerpain.calibrate.targets`), measured by the same virtual experiments the calibration
fits: effect sizes as the standardised mean difference between the exercise and sedentary
arms of a virtual cohort with measurement error (pooled SD, no small-sample correction).
Each row says whether calibration fits it (``fitted``) or never sees it (``held-out``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import jax
import numpy as np

from exerpain.calibrate.targets import TARGETS, Target, measure_all
from exerpain.model.registry import Model
from exerpain.simulate.pair import PairResult, simulate_pair

RODENT_DAYS = 42


@dataclass(frozen=True)
class Finding:
    id: str
    mechanism: str
    citation: str
    claim: str
    expected: str
    evaluate: Callable[[], tuple[float, bool]]
    fitted: bool = False  # True: calibration fits this finding (False: held out)


@cache
def _pair(condition: str, protocol: str, interventions: tuple = (), days: int | None = None,
          start_day: float | None = None, stop_day: float | None = None) -> PairResult:
    return simulate_pair(condition, protocol, interventions=interventions, days=days,
                         start_day=start_day, stop_day=stop_day)


def _benefit(condition, protocol, interventions=(), days=RODENT_DAYS, **kw) -> float:
    return _pair(condition, protocol, tuple(interventions), days, **kw).summary["benefit"]


def _kept(condition, protocol, intervention, days=RODENT_DAYS) -> float:
    return _benefit(condition, protocol, (intervention,), days) / _benefit(
        condition, protocol, (), days)


def _ratio(condition, protocol, state, day, days=RODENT_DAYS) -> float:
    """Exercise / sedentary value of a state on ``day``."""
    tr = _pair(condition, protocol, (), days).trajectory
    j = tr.state_names.index(state)
    return float(tr.states[0, day, j] / tr.states[1, day, j])


def _injury_ratio(condition, state, day, days=RODENT_DAYS) -> float:
    """Sedentary injured / healthy value of a state on ``day``."""
    tr = _pair(condition, "sedentary", (), days).trajectory
    j = tr.state_names.index(state)
    return float(tr.states[1, day, j] / tr.states[1, 0, j])


@cache
def target_values() -> dict[str, float]:
    """Model value of every calibration target (:mod:`exerpain.calibrate.targets`) with the
    shipped defaults, each virtual cohort simulated once."""
    model = Model.default()
    values, code = _measure_targets()(model.default_params())
    if int(code) != 0:
        raise RuntimeError("a calibration target's simulation failed with the defaults")
    return {t.id: float(v) for t, v in zip(TARGETS, np.asarray(values), strict=True)}


@cache
def _measure_targets():
    return jax.jit(lambda params: measure_all(TARGETS, params))


def _target_finding(t: Target, mechanism: str) -> Finding:
    """A quantitative calibration target as a finding: the model inside the published 95%
    interval (or ``target +/- 1.96 sd``)."""
    lo, hi = t.interval()
    return Finding(t.id, mechanism, t.citation, t.claim, f"in [{lo:.3g}, {hi:.3g}]",
                   lambda: _within(target_values()[t.id], lo, hi), fitted=not t.held_out)


def _direction(value: float, up: bool) -> tuple[float, bool]:
    return value, (value > 1.0) if up else (value < 1.0)


def _lt(value: float, bound: float) -> tuple[float, bool]:
    return value, value < bound


def _gt(value: float, bound: float) -> tuple[float, bool]:
    return value, value > bound


def _within(value: float, lo: float, hi: float) -> tuple[float, bool]:
    return value, lo <= value <= hi


STAGG = "Stagg 2011, doi:10.1097/ALN.0b013e318210f880"
BOBINSKI = "Bobinski 2018, doi:10.1097/j.pain.0000000000001109"
VTA = "Mol Pain 2016, PMC5140073"
_TARGET = {t.id: t for t in TARGETS}
CCI, TM = "cci", "treadmill-moderate"

FINDINGS: tuple[Finding, ...] = (
    # --- blockades ---------------------------------------------------------------------
    Finding("stagg-naloxone-systemic", "opioid", STAGG, "systemic naloxone abolishes exercise "
            "analgesia", "benefit kept < 0.5", lambda: _lt(_kept(CCI, TM, "naloxone"), 0.5)),
    Finding("stagg-naloxone-peripheral", "opioid", STAGG, "peripheral naloxone methiodide does "
            "not", "benefit kept > 0.75",
            lambda: _gt(_kept(CCI, TM, "naloxone-peripheral"), 0.75)),
    Finding("stagg-naloxone-brain", "opioid", STAGG, "i.c.v. naloxone methiodide abolishes it",
            "benefit kept < 0.5", lambda: _lt(_kept(CCI, TM, "naloxone-brain"), 0.5)),
    Finding("stagg-naloxone-spinal", "opioid", STAGG, "intrathecal naloxone methiodide does "
            "not", "benefit kept > 0.75", lambda: _gt(_kept(CCI, TM, "naloxone-spinal"), 0.75)),
    Finding("stagg-naltrexone-continuous", "opioid", STAGG, "continuous naltrexone prevents "
            "the effect", "benefit kept < 0.5",
            lambda: _lt(_kept(CCI, TM, "naltrexone-continuous"), 0.5)),
    Finding("bobinski-il4-ko", "inflammation", BOBINSKI, "no exercise analgesia in IL-4-/- "
            "mice", "benefit kept < 0.5",
            lambda: _lt(_kept("pnsl", "treadmill-low", "il4-ko"), 0.5)),
    Finding("vta-silencing", "dopaminergic", VTA, "silencing VTA dopamine neurons offsets "
            "treadmill hypoalgesia", "benefit kept < 0.5",
            lambda: _lt(_kept("pnsl", "treadmill-low", "vta-silencing"), 0.5)),
    Finding("leung-il10-blockade", "inflammation", "Leung 2016, PMID 26230740 (muscle pain)",
            "IL-10 blockade abolishes exercise analgesia", "benefit kept < 0.5",
            lambda: _lt(_kept(CCI, TM, "il10-ko"), 0.5)),
    # --- mechanism directions, exercise vs sedentary injured -----------------------------
    Finding("chen2012-cytokines", "inflammation", "Chen 2012, doi:10.1213/ANE.0b013e31824c4ed4",
            "TNF-a and IL-1b lower in the nerve with exercise (CCI, day 21)",
            "ratio < 1", lambda: _direction(_ratio(CCI, TM, "inflammation.cytokines", 21),
                                             False)),
    Finding("bobinski-il4-up", "inflammation", BOBINSKI, "IL-4 restored by exercise",
            "ratio > 1", lambda: _direction(_ratio(CCI, TM, "inflammation.il4", 21), True)),
    Finding("bobinski-m2-up", "inflammation", BOBINSKI, "M2 macrophages up with exercise",
            "ratio > 1",
            lambda: _direction(_ratio(CCI, TM, "inflammation.m2_fraction", 21), True)),
    Finding("grace-il10-up", "inflammation", "Grace 2016, doi:10.1097/j.pain.0000000000000607",
            "serum IL-10 up with running", "ratio > 1",
            lambda: _direction(_ratio(CCI, "wheel", "inflammation.il10", 21), True)),
    Finding("cobianchi-microglia-down", "inflammation",
            "Cobianchi 2010, doi:10.1016/j.neuroscience.2010.03.035",
            "dorsal-horn microglia fall with running", "ratio < 1",
            lambda: _direction(_ratio(CCI, TM, "inflammation.microglia", 21), False)),
    Finding("lopez-alvarez-bdnf-spinal-down", "neurotrophic",
            "Lopez-Alvarez 2015, doi:10.1097/j.pain.0000000000000268",
            "BDNF falls with exercise (spinal/DRG)", "ratio < 1",
            lambda: _direction(_ratio(CCI, TM, "neurotrophic.bdnf_spinal", 21), False)),
    Finding("cho-seo-bdnf-peripheral-up", "neurotrophic", "Cho & Seo 2023, J Exerc Rehabil "
            "19(6)", "BDNF and GAP-43 rise in the DRG with walking (regenerative)", "ratio > 1",
            lambda: _direction(_ratio("sni", TM, "neurotrophic.bdnf_peripheral", 14), True)),
    Finding("cho-seo-regeneration", "injury", "Cho & Seo 2023, J Exerc Rehabil 19(6)",
            "exercise supports regeneration (less damage)", "ratio < 1",
            lambda: _direction(_ratio(CCI, TM, "injury.damage", 42), False)),
    Finding("kami-gad-preserved", "gabaergic", "Kami, Mol Pain (pSNL)", "running prevents the "
            "fall of GAD65/67", "ratio > 1",
            lambda: _direction(_ratio("pnsl", "treadmill-low", "gabaergic.gad", 21), True)),
    Finding("lopez-alvarez-kcc2", "gabaergic",
            "Lopez-Alvarez 2015, doi:10.1097/j.pain.0000000000000268",
            "exercise preserves the KCC2 balance", "ratio > 1",
            lambda: _direction(_ratio(CCI, TM, "gabaergic.kcc2", 21), True)),
    Finding("safakhah-frap-restored", "oxidative", "Safakhah 2017, doi:10.2147/JPR.S135081",
            "exercise restores antioxidant capacity (FRAP)", "ratio > 1",
            lambda: _direction(_ratio(CCI, "treadmill-moderate", "oxidative.antioxidant", 21),
                               True)),
    Finding("safakhah-frap-falls-with-cci", "oxidative", "Safakhah 2017, doi:10.2147/JPR.S135081",
            "CCI lowers antioxidant capacity (FRAP, P=0.001)", "injured/healthy < 1",
            lambda: _direction(_injury_ratio(CCI, "oxidative.antioxidant", 21), False)),
    Finding("safakhah-mda-unchanged", "oxidative", "Safakhah 2017, doi:10.2147/JPR.S135081",
            "MDA did not differ between groups", "|ratio - 1| < 0.1",
            lambda: _within(_ratio(CCI, TM, "oxidative.ros", 21), 0.9, 1.1)),
    Finding("stagg-opioid-peptides-up", "opioid", STAGG, "opioid peptides up in PAG/RVM with "
            "exercise", "ratio > 1",
            lambda: _direction(_ratio(CCI, TM, "opioid.tone", 35), True)),
    Finding("brito-sert-normalised", "monoaminergic",
            "Brito 2017, doi:10.1097/pr9.0000000000000618",
            "exercise normalises the raised RVM SERT", "ratio < 1",
            lambda: _direction(_ratio(CCI, TM, "monoaminergic.sert", 21), False)),
    Finding("bobinski2015-serotonin", "monoaminergic", "Bobinski 2015 (via PMC7984211 Table 1)",
            "brainstem serotonin mediates the effect", "serotonin ratio > 1",
            lambda: _direction(_ratio(CCI, TM, "monoaminergic.serotonin", 21), True)),
    Finding("kami-vta-pcreb", "dopaminergic", "Kami 2019 review, PMC6550110",
            "voluntary exercise raises pCREB in VTA dopamine neurons", "ratio > 1",
            lambda: _direction(_ratio(CCI, "wheel", "dopaminergic.vta_activity", 21), True)),
    Finding("koltyn-endocannabinoids-up", "endocannabinoid", "Koltyn 2014; Crombie 2018 "
            "(clinical.md section 2)", "AEA and 2-AG rise with exercise", "ratio > 1",
            lambda: _direction(_ratio("dpn", "resistance", "endocannabinoid.ecb", 30, None),
                               True)),
    Finding("central-sensitization-released", "sensitization", "Grace 2016 (disinhibitory "
            "axis normalised); DESIGN.md", "central sensitization is lower with exercise",
            "ratio < 1",
            lambda: _direction(_ratio(CCI, TM, "sensitization.central_gain", 28), False)),
    Finding("chen2013-stz-cytokines-unchanged", "inflammation",
            "Chen 2013, doi:10.1213/ANE.0b013e318274e4a0",
            "STZ rats: TNF-a and IL-6 not different from sedentary at day 14",
            "|ratio - 1| < 0.1",
            lambda: _within(_ratio("stz", TM, "inflammation.cytokines", 14), 0.9, 1.1)),
    # --- behaviour and dose ---------------------------------------------------------------
    Finding("grace-prophylaxis", "exercise", "Grace 2016, doi:10.1097/j.pain.0000000000000607",
            "6 weeks of running ending before CCI attenuate allodynia (read on day 42)",
            "benefit > 0",
            lambda: _gt(_benefit(CCI, "wheel", (), RODENT_DAYS, start_day=-42.0,
                                 stop_day=0.0), 0.0)),
    Finding("cobianchi-long-running", "exercise",
            "Cobianchi 2010, doi:10.1016/j.neuroscience.2010.03.035",
            "long, fast running is less effective than moderate running",
            "benefit(high) / benefit(moderate) < 1",
            lambda: _lt(_benefit(CCI, "treadmill-high") / _benefit(CCI, TM), 1.0)),
    Finding("sheahan-sni-wheel-null", "exercise", "Sheahan 2015, doi:10.1371/journal.pone.0133191",
            "2 weeks of voluntary wheel running do not reverse SNI hypersensitivity",
            "benefit fraction < 0.15",
            lambda: _lt(_pair("sni", "wheel", (), 14, 0.0).summary["benefit_fraction"], 0.15)),
    *(_target_finding(_TARGET[i], "exercise") for i in (
        "matesanz-mechanical-smd", "matesanz-heat-smd")),
    # --- humans ----------------------------------------------------------------------------
    Finding("dinoff-bdnf-aerobic-vs-resistance", "neurotrophic",
            "Dinoff 2016, doi:10.1371/journal.pone.0163037",
            "resting BDNF rises with aerobic (SMD 0.66), not resistance (0.07) training",
            "aerobic rise / resistance rise > 5",
            lambda: _gt((_ratio("dpn", "aerobic-moderate", "neurotrophic.bdnf_peripheral", 84,
                                None) - 1)
                        / max(_ratio("dpn", "resistance", "neurotrophic.bdnf_peripheral", 84,
                                     None) - 1, 1e-12), 5.0)),
    Finding("goldfarb-endorphin-threshold", "opioid", "Goldfarb 1990, PMID 2141380",
            "beta-endorphin needs >= 70% VO2max: HIIT raises opioid tone more than moderate "
            "aerobic exercise", "ratio(hiit) > ratio(aerobic-moderate)",
            lambda: _gt(_ratio("dpn", "hiit", "opioid.tone", 84, None)
                        - _ratio("dpn", "aerobic-moderate", "opioid.tone", 84, None), 0.0)),
    *(_target_finding(_TARGET[i], "exercise") for i in (
        "dpn-virtual-trial-smd", "nakagawa-cipn-smd", "khmethong-cipn-g")),
    _target_finding(_TARGET["leung-m2-share"], "inflammation"),
    *(_target_finding(_TARGET[i], "readout") for i in ("chaplan-neuropathic-threshold",
                                                        "dpn-baseline-nrs")),
)


def validate(findings: tuple[Finding, ...] = FINDINGS) -> dict:
    """Run every finding; returns ``{"findings": [...], "passed": k, "total": n}``."""
    rows = []
    for f in findings:
        value, ok = f.evaluate()
        rows.append({"id": f.id, "mechanism": f.mechanism, "citation": f.citation,
                     "claim": f.claim, "model_value": float(value), "expected": f.expected,
                     "pass": bool(ok), "set": "fitted" if f.fitted else "held-out"})
    passed = sum(r["pass"] for r in rows)
    by_set = {name: {"passed": sum(r["pass"] for r in rows if r["set"] == name),
                     "total": sum(r["set"] == name for r in rows)}
              for name in ("fitted", "held-out")}
    return {"findings": rows, "passed": passed, "total": len(rows), "by_set": by_set}
