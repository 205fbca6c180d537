"""The mechanism-module contract and the shared pieces modules are written with.

A mechanism module declares
- its states (:class:`StateSpec`), each a fold change over healthy or a fraction;
- its parameters (:class:`Parameter`), each with units, range and provenance;
- its pharmacological targets (names interventions can act on, as a fraction 0..1);
- how exercise acts on it (``exercise_action``; ``None`` if exercise acts on it only through
  other modules);
- its contribution to pain, as multiplicative factors at a site of the nociceptive pathway
  (``peripheral``, ``spinal``, ``descending`` or ``central``), each equal to 1 in health;
- its derivatives, given a :class:`Context` with the whole state, its parameters, the
  exercise drive and the intervention targets.

Pain is composed as a product of factors (peripheral drive x spinal disinhibition x loss of
descending inhibition x central gain), not a sum; see :mod:`exerpain.model.registry`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

import jax.numpy as jnp
from jax import Array

from exerpain.model.parameters import Parameter, StateSpec

PAIN_SITES = ("peripheral", "spinal", "descending", "central")
DRIVE_FLOOR = 1e-6  # lower bound of a pain product before a power is taken
LOG_DRIVE_FLOOR = math.log(DRIVE_FLOOR)


class ExerciseDrive(NamedTuple):
    """Exercise signals at one time point, dimensionless.

    chronic: training adaptation in [0, 1) x responsiveness (saturating in load, built up
        and lost with their own time constants; :mod:`exerpain.model.protocols`).
    acute_opioid: daily mean exposure to sessions above the beta-endorphin intensity threshold.
    acute_general: daily mean session frequency (sessions/day) while the programme runs.
    stress: accumulated excess load above tolerance (>= 0), pro-inflammatory.
    """

    chronic: Array
    acute_opioid: Array
    acute_general: Array
    stress: Array

    def scaled(self, factor: Array) -> ExerciseDrive:
        return ExerciseDrive(*(x * factor for x in self))


@dataclass
class Context:
    """Everything a module may read while its derivatives are evaluated (traced under jit)."""

    t: Array
    state: dict[str, Array]
    params: dict[str, dict[str, Array]]
    targets: dict[str, Array]
    exercise: ExerciseDrive
    weights: dict[str, Array]
    ablation: dict[str, Array]
    condition: dict[str, Array]
    pain: dict[str, Array] = field(default_factory=dict)
    # ``{site: log of the site's product}``, where a solver holds the products as sums of
    # logarithms (the coalition-factored system, simulate/factored.py); else None
    log_pain: dict[str, Array] | None = None

    def pain_power(self, sites: tuple[str, ...], exponent: Array) -> Array:
        """``max(prod(pain[s] for s in sites), DRIVE_FLOOR) ** exponent``, computed as
        ``exp(exponent * max(sum(log_pain[s]), log DRIVE_FLOOR))`` where the solver supplies
        the logarithms (one ``exp`` per copy instead of three products and a ``pow``; equal
        up to rounding)."""
        if self.log_pain is None:
            product = self.pain[sites[0]]
            for site in sites[1:]:
                product = product * self.pain[site]
            return jnp.maximum(product, DRIVE_FLOOR) ** exponent
        total = self.log_pain[sites[0]]
        for site in sites[1:]:
            total = total + self.log_pain[site]
        return jnp.exp(exponent * jnp.maximum(total, LOG_DRIVE_FLOOR))

    def get(self, name: str, default: float = 1.0) -> Array:
        """A state by its qualified name (``module.state``); ``default`` if the module is absent."""
        return self.state.get(name, jnp.asarray(default))

    def target(self, name: str) -> Array:
        """Fractional action (0 = none, 1 = complete) of interventions on a target."""
        return self.targets.get(name, jnp.asarray(0.0))

    def drive(self, mechanism: str) -> ExerciseDrive:
        """Exercise's action through ``mechanism``: modality weight x (1 - ablation)."""
        weight = self.weights.get(mechanism, jnp.asarray(1.0))
        ablate = self.ablation.get(mechanism, jnp.asarray(0.0))
        return self.exercise.scaled(weight * (1.0 - ablate))

    def insult_active(self) -> Array:
        """1 while the condition's insult (surgery, toxin, hyperglycaemia) acts, else 0."""
        onset = self.condition["onset_day"]
        end = onset + self.condition["insult_days"]
        return jnp.where((self.t >= onset) & (self.t < end), 1.0, 0.0)

    def after_onset(self) -> Array:
        return jnp.where(self.t >= self.condition["onset_day"], 1.0, 0.0)


class Mechanism:
    """Base class of a mechanism module (see the module docstring for the contract)."""

    name: ClassVar[str]
    summary: ClassVar[str]
    states: ClassVar[tuple[StateSpec, ...]] = ()
    parameters: ClassVar[tuple[Parameter, ...]] = ()
    targets: ClassVar[dict[str, str]] = {}
    exercise_action: ClassVar[str | None] = None
    intervention_action: ClassVar[str] = "none"
    pain_contribution: ClassVar[str] = "none"

    def p(self, c: Context) -> dict[str, Array]:
        return c.params[self.name]

    def s(self, c: Context, state: str) -> Array:
        return c.state[f"{self.name}.{state}"]

    def healthy(self, params: dict[str, Array]) -> dict[str, Array]:
        """Healthy values of states that depend on parameters (others use ``StateSpec``)."""
        return {}

    def pain_factors(self, c: Context) -> dict[str, Array]:
        """Multiplicative pain factors by site (each 1 in health)."""
        return {}

    def derivatives(self, c: Context) -> dict[str, Array]:
        """Time derivatives (per day) of this module's states, keyed by short state name."""
        raise NotImplementedError


def inhibitory_factor(tone: Array, kappa: Array, weight: Array) -> Array:
    """Pain factor of an inhibitory tone (fold change, healthy 1).

    ``((1 + kappa) / (1 + kappa * tone)) ** weight``: 1 at healthy tone, below 1 when the tone
    rises, and bounded at ``(1 + kappa) ** weight`` when the tone is fully blocked (tone 0),
    which is how a receptor blockade removes a mechanism's own tone.
    """
    tone = jnp.maximum(tone, 0.0)
    return ((1.0 + kappa) / (1.0 + kappa * tone)) ** weight


def excitatory_factor(level: Array, weight: Array) -> Array:
    """Pain factor of a pro-nociceptive mediator (fold change, healthy 1): ``level ** weight``."""
    return jnp.maximum(level, 1e-9) ** weight


def relax(rate: Array, target: Array, current: Array) -> Array:
    """First-order relaxation ``rate * (target - current)`` (per day)."""
    return rate * (target - current)


def param(
    name: str,
    value: float,
    unit: str,
    low: float,
    high: float,
    kind: str,
    provenance: str,
    description: str = "",
) -> Parameter:
    """Shorthand constructor for :class:`Parameter`."""
    return Parameter(name, value, unit, low, high, kind, provenance, description)  # type: ignore[arg-type]


def state(
    name: str, description: str, healthy: float = 1.0, lower: float = 0.0,
    upper: float = 1e3, unit: str = "fold change vs healthy",
) -> StateSpec:
    """Shorthand constructor for :class:`StateSpec` (fold change by default)."""
    return StateSpec(name, healthy, lower, upper, unit, description)
