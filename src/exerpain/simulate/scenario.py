"""A scenario: condition x protocol x interventions x ablations x duration, validated.

``Scenario.build`` turns it into the arrays the solver needs (:class:`Prepared`), applying
the condition's parameter overrides. Data flows one way: scenario -> inputs -> solve ->
trajectories -> read-outs and summaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from exerpain.errors import InputError
from exerpain.model.conditions import Condition, get_condition
from exerpain.model.interventions import target_fractions
from exerpain.model.protocols import Protocol, exercise_inputs, resolve_protocol
from exerpain.model.registry import Model, ModelInputs

MAX_DAYS = 3650


class Scenario(BaseModel):
    """One simulated run. ``protocol`` is a preset name, a YAML/JSON path or a Protocol."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    condition: str
    protocol: str | Protocol = "sedentary"
    interventions: tuple[str, ...] = ()
    ablate: tuple[str, ...] = ()
    days: int | None = Field(default=None, gt=0, le=MAX_DAYS,
                             description=f"simulated days after onset, 1-{MAX_DAYS}")
    start_day: float | None = None
    stop_day: float | None = None
    params: dict[str, dict[str, float]] | None = None

    @field_validator("interventions", "ablate", mode="before")
    @classmethod
    def _tuple(cls, v):
        return tuple(v) if v is not None else ()

    @classmethod
    def create(cls, **kwargs) -> Scenario:
        """Validate, turning pydantic errors into one :class:`InputError` line."""
        try:
            return cls(**kwargs)
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(str(x) for x in first["loc"])
            raise InputError(f"{field}: {first['msg']}") from None

    def resolved_condition(self) -> Condition:
        return get_condition(self.condition)

    def resolved_protocol(self) -> Protocol:
        protocol = resolve_protocol(self.protocol)
        if self.start_day is not None or self.stop_day is not None:
            protocol = protocol.with_schedule(self.start_day, self.stop_day)
        return protocol

    def resolved_days(self) -> int:
        return int(self.days if self.days is not None else self.resolved_condition().default_days)

    def build(self, model: Model) -> Prepared:
        condition = self.resolved_condition()
        protocol = self.resolved_protocol()
        kind = condition.kind
        if protocol.species not in ("any", kind):
            raise InputError(
                f"protocol: preset {protocol.name!r} is for {protocol.species}s, condition "
                f"{condition.name!r} is a {condition.species} model")
        for name in self.ablate:
            if name not in model.exercise_mechanisms:
                raise InputError(f"ablate: unknown mechanism {name!r}; allowed: "
                                 f"{', '.join(model.exercise_mechanisms)}")
        days = self.resolved_days()
        params = condition.apply(self.params or model.default_params())
        ex = exercise_inputs(protocol, days, model.exercise_mechanisms, kind)
        targets = target_fractions(list(self.interventions), model.target_names)
        inputs = ModelInputs(
            params=_as_arrays(params),
            targets={k: jnp.asarray(v) for k, v in targets.items()},
            exercise=ex,
            ablation={m: jnp.asarray(1.0 if m in self.ablate else 0.0)
                      for m in model.exercise_mechanisms},
            condition={"onset_day": jnp.asarray(condition.onset_day),
                       "insult_days": jnp.asarray(condition.insult_days)},
        )
        steady = condition.start == "steady_state"
        first = 0.0 if steady else condition.onset_day
        t0 = min(first, float(protocol.start_day), 0.0) - 1.0
        jumps = np.sort(np.array([
            condition.onset_day, condition.onset_day + condition.insult_days,
            float(ex.start), float(ex.stop)]))
        return Prepared(inputs=inputs, t0=t0, jump_ts=jumps, days=days, kind=kind,
                        species=condition.species, protocol=protocol, steady_start=steady)


@dataclass(frozen=True)
class Prepared:
    """A scenario as solver arrays."""

    inputs: ModelInputs
    t0: float
    jump_ts: np.ndarray
    days: int
    kind: str
    species: str
    protocol: Protocol
    steady_start: bool = False


def _as_arrays(params: dict) -> dict:
    return {g: {k: jnp.asarray(float(v)) for k, v in values.items()}
            for g, values in params.items()}
