"""Chunks of work, here or on a Dask cluster: :func:`map_chunks`.

The engines (cohorts, trials, sensitivity designs) cut their work into chunks whose results
depend only on the chunk's own arguments (subject ids, seeds, parameter rows), never on the
process that computes them. :func:`map_chunks` computes them one after the other in this
process (``dask=None``), or as Dask tasks (``dask="local"``: a ``LocalCluster`` of worker
processes on this machine, ``"local:N"`` with N workers; or the address of a running
scheduler, ``tcp://host:8786``), and yields the results **in chunk order**, so a caller
streams them to Parquet exactly as a single-process run would: the output is the same bit
for bit (the same compiled programs on the same inputs).

Fault tolerance is Dask's: a task whose worker dies is rescheduled on another worker (the
scheduler's ``allowed-failures``, 3 by default), and a task that raises is retried
:data:`RETRIES` times; a chunk computed twice gives the same rows, so a retry cannot change
the output. At most :data:`WINDOW_PER_WORKER` chunks per worker are in flight at once, so
the results held in memory stay bounded however many chunks there are.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from exerpain.errors import InputError

T = TypeVar("T")
R = TypeVar("R")

RETRIES = 2  # re-runs of a chunk whose task raised (a dead worker is handled by Dask)
WINDOW_PER_WORKER = 4  # chunks in flight per worker
_LOCAL = re.compile(r"^local(?::(\d{1,3}))?$")
_ADDRESS = re.compile(r"^(tcp|tls|ucx|inproc)://[\w.\-\[\]:]+$")


def check_dask(dask: str | None) -> str | None:
    """``dask`` if it is ``None``, ``local``, ``local:N`` (1 <= N <= 256) or a scheduler
    address (``tcp://host:port``); else :class:`InputError` naming ``dask``."""
    if dask is None:
        return None
    if not isinstance(dask, str):
        raise InputError(f"dask: must be 'local', 'local:N' or a scheduler address such as "
                         f"tcp://host:8786, got {dask!r}")
    text = dask.strip()
    match = _LOCAL.match(text)
    if match:
        if match.group(1) is not None and not 1 <= int(match.group(1)) <= 256:
            raise InputError(f"dask: local workers must be within 1-256, got {text!r}")
        return text
    if _ADDRESS.match(text):
        return text
    raise InputError(f"dask: must be 'local', 'local:N' or a scheduler address such as "
                     f"tcp://host:8786, got {dask!r}")


@contextlib.contextmanager
def client_for(dask: str):
    """A ``distributed.Client``: a new ``LocalCluster`` of single-threaded worker processes
    (``local`` = one per CPU core, ``local:N``), closed on exit, or a connection to the
    scheduler at an address (left running)."""
    from distributed import Client, LocalCluster

    match = _LOCAL.match(dask)
    if match is None:
        try:
            client = Client(dask, timeout="30s")
        except OSError as err:
            raise InputError(f"dask: no scheduler answered at {dask} ({err})") from err
        with client:
            yield client
        return
    workers = int(match.group(1) or os.cpu_count() or 1)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, worker_dashboard_address=None) as cluster, \
            Client(cluster) as client:
        yield client


def map_chunks(fn: Callable[[T], R], items: Iterable[T], dask: str | None = None,
               label: str = "chunk") -> Iterator[R]:
    """``fn(item)`` for every item, yielded in the order of ``items``: here (``dask``
    ``None``) or as Dask tasks (see the module docstring). ``fn`` must be picklable (a
    module-level function, or a ``functools.partial`` of one); ``label`` names the tasks."""
    dask = check_dask(dask)
    if dask is None:
        for item in items:
            yield fn(item)
        return
    with client_for(dask) as client:
        yield from _ordered(client, fn, items, label)


_WORKER_PLANS: dict[str, Any] = {}


def worker_plan(key: str, build: Callable[[], R]) -> R:
    """What every chunk of one job shares (a cohort's or a trial's plan), in the process that
    runs the chunk: built by ``build()`` once per process and ``key`` (the latest job's is
    kept). The first call switches JAX's persistent compilation cache on, so the workers of
    a cluster share their compiled solvers on disk."""
    if not _WORKER_PLANS:
        from exerpain.compile_cache import enable_compile_cache

        enable_compile_cache()
    if key not in _WORKER_PLANS:
        _WORKER_PLANS.clear()
        _WORKER_PLANS[key] = build()
    return _WORKER_PLANS[key]


def _ordered(client: Any, fn: Callable[[T], R], items: Iterable[T], label: str) -> Iterator[R]:
    workers = max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))
    window = WINDOW_PER_WORKER * workers
    pending: deque = deque()
    source = iter(enumerate(items))
    try:
        while True:
            while len(pending) < window:
                nxt = next(source, None)
                if nxt is None:
                    break
                index, item = nxt
                pending.append(client.submit(fn, item, key=f"exerpain-{label}-{index}-"
                                             f"{os.urandom(4).hex()}", retries=RETRIES,
                                             pure=False))
            if not pending:
                return
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
