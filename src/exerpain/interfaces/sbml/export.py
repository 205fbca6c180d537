"""A scenario's composed model as SBML: one general mechanism, no SBML written by hand.

:func:`export_scenario` builds the scenario (:meth:`exerpain.simulate.scenario.Scenario.build`),
traces the model's vector field, its observables (:func:`exerpain.simulate.solve.observer`)
and the exercise signals (:func:`exerpain.model.protocols.exercise_signals`) with
``jax.make_jaxpr``, with every input of the run (the ``{group: {name: value}}`` parameters,
intervention targets, protocol arrays, ablations, the insult's timing) as an argument, and
writes the program as SBML formulas (:mod:`exerpain.interfaces.sbml.jaxpr_math`). So the
document is whatever the model is: a new mechanism module is exported without any change
here.

Conventions of the document (repeated in its notes):

- time in days; SBML time 0 is exerpain's day ``t0`` (:attr:`SbmlExport.t0`, the day the
  solver starts from, e.g. -1), and the assignment rule ``day = day_at_start + time`` gives
  exerpain's day (exerpain's day ``d`` is SBML time ``d - t0``);
- states are parameters with rate rules named ``group__state`` (``opioid__tone``), their
  initial values the state exerpain starts from (:func:`exerpain.simulate.solve.initial_state`:
  health, or the untreated condition's steady state at ``t0`` by Newton's method);
- inputs are constant parameters: ``group__name`` (exerpain's parameters, with unit, range
  and provenance), ``target__*`` (interventions' action, 0-1), ``protocol__*`` (the exercise
  protocol), ``ablation__*`` and ``timing__*`` (the insult's onset and duration); inputs the
  scenario does not use are left out;
- read-outs are assignment rules named as exerpain's columns (``withdrawal_threshold_g``,
  ``nrs``, ``nociceptive_drive``, ``pain_spinal``, ``sciatic_functional_index`` ...), and
  ``exercise_chronic``, ``exercise_acute_opioid``, ``exercise_acute_general``,
  ``exercise_stress`` are the exercise signals;
- ``_v<n>`` are intermediate values of the program (assignment rules).

Changing an input in the SBML changes the dynamics as in exerpain, but not the initial
state, which exerpain computed for the exported values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from exerpain.errors import InputError
from exerpain.interfaces.sbml.document import ModelSpec, Quantity, build_document, to_string
from exerpain.interfaces.sbml.jaxpr_math import STATE, TIME, FormulaSink, text, translate
from exerpain.model.protocols import exercise_signals
from exerpain.model.registry import Model
from exerpain.precision import float64
from exerpain.simulate.scenario import Prepared, Scenario
from exerpain.simulate.solve import initial_state, observer

TIME_ID = "day"
START_ID = "day_at_start"
INPUT_PREFIX = {"targets": "target", "exercise": "protocol", "ablation": "ablation",
                "condition": "timing"}
"""SBML prefix of each non-parameter field of :class:`exerpain.model.registry.ModelInputs`."""
INPUT_NOTES = {
    "target": ("fraction", "action of the scenario's interventions on this target (fraction "
                           "of complete action, 0-1; independent actions multiply)"),
    "ablation": ("dimensionless", "attribution ablation: 1 removes exercise's action through "
                                  "this mechanism, 0 keeps it"),
    "timing__onset_day": ("day", "day the condition's insult starts"),
    "timing__insult_days": ("day", "how long the condition's insult acts"),
    "protocol__minutes": ("min", "minutes per exercise session"),
    "protocol__intensity": ("fraction", "relative exercise intensity"),
    "protocol__sessions_per_day": ("1/day", "sessions per day averaged over the week, times "
                                            "adherence"),
    "protocol__start": ("day", "day the exercise programme starts"),
    "protocol__stop": ("day", "day the exercise programme stops"),
    "protocol__human": ("dimensionless", "1 for a human condition, 0 for a rodent"),
    "protocol__swimming": ("dimensionless", "1 for rodent swimming (its own gain)"),
    "protocol__weights": ("dimensionless", "modality weight on this mechanism's exercise "
                                           "drive"),
}
OUTPUT_UNITS = {"withdrawal_threshold_g": "g", "withdrawal_latency_s": "s", "nrs": "NRS points",
                "sciatic_functional_index": "SFI units (0 normal, -100 complete loss)",
                "nerve_conduction_velocity_m_s": "m/s", "ienfd_fibres_mm": "fibres/mm"}
EXERCISE_SIGNALS = ("chronic", "acute_opioid", "acute_general", "stress")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class SbmlExport:
    """An exported scenario.

    text: the SBML L3V2 document.
    t0: exerpain's day at SBML time 0 (day).
    days: the scenario's days after onset (exerpain reports days 0..days).
    kind: ``rodent`` or ``human``.
    state_ids: exerpain's state name -> SBML identifier.
    outputs: identifiers of the read-outs and exercise signals (assignment rules).
    """

    text: str
    t0: float
    days: int
    kind: str
    state_ids: dict[str, str]
    outputs: tuple[str, ...]

    def sbml_time(self, day: float | np.ndarray) -> float | np.ndarray:
        """SBML time of exerpain's ``day``."""
        return day - self.t0


def sbml_id(name: str) -> str:
    """exerpain's dotted name as an SBML identifier: ``opioid.tone`` -> ``opioid__tone``."""
    ident = re.sub(r"[^A-Za-z0-9_]", "_", name.replace(".", "__"))
    return ident if IDENTIFIER.fullmatch(ident) else f"_{ident}"


def _key(entry) -> str:
    for attribute in ("name", "key", "idx"):
        if hasattr(entry, attribute):
            return str(getattr(entry, attribute))
    return str(entry)


def input_ids(prepared: Prepared) -> list[tuple[tuple[str, ...], str]]:
    """``(path, SBML id)`` of every leaf of the scenario's inputs, in pytree order."""
    out = []
    for path, _ in jax.tree_util.tree_flatten_with_path(prepared.inputs)[0]:
        keys = tuple(_key(k) for k in path)
        ident = (sbml_id(".".join(keys[1:])) if keys[0] == "params"
                 else sbml_id(".".join((INPUT_PREFIX.get(keys[0], keys[0]), *keys[1:]))))
        out.append((keys, ident))
    return out


def _referenced(formulas: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for formula in formulas:
        found.update(IDENTIFIER.findall(formula))
    return found


def _reachable(rules: dict[str, str], roots: Iterable[str]) -> list[str]:
    """Intermediate rules the outputs depend on, in definition order."""
    needed: set[str] = set()
    stack = [name for name in _referenced(roots) if name in rules]
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        stack.extend(n for n in _referenced([rules[name]]) if n in rules and n not in needed)
    return [name for name in rules if name in needed]


def _parameter_quantity(group: str, name: str, ident: str, value: float, scenario: Scenario,
                        table: dict) -> Quantity:
    row = table.get((group, name))
    if row is None:
        return Quantity(ident, value, "", f"exerpain parameter {group}.{name}", True,
                        name=f"{group}.{name}")
    condition = scenario.resolved_condition()
    key = f"{group}.{name}"
    overrides = scenario.params or {}
    if name in overrides.get(group, {}):
        origin = "set by the user (--set)"
    elif key in condition.overrides or key in condition.linked:
        origin = (f"set by condition {condition.name}"
                  + (f" from condition.{condition.linked[key]}" if key in condition.linked
                     else ""))
    else:
        origin = "exerpain default (active calibration)"
    notes = (f"{row.description + '. ' if row.description else ''}Unit: {row.unit}. "
             f"Value {value!r} ({origin}); exerpain default {row.value!r}; range "
             f"[{row.low:g}, {row.high:g}]. Provenance ({row.kind}): {row.provenance}")
    metadata = {"group": group, "name": name, "unit": row.unit, "low": f"{row.low!r}",
                "high": f"{row.high!r}", "default": f"{row.value!r}",
                "provenance_kind": row.kind, "provenance": row.provenance,
                "value_origin": origin}
    return Quantity(ident, value, row.unit, notes, True, name=key, metadata=metadata)


def _input_quantity(ident: str, value: float, scenario: Scenario) -> Quantity:
    prefix = ident.split("__")[0]
    unit, what = INPUT_NOTES.get(ident) or INPUT_NOTES.get(prefix) or next(
        (v for k, v in INPUT_NOTES.items() if ident.startswith(k + "__")),
        ("dimensionless", "scenario input"))
    if prefix == "target":
        what += f" (interventions: {', '.join(scenario.interventions) or 'none'})"
    elif prefix == "protocol":
        what += f" (protocol {scenario.resolved_protocol().name})"
    origin = {"target": "exerpain.model.interventions", "protocol": "exerpain.model.protocols",
              "ablation": "the scenario's --ablate", "timing": "exerpain.model.conditions"
              }.get(prefix, "the scenario")
    notes = f"{what}. Unit: {unit}. Value {value!r}, from {origin}."
    metadata = {"input": ident, "unit": unit, "provenance_kind": "scenario",
                "provenance": origin}
    return Quantity(ident, value, unit, notes, True, metadata=metadata)


def _trace(model: Model, prepared: Prepared, y0: jax.Array, sink: FormulaSink,
           ids: list[str]) -> dict:
    leaves, treedef = jax.tree_util.tree_flatten(prepared.inputs)
    observe = observer(model, prepared.kind)

    def program(t, y, *values):
        inputs = jax.tree_util.tree_unflatten(treedef, values)
        drive = exercise_signals(t, inputs.exercise, inputs.params["exercise"])
        return {"rates": model.vector_field(t, y, inputs),
                "observables": observe(t, y, inputs),
                "exercise": {f"exercise_{k}": getattr(drive, k) for k in EXERCISE_SIGNALS}}

    def terms(ident: str, shape: tuple[int, ...]) -> np.ndarray:
        out = np.empty(shape, dtype=object)
        for index in np.ndindex(*shape):
            out[index] = ident + "".join(f"_{i}" for i in index)
        return out

    args = [jnp.asarray(prepared.t0), y0, *leaves]
    arrays = [np.array(sink.declare(TIME_ID, TIME), dtype=object),
              np.array([sink.declare(sbml_id(n), STATE) for n in model.state_names],
                       dtype=object)]
    for ident, leaf in zip(ids, leaves, strict=True):
        array = terms(ident, np.shape(leaf))
        for term in array.reshape(-1):
            sink.declare(term)
        arrays.append(array)
    return translate(program, args, arrays, sink)


@lru_cache(maxsize=8)
def _compiled_start(model: Model, steady: bool, fallback: bool):
    return jax.jit(lambda inputs, t0: initial_state(model, inputs, t0, steady,
                                                    fallback=fallback))


def _start(model: Model, prepared: Prepared, fallback: bool) -> tuple[jax.Array, jax.Array]:
    """:func:`exerpain.simulate.solve.initial_state`, compiled once per model and start
    (Newton's method run op by op took 9 s for DPN; compiling it 4 s, and 8 s with the
    continuation fallback)."""
    start = _compiled_start(model, prepared.steady_start, fallback)
    return start(prepared.inputs, jnp.asarray(prepared.t0))


def _scalar(terms: np.ndarray) -> str:
    return text(np.asarray(terms, dtype=object).reshape(-1)[0])


def _name_outputs(rules: dict[str, str], rates: dict[str, str], outputs: dict[str, str],
                  triggers: list[str]) -> tuple[dict, dict, dict, list]:
    """Give an intermediate value that is an output the output's name (``nrs = 10 * ...``
    rather than ``nrs = _v371``); an output equal to one named already refers to it."""
    rename: dict[str, str] = {}
    for name, term in outputs.items():
        if term in rules and term not in rename:
            rename[term] = name
    if not rename:
        return rules, rates, outputs, triggers

    def sub(formula: str) -> str:
        return IDENTIFIER.sub(lambda m: rename.get(m.group(0), m.group(0)), formula)

    named = {rename.get(k, k): sub(v) for k, v in rules.items()}
    aliases = {name: sub(term) for name, term in outputs.items() if rename.get(term) != name}
    ordered = {**named, **aliases}
    return (ordered, {k: sub(v) for k, v in rates.items()},
            {name: ordered[name] for name in outputs}, [sub(t) for t in triggers])


@float64
def export_scenario(scenario: Scenario, model: Model | None = None) -> SbmlExport:
    """The composed model of ``scenario`` as an SBML L3V2 document (module docstring)."""
    from exerpain.interfaces.provenance import version
    from exerpain.model.calibrated import active_name

    model = model or Model.default()
    prepared = scenario.build(model)
    y0, code = _start(model, prepared, fallback=False)
    if int(code) != 0:  # the same state solve starts from: its fallback only where Newton fails
        y0, code = _start(model, prepared, fallback=True)
    if int(code) != 0 or not bool(jnp.all(jnp.isfinite(y0))):
        raise InputError("initial state: the steady state of the untreated condition was not "
                         "found for these parameters; nothing to export")
    paths = input_ids(prepared)
    ids = [ident for _, ident in paths]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise RuntimeError(f"SBML export: inputs share identifiers {duplicates}")
    sink = FormulaSink()
    out = _trace(model, prepared, y0, sink, ids)

    state_ids = {name: sbml_id(name) for name in model.state_names}
    rates = {state_ids[name]: text(term) for name, term in
             zip(model.state_names, np.asarray(out["rates"], dtype=object).reshape(-1),
                 strict=True)}
    outputs = {**{k: _scalar(v) for k, v in out["observables"].items()},
               **{k: _scalar(v) for k, v in out["exercise"].items()}}
    # a crossing in either direction: an event fires only when its trigger becomes true
    triggers = list(dict.fromkeys([*(f"{a} >= {b}" for a, b in sink.switches),
                                   *(f"{b} >= {a}" for a, b in sink.switches)]))
    roots = [*rates.values(), *outputs.values(), *triggers]
    rules = {name: sink.rules[name] for name in _reachable(sink.rules, roots)}
    used = _referenced([*rules.values(), *roots])
    rules, rates, outputs, triggers = _name_outputs(rules, rates, outputs, triggers)

    condition = scenario.resolved_condition()
    protocol = prepared.protocol
    start = ("the untreated condition's steady state at day "
             f"{prepared.t0:g}, found by Newton's method" if prepared.steady_start
             else f"health (the condition's insult starts on day {condition.onset_day:g})")
    table = {(g, p.name): p for g, p in model.parameter_table()}
    quantities = [Quantity(START_ID, prepared.t0, "day",
                           "exerpain's day at SBML time 0 (the day the solver starts from). "
                           "Unit: day.", True, name="t0",
                           metadata={"input": START_ID, "unit": "day",
                                     "provenance_kind": "scenario",
                                     "provenance": "exerpain.simulate.scenario (t0)"}),
                  Quantity(TIME_ID, None, "day",
                           "exerpain's day: day_at_start + time. Unit: day.", False)]
    for (keys, ident), leaf in zip(paths, jax.tree_util.tree_leaves(prepared.inputs),
                                   strict=True):
        values = np.asarray(leaf, dtype=float)
        for index in np.ndindex(*values.shape):  # one parameter per element (all scalar now)
            element = ident + "".join(f"_{i}" for i in index)
            if element not in used:
                continue
            value = float(values[index])
            quantities.append(
                _parameter_quantity(keys[1], keys[2], element, value, scenario, table)
                if keys[0] == "params" and len(keys) == 3
                else _input_quantity(element, value, scenario))
    for (name, spec), value in zip(model.state_specs, np.asarray(y0), strict=True):
        quantities.append(Quantity(
            state_ids[name], float(value), spec.unit,
            f"state {name}: {spec.description}. Unit: {spec.unit}; healthy value "
            f"{spec.healthy:g}. Initial value (day {prepared.t0:g}) computed by exerpain: "
            f"{start}.", False, name=name))
    for ident in outputs:
        unit = OUTPUT_UNITS.get(ident, "dimensionless")
        what = ("exercise signal " + ident.removeprefix("exercise_")
                if ident.startswith("exercise_") else "read-out " + ident)
        quantities.append(Quantity(ident, None, unit, f"{what} (exerpain's column "
                                                      f"{ident}). Unit: {unit}.", False))
    known = [q.id for q in quantities] + [r for r in rules if r not in outputs]
    clash = sorted({i for i in known if known.count(i) > 1})
    if clash:
        raise RuntimeError(f"SBML export: identifiers used twice: {clash}")

    dropped = sum(1 for i in ids if i not in used)
    notes = (
        f"exerpain {version()} (calibration {active_name()}): the composed model of one "
        f"scenario, condition {condition.name} ({condition.description}), protocol "
        f"{protocol.name}, interventions {', '.join(scenario.interventions) or 'none'}, "
        f"ablations {', '.join(scenario.ablate) or 'none'}, {prepared.days} days.",
        f"Time is in days. SBML time 0 is exerpain's day {prepared.t0:g} (day_at_start); "
        f"the parameter 'day' = day_at_start + time is exerpain's day, so exerpain's day d "
        f"is SBML time d - ({prepared.t0:g}); the run ends on day {prepared.days} (SBML time "
        f"{prepared.days - prepared.t0:g}).",
        f"Initial values of the states (parameters with rate rules, named group__state) "
        f"were computed by exerpain: {start}. Changing an input here changes the dynamics "
        f"but not this initial state.",
        "Inputs are constant parameters: group__name (exerpain's parameters; unit, range and "
        "provenance in each one's notes and exerpain:parameter annotation), target__* "
        "(interventions), protocol__* (exercise protocol), ablation__*, timing__* (the "
        f"insult). {dropped} inputs this scenario does not use are left out.",
        "Read-outs are assignment rules named as exerpain's output columns; _v<n> are "
        "intermediate values of the model's program. Events switch_<n> change nothing: they "
        "mark input discontinuities (insult onset and end, training start and stop) so that "
        "an integrator stops on them.",
        "Generated from the model's JAX program (exerpain.interfaces.sbml); exerpain "
        f"integrates it with Tsit5, rtol 1e-8, atol 1e-10, stopping at the days "
        f"{', '.join(f'{t:g}' for t in prepared.jump_ts)}.",
    )
    metadata = {"version": version(), "calibration": active_name(),
                "condition": condition.name, "protocol": protocol.name,
                "interventions": " ".join(scenario.interventions),
                "ablate": " ".join(scenario.ablate), "days": str(prepared.days),
                "t0": f"{prepared.t0!r}", "kind": prepared.kind}
    spec = ModelSpec(
        id=sbml_id(f"exerpain_{condition.name}_{protocol.name}"),
        name=f"exerpain {condition.name} x {protocol.name}"
             + "".join(f" + {i}" for i in scenario.interventions),
        notes=notes, quantities=tuple(quantities),
        assignments={TIME_ID: f"{START_ID} + time", **rules},
        rates=rates, triggers=tuple(triggers), metadata=metadata)
    return SbmlExport(text=to_string(build_document(spec)), t0=float(prepared.t0),
                      days=prepared.days, kind=prepared.kind, state_ids=state_ids,
                      outputs=tuple(outputs))
