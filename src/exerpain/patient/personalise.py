"""Personalisation: one patient's posterior, their priming mechanism and their diary ahead.

1. Fit (:mod:`exerpain.patient.inference`): NUTS, or the fast Laplace option.
2. Parameters the data inform: those whose posterior SD of the deviate is below
   :data:`INFORMED_SD` of the prior's (1), or whose posterior mean moved more than
   :data:`INFORMED_SHIFT` prior SDs; reported in their units with 90% intervals.
3. Priming mechanism: for :data:`ATTRIBUTION_DRAWS` posterior draws (and as many prior draws,
   for comparison) exact Shapley attribution of the benefit of their programme on the last
   predicted day (continued plan; the guideline programme where the diary has no session),
   in both views of the cohort engine; the probability of each mechanism is the share of
   draws it primes.
4. Predictions of the reported diary for :data:`HORIZON_DAYS` days after the diary under
   three plans: continued (the programme of the diary's last 4 weeks), changed (``change``,
   default the guideline 150 min/week programme) and stopped. Per posterior draw, the
   slow fluctuation is conditioned on the draw's diary residuals (Gaussian conditioning of
   the AR(1) + daily error process), new ratings drawn, rounded and clipped; medians and 50%
   and 90% intervals over draws.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from exerpain.errors import InputError
from exerpain.explain.priming import priming_index, priming_share
from exerpain.model.protocols import Protocol
from exerpain.model.registry import Model
from exerpain.patient.history import (
    GUIDELINE,
    PatientData,
    continued_protocol,
    patient_data,
    plan,
    plan_inputs,
)
from exerpain.patient.inference import Posterior, fit
from exerpain.patient.likelihood import ROUNDING_VAR, PatientModel
from exerpain.patient.record import PatientRecord
from exerpain.precision import float64
from exerpain.simulate.engine import CohortConfig, attribute

MIN_RATED_DAYS = 14
HORIZON_DAYS = 56
ATTRIBUTION_DRAWS = 32
ATTRIBUTION_BLOCK = 8
PREDICTION_DRAWS = 64
INFORMED_SD = 0.9
INFORMED_SHIFT = 0.5
VIEWS = {"entry": "priming_mechanism_probability",
         "pathway": "pathway_priming_mechanism_probability"}


def check_informative(data: PatientData) -> None:
    """Refuse a record too short to inform anything (it would return the prior)."""
    if len(data.pain) < MIN_RATED_DAYS:
        raise InputError(f"diary: {len(data.pain)} rated days; at least {MIN_RATED_DAYS} are "
                         "needed to inform a fit (the result would be the population prior)")


def batched(tree, n: int):
    """Every leaf of ``tree`` with a new leading axis of ``n``."""
    return jax.tree_util.tree_map(lambda x: jnp.broadcast_to(jnp.asarray(x),
                                                             (n, *jnp.shape(x))), tree)


@dataclass
class Fitted:
    """A personalised patient: the model, the posterior draws and the plans ahead."""

    pm: PatientModel
    posterior: Posterior
    plans: dict[str, Protocol | None]

    @property
    def data(self) -> PatientData:
        return self.pm.data

    def __repr__(self) -> str:
        d, post = self.pm.data, self.posterior
        plans = ", ".join(name for name, plan in self.plans.items() if plan is not None)
        return (f"Fitted({d.record.patient_id}, {d.condition.name}, {d.days} diary days: "
                f"{post.method} posterior of {len(post.draws)} draws; plans {plans or 'none'})")

    def subset(self, k: int) -> np.ndarray:
        """``k`` draws spread evenly over the posterior."""
        draws = self.posterior.draws
        return draws[np.linspace(0, len(draws) - 1, k).round().astype(int)]


@float64
def personalised_model(record: PatientRecord, condition: str, model: Model | None = None,
                       horizon: int = HORIZON_DAYS) -> PatientModel:
    data = patient_data(record, condition)
    check_informative(data)
    return PatientModel.create(data, model, extra_days=horizon + 1, extra_phases=16)


def trajectories(pm: PatientModel, thetas: np.ndarray, phases) -> tuple[np.ndarray, np.ndarray]:
    """Expected reported NRS (k, frame days) of draws ``thetas`` under ``phases`` (placebo
    from the first session, done or planned), and the failure codes."""
    first = pm.data.first_session
    if first is None and phases:
        first = phases[0].start_day
    return pm.felt(thetas, phases, first)


def predictive(pm: PatientModel, thetas: np.ndarray, expected: np.ndarray, days: np.ndarray,
               seed: int) -> np.ndarray:
    """Draws of reported ratings on ``days`` (k, len(days)): per draw, the fluctuation
    conditioned on that draw's diary residuals (module docstring)."""
    d, r = pm.data, pm.report
    obs_t, fut_t = d.pain_day, days.astype(float)
    phi = np.exp(-1.0 / r.slow_days)
    white = r.daily_sd ** 2 + ROUNDING_VAR

    def slow(a, b):
        return r.slow_sd ** 2 * phi ** np.abs(a[:, None] - b[None, :])

    s_oo = slow(obs_t, obs_t) + white * np.eye(len(obs_t))
    s_fo = slow(fut_t, obs_t)
    gain = np.linalg.solve(s_oo, s_fo.T).T
    cond = slow(fut_t, fut_t) - gain @ s_fo.T + white * np.eye(len(fut_t))
    chol = np.linalg.cholesky(cond + 1e-9 * np.eye(len(fut_t)))
    rng = np.random.default_rng([seed, 3])
    out = np.empty((len(thetas), len(fut_t)))
    for i in range(len(thetas)):
        resid = d.pain - expected[i, d.pain_day.astype(int)]
        mean = expected[i, days] + gain @ resid
        out[i] = mean + chol @ rng.standard_normal(len(fut_t))
    return np.rint(np.clip(out, 0.0, 10.0))


def _bands(values: np.ndarray, days: np.ndarray, start: dt.date) -> list[dict]:
    q = np.percentile(values, [5, 25, 50, 75, 95], axis=0)
    return [{"day": int(day), "date": (start + dt.timedelta(days=int(day))).isoformat(),
             "median": float(q[2, j]), "lower50": float(q[1, j]), "upper50": float(q[3, j]),
             "lower90": float(q[0, j]), "upper90": float(q[4, j])}
            for j, day in enumerate(days)]


@float64
def priming_probability(pm: PatientModel, thetas: np.ndarray, phases, seed: int,
                        pathway: bool = True) -> tuple[dict[str, dict[str, float]], int]:
    """Per view, ``{mechanism or "none": probability}`` over draws ``thetas``, and the
    number of draws whose solve failed (excluded). Solved in blocks of
    :data:`ATTRIBUTION_BLOCK` draws (the last one padded), so every call shares one
    compiled solver. ``pathway``: the pathway view too (about 3 times the work)."""
    inputs, jumps = plan_inputs(pm.model, pm.fr, phases)
    t_split = min(p.start_day for p in phases)
    config = CohortConfig(condition=pm.data.condition.name, protocol="sedentary", n=1,
                          seed=seed, pathway=pathway)
    index: dict[str, list] = {}
    failed = 0
    for first in range(0, len(thetas), ATTRIBUTION_BLOCK):
        block = thetas[first:first + ATTRIBUTION_BLOCK]
        padded = np.concatenate([block, np.repeat(block[:1], ATTRIBUTION_BLOCK - len(block),
                                                  axis=0)])
        batch = batched(inputs, ATTRIBUTION_BLOCK)._replace(
            params=pm.params_batch(padded[:, :-1]))
        players, phi, codes = attribute(pm.model, batch, pm.fr.t0, jumps, t_split,
                                        float(pm.fr.days - 1), pm.fr.steady, config)
        ok = codes[:len(block)] == 0
        failed += int((~ok).sum())
        for view, values in phi.items():
            index.setdefault(view, []).append(priming_index(values[:len(block)][ok]))
    return {view: priming_share(np.concatenate(parts), players)
            for view, parts in index.items()}, failed


def informed_parameters(pm: PatientModel, posterior: Posterior) -> list[dict]:
    """Parameters the data inform (module docstring), in their units, with 90% intervals."""
    table = {(g, p.name): p for g, p in pm.model.parameter_table()}
    draws = posterior.draws
    mean, sd = draws.mean(axis=0), draws.std(axis=0)
    picked = [i for i in range(pm.n_z) if sd[i] < INFORMED_SD or abs(mean[i]) > INFORMED_SHIFT]
    if not picked:
        return []
    batch = pm.params_batch(draws[:, :-1])
    nominal = pm.params(np.zeros(pm.n_z))
    keys = [pm.varied[i] for i in picked]
    values = np.stack([np.asarray(batch[g][n]) for g, n in keys], axis=1)
    prior = np.array([float(nominal[g][n]) for g, n in keys])
    rows = []
    for j, i in enumerate(picked):
        g, n = pm.varied[i]
        lo, med, hi = np.percentile(values[:, j], [5, 50, 95])
        rows.append({"parameter": f"{g}.{n}", "unit": table[(g, n)].unit,
                     "prior_median": float(prior[j]), "posterior_median": float(med),
                     "posterior_ci90": [float(lo), float(hi)],
                     "deviate_mean": float(mean[i]), "deviate_sd": float(sd[i])})
    return sorted(rows, key=lambda r: r["deviate_sd"])


@float64
def personalise(record: PatientRecord, condition: str, method: str = "nuts", seed: int = 0,
                change: Protocol | None = None, model: Model | None = None,
                horizon: int = HORIZON_DAYS, attribution: int = ATTRIBUTION_DRAWS,
                pathway: bool = True,
                progress: Callable[[int, int, str], None] | None = None
                ) -> tuple[dict, Fitted]:
    """The personalisation summary (JSON-ready) and the fitted patient. ``attribution``:
    posterior (and prior) draws attributed for the priming mechanism; 0 skips it.
    ``pathway``: the pathway view beside the entry view. ``progress(done, total, label)``
    is called before each stage (fit, predictions, attribution) and at the end."""
    started = time.perf_counter()
    total = 4 if attribution else 2

    def report(done: int, label: str) -> None:
        if progress is not None:
            progress(done, total, label)

    report(0, f"fit ({method})")
    pm = personalised_model(record, condition, model, horizon)
    posterior = fit(pm, method, seed)
    report(1, "predictions")
    d = pm.data
    future = {"continued": continued_protocol(record), "changed": change or GUIDELINE,
              "stopped": None}
    fitted = Fitted(pm, posterior, future)
    thetas = fitted.subset(PREDICTION_DRAWS)
    ahead = np.arange(d.days, d.days + horizon)
    prediction, failed = {}, {}
    for name, protocol in future.items():
        phases = plan(d, protocol, float(d.days + horizon))
        expected, codes = trajectories(pm, thetas, phases)
        ok = codes == 0
        failed[name] = int((~ok).sum())
        values = predictive(pm, thetas[ok], expected[ok], ahead, seed)
        prediction[name] = _bands(values, ahead, record.start)
    summary = {
        "patient_id": record.patient_id, "condition": condition, "method": method,
        "seed": seed, "diary_days": d.days, "rated_days": int(len(d.pain)),
        "sessions": int(sum(1 for x in record.diary if x.minutes > 0)),
        "informative_lab_changes": d.informative_labs,
        "diagnostics": posterior.diagnostics,
        "fit_runtime_s": posterior.runtime_s,
        "placebo_fraction": _quantiles(pm.report.placebo_mean
                                       + pm.report.placebo_sd * posterior.draws[:, -1]),
        "informed_parameters": informed_parameters(pm, posterior),
        "plans": {name: (p.model_dump(include={"modality", "intensity",
                                                "minutes_per_session", "sessions_per_week"})
                         if p is not None else None) for name, p in future.items()},
        "prediction": prediction, "failed_draws": failed,
    }
    if attribution:
        primed = future["continued"] or GUIDELINE
        phases = plan(d, primed, float(d.days + horizon))
        rng = np.random.default_rng([seed, 5])
        prior = rng.standard_normal((attribution, pm.n_z + 1))
        report(2, "priming mechanism (posterior)")
        post, post_failed = priming_probability(pm, fitted.subset(attribution), phases, seed,
                                                pathway)
        report(3, "priming mechanism (prior)")
        before, _ = priming_probability(pm, prior, phases, seed, pathway)
        for view, key in VIEWS.items():
            if view in post:
                summary[key] = post[view]
                summary[f"prior_{key}"] = before[view]
        summary["priming"] = {
            "plan": "continued" if future["continued"] else "guideline",
            "draws": attribution, "failed_draws": post_failed,
            "scale": "NRS benefit on the last predicted day",
        }
    summary["runtime_s"] = time.perf_counter() - started
    report(total, "done")
    return summary, fitted


def _quantiles(x: np.ndarray) -> dict:
    lo, med, hi = np.percentile(x, [5, 50, 95])
    return {"median": float(med), "ci90": [float(lo), float(hi)]}
