"""Fuzzing the command line's options (Hypothesis): every invocation ends with exit 0, a
usage or input error (exit 2, one ``error:`` line or Click's usage message), never an
internal error or a traceback.

Runs that pass every check would then solve; that is stubbed here (a sentinel raised where
the solve would start, after the API has validated and built the scenarios), because a
compile per generated shape would make thousands of cases take hours. The solver's own
robustness is tested elsewhere (tests/test_invariants.py, tests/test_reliability.py).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from exerpain.interfaces.cli import app
from exerpain.model.conditions import CONDITIONS
from exerpain.model.protocols import PRESETS
from exerpain.model.registry import Model

WORK = Path(tempfile.mkdtemp(prefix="exerpain-fuzz-cli-"))
MECHANISMS = Model.default().exercise_mechanisms


class WouldSolveError(Exception):
    """Raised by the stubs where the real call would start solving."""


def _stub_pair(condition, protocol, interventions=(), ablate=(), days=None, start_day=None,
               stop_day=None):
    from exerpain.simulate.scenario import Scenario

    Scenario.create(condition=condition, protocol=protocol, interventions=interventions,
                    ablate=ablate, days=days, start_day=start_day,
                    stop_day=stop_day).build(Model.default())
    raise WouldSolveError


def _stub_cohort(config, out=None, progress=None, model=None, overwrite=False):
    from exerpain.simulate.engine import validate_config
    from exerpain.simulate.scenario import Scenario

    validate_config(config)
    Scenario.create(condition=config.condition, protocol=config.protocol,
                    interventions=config.interventions, ablate=config.ablate,
                    days=config.days, start_day=config.start_day,
                    stop_day=config.stop_day).build(Model.default())
    raise WouldSolveError


junk = st.one_of(st.text(max_size=12), st.sampled_from(
    ["", " ", "-1", "0", "1", "1e400", "nan", "inf", "-0", "3650", "3651", "1.5", "true",
     "\u0663", "1_000", "9" * 30, "--json", "-", "\x00", "../x"]))
numbers = st.one_of(st.integers(-10**20, 10**20).map(str),
                    st.floats(allow_nan=True, allow_infinity=True).map(str), junk)
names = lambda pool: st.one_of(st.sampled_from(list(pool)), junk)  # noqa: E731

OPTIONS = {
    "--condition": names(CONDITIONS), "--protocol": names(PRESETS),
    "--intervention": names(["naloxone", "naltrindole", "aspirin", "il4_neutralizing"]),
    "--ablate": names(MECHANISMS), "--start-day": numbers, "--stop-day": numbers,
    "--days": numbers, "--out": st.one_of(st.just("out"), junk),
}
COHORT = {**OPTIONS, "--n": numbers, "--seed": numbers, "--sex": names(
    ["male", "female", "mixed"]), "--posterior-draws": numbers, "--memory-gb": numbers,
    "--attribution-scale": names(["readout", "log_drive"])}
FLAGS = ["--json", "--overwrite", "--no-attribution", "--no-pathway"]


def _argv(options: dict):
    pairs = st.lists(st.sampled_from(sorted(options)).flatmap(
        lambda k: st.tuples(st.just(k), options[k])), max_size=9)
    return st.tuples(pairs, st.lists(st.sampled_from(FLAGS), max_size=2)).map(
        lambda t: [x for pair in t[0] for x in pair] + t[1])


def _check(args: list[str]) -> None:
    with pytest.MonkeyPatch.context() as mp:
        import exerpain.simulate.engine as engine
        import exerpain.simulate.pair as pair

        mp.setattr(pair, "simulate_pair", _stub_pair)
        mp.setattr(engine, "run_cohort", _stub_cohort)
        mp.chdir(WORK)
        result = CliRunner().invoke(app, args)
    if result.exit_code == 1 and "internal error: WouldSolveError" in result.stderr:
        return  # valid input: it would have solved
    assert result.exit_code in (0, 2), (args, result.output, result.exception)
    assert "Traceback" not in result.output, (args, result.output)
    if result.exit_code == 2:  # an error line, a usage message or (no arguments) the help
        assert result.output.strip(), args


@given(_argv(OPTIONS))
def test_fuzz_simulate_options(argv):
    _check(["simulate", *argv])


@given(_argv(COHORT))
def test_fuzz_cohort_options(argv):
    _check(["cohort", *argv])


@given(st.lists(st.one_of(st.sampled_from(
    ["--outcome", "rodent_hypersensitivity", "cipn_symptoms", "--by", "modality", "species",
     "--method", "dl", "reml", "--json", "--plot", "p.png", "p.svg", "p.txt", "--mechanism",
     "opioid", "--condition", "cci", "list", "meta"]), junk), max_size=7))
def test_fuzz_evidence_options(argv):
    _check(["evidence", *argv])
