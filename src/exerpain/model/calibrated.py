"""The active calibration: fitted values that replace the declared ones by default.

The package ships one calibration, ``data/calibrated.json`` (named ``package``). ``exerpain
calibrate --ship`` never rewrites it: it writes a new, named calibration into the data
directory (``calibrations/NAME.json``, :mod:`exerpain.datadir`) and makes it the active one
(``calibrations/ACTIVE``), so that results never change silently under an installed package
and every run names the calibration it used (:func:`identity`, in each ``run.json``). The
active calibration is, in order: the one a run pins (:func:`using`), ``$EXERPAIN_CALIBRATION``,
the data directory's ``ACTIVE`` file, ``package``. Names are written once and never replaced.

Each entry gives the MAP value, the declared value
it was fitted from (the prior centre) and the Laplace posterior/prior SD ratio. A parameter
the evidence constrains (ratio below ``CONSTRAINED``) becomes kind ``calibrated`` with the
finding ids it was fitted to; one it does not keeps its kind and says that its value is the
calibration's MAP, dominated by the prior.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from exerpain.errors import InputError
from exerpain.model.parameters import Parameter

CONSTRAINED = 0.9
FILE = "calibrated.json"
PACKAGE = "package"
"""The name of the calibration shipped inside the package."""
ENV = "EXERPAIN_CALIBRATION"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PINNED: contextvars.ContextVar[str | None] = contextvars.ContextVar("calibration",
                                                                    default=None)


def _path(name: str):
    if name == PACKAGE:
        return resources.files("exerpain.model") / "data" / FILE
    from exerpain.datadir import calibrations_dir

    return calibrations_dir() / f"{name}.json"


def check_name(name: str, field: str = "calibration") -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise InputError(f"{field}: {name!r:.70} is not a calibration name (letters, digits, "
                         "'.', '_' and '-', at most 64, starting with a letter or digit)")
    return name


def available() -> list[str]:
    """Every calibration name: ``package`` and those in the data directory."""
    from exerpain.datadir import calibrations_dir

    return [PACKAGE, *sorted(p.stem for p in calibrations_dir().glob("*.json"))]


def active_name() -> str:
    """The calibration runs use now (see the module's docstring for the order)."""
    pinned = _PINNED.get()
    if pinned is not None:
        return pinned
    env = os.environ.get(ENV, "").strip()
    if env:
        return env
    from exerpain.datadir import calibrations_dir

    active = calibrations_dir() / "ACTIVE"
    return active.read_text().strip() if active.is_file() else PACKAGE


@contextlib.contextmanager
def using(name: str) -> Iterator[dict]:
    """Pin calibration ``name`` for the calls inside (this thread/context); yields its
    record. :class:`InputError` naming ``calibration`` if there is no such calibration."""
    record = load(name)
    token = _PINNED.set(name)
    try:
        yield record
    finally:
        _PINNED.reset(token)


@cache
def _read(name: str) -> tuple[dict, str]:
    path = _path(name)
    if not path.is_file():
        if name == PACKAGE:
            return {}, ""
        raise InputError(f"calibration: no calibration named {name!r}; available: "
                         f"{', '.join(available())}")
    data = path.read_bytes()
    return json.loads(data), hashlib.sha256(data).hexdigest()


def load(name: str) -> dict:
    """The record of calibration ``name`` (``package``: the one inside the package)."""
    return _read(check_name(name))[0]


def shipped() -> dict:
    """The active calibration's record (empty if none: the declared values are used)."""
    return load(active_name())


def identity(name: str | None = None) -> dict:
    """What names a calibration in provenance: name, SHA-256 of its file, when it was made,
    what it was fitted to and what was held out."""
    name = name or active_name()
    record, sha = _read(check_name(name))
    return {"name": name, "sha256": sha, "created": record.get("created"),
            "fitted_to": record.get("fitted_to", []), "held_out": record.get("held_out", [])}


def install(record: dict, name: str, activate: bool = True) -> str:
    """Write ``record`` as the new calibration ``name`` in the data directory (never
    replacing one: names are permanent) and make it the active one; returns the path."""
    from exerpain.storage import write_json

    check_name(name)
    if name == PACKAGE or _path(name).exists():
        raise InputError(f"name: a calibration named {name!r} exists; calibrations are never "
                         "replaced, choose another name")
    path = _path(name)
    write_json(path, record)
    if activate:
        activate_calibration(name)
    return str(path)


def activate_calibration(name: str) -> None:
    """Make ``name`` the calibration later runs use (``package``: the package's own)."""
    from exerpain.datadir import calibrations_dir
    from exerpain.storage import atomic_write

    load(name)  # it must exist
    atomic_write(calibrations_dir() / "ACTIVE", lambda tmp: Path(tmp).write_text(name + "\n"))


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
