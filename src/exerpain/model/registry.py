"""The registry: composes mechanism modules into one model and one vector field.

Composition rule (documented structure, DESIGN.md section 2)
-----------------------------------------------------------
Each module returns multiplicative pain factors at four sites of the nociceptive pathway.
The nociceptive drive is their product::

    N = prod(peripheral) * prod(spinal) * prod(descending) * prod(central)

so pain is peripheral drive x spinal disinhibition x loss of descending inhibition x central
gain, not a sum. Serial dependencies live inside modules (VTA dopamine -> PAG/RVM opioid ->
descending serotonin; IL-4 -> M2 -> IL-10 -> cytokines/microglia -> spinal BDNF -> KCC2), and
the read-outs are saturating functions of N (:mod:`exerpain.model.readouts`). Together these
make single blockades remove most of the exercise effect, as observed (Stagg 2011; Bobinski
2018; PMC5140073).

The vector field is evaluated in two phases: (1) every module's pain factors from the current
state; (2) every module's derivatives, with the site products in ``Context.pain`` (the
sensitization module reads them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

import jax.numpy as jnp
from jax import Array

if TYPE_CHECKING:
    from exerpain.model.mechanisms.base import Mechanism
    from exerpain.model.parameters import Parameter, StateSpec

_REGISTERED: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator: make a mechanism module part of the default model."""
    if cls.name in _REGISTERED and _REGISTERED[cls.name] is not cls:
        raise ValueError(f"mechanism {cls.name!r} is already registered")
    _REGISTERED[cls.name] = cls
    return cls


# Canonical order of the built-in modules in the state vector (others follow, in
# registration order).
CANONICAL_ORDER = (
    "injury", "oxidative", "inflammation", "neurotrophic", "gabaergic", "opioid",
    "monoaminergic", "endocannabinoid", "dopaminergic", "sensitization",
)


class ModelInputs(NamedTuple):
    """Everything a solve needs besides the state; a pytree of arrays (vmappable).

    params: ``{group: {name: value}}`` for every mechanism plus ``exercise`` and ``readout``.
    targets: ``{target: fraction}``, intervention action on every declared target (0..1).
    exercise: protocol arrays (:class:`exerpain.model.protocols.ExerciseInputs`).
    ablation: ``{mechanism: 0 or 1}``, 1 removes exercise's action through the mechanism.
    condition: ``{"onset_day", "insult_days"}`` timing of the condition's insult (day).
    dosing: drugs with a schedule (:class:`exerpain.model.pharmacology.DosingInputs`), acting
        on the targets beside ``targets``; ``None``: none.
    """

    params: dict
    targets: dict
    exercise: object
    ablation: dict
    condition: dict
    dosing: object = None


class Model:
    """A composition of mechanism modules with a fixed state layout."""

    def __init__(self, mechanisms: Sequence[Mechanism]):
        names = [m.name for m in mechanisms]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate mechanism names in {names}")
        self.mechanisms: tuple[Mechanism, ...] = tuple(mechanisms)
        self.state_specs: tuple[tuple[str, StateSpec], ...] = tuple(
            (f"{m.name}.{s.name}", s) for m in self.mechanisms for s in m.states
        )
        self.state_names: tuple[str, ...] = tuple(n for n, _ in self.state_specs)
        # the mechanism each state belongs to, in state order
        self.state_owners: tuple[str, ...] = tuple(m.name for m in self.mechanisms
                                                   for _ in m.states)
        self.exercise_mechanisms: tuple[str, ...] = tuple(
            m.name for m in self.mechanisms if m.exercise_action
        )
        self.target_names: tuple[str, ...] = tuple(
            sorted({t for m in self.mechanisms for t in m.targets})
        )
        self.mechanism_names: tuple[str, ...] = tuple(names)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def default(cls) -> Model:
        """The model made of every registered mechanism module (cached)."""
        global _DEFAULT
        if _DEFAULT is None:
            import exerpain.model.mechanisms  # noqa: F401  (registers the built-ins)

            _DEFAULT = cls(_instantiate(_REGISTERED.values()))
        return _DEFAULT

    def with_mechanism(self, mechanism: Mechanism) -> Model:
        """A new model with one more module (the existing ones untouched)."""
        return Model([*self.mechanisms, mechanism])

    # -- parameters ---------------------------------------------------------------------
    def parameter_table(self, declared: bool = False) -> list[tuple[str, Parameter]]:
        """Every parameter as ``(group, Parameter)``: mechanisms, exercise, read-outs,
        conditions, population. The values are the shipped calibration's
        (:mod:`exerpain.model.calibrated`) unless ``declared``, which gives the declared
        values (the calibration's prior centres).
        """
        from exerpain.model.calibrated import apply_calibration
        from exerpain.model.conditions import CONDITION_PARAMETERS
        from exerpain.model.protocols import EXERCISE_PARAMETERS
        from exerpain.model.readouts import READOUT_PARAMETERS
        from exerpain.population.modifiers import POPULATION_PARAMETERS, spread_parameter

        rows = [(m.name, p) for m in self.mechanisms for p in m.parameters]
        rows += [("exercise", p) for p in EXERCISE_PARAMETERS]
        rows += [("readout", p) for p in READOUT_PARAMETERS]
        rows += [("condition", p) for p in CONDITION_PARAMETERS]
        rows += [("population", spread_parameter(m.name)) for m in self.mechanisms]
        rows += [("population", p) for p in POPULATION_PARAMETERS]
        return rows if declared else apply_calibration(rows)

    def default_params(self, declared: bool = False) -> dict[str, dict[str, float]]:
        """``{group: {name: value}}`` of :meth:`parameter_table`."""
        params: dict[str, dict[str, float]] = {}
        for group, p in self.parameter_table(declared):
            params.setdefault(group, {})[p.name] = float(p.value)
        for m in self.mechanisms:
            params.setdefault(m.name, {})
        return params

    # -- state --------------------------------------------------------------------------
    def healthy_state(self, params: dict) -> Array:
        """Healthy steady state (a fixed point of the vector field without insult)."""
        values = []
        for m in self.mechanisms:
            overrides = m.healthy(params[m.name])
            values += [overrides.get(s.name, s.healthy) for s in m.states]
        return jnp.stack([jnp.asarray(v, dtype=float) for v in values])

    def unpack(self, y: Array) -> dict[str, Array]:
        return {name: y[..., i] for i, name in enumerate(self.state_names)}

    # -- dynamics -----------------------------------------------------------------------
    def context(self, t: Array, y: Array, inputs: ModelInputs):
        """The :class:`~exerpain.model.mechanisms.base.Context` of state vector ``y``."""
        return self.context_of(t, self.unpack(y), inputs)

    def context_of(self, t: Array, state: dict[str, Array], inputs: ModelInputs,
                   pain: dict[str, Array] | None = None):
        """The context of the states ``{qualified name: value}``, with the site pain
        factors ``pain`` (``{site: product}``; computed from ``state`` when ``None``)."""
        from exerpain.model.mechanisms.base import PAIN_SITES, Context
        from exerpain.model.pharmacology import effective_targets
        from exerpain.model.protocols import exercise_signals, exercise_weights

        c = Context(
            t=t,
            state=state,
            params=inputs.params,
            targets=effective_targets(t, inputs.targets, inputs.dosing),
            exercise=exercise_signals(t, inputs.exercise, inputs.params["exercise"]),
            weights=exercise_weights(t, inputs.exercise),
            ablation=inputs.ablation,
            condition=inputs.condition,
        )
        if pain is None:
            pain = {site: jnp.asarray(1.0) for site in PAIN_SITES}
            for m in self.mechanisms:
                for site, factor in m.pain_factors(c).items():
                    pain[site] = pain[site] * factor
        c.pain = pain
        return c

    def vector_field(self, t: Array, y: Array, inputs: ModelInputs) -> Array:
        """dy/dt (per day) of the composed model."""
        return jnp.stack(self.derivatives(self.context(t, y, inputs)))

    def derivatives(self, c, mechanisms: Sequence[Mechanism] | None = None) -> list[Array]:
        """d/dt (per day) of the states of ``mechanisms`` (default: all), in state order."""
        out = []
        for m in self.mechanisms if mechanisms is None else mechanisms:
            d = m.derivatives(c) if m.states else {}
            out += [d[s.name] for s in m.states]
        return out

    def nociceptive_drive(self, t: Array, y: Array, inputs: ModelInputs) -> dict[str, Array]:
        """Site products and their total ``N`` (dimensionless, 1 in health)."""
        pain = self.context(t, y, inputs).pain
        total = pain["peripheral"] * pain["spinal"] * pain["descending"] * pain["central"]
        return {**{f"pain_{k}": v for k, v in pain.items()}, "nociceptive_drive": total}


_DEFAULT: Model | None = None


def _instantiate(classes: Iterable[type]) -> list:
    classes = list(classes)
    rank = {n: i for i, n in enumerate(CANONICAL_ORDER)}
    classes.sort(key=lambda c: rank.get(c.name, len(rank)))
    return [c() for c in classes]
