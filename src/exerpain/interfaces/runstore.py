"""The run store: every run and its headline results, in one embedded DuckDB file.

The file is ``runs.duckdb`` in the data directory (:mod:`exerpain.datadir`; set
``$EXERPAIN_DATA_DIR`` to move it). A row per run: id, kind, status, times, condition,
protocol, n, seed, calibration name and hash, parameter hash, version, output folder,
command, and the spec, headline results and whole provenance as JSON.

Concurrency and atomicity: DuckDB lets one process at a time open a file for writing. Every
access therefore takes an advisory lock on ``runs.duckdb.lock`` (``fcntl.flock``: exclusive
to write, shared to read; it also serialises threads, each access opening its own
descriptor) and holds the connection only for one short transaction, so runs in several
processes at once queue for milliseconds and never corrupt the file; a write is one
transaction (all of a row or nothing).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from pathlib import Path

from exerpain.errors import InputError

COLUMNS = (
    ("run_id", "VARCHAR PRIMARY KEY"), ("kind", "VARCHAR"), ("status", "VARCHAR"),
    ("started", "VARCHAR"), ("ended", "VARCHAR"), ("runtime_s", "DOUBLE"),
    ("condition", "VARCHAR"), ("protocol", "VARCHAR"), ("n", "BIGINT"), ("seed", "BIGINT"),
    ("calibration", "VARCHAR"), ("calibration_sha256", "VARCHAR"),
    ("parameters_sha256", "VARCHAR"), ("version", "VARCHAR"), ("folder", "VARCHAR"),
    ("command", "VARCHAR"), ("spec", "VARCHAR"), ("headline", "VARCHAR"),
    ("provenance", "VARCHAR"),
)
NAMES = tuple(name for name, _ in COLUMNS)
JSON_COLUMNS = ("spec", "headline", "provenance")


def _path(path: Path | None) -> Path:
    if path is not None:
        return Path(path)
    from exerpain.datadir import store_path

    return store_path()


@contextlib.contextmanager
def _connect(path: Path | None = None, write: bool = False) -> Iterator:
    import duckdb

    path = _path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if write or not path.exists() else fcntl.LOCK_SH)
        try:
            con = duckdb.connect(str(path), read_only=not write and path.exists())
            try:
                if write:
                    con.execute("CREATE TABLE IF NOT EXISTS runs ("
                                + ", ".join(f"{n} {t}" for n, t in COLUMNS) + ")")
                yield con
            finally:
                con.close()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _row(provenance: dict, folder: Path | None) -> tuple:
    spec = provenance.get("spec", {})
    protocol = spec.get("protocol")
    return (
        provenance["run_id"], provenance["kind"], provenance["status"],
        provenance.get("started"), provenance.get("ended"), provenance.get("runtime_s"),
        spec.get("condition"),
        protocol if isinstance(protocol, str) or protocol is None else json.dumps(protocol),
        spec.get("n"), spec.get("seed"),
        provenance.get("calibration", {}).get("name"),
        provenance.get("calibration", {}).get("sha256"),
        provenance.get("parameters", {}).get("sha256"), provenance.get("exerpain_version"),
        str(Path(folder).absolute()) if folder is not None else None,
        " ".join(provenance.get("command") or []),
        json.dumps(spec), json.dumps(provenance.get("headline", {})), json.dumps(provenance),
    )


def record(provenance: dict, folder: Path | None = None, path: Path | None = None) -> None:
    """Add a run (its ``run.json`` content) to the store, in one transaction."""
    row = _row(provenance, folder)
    with _connect(path, write=True) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"INSERT INTO runs VALUES ({', '.join('?' * len(NAMES))})", row)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def _decode(names, row) -> dict:
    out = dict(zip(names, row, strict=True))
    for key in JSON_COLUMNS:
        if key in out and out[key] is not None:
            out[key] = json.loads(out[key])
    return out


def list_runs(limit: int = 50, kind: str | None = None, path: Path | None = None
              ) -> list[dict]:
    """The newest ``limit`` runs (optionally of one ``kind``), newest first, without the
    whole provenance."""
    if not _path(path).exists():
        return []
    shown = [n for n in NAMES if n != "provenance"]
    where, args = ("WHERE kind = ?", [kind]) if kind else ("", [])
    with _connect(path) as con:
        rows = con.execute(f"SELECT {', '.join(shown)} FROM runs {where} "
                           "ORDER BY started DESC, run_id DESC LIMIT ?", [*args, limit]
                           ).fetchall()
    return [_decode(shown, r) for r in rows]


def get_run(run_id: str, path: Path | None = None) -> dict:
    """One run, whole; a unique prefix of its id is enough. :class:`InputError` naming
    ``run_id`` when no run (or several) match."""
    if not isinstance(run_id, str) or not run_id.strip():
        raise InputError("run_id: give a run id (`exerpain runs list` shows them)")
    if not _path(path).exists():
        raise InputError(f"run_id: no run {run_id!r}; the run store is empty")
    with _connect(path) as con:
        rows = con.execute(f"SELECT {', '.join(NAMES)} FROM runs WHERE starts_with(run_id, ?) "
                           "ORDER BY run_id LIMIT 3", [run_id.strip()]).fetchall()
    if not rows:
        raise InputError(f"run_id: no run {run_id!r} in the run store")
    if len(rows) > 1:
        raise InputError(f"run_id: {run_id!r} matches several runs "
                         f"({', '.join(r[0] for r in rows)}, ...); give more of it")
    return _decode(NAMES, rows[0])


def _flat(data, prefix: str = "") -> dict:
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: data}


def compare(a: str, b: str, path: Path | None = None) -> dict:
    """What differs between two runs: spec fields, parameters (resolved values), headline
    results, calibration and version. Each: ``{key: [value in a, value in b]}``."""
    ra, rb = get_run(a, path), get_run(b, path)
    pa, pb = ra["provenance"], rb["provenance"]

    def diff(x: dict, y: dict) -> dict:
        fx, fy = _flat(x), _flat(y)
        return {k: [fx.get(k), fy.get(k)] for k in sorted(set(fx) | set(fy))
                if fx.get(k) != fy.get(k)}

    same = ("exerpain_version", "git_commit", "device")
    return {
        "runs": [ra["run_id"], rb["run_id"]],
        "spec": diff(ra["spec"], rb["spec"]),
        "parameters": diff(pa.get("parameters", {}).get("values", {}),
                           pb.get("parameters", {}).get("values", {})),
        "calibration": diff(pa.get("calibration", {}), pb.get("calibration", {})),
        "environment": diff({k: pa.get(k) for k in same}, {k: pb.get(k) for k in same}),
        "headline": diff(ra["headline"], rb["headline"]),
    }
