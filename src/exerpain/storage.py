"""Writing results to an output folder without ever leaving it half-written.

Everything is computed before anything is written. Each file is written to a temporary file
in the destination folder and moved into place with an atomic ``os.replace``; the summary is
written last, so a ``summary.json`` always describes the files beside it. Files of an earlier
run that this run does not produce are left alone.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from exerpain.errors import InputError


def _clean(value):
    """JSON-safe values: NaN/inf become null; numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(data) -> str:
    return json.dumps(_clean(data), indent=2, sort_keys=False)


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Run ``write(tmp_path)`` on a temporary file beside ``path``, then move it into place
    atomically; on any failure the temporary file is removed and ``path`` is untouched."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prepare_folder(out: str | Path) -> Path:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"out: {out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"out: cannot create {out} ({err.strerror})") from None
    return out


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def write_json(path: Path, data) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(to_json(data) + "\n"))


def write_results(out: str | Path, tables: dict[str, pd.DataFrame], summary: dict,
                  extra: Callable[[Path], None] | None = None) -> Path:
    """Write ``{name}.parquet`` tables, optional extra files, then ``summary.json``."""
    folder = prepare_folder(out)
    for name, frame in tables.items():
        write_parquet(folder / f"{name}.parquet", frame)
    if extra is not None:
        extra(folder)
    write_json(folder / "summary.json", summary)
    return folder
