"""Validation: the model against published findings, one check per finding, and how much
each check can tell.

Each :class:`Finding` states the published claim, the citation, the virtual experiment that
puts the model to the same test (:mod:`exerpain.calibrate.experiments`, the functions the
calibration fits, so the value validation shows is the value calibration fits) and the
:class:`Check` its value must pass. Every experiment of every finding is one vmapped solve.

Words become numbers by fixed rules:

- "abolished" = less than half of the exercise effect left, "not abolished" = more than
  three quarters left. Blockades compare like with like, as the experiments did: exercise +
  blockade against sedentary + blockade, over exercise against sedentary. Each blockade is
  checked twice, on the read-out and on log nociceptive drive (so that the read-out's floor
  cannot do the abolishing), and passes only if both agree;
- "hypersensitive" = sedentary threshold below 75% of the sham animal's on the same day;
- "no difference" = within 10% of the sedentary value;
- quantitative findings (the calibration targets, :mod:`exerpain.calibrate.targets`): inside
  the published 95% interval.

**Informativeness.** A check is evidence only if some plausible parameter values would fail
it. :func:`validate` draws ``draws`` parameter sets from the calibration prior (every free
parameter ``theta ~ Normal(theta_declared, PRIOR_SD)`` on the logit scale of its range,
:mod:`exerpain.calibrate.space`) and reports, per finding, the share of draws under which
the check fails (draws whose solve fails are left out and counted). A finding no draw fails
is ``structural``: it tests what the model's structure guarantees, not the biology, and it
leaves the pass rate. Each row's ``kind`` is ``fitted`` (the shipped calibration was fitted
to it, or the model was built from it), ``held-out`` (never seen by the shipped fit) or
``structural``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import jax
import jax.numpy as jnp
import numpy as np

from exerpain.calibrate.experiments import (
    Contrast,
    Experiment,
    SingleRun,
    benefit_fraction,
    benefit_of,
    kept_under,
    run_experiments,
)
from exerpain.calibrate.space import PRIOR_SD, free_space, to_theta
from exerpain.calibrate.targets import COBIANCHI, TARGETS, Target
from exerpain.model.calibrated import shipped
from exerpain.model.registry import Model
from exerpain.precision import float64

RODENT_DAYS = 42
DRAWS = 32
"""Default number of prior draws for informativeness (``exerpain validate --draws``)."""
DRAW_SEED = 2026
VF = "withdrawal_threshold_g"
DRIVE = "nociceptive_drive"


@dataclass(frozen=True)
class Check:
    """``lo < value < hi`` (either bound may be open: ``None``)."""

    lo: float | None = None
    hi: float | None = None

    def __call__(self, value: np.ndarray) -> np.ndarray:
        ok = np.isfinite(value)
        if self.lo is not None:
            ok &= value > self.lo
        if self.hi is not None:
            ok &= value < self.hi
        return ok

    def text(self) -> str:
        if self.lo is not None and self.hi is not None:
            return f"in ({self.lo:.3g}, {self.hi:.3g})"
        return f"> {self.lo:.3g}" if self.lo is not None else f"< {self.hi:.3g}"


ABOLISHED, NOT_ABOLISHED = Check(hi=0.5), Check(lo=0.75)
UP, DOWN, UNCHANGED = Check(lo=1.0), Check(hi=1.0), Check(0.9, 1.1)
POSITIVE = Check(lo=0.0)
HYPERSENSITIVE = Check(hi=0.75)


@dataclass(frozen=True)
class Finding:
    """A published finding, the experiment that tests it and the check on its value.

    ``also``: further experiments that must pass the same check (a blockade on log
    nociceptive drive). ``fitted``: calibration fits it, or the model was built from it
    (``note`` says which).
    """

    id: str
    mechanism: str
    citation: str
    claim: str
    experiment: Experiment
    check: Check
    fitted: bool = False
    also: tuple[Experiment, ...] = ()
    note: str = ""
    expected: str = field(default="")

    def expectation(self) -> str:
        return self.expected or self.check.text()


# --- experiment builders ------------------------------------------------------------------
def _blockade(id_: str, mechanism: str, citation: str, claim: str, condition: str,
              protocol: str, blockade: str, check: Check, note: str = "") -> Finding:
    """Checked on the read-out and on log nociceptive drive; fitted where the shipped
    calibration fitted its log-drive version (:data:`exerpain.calibrate.targets.
    BLOCKADE_TARGETS`)."""
    return Finding(id_, mechanism, citation, claim,
                   kept_under(condition, protocol, blockade, VF, RODENT_DAYS), check,
                   also=(kept_under(condition, protocol, blockade, DRIVE, RODENT_DAYS, True),),
                   note=note, fitted=id_ in SHIPPED_FIT,
                   expected=f"benefit kept {check.text()} (read-out and log drive)")


def _ratio(condition: str, protocol: str, quantity: str, day: int) -> Contrast:
    """Exercise / sedentary value of a state or read-out on ``day``."""
    return Contrast("ratio", (SingleRun(condition, protocol, day, quantity),
                              SingleRun(condition, "sedentary", day, quantity)))


def _injury_ratio(condition: str, quantity: str, day: int) -> Contrast:
    """Sedentary injured / sham value on ``day``."""
    return Contrast("ratio", (SingleRun(condition, "sedentary", day, quantity),
                              SingleRun("sham", "sedentary", day, quantity)))


def _benefit_fraction(condition: str, protocol: str, day: int, **kw) -> Contrast:
    """Exercise benefit over the sedentary deficit from sham, on the read-out."""
    return benefit_fraction(condition, protocol, day, VF, **kw)


def _target_finding(t: Target, mechanism: str) -> Finding:
    """A quantitative calibration target: the model inside the published 95% interval;
    ``fitted`` only if the shipped calibration was fitted to it."""
    lo, hi = t.interval()
    return Finding(t.id, mechanism, t.citation, t.claim, t.measure, Check(lo, hi),
                   fitted=t.id in SHIPPED_FIT, expected=f"in [{lo:.3g}, {hi:.3g}]")


STAGG = "Stagg 2011, doi:10.1097/ALN.0b013e318210f880"
BOBINSKI = "Bobinski 2018, doi:10.1097/j.pain.0000000000001109"
VTA = "Mol Pain 2016, PMC5140073"
NEGATIVE = ("negative control, not a published finding: a blockade of a route that carries "
            "a minor part of exercise's effect in the model must not remove most of it")
_TARGET = {t.id: t for t in TARGETS}
SHIPPED_FIT = frozenset(shipped().get("fitted_to", ()))
"""Targets the shipped calibration was fitted to (the others, even those
:mod:`exerpain.calibrate.targets` marks for fitting, have not been seen by it)."""
CCI, TM = "cci", "treadmill-moderate"


def _course(id_: str, citation: str, claim: str, condition: str, day: int,
            check: Check = HYPERSENSITIVE) -> Finding:
    """A dated statement about the sedentary course (``timecourses.csv``)."""
    return Finding(id_, "injury", citation, claim, _injury_ratio(condition, VF, day), check,
                   expected=f"sedentary / sham threshold on day {day} {check.text()}")


FINDINGS: tuple[Finding, ...] = (
    # --- blockades (both arms blocked; read-out and log drive) -------------------------
    _blockade("stagg-naloxone-systemic", "opioid", STAGG,
              "systemic naloxone abolishes exercise analgesia", CCI, TM, "naloxone", ABOLISHED),
    _blockade("stagg-naloxone-peripheral", "opioid", STAGG,
              "peripheral naloxone methiodide does not", CCI, TM, "naloxone-peripheral",
              NOT_ABOLISHED),
    _blockade("stagg-naloxone-brain", "opioid", STAGG,
              "i.c.v. naloxone methiodide abolishes it", CCI, TM, "naloxone-brain", ABOLISHED),
    _blockade("stagg-naloxone-spinal", "opioid", STAGG,
              "intrathecal naloxone methiodide does not", CCI, TM, "naloxone-spinal",
              NOT_ABOLISHED),
    _blockade("stagg-naltrexone-continuous", "opioid", STAGG,
              "continuous naltrexone prevents the effect", CCI, TM, "naltrexone-continuous",
              ABOLISHED),
    _blockade("bobinski-il4-ko", "inflammation", BOBINSKI,
              "no exercise analgesia in IL-4-/- mice", "pnsl", "treadmill-low", "il4-ko",
              ABOLISHED),
    _blockade("vta-silencing", "dopaminergic", VTA,
              "silencing VTA dopamine neurons offsets treadmill hypoalgesia", "pnsl",
              "treadmill-low", "vta-silencing", ABOLISHED),
    _blockade("leung-il10-blockade", "inflammation", "Leung 2016, PMID 26230740 (muscle pain)",
              "IL-10 blockade abolishes exercise analgesia", CCI, TM, "il10-ko", ABOLISHED),
    _blockade("negative-control-cb2", "endocannabinoid", "negative control (model check)",
              "CB2 blockade (AM630) does not abolish treadmill analgesia after CCI", CCI, TM,
              "am630", NOT_ABOLISHED, NEGATIVE),
    _blockade("negative-control-trkb", "neurotrophic", "negative control (model check)",
              "TrkB blockade (ANA-12) does not abolish treadmill analgesia after CCI", CCI, TM,
              "ana12", NOT_ABOLISHED, NEGATIVE),
    # --- mechanism directions, exercise vs sedentary injured ---------------------------
    Finding("chen2012-cytokines", "inflammation", "Chen 2012, doi:10.1213/ANE.0b013e31824c4ed4",
            "TNF-a and IL-1b lower in the nerve with exercise (CCI, day 21)",
            _ratio(CCI, TM, "inflammation.cytokines", 21), DOWN),
    Finding("bobinski-il4-up", "inflammation", BOBINSKI, "IL-4 restored by exercise",
            _ratio(CCI, TM, "inflammation.il4", 21), UP),
    Finding("bobinski-m2-up", "inflammation", BOBINSKI, "M2 macrophages up with exercise",
            _ratio(CCI, TM, "inflammation.m2_fraction", 21), UP),
    Finding("grace-il10-up", "inflammation", "Grace 2016, doi:10.1097/j.pain.0000000000000607",
            "serum IL-10 up with running", _ratio(CCI, "wheel", "inflammation.il10", 21), UP),
    Finding("cobianchi-microglia-down", "inflammation", COBIANCHI,
            "dorsal-horn microglia fall with running",
            _ratio(CCI, TM, "inflammation.microglia", 21), DOWN),
    Finding("lopez-alvarez-bdnf-spinal-down", "neurotrophic",
            "Lopez-Alvarez 2015, doi:10.1097/j.pain.0000000000000268",
            "BDNF falls with exercise (spinal/DRG)",
            _ratio(CCI, TM, "neurotrophic.bdnf_spinal", 21), DOWN),
    Finding("cho-seo-bdnf-peripheral-up", "neurotrophic", "Cho & Seo 2023, J Exerc Rehabil "
            "19(6)", "BDNF and GAP-43 rise in the DRG with walking (regenerative)",
            _ratio("sni", TM, "neurotrophic.bdnf_peripheral", 14), UP),
    Finding("cho-seo-regeneration", "injury", "Cho & Seo 2023, J Exerc Rehabil 19(6)",
            "exercise supports regeneration (less damage)",
            _ratio(CCI, TM, "injury.damage", 42), DOWN),
    Finding("kami-gad-preserved", "gabaergic", "Kami, Mol Pain (pSNL)", "running prevents the "
            "fall of GAD65/67", _ratio("pnsl", "treadmill-low", "gabaergic.gad", 21), UP),
    Finding("lopez-alvarez-kcc2", "gabaergic",
            "Lopez-Alvarez 2015, doi:10.1097/j.pain.0000000000000268",
            "exercise preserves the KCC2 balance", _ratio(CCI, TM, "gabaergic.kcc2", 21), UP),
    Finding("safakhah-frap-restored", "oxidative", "Safakhah 2017, doi:10.2147/JPR.S135081",
            "exercise restores antioxidant capacity (FRAP)",
            _ratio(CCI, TM, "oxidative.antioxidant", 21), UP),
    Finding("safakhah-frap-falls-with-cci", "oxidative", "Safakhah 2017, doi:10.2147/JPR.S135081",
            "CCI lowers antioxidant capacity (FRAP, P=0.001)",
            _injury_ratio(CCI, "oxidative.antioxidant", 21), DOWN),
    Finding("safakhah-mda-unchanged", "oxidative", "Safakhah 2017, doi:10.2147/JPR.S135081",
            "MDA did not differ between groups", _ratio(CCI, TM, "oxidative.ros", 21),
            UNCHANGED),
    Finding("stagg-opioid-peptides-up", "opioid", STAGG, "opioid peptides up in PAG/RVM with "
            "exercise", _ratio(CCI, TM, "opioid.tone", 35), UP),
    Finding("brito-sert-normalised", "monoaminergic",
            "Brito 2017, doi:10.1097/pr9.0000000000000618",
            "exercise normalises the raised RVM SERT", _ratio(CCI, TM, "monoaminergic.sert", 21),
            DOWN),
    Finding("bobinski2015-serotonin", "monoaminergic", "Bobinski 2015 (via PMC7984211 Table 1)",
            "brainstem serotonin mediates the effect",
            _ratio(CCI, TM, "monoaminergic.serotonin", 21), UP),
    Finding("kami-vta-pcreb", "dopaminergic", "Kami 2019 review, PMC6550110",
            "voluntary exercise raises pCREB in VTA dopamine neurons",
            _ratio(CCI, "wheel", "dopaminergic.vta_activity", 21), UP),
    Finding("koltyn-endocannabinoids-up", "endocannabinoid", "Koltyn 2014; Crombie 2018 "
            "(clinical.md section 2)", "AEA and 2-AG rise with exercise",
            _ratio("dpn", "resistance", "endocannabinoid.ecb", 30), UP),
    Finding("central-sensitization-released", "sensitization", "Grace 2016 (disinhibitory "
            "axis normalised); DESIGN.md", "central sensitization is lower with exercise",
            _ratio(CCI, TM, "sensitization.central_gain", 28), DOWN),
    Finding("chen2013-stz-cytokines-unchanged", "inflammation",
            "Chen 2013, doi:10.1213/ANE.0b013e318274e4a0",
            "STZ rats: TNF-a and IL-6 not different from sedentary at day 14",
            _ratio("stz", TM, "inflammation.cytokines", 14), UNCHANGED),
    # --- behaviour, dose and timing ------------------------------------------------------
    Finding("grace-prophylaxis", "exercise", "Grace 2016, doi:10.1097/j.pain.0000000000000607",
            "6 weeks of wheel running ending at CCI prevent full allodynia up to day 63",
            benefit_of(CCI, "wheel", 63, VF, start_day=-42.0, stop_day=0.0), POSITIVE),
    Finding("cobianchi-short-running", "exercise", COBIANCHI,
            "treadmill running on days 3-7 after injury reduces allodynia (read on day 7)",
            benefit_of(CCI, "treadmill-high", 7, VF, start_day=3.0, stop_day=8.0), POSITIVE),
    Finding("whitehead-wheel-1h-null", "exercise", "Whitehead 2017, PMC5161547",
            "1 h/day wheel access does not change CCI allodynia over 18 days",
            _benefit_fraction(CCI, "wheel", 18, start_day=0.0), Check(hi=0.15),
            expected="benefit fraction on day 18 < 0.15"),
    Finding("sheahan-sni-wheel-null", "exercise", "Sheahan 2015, doi:10.1371/journal.pone.0133191",
            "2 weeks of voluntary wheel running do not reverse SNI hypersensitivity",
            _benefit_fraction("sni", "wheel", 14, start_day=0.0), Check(hi=0.15),
            expected="benefit fraction on day 14 < 0.15"),
    # --- sedentary courses (dated statements in timecourses.csv) -------------------------
    _course("bennett-cci-onset", "Bennett & Xie 1988, doi:10.1016/0304-3959(88)90209-6",
            "CCI hypersensitivity from postoperative day 2", CCI, 3),
    _course("whitehead-cci-day18", "Whitehead 2017, PMC5161547",
            "CCI allodynia persistent through day 18", CCI, 18),
    _course("cci-day45-present", "timecourses.csv cci_gabapentin_d45_course",
            "CCI mechanical hyperalgesia still present on day 45", CCI, 45),
    _course("smith-sni-onset", "Mol Pain 2013;9:61, doi:10.1186/1744-8069-9-61",
            "SNI hypersensitivity from postoperative day 1", "sni", 2),
    _course("stz-day14", "Courteix 1993, doi:10.1016/0304-3959(93)90059-x",
            "STZ allodynia present after 2 weeks of diabetes", "stz", 14),
    _course("paclitaxel-day84", "Griffiths 2018, doi:10.1155/2018/8217613",
            "paclitaxel hypersensitivity persists for months (day 84)", "paclitaxel", 84),
    *(_target_finding(_TARGET[i], "injury") for i in (
        "paclitaxel-delayed-onset", "stz-threshold-day14", "sni-persistent-day180",
        "cci-persistent-day60", "cci-peak-by-day14", "cci-persists-day42",
        "sni-peak-by-day14", "wanghong-cci-day3-mechanical", "wanghong-cci-day3-heat")),
    *(_target_finding(_TARGET[i], "exercise") for i in (
        "matesanz-mechanical-smd", "matesanz-heat-smd", "cobianchi-prolonged-null",
        "liu-mechanical-smd", "liu-heat-smd")),
    # --- humans ----------------------------------------------------------------------------
    Finding("goldfarb-endorphin-threshold", "opioid", "Goldfarb 1990, PMID 2141380",
            "beta-endorphin needs >= 70% VO2max: HIIT raises opioid tone more than moderate "
            "aerobic exercise",
            Contrast("difference", (SingleRun("dpn", "hiit", 84, "opioid.tone"),
                                    SingleRun("dpn", "aerobic-moderate", 84, "opioid.tone"))),
            POSITIVE, fitted=True,
            note="circular: the intensity gate of the acute opioid signal was built from this "
                 "finding, so it counts as fitted"),
    *(_target_finding(_TARGET[i], "exercise") for i in (
        "dpn-virtual-trial-smd", "nakagawa-cipn-smd", "khmethong-cipn-g",
        "kluding-pain-change", "kluding-change-sd", "toth-vas-6-months", "factgog-cipn-smd",
        "sjmss-cipn-smd")),
    _target_finding(_TARGET["goncalves-bdnf-met"], "neurotrophic"),
    _target_finding(_TARGET["goncalves-oprm1-g"], "opioid"),
    *(_target_finding(_TARGET[i], "neurotrophic") for i in (
        "dinoff-bdnf-aerobic", "dinoff-bdnf-resistance")),
    *(_target_finding(_TARGET[i], "inflammation") for i in (
        "wang-tnf-resting", "wang-il6-resting", "il6-aerobic-resting",
        "il6-chronic-inflammatory", "leung-m2-share", "uok-il10-aerobic",
        "uok-il4-aerobic")),
    *(_target_finding(_TARGET[i], "oxidative") for i in ("qiu-mda-t2d", "qiu-sod-t2d")),
    *(_target_finding(_TARGET[i], "injury") for i in (
        "gholami-ncv-gain", "gholami-ncv-baseline", "singleton-ienfd-gain",
        "dpn-ienfd-deficit")),
    *(_target_finding(_TARGET[i], "readout") for i in ("chaplan-neuropathic-threshold",
                                                        "dpn-baseline-nrs")),
)


def _experiments(findings: tuple[Finding, ...]) -> tuple[Experiment, ...]:
    return tuple(e for f in findings for e in (f.experiment, *f.also))


@cache
def _evaluator(findings: tuple[Finding, ...]):
    """``theta -> (values, codes)`` of every experiment of ``findings`` (jit, one solve)."""
    model = Model.default()
    base = model.default_params(declared=True)
    space = free_space(model, model.parameter_table(declared=True))
    experiments = _experiments(findings)
    fn = jax.jit(lambda theta: run_experiments(experiments, space.params(theta, base)))
    return space, fn


def _passes(findings: tuple[Finding, ...], values: np.ndarray, codes: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Per finding: pass (every experiment passes the check) and solved (every code 0 and
    every value finite: with ``EQX_ON_ERROR=nan``, as the command line runs, an inner solve
    that would have raised returns NaN instead); ``values``/``codes`` have a leading axis
    over parameter sets."""
    passed, solved, i = [], [], 0
    for f in findings:
        k = 1 + len(f.also)
        v, c = values[:, i:i + k], codes[:, i:i + k]
        passed.append(np.all(f.check(v), axis=1))
        solved.append(np.all((c == 0) & np.isfinite(v), axis=1))
        i += k
    return np.stack(passed, axis=1), np.stack(solved, axis=1)


def shipped_theta(space) -> np.ndarray:
    """The shipped defaults of the free parameters on the logit scale."""
    defaults = Model.default().default_params()
    values = np.array([defaults[g][n] for g, n in space.keys])
    return to_theta(values, space.low, space.high)


@float64
def validate(findings: tuple[Finding, ...] = FINDINGS, draws: int = DRAWS,
             seed: int = DRAW_SEED,
             progress: Callable[[int, int, str], None] | None = None) -> dict:
    """Run every finding with the shipped defaults and under ``draws`` prior draws;
    ``progress(done, total, label)`` is called before the first solve (which compiles) and
    after each of the ``1 + draws`` solves.

    Returns ``{"findings": [...], "passed", "total", "by_set", "by_kind", "draws",
    "informative": {"passed", "total", "rate"}}``; each finding row has ``model_value``,
    ``pass``, ``set`` (fitted / held-out), ``informativeness`` (share of solved prior draws
    that fail it), ``draws_failed_to_solve`` and ``kind`` (fitted / held-out / structural).
    """
    if draws < 0:
        raise ValueError(f"draws: must be >= 0, got {draws}")
    total = 1 + draws

    def report(done: int, label: str) -> None:
        if progress is not None:
            progress(done, total, label)

    report(0, "shipped defaults (compiling)")
    space, fn = _evaluator(findings)
    values, codes = (np.asarray(x)[None] for x in fn(jnp.asarray(shipped_theta(space))))
    report(1, "prior draws" if draws else "done")
    if np.any(codes != 0):
        bad = [f.id for f, ok in zip(findings, _passes(findings, values, codes)[1][0],
                                     strict=True) if not ok]
        raise RuntimeError(f"validation: the shipped defaults fail to solve for {bad}")
    passed = _passes(findings, values, codes)[0][0]
    rng = np.random.default_rng(seed)
    draw_pass, draw_solved = [], []
    for _ in range(draws):
        theta = space.theta_prior + PRIOR_SD * rng.standard_normal(len(space.keys))
        try:
            v, c = (np.asarray(x)[None] for x in fn(jnp.asarray(theta)))
        except RuntimeError:  # an inner solve raised: the whole draw failed to solve
            v, c = values * np.nan, np.ones_like(codes)
        p, s = _passes(findings, v, c)
        draw_pass.append(p[0])
        draw_solved.append(s[0])
        report(1 + len(draw_pass), f"prior draw {len(draw_pass)}/{draws}")
    rows = []
    for j, f in enumerate(findings):
        solved = np.array([s[j] for s in draw_solved], dtype=bool)
        fails = np.array([not p[j] for p in draw_pass], dtype=bool) & solved
        informativeness = float(fails.sum() / solved.sum()) if solved.any() else float("nan")
        set_ = "fitted" if f.fitted else "held-out"
        structural = draws > 0 and solved.any() and not fails.any()
        row = {"id": f.id, "mechanism": f.mechanism, "citation": f.citation, "claim": f.claim,
               "model_value": float(values[0, _index(findings, j)]),
               "expected": f.expectation(), "pass": bool(passed[j]), "set": set_,
               "informativeness": informativeness,
               "draws_failed_to_solve": int((~solved).sum()),
               "kind": "structural" if structural else set_}
        if f.also:
            row["also_values"] = [float(values[0, _index(findings, j) + 1 + k])
                                  for k in range(len(f.also))]
        if f.note:
            row["note"] = f.note
        rows.append(row)
    return _summary(rows, draws, seed)


def _index(findings: tuple[Finding, ...], j: int) -> int:
    return sum(1 + len(f.also) for f in findings[:j])


def _summary(rows: list[dict], draws: int, seed: int) -> dict:
    def count(key: str, name: str) -> dict:
        chosen = [r for r in rows if r[key] == name]
        return {"passed": sum(r["pass"] for r in chosen), "total": len(chosen)}

    informative = [r for r in rows if r["kind"] != "structural"]
    n_pass = sum(r["pass"] for r in informative)
    return {
        "findings": rows, "passed": sum(r["pass"] for r in rows), "total": len(rows),
        "by_set": {name: count("set", name) for name in ("fitted", "held-out")},
        "by_kind": {name: count("kind", name) for name in ("fitted", "held-out", "structural")},
        "informative": {"passed": n_pass, "total": len(informative),
                        "rate": n_pass / len(informative) if informative else float("nan")},
        "draws": draws, "draw_seed": seed,
    }


@cache
def target_values() -> dict[str, float]:
    """Model value of every calibration target with the shipped defaults (one solve)."""
    from exerpain.calibrate.targets import measure_all

    values, code = jax.jit(lambda params: measure_all(TARGETS, params))(
        Model.default().default_params())
    if int(code) != 0:
        raise RuntimeError("a calibration target's simulation failed with the defaults")
    return {t.id: float(v) for t, v in zip(TARGETS, np.asarray(values), strict=True)}
