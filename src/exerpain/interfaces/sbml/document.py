"""An SBML Level 3 Version 2 document (python-libsbml) from a plain description.

:class:`ModelSpec` says what the document holds, in exerpain's terms: quantities (states,
inputs, read-outs) with values, units and provenance; assignment rules; rate rules; event
triggers. :func:`build_document` writes it with libsbml: every quantity is an SBML
``parameter`` (the model's states are dimensionless fold changes and fractions, not amounts
in a compartment, so they are parameters with rate rules, not species); units are SBML unit
definitions where exerpain's unit text has an SI equivalent (:data:`UNITS`), and every
quantity also carries its unit text and provenance in its notes and, for exerpain's
parameters, in an ``exerpain:parameter`` annotation (namespace :data:`NAMESPACE`).

Triggers become events without assignments: they change nothing, but an integrator (CVODE in
libRoadRunner, COPASI's LSODA) stops and restarts on them, so the input discontinuities
(injury onset, training start and stop) are not stepped across.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field

import libsbml

NAMESPACE = "https://exerpain.org/sbml/annotation/1"
"""XML namespace of exerpain's annotations (an identifier, not a web page)."""
PREFIX = "exerpain"

DAY = "day"
UNITS: dict[str, tuple[str, tuple[tuple[int, int, int, float], ...]] | str] = {
    # exerpain unit text -> SBML unit: a base unit's name, or (definition id, units as
    # (kind, exponent, scale, multiplier)), meaning prod (multiplier * 10^scale * kind)^exponent
    "dimensionless": "dimensionless",
    "dimensionless (log scale)": "dimensionless",
    "fraction": "dimensionless",
    "fold": "dimensionless",
    "fold change vs healthy": "dimensionless",
    "fraction of reference load": "dimensionless",
    "fraction of VO2max": "dimensionless",
    "logit per fold": "dimensionless",
    "logit per damage": "dimensionless",
    "log10(g)": "dimensionless",
    "NRS points": "dimensionless",
    "SFI units (0 normal, -100 complete loss)": "dimensionless",
    "SFI units per unit damage": "dimensionless",
    "g": "gram",
    "s": "second",
    "day": (DAY, ((libsbml.UNIT_KIND_SECOND, 1, 0, 86400.0),)),
    "1/day": ("per_day", ((libsbml.UNIT_KIND_SECOND, -1, 0, 86400.0),)),
    "fold change per day": ("per_day", ((libsbml.UNIT_KIND_SECOND, -1, 0, 86400.0),)),
    "1/week": ("per_week", ((libsbml.UNIT_KIND_SECOND, -1, 0, 604800.0),)),
    "min": ("minute", ((libsbml.UNIT_KIND_SECOND, 1, 0, 60.0),)),
    "m/s": ("metre_per_second", ((libsbml.UNIT_KIND_METRE, 1, 0, 1.0),
                                 (libsbml.UNIT_KIND_SECOND, -1, 0, 1.0))),
    "fibres/mm": ("per_millimetre", ((libsbml.UNIT_KIND_METRE, -1, -3, 1.0),)),
}
"""exerpain's unit texts with an SBML equivalent; other texts get no SBML units (their text
is in the notes)."""


@dataclass(frozen=True)
class Quantity:
    """One SBML parameter.

    value: initial or constant value (``None``: set by an assignment rule).
    unit: exerpain's unit text (SBML units from :data:`UNITS` where it has them).
    notes: plain-text description (units, provenance, how the value was set).
    metadata: attributes of the ``exerpain:parameter`` annotation (exerpain parameters).
    """

    id: str
    value: float | None
    unit: str
    notes: str
    constant: bool
    name: str = ""
    metadata: Mapping[str, str] | None = None


@dataclass(frozen=True)
class ModelSpec:
    """Everything the document holds; formulas in libsbml's L3 infix syntax."""

    id: str
    name: str
    notes: tuple[str, ...]
    quantities: tuple[Quantity, ...]
    assignments: Mapping[str, str]
    rates: Mapping[str, str]
    triggers: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)


def _check(status: int, what: str) -> None:
    if status != libsbml.LIBSBML_OPERATION_SUCCESS:
        reason = libsbml.OperationReturnValue_toString(status)
        raise RuntimeError(f"libsbml: {what} failed: {reason}")


def _math(formula: str, where: str) -> libsbml.ASTNode:
    ast = libsbml.parseL3Formula(formula)
    if ast is None:
        raise RuntimeError(f"libsbml cannot parse the formula of {where}: "
                           f"{libsbml.getLastParseL3Error()} in {formula!r:.200}")
    return ast


def _notes(paragraphs: tuple[str, ...] | list[str]) -> str:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return f'<body xmlns="http://www.w3.org/1999/xhtml">{body}</body>'


def _annotation(tag: str, metadata: Mapping[str, str]) -> str:
    attributes = " ".join(f'{PREFIX}:{k}="{html.escape(str(v), quote=True)}"'
                          for k, v in metadata.items())
    return f'<{PREFIX}:{tag} xmlns:{PREFIX}="{NAMESPACE}" {attributes}/>'


def sbml_units(unit: str) -> str | None:
    """The SBML units of an exerpain unit text (``None``: no SBML equivalent)."""
    entry = UNITS.get(unit)
    if entry is None:
        return None
    return entry if isinstance(entry, str) else entry[0]


def _unit_definitions(model: libsbml.Model, units: set[str]) -> None:
    defined: set[str] = set()
    for text in sorted(units):
        entry = UNITS.get(text)
        if entry is None or isinstance(entry, str) or entry[0] in defined:
            continue
        ident, parts = entry
        definition = model.createUnitDefinition()
        _check(definition.setId(ident), f"unit {ident}")
        for kind, exponent, scale, multiplier in parts:
            unit = definition.createUnit()
            unit.setKind(kind)
            unit.setExponent(exponent)
            unit.setScale(scale)
            unit.setMultiplier(multiplier)
        defined.add(ident)


def build_document(spec: ModelSpec) -> libsbml.SBMLDocument:
    """The SBML L3V2 document of ``spec`` (time in days)."""
    document = libsbml.SBMLDocument(3, 2)
    model = document.createModel()
    _check(model.setId(spec.id), f"model id {spec.id!r}")
    model.setName(spec.name)
    _check(model.setNotes(_notes(spec.notes)), "model notes")
    if spec.metadata:
        _check(model.setAnnotation(_annotation("scenario", spec.metadata)), "model annotation")
    _unit_definitions(model, {"day"} | {q.unit for q in spec.quantities})
    model.setTimeUnits(DAY)
    for q in spec.quantities:
        p = model.createParameter()
        _check(p.setId(q.id), f"parameter id {q.id!r}")
        if q.name:
            p.setName(q.name)
        p.setConstant(q.constant)
        if q.value is not None:
            p.setValue(float(q.value))
        units = sbml_units(q.unit)
        if units is not None:
            p.setUnits(units)
        if q.notes:
            _check(p.setNotes(_notes([q.notes])), f"notes of {q.id}")
        if q.metadata:
            _check(p.setAnnotation(_annotation("parameter", q.metadata)),
                   f"annotation of {q.id}")
    for ident, formula in spec.assignments.items():
        if model.getParameter(ident) is None:  # an intermediate value
            p = model.createParameter()
            _check(p.setId(ident), f"parameter id {ident!r}")
            p.setConstant(False)
        rule = model.createAssignmentRule()
        rule.setVariable(ident)
        _check(rule.setMath(_math(formula, ident)), f"assignment rule of {ident}")
    for ident, formula in spec.rates.items():
        rule = model.createRateRule()
        rule.setVariable(ident)
        _check(rule.setMath(_math(formula, f"d{ident}/dt")), f"rate rule of {ident}")
    for k, formula in enumerate(spec.triggers):
        event = model.createEvent()
        event.setId(f"switch_{k}")
        event.setUseValuesFromTriggerTime(True)
        trigger = event.createTrigger()
        trigger.setInitialValue(True)
        trigger.setPersistent(True)
        _check(trigger.setMath(_math(formula, f"switch_{k}")), f"trigger of switch_{k}")
    return document


def consistency_errors(document: libsbml.SBMLDocument) -> list[str]:
    """libsbml's consistency check, all categories (SBML validity, identifiers, MathML,
    units, modelling practice): the messages of errors and fatal errors. Warnings are not
    returned: the intermediate values have no declared units, so the unit checks warn about
    every formula that uses one."""
    document.checkConsistency()
    log = document.getErrorLog()
    return [log.getError(i).getMessage().strip() for i in range(log.getNumErrors())
            if log.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]


def to_string(document: libsbml.SBMLDocument) -> str:
    return libsbml.writeSBMLToString(document)
