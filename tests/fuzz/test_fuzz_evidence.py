"""Fuzzing user-supplied evidence folders (Hypothesis): a copy of the shipped tables with
cells replaced (bad numbers, NaN, booleans, long or odd text, quotes and line breaks), rows
and columns added or dropped, and bytes inserted or cut (non-UTF-8, truncation). Loading the
folder (``data_dir``) must give tables or one :class:`InputError`; any other exception fails
the test with the edit that caused it. The loader's cache is cleared before each case.
"""

from __future__ import annotations

import csv
import io
import math
import shutil
import tempfile
from importlib import resources
from pathlib import Path

import pandas as pd
from hypothesis import event, given
from hypothesis import strategies as st

from exerpain.errors import InputError
from exerpain.evidence import load as evidence

SHIPPED = Path(str(resources.files("exerpain.evidence").joinpath("data")))
DATA = Path(tempfile.mkdtemp(prefix="exerpain-fuzz-evidence-")) / "data"
shutil.copytree(SHIPPED, DATA)
ORIGINAL = {p.name: p.read_bytes() for p in DATA.glob("*.csv")}
ROWS = {name: list(csv.reader(io.StringIO(raw.decode("utf-8"))))
        for name, raw in ORIGINAL.items()}
# Each table's loader; studies.csv is loaded through findings (which also checks study_id).
LOADERS = {"studies.csv": evidence.load_findings, "outcomes.csv": evidence.load_outcomes,
           "findings.csv": evidence.load_findings, "timecourses.csv": evidence.load_timecourses,
           "trials.csv": evidence.load_trials}
REQUIRED_NUMBERS = {"outcomes.csv": ("effect",), "timecourses.csv": ("day",)}

cells = st.one_of(
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**6, 10**6).map(str), st.integers(-10**40, 10**40).map(str),
    st.sampled_from(["", " ", "nan", "NaN", "inf", "-inf", "1e999", "True", "false", "none",
                     "0", "-1", "2100", "1949", "1_000", "0x10", "\u0663", "1,5", '"', "\n",
                     "a\r\nb", "https://x.org/y", "rat", "human", "cci", "favours_exercise",
                     "pooled", "study", "sd", "text", "course_statement", "opioid", "up",
                     "9" * 5000, "x" * 140_000]),
)


def _edits(name: str) -> st.SearchStrategy:
    """Up to four cells of ``name`` replaced: (line, column index, value)."""
    rows = ROWS[name]
    return st.lists(st.tuples(st.integers(2, len(rows)), st.integers(0, len(rows[0]) - 1),
                              cells), max_size=4)


structure = st.one_of(
    st.just(("none", 0, b"")), st.just(("none", 0, b"")), st.just(("none", 0, b"")),
    st.tuples(st.sampled_from(["drop_column", "add_column", "rename_column", "extra_cell",
                               "short_row", "duplicate_row", "duplicate_column"]),
              st.integers(0, 10**4), st.just(b"")),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=6)),
    st.tuples(st.sampled_from(["truncate", "bom", "empty", "header_only"]),
              st.integers(0, 10**6), st.just(b"")),
)
cases = st.sampled_from(sorted(ROWS)).flatmap(
    lambda name: st.tuples(st.just(name), _edits(name), structure))


def _apply(name: str, edits: list, how: tuple) -> bytes:
    rows = [list(r) for r in ROWS[name]]
    for line, column, value in edits:
        rows[line - 1][column] = value
    kind, where, payload = how
    line = 1 + where % (len(rows) - 1)
    column = where % len(rows[0])
    if kind == "drop_column":
        rows = [r[:column] + r[column + 1:] for r in rows]
    elif kind == "add_column":
        rows = [r + (["colour"] if i == 0 else ["red"]) for i, r in enumerate(rows)]
    elif kind == "rename_column":
        rows[0][column] = rows[0][column] + "_"
    elif kind == "duplicate_column":
        rows = [r + [r[column]] for r in rows]
    elif kind == "extra_cell":
        rows[line].append("x")
    elif kind == "short_row":
        rows[line] = rows[line][:-1]
    elif kind == "duplicate_row":
        rows.insert(line, list(rows[line]))
    elif kind == "header_only":
        rows = rows[:1]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    raw = out.getvalue().encode("utf-8", "surrogatepass")
    cut = where % (len(raw) + 1)
    if kind == "insert":
        raw = raw[:cut] + payload + raw[cut:]
    elif kind == "truncate":
        raw = raw[:cut]
    elif kind == "bom":
        raw = b"\xef\xbb\xbf" + raw
    elif kind == "empty":
        raw = b""
    return raw


@given(case=cases)
def test_evidence_folders_load_or_fail_cleanly(case):
    name, edits, how = case
    path = DATA / name
    path.write_bytes(_apply(name, edits, how))
    evidence.clear_cache()
    try:
        table = LOADERS[name](DATA)
    except InputError as err:
        message = str(err)
        assert "\n" not in message and message.split(":")[0] in ORIGINAL, message
        event("InputError: " + message.split(":")[0])
        return
    finally:
        path.write_bytes(ORIGINAL[name])
        evidence.clear_cache()
    event("loaded")
    assert isinstance(table, pd.DataFrame) and len(table) > 0
    for column in REQUIRED_NUMBERS.get(name, ()):
        assert all(math.isfinite(v) for v in table[column]), column
