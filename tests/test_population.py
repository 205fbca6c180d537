"""Virtual populations: reproducibility, frequencies, modifiers."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from exerpain.errors import InputError
from exerpain.model.conditions import CONDITIONS
from exerpain.population.genotypes import VARIANTS
from exerpain.population.sampling import sample_subjects

N = 4096


@pytest.fixture(scope="module")
def dpn(model):
    condition = CONDITIONS["dpn"]
    base = condition.apply(model.default_params())
    return model, condition, base


def leaves(subjects):
    return jax.tree_util.tree_leaves(subjects.params)


def test_same_seed_same_population_bit_for_bit_whatever_the_chunking(dpn):
    model, condition, base = dpn
    whole = sample_subjects(model, condition, base, jax.random.key(5), np.arange(64))
    again = sample_subjects(model, condition, base, jax.random.key(5), np.arange(64))
    part = sample_subjects(model, condition, base, jax.random.key(5), np.arange(32, 64))
    for a, b, c in zip(leaves(whole), leaves(again), leaves(part), strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))
        assert np.array_equal(np.asarray(a)[32:], np.asarray(c))
    other = sample_subjects(model, condition, base, jax.random.key(6), np.arange(64))
    assert not np.array_equal(np.asarray(other.params["opioid"]["k_opioid"]),
                              np.asarray(whole.params["opioid"]["k_opioid"]))


def test_genotype_and_covariate_frequencies(dpn):
    model, condition, base = dpn
    s = sample_subjects(model, condition, base, jax.random.key(0), np.arange(N))
    for variant in VARIANTS:
        observed = np.bincount(s.genotypes[variant.name], minlength=3) / N
        np.testing.assert_allclose(observed, variant.frequencies, atol=0.025,
                                   err_msg=variant.name)
    assert s.covariates["female"].mean() == pytest.approx(0.389, abs=0.03)
    assert s.covariates["age"].mean() == pytest.approx(60.7, abs=0.6)
    assert s.covariates["vo2max"].mean() == pytest.approx(16.0, abs=0.3)
    assert np.mean(s.covariates["adherence"] >= 0.67) == pytest.approx(0.56, abs=0.03)


def test_parameters_are_lognormal_around_nominal_within_range(model, dpn):
    _, condition, base = dpn
    s = sample_subjects(model, condition, base, jax.random.key(1), np.arange(N))
    k = np.asarray(s.params["opioid"]["k_opioid"])
    assert np.median(k) == pytest.approx(base["opioid"]["k_opioid"], rel=0.03)
    assert np.std(np.log(k)) == pytest.approx(base["population"]["sigma_opioid"], rel=0.05)
    table = {(g, p.name): p for g, p in model.parameter_table()}
    for group, values in s.params.items():
        for name, v in values.items():
            spec = table.get((group, name))
            if spec is not None and group != "exercise":
                assert np.all(np.asarray(v) >= spec.low - 1e-12), name
                assert np.all(np.asarray(v) <= spec.high + 1e-12), name


def test_genotype_override_is_paired_and_moves_its_target(dpn):
    model, condition, base = dpn
    ids = np.arange(256)
    val = sample_subjects(model, condition, base, jax.random.key(2), ids,
                          {"bdnf_rs6265": "Val/Val"})
    met = sample_subjects(model, condition, base, jax.random.key(2), ids,
                          {"bdnf_rs6265": "Met/Met"})
    ratio = (np.asarray(met.params["neurotrophic"]["exercise_bdnf_gain"])
             / np.asarray(val.params["neurotrophic"]["exercise_bdnf_gain"]))
    np.testing.assert_allclose(ratio, base["population"]["bdnf_met_factor"], rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(met.params["opioid"]["k_opioid"]),
                                  np.asarray(val.params["opioid"]["k_opioid"]))
    with pytest.raises(InputError, match="bdnf_rs6265"):
        sample_subjects(model, condition, base, jax.random.key(2), ids,
                        {"bdnf_rs6265": "Met/Val/Met"})


def test_women_use_the_female_trimp_constants(dpn):
    model, condition, base = dpn
    s = sample_subjects(model, condition, base, jax.random.key(3), np.arange(200))
    female = s.covariates["female"] > 0.5
    w = np.asarray(s.params["exercise"]["trimp_weight"])
    assert np.all(w[female] == 0.86) and np.all(w[~female] == 0.64)


def test_rodents_have_no_genotypes_and_male_default(model):
    condition = CONDITIONS["cci"]
    s = sample_subjects(model, condition, condition.apply(model.default_params()),
                        jax.random.key(0), np.arange(100))
    assert np.all(s.genotypes["bdnf_rs6265"] == -1)
    assert set(s.genotype_labels("bdnf_rs6265")) == {"n/a"}
    assert np.all(s.covariates["female"] == 0)


def test_each_mechanism_has_its_own_spread(model, dpn):
    """Changing one mechanism's spread changes only that mechanism's parameters."""
    _, condition, base = dpn
    wide = {g: dict(v) for g, v in base.items()}
    wide["population"]["sigma_oxidative"] = 2 * base["population"]["sigma_oxidative"]
    a = sample_subjects(model, condition, base, jax.random.key(4), np.arange(N))
    b = sample_subjects(model, condition, wide, jax.random.key(4), np.arange(N))
    ros_a = np.log(np.asarray(a.params["oxidative"]["k_ros"]))
    ros_b = np.log(np.asarray(b.params["oxidative"]["k_ros"]))
    assert np.std(ros_b) == pytest.approx(2 * np.std(ros_a), rel=0.1)
    np.testing.assert_array_equal(np.asarray(a.params["opioid"]["k_opioid"]),
                                  np.asarray(b.params["opioid"]["k_opioid"]))


@pytest.mark.parametrize(("sex", "share"), [("male", 0.0), ("female", 1.0), ("mixed", 0.5)])
def test_rodent_sex_and_the_female_microglia_modifier(model, sex, share):
    """--sex sets the share of females; female rodents release less microglial BDNF (Sorge
    2015: microglia-dependent pain in males, T-cell-dependent in females)."""
    from exerpain.population.covariates import SEX_FRACTIONS

    condition = CONDITIONS["cci"]
    base = condition.apply(model.default_params())
    s = sample_subjects(model, condition, base, jax.random.key(5), np.arange(400),
                        female_fraction=SEX_FRACTIONS[sex])
    female = s.covariates["female"] > 0.5
    assert female.mean() == pytest.approx(share, abs=0.06)
    if 0 < share < 1:
        coupling = np.log(np.asarray(s.params["neurotrophic"]["bdnf_per_microglia"]))
        shift = coupling[female].mean() - coupling[~female].mean()
        expected = np.log(base["population"]["female_rodent_microglia_factor"])
        assert shift == pytest.approx(expected, abs=0.1)
