"""exerpain's data directory: the run store, named calibrations and JAX's compilation cache.

One folder, found in this order:

1. ``$EXERPAIN_DATA_DIR`` when set (tests and CI point it at a temporary folder);
2. the platform's user data folder (``platformdirs.user_data_dir("exerpain")``: on Linux
   ``$XDG_DATA_HOME/exerpain``, by default ``~/.local/share/exerpain``).

Layout::

    runs.duckdb          the run store (:mod:`exerpain.interfaces.runstore`)
    calibrations/NAME.json  calibrations written by ``exerpain calibrate --ship``
    calibrations/ACTIVE  the name of the calibration runs use by default (absent: the one
                         shipped inside the package)
    jax-cache/           JAX's persistent compilation cache

Nothing here imports JAX: ``exerpain --help`` must stay light.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "EXERPAIN_DATA_DIR"


def data_dir(create: bool = True) -> Path:
    """The data directory (created unless ``create`` is false)."""
    given = os.environ.get(ENV, "").strip()
    if given:
        path = Path(given).expanduser()
    else:
        from platformdirs import user_data_dir

        path = Path(user_data_dir("exerpain", appauthor=False))
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def store_path() -> Path:
    """The run store's DuckDB file."""
    return data_dir() / "runs.duckdb"


def calibrations_dir() -> Path:
    path = data_dir() / "calibrations"
    path.mkdir(parents=True, exist_ok=True)
    return path


def compile_cache_dir() -> Path:
    path = data_dir() / "jax-cache"
    path.mkdir(parents=True, exist_ok=True)
    return path
