"""Sample size: the number per arm that gives a target power, with its Monte Carlo
uncertainty.

The power of the primary comparison is estimated by replicate virtual trials at a sequence
of sizes: doubling from ``START_PER_ARM`` until the target is passed, then bisection
between the last two sizes. A probit curve in ``sqrt(n)``, ``power = Phi(a + b sqrt(n))``
(the form of the normal-approximation power of a two-sample comparison), is fitted to every
evaluated size by binomial maximum likelihood (statsmodels GLM); ``n`` at the target power is
read from it, and its 95% interval comes from the fitted coefficients' covariance (delta
method). ``n`` per arm counts the control arm; other arms follow their allocation weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import statsmodels.api as sm
from scipy.stats import norm

from exerpain.design.results import power_of
from exerpain.design.spec import MAX_N, TrialDesign
from exerpain.errors import InputError

START_PER_ARM = 10
BISECTIONS = 3


def check_power(target: object) -> None:
    """Raise :class:`InputError` unless ``target`` is a power strictly between 0 and 1."""
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not (
            0.0 < target < 1.0):
        raise InputError(f"power: must be between 0 and 1 (exclusive), got {target!r}")


def total_for(design: TrialDesign, per_arm: int) -> int:
    """Patients randomised over all arms for ``per_arm`` in the control arm."""
    weights = [a.weight for a in design.arms]
    return max(len(weights), math.ceil(per_arm * sum(weights) / design.control.weight))


def find_n(design: TrialDesign, target: float, evaluate: Callable[[TrialDesign], list[float]],
           progress: Callable[[int, float], None] | None = None) -> dict:
    """``n_per_arm`` giving power ``target``. ``evaluate(design)`` returns the primary
    comparison's p values over replicate trials."""
    check_power(target)
    if design.control.weight <= 0:
        raise InputError("power: the control arm needs a positive allocation weight")
    alpha = design.analysis.alpha
    points: dict[int, tuple[float, int]] = {}

    def at(per_arm: int) -> float:
        total = total_for(design, per_arm)
        if total > MAX_N:
            raise InputError(f"power: {target:g} is not reached below {MAX_N} patients "
                             f"(power {max(v[0] for v in points.values()):.2f} at the "
                             "largest size tried)")
        p_values = evaluate(design.with_n(total))
        power = power_of(p_values, alpha)["power"]
        points[per_arm] = (power, len(p_values))
        if progress:
            progress(per_arm, power)
        return power

    low, high = None, START_PER_ARM
    while at(high) < target:
        low, high = high, high * 2
    low = low or max(2, START_PER_ARM // 2)
    for _ in range(BISECTIONS):
        if high - low <= 1:
            break
        mid = (low + high) // 2
        if at(mid) < target:
            low = mid
        else:
            high = mid
    return {"target_power": target, "n_per_arm": _fitted_n(points, target, high),
            "evaluated": [{"n_per_arm": n, "power": p, "replicates": r}
                          for n, (p, r) in sorted(points.items())]}


def _fitted_n(points: dict[int, tuple[float, int]], target: float, bracket: int) -> dict:
    """``n`` at ``target`` from the probit fit (the bracketing size where the fit fails)."""
    ns = np.array(sorted(points), dtype=float)
    power = np.array([points[int(n)][0] for n in ns])
    reps = np.array([points[int(n)][1] for n in ns])
    hits = np.round(power * reps)
    fallback = {"estimate": int(bracket), "ci95": [None, None], "method": "bracket"}
    if len(ns) < 2 or np.all(hits == 0) or np.all(hits == reps):
        return fallback
    X = sm.add_constant(np.sqrt(ns))
    try:
        fit = sm.GLM(np.column_stack([hits, reps - hits]), X,
                     family=sm.families.Binomial(sm.families.links.Probit())).fit()
    except Exception:  # noqa: BLE001 (perfect separation and the like: keep the bracket)
        return fallback
    a, b = fit.params
    if not b > 0:
        return fallback
    z = norm.ppf(target)
    root = (z - a) / b
    grad = np.array([-1.0 / b, -(z - a) / b ** 2]) * 2 * root  # d(root^2)/d(a, b)
    se = float(np.sqrt(grad @ fit.cov_params() @ grad))
    n = root ** 2
    return {"estimate": int(math.ceil(n)), "ci95": [max(2, int(math.floor(n - 1.96 * se))),
                                                    int(math.ceil(n + 1.96 * se))],
            "method": "probit fit in sqrt(n)"}
