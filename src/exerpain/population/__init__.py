"""Virtual populations: covariates, genotypes, their modifiers, and per-subject parameters."""
