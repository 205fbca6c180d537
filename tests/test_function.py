"""Functional read-outs (SFI, NCV, IENFD) as functions of nerve damage, and in the outputs."""

from __future__ import annotations

import numpy as np
import pytest

from exerpain.model.function import (
    FUNCTION_PARAMETERS,
    functional_healthy_value,
    functional_readouts,
)

RODENT_DAYS = 42  # the shape the other rodent tests compile
NAMES = {"rodent": ("sciatic_functional_index",),
         "human": ("nerve_conduction_velocity_m_s", "ienfd_fibres_mm")}


@pytest.fixture(scope="module")
def readout(model):
    return model.default_params()["readout"]


def test_function_parameters_are_in_the_readout_group(model):
    rows = {(g, p.name) for g, p in model.parameter_table()}
    declared = model.default_params(declared=True)["readout"]
    for p in FUNCTION_PARAMETERS:
        assert ("readout", p.name) in rows
        assert declared[p.name] == pytest.approx(p.value)


@pytest.mark.parametrize("kind", ["rodent", "human"])
def test_healthy_values_at_no_damage(kind, readout):
    values = functional_readouts(kind, {"injury.damage": np.float64(0.0)}, readout)
    assert tuple(values) == NAMES[kind]
    expected = {"sciatic_functional_index": readout["sfi_healthy"],
                "nerve_conduction_velocity_m_s": readout["ncv_healthy_m_s"],
                "ienfd_fibres_mm": readout["ienfd_healthy_fibres_mm"]}
    for name, value in values.items():
        assert float(value) == pytest.approx(expected[name])
        assert functional_healthy_value(name, readout) == pytest.approx(expected[name])


@pytest.mark.parametrize("kind", ["rodent", "human"])
def test_readouts_fall_monotonically_with_damage(kind, readout):
    damage = np.linspace(0.0, 1.0, 21)
    for name, values in functional_readouts(kind, {"injury.damage": damage}, readout).items():
        assert np.all(np.diff(np.asarray(values)) < 0), name
    sfi = functional_readouts("rodent", {"injury.damage": np.float64(1.0)}, readout)
    assert float(sfi["sciatic_functional_index"]) == pytest.approx(-100.0, abs=1.0)


def test_no_injury_module_means_no_functional_readouts(readout):
    assert functional_readouts("rodent", {"opioid.tone": np.float64(1.0)}, readout) == {}


def test_sedentary_cci_sfi_falls_after_injury_and_recovers(simulate):
    """Loose ligation drops the SFI to about -90 (-91.8 +/- 11.2, Iran J Pharm Res,
    ijpr.sbmu.ac.ir/article_124.html); it recovers toward 0 as the nerve regenerates."""
    sfi = simulate("cci", "treadmill-moderate", days=RODENT_DAYS).trajectory.observables[
        "sciatic_functional_index"][1]
    assert sfi[0] == pytest.approx(-5.4)
    assert sfi[1] < -70.0 and sfi[7] < -60.0
    after_peak = sfi[int(np.argmin(sfi)):]
    assert np.all(np.diff(after_peak) > 0)
    assert sfi[21] > sfi[7] and sfi[42] > sfi[21] and sfi[42] < sfi[0]


def test_exercise_gives_a_better_sfi_than_sedentary_in_cci(simulate):
    """Exercise speeds regeneration (peripheral BDNF), so the walking-track index recovers
    further (functional recovery, the seed review's claim 5)."""
    s = simulate("cci", "treadmill-moderate", days=RODENT_DAYS).summary["functional"]
    sfi = s["sciatic_functional_index"]
    assert sfi["exercise"] > sfi["sedentary"]
    assert sfi["healthy"] == pytest.approx(-5.4)


def test_dpn_conduction_and_fibre_density_below_health(simulate):
    observables = simulate("dpn", "aerobic-moderate").trajectory.observables
    ncv = observables["nerve_conduction_velocity_m_s"][:, 0]
    ienfd = observables["ienfd_fibres_mm"][:, 0]
    assert np.all(ncv < 50.7) and np.all(ncv > 30.0)
    assert np.all(ienfd < 6.3) and np.all(ienfd > 0.0)
    # sedentary sural NCV inside the 95% interval of the fitted target (Gholami 2018's
    # 35.2 m/s before training, SE 1.24)
    assert abs(ncv[1] - 35.2) < 1.96 * 4.3 / 12**0.5


@pytest.mark.xfail(strict=True, reason="known miss: ienfd_loss was set for the prior's DPN "
                   "damage (0.5); the fit raised the steady-state damage to 0.79 (Gholami's NCV), "
                   "so the model has 26% fewer fibres, not 16%; a calibration target "
                   "(dpn-ienfd-deficit) since 2026-11-27 that the shipped fit predates")
def test_dpn_fibre_density_deficit_as_published(simulate):
    """16.3% fewer distal-leg fibres with DPN (7.2 vs 8.6 fibres/mm,
    doi:10.1186/s13098-016-0146-4)."""
    ienfd = simulate("dpn", "aerobic-moderate").trajectory.observables["ienfd_fibres_mm"][:, 0]
    assert ienfd[1] / 6.3 == pytest.approx(7.2 / 8.6, rel=0.05)


@pytest.mark.parametrize("condition,protocol,kind", [("cci", "treadmill-moderate", "rodent"),
                                                     ("dpn", "aerobic-moderate", "human")])
def test_functional_readouts_in_simulate_output(simulate, condition, protocol, kind):
    result = simulate(condition, protocol, days=RODENT_DAYS if kind == "rodent" else None)
    frame = result.to_frame()
    for name in NAMES[kind]:
        assert name in frame.columns
        last = frame[frame["day"] == frame["day"].max()].set_index("run")[name]
        summary = result.summary["functional"][name]
        assert summary["exercise"] == pytest.approx(last["exercise"])
        assert summary["sedentary"] == pytest.approx(last["sedentary"])
    other = NAMES["human" if kind == "rodent" else "rodent"]
    assert not set(other) & set(frame.columns)
