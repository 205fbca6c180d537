"""The registry composes modules; a new mechanism is added without editing any other file."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from exerpain.model.mechanisms.base import (
    Context,
    Mechanism,
    inhibitory_factor,
    param,
    relax,
    state,
)
from exerpain.model.registry import Model
from exerpain.simulate.pair import simulate_pair


class Adenosine(Mechanism):
    """A user-defined module: exercise raises spinal adenosine (A1 receptors), which inhibits
    transmission. Written here, in the test, to show that no other file needs editing."""

    name = "adenosine"
    summary = "spinal adenosine A1 tone (test module)"
    states = (state("tone", "spinal adenosine tone"),)
    parameters = (
        param("k", 0.5, "1/day", 0.05, 5.0, "assumed", "test module", "relaxation rate"),
        param("gain", 1.0, "dimensionless", 0.0, 3.0, "assumed", "test module",
              "fold increase at full adaptation"),
        param("weight", 1.0, "dimensionless", 0.0, 3.0, "assumed", "test module",
              "exponent of the spinal factor"),
    )
    targets = {"a1": "adenosine A1 receptor blockade (test)"}
    exercise_action = "raises adenosine tone"

    def derivatives(self, c: Context) -> dict:
        p = self.p(c)
        return {"tone": relax(p["k"], 1.0 + p["gain"] * c.drive(self.name).chronic,
                              self.s(c, "tone"))}

    def pain_factors(self, c: Context) -> dict:
        tone = self.s(c, "tone") * (1.0 - c.target("a1"))
        return {"spinal": inhibitory_factor(tone, jnp.asarray(1.0), self.p(c)["weight"])}


@pytest.fixture(scope="module")
def extended(model) -> Model:
    return model.with_mechanism(Adenosine())


def test_default_model_has_the_ten_mechanisms(model):
    assert model.mechanism_names == (
        "injury", "oxidative", "inflammation", "neurotrophic", "gabaergic", "opioid",
        "monoaminergic", "endocannabinoid", "dopaminergic", "sensitization")
    assert set(model.exercise_mechanisms) == set(model.mechanism_names) - {
        "injury", "sensitization"}


def test_new_module_joins_state_parameters_and_exercise_mechanisms(model, extended):
    assert extended.state_names == (*model.state_names, "adenosine.tone")
    assert "adenosine" in extended.exercise_mechanisms
    assert "a1" in extended.target_names
    assert extended.default_params()["adenosine"]["gain"] == 1.0


def test_new_module_changes_the_exercise_benefit_and_can_be_ablated(simulate, extended):
    base = simulate("cci", "treadmill-moderate", days=42).summary["benefit"]
    more = simulate_pair("cci", "treadmill-moderate", days=42, model=extended)
    ablated = simulate_pair("cci", "treadmill-moderate", days=42, ablate=["adenosine"],
                            model=extended)
    assert more.summary["benefit"] > base
    assert ablated.summary["benefit"] == pytest.approx(base, rel=1e-6)
    tone = more.trajectory.states[0, -1, extended.state_names.index("adenosine.tone")]
    assert tone > 1.0


def test_duplicate_mechanism_names_are_rejected(model):
    with pytest.raises(ValueError, match="duplicate"):
        Model([*model.mechanisms, model.mechanisms[0]])


def test_pain_is_not_a_sum_of_independent_terms(simulate):
    """Removing exercise's action through the inflammatory and the dopaminergic route
    together removes more than the sum of the two single removals (synergy through the
    product of site factors and the saturating read-out)."""
    full = simulate("cci", "treadmill-moderate", days=42).summary["benefit"]
    lost = {}
    for routes in (("inflammation",), ("dopaminergic",), ("inflammation", "dopaminergic")):
        lost[routes] = full - simulate("cci", "treadmill-moderate", (), routes,
                                       days=42).summary["benefit"]
    both = lost[("inflammation", "dopaminergic")]
    assert not np.isclose(both, lost[("inflammation",)] + lost[("dopaminergic",)], rtol=0.02)
