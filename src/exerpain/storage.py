"""Writing results to an output folder: one run's files, never half-written, never mixed.

One discipline for every command that writes a folder (:class:`OutputFolder`): the target is
checked before any work starts (a path, a name the file system accepts, a writable parent,
not a folder of someone else's files); the run writes into a fresh temporary folder beside
the target and renames it into place at the end, so an output folder always holds exactly
one run's files. A folder that already holds results is replaced as a whole only with
``overwrite`` (and only if exerpain wrote it: it carries :data:`MARKER`). A run that fails
or is interrupted removes its temporary folder; one that was killed (SIGKILL) leaves it,
and the next run writing beside it removes it (its process is gone). Single files (a plot)
are written by :func:`atomic_write`: a temporary file, then ``os.replace``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from exerpain.errors import InputError

if TYPE_CHECKING:  # pandas and pyarrow are imported where a table is written (light import)
    import pandas as pd


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


MARKER = ".exerpain-run"
"""File every output folder carries: what may be replaced with ``overwrite``."""
PARTIAL_PREFIX = ".exerpain-partial-"
"""Temporary folders: ``{PARTIAL_PREFIX}{pid}-{random}`` beside the target."""
RETIRED_PREFIX = ".exerpain-retired-"
"""An overwritten folder between the swap and its removal."""

COMMIT_LOCK = threading.Lock()
"""Held while a finished run is swapped into place and while an interrupt cleans up, so an
interrupt never lands between removing the old results and renaming in the new ones."""
_PENDING: set[Path] = set()
"""Temporary and retired folders of this process, removed on an interrupt
(:func:`abandon_all`)."""


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _existing_parent(path: Path) -> Path:
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(parent: Path) -> list[Path]:
    """Remove temporary and retired folders in ``parent`` left by processes that are gone
    (a run killed with SIGKILL); returns what was removed."""
    removed = []
    for prefix in (PARTIAL_PREFIX, RETIRED_PREFIX):
        for path in parent.glob(f"{prefix}*"):
            pid = path.name[len(prefix):].split("-", 1)[0]
            if pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


def check_target(out: str | Path, overwrite: bool = False, field: str = "out") -> Path:
    """Check an output folder before any work: :class:`InputError` naming ``field`` if it
    cannot receive this run's results. Returns the target as a :class:`Path`."""
    if str(out).strip() == "":
        raise InputError(f"{field}: empty path; give a folder name")
    if "\0" in str(out):
        raise InputError(f"{field}: the path contains a NUL byte")
    target = Path(out).expanduser()
    if target.name in ("", ".", ".."):
        raise InputError(f"{field}: {str(out)!r} does not name a new folder; give a folder name, "
                         "e.g. results/run1")
    parent = _existing_parent(target.absolute())
    limit = _name_max(parent)
    for part in target.parts:
        if len(part.encode("utf-8", "surrogateescape")) > limit:
            raise InputError(f"{field}: the name {part[:40]!r}... is "
                             f"{len(part.encode('utf-8', 'surrogateescape'))} bytes; the file "
                             f"system allows at most {limit}")
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise InputError(f"{field}: {target} exists and is not a folder")
        entries = sorted(p.name for p in target.iterdir())
        if entries:
            if not overwrite:
                shown = ", ".join(e for e in entries if e != MARKER)[:120]
                raise InputError(f"{field}: {target} already holds results ({shown}); pass "
                                 "--overwrite to replace them, or choose another folder")
            if MARKER not in entries:
                raise InputError(f"{field}: {target} holds files exerpain did not write; "
                                 "--overwrite replaces only exerpain's output folders; choose "
                                 "another folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{field}: cannot write in {parent} (permission denied)")
    return target


class OutputFolder:
    """``with OutputFolder(out, overwrite) as folder:`` write into ``folder`` (a temporary
    folder beside ``out``); on normal exit it becomes ``out``, on an exception it is removed
    and ``out`` is untouched. The target is checked when the object is made, so make it
    before the run's work."""

    def __init__(self, out: str | Path, overwrite: bool = False, field: str = "out"):
        self.target = check_target(out, overwrite, field)
        self.overwrite = overwrite
        self.field = field
        self.temp: Path | None = None

    def __enter__(self) -> Path:
        parent = self.target.absolute().parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(f"{self.field}: cannot create {parent} ({err.strerror})") from None
        remove_stale(parent)
        self.temp = parent / f"{PARTIAL_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        try:
            self.temp.mkdir()
        except OSError as err:
            raise InputError(f"{self.field}: cannot write in {parent} ({err.strerror})") from None
        _PENDING.add(self.temp)
        (self.temp / MARKER).write_text("written by exerpain; this folder is one run's output\n")
        return self.temp

    def __exit__(self, kind, value, traceback) -> None:
        assert self.temp is not None
        if kind is not None:
            self._discard(self.temp)
            return
        try:
            self._commit()
        except BaseException:
            self._discard(self.temp)  # e.g. another run filled the target meanwhile
            raise

    def _discard(self, path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)
        _PENDING.discard(path)

    def _commit(self) -> None:
        target, temp = self.target.absolute(), self.temp
        with COMMIT_LOCK:
            # re-checked: another run may have written the target meanwhile
            check_target(self.target, self.overwrite, self.field)
            retired = None
            if target.exists() and any(target.iterdir()):
                retired = target.parent / f"{RETIRED_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
                _PENDING.add(retired)
                os.rename(target, retired)
            os.replace(temp, target)  # onto nothing or an empty folder: atomic
            _PENDING.discard(temp)
        if retired is not None:
            self._discard(retired)


@contextlib.contextmanager
def maybe_output(out: str | Path | None, overwrite: bool = False) -> Iterator[Path | None]:
    """:class:`OutputFolder` when ``out`` is given, else ``None`` (results stay in memory).
    The target is checked on entry, before the body's work."""
    if out is None:
        yield None
        return
    with OutputFolder(out, overwrite) as folder:
        yield folder


def abandon_all() -> None:
    """Remove this process's temporary folders (an interrupt). Waits for a swap in progress
    to finish, so the target holds either the old results or the new ones."""
    with COMMIT_LOCK:
        for path in list(_PENDING):
            shutil.rmtree(path, ignore_errors=True)
        _PENDING.clear()


def writable_file(path: str | Path, field: str) -> Path:
    """Check a single output file before any work: not a folder, in a writable folder."""
    if str(path).strip() == "":
        raise InputError(f"{field}: empty path")
    target = Path(path).expanduser()
    if target.is_dir():
        raise InputError(f"{field}: {target} is a folder; give a file name")
    parent = _existing_parent(target.absolute())
    if not parent.is_dir():
        raise InputError(f"{field}: {parent} is not a folder")
    if len(target.name.encode("utf-8", "surrogateescape")) > _name_max(parent):
        raise InputError(f"{field}: the file name is longer than the file system allows")
    try:  # os.access says yes to root everywhere, even in /proc: try it
        fd, probe = tempfile.mkstemp(prefix=".exerpain-probe-", dir=parent)
    except OSError as err:
        raise InputError(f"{field}: cannot write in {parent} ({err.strerror})") from None
    os.close(fd)
    os.unlink(probe)
    return target


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def write_json(path: Path, data) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(to_json(data) + "\n"))


def write_results(folder: Path, tables: dict[str, pd.DataFrame], summary: dict,
                  extra: Callable[[Path], None] | None = None) -> Path:
    """Write ``{name}.parquet`` tables, optional extra files, then ``summary.json`` into
    ``folder`` (the temporary folder of an :class:`OutputFolder`)."""
    for name, frame in tables.items():
        write_parquet(folder / f"{name}.parquet", frame)
    if extra is not None:
        extra(folder)
    write_json(folder / "summary.json", summary)
    return folder
