"""Virtual cohorts: attribution properties, findings a user can check, failures, I/O."""

from __future__ import annotations

import json
from functools import cache

import jax.numpy as jnp
import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from exerpain.errors import InputError
from exerpain.interfaces.cli import app
from exerpain.model.function import functional_names
from exerpain.model.mechanisms.base import Context, Mechanism, param, state
from exerpain.model.readouts import MIN_SEDENTARY_NRS, minimal_deficit
from exerpain.simulate.engine import CohortConfig, run_cohort
from exerpain.storage import to_json

CHUNK = 8  # one compiled shape for all cohort tests (the CPU default with attribution)
N = 48


@cache
def cohort(condition: str, protocol: str, interventions: tuple = (), n: int = N, seed: int = 1,
           genotypes: tuple = ()):
    config = CohortConfig(condition, protocol, n=n, seed=seed, interventions=interventions,
                          chunk_size=CHUNK, genotype_overrides=dict(genotypes))
    result = run_cohort(config)
    return result.summary, result.subjects.to_pandas()


def shapley_columns(frame, prefix: str = "shapley_"):
    return [c for c in frame.columns if c.startswith(prefix)]


@pytest.mark.parametrize("condition,protocol", [("cci", "treadmill-moderate"),
                                                ("dpn", "aerobic-moderate")])
def test_shapley_values_sum_to_each_subjects_benefit(condition, protocol):
    """Efficiency in both views: entry and pathway values each sum to the benefit."""
    summary, frame = cohort(condition, protocol)
    assert summary["failed"] == 0 and (frame["status"] == "ok").all()
    for prefix in ("shapley_", "pathway_shapley_"):
        total = frame[shapley_columns(frame, prefix)].sum(axis=1)
        np.testing.assert_allclose(total, frame["benefit"], rtol=1e-6)


@pytest.mark.parametrize("condition,protocol", [("cci", "treadmill-moderate"),
                                                ("dpn", "aerobic-moderate")])
def test_priming_mechanism_differs_between_subjects(condition, protocol):
    """The review's claim: the mechanism that primes the response is not the same in every
    subject (Ghanbari 2025, doi:10.1155/prm/3432659)."""
    summary, frame = cohort(condition, protocol)
    assert frame["priming_mechanism"].nunique() >= 2
    assert max(summary["priming_mechanism_share"].values()) < 0.95
    assert summary["endotypes"]["k"] >= 2
    assert sum(summary["endotypes"]["sizes"].values()) == N


def test_bdnf_met_carriers_get_less_from_the_neurotrophic_mechanism():
    """Met carriers improve less with rehabilitation (PMID 36199368): paired cohorts, every
    draw equal except the BDNF genotype."""
    _, val = cohort("dpn", "aerobic-moderate", genotypes=(("bdnf_rs6265", "Val/Val"),))
    _, met = cohort("dpn", "aerobic-moderate", genotypes=(("bdnf_rs6265", "Met/Met"),))
    diff = met["shapley_neurotrophic"] - val["shapley_neurotrophic"]
    assert (diff < 0).mean() > 0.9 and diff.mean() < 0


def test_oprm1_g_carriers_get_less_from_the_opioid_route():
    """G carriers improve less with rehabilitation (PMID 36199368): the VTA-opioid arm
    (dopaminergic + opioid Shapley values) shrinks."""
    _, aa = cohort("dpn", "aerobic-moderate", genotypes=(("oprm1_rs1799971", "A/A"),))
    _, gg = cohort("dpn", "aerobic-moderate", genotypes=(("oprm1_rs1799971", "G/G"),))

    def arm(frame):
        return frame["shapley_dopaminergic"] + frame["shapley_opioid"]

    assert (arm(gg) < arm(aa)).mean() > 0.9


@pytest.mark.parametrize("intervention,mechanism", [
    ("vta-silencing", "dopaminergic"), ("il4-ko", "inflammation")])
def test_blocking_a_mechanism_shifts_priming_away_from_it(intervention, mechanism):
    base, _ = cohort("cci", "treadmill-moderate")
    blocked, _ = cohort("cci", "treadmill-moderate", (intervention,))
    before = base["priming_mechanism_share"][mechanism]
    after = blocked["priming_mechanism_share"][mechanism]
    # the mechanism primes a real share of the cohort (>10%) and the blockade halves it
    assert before > 0.1 and after < 0.5 * before


def test_blocking_vta_moves_pathway_credit_away_from_dopaminergic():
    """Chemogenetic VTA silencing (same subjects, paired): the relief that reached pain
    through VTA dopamine is gone, so the dopaminergic pathway value falls below half in
    (nearly) every subject and dopaminergic primes a smaller share in the pathway view.
    (Unblocked, dopaminergic primes few or no CCI rats in the pathway view: its chain's
    credit is shared with opioid and monoaminergic, so the share alone cannot show it.)"""
    base_summary, base = cohort("cci", "treadmill-moderate")
    blocked_summary, blocked = cohort("cci", "treadmill-moderate", ("vta-silencing",))
    column = "pathway_shapley_dopaminergic"
    assert (base[column] > 0).all()
    assert (blocked[column] < 0.5 * base[column]).mean() > 0.9
    assert blocked[column].mean() < 0.25 * base[column].mean()
    share = "pathway_priming_share"
    # fewer subjects primed by it (not none: the silencing leaves part of the VTA drive, and
    # where every other route is small the residual can still be the largest)
    before, after = (s[share]["dopaminergic"] for s in (base_summary, blocked_summary))
    assert after < before or before == 0.0


def test_same_seed_same_results_different_seed_differs():
    _, a = cohort("cci", "treadmill-moderate")
    b = run_cohort(CohortConfig("cci", "treadmill-moderate", n=N, seed=1,
                                chunk_size=CHUNK)).subjects.to_pandas()
    c, _ = cohort("cci", "treadmill-moderate", seed=2)
    np.testing.assert_array_equal(a["benefit"].to_numpy(), b["benefit"].to_numpy())
    assert c["mean_benefit"] != pytest.approx(cohort("cci", "treadmill-moderate")[0][
        "mean_benefit"], rel=1e-9)


def test_responders_follow_immpact_thresholds():
    summary, frame = cohort("dpn", "aerobic-moderate")
    reduction = (frame["sedentary_value"] - frame["exercise_value"]) / frame["sedentary_value"]
    defined = frame["sedentary_value"] >= MIN_SEDENTARY_NRS
    assert frame.loc[~defined, "responder30"].isna().all()
    assert summary["responder_undefined"] == (~defined).sum()
    for column, threshold in (("responder30", 0.3), ("responder50", 0.5)):
        np.testing.assert_array_equal(frame.loc[defined, column].astype(bool),
                                      reduction[defined] >= threshold)
        assert summary[f"{column}_rate"] == pytest.approx(
            frame.loc[defined, column].astype(bool).mean())


def test_sham_cohort_has_no_responder_status():
    """Sham animals have no deficit from health, so a relative reduction is a ratio over
    nothing: every subject's status is undefined (null) and the rates are null."""
    summary, frame = cohort("sham", "treadmill-moderate", n=CHUNK)
    assert summary["failed"] == 0 and summary["responder_undefined"] == CHUNK
    assert frame["responder30"].isna().all() and frame["responder50"].isna().all()
    cleaned = json.loads(to_json(summary))
    assert cleaned["responder30_rate"] is None and cleaned["responder50_rate"] is None


def test_simulate_summary_responder_status_undefined_without_deficit(simulate):
    sham = simulate("sham", "treadmill-moderate", days=42).summary
    assert sham["responder30"] is None and sham["responder50"] is None
    cci = simulate("cci", "treadmill-moderate", days=42).summary
    assert isinstance(cci["responder30"], bool) and isinstance(cci["responder50"], bool)


def test_minimal_deficit_is_a_tenth_of_the_rodent_range_and_one_nrs_point(model):
    p = model.default_params()["readout"]
    span = p["vf_healthy_g"] - p["vf_floor_g"]
    assert minimal_deficit("withdrawal_threshold_g", p) == pytest.approx(0.1 * span)
    assert minimal_deficit("nrs", p) == MIN_SEDENTARY_NRS == 1.0


class Faulty(Mechanism):
    """Test module whose derivative is NaN for subjects whose ``fault`` parameter (drawn
    log-normally like every mechanism parameter) exceeds 1.2."""

    name = "faulty"
    summary = "numerical failure injector (test)"
    states = (state("x", "dummy"),)
    parameters = (param("fault", 1.0, "dimensionless", 0.01, 100.0, "assumed", "test", "x"),)

    def derivatives(self, c: Context) -> dict:
        return {"x": jnp.where(self.p(c)["fault"] > 1.2, jnp.nan, 0.0)}


def test_failed_subjects_are_marked_and_the_rest_go_on(model):
    extended = model.with_mechanism(Faulty())
    # attribution off: the stiff retry of the failed subjects compiles the two-run solver only
    result = run_cohort(CohortConfig("cci", "treadmill-moderate", n=N, seed=1,
                                     chunk_size=CHUNK, attribution=False), model=extended)
    frame = result.subjects.to_pandas()
    failed = frame["status"] != "ok"
    assert (frame.loc[failed, "solver"] == "kvaerno5").all()  # retried before marked failed
    assert result.summary["retried_stiff"] == failed.sum() > 0
    assert 0 < failed.sum() < N and result.summary["failed"] == failed.sum()
    assert frame.loc[failed, "benefit"].isna().all()
    assert frame.loc[~failed, "benefit"].notna().all()
    assert frame.loc[failed, "status"].str.contains("non-finite|solver").all()


@pytest.mark.parametrize("kwargs,needle", [
    ({"n": 0}, "n"), ({"n": -3}, "n"), ({"n": 10**9}, "memory"), ({"seed": 1.5}, "seed"),
    ({"condition": "xyz"}, "condition"), ({"interventions": ("aspirin",)}, "intervention"),
    ({"sex": "robot"}, "sex: must be one of male, female, mixed"),
    ({"condition": "dpn", "protocol": "aerobic-moderate", "sex": "female"},
     "sex: applies to rodent conditions only"),
])
def test_bad_cohort_input(kwargs, needle):
    args = {"condition": "cci", "protocol": "treadmill-moderate", "n": 10, "seed": 1, **kwargs}
    with pytest.raises(InputError, match=needle):
        run_cohort(CohortConfig(**args))


def test_interrupted_run_leaves_no_parquet(tmp_path):
    def interrupt(done, total):
        if done >= CHUNK:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_cohort(CohortConfig("cci", "treadmill-moderate", n=N, seed=1, chunk_size=CHUNK),
                   out=tmp_path, progress=interrupt)
    assert list(tmp_path.iterdir()) == []


def test_cohort_cli_writes_subjects_and_summary(tmp_path, model):
    # n = CHUNK: the compiled shape of the cohorts above (a chunk of 20 compiles its own)
    result = CliRunner().invoke(app, [
        "cohort", "--condition", "cci", "--protocol", "treadmill-moderate", "--n", str(CHUNK),
        "--seed", "3", "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    for key in ("n", "failed", "responder30_rate", "responder50_rate", "responder_undefined",
                "functional", "mean_benefit",
                "benefit_ci95", "priming_mechanism_share", "priming_mechanism_share_interval",
                "pathway_priming_share", "pathway_priming_share_interval", "endotypes",
                "runtime_s", "subjects_per_s", "device"):
        assert key in summary
    frame = pq.read_table(tmp_path / "subjects.parquet").to_pandas()
    assert len(frame) == CHUNK and list(frame["subject_id"]) == list(range(CHUNK))
    for column in ("subject_id", "sex", "age", "bmi", "hba1c", "vo2max", "adherence",
                   "bdnf_rs6265", "comt_rs4680", "oprm1_rs1799971", "sod2_rs4880", "il10_1082",
                   "tnf_308", "httlpr", "sedentary_value", "exercise_value", "benefit",
                   "responder30", "responder50", "priming_mechanism", "endotype", "status",
                   "sciatic_functional_index", "sedentary_sciatic_functional_index",
                   "log_drive_benefit", "pathway_priming_mechanism",
                   *(f"shapley_{m}" for m in model.exercise_mechanisms),
                   *(f"pathway_shapley_{m}" for m in model.exercise_mechanisms)):
        assert column in frame.columns, column
    assert json.loads((tmp_path / "summary.json").read_text())["n"] == CHUNK


def test_cohort_cli_rejects_an_unknown_attribution_scale(tmp_path):
    result = CliRunner().invoke(app, ["cohort", "--condition", "cci", "--protocol",
                                      "treadmill-moderate", "--n", "5", "--seed", "1",
                                      "--attribution-scale", "logit",
                                      "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: attribution_scale")
    assert "readout" in lines[0] and "log_drive" in lines[0]
    assert not (tmp_path / "o").exists()


def test_cohort_cli_rejects_non_integer_seed(tmp_path):
    result = CliRunner().invoke(app, ["cohort", "--condition", "cci", "--protocol",
                                      "treadmill-moderate", "--n", "5", "--seed", "x1",
                                      "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "seed" in result.stderr
    assert not (tmp_path / "o").exists()


# -- functional read-outs in cohort output (here: the cached cohorts of this module; the names
# themselves are checked against the published read-outs in test_function.py) --

@pytest.mark.parametrize("condition,protocol,kind", [("cci", "treadmill-moderate", "rodent"),
                                                     ("dpn", "aerobic-moderate", "human")])
def test_functional_readouts_in_cohort_output(condition, protocol, kind):
    summary, frame = cohort(condition, protocol)
    for name in functional_names(kind):
        assert frame[name].notna().all() and frame[f"sedentary_{name}"].notna().all()
        means = summary["functional"][name]
        assert means["exercise"] == pytest.approx(frame[name].mean())
        assert means["sedentary"] == pytest.approx(frame[f"sedentary_{name}"].mean())
        assert (frame[f"sedentary_{name}"] < means["healthy"]).all()
