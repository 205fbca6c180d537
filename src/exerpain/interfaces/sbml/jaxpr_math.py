"""JAX programs as SBML formulas: a small interpreter of jaxprs.

:func:`translate` walks a jaxpr (``jax.make_jaxpr``) equation by equation and writes each
scalar operation as an SBML Level 3 infix formula (the syntax of libsbml's
``parseL3Formula``). Arrays are numpy object arrays of *terms*, one per element, so the
structural primitives (slice, squeeze, stack, reshape, broadcast, concatenate, transpose,
reductions) only move terms around. A term is

- an SBML identifier (a parameter, a state, or an intermediate value),
- a Python ``float`` (a literal; an equation whose operands are all literals is evaluated by
  JAX itself, so constants are folded), or
- for boolean values, a parenthesised relational formula such as ``(day >= protocol__start)``
  (SBML has no boolean variables; booleans stay inline and end in ``piecewise`` conditions).

Every real-valued result is one intermediate assignment rule (:class:`FormulaSink`), so no
formula grows with the depth of the program; an identical formula is defined once
(hash-consing: common subexpressions of the vector field and the observables are shared).
Nested programs (``jit``, ``custom_jvp_call``, ``closed_call`` ...) are interpreted in place.

The sink also records *switches*: comparisons and ``max``/``min`` whose operands depend on
time but not on the state (a programme starting, an insult stopping, a clipped clock). They
are the input discontinuities of the model; the SBML document turns each into an event so
that an integrator stops on them instead of stepping across (see
:mod:`exerpain.interfaces.sbml.document`).

A primitive without a translation raises :class:`UnsupportedPrimitiveError` naming it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import ClosedJaxpr, DropVar, Jaxpr, Literal

TIME, STATE = 1, 2
"""Dependency flags of a term: it changes with time / with the state."""

Term = str | float | bool


class UnsupportedPrimitiveError(NotImplementedError):
    """A JAX primitive that :mod:`exerpain.interfaces.sbml.jaxpr_math` cannot write as SBML."""


class FormulaSink:
    """Collects the intermediate assignment rules of a translation.

    ``rules``: ``{id: formula}`` in definition order (each formula refers only to inputs and
    earlier ids). ``switches``: ``{(a, b): flags}``, time-only crossings ``a = b`` (see the
    module docstring), in order of discovery.
    """

    def __init__(self, prefix: str = "_v"):
        self.prefix = prefix
        self.rules: dict[str, str] = {}
        self.switches: dict[tuple[str, str], None] = {}
        self._by_formula: dict[str, str] = {}
        self._flags: dict[str, int] = {}

    def declare(self, name: str, flags: int = 0) -> str:
        """An input identifier (parameter, state, time) and its dependency flags."""
        self._flags[name] = flags
        return name

    def flags(self, term: Term) -> int:
        return self._flags.get(term, 0) if isinstance(term, str) else 0

    def define(self, formula: str, flags: int) -> str:
        """The identifier of an assignment rule computing ``formula`` (new or shared)."""
        name = self._by_formula.get(formula)
        if name is None:
            name = f"{self.prefix}{len(self.rules)}"
            self.rules[name] = formula
            self._by_formula[formula] = name
            self._flags[name] = flags
        return name

    def inline(self, formula: str, flags: int) -> str:
        """A boolean formula kept inline (no rule), with its dependency flags."""
        self._flags[formula] = flags
        return formula

    def switch(self, a: Term, b: Term, flags: int) -> None:
        if flags == TIME:
            self.switches.setdefault((text(a), text(b)), None)


def text(term: Term) -> str:
    """A term as a formula operand (literals in full precision, negatives parenthesised)."""
    if isinstance(term, str):
        return term
    if isinstance(term, bool | np.bool_):
        return "true" if term else "false"
    value = float(term)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "(-INF)"
    written = repr(value)
    return f"({written})" if value < 0 or written.startswith("-") else written


# -- elementwise primitives ----------------------------------------------------------------
def _fn(name: str) -> Callable[..., str]:
    return lambda *xs: f"{name}({', '.join(xs)})"


REAL: dict[str, Callable[..., str]] = {
    "add": lambda a, b: f"{a} + {b}",
    "sub": lambda a, b: f"{a} - {b}",
    "mul": lambda a, b: f"{a} * {b}",
    "div": lambda a, b: f"{a} / {b}",
    "neg": lambda a: f"-{a}",
    "max": _fn("max"),
    "min": _fn("min"),
    "pow": lambda a, b: f"{a}^{b}",
    "exp": _fn("exp"),
    "exp2": lambda a: f"2^{a}",
    "log": _fn("ln"),
    "expm1": lambda a: f"exp({a}) - 1",
    "log1p": lambda a: f"ln(1 + {a})",
    "logistic": lambda a: f"1 / (1 + exp(-{a}))",
    "sqrt": _fn("sqrt"),
    "rsqrt": lambda a: f"1 / sqrt({a})",
    "cbrt": lambda a: f"piecewise(-((-{a})^(1/3)), {a} < 0, {a}^(1/3))",
    "square": lambda a: f"{a}^2",
    "abs": _fn("abs"),
    "sign": lambda a: f"piecewise(1, {a} > 0, -1, {a} < 0, 0)",
    "floor": _fn("floor"),
    "ceil": _fn("ceiling"),
    "tanh": _fn("tanh"),
    "sinh": _fn("sinh"),
    "cosh": _fn("cosh"),
    "sin": _fn("sin"),
    "cos": _fn("cos"),
    "tan": _fn("tan"),
    "atan": _fn("arctan"),
    "asin": _fn("arcsin"),
    "acos": _fn("arccos"),
    "clamp": lambda lo, x, hi: f"min(max({x}, {lo}), {hi})",
    "rem": lambda a, b: f"rem({a}, {b})",
    "copy": lambda a: a,
    "copy_p": lambda a: a,
}
"""Real-valued elementwise primitives: operand texts -> formula."""

RELATIONAL = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<", "eq": "==", "ne": "!="}
KINKS = ("max", "min", "clamp")
"""Real primitives whose time-only operands mark a switch (a kink of the clock)."""


def _bool_formula(name: str, args: Sequence[str], params: dict) -> str:
    if name in RELATIONAL:
        return f"({args[0]} {RELATIONAL[name]} {args[1]})"
    if name == "and":
        return f"({args[0]} && {args[1]})"
    if name == "or":
        return f"({args[0]} || {args[1]})"
    if name == "not":
        return f"(!{args[0]})"
    if name == "xor":
        return f"xor({args[0]}, {args[1]})"
    raise UnsupportedPrimitiveError(f"SBML export: boolean primitive {name!r} has no translation")


def _elementwise(eqn, ins: list[np.ndarray], sink: FormulaSink) -> np.ndarray:
    """Apply a scalar primitive element by element (operands broadcast like numpy)."""
    name = eqn.primitive.name
    out_aval = eqn.outvars[0].aval
    boolean = out_aval.dtype == np.bool_
    ins = np.broadcast_arrays(*ins) if len(ins) > 1 else ins
    out = np.empty(out_aval.shape, dtype=object)
    for index in np.ndindex(*out_aval.shape):
        terms = [x[index] for x in ins]
        flags = 0
        for term in terms:
            flags |= sink.flags(term)
        args = [text(term) for term in terms]
        if name == "integer_pow":
            formula = f"{args[0]}^{int(eqn.params['y'])}"
        elif boolean or name in RELATIONAL:
            if name in RELATIONAL:
                sink.switch(terms[0], terms[1], flags)
            out[index] = sink.inline(_bool_formula(name, args, eqn.params), flags)
            continue
        elif name in REAL:
            if name in KINKS and len(terms) == 2:
                sink.switch(terms[0], terms[1], flags)
            elif name == "clamp":
                sink.switch(terms[1], terms[0], flags)
                sink.switch(terms[1], terms[2], flags)
            formula = REAL[name](*args)
            if formula == args[0] and name.startswith("copy"):
                out[index] = terms[0]
                continue
        else:
            raise UnsupportedPrimitiveError(
                f"SBML export: JAX primitive {name!r} has no SBML translation; add one to "
                "exerpain.interfaces.sbml.jaxpr_math")
        out[index] = sink.define(formula, flags)
    return out


def _select(eqn, ins: list[np.ndarray], sink: FormulaSink) -> np.ndarray:
    """``select_n(which, *cases)``: ``cases[which]`` (a boolean or an integer index)."""
    which, *cases = np.broadcast_arrays(*ins)
    out = np.empty(which.shape, dtype=object)
    for index in np.ndindex(*which.shape):
        pred = which[index]
        options = [c[index] for c in cases]
        flags = sink.flags(pred)
        for term in options:
            flags |= sink.flags(term)
        if isinstance(pred, bool | np.bool_ | float | int | np.integer | np.floating):
            out[index] = options[int(pred)]
            continue
        if len({text(o) for o in options}) == 1:
            out[index] = options[0]
            continue
        args = [text(o) for o in options]
        if eqn.invars[0].aval.dtype == np.bool_:
            formula = f"piecewise({args[1]}, {text(pred)}, {args[0]})"
        else:
            pieces = ", ".join(f"{a}, {text(pred)} == {k}" for k, a in enumerate(args[:-1]))
            formula = f"piecewise({pieces}, {args[-1]})"
        out[index] = sink.define(formula, flags)
    return out


def _convert(eqn, ins: list[np.ndarray], sink: FormulaSink) -> np.ndarray:
    """``convert_element_type``: booleans to 0/1, reals to booleans (``!= 0``), integers by
    truncation toward zero; real to real is the identity."""
    (x,) = ins
    source = eqn.invars[0].aval.dtype
    target = np.dtype(eqn.params["new_dtype"])
    if source == target or (np.issubdtype(source, np.floating)
                            and np.issubdtype(target, np.floating)):
        return x
    out = np.empty(x.shape, dtype=object)
    for index in np.ndindex(*x.shape):
        term = x[index]
        flags = sink.flags(term)
        a = text(term)
        if source == np.bool_:
            out[index] = sink.define(f"piecewise(1, {a}, 0)", flags)
        elif target == np.bool_:
            out[index] = sink.inline(f"({a} != 0)", flags)
        elif np.issubdtype(target, np.integer) and not np.issubdtype(source, np.integer):
            out[index] = sink.define(f"piecewise(floor({a}), {a} >= 0, ceiling({a}))", flags)
        else:
            out[index] = term
    return out


# -- structural primitives (terms moved, nothing computed) ---------------------------------
def _reduce(fold: Callable[[list], Any]) -> Callable:
    def apply(eqn, ins, sink):
        (x,) = ins
        axes = tuple(eqn.params["axes"])
        keep = [d for d in range(x.ndim) if d not in axes]
        moved = np.transpose(x, keep + list(axes))
        shape = moved.shape[:len(keep)]
        flat = moved.reshape(*shape, -1)
        out = np.empty(shape, dtype=object)
        for index in np.ndindex(*shape):
            out[index] = fold(list(flat[index]), eqn, sink)
        return out

    return apply


def _chain(op: str) -> Callable[[list, Any, FormulaSink], Term]:
    def fold(terms: list, eqn, sink: FormulaSink) -> Term:
        flags = 0
        for term in terms:
            flags |= sink.flags(term)
        args = [text(t) for t in terms]
        if len(args) == 1:
            return terms[0]
        formula = (f"{op}({', '.join(args)})" if op in ("max", "min")
                   else f" {op} ".join(args))
        return sink.define(formula, flags)

    return fold


def _slice(eqn, ins, sink):
    (x,) = ins
    strides = eqn.params.get("strides") or (1,) * x.ndim
    index = tuple(slice(a, b, s) for a, b, s in zip(eqn.params["start_indices"],
                                                    eqn.params["limit_indices"], strides,
                                                    strict=True))
    return x[index]


def _broadcast(eqn, ins, sink):
    x = ins[0]
    shape = tuple(eqn.params["shape"])
    dims = tuple(eqn.params["broadcast_dimensions"])
    expanded = [1] * len(shape)
    for source, target in enumerate(dims):
        expanded[target] = x.shape[source]
    return np.broadcast_to(x.reshape(expanded), shape)


def _static_index(eqn, ins) -> tuple[int, ...]:
    starts = []
    for term in ins[1:]:
        value = term.reshape(-1)[0] if term.size else 0
        if isinstance(value, str):
            raise UnsupportedPrimitiveError(
                f"SBML export: {eqn.primitive.name} with an index that depends on the inputs")
        starts.append(int(value))
    return tuple(starts)


def _dynamic_slice(eqn, ins, sink):
    x = ins[0]
    starts = _static_index(eqn, ins)
    sizes = eqn.params["slice_sizes"]
    return x[tuple(slice(max(0, min(s, n - k)), max(0, min(s, n - k)) + k)
                   for s, k, n in zip(starts, sizes, x.shape, strict=True))]


STRUCTURAL: dict[str, Callable[[Any, list[np.ndarray], FormulaSink], np.ndarray]] = {
    "slice": _slice,
    "squeeze": lambda eqn, ins, sink: ins[0].reshape(eqn.outvars[0].aval.shape),
    "reshape": lambda eqn, ins, sink: ins[0].reshape(eqn.params["new_sizes"]),
    "expand_dims": lambda eqn, ins, sink: ins[0].reshape(eqn.outvars[0].aval.shape),
    "broadcast_in_dim": _broadcast,
    "stack": lambda eqn, ins, sink: np.stack(ins, axis=eqn.params["axis"]),
    "concatenate": lambda eqn, ins, sink: np.concatenate(ins, axis=eqn.params["dimension"]),
    "transpose": lambda eqn, ins, sink: np.transpose(ins[0], eqn.params["permutation"]),
    "rev": lambda eqn, ins, sink: np.flip(ins[0], axis=tuple(eqn.params["dimensions"])),
    "dynamic_slice": _dynamic_slice,
    "reduce_sum": _reduce(_chain("+")),
    "reduce_prod": _reduce(_chain("*")),
    "reduce_max": _reduce(_chain("max")),
    "reduce_min": _reduce(_chain("min")),
    "select_n": _select,
    "convert_element_type": _convert,
}

NESTED = ("jaxpr", "call_jaxpr", "fun_jaxpr")
"""Parameters that hold the program of a call-like primitive (jit, custom_jvp_call, ...)."""


# -- the interpreter -----------------------------------------------------------------------
def constant(value: Any) -> np.ndarray:
    """A concrete array as an object array of literal terms."""
    array = np.asarray(value)
    out = np.empty(array.shape, dtype=object)
    for index in np.ndindex(*array.shape):
        item = array[index]
        out[index] = bool(item) if array.dtype == np.bool_ else float(item)
    return out


def _is_constant(x: np.ndarray) -> bool:
    return all(not isinstance(term, str) for term in x.reshape(-1))


def _nested(eqn) -> tuple[Jaxpr, Sequence] | None:
    for key in NESTED:
        program = eqn.params.get(key)
        if isinstance(program, ClosedJaxpr):
            return program.jaxpr, program.consts
        if isinstance(program, Jaxpr):
            return program, ()
    return None


def _fold(eqn, ins: list[np.ndarray]) -> list[np.ndarray]:
    """Evaluate an equation whose operands are all literals with JAX itself."""
    args = [jnp.asarray(np.array(x.tolist(), dtype=v.aval.dtype).reshape(x.shape))
            for x, v in zip(ins, eqn.invars, strict=True)]
    result = eqn.primitive.bind(*args, **eqn.params)
    results = result if eqn.primitive.multiple_results else [result]
    return [constant(r) for r in results]


def _apply(eqn, ins: list[np.ndarray], sink: FormulaSink) -> list[np.ndarray]:
    nested = _nested(eqn)
    if nested is not None:
        program, consts = nested
        return evaluate(program, consts, ins, sink)
    if all(_is_constant(x) for x in ins):
        return _fold(eqn, ins)
    name = eqn.primitive.name
    if name in STRUCTURAL:
        return [STRUCTURAL[name](eqn, ins, sink)]
    if eqn.primitive.multiple_results:
        raise UnsupportedPrimitiveError(f"SBML export: JAX primitive {name!r} has no SBML "
                                   "translation; add one to exerpain.interfaces.sbml.jaxpr_math")
    return [_elementwise(eqn, ins, sink)]


def evaluate(jaxpr: Jaxpr, consts: Sequence, args: Sequence[np.ndarray],
             sink: FormulaSink) -> list[np.ndarray]:
    """Interpret ``jaxpr`` on term arrays ``args``; the output term arrays."""
    env: dict = {}

    def read(var) -> np.ndarray:
        return constant(var.val) if isinstance(var, Literal) else env[var]

    for var, value in zip(jaxpr.constvars, consts, strict=True):
        env[var] = constant(value)
    for var, value in zip(jaxpr.invars, args, strict=True):
        env[var] = value
    for eqn in jaxpr.eqns:
        outs = _apply(eqn, [read(v) for v in eqn.invars], sink)
        for var, value in zip(eqn.outvars, outs, strict=True):
            if not isinstance(var, DropVar):
                env[var] = np.asarray(value, dtype=object).reshape(var.aval.shape)
    return [read(v) for v in jaxpr.outvars]


def translate(fn: Callable, args: Sequence[Any], terms: Sequence[np.ndarray],
              sink: FormulaSink) -> Any:
    """Trace ``fn(*args)`` (``jax.make_jaxpr``) and interpret it on ``terms`` (one object
    array of terms per argument, shaped like it); the output as ``fn``'s pytree of term
    arrays."""
    closed, shape = jax.make_jaxpr(fn, return_shape=True)(*args)
    outs = evaluate(closed.jaxpr, closed.consts, list(terms), sink)
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(shape), outs)
