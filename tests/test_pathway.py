"""The pathway attribution view on constructed models whose right answer is known.

The toy model is the injury module (a realistic sedentary deficit on the read-out) plus small
test mechanisms; each test keeps two of them as players and ablates the rest (ablated toys
stay at their healthy level, pain factor 1), so every test has the same coalition shapes and
the solver compiles once.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from exerpain.explain.priming import NONE, priming_index, priming_share, share_interval
from exerpain.model.mechanisms.base import Context, Mechanism, inhibitory_factor, relax, state
from exerpain.model.mechanisms.injury import Injury
from exerpain.model.registry import Model
from exerpain.simulate.engine import CohortConfig, run_cohort
from exerpain.simulate.pathway import state_masks

RATE = 0.2  # 1/day, relaxation of every toy level
KAPPA = 1.0  # inhibitory_factor's kappa: factor 2/(1 + level), 1 at the healthy level 1
N_TOY = 8
# Values from different runs (other steps) agree to the engine's rtol 1e-6 a few times over;
# as a fraction of the benefit.
ACROSS_RUNS = 1e-5


class Toy(Mechanism):
    """A test mediator ``level`` (fold change, healthy 1) relaxing to
    ``1 + gain * chronic drive (if exercise enters) + (upstream level - 1)``; optionally an
    inhibitory pain factor at ``site``. Constants, no parameters: no spread between subjects,
    so toys with the same constants are symmetric players."""

    summary = "toy mediator (test)"
    states = (state("level", "toy mediator"),)

    def __init__(self, name: str, gain: float = 0.0, upstream: str | None = None,
                 site: str | None = None, enters: bool = True):
        self.name = name
        self.gain, self.upstream, self.site, self.enters = gain, upstream, site, enters
        # every toy is a player; a non-entering one is reached only through its upstream
        self.exercise_action = "raises the level" if enters else "none of its own (test)"

    def derivatives(self, c: Context) -> dict:
        drive = c.drive(self.name).chronic if self.enters else 0.0
        upstream = c.get(f"{self.upstream}.level") - 1.0 if self.upstream else 0.0
        return {"level": relax(RATE, 1.0 + self.gain * drive + upstream, self.s(c, "level"))}

    def pain_factors(self, c: Context) -> dict:
        if self.site is None:
            return {}
        return {self.site: inhibitory_factor(self.s(c, "level"), KAPPA, 1.0)}


TOYS = (
    Toy("chain_a", gain=3.0),  # chain: exercise enters a; a raises b; only b reaches pain
    Toy("chain_b", upstream="chain_a", site="spinal", enters=False),
    Toy("route_c", gain=3.0, site="spinal"),  # independent routes of different sizes
    Toy("route_d", gain=1.0, site="descending"),
    Toy("pair_e", gain=2.0, site="peripheral"),  # symmetric pair (product of two factors)
    Toy("pair_f", gain=2.0, site="central"),
    Toy("null", gain=3.0),  # exercise enters, nothing downstream: a null player
)


@cache
def toy_model() -> Model:
    return Model([Injury(), *TOYS])


@cache
def toy_cohort(players: tuple[str, str], scale: str = "readout"):
    """Subjects table of a rat CCI cohort on the toy model with ``players`` as the only
    players (the other toys ablated); the shipped MAP for everyone (the toys test the
    attribution, not the calibration)."""
    ablate = tuple(t.name for t in TOYS if t.name not in players)
    config = CohortConfig("cci", "treadmill-moderate", n=N_TOY, seed=1, ablate=ablate,
                          chunk_size=N_TOY, attribution_scale=scale, posterior_draws=0)
    result = run_cohort(config, model=toy_model())
    frame = result.subjects.to_pandas()
    assert result.summary["failed"] == 0 and result.summary["attribution"]["scale"] == scale
    return frame


def total(frame, scale: str):
    return frame["benefit" if scale == "readout" else "log_drive_benefit"].to_numpy()


def phi(frame, view: str, name: str):
    prefix = "shapley" if view == "entry" else "pathway_shapley"
    return frame[f"{prefix}_{name}"].to_numpy()


@pytest.mark.parametrize("scale", ["readout", "log_drive"])
def test_chain_entry_credits_the_entry_point_pathway_splits_it_half_and_half(scale):
    """a -> b -> pain, exercise enters a only. Entry: b is a null player, a gets all.
    Pathway: v({a}) = v({b}) = 0 (the relief needs both links to move), so each link gets
    exactly half of the benefit."""
    frame = toy_cohort(("chain_a", "chain_b"), scale)
    benefit = total(frame, scale)
    assert (benefit > 0).all()
    np.testing.assert_allclose(phi(frame, "entry", "chain_a"), benefit, rtol=1e-9)
    np.testing.assert_allclose(phi(frame, "entry", "chain_b"), 0.0, atol=1e-12)
    for link in ("chain_a", "chain_b"):
        np.testing.assert_allclose(phi(frame, "pathway", link), benefit / 2, rtol=1e-9)
    assert (frame["priming_mechanism"] == "chain_a").all()


def test_independent_routes_agree_between_views_and_keep_their_own_effect():
    """Two routes that do not feed each other: the two views are the same game. On log
    drive the routes add, so each gets its own effect: the log-drive benefit when exercise
    reaches only that route (paired with a null player, whose value is 0). Equalities across
    different runs hold to solver tolerance (:data:`ACROSS_RUNS` of the benefit)."""
    frame = toy_cohort(("route_c", "route_d"), "log_drive")
    tolerance = ACROSS_RUNS * total(frame, "log_drive").max()
    for route in ("route_c", "route_d"):
        np.testing.assert_allclose(phi(frame, "pathway", route), phi(frame, "entry", route),
                                   atol=tolerance)
        alone = toy_cohort((route, "null"), "log_drive")
        np.testing.assert_allclose(phi(alone, "entry", "null"), 0.0, atol=tolerance)
        np.testing.assert_allclose(phi(alone, "pathway", "null"), 0.0, atol=tolerance)
        np.testing.assert_allclose(phi(frame, "entry", route), total(alone, "log_drive"),
                                   atol=tolerance)
    assert (phi(frame, "entry", "route_c") > 2 * phi(frame, "entry", "route_d")).all()
    readout = toy_cohort(("route_c", "route_d"))
    for route in ("route_c", "route_d"):
        np.testing.assert_allclose(phi(readout, "pathway", route), phi(readout, "entry", route),
                                   atol=ACROSS_RUNS * total(readout, "readout").max())


def test_interaction_is_split_symmetrically_and_efficiently():
    """Pain = product of two identical factors under a saturating read-out: the pair
    interacts (the benefit is not twice one factor's), yet the split is symmetric and the
    values sum to the benefit, in both views."""
    frame = toy_cohort(("pair_e", "pair_f"))
    benefit = total(frame, "readout")
    alone = total(toy_cohort(("pair_e", "null")), "readout")
    assert (np.abs(benefit - 2 * alone) > 0.05 * benefit).all()  # a real interaction
    for view in ("entry", "pathway"):
        e, f = phi(frame, view, "pair_e"), phi(frame, view, "pair_f")
        np.testing.assert_allclose(e, f, rtol=1e-9)
        np.testing.assert_allclose(e + f, benefit, rtol=1e-9)


def test_state_masks_free_non_players_and_hold_players_outside_the_coalition():
    model = toy_model()
    players = ("chain_a", "chain_b")
    masks = state_masks(model, players, np.array([[1, 0], [0, 1]]))
    names = list(model.state_names)
    assert masks[0, names.index("chain_a.level")] == 1
    assert masks[0, names.index("chain_b.level")] == 0
    assert masks[1, names.index("chain_a.level")] == 0
    assert masks[:, names.index("injury.damage")].tolist() == [1, 1]
    assert masks[:, names.index("route_c.level")].tolist() == [1, 1]


def test_priming_share_and_its_bootstrap_interval():
    phi_values = np.array([[1.0, 0.2], [0.1, 0.5], [-0.1, -0.2], [np.nan, np.nan],
                           [2.0, 1.0]])
    index = priming_index(phi_values)
    assert index[2] == NONE
    share = priming_share(index, ("a", "b"))
    assert share == pytest.approx({"a": 0.5, "b": 0.25, "none": 0.25})
    interval = share_interval([index], ("a", "b"), seed=0)
    again = share_interval([index], ("a", "b"), seed=0)
    assert interval == again  # fixed seed
    for key, (low, high) in interval.items():
        assert 0.0 <= low <= share[key] <= high <= 1.0
    everyone = share_interval([np.zeros(50, dtype=int)], ("a", "b"), seed=0)
    assert everyone["a"] == [1.0, 1.0] and everyone["none"] == [0.0, 0.0]


def test_share_interval_of_a_cohort_with_no_subject_solved_is_undefined():
    """Every subject failed (no draw holds a solved subject): the interval is NaN, not a
    crash of the cohort summary (seen on a GPU with a trial calibration, 2026-11-26)."""
    interval = share_interval([], ("a", "b"), seed=0)
    assert set(interval) == {"a", "b", "none"}
    assert all(np.isnan(v).all() for v in interval.values())
    assert np.isnan(priming_share(np.array([], dtype=int), ("a", "b"))["a"])
