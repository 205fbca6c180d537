"""Partial parameter overrides: change a few parameters, keep the rest.

A user changes parameters by name, never by copying the whole parameter dictionary:

- nested ``{"opioid": {"k_opioid": 0.3}}`` (the Python and HTTP APIs, a spec file),
- dotted ``{"opioid.k_opioid": 0.3}``, or
- ``"opioid.k_opioid=0.3"`` strings (the command line's ``--set``).

:func:`parse_overrides` turns any of them into ``{group: {name: value}}``;
:func:`check_overrides` checks every name against the model's parameter table and every
value against that parameter's declared range (the range its prior spans; a value outside it
is refused with the range in the message), and refuses a parameter the condition sets itself
(it would be overwritten silently: the message names the parameter to change instead).
:func:`apply_overrides` merges them over a full parameter dictionary.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from exerpain.errors import InputError

if TYPE_CHECKING:
    from exerpain.model.conditions import Condition
    from exerpain.model.registry import Model

Overrides = dict[str, dict[str, float]]


def _number(field: str, value: object) -> float:
    """A finite real number (no booleans, no numeric strings from the Python/HTTP APIs)."""
    if isinstance(value, bool):
        raise InputError(f"{field}: must be a number, not a boolean ({value})")
    if not isinstance(value, int | float):
        raise InputError(f"{field}: must be a number, got {value!r:.60}")
    value = float(value)
    if not math.isfinite(value):
        raise InputError(f"{field}: must be a finite number, got {value}")
    return value


def _split(field: str, key: object) -> tuple[str, str]:
    if not isinstance(key, str) or key.count(".") != 1 or "" in key.split("."):
        raise InputError(f"{field}: {key!r:.60} is not a parameter name; use GROUP.NAME, e.g. "
                         "opioid.k_opioid (`exerpain params` lists them)")
    group, name = key.split(".")
    return group.strip(), name.strip()


def parse_assignment(text: str, field: str = "set") -> tuple[str, str, float]:
    """``"group.name=value"`` -> ``(group, name, value)``."""
    if not isinstance(text, str) or "=" not in text:
        raise InputError(f"{field}: {text!r:.80} must be GROUP.NAME=VALUE, e.g. "
                         "opioid.k_opioid=0.3")
    key, _, raw = text.partition("=")
    group, name = _split(field, key.strip())
    try:
        value = float(raw.strip())
    except ValueError:
        raise InputError(f"{field}.{group}.{name}: {raw.strip()!r:.60} is not a number") from None
    return group, name, _number(f"{field}.{group}.{name}", value)


def parse_overrides(value: Mapping | Iterable[str] | None, field: str = "params") -> Overrides:
    """Nested, dotted or ``NAME=VALUE`` overrides as ``{group: {name: value}}`` (names and
    ranges are checked by :func:`check_overrides`)."""
    out: Overrides = {}
    if value is None:
        return out
    if isinstance(value, str):
        value = [value]
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, Mapping):
                if not isinstance(key, str) or not key:
                    raise InputError(f"{field}: group names are strings, got {key!r:.60}")
                for name, number in item.items():
                    out.setdefault(key, {})[str(name)] = _number(f"{field}.{key}.{name}",
                                                                 number)
            else:
                group, name = _split(field, key)
                out.setdefault(group, {})[name] = _number(f"{field}.{group}.{name}", item)
        return out
    if not isinstance(value, Iterable):
        raise InputError(f"{field}: must be a mapping {{group: {{name: value}}}} or a list of "
                         f"GROUP.NAME=VALUE, not {type(value).__name__}")
    for text in value:
        group, name, number = parse_assignment(text, field)
        out.setdefault(group, {})[name] = number
    return out


def check_overrides(overrides: Overrides, model: Model, condition: Condition | None = None,
                    field: str = "params") -> Overrides:
    """``overrides`` checked against ``model``'s parameter table: known groups and names,
    values within each parameter's declared range, none that ``condition`` sets itself (in a
    partial override it would be lost without a word; a full dictionary, every parameter
    given, keeps the old meaning: the condition's settings replace its values)."""
    table = {(g, p.name): p for g, p in model.parameter_table()}
    groups = sorted({g for g, _ in table})
    if all(name in overrides.get(group, {}) for group, name in table):
        condition = None  # a full dictionary: the condition applies on top of it, as always
    for group, values in overrides.items():
        if group not in groups:
            raise InputError(f"{field}.{group!s:.60}: unknown parameter group; allowed: "
                             f"{', '.join(groups)}")
        for name, value in values.items():
            p = table.get((group, name))
            if p is None:
                names = sorted(n for g, n in table if g == group)
                raise InputError(f"{field}.{group}.{name!s:.60}: unknown parameter; allowed: "
                                 f"{', '.join(names)}")
            if not p.low <= value <= p.high:
                raise InputError(f"{field}.{group}.{name}: must be within {p.low:g}-{p.high:g} "
                                 f"{p.unit} (the parameter's declared range), got {value:g}")
            key = f"{group}.{name}"
            if value == p.value:  # the default itself (a full dictionary): harmless
                continue
            if condition is not None and key in condition.linked:
                raise InputError(
                    f"{field}.{key}: set by condition {condition.name!r} from "
                    f"condition.{condition.linked[key]}; change that parameter instead")
            if condition is not None and key in condition.overrides:
                raise InputError(f"{field}.{key}: fixed by condition {condition.name!r} at "
                                 f"{condition.overrides[key]:g}")
    return overrides


def apply_overrides(params: Mapping[str, Mapping[str, float]],
                    overrides: Overrides | None) -> dict[str, dict]:
    """A copy of the full ``params`` with ``overrides`` in place (``params`` unchanged)."""
    out = {group: dict(values) for group, values in params.items()}
    for group, values in (overrides or {}).items():
        out.setdefault(group, {}).update(values)
    return out


def deviations(model: Model, overrides: Overrides | None) -> list[dict]:
    """One row per overridden parameter: value, the default it replaces (the active
    calibration's), the declared value, unit, range and provenance of the default."""
    table = {(g, p.name): p for g, p in model.parameter_table()}
    declared = {(g, p.name): p for g, p in model.parameter_table(declared=True)}
    rows = []
    for group, values in sorted((overrides or {}).items()):
        for name, value in sorted(values.items()):
            p = table[(group, name)]
            rows.append({"parameter": f"{group}.{name}", "value": value, "default": p.value,
                         "declared": declared[(group, name)].value, "unit": p.unit,
                         "low": p.low, "high": p.high, "provenance": p.provenance})
    return rows
