"""Reading a run folder for its report: ``run.json``, ``summary.json``, the run's kind and its
tables (:mod:`exerpain.interfaces.report`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from exerpain.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

RUN_FILE = "run.json"
SUMMARY_FILE = "summary.json"
SCHEMA_PREFIX = "exerpain.run/"
KIND_FILES = {"simulate": "trajectory.parquet", "cohort": "subjects.parquet",
              "trial": "replicates.parquet"}
"""The table that tells a run's kind when ``run.json`` does not say."""


def as_dict(value: object) -> dict:
    """``value`` if it is a JSON object, else ``{}`` (a file's entry of the wrong type reads
    as empty)."""
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class RunFolder:
    """What a run folder holds, read once."""

    path: Path
    run: dict  # run.json
    summary: dict  # summary.json ({} if absent or unreadable; see summary_problem)
    summary_problem: str | None
    kind: str | None  # simulate / cohort / trial (None: unknown)


def _load_json(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))


def read_run_folder(run_dir: Path | str) -> RunFolder:
    """Read ``run_dir``'s ``run.json`` and ``summary.json``; :class:`InputError` naming
    ``run_dir`` if it is not an exerpain run folder."""
    if str(run_dir).strip() == "" or "\0" in str(run_dir):
        raise InputError("run_dir: give the folder a run wrote (exerpain simulate/cohort/trial "
                         "--out)")
    path = Path(run_dir).expanduser()
    if not path.exists():
        raise InputError(f"run_dir: {path} does not exist")
    if not path.is_dir():
        raise InputError(f"run_dir: {path} is not a folder; give the folder a run wrote")
    run_file = path / RUN_FILE
    if not run_file.is_file():
        raise InputError(f"run_dir: no {RUN_FILE} in {path}; not an exerpain run folder "
                         "(exerpain simulate/cohort/trial --out write one)")
    try:
        run = _load_json(run_file)
    except OSError as err:
        raise InputError(f"run_dir: cannot read {run_file} ({err.strerror})") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise InputError(f"run_dir: not an exerpain run folder ({RUN_FILE} is not valid JSON: "
                         f"{err})") from None
    if not isinstance(run, dict):
        raise InputError(f"run_dir: not an exerpain run folder ({RUN_FILE} holds a "
                         f"{type(run).__name__}, not a run record)")
    schema = run.get("schema", SCHEMA_PREFIX)
    if not isinstance(schema, str) or not schema.startswith(SCHEMA_PREFIX):
        raise InputError(f"run_dir: not an exerpain run folder ({RUN_FILE} has schema "
                         f"{str(schema)[:60]!r}, expected {SCHEMA_PREFIX}1)")
    summary, problem = {}, None
    summary_file = path / SUMMARY_FILE
    if not summary_file.is_file():
        problem = f"no {SUMMARY_FILE} in the folder"
    else:
        try:
            loaded = _load_json(summary_file)
        except (OSError, ValueError, UnicodeDecodeError) as err:
            problem = f"{SUMMARY_FILE} could not be read ({err})"
        else:
            if isinstance(loaded, dict):
                summary = loaded
            else:
                problem = f"{SUMMARY_FILE} is not a JSON object"
    return RunFolder(path, run, summary, problem, _kind(path, run))


def _kind(path: Path, run: dict) -> str | None:
    for candidate in (run.get("kind"), as_dict(run.get("spec")).get("kind")):
        if isinstance(candidate, str) and candidate:
            return candidate
    for kind, name in KIND_FILES.items():
        if (path / name).is_file():
            return kind
    return None


def read_table(folder: Path, name: str, columns: Iterable[str]
               ) -> tuple[pd.DataFrame | None, str | None]:
    """The ``columns`` of ``folder/name`` that exist (a frame), or ``None`` and why not."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / name
    if not path.is_file():
        return None, f"{name} is not in the folder"
    try:
        present = set(pq.read_schema(path).names)
        wanted = [c for c in dict.fromkeys(columns) if c in present]
        return pq.read_table(path, columns=wanted).to_pandas(), None
    except (OSError, ValueError, pa.ArrowException) as err:
        return None, f"{name} could not be read ({err})"

