"""Which states and exercise actions each state's derivative depends on, read from the code.

The dependencies are structural: the vector field is traced once with every state and every
mechanism's exercise ablation as a separate scalar, and the data flow of the resulting
``jaxpr`` gives, for each derivative, the inputs it is computed from. That holds for every
parameter value and every input course (a coefficient that happens to be 0 still counts),
so it is conservative: a dependency may be reported that some parameter values switch off,
never the reverse. Primitives with inner programs are followed into them where they are
plain calls (``pjit``, custom derivatives); loops and branches count every input for every
output.

Used by the coalition-factored solve (:mod:`exerpain.simulate.factored`): a mechanism whose
states no exercise action reaches except through players ``A`` follows the same course in
every coalition that agrees on ``A``, so it is solved once per pattern of ``A`` instead of
once per coalition.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend import core as jex_core

from exerpain.model.mechanisms.base import PAIN_SITES
from exerpain.model.registry import Model, ModelInputs

# Primitives that call an inner program on their operands, one to one (followed exactly).
_CALLS = {"pjit": "jaxpr", "closed_call": "call_jaxpr", "core_call": "call_jaxpr",
          "custom_jvp_call": "call_jaxpr", "custom_vjp_call": "call_jaxpr",
          "custom_vjp_call_jaxpr": "fun_jaxpr", "remat": "jaxpr", "checkpoint": "jaxpr"}


@dataclass(frozen=True)
class Dependencies:
    """Structural dependencies of ``model``'s derivatives (state order of ``model``).

    ``reads[i, j]``: d(state i)/dt is computed from state j.
    ``driven[i, k]``: d(state i)/dt is computed from the ablation of exercise mechanism k
    (``model.exercise_mechanisms[k]``), i.e. exercise acts on state i directly through it.
    ``pain_reads[m, j]``: the pain factors of mechanism m (``model.mechanisms[m]``) are
    computed from state j. ``direct[m, j]``: the derivatives of mechanism m read state j
    when the site pain factors are given (``reads_pain[m, s]``: and they read the factor
    of site s, :data:`~exerpain.model.mechanisms.base.PAIN_SITES`).
    """

    reads: np.ndarray  # (n_states, n_states) bool
    driven: np.ndarray  # (n_states, n_exercise_mechanisms) bool
    pain_reads: np.ndarray  # (n_mechanisms, n_states) bool: mechanism's pain factors read j
    direct: np.ndarray  # (n_mechanisms, n_states) bool: derivatives read j, pain factors given
    reads_pain: np.ndarray  # (n_mechanisms, n_sites) bool: derivatives read a site's factor

    def reach(self) -> np.ndarray:
        """(n_states, n_states) bool: state j is upstream of state i (itself included)."""
        n = self.reads.shape[0]
        reach = self.reads | np.eye(n, dtype=bool)
        while True:
            grown = reach | ((reach.astype(int) @ reach.astype(int)) > 0)
            if (grown == reach).all():
                return reach
            reach = grown

    def exercise_reach(self) -> np.ndarray:
        """(n_states, n_exercise_mechanisms) bool: exercise through mechanism k reaches
        state i (directly or through any upstream state)."""
        return (self.reach().astype(int) @ self.driven.astype(int)) > 0


def _flow(jaxpr, inputs: list[int]) -> list[int]:
    """Dependency bit sets (ints) of ``jaxpr``'s outputs given its inputs'."""
    deps: dict = {}
    for var, bits in zip(jaxpr.invars, inputs, strict=True):
        deps[var] = bits
    for var in jaxpr.constvars:
        deps[var] = 0

    def of(atom) -> int:
        return 0 if isinstance(atom, jex_core.Literal) else deps.get(atom, 0)

    for eqn in jaxpr.eqns:
        ins = [of(v) for v in eqn.invars]
        inner = eqn.params.get(_CALLS.get(eqn.primitive.name, ""))
        if inner is not None:
            closed = inner if hasattr(inner, "jaxpr") else None
            body = closed.jaxpr if closed is not None else inner
            n_consts = len(body.invars) - len(ins)
            outs = _flow(body, [0] * n_consts + ins) if n_consts >= 0 else None
            if outs is not None and len(outs) == len(eqn.outvars):
                for var, bits in zip(eqn.outvars, outs, strict=True):
                    deps[var] = bits
                continue
        union = 0
        for bits in ins:
            union |= bits
        for var in eqn.outvars:
            deps[var] = union
    return [of(v) for v in jaxpr.outvars]


def dependencies(model: Model, inputs: ModelInputs, t: float = 0.0) -> Dependencies:
    """Structural dependencies of ``model``'s derivatives under inputs shaped like
    ``inputs`` (one run: scalar parameters; the values do not matter, only the structure)."""
    names = model.state_names
    exercise = model.exercise_mechanisms
    n, k = len(names), len(exercise)

    def context(scalars, pain=None):
        state = dict(zip(names, scalars[:n], strict=True))
        ablation = {**inputs.ablation, **dict(zip(exercise, scalars[n:n + k], strict=True))}
        return model.context_of(jnp.asarray(t, dtype=float), state, inputs._replace(
            ablation=ablation), pain)

    def field(*scalars):
        return model.derivatives(context(scalars))

    def factors(*scalars):
        c = context(scalars)
        return [[*m.pain_factors(c).values()] for m in model.mechanisms]

    sites = len(PAIN_SITES)

    def given_pain(mechanism):
        def fn(*scalars):
            pain = dict(zip(PAIN_SITES, scalars[n + k:], strict=True))
            return model.derivatives(context(scalars, pain), [mechanism])
        return fn

    def flow(fn, extra: int = 0) -> np.ndarray:
        width = n + k + extra
        closed = jax.make_jaxpr(fn)(*[jnp.asarray(1.0, dtype=float)] * width)
        outs = _flow(closed.jaxpr, [1 << i for i in range(width)])
        return np.array([[(o >> i) & 1 for i in range(width)] for o in outs], dtype=bool
                        ).reshape(len(outs), width)

    bits = flow(field)
    per_factor = flow(factors)
    direct = np.zeros((len(model.mechanisms), n), dtype=bool)
    reads_pain = np.zeros((len(model.mechanisms), sites), dtype=bool)
    for i, mechanism in enumerate(model.mechanisms):
        if mechanism.states:
            rows = flow(given_pain(mechanism), sites).any(axis=0)
            direct[i], reads_pain[i] = rows[:n], rows[n + k:]
    sizes = [len(m.pain_factors(context([jnp.asarray(1.0)] * (n + k))))
             for m in model.mechanisms]
    owner = np.repeat(np.arange(len(sizes)), sizes)
    pain_reads = np.zeros((len(sizes), n), dtype=bool)
    for row, m in zip(per_factor[:, :n], owner, strict=True):
        pain_reads[m] |= row
    return Dependencies(reads=bits[:, :n], driven=bits[:, n:], pain_reads=pain_reads,
                        direct=direct, reads_pain=reads_pain)
