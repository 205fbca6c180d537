"""Shared fixtures: simulations are cached per session so each compiled shape is built once."""

from __future__ import annotations

from functools import cache

import pytest

import exerpain  # noqa: F401  (enables float64)
from exerpain.model.registry import Model
from exerpain.simulate.pair import PairResult, simulate_pair


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
