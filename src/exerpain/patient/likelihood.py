"""The patient's model: parameters as a function of standard-normal deviates (the population
model is the prior), the solve, and the log-likelihood of the diary and the labs.

Unknowns: ``z`` (one deviate per varied parameter of :mod:`exerpain.population.sampling`,
standard normal a priori; parameters = nominal x exp(sigma x z) x covariate and genotype
modifiers, clipped to their ranges) and ``u`` (the placebo response, ``p = mean + sd u``).

Diary: reported NRS = true NRS x (1 - p x onset(t)) + slow + daily, as the virtual trials
generate it (:mod:`exerpain.design.reporting`; onset from the first session). The slow
AR(1) fluctuation and the daily error make the residuals multivariate normal with
covariance ``s^2 phi^|t_i - t_j| + (d^2 + 1/12) I`` over the rated days (missing days and
irregular sampling need nothing special; 1/12: integer rounding). Clipping at 0 and 10 is
not modelled.

Labs: ``log y = log c_marker + log state(t) + e``, ``e ~ N(0, cv^2)`` (``readout.
biomarker_noise_cv``), with the marker's scale ``c`` unknown (flat prior, integrated out): only
changes within a marker inform the fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import jax
import jax.numpy as jnp
import numpy as np

from exerpain.design.reporting import Reporting
from exerpain.model.registry import Model
from exerpain.patient.history import Frame, PatientData, frame, plan_inputs
from exerpain.population.sampling import params_from_normals, varied_parameters
from exerpain.simulate.solve import initial_state, integrate_run, observer

FIT_RTOL = 1e-5
FIT_ATOL = 1e-7
ROUNDING_VAR = 1.0 / 12.0


def reporting() -> Reporting:
    """The diary noise and placebo settings of the virtual trials (shipped fit)."""
    return Reporting.from_values(Model.default().default_params()["readout"]["nrs_noise_sd"])


@dataclass(frozen=True)
class PatientModel:
    """Everything needed to evaluate a patient's likelihood and to simulate them."""

    model: Model
    data: PatientData
    fr: Frame

    @classmethod
    def create(cls, data: PatientData, model: Model | None = None, extra_days: int = 0,
               extra_phases: int = 1) -> PatientModel:
        model = model or Model.default()
        pm = cls(model, data, frame(model, data.condition, data.days + extra_days,
                                    len(data.history) + extra_phases))
        pm.history_inputs, pm.diary_precision  # noqa: B018  (built outside any trace)
        return pm

    @cached_property
    def varied(self) -> tuple[tuple[str, str], ...]:
        return varied_parameters(self.model, "human")

    @property
    def n_z(self) -> int:
        return len(self.varied)

    @cached_property
    def base(self) -> dict:
        return self.data.condition.apply(self.model.default_params())

    @cached_property
    def report(self) -> Reporting:
        return reporting()

    def params(self, z: jax.Array) -> dict:
        """Solver parameters (scalars) of deviates ``z`` (n_z,)."""
        cov = {k: jnp.asarray([v]) for k, v in self.data.covariates.items()}
        p = params_from_normals(self.model, self.data.condition, self.base, z[None, :], cov,
                                jnp.asarray(self.data.genotypes)[None, :])
        return jax.tree_util.tree_map(lambda x: x[0], p)

    def placebo(self, u: jax.Array) -> jax.Array:
        return self.report.placebo_mean + self.report.placebo_sd * u

    def solve(self, z: jax.Array, inputs, jumps) -> tuple[jax.Array, dict, jax.Array]:
        """Daily states (days, n_states), observables and failure code of one plan."""
        t0 = jnp.asarray(self.fr.t0)
        params = self.params(z)
        # Where the steady start cannot be found, the implicit gradient of the root would
        # solve a linear system with non-finite entries (lineax raises): check the root
        # without gradient first, and solve such a draw with the nominal parameters
        # instead (its failure code still marks it failed: log-likelihood -inf).
        _, code0 = initial_state(self.model, jax.lax.stop_gradient(
            inputs._replace(params=params)), t0, self.fr.steady, fallback=False)
        nominal = self.params(jnp.zeros_like(z))
        params = jax.tree_util.tree_map(lambda a, b: jnp.where(code0 == 0, a, b), params,
                                        nominal)
        inp = inputs._replace(params=params)
        ts = jnp.arange(self.fr.days, dtype=float)
        y0, code_root = initial_state(self.model, inp, t0, self.fr.steady, fallback=False)
        code0 = jnp.maximum(code0, code_root)
        ys, code = integrate_run(self.model, inp, y0, t0,
                                 jnp.asarray(jumps), ts, FIT_RTOL, FIT_ATOL)
        obs = jax.vmap(observer(self.model, "human"), in_axes=(0, 0, None))(ts, ys, inp)
        return ys, obs, jnp.maximum(code, code0)

    def felt(self, nrs: jax.Array, u: jax.Array, first_session: float | None) -> jax.Array:
        """Expected reported NRS on days 0.. (placebo from the first session)."""
        if first_session is None:
            return nrs
        day = jnp.arange(nrs.shape[-1], dtype=float) - first_session
        onset = jnp.where(day >= 0, -jnp.expm1(-jnp.maximum(day, 0.0)
                                               / self.report.placebo_onset_days), 0.0)
        return nrs * (1.0 - self.placebo(u) * onset)

    @cached_property
    def history_inputs(self):
        return plan_inputs(self.model, self.fr, self.data.history)

    @cached_property
    def diary_precision(self) -> np.ndarray:
        """Inverse covariance of the rated days' residuals and its log-determinant."""
        r = self.report
        t = self.data.pain_day
        phi = np.exp(-1.0 / r.slow_days)
        cov = (r.slow_sd ** 2 * phi ** np.abs(t[:, None] - t[None, :])
               + (r.daily_sd ** 2 + ROUNDING_VAR) * np.eye(len(t)))
        return np.linalg.inv(cov), float(np.linalg.slogdet(cov)[1])

    def log_likelihood(self, z: jax.Array, u: jax.Array) -> jax.Array:
        """Log-likelihood of the diary and labs (-inf where the solve fails)."""
        inputs, jumps = self.history_inputs
        ys, obs, code = self.solve(z, inputs, jumps)
        d = self.data
        expected = self.felt(obs["nrs"], u, d.first_session)
        precision, logdet = self.diary_precision
        resid = jnp.asarray(d.pain) - expected[d.pain_day.astype(int)]
        ll = -0.5 * (resid @ jnp.asarray(precision) @ resid + logdet
                     + len(resid) * np.log(2 * np.pi))
        if len(d.lab_day):
            names = self.model.state_names
            state = ys[d.lab_day.astype(int), [names.index(s) for s in d.lab_state]]
            r = jnp.asarray(d.lab_log) - jnp.log(jnp.maximum(state, 1e-12))
            cv = self.base["readout"]["biomarker_noise_cv"]
            groups = jnp.asarray(d.lab_marker)
            n_marker = int(d.lab_marker.max()) + 1
            counts = jnp.bincount(groups, length=n_marker)
            means = jnp.bincount(groups, weights=r, length=n_marker) / counts
            centred = r - means[groups]
            ll = ll - 0.5 * jnp.sum(centred ** 2) / cv ** 2 - (
                len(r) - n_marker) * jnp.log(cv)
        return jnp.where(code == 0, ll, -jnp.inf)

    def log_posterior(self, theta: jax.Array) -> jax.Array:
        """Unnormalised log posterior of ``theta = (z, u)`` (standard-normal priors)."""
        z, u = theta[:-1], theta[-1]
        return self.log_likelihood(z, u) - 0.5 * jnp.sum(theta ** 2)
