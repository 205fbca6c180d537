"""Load and validate the shipped evidence tables as pandas DataFrames (cached).

Every row is checked against :mod:`exerpain.evidence.schema`; a bad table fails loudly with an
:class:`~exerpain.errors.InputError` naming the file, the row and the column. Outcomes and
findings must cite a ``study_id`` present in ``studies.csv`` (referential integrity).
"""

from __future__ import annotations

import csv
import io
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from exerpain.errors import InputError
from exerpain.evidence.schema import TABLES

_UNIQUE = {"studies.csv": "study_id", "findings.csv": "finding_id"}
MAX_TABLE_BYTES = 16 * 1024 * 1024
"""Largest evidence table read (bytes; the shipped ones are under 60 KB): a user-supplied
``data_dir`` with a huge file is refused before it is read whole."""


def _shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for one-line error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _read_text(name: str, data_dir: str | None) -> str:
    """The table's text: at most :data:`MAX_TABLE_BYTES`, strict UTF-8 (a byte-order mark
    is allowed), or one InputError naming the file (and the row of a bad byte)."""
    if data_dir is None:
        source = resources.files("exerpain.evidence").joinpath("data").joinpath(name)
    else:
        source = Path(data_dir) / name
    try:
        with source.open("rb") as handle:
            raw = handle.read(MAX_TABLE_BYTES + 1)
    except (OSError, ValueError) as err:  # ValueError: e.g. a NUL in the path
        reason = getattr(err, "strerror", None) or str(err)
        raise InputError(f"{name}: cannot read evidence table ({reason})") from None
    if len(raw) > MAX_TABLE_BYTES:
        raise InputError(f"{name}: too large (more than {MAX_TABLE_BYTES} bytes; an evidence "
                         "table may have at most that many)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        row = raw.count(b"\n", 0, err.start) + 1
        raise InputError(f"{name}: row {row}: not UTF-8 text (byte 0x{raw[err.start]:02x}); "
                         "save the table as UTF-8") from None


def _error_column(err: ValidationError, columns: list[str]) -> tuple[str, str]:
    first = err.errors()[0]
    loc = [str(part) for part in first.get("loc", ())]
    msg = first.get("msg", str(err))
    if loc and loc[0] in columns:
        return loc[0], msg
    named = [c for c in columns if c in msg]  # row-level check: columns named in its message
    return (", ".join(named) or "(row)"), msg


@lru_cache(maxsize=16)
def _parse(name: str, data_dir: str | None) -> pd.DataFrame:
    model = TABLES[name]
    expected = list(model.model_fields)
    reader = csv.reader(io.StringIO(_read_text(name, data_dir)))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{name}: empty file") from None
    except csv.Error as err:
        raise InputError(f"{name}: row 1 (header): malformed CSV ({err})") from None
    missing = [c for c in expected if c not in header]
    unknown = [c for c in header if c not in expected]
    if missing or unknown:
        raise InputError(f"{name}: row 1 (header), column "
                         f"{(missing or unknown)[0][:60]!r}: "
                         + ("missing column" if missing else "unknown column")
                         + f"; expected columns {expected}")
    repeated = [c for c in expected if header.count(c) > 1]
    if repeated:  # the second cell would silently replace the first
        raise InputError(f"{name}: row 1 (header), column '{repeated[0]}': given more than "
                         "once")
    rows = []
    seen: dict[str, int] = {}
    key = _UNIQUE.get(name)
    try:
        for line_no, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                raise InputError(f"{name}: row {line_no}: expected {len(header)} fields, "
                                 f"got {len(cells)} (column '{header[-1]}')")
            record = {col: (cell if cell.strip() else None)
                      for col, cell in zip(header, cells, strict=True)}
            try:
                row = model.model_validate(record)
            except ValidationError as err:
                column, msg = _error_column(err, header)
                shown = f" (value {_shown(record[column])})" if column in record else ""
                raise InputError(f"{name}: row {line_no}, column '{column}'{shown}: "
                                 f"{msg}") from None
            if key is not None:
                ident = getattr(row, key)
                if ident in seen:
                    raise InputError(f"{name}: row {line_no}, column '{key}': duplicate "
                                     f"{_shown(ident)} (first on row {seen[ident]})")
                seen[ident] = line_no
            rows.append({**row.model_dump(), "row": line_no})
    except csv.Error as err:
        raise InputError(f"{name}: row {reader.line_num}: malformed CSV ({err})") from None
    if not rows:
        raise InputError(f"{name}: no rows")
    return pd.DataFrame(rows, columns=[*expected, "row"])


def _check_study_ids(name: str, table: pd.DataFrame, data_dir: str | None) -> None:
    known = set(_parse("studies.csv", data_dir)["study_id"])
    unknown = table.loc[~table["study_id"].isin(known)]
    if not unknown.empty:
        first = unknown.iloc[0]
        raise InputError(f"{name}: row {first['row']}, column 'study_id': "
                         f"{first['study_id']!r} is not in studies.csv")


def _key(data_dir: str | os.PathLike[str] | None) -> str | None:
    """The cache key of a data folder (its resolved path), or one InputError for a value
    that is not a path."""
    if data_dir is None:
        return None
    if not isinstance(data_dir, (str, os.PathLike)):
        raise InputError(f"data_dir: must be a folder path, not {type(data_dir).__name__}")
    try:
        return str(Path(data_dir).resolve())
    except (OSError, ValueError, RuntimeError) as err:  # NUL in the path, symlink loop
        raise InputError(f"data_dir {_shown(str(data_dir))}: not a usable path "
                         f"({err})") from None


def load_studies(data_dir: str | Path | None = None) -> pd.DataFrame:
    """Studies (one row per source): study_id, citation, year, doi_or_pmid, url_seen, species,
    population, design; ``row`` is the CSV line number. ``data_dir`` overrides the shipped
    ``exerpain/evidence/data`` folder."""
    return _parse("studies.csv", _key(data_dir)).copy()


def load_outcomes(data_dir: str | Path | None = None) -> pd.DataFrame:
    """Effect sizes (one row per arm / outcome / effect), see
    :class:`~exerpain.evidence.schema.Outcome`; blank cells are ``None``/NaN (unknown)."""
    key = _key(data_dir)
    table = _parse("outcomes.csv", key)
    _check_study_ids("outcomes.csv", table, key)
    return table.copy()


def load_findings(data_dir: str | Path | None = None) -> pd.DataFrame:
    """Directional and blockade findings, see :class:`~exerpain.evidence.schema.Finding`."""
    key = _key(data_dir)
    table = _parse("findings.csv", key)
    _check_study_ids("findings.csv", table, key)
    return table.copy()


def load_timecourses(data_dir: str | Path | None = None) -> pd.DataFrame:
    """Published courses over time (group means by day, and dated course statements), see
    :class:`~exerpain.evidence.schema.TimePoint`."""
    key = _key(data_dir)
    table = _parse("timecourses.csv", key)
    _check_study_ids("timecourses.csv", table, key)
    return table.copy()


def load_trials(data_dir: str | Path | None = None) -> pd.DataFrame:
    """Arms of published randomised trials (drugs, placebo, exercise), see
    :class:`~exerpain.evidence.schema.TrialArm`."""
    return _parse("trials.csv", _key(data_dir)).copy()


def with_citations(table: pd.DataFrame, data_dir: str | Path | None = None) -> pd.DataFrame:
    """``table`` with the study's ``citation`` and ``doi_or_pmid`` joined on ``study_id``."""
    studies = load_studies(data_dir)[["study_id", "citation", "doi_or_pmid"]]
    return table.merge(studies, on="study_id", how="left")


def clear_cache() -> None:
    """Forget cached tables (after editing files under a ``data_dir``)."""
    _parse.cache_clear()
