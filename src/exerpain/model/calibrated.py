"""The shipped calibration: fitted values that replace the declared ones by default.

``data/calibrated.json`` is written by ``exerpain calibrate --ship`` (only after a successful
fit; see :mod:`exerpain.calibrate.fit`). Each entry gives the MAP value, the declared value
it was fitted from (the prior centre) and the Laplace posterior/prior SD ratio. A parameter
the evidence constrains (ratio below ``CONSTRAINED``) becomes kind ``calibrated`` with the
finding ids it was fitted to; one it does not keeps its kind and says that its value is the
calibration's MAP, dominated by the prior.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from importlib import resources

import numpy as np

from exerpain.model.parameters import Parameter

CONSTRAINED = 0.9
FILE = "calibrated.json"


@cache
def shipped() -> dict:
    """The shipped calibration record (empty if none is shipped)."""
    path = resources.files("exerpain.model") / "data" / FILE
    if not path.is_file():
        return {}
    return json.loads(path.read_text())


def apply_calibration(rows: list[tuple[str, Parameter]],
                      record: dict | None = None) -> list[tuple[str, Parameter]]:
    """``rows`` with the calibrated values and provenance of ``record`` (default: shipped)."""
    record = shipped() if record is None else record
    fitted = record.get("parameters", {})
    if not fitted:
        return rows
    ids = ", ".join(record["fitted_to"])
    out = []
    for group, p in rows:
        entry = fitted.get(f"{group}.{p.name}")
        if entry is None:
            out.append((group, p))
            continue
        ratio = entry["sd_ratio"]
        if ratio < CONSTRAINED:
            p = replace(p, value=entry["value"], kind="calibrated", provenance=(
                f"calibrated to {ids} (MAP; posterior/prior SD {ratio:.2f}; 95% interval "
                f"{entry['low95']:.4g}-{entry['high95']:.4g}); prior centred on the declared "
                f"{entry['declared']:.4g}: {p.provenance}"))
        else:
            p = replace(p, value=entry["value"], provenance=(
                f"{p.provenance} [value: calibration MAP from the declared "
                f"{entry['declared']:.4g}; not constrained by the evidence, posterior/prior SD "
                f"{ratio:.2f}]"))
        out.append((group, p))
    return out


def posterior_draws(rows: list[tuple[str, Parameter]], k: int, seed: int,
                    record: dict | None = None) -> dict[tuple[str, str], np.ndarray]:
    """``k`` draws of every fitted parameter from the shipped calibration's posterior:
    ``{(group, name): (k,) values}``.

    The Laplace posterior is normal on the logit scale of each parameter's declared range,
    centred on the MAP, with the SD recovered from the shipped 95% interval
    (``(logit(high95) - logit(low95)) / 3.92``); the shipped record keeps no covariances, so
    parameters are drawn independently (ridges between parameters are ignored; the
    calibration report lists them). Empty when no calibration is shipped.
    """
    record = shipped() if record is None else record
    fitted = record.get("parameters", {})
    rng = np.random.default_rng(seed)
    out = {}
    for group, p in rows:
        entry = fitted.get(f"{group}.{p.name}")
        if entry is None:
            continue
        def logit(v: float, p: Parameter = p) -> float:
            u = np.clip((v - p.low) / (p.high - p.low), 1e-12, 1 - 1e-12)
            return float(np.log(u) - np.log1p(-u))
        centre = logit(entry["value"])
        sd = (logit(entry["high95"]) - logit(entry["low95"])) / 3.92
        theta = centre + max(sd, 0.0) * rng.standard_normal(k)
        out[(group, p.name)] = p.low + (p.high - p.low) / (1.0 + np.exp(-theta))
    return out
