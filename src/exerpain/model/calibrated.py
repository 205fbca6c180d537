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
