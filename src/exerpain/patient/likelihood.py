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

The functions of a patient (parameters, solve, log posterior) are compiled once per shape
(:func:`kernels`: model, condition, padded days, start) and take the patient's data as
arrays (:class:`PatientArrays`, padded to fixed sizes), so patients of the same shapes share
one compilation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from exerpain.design.reporting import Reporting
from exerpain.model.registry import Model
from exerpain.patient.history import Frame, PatientData, frame, plan_inputs
from exerpain.patient.record import BIOMARKERS
from exerpain.population.sampling import params_from_normals, varied_parameters
from exerpain.simulate.solve import initial_state, integrate_run, observer

FIT_RTOL = 1e-5
FIT_ATOL = 1e-7
ROUNDING_VAR = 1.0 / 12.0


def reporting() -> Reporting:
    """The diary noise and placebo settings of the virtual trials (shipped fit)."""
    return Reporting.from_values(Model.default().default_params()["readout"]["nrs_noise_sd"])


LAB_BLOCK = 16  # lab determinations are padded to a multiple of this many


class PatientArrays(NamedTuple):
    """One patient's data as arrays of fixed (padded) shapes; a pytree."""

    base: dict  # condition-applied shipped parameters
    covariates: dict  # name -> (1,)
    genotypes: jax.Array  # (1, n_variants), -1 unknown
    pain_index: jax.Array  # (N,) day of each rating (padding: 0)
    pain: jax.Array  # (N,) ratings (padding: 0)
    pain_mask: jax.Array  # (N,) 1 for a rating
    precision: jax.Array  # (N, N) inverse covariance of the residuals (zero padding)
    logdet: jax.Array  # log-determinant of the covariance (rated days)
    lab_day: jax.Array  # (L,)
    lab_state: jax.Array  # (L,) index of the model state
    lab_marker: jax.Array  # (L,) index of the marker
    lab_log: jax.Array  # (L,)
    lab_mask: jax.Array  # (L,)
    first_session: jax.Array  # day of the first session (inf: none)
    placebo: jax.Array  # (mean, sd, onset days)
    inputs: object  # solver inputs of the sessions done (ModelInputs, padded schedule)
    jumps: jax.Array


BATCH = 32
"""Draws per batched solve: every batch of draws (importance sampling, predictions,
prescriptions, a synthetic patient) is cut into blocks of this many (the last one padded), so
one compiled solve serves them all."""


class Kernels(NamedTuple):
    """Compiled functions shared by every patient of one shape (:func:`kernels`)."""

    params: object  # (z, a) -> params
    params_batch: object  # (zs, a) -> batched params
    log_posterior: object  # (theta, a) -> scalar (traceable)
    value_and_grad: object  # jitted (theta, a) -> (value, gradient)
    outputs_batch: object  # jitted (thetas (BATCH, n), inputs, jumps, first, a)
    #                        -> (felt (BATCH, days), states (BATCH, days, n_states), codes)
    density_batch: object  # jitted (thetas, felt, states, codes, a) -> log posterior (BATCH,)


def _felt(nrs, u, first, a: PatientArrays):
    """Expected reported NRS: placebo from the first session (``first`` inf: none)."""
    day = jnp.arange(nrs.shape[-1], dtype=float) - first
    onset = jnp.where(day >= 0, -jnp.expm1(-jnp.maximum(day, 0.0) / a.placebo[2]), 0.0)
    return nrs * (1.0 - (a.placebo[0] + a.placebo[1] * u) * onset)


@lru_cache(maxsize=8)
def kernels(model: Model, condition: str, days: int, t0: float, steady: bool) -> Kernels:
    """The compiled functions of patients with a frame of ``days`` days."""
    from exerpain.model.conditions import get_condition

    cond = get_condition(condition)
    observe = observer(model, "human")
    ts = jnp.arange(days, dtype=float)

    def params(z, a):
        p = params_from_normals(model, cond, a.base, z[None, :], a.covariates, a.genotypes)
        return jax.tree_util.tree_map(lambda x: x[0], p)

    def solve(z, inputs, jumps, a):
        start = jnp.asarray(t0)
        values = params(z, a)
        # Where the steady start cannot be found, the root's implicit gradient would solve a
        # linear system with non-finite entries: check the root without gradient first, and
        # solve such a draw with the nominal parameters (its code still marks it failed).
        _, code0 = initial_state(model, jax.lax.stop_gradient(inputs._replace(
            params=values)), start, steady)
        nominal = params(jnp.zeros_like(z), a)
        values = jax.tree_util.tree_map(lambda x, y: jnp.where(code0 == 0, x, y), values,
                                        nominal)
        inp = inputs._replace(params=values)
        y0, code_root = initial_state(model, inp, start, steady, pseudoinverse=True)
        ys, code = integrate_run(model, inp, y0, start, jumps, ts, FIT_RTOL, FIT_ATOL)
        obs = jax.vmap(observe, in_axes=(0, 0, None))(ts, ys, inp)
        return ys, obs, jnp.maximum(jnp.maximum(code, code0), code_root)

    def log_density(theta, expected, ys, code, a):
        """The log posterior of ``theta`` given its solve (expected reported NRS, states)."""
        resid = (a.pain - expected[a.pain_index]) * a.pain_mask
        n = jnp.sum(a.pain_mask)
        ll = -0.5 * (resid @ a.precision @ resid + a.logdet + n * math.log(2 * math.pi))
        state = ys[a.lab_day, a.lab_state]
        r = (a.lab_log - jnp.log(jnp.maximum(state, 1e-12))) * a.lab_mask
        counts = jnp.bincount(a.lab_marker, weights=a.lab_mask, length=len(BIOMARKERS))
        means = jnp.bincount(a.lab_marker, weights=r, length=len(BIOMARKERS)) / jnp.maximum(
            counts, 1.0)
        centred = (r - means[a.lab_marker]) * a.lab_mask
        cv = a.base["readout"]["biomarker_noise_cv"]
        ll = ll - 0.5 * jnp.sum(centred ** 2) / cv ** 2 - (
            jnp.sum(a.lab_mask) - jnp.sum(counts > 0)) * jnp.log(cv)
        return jnp.where(code == 0, ll, -jnp.inf) - 0.5 * jnp.sum(theta ** 2)

    def outputs_one(theta, inputs, jumps, first, a):
        ys, obs, code = solve(theta[:-1], inputs, jumps, a)
        return _felt(obs["nrs"], theta[-1], first, a), ys, code

    def log_posterior(theta, a):
        return log_density(theta, *outputs_one(theta, a.inputs, a.jumps, a.first_session, a), a)

    return Kernels(
        params=params, params_batch=jax.jit(jax.vmap(params, in_axes=(0, None))),
        log_posterior=log_posterior,
        value_and_grad=jax.jit(jax.value_and_grad(log_posterior)),
        outputs_batch=jax.jit(jax.vmap(outputs_one, in_axes=(0, None, None, None, None))),
        density_batch=jax.jit(jax.vmap(log_density, in_axes=(0, 0, 0, 0, None))),
    )


@dataclass(frozen=True)
class PatientModel:
    """A patient's data with the shared compiled functions of its shape."""

    model: Model
    data: PatientData
    fr: Frame

    @classmethod
    def create(cls, data: PatientData, model: Model | None = None, extra_days: int = 0,
               extra_phases: int = 1) -> PatientModel:
        model = model or Model.default()
        pm = cls(model, data, frame(model, data.condition, data.days + extra_days,
                                    len(data.history) + extra_phases))
        pm.arrays  # noqa: B018  (built outside any trace)
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

    @property
    def kernels(self) -> Kernels:
        return kernels(self.model, self.data.condition.name, self.fr.days, self.fr.t0,
                       self.fr.steady)

    @cached_property
    def arrays(self) -> PatientArrays:
        d, r = self.data, self.report
        n = self.fr.days
        rated = len(d.pain_day)
        t = d.pain_day
        phi = np.exp(-1.0 / r.slow_days)
        cov = (r.slow_sd ** 2 * phi ** np.abs(t[:, None] - t[None, :])
               + (r.daily_sd ** 2 + ROUNDING_VAR) * np.eye(rated))
        precision = np.zeros((n, n))
        precision[:rated, :rated] = np.linalg.inv(cov)
        labs = len(d.lab_day)
        size = LAB_BLOCK * max(1, math.ceil(labs / LAB_BLOCK))
        markers = sorted(BIOMARKERS)
        names = self.model.state_names

        def pad(values, width, dtype=float):
            out = np.zeros(width, dtype=dtype)
            out[:len(values)] = values
            return out

        inputs, jumps = plan_inputs(self.model, self.fr, d.history)
        return PatientArrays(
            base=jax.tree_util.tree_map(jnp.asarray, self.base),
            covariates={k: jnp.asarray([v]) for k, v in d.covariates.items()},
            genotypes=jnp.asarray(d.genotypes)[None, :],
            pain_index=jnp.asarray(pad(t, n, int)), pain=jnp.asarray(pad(d.pain, n)),
            pain_mask=jnp.asarray(pad(np.ones(rated), n)), precision=jnp.asarray(precision),
            logdet=jnp.asarray(float(np.linalg.slogdet(cov)[1])),
            lab_day=jnp.asarray(pad(d.lab_day, size, int)),
            lab_state=jnp.asarray(pad([names.index(s) for s in d.lab_state], size, int)),
            lab_marker=jnp.asarray(pad([markers.index(lab.name) for lab in d.record.labs],
                                       size, int)),
            lab_log=jnp.asarray(pad(d.lab_log, size)),
            lab_mask=jnp.asarray(pad(np.ones(labs), size)),
            first_session=jnp.asarray(np.inf if d.first_session is None
                                      else float(d.first_session)),
            placebo=jnp.asarray([r.placebo_mean, r.placebo_sd, r.placebo_onset_days]),
            inputs=inputs, jumps=jnp.asarray(jumps))

    def params(self, z: jax.Array) -> dict:
        """Solver parameters (scalars) of deviates ``z`` (n_z,)."""
        return self.kernels.params(jnp.asarray(z), self.arrays)

    def params_batch(self, zs: np.ndarray) -> dict:
        """Solver parameters ``{group: {name: (k,)}}`` of deviates ``zs`` (k, n_z)."""
        return self.kernels.params_batch(jnp.asarray(zs), self.arrays)

    def placebo(self, u) -> jax.Array:
        return self.report.placebo_mean + self.report.placebo_sd * u

    def log_posterior(self, theta: jax.Array) -> jax.Array:
        """Unnormalised log posterior of ``theta = (z, u)`` (standard-normal priors)."""
        return self.kernels.log_posterior(theta, self.arrays)

    def value_and_grad(self, theta) -> tuple[jax.Array, jax.Array]:
        return self.kernels.value_and_grad(jnp.asarray(theta), self.arrays)

    def _solved(self, thetas: np.ndarray, inputs, jumps, first):
        """Per block of :data:`BATCH` draws (:func:`_blocks`): the block and its solve
        ``(felt, states, codes)`` under ``inputs``/``jumps``, placebo from day ``first``."""
        for block in _blocks(thetas):
            block = jnp.asarray(block)
            yield block, self.kernels.outputs_batch(block, inputs, jumps, first, self.arrays)

    def outputs(self, thetas: np.ndarray, phases, first: float | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Expected reported NRS (k, frame days) and states (k, frame days, states) of draws
        ``thetas`` under ``phases`` (placebo from ``first``, default the first session
        done), and failure codes; solved in blocks of :data:`BATCH` draws."""
        inputs, jumps = plan_inputs(self.model, self.fr, phases)
        first = self.data.first_session if first is None else first
        parts = [solved for _, solved in self._solved(
            thetas, inputs, jnp.asarray(jumps),
            jnp.asarray(np.inf if first is None else float(first)))]
        return tuple(np.concatenate([np.asarray(p[i]) for p in parts])[:len(thetas)]
                     for i in range(3))

    def felt(self, thetas: np.ndarray, phases, first: float | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
        """Expected reported NRS (k, frame days) of draws ``thetas`` under ``phases``
        (placebo from ``first``, default the first session done), and failure codes."""
        felt, _, codes = self.outputs(thetas, phases, first)
        return felt, codes

    def log_posterior_batch(self, thetas: np.ndarray) -> np.ndarray:
        """The log posterior of draws ``thetas`` (k, n_z + 1); solved in blocks of
        :data:`BATCH` draws on the diary's frame."""
        a = self.arrays
        values = [np.asarray(self.kernels.density_batch(block, *solved, a))
                  for block, solved in self._solved(thetas, a.inputs, a.jumps, a.first_session)]
        return np.concatenate(values)[:len(thetas)]


def _blocks(thetas: np.ndarray) -> list[np.ndarray]:
    """``thetas`` (k, n) cut into blocks of :data:`BATCH` rows, the last padded with copies
    of its first row."""
    thetas = np.asarray(thetas, dtype=float)
    blocks = []
    for first in range(0, len(thetas), BATCH):
        block = thetas[first:first + BATCH]
        blocks.append(np.concatenate([block, np.repeat(block[:1], BATCH - len(block), axis=0)]))
    return blocks
