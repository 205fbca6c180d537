"""Scale and reliability of the engines: the stiff retry (no subject lost to the explicit
solver) and Dask scale-out (the same output bit for bit, a dead worker's chunk recomputed)."""

from __future__ import annotations

import os
import sys
from functools import partial

import cloudpickle
import jax
import numpy as np
import pyarrow as pa
import pytest

import exerpain.simulate.engine as engine
import exerpain.simulate.solve as solve_module
import exerpain.simulate.stiffness as stiffness
from exerpain.errors import InputError
from exerpain.simulate.distribute import check_dask, map_chunks
from exerpain.simulate.engine import CohortConfig, run_cohort
from exerpain.simulate.pair import simulate_pair

# exact attribution over 3 players (8 coalitions; the others ablated), entry view: the stiff
# retry then re-solves every coalition, and the Dask runs carry Shapley values too
CONFIG = CohortConfig("cci", "treadmill-moderate", n=12, seed=4, chunk_size=4,
                      ablate=("oxidative", "neurotrophic", "gabaergic", "monoaminergic",
                              "endocannabinoid"), pathway=False)
PLAYERS = ("inflammation", "opioid", "dopaminergic")
CRIPPLED = 8  # explicit steps: far too few for any run, so every run needs the stiff retry


def same_bits(a: pa.Table, b: pa.Table) -> bool:
    """Tables equal value for value, NaN included (Arrow's ``equals`` says NaN != NaN)."""
    if a.schema != b.schema:
        return False
    for name in a.column_names:
        x, y = a[name].to_numpy(zero_copy_only=False), b[name].to_numpy(zero_copy_only=False)
        if x.dtype.kind == "f":
            if not np.array_equal(x.view(np.int64), y.view(np.int64)):
                return False
        elif not (x.shape == y.shape and all(
                (u is None and v is None) or u == v for u, v in zip(x, y, strict=True))):
            return False
    return True


@pytest.fixture(scope="module")
def reference():
    return run_cohort(CONFIG)


# -- the stiff retry ---------------------------------------------------------------------------

def test_a_pair_the_explicit_solver_fails_is_solved_by_the_stiff_retry(monkeypatch):
    normal = simulate_pair("cci", "treadmill-moderate")
    monkeypatch.setattr(solve_module, "EXPLICIT_MAX_STEPS", CRIPPLED)
    retried = simulate_pair("cci", "treadmill-moderate")
    assert retried.trajectory.methods == ("kvaerno5", "kvaerno5")
    assert normal.trajectory.methods == ("tsit5", "tsit5")
    a, b = (r.trajectory.observables["withdrawal_threshold_g"] for r in (normal, retried))
    assert np.max(np.abs(a - b) / np.abs(a)) < 1e-5  # two solvers, rtol 1e-8 each


def test_cohort_subjects_the_explicit_solver_fails_are_recovered(monkeypatch, reference):
    """Every subject fails the explicit pass; the stiff retry (Kvaerno5, each coalition on its
    own) recovers it with the benefit and the Shapley values of the factored explicit pass."""
    monkeypatch.setattr(solve_module, "EXPLICIT_MAX_STEPS", CRIPPLED)
    retried = run_cohort(CONFIG)
    s = retried.summary
    assert s["failed"] == 0 and s["retried_stiff"] == s["recovered_stiff"] == CONFIG.n
    assert reference.summary["retried_stiff"] == 0
    frame, ref = retried.subjects.to_pandas(), reference.subjects.to_pandas()
    assert (frame["solver"] == "kvaerno5").all() and (ref["solver"] == "tsit5-fused").all()
    assert (frame["status"] == "ok").all()
    relative = np.abs(frame["benefit"] - ref["benefit"]) / np.abs(ref["benefit"])
    assert relative.max() < 1e-4  # engine tolerances rtol 1e-6, two integrators
    shares = [f"shapley_{m}" for m in PLAYERS]
    assert (ref[shares] > 0).all().all()  # every player carries part of the benefit here
    scale = np.abs(ref["benefit"]).max()
    for column in shares:
        assert np.max(np.abs(frame[column] - ref[column])) < 1e-4 * scale, column
    assert np.allclose(frame[shares].sum(axis=1), frame["benefit"], rtol=1e-9, atol=1e-12)


# -- Dask -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as local:
        yield local


def test_dask_cohort_is_the_single_process_cohort_bit_for_bit(cluster, reference, tmp_path):
    distributed = run_cohort(CONFIG, out=tmp_path / "c", dask=cluster.scheduler_address)
    assert distributed.summary["execution"]["chunks"] == 3
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "c" / "subjects.parquet")
    assert same_bits(table, reference.subjects)
    for key in ("mean_benefit", "responder30_rate", "failed", "benefit_sd"):
        assert repr(distributed.summary[key]) == repr(reference.summary[key]), key


def _dies_once(marker: str, config: CohortConfig, first: int):
    """A chunk task whose worker process dies the first time it computes chunk 4."""
    if first == 4 and not os.path.exists(marker):
        open(marker, "w").close()  # noqa: SIM115
        os._exit(1)
    return engine.cohort_chunk(config, first)


def test_a_chunk_whose_worker_dies_is_recomputed_with_the_same_rows(cluster, reference,
                                                                    tmp_path):
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = str(tmp_path / "died")
    task = partial(_dies_once, marker, CONFIG)
    parts = list(map_chunks(task, [0, 4, 8], cluster.scheduler_address, label="test"))
    assert os.path.exists(marker)  # a worker did die
    assert same_bits(pa.concat_tables([p.table for p in parts]),
                     reference.subjects.drop_columns(["endotype"]))


def test_local_cluster_runs_chunks_in_order():
    assert list(map_chunks(abs, [-3, 2, -1], "local:1")) == [3, 2, 1]


@pytest.mark.parametrize("bad", ["locl", "local:0", "local:999", "http://x", "", 3])
def test_bad_dask_option_is_refused(bad):
    with pytest.raises(InputError, match="dask"):
        check_dask(bad)


def test_dask_trial_is_the_single_process_trial_bit_for_bit(cluster, monkeypatch):
    import yaml

    import exerpain.design.trial as trial
    from exerpain.design.spec import EXAMPLE, validated

    design = validated({**yaml.safe_load(EXAMPLE), "n_randomised": 20})
    monkeypatch.setattr(trial, "PATIENTS_PER_GROUP", 40)  # 2 replicates per group: 3 groups
    here = trial.simulate_trials(design, 6, 3)
    there = trial.simulate_trials(design, 6, 3, dask=cluster.scheduler_address)
    assert here.to_frame().equals(there.to_frame()) and len(here.to_frame()) == 6
    assert same_bits(here.patients, there.patients) and same_bits(here.diary, there.diary)
    assert (here.screened, here.failed) == (there.screened, there.failed)


def test_dask_scan_is_the_single_process_scan(cluster):
    """Scans and sensitivity analyses evaluate their parameter rows through the same chunks
    (:func:`exerpain.explain.evaluate.evaluate`); on Dask they give the same numbers."""
    from exerpain.explain.evaluate import Setting
    from exerpain.explain.scan import run_scan

    setting = Setting.create("cci", "treadmill-moderate")
    axes = [("opioid.k_opioid", [0.1, 0.2, 0.4])]
    here = run_scan(setting, axes, chunk=1).table
    there = run_scan(setting, axes, chunk=1, dask=cluster.scheduler_address).table
    assert here.equals(there) and len(here) == 3


def test_trial_patients_the_explicit_solver_fails_are_recovered(monkeypatch):
    import yaml

    import exerpain.design.trial as trial
    from exerpain.design.spec import EXAMPLE, validated

    design = validated({**yaml.safe_load(EXAMPLE), "n_randomised": 20})
    normal = trial.simulate_trials(design, 2, 3)
    monkeypatch.setattr(solve_module, "EXPLICIT_MAX_STEPS", CRIPPLED)
    retried = trial.simulate_trials(design, 2, 3)  # screening and treatment all retried
    assert normal.failed == retried.failed == 0
    a, b = normal.patients.to_pandas(), retried.patients.to_pandas()
    assert list(a["subject_id"]) == list(b["subject_id"])
    assert np.max(np.abs(a["model_change"] - b["model_change"])) < 1e-4  # NRS points


# -- the steady start on an accelerator ----------------------------------------------------------

def test_call_widths_follow_the_count_on_a_cpu_and_take_all_in_one_call_on_an_accelerator():
    assert [stiffness.call_width(n, "cpu") for n in (1, 9, 100, 600)] == [8, 16, 128, 512]
    assert [stiffness.call_width(n, "gpu") for n in (1, 8, 9, 33, 600)] == [
        8, 8, 32, 128, 2048]


@pytest.fixture(scope="module")
def dpn_start():
    config = CohortConfig("dpn", "aerobic-moderate", n=48, seed=3, attribution=False)
    plan = engine._plan(config, None)
    inputs = jax.tree_util.tree_map(np.asarray, engine.cohort_inputs(
        plan.prepared, engine._subjects(plan, np.arange(config.n))))
    return plan, inputs


def test_the_staged_start_is_one_newton_of_32_iterations_then_the_continuation(dpn_start):
    """Newton for 12 iterations, resumed for the runs not converged, then the continuation,
    gives the states and codes of the unstaged start (:func:`solve.newton` for 32
    iterations, then the continuation), run for run."""
    plan, inputs = dpn_start
    t0 = jax.numpy.asarray(plan.prepared.t0)
    staged, codes = stiffness.start_states(plan.model, True, inputs, t0)
    one = lambda inp: solve_module.initial_state(plan.model, inp, t0, True)  # noqa: E731
    reference, ref_codes = (np.asarray(a) for a in jax.jit(jax.vmap(one))(inputs))
    assert np.array_equal(codes, ref_codes) and not codes.any()
    np.testing.assert_allclose(staged, reference, rtol=1e-9, atol=1e-12)


def test_later_stages_give_the_same_states_in_one_call_as_8_at_a_time(monkeypatch, dpn_start):
    """An accelerator's one call per stage (padded) gives the same initial states and codes
    as calls of 8: Newton is cut to 2 + 1 iterations so that most runs need the later
    stages."""
    plan, inputs = dpn_start
    calls = []
    take = stiffness.take
    monkeypatch.setattr(stiffness, "take", lambda tree, idx: calls.append(len(idx))
                        or take(tree, idx))
    monkeypatch.setattr(stiffness, "FIRST_NEWTON_STEPS", 2)
    monkeypatch.setattr(stiffness, "START_NEWTON_STEPS", 3)
    stiffness._start_programs.cache_clear()
    try:
        monkeypatch.setattr(stiffness, "CALL_WIDTHS", {"cpu": (8, 2, 8)})
        eights = stiffness.start_states(plan.model, True, inputs, plan.prepared.t0)
        eight_calls, calls[:] = list(calls), []
        monkeypatch.setattr(stiffness, "CALL_WIDTHS", {"cpu": (8, 4, None)})
        one = stiffness.start_states(plan.model, True, inputs, plan.prepared.t0)
    finally:
        stiffness._start_programs.cache_clear()
    assert len(eight_calls) >= 4 and set(eight_calls) == {8}
    assert len(calls) == 2 and set(calls) <= {8, 32, 128}  # one call per later stage
    assert np.array_equal(eights[1], one[1]) and not one[1].any()
    np.testing.assert_allclose(one[0], eights[0], rtol=1e-12, atol=1e-14)
