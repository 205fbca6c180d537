"""Every coalition of both attribution views as one ODE, each mechanism solved once per
pattern of the players that reach it.

Exact Shapley attribution integrates the model under all ``2**M`` coalitions of the ``M``
players (:mod:`exerpain.explain.shapley`). Most of that work repeats itself: a mechanism's
states follow the same course in every coalition that agrees on the players whose exercise
action reaches them (:mod:`exerpain.model.structure`). IL-4, for one, is reached by exercise
through ``inflammation`` only, so it has two courses, not 256; only the central gain, which
integrates every site, needs one per coalition.

The factored system holds, per *block* (a family and a mechanism), one copy of the
mechanism's states per pattern of the block's bits ``A`` (the players that matter to it):

- family ``entry`` (entry view, exercise acting only through the coalition): bits ``A`` =
  the players whose exercise action reaches the mechanism's states or pain factors; copy
  ``P`` evolves under exercise through the players in ``P`` and reads the other mechanisms'
  copies for ``P``. Copy 0 of every block is the sedentary run;
- family ``pathway`` (pathway view, players outside the coalition held on their sedentary
  course; :mod:`exerpain.simulate.pathway`): bits ``A`` = the players whose states are
  upstream of the mechanism (itself included); copy ``P`` evolves under exercise and reads
  a player's states from the pathway copy for ``P`` when the player is in ``P``, from the
  entry family's sedentary copy when not.

The pain factors are computed once per copy of the mechanism they belong to and multiplied
per site where a block reads them (the central gain), in the model's order, each partial
product held over the players of its factors so far. A coalition's state is gathered from
the copies at the end. Every block is the same arithmetic on the same numbers as in the
coalition's own run, so a coalition's course differs from its own solve only by the shared
step sequence: steps are accepted when the worst coalition's error (RMS over its states, as
in a single run) is within tolerance, so each coalition is solved at least as accurately as
on its own. Checked against the per-coalition solves in ``tests/test_factored.py``.

Size for the default model (8 players): 446 state components and 354 mechanism evaluations
per right-hand side, instead of 256 x 19 = 4,864 and 256 x 10 (entry view). The central
gain's 256 copies need the drive product of every coalition raised to a power: the factored
system holds that product as a sum of the factors' logarithms (each factor copy's log taken
once, summed over the patterns) and takes one ``exp`` per pattern
(:meth:`~exerpain.model.mechanisms.base.Context.pain_power`), instead of three products and a
float64 ``pow`` (about 19 ns) per pattern: the entry view's right-hand side fell from 13.3 to
6.6 us per subject (64 DPN subjects, this CPU, 2026-11-27), of which about 2.2 us are the
exercise and drug signals all blocks share; the model's own runs keep the ``pow``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from exerpain.explain.shapley import exact_plan
from exerpain.model.mechanisms.base import PAIN_SITES
from exerpain.model.registry import Model, ModelInputs
from exerpain.model.structure import Dependencies, dependencies

FAMILIES = ("entry", "pathway")


@dataclass(frozen=True)
class Structure:
    """The hashable part of :class:`~exerpain.model.structure.Dependencies` the factored
    system needs (so solvers built on it can be cached)."""

    reach: tuple[tuple[bool, ...], ...]  # (n_states, n_states) upstream, itself included
    exercise_reach: tuple[tuple[bool, ...], ...]  # (n_states, n_exercise_mechanisms)
    pain_reads: tuple[tuple[bool, ...], ...]  # (n_mechanisms, n_states)
    direct: tuple[tuple[bool, ...], ...]  # (n_mechanisms, n_states), pain factors given
    reads_pain: tuple[tuple[bool, ...], ...]  # (n_mechanisms, n_sites)

    @classmethod
    def of(cls, deps: Dependencies) -> Structure:
        def rows(a: np.ndarray) -> tuple[tuple[bool, ...], ...]:
            return tuple(tuple(bool(x) for x in row) for row in a)

        return cls(rows(deps.reach()), rows(deps.exercise_reach()), rows(deps.pain_reads),
                   rows(deps.direct), rows(deps.reads_pain))


@dataclass(frozen=True)
class _Block:
    family: str
    mechanism: int  # index in model.mechanisms
    bits: tuple[int, ...]  # player indices that matter, low bit first
    offset: int  # first component in z
    n_local: int  # states of the mechanism

    @property
    def copies(self) -> int:
        return 1 << len(self.bits)


def _code(pattern: np.ndarray, bits: tuple[int, ...]) -> int:
    """Copy index of the player pattern (M,) over ``bits``."""
    return sum(int(pattern[b]) << i for i, b in enumerate(bits))


def _expand(values: Array, bits: tuple[int, ...], target: tuple[int, ...]) -> Array:
    """Per-copy ``values`` over the player patterns of ``bits`` ((2**len(bits), ...), copy
    index ``sum(bit_i << i)``), as seen over the patterns of ``target``: each target pattern
    takes the copy that agrees with it on the shared bits, with 0 for the bits of ``bits``
    outside ``target``. Reshapes, index-0 slices and broadcasts (no gather)."""
    trailing = values.shape[1:]
    n = len(bits)
    cube = values.reshape((2,) * n + trailing)  # axis a holds bit bits[n - 1 - a]
    kept = tuple(b for b in bits if b in target)
    cube = cube[tuple(slice(None) if bits[n - 1 - a] in target else 0 for a in range(n))]
    shape = tuple(2 if b in kept else 1 for b in reversed(target))
    cube = cube.reshape(shape + trailing)
    return jnp.broadcast_to(cube, (2,) * len(target) + trailing).reshape(
        (1 << len(target),) + trailing)


def _patterns(bits: tuple[int, ...], m: int) -> np.ndarray:
    """(2**len(bits), m) 0/1 player patterns, copy order (bits outside ``bits`` are 0)."""
    out = np.zeros((1 << len(bits), m), dtype=bool)
    for q in range(len(out)):
        for i, b in enumerate(bits):
            out[q, b] = (q >> i) & 1
    return out


class FactoredSystem:
    """The factored vector field (duck-types ``Model.vector_field`` for
    :func:`exerpain.simulate.solve.integrate_run`; ``args`` is one run's
    :class:`ModelInputs`, whose ablation is replaced per copy).

    ``players``: the attribution's players (exercise mechanisms not ablated by the run);
    ``coalitions``: per view, (C, M) 0/1 player patterns whose states :meth:`states` gathers.
    """

    def __init__(self, model: Model, structure: Structure, players: tuple[str, ...],
                 coalitions: dict[str, np.ndarray]):
        self.model = model
        self.players = players
        self.views = tuple(coalitions)
        exercise = model.exercise_mechanisms
        m = len(players)
        reach = np.array(structure.reach, dtype=bool)
        ex_reach = np.array(structure.exercise_reach, dtype=bool)
        pain_reads = np.array(structure.pain_reads, dtype=bool)
        direct = np.array(structure.direct, dtype=bool)
        self.reads_pain = structure.reads_pain
        owner = np.array([model.mechanism_names.index(m) for m in model.state_owners])
        self.owner = owner
        self.local = np.array([int(np.sum(owner[:j] == owner[j]))
                               for j in range(len(owner))])
        player_of = {model.mechanism_names.index(p): i for i, p in enumerate(players)}
        self.player_of = player_of
        column = [exercise.index(p) for p in players]

        families = FAMILIES if "pathway" in coalitions else FAMILIES[:1]
        blocks: list[_Block] = []
        offset = 0
        for family in families:
            for k in range(len(model.mechanisms)):
                own = owner == k
                if not own.any():
                    continue
                # the states the mechanism's derivatives and pain factors are computed from
                inputs = reach[own].any(axis=0) | (reach[pain_reads[k]].any(axis=0)
                                                   if pain_reads[k].any() else False)
                if family == "entry":
                    hit = ex_reach[inputs][:, column].any(axis=0)
                    bits = tuple(int(i) for i in np.flatnonzero(hit))
                else:
                    upstream = {int(owner[j]) for j in np.flatnonzero(inputs)}
                    bits = tuple(sorted(player_of[u] for u in upstream if u in player_of))
                blocks.append(_Block(family, k, bits, offset, int(own.sum())))
                offset += blocks[-1].copies * int(own.sum())
        self.blocks = tuple(blocks)
        self.size = offset
        self._index = {(b.family, b.mechanism): b for b in blocks}
        self.factor_blocks = tuple(b for b in blocks if pain_reads[b.mechanism].any())

        # per block: the states its derivatives read (pain factors given) and those its pain
        # factors read, each as (state column, (copies,) z index), and its ablation
        # (copies, n_exercise_mechanisms)
        self.gather: list[tuple[tuple[int, np.ndarray], ...]] = []
        self.factor_states: list[tuple[tuple[int, np.ndarray], ...]] = []
        self.ablation = []
        full = np.ones(m, dtype=bool)
        for b in blocks:
            patterns = _patterns(b.bits, m)
            index = np.stack([self._state_index(b.family, p) for p in patterns])
            self.gather.append(tuple((int(j), index[:, j])
                                     for j in np.flatnonzero(direct[b.mechanism])))
            self.factor_states.append(tuple((int(j), index[:, j])
                                            for j in np.flatnonzero(pain_reads[b.mechanism])))
            ablation = np.ones((b.copies, len(exercise)))
            acting = patterns if b.family == "entry" else np.broadcast_to(full, patterns.shape)
            ablation[:, column] = 1.0 - acting
            self.ablation.append(ablation)
        self.coalitions = {view: np.asarray(c, dtype=bool) for view, c in coalitions.items()}
        self.view_index = {view: np.stack([self._state_index(view, p) for p in c])
                           for view, c in self.coalitions.items()}

    # -- where a copy reads from --------------------------------------------------------
    def _source(self, family: str, pattern: np.ndarray, k: int, state: bool) -> _Block:
        """The block whose copy for ``pattern`` holds mechanism ``k`` as ``family`` sees it.
        The pathway family reads a player outside the pattern's states from the entry
        family's sedentary copy (its pain factors are computed in its own copy, from those
        states)."""
        if (family == "pathway" and state and k in self.player_of
                and not pattern[self.player_of[k]]):
            return self._index[("entry", k)]
        return self._index[(family, k)]

    def _copy(self, block: _Block, family: str, pattern: np.ndarray) -> int:
        if block.family != family:  # the entry family's sedentary copy
            return 0
        return _code(pattern, block.bits)

    def _state_index(self, family: str, pattern: np.ndarray) -> np.ndarray:
        """(n_states,) z index of every state of the ``family`` run for ``pattern``."""
        out = np.empty(len(self.owner), dtype=int)
        for j, k in enumerate(self.owner):
            block = self._source(family, pattern, int(k), state=True)
            copy = self._copy(block, family, pattern)
            out[j] = block.offset + copy * block.n_local + self.local[j]
        return out

    def _in_pattern(self, values: dict[tuple[str, int], Array], block: _Block,
                    target: tuple[int, ...]) -> Array:
        """Per-copy ``values`` of ``block``'s states ((copies,), or (copies, k)) as seen by
        the runs of ``block.family`` over the player patterns of ``target``:
        (2**len(target), ...). For a pathway-family player, the entry family's sedentary
        copy where the player is outside the pattern (see :meth:`_source`)."""
        spread = _expand(values[(block.family, block.mechanism)], block.bits, target)
        k = block.mechanism
        if block.family == "pathway" and k in self.player_of:
            inside = _patterns(target, len(self.players))[:, self.player_of[k]]
            sedentary = values[("entry", k)][0]
            inside = inside.reshape((-1,) + (1,) * (spread.ndim - 1))
            spread = jnp.where(inside, spread, sedentary)
        return spread

    # -- the system ---------------------------------------------------------------------
    def start(self, y0: Array) -> Array:
        """Factored state with every copy at ``y0`` (all coalitions start together)."""
        index = np.empty(self.size, dtype=int)
        for b in self.blocks:
            own = np.flatnonzero(self.owner == b.mechanism)
            index[b.offset: b.offset + b.copies * b.n_local] = np.tile(own, b.copies)
        return y0[..., index]

    def _block_context(self, base, z: Array, i: int, reads, pain: dict[str, Array]):
        """``base`` with the states ``reads`` of block ``i``'s copies ((copies,) arrays;
        every other state NaN, so a read the dependencies missed shows as a failed run),
        its per-copy ablation and the site pain factors ``pain``."""
        names = self.model.state_names
        state = dict.fromkeys(names, jnp.asarray(jnp.nan, dtype=z.dtype))
        state.update({names[j]: z[index] for j, index in reads})
        ablation = {**base.ablation, **{name: jnp.asarray(self.ablation[i][:, k]) for k, name
                                        in enumerate(self.model.exercise_mechanisms)}}
        return dataclasses.replace(base, state=state, ablation=ablation, pain=pain)

    def vector_field(self, t: Array, z: Array, inputs: ModelInputs) -> Array:
        """dz/dt (per day). Each block is evaluated once on arrays over its copies (the
        mechanisms' derivatives are elementwise); the inputs' signals at ``t`` (exercise,
        drugs) are computed once for all blocks."""
        model = self.model
        base = model.context_of(t, {}, inputs, pain={})
        position = {(b.family, b.mechanism): i for i, b in enumerate(self.blocks)}
        factors = {}  # (family, mechanism) -> {site: (copies,)}
        for b in self.factor_blocks:
            i = position[(b.family, b.mechanism)]
            c = self._block_context(base, z, i, self.factor_states[i], {})
            factors[(b.family, b.mechanism)] = model.mechanisms[b.mechanism].pain_factors(c)
        logs = {key: {site: jnp.log(v) for site, v in sites.items()}
                for key, sites in factors.items()}
        out = []
        for i, b in enumerate(self.blocks):
            read = [site for site, r in zip(PAIN_SITES, self.reads_pain[b.mechanism],
                                            strict=True) if r]
            pain = {site: self._site_product(factors, b, site) for site in read}
            c = self._block_context(base, z, i, self.gather[i], pain)
            if read:
                c.log_pain = {site: self._site_product(logs, b, site, jnp.add, 0.0)
                              for site in read}
            d = model.derivatives(c, [model.mechanisms[b.mechanism]])
            out.append(jnp.stack([jnp.broadcast_to(x, (b.copies,)) for x in d], axis=1
                                 ).reshape(-1))
        return jnp.concatenate(out)

    def _site_product(self, factors: dict, block: _Block, site: str,
                      combine: Callable[[Array, Array], Array] = jnp.multiply,
                      identity: float = 1.0) -> Array:
        """The product of the ``site`` pain factors of ``block``'s family, over the player
        patterns of ``block.bits``: ``((1 * f_1) * f_2) ...`` in mechanism order, as the
        model composes them (:meth:`Model.context_of`). Each partial product is held over
        the union of the bits of its factors so far (restricted to the block's), and only
        the last one is spread over all of the block's patterns: the central gain's 256
        patterns take one expansion per site, not one per factor. With ``combine`` add and
        ``identity`` 0 on the factors' logarithms, the log of the product
        (:meth:`Context.pain_power` then takes one ``exp`` per pattern instead of a
        ``pow``)."""
        product, bits = jnp.full((1,), identity), ()
        for f in self.factor_blocks:
            value = factors[(f.family, f.mechanism)].get(site)
            if f.family != block.family or value is None:
                continue
            union = tuple(sorted((set(bits) | set(f.bits)) & set(block.bits)))
            product = combine(_expand(product, bits, union),
                              _expand(jnp.broadcast_to(value, (f.copies,)), f.bits, union))
            bits = union
        return _expand(product, bits, block.bits)

    def states(self, z: Array, view: str) -> Array:
        """(C, n_states) states of the view's coalitions, from a factored state (last axis)."""
        return z[..., self.view_index[view]]

    def norm(self, ratio: Array) -> Array:
        """Step error norm: the worst coalition's RMS over its states of ``ratio`` (error
        over ``atol + rtol |y|``; extra trailing components, e.g. a fault clock, count as
        states of every coalition), over every player pattern of each family."""
        squares = {(b.family, b.mechanism): jnp.sum(jnp.square(
            ratio[b.offset: b.offset + b.copies * b.n_local].reshape(b.copies, b.n_local)),
            axis=1) for b in self.blocks}
        everyone = tuple(range(len(self.players)))
        worst = []
        for family in {b.family for b in self.blocks}:
            total = sum(self._in_pattern(squares, b, everyone)
                        for b in self.blocks if b.family == family)
            worst.append(jnp.max(total))
        extra = jnp.sum(jnp.square(ratio[self.size:]))
        n_components = len(self.owner) + ratio.shape[0] - self.size
        return jnp.sqrt((jnp.max(jnp.stack(worst)) + extra) / n_components)


_STRUCTURES: dict = {}


def model_structure(model: Model, inputs: ModelInputs) -> Structure:
    """The :class:`Structure` of ``model`` under inputs shaped like ``inputs`` (one run),
    found once per model and input layout."""
    key = (model, str(jax.tree_util.tree_structure(inputs)))
    if key not in _STRUCTURES:
        _STRUCTURES[key] = Structure.of(dependencies(model, inputs))
    return _STRUCTURES[key]


@lru_cache(maxsize=8)
def factored_system(model: Model, structure: Structure, players: tuple[str, ...],
                    pathway: bool) -> FactoredSystem:
    """The factored system of the exact plan over ``players``: the entry view's coalitions
    in :func:`exerpain.explain.shapley.exact_plan` order and (``pathway``) the pathway
    view's in the same order less the empty and the full coalition (the entry view's
    sedentary and exercise runs)."""
    patterns = exact_plan(players).masks
    interior = patterns[patterns.any(axis=1) & ~patterns.all(axis=1)]
    views = {"entry": patterns, **({"pathway": interior} if pathway else {})}
    return FactoredSystem(model, structure, players, views)
