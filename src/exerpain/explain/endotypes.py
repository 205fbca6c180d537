"""Endotypes: groups of subjects with the same mechanism profile.

The profile of a subject is its Shapley vector normalised by the sum of absolute values
(so it describes *which* mechanisms carry the response, not how large it is). Profiles are
clustered with k-means (scikit-learn, k-means++ initialisation, 10 restarts, seeded); the
number of groups is chosen from 2..``max_k`` by the mean silhouette coefficient
(Rousseeuw 1987, doi:10.1016/0377-0427(87)90125-7), computed on up to 4,000 subjects, and
reported as the quality score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

SILHOUETTE_SAMPLE = 4000


@dataclass(frozen=True)
class Endotypes:
    labels: np.ndarray  # (n,) endotype per subject (-1 where the profile is undefined)
    k: int
    silhouette: float
    sizes: dict[int, int]
    profiles: dict[int, dict[str, float]]  # mean normalised attribution per endotype


def normalised_profiles(phi: np.ndarray) -> np.ndarray:
    total = np.abs(phi).sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, phi / total, np.nan)


def find_endotypes(phi: np.ndarray, players: tuple[str, ...], seed: int = 0,
                   max_k: int = 6) -> Endotypes:
    profiles = normalised_profiles(phi)
    valid = np.all(np.isfinite(profiles), axis=1)
    labels = np.full(len(phi), -1)
    x = profiles[valid]
    if len(x) < 3:
        return Endotypes(labels, 0, float("nan"), {}, {})
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(x), size=min(len(x), SILHOUETTE_SAMPLE), replace=False)
    best = None
    for k in range(2, min(max_k, len(np.unique(x.round(12), axis=0)) - 1) + 1):
        # scikit-learn takes seeds below 2**32 only; a cohort's seed may be up to 2**63 - 1
        km = KMeans(n_clusters=k, n_init=10, random_state=seed % 2**32).fit(x)
        if len(np.unique(km.labels_[sample])) < 2:
            continue
        score = float(silhouette_score(x[sample], km.labels_[sample]))
        if best is None or score > best[0]:
            best = (score, k, km)
    if best is None:
        labels[valid] = 0
        return Endotypes(labels, 1, float("nan"), {0: int(valid.sum())},
                         {0: dict(zip(players, x.mean(axis=0).tolist(), strict=True))})
    score, k, km = best
    # order endotypes by size (0 = largest) for stable reporting
    order = np.argsort(-np.bincount(km.labels_, minlength=k), kind="stable")
    relabel = np.empty(k, dtype=int)
    relabel[order] = np.arange(k)
    labels[valid] = relabel[km.labels_]
    sizes = {int(e): int((labels == e).sum()) for e in range(k)}
    profiles_by = {int(e): dict(zip(players, x[labels[valid] == e].mean(axis=0).tolist(),
                                    strict=True)) for e in range(k)}
    return Endotypes(labels, k, score, sizes, profiles_by)
