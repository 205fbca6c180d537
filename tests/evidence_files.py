"""Shared helpers of the tests that load a user's copy of the evidence tables."""

from __future__ import annotations

import csv
import shutil
from importlib import resources
from pathlib import Path

DATA = Path(str(resources.files("exerpain.evidence").joinpath("data")))


def copy_data(tmp_path: Path) -> Path:
    """A copy of the shipped evidence folder under ``tmp_path``."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target


def edit_cell(path: Path, row: int, column: str, value: str) -> None:
    """Set ``column`` on CSV line ``row`` (header is line 1)."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows[row - 1][rows[0].index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
