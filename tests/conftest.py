"""Shared fixtures: simulations are cached per session so each compiled shape is built once."""

from __future__ import annotations

import os
import tempfile
from functools import cache

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
