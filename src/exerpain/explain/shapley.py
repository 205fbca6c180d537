"""Shapley values of mechanisms for a subject's exercise benefit, in two views.

Players are the exercise-responsive mechanisms (those with an ``exercise_action``, less any
the run ablates); ``v(empty)`` is the sedentary run and ``v(all)`` the exercise run, so in
both views the values sum to the subject's benefit (efficiency). Both views use the same
players, coalitions and estimator; only the game ``v`` differs (DESIGN.md section 6).

Entry view (columns ``shapley_<mechanism>``): *through which mechanism exercise acts*.
``v(S)``: exercise may act only through the mechanisms in ``S`` (attribution ablation of
the others: ``Context.drive`` is zero for them), and every state evolves freely. A serial
chain whose first link is the only one exercise enters is credited wholly to that link.

Pathway view (columns ``pathway_shapley_<mechanism>``): *through which mechanism the relief
reaches pain*. ``v(S)``: exercise acts through every mechanism, but the states of players
outside ``S`` are held on their sedentary course (what they would be without exercise);
the states of players in ``S`` and of non-players evolve under exercise, reading the
mixed state. The read-out is taken from the mixed state on the read-out day. Holding a
state on its sedentary course blocks every path of the exercise effect through that state,
as a mediator held at its untreated value does in path-specific effects (Pearl 2001, "Direct
and indirect effects", UAI; Avin, Shpitser & Pearl 2005, IJCAI); the Shapley value over
which mediators may respond then credits a path to every mechanism it passes through
(in the spirit of Shapley Flow, Wang, Wiens & Lundberg 2021, AISTATS, which credits edges
of a causal graph). Consequences, checked in ``tests/test_pathway.py``:

- a pure chain ``A -> B -> pain`` that exercise enters at ``A`` only: ``v({A}) = v({B}) =
  0`` (the relief needs both links to move), ``v({A, B})`` = the benefit, so each link gets
  half; a pure chain of ``k`` links gets ``1/k`` per link. A mechanism that also acts on
  pain directly gets its direct part plus its share of the chains it starts;
- independent routes (no state of one feeds another): both views are the same game and
  agree; where the routes add on the value's scale (``log_drive``: the pain factors
  multiply), each route gets its own effect;
- interactions (product of factors under a saturating read-out) are split by the Shapley
  weights, symmetrically for symmetric players.

Player set of the pathway view: the same exercise-responsive mechanisms as the entry view,
so the two views' shares compare like with like. ``injury`` (damage, regenerated through
peripheral BDNF) and ``sensitization`` (central gain, driven by the site pain factors) are
common downstream integrators that exercise enters only through the players; their states
(and those of ablated mechanisms) are free, i.e. always follow the coalition run, so they
pass the relief they transmit back to the players that moved them, instead of taking a
share of every route as players would (and the game keeps ``2**8`` coalitions).
``v(empty) = 0``: with every player held sedentary, the free states read sedentary inputs
and no exercise signal, so they stay sedentary. ``v(all)`` is the exercise run. The engine
reuses the entry view's exercise and sedentary runs for these two coalitions (the same runs
by construction), so both views are efficient against the same benefit to rounding.

Exactness: the sedentary course is integrated beside the coalition as one augmented ODE
``[y_sed, y_S]`` (:mod:`exerpain.simulate.pathway`), so no interpolation of a stored
trajectory enters ``v(S)``.

Scale (``CohortConfig.attribution_scale``): ``readout`` (default; read-out units, positive =
less pain) or ``log_drive`` (``log N_sed - log N_S``, nociceptive drive ``N``; the scale on
which the pain factors combine additively, so it is free of the read-out's saturation).

A :class:`CoalitionPlan` lists the coalitions to simulate (a 0/1 mask per coalition) and a
linear estimator from their values to Shapley values:

- :func:`exact_plan`: all ``2**M`` coalitions; ``phi = v @ W`` with the classical weights
  ``|S|! (M - |S| - 1)! / M!``; exact up to floating point.
- :func:`sampled_plan`: for larger ``M``, ``P`` random permutations and their reverses
  (antithetic pairs, Castro et al. 2009, doi:10.1016/j.cor.2008.04.004); each permutation's
  marginal contributions sum to ``v(N) - v(empty)``, so efficiency still holds exactly; the
  reported error bound is 1.96 x the standard error over antithetic pairs.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CoalitionPlan:
    players: tuple[str, ...]
    masks: np.ndarray  # (C, M) 1 = exercise acts through the player
    exact: bool
    # sampled plans: per permutation, index of the coalition before/after adding each player
    before: np.ndarray | None = None  # (P, M)
    after: np.ndarray | None = None  # (P, M)

    @property
    def full(self) -> int:
        return int(np.flatnonzero(self.masks.all(axis=1))[0])

    @property
    def empty(self) -> int:
        return int(np.flatnonzero(~self.masks.any(axis=1))[0])

    def estimate(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Shapley values (n, M) and their 95% error bound (n, M) from coalition values
        (n, C)."""
        values = np.asarray(values, dtype=float)
        if self.exact:
            phi = values @ exact_weights(self.masks)
            return phi, np.zeros_like(phi)
        marginal = values[:, self.after] - values[:, self.before]  # (n, P, M)
        phi = marginal.mean(axis=1)
        pairs = marginal.reshape(marginal.shape[0], -1, 2, marginal.shape[2]).mean(axis=2)
        n_pairs = pairs.shape[1]
        stderr = pairs.std(axis=1, ddof=1) / math.sqrt(n_pairs) if n_pairs > 1 else (
            np.full_like(phi, np.inf))
        return phi, 1.96 * stderr


def exact_weights(masks: np.ndarray) -> np.ndarray:
    """(C, M) matrix W with ``phi = v @ W`` for the coalitions in ``masks``."""
    masks = np.asarray(masks, dtype=bool)
    c, m = masks.shape
    size = masks.sum(axis=1)
    weight = np.array([math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m)
                       for s in range(m)])
    w = np.zeros((c, m))
    for j in range(m):
        inside = masks[:, j]
        w[inside, j] = weight[size[inside] - 1]
        w[~inside, j] = -weight[size[~inside]]
    return w


def exact_plan(players: tuple[str, ...]) -> CoalitionPlan:
    m = len(players)
    masks = np.array(list(itertools.product([0, 1], repeat=m)), dtype=bool)[:, ::-1]
    return CoalitionPlan(players=tuple(players), masks=masks, exact=True)


def sampled_plan(players: tuple[str, ...], n_permutations: int, seed: int) -> CoalitionPlan:
    """``n_permutations`` permutations (rounded up to antithetic pairs) and their prefixes."""
    m = len(players)
    rng = np.random.default_rng(seed)
    pairs = max(1, math.ceil(n_permutations / 2))
    perms = []
    for _ in range(pairs):
        p = rng.permutation(m)
        perms += [p, p[::-1]]
    index: dict[bytes, int] = {}
    masks: list[np.ndarray] = []

    def coalition(mask: np.ndarray) -> int:
        key = mask.tobytes()
        if key not in index:
            index[key] = len(masks)
            masks.append(mask.copy())
        return index[key]

    before = np.zeros((len(perms), m), dtype=int)
    after = np.zeros((len(perms), m), dtype=int)
    for k, perm in enumerate(perms):
        mask = np.zeros(m, dtype=bool)
        for player in perm:
            before[k, player] = coalition(mask)
            mask[player] = True
            after[k, player] = coalition(mask)
    return CoalitionPlan(players=tuple(players), masks=np.array(masks), exact=False,
                         before=before, after=after)


def plan_for(players: tuple[str, ...], max_exact: int = 12, n_permutations: int = 128,
             seed: int = 0) -> CoalitionPlan:
    """Exact enumeration up to ``max_exact`` players, permutation sampling beyond."""
    if len(players) <= max_exact:
        return exact_plan(players)
    return sampled_plan(players, n_permutations, seed)
