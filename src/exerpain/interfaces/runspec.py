"""One validated description of a run: what the command line, the Python API and the HTTP API
all build, and the only thing that reaches the engine (:mod:`exerpain.interfaces.runner`).

A spec is JSON/YAML-able and recorded whole in every ``run.json``, so a run can be repeated
from its provenance alone (``exerpain run --spec run.json``'s ``spec``). ``kind`` selects
what to run:

- ``simulate``: one protocol and its sedentary control (:func:`exerpain.simulate_pair`);
- ``cohort``: a virtual population with Shapley attribution
  (:func:`exerpain.simulate.engine.run_cohort`);
- ``trial``: replicate virtual randomised trials of a design (:mod:`exerpain.design`).

Every kind takes partial parameter overrides (``params``: ``{"opioid": {"k_opioid": 0.3}}``,
``{"opioid.k_opioid": 0.3}`` or ``["opioid.k_opioid=0.3"]``), checked against the parameter
table's names and declared ranges, and optionally the name of the calibration to use.
Structural errors are pydantic's (the HTTP API returns them as 422); :func:`check_spec` then
checks what needs the model (names, ranges, presets, files) and raises one
:class:`~exerpain.errors.InputError` naming the field.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from exerpain.errors import InputError

# The engine's bounds (scenario.MAX_DAYS, engine.SEED_MIN/SEED_MAX, trial.MAX_REPLICATES),
# repeated so that this module imports no JAX; tests/test_runs.py checks they agree.
MAX_DAYS = 3650
SEED_MIN, SEED_MAX = 0, 2**63 - 1
MAX_REPLICATES = 20_000


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    params: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="partial parameter overrides {group: {name: value}} (also accepted: "
                    "{'group.name': value} or ['group.name=value']), each within the "
                    "parameter's declared range; `exerpain params` lists them")
    calibration: str | None = Field(
        default=None, description="calibration to use by name ('package' or one in the data "
                                  "directory); default: the active one")

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, value: Any) -> Any:
        from exerpain.model.overrides import parse_overrides

        try:
            return parse_overrides(value)
        except InputError as err:
            raise ValueError(str(err).removeprefix("params").lstrip(".: ")) from None


class _Scenario(_Base):
    condition: str = Field(description="cci, sni, pnsl, stz, paclitaxel, sham, dpn, cipn")
    protocol: str | dict[str, Any] = Field(
        default="sedentary", description="a preset name, a protocol file, or the protocol's "
                                         "fields inline (see `exerpain info`)")
    interventions: list[str] = Field(default_factory=list,
                                     description="blockades or drugs, by name")
    ablate: list[str] = Field(default_factory=list,
                              description="mechanisms exercise may not act through")
    days: int | None = Field(default=None, ge=1, le=MAX_DAYS,
                             description=f"days simulated after onset (1-{MAX_DAYS})")
    start_day: float | None = Field(default=None, description="the programme's start day")
    stop_day: float | None = Field(default=None, description="the programme's stop day")


class SimulateSpec(_Scenario):
    """A protocol and its sedentary control."""

    kind: Literal["simulate"] = "simulate"


class CohortSpec(_Scenario):
    """A virtual cohort: benefit, responders, Shapley attribution, priming, endotypes."""

    kind: Literal["cohort"] = "cohort"
    n: int = Field(ge=1, le=10**9, description="virtual subjects")
    seed: int = Field(default=0, ge=SEED_MIN, le=SEED_MAX, description="PRNG seed")
    attribution: bool = True
    attribution_scale: Literal["readout", "log_drive"] = "readout"
    pathway: bool = Field(default=True, description="the pathway view beside the entry view")
    posterior_draws: int = Field(default=16, ge=0, le=1000)
    sex: Literal["male", "female", "mixed"] | None = None
    memory_gb: float = Field(default=2.0, ge=0.01, le=4096)


class TrialSpec(_Base):
    """Replicate virtual randomised trials of a design."""

    kind: Literal["trial"] = "trial"
    design: str | dict[str, Any] = Field(
        description="a trial design file (YAML/JSON) or the design inline "
                    "(`exerpain trial example` prints one)")
    replicates: int = Field(default=200, ge=1, le=MAX_REPLICATES)
    seed: int = Field(default=0, ge=SEED_MIN, le=SEED_MAX)
    n: int | None = Field(default=None, ge=2, le=100_000,
                          description="override the number randomised")
    null: bool = Field(default=False, description="every arm as the control (type I error)")
    power: float | None = Field(default=None, gt=0, lt=1,
                                description="find the n per arm that gives this power")


RunSpec = Annotated[SimulateSpec | CohortSpec | TrialSpec, Field(discriminator="kind")]
_ADAPTER: TypeAdapter = TypeAdapter(RunSpec)
KINDS = ("simulate", "cohort", "trial")


def error_field(err: ValidationError) -> str:
    """The first error of ``err`` as one line naming the field."""
    first = err.errors()[0]
    loc = [str(x) for x in first["loc"] if str(x) not in KINDS]
    field = ".".join(loc) or "spec"
    if first["type"] == "extra_forbidden":
        return f"{field}: unknown field"
    if first["type"] == "union_tag_invalid" or first["type"] == "union_tag_not_found":
        return f"kind: must be one of {', '.join(KINDS)}"
    return f"{field}: {first['msg'].removeprefix('Value error, ')}"


def parse_spec(data: Any) -> SimulateSpec | CohortSpec | TrialSpec:
    """A spec from a mapping (structure only; see :func:`check_spec`)."""
    if not isinstance(data, dict):
        raise InputError(f"spec: must be a mapping with a 'kind', not {type(data).__name__}")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as err:
        raise InputError(error_field(err)) from None


def load_spec(path: str | Path) -> SimulateSpec | CohortSpec | TrialSpec:
    """A spec from a YAML or JSON file; a ``run.json`` is accepted too (its ``spec``)."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise InputError(f"spec: cannot read {path} ({err.strerror})") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as err:
        raise InputError(f"spec: {path} is not valid {path.suffix[1:] or 'YAML'}: "
                         f"{str(err).splitlines()[0][:120]}") from None
    if isinstance(data, dict) and "spec" in data and "schema" in data:
        data = data["spec"]  # a run.json: repeat its run
    return parse_spec(data)


def with_assignments(spec, assignments: list[str] | None):
    """``spec`` with ``--set GROUP.NAME=VALUE`` assignments merged into its overrides."""
    from exerpain.model.overrides import parse_overrides

    if not assignments:
        return spec
    merged = {g: dict(v) for g, v in spec.params.items()}
    for group, values in parse_overrides(assignments, "set").items():
        merged.setdefault(group, {}).update(values)
    return spec.model_copy(update={"params": merged})


def schema() -> dict:
    """The JSON schema of a spec (the HTTP API's request body)."""
    return _ADAPTER.json_schema()


def scenario_of(spec: SimulateSpec | CohortSpec):
    """The :class:`~exerpain.simulate.scenario.Scenario` of a simulate or cohort spec."""
    from exerpain.model.protocols import Protocol
    from exerpain.simulate.scenario import Scenario

    protocol = spec.protocol
    if isinstance(protocol, dict):
        try:
            protocol = Protocol(**protocol)
        except ValidationError as err:
            raise InputError("protocol." + error_field(err)) from None
    return Scenario.create(condition=spec.condition, protocol=protocol,
                           interventions=spec.interventions, ablate=spec.ablate,
                           days=spec.days, start_day=spec.start_day, stop_day=spec.stop_day,
                           params=spec.params or None)


def cohort_config(spec: CohortSpec):
    """The engine's :class:`~exerpain.simulate.engine.CohortConfig` of a cohort spec."""
    from exerpain.simulate.engine import CohortConfig

    return CohortConfig(
        condition=spec.condition, protocol=spec.protocol if isinstance(spec.protocol, str)
        else scenario_of(spec).protocol, n=spec.n, seed=spec.seed,
        interventions=tuple(spec.interventions), ablate=tuple(spec.ablate), days=spec.days,
        start_day=spec.start_day, stop_day=spec.stop_day, attribution=spec.attribution,
        attribution_scale=spec.attribution_scale, pathway=spec.pathway,
        posterior_draws=spec.posterior_draws, sex=spec.sex, memory_gb=spec.memory_gb,
        params=spec.params or None)


def trial_design(spec: TrialSpec):
    """``(design, base folder)`` of a trial spec, with ``n`` and ``null`` applied."""
    from exerpain.design.spec import load_design, validated

    if isinstance(spec.design, str):
        design, base = load_design(spec.design)
    else:
        design, base = validated(spec.design, "design"), None
    if spec.n is not None:
        design = design.with_n(spec.n)
    if spec.null:
        design = design.null()
    return design, base


def check_spec(spec) -> None:
    """Everything that needs the model: conditions, presets, interventions, mechanism and
    parameter names and ranges, the calibration, the design file. Raises
    :class:`InputError` naming the first bad field; does no simulation."""
    from exerpain.model.calibrated import check_name, load, using
    from exerpain.model.registry import Model

    if spec.calibration is not None:
        load(check_name(spec.calibration))
    with using(spec.calibration) if spec.calibration else contextlib.nullcontext():
        model = Model.default()
        if spec.kind == "trial":
            from exerpain.model.conditions import get_condition
            from exerpain.model.overrides import check_overrides

            design, _ = trial_design(spec)
            check_overrides(spec.params, model, get_condition(design.condition))
            if spec.power is not None:
                from exerpain.design.power import check_power

                check_power(spec.power)
            return
        scenario = scenario_of(spec)
        scenario.build(model)
        if spec.kind == "cohort":
            from exerpain.simulate.engine import validate_config

            validate_config(cohort_config(spec))

