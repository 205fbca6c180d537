"""The analysis of one virtual trial, as neuropathic-pain trials are analysed.

- Baseline: mean of the last run-in week's daily ratings; primary endpoint: mean of the
  last ``endpoint_days`` daily ratings of treatment; change = endpoint - baseline.
- Missing data (dropout): ``completers`` (analyse those who finished), ``locf`` (the mean of
  the last ``endpoint_days`` ratings before dropout; baseline carried forward for a patient
  with none after randomisation), or ``multiple_imputation`` (per arm, a Bayesian linear
  regression of the endpoint on baseline and the last observed weekly mean among
  completers, ``m`` proper draws, Rubin's rules with the Barnard-Rubin degrees of freedom;
  Little & Rubin 2002, doi:10.1002/9781119013563).
- Estimator: ``ancova`` (change regressed on arm indicators and baseline, all arms in one
  model) or ``change`` (the same without baseline: difference in mean change); each active
  arm against the control, two-sided t test.
- Responders: reduction from baseline of >= 30% and >= 50% (IMMPACT, Dworkin 2008,
  doi:10.1016/j.jpain.2007.09.005), among the analysed patients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Comparison:
    """One active arm against the control: estimate (NRS points, negative = less pain than
    control), its standard error, degrees of freedom, two-sided p and 95% interval."""

    estimate: float
    se: float
    df: float
    p: float
    ci95: tuple[float, float]


def window_means(diary: np.ndarray, last_day: np.ndarray, days: int, first_day: int = 1
                 ) -> np.ndarray:
    """Mean of each patient's ``days`` ratings ending on ``last_day`` (columns are days
    ``first_day, first_day + 1, ...`` of ``diary``); NaN where the window starts before
    ``first_day``."""
    n, width = diary.shape
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(diary, axis=1)], axis=1)
    end = np.asarray(last_day, dtype=int) - first_day + 1  # columns [end - days, end)
    start = end - days
    ok = (start >= 0) & (end <= width)
    rows = np.arange(n)
    total = cum[rows, np.clip(end, 0, width)] - cum[rows, np.clip(start, 0, width)]
    return np.where(ok, total / days, np.nan)


def design_matrix(arm: np.ndarray, n_arms: int, control: int, baseline: np.ndarray | None
                  ) -> tuple[np.ndarray, list[int]]:
    """Intercept, one indicator per active arm and (ANCOVA) centred baseline; the active
    arms in column order."""
    active = [a for a in range(n_arms) if a != control]
    cols = [np.ones(len(arm))] + [(arm == a).astype(float) for a in active]
    if baseline is not None:
        cols.append(baseline - baseline.mean())
    return np.column_stack(cols), active


def ols(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Least squares: coefficients, their covariance, residual variance and its df."""
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    df = len(y) - np.linalg.matrix_rank(X)
    resid = y - X @ beta
    sigma2 = float(resid @ resid / df) if df > 0 else np.nan
    cov = sigma2 * np.linalg.pinv(X.T @ X)
    return beta, cov, sigma2, float(df)


def _comparison(estimate: float, se: float, df: float) -> Comparison:
    if not (np.isfinite(se) and se > 0 and df > 0):
        return Comparison(estimate, se, df, np.nan, (np.nan, np.nan))
    t = stats.t.ppf(0.975, df)
    p = 2.0 * stats.t.sf(abs(estimate / se), df)
    return Comparison(estimate, se, df, float(p), (estimate - t * se, estimate + t * se))


def compare(change: np.ndarray, baseline: np.ndarray, arm: np.ndarray, n_arms: int,
            control: int, estimator: str) -> dict[int, Comparison]:
    """Each active arm against the control (complete data)."""
    X, active = design_matrix(arm, n_arms, control, baseline if estimator == "ancova" else None)
    if len(change) <= X.shape[1] or any(not np.any(arm == a) for a in range(n_arms)):
        return {a: Comparison(np.nan, np.nan, 0.0, np.nan, (np.nan, np.nan)) for a in active}
    beta, cov, _, df = ols(change, X)
    return {a: _comparison(float(beta[1 + j]), float(np.sqrt(cov[1 + j, 1 + j])), df)
            for j, a in enumerate(active)}


def impute(rng: np.random.Generator, endpoint: np.ndarray, baseline: np.ndarray,
           last_seen: np.ndarray, arm: np.ndarray, n_arms: int) -> np.ndarray:
    """One proper imputation of the missing endpoints: per arm, coefficients and residual
    variance drawn from the posterior of the regression of the endpoint on baseline and the
    last observed weekly mean (non-informative prior), then a predictive draw."""
    out = endpoint.copy()
    for a in range(n_arms):
        mine = arm == a
        seen = mine & np.isfinite(endpoint)
        missing = mine & ~np.isfinite(endpoint)
        if not missing.any():
            continue
        X = np.column_stack([np.ones(seen.sum()), baseline[seen], last_seen[seen]])
        if seen.sum() <= X.shape[1] + 1:  # too few completers: carry the last value forward
            out[missing] = last_seen[missing]
            continue
        beta, _, sigma2, df = ols(endpoint[seen], X)
        sigma2_draw = sigma2 * df / rng.chisquare(df)
        xtx_inv = np.linalg.pinv(X.T @ X)
        beta_draw = rng.multivariate_normal(beta, sigma2_draw * xtx_inv)
        Xm = np.column_stack([np.ones(missing.sum()), baseline[missing], last_seen[missing]])
        out[missing] = Xm @ beta_draw + np.sqrt(sigma2_draw) * rng.standard_normal(missing.sum())
    return np.clip(out, 0.0, 10.0)


def rubin(comparisons: list[Comparison], n_obs: int, n_params: int) -> Comparison:
    """Rubin's rules over imputations, with the Barnard-Rubin small-sample df."""
    q = np.array([c.estimate for c in comparisons])
    u = np.array([c.se ** 2 for c in comparisons])
    m = len(q)
    qbar, ubar, b = q.mean(), u.mean(), q.var(ddof=1)
    total = ubar + (1 + 1 / m) * b
    df_complete = max(n_obs - n_params, 1)
    lam = (1 + 1 / m) * b / total if total > 0 else 0.0
    df_old = (m - 1) / max(lam, 1e-12) ** 2
    df_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam)
    df = 1.0 / (1.0 / df_old + 1.0 / df_obs) if df_obs > 0 else df_old
    return _comparison(float(qbar), float(np.sqrt(total)), float(df))


@dataclass(frozen=True)
class Analysed:
    """One replicate's analysis: comparisons by active arm, and per patient whether they
    were analysed, their endpoint (imputed where missing; NaN where not analysed) and
    responder status (as a fraction over imputations for multiple imputation)."""

    comparisons: dict[int, Comparison]
    analysed: np.ndarray
    endpoint: np.ndarray
    responder30: np.ndarray
    responder50: np.ndarray


def responders(baseline: np.ndarray, endpoint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        reduction = (baseline - endpoint) / baseline
    return (reduction >= 0.3).astype(float), (reduction >= 0.5).astype(float)


def analyse(baseline: np.ndarray, endpoint: np.ndarray, last_seen: np.ndarray, arm: np.ndarray,
            n_arms: int, control: int, estimator: str, missing: str, imputations: int,
            rng: np.random.Generator) -> Analysed:
    """Analyse one trial. ``endpoint`` is NaN for dropouts; ``last_seen`` is the LOCF value
    (mean of the last observed window, or baseline)."""
    complete = np.isfinite(endpoint)
    if missing == "completers":
        keep = complete
        y = endpoint[keep]
        comps = compare(y - baseline[keep], baseline[keep], arm[keep], n_arms, control,
                        estimator)
        r30, r50 = responders(baseline[keep], y)
        return Analysed(comps, keep, np.where(keep, endpoint, np.nan),
                        _spread(r30, keep), _spread(r50, keep))
    if missing == "locf":
        y = np.where(complete, endpoint, last_seen)
        comps = compare(y - baseline, baseline, arm, n_arms, control, estimator)
        r30, r50 = responders(baseline, y)
        return Analysed(comps, np.ones_like(complete), y, r30, r50)
    draws, r30s, r50s, ys = [], [], [], []
    for _ in range(imputations):
        y = impute(rng, endpoint, baseline, last_seen, arm, n_arms)
        draws.append(compare(y - baseline, baseline, arm, n_arms, control, estimator))
        r30, r50 = responders(baseline, y)
        r30s.append(r30)
        r50s.append(r50)
        ys.append(y)
    n_params = n_arms + (1 if estimator == "ancova" else 0)
    comps = {a: rubin([d[a] for d in draws], len(baseline), n_params) for a in draws[0]}
    return Analysed(comps, np.ones_like(complete), np.mean(ys, axis=0),
                    np.mean(r30s, axis=0), np.mean(r50s, axis=0))


def _spread(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    out = np.full(len(keep), np.nan)
    out[keep] = values
    return out
