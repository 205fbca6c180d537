"""Shapley axioms on constructed games, for the exact and the sampled estimators."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from exerpain.explain.endotypes import find_endotypes
from exerpain.explain.shapley import exact_plan, plan_for, sampled_plan


def values_of(plan, game) -> np.ndarray:
    return np.array([[game(frozenset(np.flatnonzero(mask)))] for mask in plan.masks]).T


def random_game(m: int, seed: int):
    rng = np.random.default_rng(seed)
    table = {frozenset(s): rng.normal() for r in range(m + 1)
             for s in itertools.combinations(range(m), r)}
    table[frozenset()] = 0.0
    return table.__getitem__


@pytest.mark.parametrize("m", [1, 3, 8])
def test_efficiency_exact(m):
    plan = exact_plan(tuple(f"p{i}" for i in range(m)))
    game = random_game(m, m)
    phi, bound = plan.estimate(values_of(plan, game))
    assert phi.sum() == pytest.approx(game(frozenset(range(m))) - game(frozenset()), rel=1e-12)
    assert np.all(bound == 0)


def test_symmetry_null_player_and_closed_form():
    """v(S) = sum_{i in S} a_i + b [0 and 1 in S]: phi_i = a_i (+ b/2 for players 0, 1);
    player 4 has a_4 = 0 and no interaction (null player); players 0 and 1 are symmetric
    when a_0 = a_1."""
    a = np.array([1.5, 1.5, 0.3, -0.7, 0.0, 2.0])
    b = 4.0

    def game(s):
        return float(sum(a[i] for i in s) + (b if {0, 1} <= s else 0.0))

    plan = exact_plan(tuple(f"p{i}" for i in range(6)))
    phi = plan.estimate(values_of(plan, game))[0][0]
    expected = a + np.array([b / 2, b / 2, 0, 0, 0, 0])
    np.testing.assert_allclose(phi, expected, atol=1e-12)
    assert phi[0] == pytest.approx(phi[1], abs=1e-12)
    assert phi[4] == pytest.approx(0.0, abs=1e-12)


def test_sampled_estimator_is_efficient_and_within_its_bound():
    m = 14
    game = random_game(m, 7)
    exact = exact_plan(tuple(range(m)))
    truth = exact.estimate(values_of(exact, game))[0][0]
    plan = sampled_plan(tuple(range(m)), n_permutations=400, seed=3)
    phi, bound = plan.estimate(values_of(plan, game))
    assert phi.sum() == pytest.approx(game(frozenset(range(m))), rel=1e-9)
    inside = np.abs(phi[0] - truth) <= bound[0]
    assert inside.mean() >= 0.8  # 95% bounds: most players inside
    assert np.all(bound[0] > 0)


def test_plan_switches_to_sampling_beyond_max_exact():
    assert plan_for(tuple(range(5)), max_exact=8).exact
    assert not plan_for(tuple(range(9)), max_exact=8, n_permutations=10).exact


def test_endotypes_recover_planted_groups():
    rng = np.random.default_rng(0)
    centres = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.2, 0.8]])
    phi = np.concatenate([c + 0.03 * rng.normal(size=(100, 3)) for c in centres]) * 5
    result = find_endotypes(phi, ("a", "b", "c"), seed=0)
    assert result.k == 3 and result.silhouette > 0.7
    assert sorted(result.sizes.values()) == [100, 100, 100]
