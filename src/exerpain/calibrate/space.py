"""The parameter space a calibration searches, and its prior.

Free parameters are those whose provenance is not a published measurement (kind ``assumed``
or ``calibrated``) in the mechanism, exercise, read-out, condition and population groups
(the per-mechanism between-subject spreads and the covariate/genotype modifier sizes).
Left out, each for a stated reason: parameters whose nominal value sits on a bound of its
range (structural zeros, neutral modifiers of null findings), parameters each condition sets
from its own (the injury and metabolic rates), and the reference programme that only defines
the unit of exercise load (degenerate with responsiveness).

Each free parameter ``v`` in ``[low, high]`` is searched on the logit scale
``theta = logit((v - low) / (high - low))``, which keeps it inside its declared range. The
prior is ``theta ~ Normal(theta_nominal, PRIOR_SD**2)``: centred on the declared nominal value
(the previous calibration for ``calibrated`` parameters), wide enough to cover most of the
range (PRIOR_SD = 1.0 puts 95% of the mass between 12% and 88% of the way from the nominal
to either bound on the logit scale).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from exerpain.model.conditions import CONDITIONS
from exerpain.model.parameters import Parameter
from exerpain.model.registry import Model

PRIOR_SD = 1.0
EXCLUDED = {
    ("exercise", "reference_minutes"): "defines the unit of exercise load",
    ("exercise", "reference_intensity"): "defines the unit of exercise load",
    ("exercise", "reference_sessions_per_week"): "defines the unit of exercise load",
}


@dataclass(frozen=True)
class ParameterSpace:
    """Ordered free parameters with their bounds and prior centre (logit scale)."""

    keys: tuple[tuple[str, str], ...]
    low: np.ndarray
    high: np.ndarray
    nominal: np.ndarray
    excluded: dict[str, str]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f"{g}.{n}" for g, n in self.keys)

    @property
    def theta_prior(self) -> np.ndarray:
        return to_theta(self.nominal, self.low, self.high)

    def values(self, theta: Array) -> Array:
        """Natural values (units of each parameter) of ``theta``."""
        return self.low + (self.high - self.low) * jax.nn.sigmoid(theta)

    def params(self, theta: Array, base: dict) -> dict:
        """``base`` (``{group: {name: value}}``) with the free parameters set from ``theta``."""
        out = {g: dict(v) for g, v in base.items()}
        values = self.values(theta)
        for i, (g, n) in enumerate(self.keys):
            out[g][n] = values[i]
        return out

    def subset(self, names: tuple[str, ...]) -> ParameterSpace:
        """The space restricted to ``names`` (in that order)."""
        index = [self.names.index(n) for n in names]
        return ParameterSpace(tuple(self.keys[i] for i in index), self.low[index],
                              self.high[index], self.nominal[index], self.excluded)

    def dvalue_dtheta(self, theta: np.ndarray) -> np.ndarray:
        s = 1.0 / (1.0 + np.exp(-theta))
        return (self.high - self.low) * s * (1.0 - s)


def to_theta(value: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    u = (np.asarray(value, dtype=float) - low) / (high - low)
    return np.log(u) - np.log1p(-u)


def free_space(model: Model, declared: list[tuple[str, Parameter]] | None = None
               ) -> ParameterSpace:
    """The free parameters of ``model`` around the declared (prior) values."""
    rows = declared if declared is not None else model.parameter_table()
    mechanism_groups = set(model.mechanism_names) | {"exercise", "readout", "condition",
                                                      "population"}
    linked = {key for c in CONDITIONS.values() for key in c.linked}
    keys, low, high, nominal, excluded = [], [], [], [], {}
    for group, p in rows:
        key = (group, p.name)
        name = f"{group}.{p.name}"
        if group not in mechanism_groups:
            continue
        if p.kind == "cited":
            continue
        if key in EXCLUDED:
            excluded[name] = EXCLUDED[key]
        elif name in linked:
            excluded[name] = "set by each condition from its own parameters (group condition)"
        elif p.value <= p.low or p.value >= p.high:
            excluded[name] = "nominal on a bound of its range (structural; set by conditions)"
        else:
            keys.append(key)
            low.append(p.low)
            high.append(p.high)
            nominal.append(p.value)
    return ParameterSpace(tuple(keys), np.asarray(low), np.asarray(high), np.asarray(nominal),
                          excluded)


def prior_residuals(space: ParameterSpace, theta: Array) -> Array:
    """``(theta - theta_prior) / PRIOR_SD``: the prior as least-squares residuals."""
    return (theta - jnp.asarray(space.theta_prior)) / PRIOR_SD
