"""Which parameters the evidence constrains: posterior-to-prior ratios from the Laplace fit.

For each free parameter, the ratio of its Laplace posterior SD to its prior SD (logit scale)
says how much the fitted findings narrowed it: near 1, the evidence says nothing and the
value rests on its prior (the declared assumption); well below 1, the evidence pins it down.
Strongly correlated pairs (|rho| >= ``RIDGE``) are ridges: the evidence constrains a
combination (typically a product or ratio), not each one.
"""

from __future__ import annotations

import numpy as np

CLASSES = ((0.5, "constrained"), (0.9, "weakly constrained"), (np.inf, "not constrained"))
RIDGE = 0.9


def classify(sd_ratio: float) -> str:
    """``constrained`` (ratio < 0.5), ``weakly constrained`` (< 0.9) or ``not constrained``."""
    return next(label for bound, label in CLASSES if sd_ratio < bound)


def ridges(names: tuple[str, ...], cov: np.ndarray, top: int = 20) -> list[dict]:
    """The most correlated parameter pairs of the posterior (|rho| >= ``RIDGE``)."""
    sd = np.sqrt(np.diag(cov))
    rho = cov / np.outer(sd, sd)
    i, j = np.triu_indices(len(names), k=1)
    keep = np.abs(rho[i, j]) >= RIDGE
    pairs = sorted(zip(i[keep], j[keep], rho[i, j][keep], strict=True),
                   key=lambda x: -abs(x[2]))[:top]
    return [{"a": names[a], "b": names[b], "correlation": float(r)} for a, b, r in pairs]


def summary(names: tuple[str, ...], sd_ratio: np.ndarray) -> dict[str, list[str]]:
    """Parameter names by class, most constrained first."""
    out: dict[str, list[str]] = {label: [] for _, label in CLASSES}
    for k in np.argsort(sd_ratio):
        out[classify(float(sd_ratio[k]))].append(names[k])
    return out
