"""Inverse-variance random-effects meta-analysis (DerSimonian-Laird or REML tau^2), subgroup
pooling with a between-subgroup Q test, and pooling of the shipped outcome rows.

Model: y_i = mu + u_i + e_i, u_i ~ N(0, tau^2), e_i ~ N(0, v_i) with v_i known.

* Weights w_i = 1 / (v_i + tau^2); mu_hat = sum(w_i y_i) / sum(w_i); SE(mu_hat) = sum(w_i)^-1/2;
  95% CI mu_hat +/- z_0.975 SE.
* Cochran's Q = sum(w0_i (y_i - mu_FE)^2) with fixed-effect weights w0_i = 1/v_i; df = k - 1.
* DerSimonian & Laird (1986, Control Clin Trials 7:177): tau^2 = max(0, (Q - df) / C),
  C = sum(w0) - sum(w0^2) / sum(w0).
* REML (Viechtbauer 2005, J Educ Behav Stat 30:261; metafor's Fisher scoring): maximise
  l_R(tau^2) = -1/2 [sum log(v_i + tau^2) + log sum(w_i) + sum w_i (y_i - mu_hat)^2];
  score U = 1/2 [sum w^2 (y - mu)^2 - sum w + sum w^2 / sum w], expected information
  I = 1/2 tr(P^2) = 1/2 [sum w^2 - 2 sum w^3 / sum w + (sum w^2)^2 / (sum w)^2];
  tau^2 <- max(0, tau^2 + U / I), with step halving.
* I^2 = max(0, (Q - df) / Q) (Higgins & Thompson 2002, Stat Med 21:1539).
* Prediction interval (Higgins, Thompson & Spiegelhalter 2009, J R Stat Soc A 172:137):
  mu_hat +/- t_{k-2, 0.975} sqrt(tau^2 + SE^2), for k >= 3.
* Subgroups (Borenstein et al. 2009, Introduction to Meta-Analysis, ch. 19, separate tau^2
  per subgroup): Q_between = sum W_g (mu_g - mu_bar)^2, W_g = 1/SE_g^2, df = G - 1, chi^2 test.
* From a published 95% CI: SE = (hi - lo) / (2 * 1.96), variance = SE^2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from exerpain.errors import InputError

Method = Literal["dl", "reml"]
METHODS: tuple[str, ...] = ("dl", "reml")
Z_95 = 1.96
"""Normal quantile used by published 95% CIs (to recover SE from a CI)."""
GROUPING_FIELDS: tuple[str, ...] = (
    "modality", "species", "condition", "study_id", "timepoint", "level", "effect_measure",
)
"""Columns of outcomes.csv allowed for subgroup pooling."""
STANDARDISED = frozenset({"SMD", "g", "d", "ES"})
"""Effect measures treated as one family (standardised mean differences)."""


@dataclass(frozen=True)
class MetaResult:
    """A pooled random-effects estimate (units of the input effects)."""

    k: int
    method: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    tau2: float
    q: float
    q_df: int
    q_p_value: float
    i2: float
    pi_low: float | None
    pi_high: float | None
    fixed_estimate: float
    fixed_se: float
    weights: tuple[float, ...]
    """Relative random-effects weights (sum to 1)."""

    @property
    def tau(self) -> float:
        return float(np.sqrt(self.tau2))

    def to_dict(self) -> dict:
        return {**asdict(self), "weights": list(self.weights), "tau": self.tau}


@dataclass(frozen=True)
class SubgroupResult:
    """Per-subgroup pooled estimates and the between-subgroup Q test."""

    by: str
    groups: dict[str, MetaResult]
    q_between: float
    df: int
    p_value: float

    def to_dict(self) -> dict:
        return {"by": self.by, "groups": {g: r.to_dict() for g, r in self.groups.items()},
                "q_between": self.q_between, "df": self.df, "p_value": self.p_value}


def se_from_ci(ci_low: float | np.ndarray, ci_high: float | np.ndarray
               ) -> float | np.ndarray:
    """Standard error from a symmetric 95% CI: (hi - lo) / (2 * 1.96)."""
    return (np.asarray(ci_high, float) - np.asarray(ci_low, float)) / (2 * Z_95)


def _as_arrays(effects: Sequence[float], variances: Sequence[float]
               ) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(effects, dtype=float).ravel()
    v = np.asarray(variances, dtype=float).ravel()
    if y.shape != v.shape:
        raise InputError(f"effects ({y.size}) and variances ({v.size}) differ in length")
    if y.size == 0:
        raise InputError("no effects to pool")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v))):
        raise InputError("effects and variances must be finite numbers")
    if np.any(v <= 0):
        raise InputError("variances must be positive")
    return y, v


def cochran_q(effects: np.ndarray, variances: np.ndarray) -> float:
    """Cochran's Q with fixed-effect weights 1/v_i."""
    w = 1.0 / variances
    mu = np.sum(w * effects) / np.sum(w)
    return float(np.sum(w * (effects - mu) ** 2))


def tau2_dersimonian_laird(effects: np.ndarray, variances: np.ndarray) -> float:
    """DerSimonian-Laird moment estimate of tau^2, truncated at 0."""
    if effects.size < 2:
        return 0.0
    w = 1.0 / variances
    c = np.sum(w) - np.sum(w**2) / np.sum(w)
    return float(max(0.0, (cochran_q(effects, variances) - (effects.size - 1)) / c))


def _reml_loglik(tau2: float, y: np.ndarray, v: np.ndarray) -> float:
    w = 1.0 / (v + tau2)
    mu = np.sum(w * y) / np.sum(w)
    return float(-0.5 * (np.sum(np.log(v + tau2)) + np.log(np.sum(w))
                         + np.sum(w * (y - mu) ** 2)))


def tau2_reml(effects: np.ndarray, variances: np.ndarray, tol: float = 1e-12,
              max_iter: int = 500) -> float:
    """Restricted maximum-likelihood tau^2 by Fisher scoring from the DL start, >= 0."""
    y, v = effects, variances
    if y.size < 2:
        return 0.0
    tau2 = tau2_dersimonian_laird(y, v)
    for _ in range(max_iter):
        w = 1.0 / (v + tau2)
        sw, sw2, sw3 = np.sum(w), np.sum(w**2), np.sum(w**3)
        mu = np.sum(w * y) / sw
        score = 0.5 * (np.sum(w**2 * (y - mu) ** 2) - sw + sw2 / sw)
        info = 0.5 * (sw2 - 2.0 * sw3 / sw + sw2**2 / sw**2)
        if info <= 0:
            break
        step = score / info
        current = _reml_loglik(tau2, y, v)
        new = max(0.0, tau2 + step)
        while _reml_loglik(new, y, v) < current - 1e-14 and abs(new - tau2) > tol:
            step /= 2.0
            new = max(0.0, tau2 + step)
        if abs(new - tau2) <= tol * max(1.0, tau2):
            tau2 = new
            break
        tau2 = new
    return float(tau2)


def _pool(y: np.ndarray, v: np.ndarray, method: str) -> MetaResult:
    k = y.size
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    tau2 = tau2_reml(y, v) if method == "reml" else tau2_dersimonian_laird(y, v)
    w0 = 1.0 / v
    mu_fe = float(np.sum(w0 * y) / np.sum(w0))
    w = 1.0 / (v + tau2)
    mu = float(np.sum(w * y) / np.sum(w))
    se = float(np.sqrt(1.0 / np.sum(w)))
    z_crit = float(stats.norm.ppf(0.975))
    q = cochran_q(y, v)
    df = k - 1
    i2 = float(max(0.0, (q - df) / q)) if q > 0 else 0.0
    if k >= 3:
        half = float(stats.t.ppf(0.975, k - 2)) * float(np.sqrt(tau2 + se**2))
        pi_low, pi_high = mu - half, mu + half
    else:
        pi_low = pi_high = None
    return MetaResult(
        k=k, method=method, estimate=mu, se=se, ci_low=mu - z_crit * se,
        ci_high=mu + z_crit * se, z=mu / se, p_value=float(2 * stats.norm.sf(abs(mu / se))),
        tau2=tau2, q=q, q_df=df, q_p_value=float(stats.chi2.sf(q, df)) if df > 0 else 1.0,
        i2=i2, pi_low=pi_low, pi_high=pi_high, fixed_estimate=mu_fe,
        fixed_se=float(np.sqrt(1.0 / np.sum(w0))), weights=tuple(float(x) for x in w / w.sum()),
    )


def pool(effects: Sequence[float], variances: Sequence[float] | None = None, *,
         ci_low: Sequence[float] | None = None, ci_high: Sequence[float] | None = None,
         method: Method = "reml") -> MetaResult:
    """Random-effects pooled estimate of ``effects`` (k >= 2).

    Give either ``variances`` (squared standard errors) or the published 95% CIs
    (``ci_low``, ``ci_high``), from which SE = (hi - lo) / (2 * 1.96).
    ``method``: ``"dl"`` (DerSimonian-Laird) or ``"reml"``.
    """
    if variances is None:
        if ci_low is None or ci_high is None:
            raise InputError("give variances or both ci_low and ci_high")
        variances = np.asarray(se_from_ci(ci_low, ci_high)) ** 2
    y, v = _as_arrays(effects, variances)
    if y.size < 2:
        raise InputError(f"random-effects pooling needs at least 2 effects; got k={y.size}")
    return _pool(y, v, method)


def pool_subgroups(effects: Sequence[float], variances: Sequence[float],
                   groups: Sequence[str], *, method: Method = "reml",
                   by: str = "group") -> SubgroupResult:
    """Pool within each subgroup (own tau^2) and test the difference between subgroups.

    A subgroup with one effect keeps that effect and its own variance (tau^2 = 0).
    Q_between = sum W_g (mu_g - mu_bar)^2, W_g = 1/SE_g^2, chi^2 with G - 1 df.
    """
    y, v = _as_arrays(effects, variances)
    labels = np.asarray([str(g) for g in groups])
    if labels.size != y.size:
        raise InputError("groups must have one label per effect")
    results = {g: _pool(y[labels == g], v[labels == g], method)
               for g in sorted(set(labels.tolist()))}
    if len(results) < 2:
        raise InputError(f"subgroup pooling by {by!r} needs at least 2 subgroups; "
                         f"got {len(results)}")
    mu_g = np.array([r.estimate for r in results.values()])
    w_g = 1.0 / np.array([r.se for r in results.values()]) ** 2
    q_between = cochran_q(mu_g, 1.0 / w_g)
    df = len(results) - 1
    return SubgroupResult(by=by, groups=results, q_between=q_between, df=df,
                          p_value=float(stats.chi2.sf(q_between, df)))


# --- pooling rows of the shipped outcome table -------------------------------------------

_SIGN = {"favours_exercise": 1.0, "increase": 1.0, "favours_control": -1.0, "decrease": -1.0}
_SCALE = {"favours_exercise": "positive = favours exercise",
          "favours_control": "positive = favours exercise",
          "increase": "positive = increase with exercise",
          "decrease": "positive = increase with exercise"}


@dataclass(frozen=True)
class OutcomeMeta:
    """Pooling of the outcome-table rows for one outcome key, effects on one sign scale."""

    outcome: str
    method: str
    scale: str
    effect_measure: str
    rows: pd.DataFrame
    """Rows used: study_id, label, effect (sign-harmonised), ci_low, ci_high, se, ..."""
    excluded: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    overall: MetaResult | None = None
    subgroups: SubgroupResult | None = None

    @property
    def k(self) -> int:
        return len(self.rows)

    def to_dict(self) -> dict:
        return {
            "outcome": self.outcome, "method": self.method, "scale": self.scale,
            "effect_measure": self.effect_measure, "k": self.k,
            "rows": self.rows.to_dict(orient="records"), "excluded": self.excluded,
            "notes": self.notes,
            "overall": None if self.overall is None else self.overall.to_dict(),
            "subgroups": None if self.subgroups is None else self.subgroups.to_dict(),
        }


def outcome_keys(outcomes: pd.DataFrame) -> list[str]:
    """Outcome keys accepted by :func:`pool_outcome` (full keys and dotted prefixes)."""
    keys = set(outcomes["outcome"])
    keys |= {key.split(".")[0] for key in keys}
    return sorted(keys)


def _label(row: pd.Series) -> str:
    parts = [row["study_id"], row["outcome"].split(".", 1)[1] if "." in row["outcome"] else None,
             row["modality"], row["condition"], row["timepoint"]]
    return " | ".join(str(p) for p in parts if isinstance(p, str) and p)


def pool_outcome(outcomes: pd.DataFrame, outcome: str, *, by: str | None = None,
                 method: Method = "reml") -> OutcomeMeta:
    """Pool the rows of ``outcomes`` whose key is ``outcome`` or starts with ``outcome + "."``.

    Rows without a 95% CI or without a known sign convention are left out (and listed);
    effects are put on one scale with ``positive_means`` (positive = favours exercise, or
    positive = increase with exercise). Rows with different effect-measure families cannot be
    pooled. With fewer than 2 usable rows, ``overall`` is ``None`` and a note says so.
    """
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if by is not None and by not in GROUPING_FIELDS:
        raise InputError(f"unknown field {by!r} for --by; choose one of "
                         f"{', '.join(GROUPING_FIELDS)}")
    selected = outcomes[(outcomes["outcome"] == outcome)
                        | outcomes["outcome"].str.startswith(outcome + ".")]
    if selected.empty:
        raise InputError(f"unknown outcome {outcome!r}; available: "
                         f"{', '.join(outcome_keys(outcomes))}")
    excluded: list[str] = []
    usable = []
    for _, row in selected.iterrows():
        if pd.isna(row["ci_low"]) or pd.isna(row["ci_high"]):
            excluded.append(f"{_label(row)}: no 95% CI published (effect {row['effect']:g})")
        elif not isinstance(row["positive_means"], str):
            excluded.append(f"{_label(row)}: sign convention not stated in the source")
        else:
            usable.append(row)
    used = pd.DataFrame(usable, columns=selected.columns)
    families = {("standardised" if m in STANDARDISED else m) for m in used["effect_measure"]}
    if len(families) > 1:
        raise InputError(f"outcome {outcome!r} mixes effect measures {sorted(families)}; "
                         "choose a more specific outcome key")
    kinds = {_SCALE[p] for p in used["positive_means"]}
    if len(kinds) > 1:
        raise InputError(f"outcome {outcome!r} mixes benefit and change scales")
    sign = used["positive_means"].map(_SIGN).astype(float)
    lo, hi = used["ci_low"].astype(float) * sign, used["ci_high"].astype(float) * sign
    rows = pd.DataFrame({
        "study_id": used["study_id"], "label": [_label(r) for _, r in used.iterrows()],
        "effect": used["effect"].astype(float) * sign,
        "ci_low": np.minimum(lo, hi), "ci_high": np.maximum(lo, hi),
        "se": se_from_ci(used["ci_low"].astype(float), used["ci_high"].astype(float)),
        "effect_measure": used["effect_measure"], "level": used["level"],
        "modality": used["modality"], "species": used["species"],
        "condition": used["condition"], "timepoint": used["timepoint"],
        "n": used["n"], "url_seen": used["url_seen"],
    }).reset_index(drop=True)
    notes: list[str] = []
    scale = kinds.pop() if kinds else "positive = favours exercise"
    measure = ", ".join(sorted(set(used["effect_measure"]))) or "-"
    if len(rows) < 2:
        notes.append(f"k={len(rows)}: at least 2 effects with a 95% CI are needed to pool; "
                     "nothing pooled")
        return OutcomeMeta(outcome, method, scale, measure, rows, excluded, notes)
    if rows["study_id"].duplicated().any():
        notes.append("several rows come from the same study (arms, subgroups or stimuli): "
                     "they are not independent, so the pooled SE is too small")
    if (rows["level"] == "pooled").any():
        notes.append("rows include estimates that are themselves meta-analyses, which may "
                     "share trials; treat the pooled value as a summary of summaries")
    overall = pool(rows["effect"], rows["se"] ** 2, method=method)
    subgroups = None
    if by is not None:
        labels = rows[by].fillna("(unknown)").astype(str)
        if labels.nunique() < 2:
            notes.append(f"only one subgroup of {by!r} ({labels.iloc[0]}); no subgroup test")
        else:
            subgroups = pool_subgroups(rows["effect"], rows["se"] ** 2, labels,
                                       method=method, by=by)
    return OutcomeMeta(outcome, method, scale, measure, rows, excluded, notes, overall,
                       subgroups)
