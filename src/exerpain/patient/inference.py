"""Posterior of one patient's unknowns: NUTS through the diffrax solve (numpyro), or a fast
Laplace approximation checked and corrected by importance sampling.

- ``nuts``: numpyro's NUTS on ``theta = (z, u)`` (:mod:`exerpain.patient.likelihood`),
  :data:`NUTS_CHAINS` chains run side by side (``vectorized``), gradients through the solve.
  Converged when split R-hat <= :data:`MAX_RHAT` and bulk effective sample size >=
  :data:`MIN_ESS` for every unknown, and divergent transitions <= :data:`MAX_DIVERGENT`.
- ``laplace``: the posterior mode (scipy's BFGS on the compiled value and gradient), the
  Hessian by central differences of the exact gradient, draws from a Student-t
  (:data:`PROPOSAL_DF` degrees of freedom) with that mode and the inverse Hessian as scale,
  then Pareto-smoothed importance weights against the exact posterior (arviz ``psislw``;
  Vehtari et al. 2024, JMLR 25:72) and resampling. Converged when no gradient component at
  the mode exceeds :data:`MODE_GTOL`, the Hessian is positive definite and the Pareto shape
  k <= :data:`MAX_PARETO_K`; otherwise use NUTS.

A fit that does not converge raises :class:`NotConvergedError` with its diagnostics: it is
reported, never returned as a result.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from exerpain.patient.likelihood import PatientModel
from exerpain.precision import float64

NUTS_CHAINS = 2
NUTS_WARMUP = 250
NUTS_SAMPLES = 250
NUTS_MAX_TREE_DEPTH = 6
MAX_RHAT = 1.05
MIN_ESS = 50.0
MAX_DIVERGENT = 0.01  # fraction of post-warmup transitions
LAPLACE_DRAWS = 1000
PROPOSAL_DF = 10.0  # degrees of freedom of the importance proposal
HESSIAN_STEP = 1e-3
MODE_GTOL = 1e-5  # largest gradient component (log posterior per unit z) at the mode
MAX_PARETO_K = 0.7
METHODS = ("nuts", "laplace")


class NotConvergedError(RuntimeError):
    """Inference that did not converge; ``diagnostics`` says how."""

    def __init__(self, message: str, diagnostics: dict):
        super().__init__(message)
        self.diagnostics = diagnostics


@dataclass
class Posterior:
    """Draws of ``theta = (z, u)`` (n_draws, n_z + 1), equally weighted."""

    method: str
    draws: np.ndarray
    diagnostics: dict
    runtime_s: float
    extra: dict = field(default_factory=dict)


@float64
def fit_laplace(pm: PatientModel, seed: int, draws: int = LAPLACE_DRAWS) -> Posterior:
    """Laplace approximation with importance-sampling check (module docstring)."""
    started = time.perf_counter()
    vg = pm.value_and_grad
    dim = pm.n_z + 1

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = vg(jnp.asarray(theta))
        value = float(value)
        if not np.isfinite(value):  # a failed solve: a wall, not a direction
            return np.inf, np.zeros(dim)
        return -value, -np.asarray(grad)

    # scipy's BFGS on the host over the compiled value and gradient that the Hessian below
    # uses too: one compile instead of two (optimistix compiled its whole loop again, about
    # 70 s of the 290 s of a fit on 2 CPU cores)
    sol = scipy.optimize.minimize(loss, np.zeros(dim), jac=True, method="BFGS",
                                  options={"gtol": MODE_GTOL, "maxiter": 400})
    mode = np.asarray(sol.x)
    value, grad = vg(jnp.asarray(mode))
    step = np.eye(dim) * HESSIAN_STEP
    hessian = np.stack([(np.asarray(vg(jnp.asarray(mode - step[i]))[1])
                         - np.asarray(vg(jnp.asarray(mode + step[i]))[1])) / (2 * HESSIAN_STEP)
                        for i in range(dim)])
    hessian = 0.5 * (hessian + hessian.T)
    eig = np.linalg.eigvalsh(hessian) if np.all(np.isfinite(hessian)) else np.array([np.nan])
    diagnostics = {
        "optimiser": "scipy BFGS",
        # scipy may stop on "precision loss" at a mode it cannot improve: the gradient decides
        "optimiser_success": bool(np.max(np.abs(np.asarray(grad))) <= MODE_GTOL),
        "optimiser_message": str(sol.message),
        "optimiser_steps": int(sol.nit),
        "gradient_norm_at_mode": float(np.linalg.norm(np.asarray(grad))),
        "log_posterior_at_mode": float(value),
        "hessian_min_eigenvalue": float(np.nanmin(eig)) if np.isfinite(eig).any() else None,
    }
    if not diagnostics["optimiser_success"] or not np.isfinite(value) or not (
            np.isfinite(eig).all() and eig.min() > 0):
        raise NotConvergedError("laplace: the posterior mode was not found or is not a local "
                           "maximum (see diagnostics); try --method nuts", diagnostics)
    covariance = np.linalg.inv(hessian)
    rng = np.random.default_rng([seed, 7])
    chol = np.linalg.cholesky(covariance)
    # a multivariate Student-t around the mode: heavier tails than the posterior keep the
    # importance weights bounded (with a Gaussian proposal Pareto k exceeded 0.7 for 4 of
    # 19 synthetic patients)
    scale = np.sqrt(PROPOSAL_DF / rng.chisquare(PROPOSAL_DF, size=(draws, 1)))
    proposal = mode + scale * rng.standard_normal((draws, dim)) @ chol.T
    mahalanobis = np.sum(np.linalg.solve(chol, (proposal - mode).T) ** 2, axis=0)
    log_q = -0.5 * (PROPOSAL_DF + dim) * np.log1p(mahalanobis / PROPOSAL_DF)
    log_p = pm.log_posterior_batch(proposal)
    log_w = np.where(np.isfinite(log_p), log_p - log_q, -np.inf)
    finite = np.isfinite(log_w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import arviz

        smoothed, k = arviz.psislw(log_w[finite] - log_w[finite].max())
    weights = np.exp(smoothed - smoothed.max())
    weights /= weights.sum()
    ess = float(1.0 / np.sum(weights ** 2))
    diagnostics.update({"importance_draws": draws, "failed_draws": int((~finite).sum()),
                        "pareto_k": float(k), "importance_ess": ess})
    if not k <= MAX_PARETO_K:
        raise NotConvergedError(f"laplace: the Gaussian approximation is poor (Pareto k {k:.2f} > "
                           f"{MAX_PARETO_K}); use --method nuts", diagnostics)
    picked = rng.choice(int(finite.sum()), size=draws, p=weights)
    diagnostics["converged"] = True
    return Posterior("laplace", proposal[finite][picked], diagnostics,
                     time.perf_counter() - started,
                     {"mode": mode, "covariance": covariance})


@float64
def fit_nuts(pm: PatientModel, seed: int, warmup: int = NUTS_WARMUP,
             samples: int = NUTS_SAMPLES, chains: int = NUTS_CHAINS) -> Posterior:
    """NUTS (numpyro) through the solve (module docstring)."""
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS

    started = time.perf_counter()
    dim = pm.n_z + 1

    def model():
        theta = numpyro.sample("theta", dist.Normal(0.0, 1.0).expand([dim]).to_event(1))
        numpyro.factor("data", pm.log_posterior(theta) + 0.5 * jnp.sum(theta ** 2))

    kernel = NUTS(model, max_tree_depth=NUTS_MAX_TREE_DEPTH, target_accept_prob=0.9)
    mcmc = MCMC(kernel, num_warmup=warmup, num_samples=samples, num_chains=chains,
                chain_method="vectorized", progress_bar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mcmc.run(jax.random.key(seed), extra_fields=("diverging", "num_steps"))
    theta = np.asarray(mcmc.get_samples(group_by_chain=True)["theta"])
    extra = mcmc.get_extra_fields(group_by_chain=True)
    diagnostics = {"warmup": warmup, **diagnose(theta, np.asarray(extra["diverging"])),
                   "mean_leapfrog_steps": float(np.asarray(extra["num_steps"]).mean())}
    if not diagnostics["converged"]:
        raise NotConvergedError(
            f"nuts: not converged (max R-hat {diagnostics['max_rhat']}, min ESS "
            f"{diagnostics['min_ess']:.0f}, {diagnostics['divergent']} divergent); limits: "
            f"R-hat <= {MAX_RHAT}, ESS >= {MIN_ESS:g}, divergent <= {MAX_DIVERGENT:.0%}",
            diagnostics)
    return Posterior("nuts", theta.reshape(-1, dim), diagnostics,
                     time.perf_counter() - started)


def diagnose(theta: np.ndarray, diverging: np.ndarray) -> dict:
    """Convergence of chains ``theta`` (chains, draws, dim) with divergence flags
    (chains, draws): numpyro's split R-hat and effective sample size (module docstring)."""
    from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

    chains, samples, dim = theta.shape
    rhat = np.asarray(split_gelman_rubin(theta)) if chains > 1 else np.full(dim, np.nan)
    ess = np.asarray(effective_sample_size(theta))
    divergent = int(np.asarray(diverging).sum())
    out = {"chains": chains, "samples_per_chain": samples,
           "max_rhat": float(np.nanmax(rhat)) if chains > 1 else None,
           "min_ess": float(np.min(ess)), "divergent": divergent,
           "divergent_fraction": divergent / (chains * samples)}
    out["converged"] = bool((chains == 1 or np.all(rhat <= MAX_RHAT))
                            and np.min(ess) >= MIN_ESS
                            and out["divergent_fraction"] <= MAX_DIVERGENT)
    return out


def fit(pm: PatientModel, method: str, seed: int) -> Posterior:
    return {"nuts": fit_nuts, "laplace": fit_laplace}[method](pm, seed)
