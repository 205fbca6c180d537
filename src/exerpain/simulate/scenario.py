"""A scenario: condition x protocol x interventions x ablations x duration, validated.

``Scenario.build`` turns it into the arrays the solver needs (:class:`Prepared`), applying
the condition's parameter overrides. Data flows one way: scenario -> inputs -> solve ->
trajectories -> read-outs and summaries.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from exerpain.errors import InputError
from exerpain.model.conditions import Condition, get_condition
from exerpain.model.interventions import target_fractions
from exerpain.model.overrides import apply_overrides, check_overrides, parse_overrides
from exerpain.model.protocols import (
    Protocol,
    checked_number,
    exercise_inputs,
    field_bounds,
    resolve_protocol,
)
from exerpain.model.registry import Model, ModelInputs
from exerpain.precision import float64

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
    params: dict[str, dict[str, float]] | None = Field(
        default=None, description="partial parameter overrides {group: {name: value}}")

    @field_validator("protocol", mode="before")
    @classmethod
    def _protocol(cls, value: Any) -> Any:
        """A preset name, a path (``str`` or ``os.PathLike``) or a :class:`Protocol`; the
        union's own message would name its members (``protocol.str: ...``)."""
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        if not isinstance(value, (str, Protocol)):
            raise PydanticCustomError(
                "protocol", "must be a preset name, a .yaml/.json file or a Protocol, not "
                            f"{type(value).__name__}")
        return value

    @field_validator("interventions", "ablate", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        """One name or a collection of names. A single string is one name: ``tuple(str)``
        would split ``"naloxone"`` into letters."""
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if isinstance(value, (bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
            raise PydanticCustomError(
                "names", f"must be a name or a list of names, not {type(value).__name__}")
        return tuple(value)

    @field_validator("interventions", "ablate", mode="after")
    @classmethod
    def _once(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        """Each name counts once, in the order given. A repeated name used to stack (a
        second naloxone raised the blockade from 0.95 to 0.9975 occupancy), changing the
        numbers behind the user's back; the repeat is now dropped with a warning."""
        unique = tuple(dict.fromkeys(value))
        if len(unique) < len(value):
            repeated = [n for n in unique if value.count(n) > 1]
            warnings.warn(
                f"{info.field_name}: {', '.join(map(repr, repeated))} given more than once; "
                "each counts once", UserWarning, stacklevel=1)
        return unique

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        """A whole number of days (no booleans: ``True`` used to run one day)."""
        return None if value is None else checked_number(value, 1, MAX_DAYS, integer=True)

    @field_validator("start_day", "stop_day", mode="before")
    @classmethod
    def _schedule(cls, value: Any, info: ValidationInfo) -> Any:
        """A finite day within the protocol's range (no booleans or numeric strings)."""
        if value is None:
            return None
        return checked_number(value, *field_bounds(Protocol.model_fields[info.field_name]))

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, value: Any) -> Any:
        """Partial overrides ``{group: {name: number}}`` (or dotted ``{"group.name":
        number}``, or ``"group.name=value"`` strings) with finite numbers only; pydantic's lax
        mode would take ``True`` or ``"0.5"``. Names and ranges are checked against the model
        in :meth:`build` (:func:`exerpain.model.overrides.check_overrides`)."""
        if value is None:
            return None
        try:
            return parse_overrides(value)
        except InputError as err:
            raise PydanticCustomError("params", str(err).removeprefix("params").lstrip(".: ")
                                      ) from None

    @classmethod
    def create(cls, **kwargs: Any) -> Scenario:
        """Validate, turning pydantic errors into one :class:`InputError` line."""
        try:
            return cls(**kwargs)
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(str(x)[:60] for x in first["loc"])
            message = (f"unknown argument; allowed: {', '.join(cls.model_fields)}"
                       if first["type"] == "extra_forbidden" else first["msg"])
            raise InputError(f"{field}: {message}") from None

    def resolved_condition(self) -> Condition:
        return get_condition(self.condition)

    def resolved_protocol(self) -> Protocol:
        protocol = resolve_protocol(self.protocol)
        if self.start_day is not None or self.stop_day is not None:
            protocol = protocol.with_schedule(self.start_day, self.stop_day)
        return protocol

    def resolved_days(self) -> int:
        return int(self.days if self.days is not None else self.resolved_condition().default_days)

    def resolved_params(self, model: Model) -> dict[str, dict[str, float]]:
        """The model's defaults (the active calibration's) with this scenario's overrides,
        checked against the parameter table, and the condition applied."""
        condition = self.resolved_condition()
        overrides = check_overrides(self.params or {}, model, condition)
        return condition.apply(apply_overrides(model.default_params(), overrides))

    @float64  # public: the solver's inputs are float64 whoever calls it
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
        params = self.resolved_params(model)
        ex = exercise_inputs(protocol, days, model.exercise_mechanisms, kind)
        targets = target_fractions(list(self.interventions), model.target_names)
        inputs = ModelInputs(
            params=_as_arrays(params),
            targets={k: jnp.asarray(v) for k, v in targets.items()},
            exercise=ex,
            ablation={m: jnp.asarray(1.0 if m in self.ablate else 0.0)
                      for m in model.exercise_mechanisms},
            condition={"onset_day": jnp.asarray(condition.onset_day),
                       "insult_days": jnp.asarray(_insult_days(condition, days))},
        )
        steady = condition.start == "steady_state"
        first = 0.0 if steady else condition.onset_day
        t0 = min(first, float(protocol.start_day), 0.0) - 1.0
        jumps = np.sort(np.array([
            condition.onset_day, condition.onset_day + _insult_days(condition, days),
            float(ex.start), float(ex.stop)]))
        _warn_if_exercise_cannot_act(protocol, days)
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


def _warn_if_exercise_cannot_act(protocol: Protocol, days: int) -> None:
    """Warn (once per built scenario) when the run ends before, or on, the day the
    programme starts: it used to run without a word and report no benefit. The warning is
    attributed to this module (``stacklevel=1``) so that the command line, which shows
    exerpain's own warnings as ``warning:`` lines, shows it whoever called ``build``."""
    if protocol.is_sedentary or protocol.start_day < days:
        return
    start = f"{protocol.start_day:g}"
    when = (f"before the programme starts on day {start}" if protocol.start_day > days
            else "the day the programme starts")
    warnings.warn(f"the run ends on day {days}, {when}: exercise cannot act", UserWarning,
                  stacklevel=1)


def _insult_days(condition: Condition, days: int) -> float:
    """How long the insult acts, as the solver sees it.

    An insult that ends exactly on the run's last day (every 1-day rodent run: injury on
    day 0 for 1 day) is extended past the end. Nothing in the run changes (the insult acts
    on the derivatives only, and the integration stops at the end), but the integrator's
    last step ends on that day: diffrax moves a step that ends just before a jump onto the
    end time when the two are within 100 ULP, so the step's last stage saw the field after
    the insult had stopped, every such step was rejected, and the step size collapsed
    below ``DTMIN`` ("solver failure" for ``pnsl``/``cci`` with ``days=1``).
    """
    if condition.onset_day + condition.insult_days == days:
        return condition.insult_days + 1.0
    return condition.insult_days


def _as_arrays(params: dict) -> dict:
    return {g: {k: jnp.asarray(float(v)) for k, v in values.items()}
            for g, values in params.items()}
