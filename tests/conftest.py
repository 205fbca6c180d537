"""Shared fixtures: simulations are cached per session so each compiled shape is built once."""

from __future__ import annotations

import gc
import os
import tempfile
from functools import cache

import jax
import pytest

from exerpain.compile_cache import enable_compile_cache
from exerpain.model.registry import Model
from exerpain.precision import enable_globally
from exerpain.simulate.pair import PairResult, simulate_pair

# Runs, calibrations and compiled code go to a data directory of the test session's own, never
# the user's (exerpain.datadir reads it at each call). Under pytest-xdist each worker gets its
# own: the workers inherit the controller's environment, and two processes must not share
# one run store.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _WORKER:
    os.environ["EXERPAIN_DATA_DIR"] = tempfile.mkdtemp(prefix=f"exerpain-test-data-{_WORKER}-")
elif "EXERPAIN_DATA_DIR" not in os.environ:
    os.environ["EXERPAIN_DATA_DIR"] = tempfile.mkdtemp(prefix="exerpain-test-data-")

# JAX's persistent compilation cache (exerpain.compile_cache), one folder for the whole
# session (made by the controller, inherited by the workers): a program one xdist worker
# compiled, or one a module compiled before its programs were released (below), is loaded
# instead of compiled again. It starts empty unless EXERPAIN_CACHE_DIR names a folder.
if "EXERPAIN_CACHE_DIR" not in os.environ:
    os.environ["EXERPAIN_CACHE_DIR"] = tempfile.mkdtemp(prefix="exerpain-test-jax-cache-")

# The tests call internals (the vector field, integrate_run) that assume float64; importing
# exerpain does not switch it on (tests/test_reliability.py checks that in a fresh process).
enable_globally()
enable_compile_cache()

# Where the suite's time goes (it is mostly XLA compiling): with EXERPAIN_COMPILE_LOG=DIR,
# every XLA compile (or persistent-cache load) is appended to DIR/compiles-<worker>.jsonl
# with the test that triggered it, the function's name and the seconds it took.
_CURRENT_TEST = {"nodeid": "(collection)"}
if os.environ.get("EXERPAIN_COMPILE_LOG"):
    import json
    from pathlib import Path

    import jax.monitoring

    _compile_log = open(Path(os.environ["EXERPAIN_COMPILE_LOG"])  # noqa: SIM115 (session)
                        / f"compiles-{_WORKER or 'main'}.jsonl", "a", encoding="utf-8")

    def _log_compile(event: str, duration: float, **info) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            _compile_log.write(json.dumps({"test": _CURRENT_TEST["nodeid"],
                                           "fun": info.get("fun_name"), "s": duration}) + "\n")
            _compile_log.flush()

    jax.monitoring.register_event_duration_secs_listener(_log_compile)


def pytest_runtest_logstart(nodeid, location):
    _CURRENT_TEST["nodeid"] = nodeid


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
