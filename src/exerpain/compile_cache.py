"""JAX's persistent compilation cache, kept in exerpain's data directory.

A compiled solver (a cohort's coalition solve, a pair's batched solve, a calibration
experiment's value and gradient) takes seconds to minutes to compile; with the cache on, a
later process that compiles the same program loads the executable from disk instead.

Where: ``path`` when given, else ``$EXERPAIN_CACHE_DIR`` when set, else ``jax-cache/`` in
the data directory (:func:`exerpain.datadir.compile_cache_dir`). Only programs whose
compilation took at least :data:`MIN_COMPILE_TIME_S` are written, so the many tiny
functions (array helpers, one-off reductions) do not fill the folder; JAX's default minimum
entry size is kept.

Importing this module imports nothing heavy; :func:`enable_compile_cache` imports JAX.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_DIR_ENV = "EXERPAIN_CACHE_DIR"
MIN_COMPILE_TIME_S = 0.5
"""Seconds of compilation below which an executable is not written to the cache."""


def cache_dir(path: str | Path | None = None) -> Path:
    """The cache folder (created): ``path``, else ``$EXERPAIN_CACHE_DIR``, else the data
    directory's ``jax-cache/``."""
    if path is None:
        env = os.environ.get(CACHE_DIR_ENV, "").strip()
        if env:
            path = env
        else:
            from exerpain.datadir import compile_cache_dir

            return compile_cache_dir()
    folder = Path(path).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def enable_compile_cache(path: str | Path | None = None,
                         min_compile_time_s: float = MIN_COMPILE_TIME_S) -> Path:
    """Switch JAX's persistent compilation cache on, in :func:`cache_dir` (``path``);
    programs that compiled in under ``min_compile_time_s`` seconds are not written.
    Returns the folder. Safe to call more than once, and after a first compile: JAX sets
    its cache up at the first compile, so it is reset to take the new folder."""
    import jax
    from jax._src import compilation_cache

    folder = cache_dir(path)
    compilation_cache.reset_cache()
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_time_s))
    return folder
