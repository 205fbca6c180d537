"""Calibration results as tables, scores and the shipped record; writing them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

from exerpain.calibrate import identifiability
from exerpain.calibrate.fit import CalibrationResult
from exerpain.errors import InputError
from exerpain.storage import atomic_write, write_json


def parameter_frame(r: CalibrationResult, units: dict[str, str]) -> pd.DataFrame:
    """A row per free parameter: declared and MAP values, Laplace SD and 95% interval (natural
    units), posterior/prior SD ratio and its identifiability class."""
    space = r.space
    sd_theta = r.posterior_sd
    values = np.asarray(space.values(r.theta_map))
    low95 = np.asarray(space.values(r.theta_map - 1.96 * sd_theta))
    high95 = np.asarray(space.values(r.theta_map + 1.96 * sd_theta))
    ratio = r.sd_ratio
    return pd.DataFrame({
        "parameter": space.names,
        "unit": [units[n] for n in space.names],
        "declared": space.nominal,
        "value": values,
        "posterior_sd": space.dvalue_dtheta(r.theta_map) * sd_theta,
        "low95": low95,
        "high95": high95,
        "low": space.low,
        "high": space.high,
        "sd_ratio": ratio,
        "identifiability": [identifiability.classify(float(x)) for x in ratio],
    })


def target_frame(r: CalibrationResult) -> pd.DataFrame:
    """A row per target: fitted or held out, the target and SD, the model before (prior
    centre) and after (MAP), their z-scores and whether the model is inside the 95% band."""
    targets = (*r.fitted, *r.held_out)
    value = np.array([t.value for t in targets])
    sd = np.array([t.sd for t in targets])
    z_before = (r.values_before - value) / sd
    z_after = (r.values_after - value) / sd
    return pd.DataFrame({
        "id": [t.id for t in targets],
        "set": ["held-out" if t.held_out else "fitted" for t in targets],
        "citation": [t.citation for t in targets],
        "target": value,
        "sd": sd,
        "model_before": r.values_before,
        "model_after": r.values_after,
        "z_before": z_before,
        "z_after": z_after,
        "within_95_after": np.abs(z_after) <= 1.96,
    })


def scores(targets: pd.DataFrame) -> dict:
    """Mean squared z (lower is better) and share within the 95% band, fitted vs held out,
    before and after calibration."""
    out = {}
    for name, rows in targets.groupby("set"):
        out[name] = {
            "n": int(len(rows)),
            "mean_z2_before": float(np.mean(rows["z_before"] ** 2)),
            "mean_z2_after": float(np.mean(rows["z_after"] ** 2)),
            "within_95_before": float(np.mean(np.abs(rows["z_before"]) <= 1.96)),
            "within_95_after": float(np.mean(rows["within_95_after"])),
        }
    return out


def summary(r: CalibrationResult, targets: pd.DataFrame) -> dict:
    return {
        "loss_before": r.loss_before,
        "loss_after": r.loss_after,
        "scores": scores(targets),
        "starts": [{"start": s.index, "loss": s.loss, "steps": s.steps,
                    "converged": s.converged, "stopped": s.reason} for s in r.starts],
        "n_free_parameters": len(r.space.keys),
        "excluded_parameters": r.space.excluded,
        "identifiability": identifiability.summary(r.space.names, r.sd_ratio),
        "ridges": identifiability.ridges(r.space.names, r.posterior_cov),
        "fitted_to": [t.id for t in r.fitted],
        "held_out": [t.id for t in r.held_out],
        "seconds": r.seconds,
        **r.meta,
    }


def record_from_folder(folder: str | Path, free: tuple[str, ...],
                       field: str = "ship_from") -> dict:
    """The shipped record of a calibration written earlier (``calibration.json`` and
    ``parameters.csv`` in ``folder``), after checking that it fitted exactly the model's
    current free parameters ``free`` (a fit of another model version is refused); errors
    name ``field`` (the option that gave the folder)."""
    folder = Path(folder)
    try:
        info = json.loads((folder / "calibration.json").read_text())
        params = pd.read_csv(folder / "parameters.csv")
    except (OSError, ValueError) as err:
        raise InputError(f"{field}: {folder} does not hold a readable calibration "
                         f"({err.__class__.__name__})") from None
    if tuple(params["parameter"]) != tuple(free):
        missing = sorted(set(free) - set(params["parameter"]))
        extra = sorted(set(params["parameter"]) - set(free))
        raise InputError(f"{field}: {folder} fitted other free parameters than the current "
                         f"model's (missing {missing[:3]}, extra {extra[:3]})")
    return shipped_record(params, info)


def shipped_record(params: pd.DataFrame, info: dict) -> dict:
    """The record ``exerpain.model.calibrated`` applies as the model's defaults, from a fit's
    parameter table and summary (:func:`parameter_frame`, :func:`summary`)."""
    return {
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "fitted_to": list(info["fitted_to"]),
        "held_out": list(info["held_out"]),
        "loss_before": info["loss_before"],
        "loss_after": info["loss_after"],
        "scores": info["scores"],
        "parameters": {
            row.parameter: {"value": row.value, "declared": row.declared,
                            "posterior_sd": row.posterior_sd, "low95": row.low95,
                            "high95": row.high95, "sd_ratio": row.sd_ratio}
            for row in params.itertuples()},
    }


def write(folder: Path, params: pd.DataFrame, targets: pd.DataFrame, info: dict) -> Path:
    """``parameters.csv``, ``targets.csv`` and ``calibration.json`` (last) into ``folder``
    (an :class:`exerpain.storage.OutputFolder`'s temporary folder)."""
    for name, frame in (("parameters", params), ("targets", targets)):
        atomic_write(folder / f"{name}.csv", lambda tmp, f=frame: f.to_csv(tmp, index=False))
    write_json(folder / "calibration.json", info)
    return folder


def ship(record: dict, name: str | None = None) -> str:
    """Install ``record`` as a new named calibration in the data directory and make it the
    active one (:func:`exerpain.model.calibrated.install`; the package's own calibration is
    never rewritten). ``name`` defaults to ``cal-<UTC time>``. Returns the path."""
    from exerpain.model.calibrated import install

    name = name or "cal-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return install(record, name)
