"""Sampling virtual subjects: covariates, genotypes and per-subject parameters.

Subject ``i`` of a population with key ``key`` is drawn from ``fold_in(key, i)`` alone, so a
population is the same bit for bit whatever the chunking, and any subject can be regenerated
on its own. Per subject:

1. covariates (sex, age, BMI, HbA1c, VO2max, adherence) from :mod:`.covariates`;
2. genotypes from :mod:`.genotypes` (humans only);
3. every mechanism parameter (and the species' exercise responsiveness) log-normal around
   its nominal value (median = nominal, SD of log = the mechanism's own spread
   ``population.sigma_<mechanism>``, ``population.sigma_responsiveness`` for
   responsiveness);
4. the modifiers of :mod:`.modifiers` for the species multiply their target parameters;
5. values are clipped to each parameter's declared range; women use Banister's female TRIMP
   constants.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from exerpain.errors import InputError
from exerpain.model.conditions import Condition, get_condition
from exerpain.model.registry import Model
from exerpain.population.covariates import CovariateModel, covariate_model
from exerpain.population.genotypes import VARIANT_NAMES, VARIANTS
from exerpain.population.modifiers import MODIFIERS

CONTINUOUS = ("age", "bmi", "hba1c", "vo2max")
COVARIATE_COLUMNS = ("female", *CONTINUOUS, "adherence")


@dataclass(frozen=True)
class Subjects:
    """A block of virtual subjects.

    ids: (n,) subject indices. covariates: name -> (n,) values (NaN where not applicable).
    genotypes: variant -> (n,) copies of the effect allele (-1 for rodents).
    params: ``{group: {name: (n,) array}}`` ready for the solver.
    """

    ids: np.ndarray
    covariates: dict[str, np.ndarray]
    genotypes: dict[str, np.ndarray]
    params: dict

    def genotype_labels(self, variant: str) -> np.ndarray:
        spec = next(v for v in VARIANTS if v.name == variant)
        copies = self.genotypes[variant]
        labels = np.array([*spec.labels, "n/a"], dtype=object)
        return labels[np.where(copies < 0, 3, copies)]


def varied_parameters(model: Model, kind: str) -> tuple[tuple[str, str], ...]:
    """Parameters that differ between subjects: every mechanism parameter and the species'
    exercise responsiveness."""
    keys = [(m.name, p.name) for m in model.mechanisms for p in m.parameters]
    keys.append(("exercise", f"responsiveness_{kind}"))
    return tuple(keys)


def spread_names(varied: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """The population spread parameter of each varied parameter."""
    return tuple("sigma_responsiveness" if g == "exercise" else f"sigma_{g}" for g, _ in varied)


@lru_cache(maxsize=16)
def _sampler(model: Model, condition_name: str, female_fraction: float | None = None):
    condition = get_condition(condition_name)
    kind = condition.kind
    cov: CovariateModel = covariate_model(condition.name, kind, female_fraction)
    table = {(g, p.name): p for g, p in model.parameter_table()}
    varied = varied_parameters(model, kind)
    low = np.asarray([table[k].low for k in varied])
    high = np.asarray([table[k].high for k in varied])
    index = {k: i for i, k in enumerate(varied)}
    log_freqs = np.log(np.asarray([v.frequencies for v in VARIANTS]))
    human = kind == "human"
    modifiers = tuple(m for m in MODIFIERS if m.species in (kind, "any"))
    spreads = spread_names(varied)

    def one(key, i, nominal, pop, fixed_genotypes, fixed_covariates):
        k_sex, k_cov, k_adh, k_gen, k_par = jax.random.split(jax.random.fold_in(key, i), 5)
        out = {"female": (jax.random.uniform(k_sex) < cov.female_fraction).astype(float)}
        z = jax.random.normal(k_cov, (len(CONTINUOUS),))
        for j, name in enumerate(CONTINUOUS):
            spec = getattr(cov, name)
            out[name] = (jnp.clip(spec.mean + spec.sd * z[j], spec.low, spec.high)
                         if spec is not None else jnp.asarray(jnp.nan))
        out["adherence"] = (jax.random.beta(k_adh, cov.adherence.a, cov.adherence.b)
                            if cov.adherence is not None else jnp.asarray(1.0))
        out = {k: jnp.where(jnp.isnan(fixed_covariates[k]), v, fixed_covariates[k])
               for k, v in out.items()}
        copies = jax.random.categorical(k_gen, log_freqs, axis=-1)
        copies = jnp.where(fixed_genotypes >= 0, fixed_genotypes, copies)
        genotypes = jnp.where(human, copies, -1)
        sigma = jnp.stack([pop[name] for name in spreads])
        values = nominal * jnp.exp(sigma * jax.random.normal(k_par, nominal.shape))
        return out, genotypes, values

    def apply_modifiers(covs, genotypes, values, pop):
        log_mult = jnp.zeros_like(values)
        for m in modifiers:
            size = pop[m.magnitude.name]
            if m.mode == "per_unit":
                # a covariate the population does not have (NaN) has no effect; it is
                # replaced by the centre inside the product too, so the gradient in ``size``
                # stays finite (a NaN in the branch jnp.where drops still poisons it)
                x = jnp.where(jnp.isnan(covs[m.factor]), m.centre, covs[m.factor])
                effect = size * (x - m.centre) / m.scale
            else:
                if m.mode == "female":
                    hit = (covs["female"] > 0.5).astype(float)
                else:
                    j = VARIANT_NAMES.index(m.factor)
                    need = 1 if m.mode == "carriers" else 2
                    copies = genotypes[:, j]
                    # an unknown genotype (-1, a patient not genotyped) gets the expected
                    # effect: the population probability of the genotype x its log effect
                    hit = jnp.where(copies < 0, sum(VARIANTS[j].frequencies[need:]),
                                    (copies >= need).astype(float))
                effect = hit * jnp.log(size)
            for target in m.targets:
                key = tuple(target.split("."))
                if key in index:
                    log_mult = log_mult.at[:, index[key]].add(effect)
        return values * jnp.exp(log_mult)

    @jax.jit
    def sample(key, ids, nominal, pop, fixed_genotypes, fixed_covariates):
        covs, genotypes, values = jax.vmap(one, in_axes=(None, 0, 0, 0, None, None))(
            key, ids, nominal, pop, fixed_genotypes, fixed_covariates)
        values = apply_modifiers(covs, genotypes, values, pop)
        return covs, genotypes, jnp.clip(values, low, high)

    def from_normals(z, nominal, pop, covs, genotypes):
        """Values of subjects with standard-normal deviates ``z`` (n, n_varied), known
        covariates and genotypes: the same transformation as :func:`sample`, traceable."""
        sigma = jnp.stack([pop[name] for name in spreads], axis=-1)
        values = apply_modifiers(covs, genotypes, nominal * jnp.exp(sigma * z), pop)
        return jnp.clip(values, low, high)

    return varied, sample, from_normals


def sample_subjects(model: Model, condition: Condition, base_params: dict, key: jax.Array,
                    ids: np.ndarray, genotype_overrides: dict[str, str] | None = None,
                    covariate_overrides: dict[str, float] | None = None,
                    female_fraction: float | None = None) -> Subjects:
    """Draw subjects ``ids`` of the population ``key`` around ``base_params``.

    ``base_params`` are the nominal values with the condition applied. Overrides fix a
    genotype (by label, e.g. ``{"bdnf_rs6265": "Met/Met"}``) or a covariate for everyone,
    keeping every other draw unchanged (for paired what-if comparisons). ``female_fraction``
    replaces the condition's share of females (rodent cohorts: ``--sex``).
    """
    covs, genotypes, params = draw_subjects(
        model, condition, base_params, key, jnp.asarray(ids),
        fixed_genotypes_array(genotype_overrides or {}),
        _fixed_covariates(covariate_overrides or {}), female_fraction)
    covs = {k: np.asarray(v, dtype=float) for k, v in covs.items()}
    genotypes = np.asarray(genotypes)
    return Subjects(ids=np.asarray(ids), covariates=covs,
                    genotypes={v: genotypes[:, j] for j, v in enumerate(VARIANT_NAMES)},
                    params=params)


def draw_subjects(model: Model, condition: Condition, base_params: dict, key: jax.Array,
                  ids: jax.Array, fixed_genotypes: jax.Array | None = None,
                  fixed_covariates: dict | None = None, female_fraction: float | None = None
                  ) -> tuple[dict, jax.Array, dict]:
    """Covariates, genotypes and solver parameters of subjects ``ids``; traceable in
    ``base_params`` (a virtual cohort can be differentiated with respect to the population's
    parameters). A base value may be a scalar (shared) or an array with one value per subject
    (e.g. each subject's draw from the calibration posterior). ``fixed_*``: see
    :func:`fixed_genotypes_array`, :func:`_fixed_covariates`."""
    varied, sample, _ = _sampler(model, condition.name, female_fraction)
    shape = jnp.shape(ids)
    nominal = jnp.stack([jnp.broadcast_to(jnp.asarray(base_params[g][n]), shape)
                         for g, n in varied], axis=-1)
    pop = {k: jnp.broadcast_to(jnp.asarray(v), shape)
           for k, v in base_params["population"].items()}
    covs, genotypes, values = sample(
        key, ids, nominal, pop,
        fixed_genotypes_array({}) if fixed_genotypes is None else fixed_genotypes,
        _fixed_covariates({}) if fixed_covariates is None else fixed_covariates)
    return covs, genotypes, subject_params(base_params, varied, values, covs["female"])


def params_from_normals(model: Model, condition: Condition, base_params: dict, z: jax.Array,
                        covariates: dict, genotypes: jax.Array) -> dict:
    """Solver parameters ``{group: {name: (n,)}}`` of subjects whose parameter deviates
    ``z`` (n, n_varied; standard normal under the population model) are given, with their
    covariates ``{name: (n,)}`` (:data:`COVARIATE_COLUMNS`) and genotypes (n, n_variants,
    effect-allele copies): a patient's parameters as a function of ``z`` (traceable, for
    inference). Scalars in ``base_params`` are shared."""
    varied, _, from_normals = _sampler(model, condition.name)
    shape = jnp.shape(z)[:1]
    nominal = jnp.stack([jnp.broadcast_to(jnp.asarray(base_params[g][n]), shape)
                         for g, n in varied], axis=-1)
    pop = {k: jnp.broadcast_to(jnp.asarray(v), shape)
           for k, v in base_params["population"].items()}
    values = from_normals(z, nominal, pop, covariates, genotypes)
    return subject_params(base_params, varied, values, covariates["female"])


def subject_params(base_params: dict, varied: tuple[tuple[str, str], ...], values: jax.Array,
                   female: jax.Array) -> dict:
    """``{group: {name: (n,) array}}``: ``base_params`` broadcast to the subjects, the varied
    parameters from ``values`` (n, n_varied), Banister's female TRIMP constants for women."""
    n = values.shape[0]
    params = {g: {k: jnp.broadcast_to(jnp.asarray(v), (n,)) for k, v in vals.items()}
              for g, vals in base_params.items()}
    for j, (g, name) in enumerate(varied):
        params[g][name] = values[:, j]
    woman = female > 0.5
    ex = params["exercise"]
    ex["trimp_weight"] = jnp.where(woman, ex["trimp_weight_female"], ex["trimp_weight"])
    ex["trimp_exponent"] = jnp.where(woman, ex["trimp_exponent_female"], ex["trimp_exponent"])
    return params


def fixed_genotypes_array(overrides: dict[str, str]) -> jax.Array:
    """(n_variants,) effect-allele copies to impose, -1 where drawn."""
    fixed = np.full(len(VARIANTS), -1)
    for variant, label in overrides.items():
        if variant not in VARIANT_NAMES:
            raise InputError(f"genotype: unknown variant {variant!r}; allowed: "
                             f"{', '.join(VARIANT_NAMES)}")
        spec = VARIANTS[VARIANT_NAMES.index(variant)]
        if label not in spec.labels:
            raise InputError(f"genotype {variant}: unknown label {label!r}; allowed: "
                             f"{', '.join(spec.labels)}")
        fixed[VARIANT_NAMES.index(variant)] = spec.labels.index(label)
    return jnp.asarray(fixed)


def _fixed_covariates(overrides: dict[str, float]) -> dict[str, jax.Array]:
    """Covariate values to impose (NaN where drawn)."""
    for name in overrides:
        if name not in COVARIATE_COLUMNS:
            raise InputError(f"covariate: unknown name {name!r}; allowed: "
                             f"{', '.join(COVARIATE_COLUMNS)}")
    return {name: jnp.asarray(float(overrides.get(name, np.nan))) for name in COVARIATE_COLUMNS}
