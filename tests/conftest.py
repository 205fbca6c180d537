"""Shared fixtures: simulations are cached per session so each compiled shape is built once."""

from __future__ import annotations

import gc
import os
import tempfile
from functools import cache

import jax
import pytest

# Runs, calibrations and compiled code go to a data directory of the test session's own, never
# the user's (exerpain.datadir).
os.environ.setdefault("EXERPAIN_DATA_DIR", tempfile.mkdtemp(prefix="exerpain-test-data-"))

from exerpain.model.registry import Model
from exerpain.precision import enable_globally
from exerpain.simulate.pair import PairResult, simulate_pair

# The tests call internals (the vector field, integrate_run) that assume float64; importing
# exerpain no longer switches it on (tests/test_precision.py checks that in a fresh process).
enable_globally()


# Every compiled XLA program holds memory mappings; a whole test session compiles hundreds of
# programs and crossed Linux's default vm.max_map_count (65,530) in its last module, where
# LLVM then aborted the process inside a compile ("Fatal Python error: Aborted"; the same
# limit the calibration warns about). Past this many mappings, a finished module's compiled
# programs are released (later modules compile what they need again).
MAP_COUNT_RELEASE = 30_000


def _map_count() -> int:
    try:
        with open("/proc/self/maps", "rb") as maps:
            return sum(1 for _ in maps)
    except OSError:  # not Linux
        return 0


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    yield
    if _map_count() > MAP_COUNT_RELEASE:
        jax.clear_caches()
        gc.collect()


@cache
def pair(condition: str, protocol: str, interventions: tuple = (), ablate: tuple = (),
         days: int | None = None, start_day: float | None = None,
         stop_day: float | None = None) -> PairResult:
    return simulate_pair(condition, protocol, interventions=interventions, ablate=ablate,
                         days=days, start_day=start_day, stop_day=stop_day)


@pytest.fixture(scope="session")
def model() -> Model:
    return Model.default()


@pytest.fixture(scope="session")
def simulate():
    """``simulate(condition, protocol, interventions=(), ablate=(), days=...)`` (cached)."""
    return pair
