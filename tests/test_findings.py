"""Published directional findings, reproduced with the default parameters.

Each test cites its source (see ../shared/evidence/ and the package docstrings). "Abolish
most" is read as keeping less than half of the exercise benefit; "does not abolish" as
keeping more than three quarters of it.
"""

from __future__ import annotations

import numpy as np
import pytest

RODENT_DAYS = 42
HEALTHY_G = 15.0


def kept(simulate, condition, protocol, intervention, days=RODENT_DAYS):
    base = simulate(condition, protocol, days=days).summary["benefit"]
    blocked = simulate(condition, protocol, (intervention,), days=days).summary["benefit"]
    return blocked / base


@pytest.mark.parametrize("condition", ["cci", "sni", "stz", "paclitaxel", "pnsl"])
def test_injury_lowers_withdrawal_threshold(simulate, condition):
    """Nerve injury causes mechanical allodynia (Bennett & Xie 1988; Decosterd & Woolf 2000;
    Seltzer 1990; Courteix 1993; Polomano 2001): threshold at day 21 below healthy by the
    rule ``exerpain validate`` uses for a dated statement (under 3/4 of sham)."""
    s = simulate(condition, "sedentary", days=RODENT_DAYS)
    threshold = s.trajectory.observables["withdrawal_threshold_g"][1]
    assert threshold[0] == pytest.approx(s.summary["healthy_value"], rel=1e-6)
    assert threshold[21] < 0.75 * s.summary["healthy_value"]


@pytest.mark.parametrize("condition,protocol", [
    ("cci", "treadmill-moderate"), ("cci", "swimming"), ("cci", "wheel"),
    ("pnsl", "treadmill-low"), ("stz", "treadmill-moderate"), ("paclitaxel", "swimming"),
])
def test_exercise_raises_threshold_versus_sedentary(simulate, condition, protocol):
    """Exercise reduces mechanical hypersensitivity after nerve injury: pooled SMD 0.53
    (0.31-0.74) (Matesanz-Garcia 2023, doi:10.1016/j.jpain.2023.01.011)."""
    s = simulate(condition, protocol, days=RODENT_DAYS).summary
    assert s["benefit"] > 0
    assert s["exercise_value"] > s["sedentary_value"]


def test_cci_benefit_is_partial_reversal(simulate):
    """Done-when of the model issue: positive benefit that is a partial, not total, reversal.
    (The size is calibrated to the pooled rodent SMD 0.53 through a virtual cohort, which
    gives about 7% of the deficit at day 42 with the shipped fit.)"""
    s = simulate("cci", "treadmill-moderate", days=RODENT_DAYS).summary
    assert 0.0 < s["benefit_fraction"] < 0.9


@pytest.mark.parametrize("intervention", ["naloxone", "naloxone-brain", "naltrexone-continuous"])
def test_central_opioid_blockade_abolishes_most_of_the_benefit(simulate, intervention):
    """Systemic naloxone, i.c.v. naloxone methiodide and continuous naltrexone abolished
    exercise analgesia after SNL (Stagg 2011, doi:10.1097/ALN.0b013e318210f880)."""
    assert kept(simulate, "cci", "treadmill-moderate", intervention) < 0.5


@pytest.mark.parametrize("intervention", ["naloxone-peripheral", "naloxone-spinal"])
def test_peripheral_or_spinal_opioid_blockade_does_not(simulate, intervention):
    """s.c. and intrathecal naloxone methiodide did not abolish it (Stagg 2011)."""
    assert kept(simulate, "cci", "treadmill-moderate", intervention) > 0.75


@pytest.mark.xfail(strict=True, reason="known model failure, reported by exerpain validate: "
                   "the shipped fit leaves 70% of the effect on log drive under IL-4 knock-out, "
                   "a fitted target it misses (z = 3.6); with VTA silencing fitted too, both "
                   "cannot pass while separate routes add on log drive (README)")
def test_il4_knockout_abolishes_most_of_the_benefit(simulate):
    """No exercise analgesia and no M2 shift in IL-4-/- mice (Bobinski 2018,
    doi:10.1097/j.pain.0000000000001109); low-intensity treadmill after sciatic injury."""
    assert kept(simulate, "pnsl", "treadmill-low", "il4-ko") < 0.5
    assert kept(simulate, "cci", "treadmill-moderate", "il4-ko") < 0.5


def test_il4_knockout_prevents_the_m2_shift(simulate):
    """Bobinski 2018: exercise raised M2 macrophages, not in IL-4-/- mice."""
    def m2_gain(interventions):
        tr = simulate("pnsl", "treadmill-low", interventions, days=RODENT_DAYS).trajectory
        i = tr.state_names.index("inflammation.m2_fraction")
        return tr.states[0, -1, i] - tr.states[1, -1, i]

    assert m2_gain(()) > 0.05
    assert m2_gain(("il4-ko",)) < 0.2 * m2_gain(())


def test_vta_silencing_offsets_the_benefit(simulate):
    """hM4Di silencing of VTA dopamine neurons 'dramatically offset' treadmill hypoalgesia in
    pSNL mice (PMC5140073)."""
    assert kept(simulate, "pnsl", "treadmill-low", "vta-silencing") < 0.5


@pytest.mark.parametrize("protocol", ["treadmill-low", "treadmill-moderate", "treadmill-high",
                                      "swimming", "wheel"])
def test_exercise_in_sham_animals_does_not_create_hypersensitivity(simulate, protocol):
    """Exercise in uninjured (sham) animals does not cause hypersensitivity (Grace 2016 and
    the sham arms of the rodent studies; preclinical.md). Overload may lower the threshold by
    less than one filament step (filaments are spaced ~0.22 log10 units, Chaplan 1994, i.e.
    ~40%); we require less than 5%, and none at moderate loads."""
    tr = simulate("sham", protocol, days=RODENT_DAYS).trajectory
    threshold = tr.observables["withdrawal_threshold_g"]
    assert np.all(threshold[1] == pytest.approx(HEALTHY_G, rel=1e-9))
    assert np.all(threshold[0] >= 0.95 * HEALTHY_G)
    if protocol != "treadmill-high":
        assert np.all(threshold[0] >= HEALTHY_G - 1e-6)


def test_exercise_before_injury_attenuates_onset(simulate):
    """Six weeks of wheel running ending before CCI attenuated the development of allodynia
    (Grace 2016, doi:10.1097/j.pain.0000000000000607)."""
    s = simulate("cci", "wheel", days=RODENT_DAYS, start_day=-42.0, stop_day=0.0)
    threshold = s.trajectory.observables["withdrawal_threshold_g"]
    for day in (3, 7, 14):
        assert threshold[0, day] > threshold[1, day]
    assert s.summary["benefit"] > 0


def test_overload_turns_pro_inflammatory_only_after_weeks(model):
    """Excess load accumulates over weeks (non-functional overreaching, Meeusen 2013) before
    it becomes a stressor, so prolonged heavy running can be 'unfavourable' while a short
    bout is not (Cobianchi 2010, doi:10.1016/j.neuroscience.2010.03.035); loads below the
    tolerance never are."""
    import jax.numpy as jnp

    from exerpain.model.protocols import (
        exercise_inputs,
        exercise_signals,
        reference_load,
        session_trimp,
        validate_protocol,
    )

    ex = {k: jnp.asarray(v) for k, v in model.default_params()["exercise"].items()}
    tolerance = float(ex["strain_tolerance"])

    def stress(minutes_for_load: float, day: float, stop: float | None = None) -> float:
        p = validate_protocol({"modality": "treadmill", "intensity": 0.6,
                               "minutes_per_session": minutes_for_load,
                               "sessions_per_week": 7, "start_day": 0, "stop_day": stop})
        inputs = exercise_inputs(p, 120, model.exercise_mechanisms, "rodent")
        return float(exercise_signals(jnp.asarray(day), inputs, ex).stress)

    per_minute = float(session_trimp(1.0, 0.6, ex) / reference_load(ex))
    heavy = 2.0 * tolerance / per_minute  # minutes per daily session for twice the tolerance
    light = 0.5 * tolerance / per_minute
    assert stress(heavy, 3.0) == 0.0 < stress(heavy, 56.0)
    assert stress(heavy, 56.0, stop=5.0) == 0.0
    assert stress(light, 120.0) == 0.0


def test_blockade_differs_from_attribution_ablation(simulate):
    """A blockade also removes the mechanism's own tone (the sedentary run changes); an
    ablation removes only exercise's action (the sedentary run is unchanged)."""
    base = simulate("cci", "treadmill-moderate", days=RODENT_DAYS).summary
    blocked = simulate("cci", "treadmill-moderate", ("naloxone",), days=RODENT_DAYS).summary
    ablated = simulate("cci", "treadmill-moderate", (), ("opioid",), days=RODENT_DAYS).summary
    assert blocked["sedentary_value"] < base["sedentary_value"]
    assert ablated["sedentary_value"] == pytest.approx(base["sedentary_value"], rel=1e-9)
    assert ablated["benefit"] < base["benefit"]


def test_human_dpn_effect_is_small(simulate):
    """Supervised aerobic exercise in painful DPN: small effects on pain intensity (Yoo 2015,
    PMID 25800666; clinical.md section 6: SMD about 0.2-0.5); most patients stay short of a
    30% reduction (IMMPACT)."""
    s = simulate("dpn", "aerobic-moderate").summary
    assert s["readout"] == "nrs"
    assert 0 < s["benefit"] < 0.3 * s["sedentary_value"]


def test_human_aerobic_beats_resistance_on_bdnf(simulate):
    """Resting BDNF rises after aerobic (SMD 0.66), not resistance (0.07), training (Dinoff
    2016, doi:10.1371/journal.pone.0163037)."""
    def bdnf(protocol):
        tr = simulate("dpn", protocol).trajectory
        i = tr.state_names.index("neurotrophic.bdnf_peripheral")
        return tr.states[0, -1, i] - tr.states[1, -1, i]

    assert bdnf("aerobic-moderate") > 5 * bdnf("resistance") > 0


def test_exercise_slows_diabetic_nerve_damage_through_oxidative_stress(simulate):
    """Oxidative stress initiates hyperglycaemic nerve injury (Figueroa-Romero 2008,
    doi:10.1007/s11154-008-9104-2): in DPN, exercise's antioxidant adaptation lowers ROS and
    with them the damage of the ongoing insult, so conduction velocity gains; without
    exercise's oxidative route (ablated) the gain in conduction is smaller, and an
    antioxidant drug (N-acetylcysteine, taken throughout) leaves less damage in the steady
    state of the disease."""
    days = 84
    full = simulate("dpn", "aerobic-moderate", days=days)
    no_ox = simulate("dpn", "aerobic-moderate", ablate=("oxidative",), days=days)

    def ncv_gain(s):
        ncv = s.trajectory.observables["nerve_conduction_velocity_m_s"]
        return float(ncv[0, -1] - ncv[1, -1])

    assert ncv_gain(full) > 0
    assert ncv_gain(no_ox) < ncv_gain(full)
    nac = simulate("dpn", "sedentary", ("nac",), days=days).trajectory
    plain = full.trajectory
    i = plain.state_names.index("injury.damage")
    assert nac.states[1, 0, i] < plain.states[1, 0, i]
