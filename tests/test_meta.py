"""Random-effects meta-analysis: DerSimonian-Laird and REML against statsmodels, metafor's
published BCG results and a direct REML likelihood maximisation; subgroups; prediction
interval."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats
from statsmodels.stats.meta_analysis import combine_effects

from exerpain.errors import InputError
from exerpain.evidence.meta import (
    _reml_loglik,
    pool,
    pool_subgroups,
    se_from_ci,
    tau2_reml,
)

# BCG vaccine trials (metafor dat.bcg): tpos, tneg, cpos, cneg -> log risk ratios.
_BCG = np.array([
    [4, 119, 11, 128], [6, 300, 29, 274], [3, 228, 11, 209], [62, 13536, 248, 12619],
    [33, 5036, 47, 5761], [180, 1361, 372, 1079], [8, 2537, 10, 619],
    [505, 87886, 499, 87892], [29, 7470, 45, 7232], [17, 1699, 65, 1600],
    [186, 50448, 141, 27197], [5, 2493, 3, 2338], [27, 16886, 29, 17825],
], dtype=float)
BCG_Y = np.log((_BCG[:, 0] / _BCG[:, :2].sum(1)) / (_BCG[:, 2] / _BCG[:, 2:].sum(1)))
BCG_V = 1 / _BCG[:, 0] - 1 / _BCG[:, :2].sum(1) + 1 / _BCG[:, 2] - 1 / _BCG[:, 2:].sum(1)

DATASETS = {
    "bcg": (BCG_Y, BCG_V),
    "heterogeneous": (np.array([0.10, 0.90, 0.35, -0.20, 0.60]),
                      np.array([0.04, 0.02, 0.05, 0.03, 0.08])),
    "cipn_pooled": (np.array([0.28, 0.46, 0.21, 0.50]),
                    se_from_ci(np.array([0.12, 0.11, 0.01, 0.26]),
                               np.array([0.45, 0.82, 0.40, 0.74])) ** 2),
}
# Q < k - 1: DL's moment estimate is negative and must be truncated at 0.
HOMOGENEOUS = (np.array([0.50, 0.52, 0.49, 0.51]), np.array([0.04, 0.05, 0.03, 0.06]))


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_dersimonian_laird_matches_statsmodels(name):
    y, v = DATASETS[name]
    ours = pool(y, v, method="dl")
    ref = combine_effects(y, v, method_re="dl")
    assert ref.tau2 > 0
    assert ours.tau2 == pytest.approx(ref.tau2, abs=1e-6)
    assert ours.estimate == pytest.approx(ref.mean_effect_re, abs=1e-6)
    assert ours.se == pytest.approx(ref.sd_eff_w_re, abs=1e-6)
    assert ours.q == pytest.approx(ref.q, abs=1e-6)
    assert ours.i2 == pytest.approx(ref.i2, abs=1e-6)
    assert ours.fixed_estimate == pytest.approx(ref.mean_effect_fe, abs=1e-6)
    assert ours.fixed_se == pytest.approx(ref.sd_eff_w_fe, abs=1e-6)


@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt:RuntimeWarning")
@pytest.mark.parametrize("method", ["dl", "reml"])
def test_tau2_truncated_at_zero_gives_fixed_effect(method):
    y, v = HOMOGENEOUS
    ref = combine_effects(y, v, method_re="dl")
    assert ref.tau2 < 0  # statsmodels does not truncate
    ours = pool(y, v, method=method)
    assert ours.tau2 == 0.0
    assert ours.i2 == 0.0
    assert ours.estimate == pytest.approx(ref.mean_effect_fe, abs=1e-6)
    assert ours.se == pytest.approx(ref.sd_eff_w_fe, abs=1e-6)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_reml_maximises_restricted_likelihood(name):
    y, v = DATASETS[name]
    tau2 = tau2_reml(y, v)
    best = optimize.minimize_scalar(lambda t: -_reml_loglik(t, y, v), bounds=(0.0, 10.0),
                                    method="bounded", options={"xatol": 1e-12})
    assert tau2 == pytest.approx(best.x, abs=1e-6)
    # pooled mean and SE given tau^2 agree with statsmodels' WLS combination at that tau^2
    ours = pool(y, v, method="reml")
    ref = combine_effects(y, v + tau2, method_re="dl")  # tau^2 folded into the variances
    assert ours.estimate == pytest.approx(ref.mean_effect_fe, abs=1e-6)
    assert ours.se == pytest.approx(ref.sd_eff_w_fe, abs=1e-6)


def test_reml_matches_metafor_bcg():
    """metafor rma(yi, vi, data=dat.bcg), REML: estimate -0.7145, se 0.1798, tau^2 0.3132;
    DL: tau^2 0.3088, estimate -0.7141 (Viechtbauer 2010, J Stat Softw 36(3))."""
    reml = pool(BCG_Y, BCG_V, method="reml")
    assert reml.estimate == pytest.approx(-0.7145, abs=1e-4)
    assert reml.se == pytest.approx(0.1798, abs=1e-4)
    assert reml.tau2 == pytest.approx(0.3132, abs=1e-4)
    assert reml.q == pytest.approx(152.2330, abs=1e-3)
    dl = pool(BCG_Y, BCG_V, method="dl")
    assert dl.tau2 == pytest.approx(0.3088, abs=1e-4)
    assert dl.estimate == pytest.approx(-0.7141, abs=1e-4)


def test_prediction_interval_formula():
    y, v = DATASETS["heterogeneous"]
    res = pool(y, v, method="reml")
    half = stats.t.ppf(0.975, len(y) - 2) * np.sqrt(res.tau2 + res.se**2)
    assert res.pi_low == pytest.approx(res.estimate - half, abs=1e-12)
    assert res.pi_high == pytest.approx(res.estimate + half, abs=1e-12)
    assert res.ci_low == pytest.approx(res.estimate - stats.norm.ppf(0.975) * res.se)
    assert pool(y[:2], v[:2]).pi_low is None  # k < 3: no prediction interval


def test_pool_from_confidence_intervals():
    lo, hi = np.array([0.31, 0.07, 0.03]), np.array([0.74, 0.57, 1.0])
    y = np.array([0.53, 0.32, 0.51])
    from_ci = pool(y, ci_low=lo, ci_high=hi, method="dl")
    direct = pool(y, ((hi - lo) / (2 * 1.96)) ** 2, method="dl")
    assert from_ci.estimate == pytest.approx(direct.estimate)
    assert from_ci.se == pytest.approx(direct.se)


def test_subgroups_pool_within_and_test_between():
    y, v = DATASETS["heterogeneous"]
    groups = ["a", "b", "a", "a", "b"]
    sub = pool_subgroups(y, v, groups, method="dl", by="arm")
    mask = np.array(groups) == "a"
    assert sub.groups["a"].estimate == pytest.approx(pool(y[mask], v[mask], method="dl").estimate)
    assert sub.groups["b"].k == 2
    mu = np.array([g.estimate for g in sub.groups.values()])
    se = np.array([g.se for g in sub.groups.values()])
    assert sub.q_between == pytest.approx(combine_effects(mu, se**2, method_re="dl").q, abs=1e-9)
    assert sub.df == 1
    assert sub.p_value == pytest.approx(stats.chi2.sf(sub.q_between, 1))


def test_bad_inputs_raise_input_error():
    with pytest.raises(InputError, match="at least 2"):
        pool([0.5], [0.1])
    with pytest.raises(InputError, match="positive"):
        pool([0.5, 0.2], [0.1, 0.0])
    with pytest.raises(InputError, match="method"):
        pool([0.5, 0.2], [0.1, 0.1], method="pm")
    with pytest.raises(InputError, match="2 subgroups"):
        pool_subgroups([0.5, 0.2], [0.1, 0.1], ["a", "a"])
