"""float64 for exerpain's computations, without changing the caller's JAX configuration.

The model needs float64: states span many orders of magnitude (a steady start by Newton's
method at ``rtol`` 1e-10, nociceptive drive ratios near 1, log-scale attribution), and the
solver's clock is exact in float64 only (:data:`exerpain.simulate.solve.CLOCK_SHIFT`).
Importing exerpain used to switch ``jax_enable_x64`` on for the whole process, changing the
numerics of the caller's own JAX code. Now each public entry point runs under JAX's
thread-local ``jax.enable_x64(True)`` context (:func:`float64`), so only exerpain's own
arrays are float64; a worker thread that exerpain starts does not inherit the context, so
its function is wrapped in :func:`float64` too. The command line owns its process and
switches float64 on globally.
Internal functions (the vector field, ``integrate_run``) assume the context is active; code
that calls them directly (the test suite, the benchmarks) switches float64 on itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import jax

P = ParamSpec("P")
R = TypeVar("R")


def float64(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` with JAX's 64-bit types enabled in this thread, then restore the caller's
    setting (whatever it was)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with jax.enable_x64(True):
            return fn(*args, **kwargs)

    return wrapper


def enable_globally() -> None:
    """Switch float64 on for the whole process: for programs that own their process (the
    command line, the benchmarks, the test suite)."""
    jax.config.update("jax_enable_x64", True)
