"""Calibration against the evidence base: virtual experiments, targets, MAP fit with
priors, Laplace uncertainty and identifiability (``exerpain calibrate``)."""
