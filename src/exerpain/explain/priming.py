"""The priming mechanism: per subject, the player with the largest positive Shapley value;
per cohort, the share of subjects each mechanism primes, with a 95% interval.

Labels: a mechanism's name, ``"none"`` where no mechanism carries a positive share, ``"n/a"``
where the subject was not attributed (attribution off, or its solve failed).

Interval (:func:`share_interval`): percentile bootstrap over subjects,
:data:`BOOTSTRAP_RESAMPLES` resamples with a fixed seed (the cohort's). Resampling ``n``
subjects with replacement and counting their labels is the same as drawing the counts from
``Multinomial(n, observed shares)``, which is how it is computed (memory O(resamples x
mechanisms), independent of ``n``).

Parameter uncertainty: :func:`share_interval` takes the priming indices of subjects under
several parameter draws (``indices_by_draw``); each resample first picks a draw uniformly,
then draws a cohort of the full size from that draw's priming shares, so the interval carries
both sources. The cohort engine gives each subject one draw from the shipped calibration's
posterior (subject ``i`` gets draw ``i mod K``, :func:`exerpain.model.calibrated.
posterior_draws`), so the draws hold disjoint groups of about ``n / K`` subjects; each group's
shares estimate that draw's population shares, and their own sampling noise makes the
interval somewhat conservative.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NONE = -1  # no mechanism carries a positive share
NOT_ATTRIBUTED = -2  # attribution off, or the subject's solve failed
BOOTSTRAP_RESAMPLES = 2000
INTERVAL_LEVEL = 0.95


def priming_index(phi: np.ndarray) -> np.ndarray:
    """(n,) index of each subject's priming player in ``phi`` (n, M), or :data:`NONE` /
    :data:`NOT_ATTRIBUTED`."""
    phi = np.asarray(phi, dtype=float)
    n, m = phi.shape
    if m == 0:
        return np.full(n, NONE)
    finite = np.isfinite(phi).all(axis=1)
    best = np.argmax(np.where(np.isfinite(phi), phi, -np.inf), axis=1)
    top = phi[np.arange(n), best]
    return np.where(~finite, NOT_ATTRIBUTED, np.where(top > 0, best, NONE))


def priming_labels(index: np.ndarray, players: Sequence[str]) -> np.ndarray:
    """Object array of labels (mechanism, ``"none"``, ``"n/a"``) of :func:`priming_index`."""
    names = np.array([*players, "none", "n/a"], dtype=object)
    position = np.where(index == NONE, len(players),
                        np.where(index == NOT_ATTRIBUTED, len(players) + 1, index))
    return names[position]


def _counts(index: np.ndarray, n_players: int) -> np.ndarray:
    """Counts per player and ``none`` (length ``n_players + 1``) of attributed subjects."""
    attributed = index[index != NOT_ATTRIBUTED]
    return np.bincount(np.where(attributed == NONE, n_players, attributed),
                       minlength=n_players + 1)


def priming_share(index: np.ndarray, players: Sequence[str]) -> dict[str, float]:
    """``{mechanism or "none": fraction of attributed subjects}`` (NaN if there are none)."""
    counts = _counts(np.asarray(index), len(players))
    total = counts.sum()
    shares = counts / total if total else np.full(len(counts), np.nan)
    return dict(zip([*players, "none"], shares.tolist(), strict=True))


def share_interval(indices_by_draw: Sequence[np.ndarray], players: Sequence[str], seed: int,
                   resamples: int = BOOTSTRAP_RESAMPLES,
                   level: float = INTERVAL_LEVEL) -> dict[str, list[float]]:
    """``{mechanism or "none": [low, high]}``: percentile interval of the priming share.

    ``indices_by_draw``: one :func:`priming_index` array per parameter draw (see the module
    docstring); one array = bootstrap over subjects only. Each resample is a cohort of all the
    attributed subjects.
    """
    keys = [*players, "none"]
    counts = np.array([_counts(np.asarray(i), len(players)) for i in indices_by_draw]
                      ).reshape(-1, len(keys))
    totals = counts.sum(axis=1)
    if not len(counts) or not totals.all():  # no draw, or a draw with no subject attributed
        return {k: [float("nan"), float("nan")] for k in keys}
    rng = np.random.default_rng(seed)
    per_draw = np.bincount(rng.integers(len(counts), size=resamples), minlength=len(counts))
    size = int(totals.sum())
    shares = np.concatenate([rng.multinomial(size, counts[d] / totals[d], size=k) / size
                             for d, k in enumerate(per_draw) if k])
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(shares, [tail, 100 - tail], axis=0)
    return {k: [float(lo), float(hi)] for k, lo, hi in zip(keys, low, high, strict=True)}
