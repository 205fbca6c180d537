"""The server's jobs: a bounded queue of run specs and a fixed pool of worker threads.

A job is one :func:`exerpain.interfaces.runner.execute` call, run in the background. It is
``queued`` until a worker takes it, then ``running``, then ``done``, ``failed`` or
``cancelled``. Bounds, so that one user cannot exhaust the machine:

- ``workers`` threads (default 1) run jobs, one each at a time;
- at most ``max_queued`` jobs wait; another is refused (:class:`QueueFullError`);
- each job runs under ``time_limit_s`` (passed to ``execute``, which stops it at its next
  progress point: a cohort's chunk, a trial's replicate);
- finished jobs are kept in memory, the newest ``keep`` of them, with their figure.

Cancelling a queued job removes it from the queue at once; a running job stops at its next
progress point. A job that fails or is cancelled leaves no output folder and no run-store
row (``execute`` writes into a temporary twin of the folder and renames it at the end).
Each job writes its results into ``runs_dir() / <job_id>``.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exerpain.errors import InputError

log = logging.getLogger("exerpain.serve")

STATUSES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")
FIGURE_DPI = 100


class QueueFullError(Exception):
    """The queue holds ``max_queued`` waiting jobs already."""


@dataclass
class Job:
    """One run in the background; :meth:`view` is what the API shows of it."""

    job_id: str
    spec: Any
    status: str = "queued"
    done: int = 0
    total: int = 0
    unit: str = ""
    run_id: str | None = None
    summary: dict | None = None
    headline: dict | None = None
    error: str | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    ended: float | None = None
    figure_png: bytes | None = field(default=None, repr=False)
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    def view(self, queue_position: int | None = None) -> dict:
        return {
            "job_id": self.job_id, "kind": self.spec.kind, "status": self.status,
            "progress": {"done": self.done, "total": self.total, "unit": self.unit},
            "queue_position": queue_position, "cancel_requested": self.cancel.is_set(),
            "run_id": self.run_id, "summary": self.summary, "headline": self.headline,
            "error": self.error, "has_figure": self.figure_png is not None,
            "created": self.created, "started": self.started, "ended": self.ended,
        }


def json_safe(data: Any) -> Any:
    """``data`` with NaN/inf as ``None`` and numpy scalars as Python numbers."""
    from exerpain.storage import to_json

    return json.loads(to_json(data))


def figure_png(result: Any) -> bytes | None:
    """The result's figure (its ``plot()``) as PNG bytes; ``None`` if it has none (a cohort
    streamed to its output folder reads its rows from the folder's final place)."""
    plot = getattr(result, "plot", None)
    if plot is None:
        return None
    buffer = io.BytesIO()
    plot().savefig(buffer, format="png", dpi=FIGURE_DPI, bbox_inches="tight")
    return buffer.getvalue()


def default_runs_dir() -> Path:
    """``runs/`` in the data directory (:func:`exerpain.datadir.data_dir`)."""
    from exerpain.datadir import data_dir

    return data_dir() / "runs"


class JobQueue:
    """Jobs run by ``workers`` threads from a queue of at most ``max_queued`` (module
    docstring). Thread-safe; :meth:`close` cancels everything and stops the workers."""

    def __init__(self, workers: int = 1, max_queued: int = 8, time_limit_s: float = 900,
                 keep: int = 100, runs_dir: Callable[[], Path] = default_runs_dir):
        if workers < 1 or max_queued < 0 or time_limit_s <= 0 or keep < 1:
            raise ValueError("workers >= 1, max_queued >= 0, time_limit_s > 0, keep >= 1")
        self.max_queued = max_queued
        self.time_limit_s = time_limit_s
        self.keep = keep
        self.runs_dir = runs_dir
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._waiting: deque[Job] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"exerpain-job-{i}",
                                          daemon=True) for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, spec: Any) -> Job:
        """Queue a checked spec; :class:`QueueFullError` when the queue is full."""
        with self._cond:
            if self._closed:
                raise QueueFullError("the server is shutting down")
            if len(self._waiting) >= self.max_queued:
                raise QueueFullError(f"the job queue is full ({self.max_queued} waiting); try "
                                "again later")
            job = Job(secrets.token_hex(8), spec)
            self._jobs[job.job_id] = job
            self._waiting.append(job)
            self._forget_old()
            self._cond.notify()
            return job

    def get(self, job_id: str) -> Job | None:
        with self._cond:
            return self._jobs.get(job_id)

    def view(self, job: Job) -> dict:
        """The job's state, with its place in the queue (0: next) while it waits."""
        with self._cond:
            position = next((i for i, j in enumerate(self._waiting) if j is job), None)
            return json_safe(job.view(position))

    def jobs(self) -> list[Job]:
        """Every job kept, newest first."""
        with self._cond:
            return list(reversed(self._jobs.values()))

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a job: a queued one at once, a running one at its next progress point. A
        finished job is left as it is. ``None`` if there is no such job."""
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None or job.status in FINISHED:
                return job
            job.cancel.set()
            if job.status == "queued":
                self._waiting.remove(job)
                self._finish(job, "cancelled", "cancelled before it started")
            return job

    def close(self, timeout_s: float = 5.0) -> None:
        """Cancel every job and stop the workers (waiting up to ``timeout_s`` for each)."""
        with self._cond:
            self._closed = True
            for job in self._jobs.values():
                job.cancel.set()
            while self._waiting:
                self._finish(self._waiting.popleft(), "cancelled", "the server stopped")
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout_s)

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.status in FINISHED]
        for job in finished[:max(0, len(finished) - self.keep)]:
            del self._jobs[job.job_id]

    def _finish(self, job: Job, status: str, error: str | None = None) -> None:
        job.status, job.error, job.ended = status, error, time.time()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                job = self._waiting.popleft()
                job.status, job.started = "running", time.time()
            self._run(job)

    def _run(self, job: Job) -> None:
        from exerpain.interfaces.runner import CancelledError, execute

        def progress(done: int, total: int, unit: str) -> None:
            job.done, job.total, job.unit = done, total, unit

        try:
            outcome = execute(job.spec, out=self.runs_dir() / job.job_id, progress=progress,
                              cancel=job.cancel, time_limit_s=self.time_limit_s,
                              command=["exerpain", "serve", "job", job.job_id], checked=True)
        except CancelledError:
            with self._cond:
                if job.cancel.is_set():
                    self._finish(job, "cancelled", "cancelled")
                else:
                    self._finish(job, "failed", f"time limit of {self.time_limit_s:g} s "
                                                "reached")
            return
        except InputError as err:
            with self._cond:
                self._finish(job, "failed", str(err))
            return
        except Exception as err:  # a worker must survive any job
            log.exception("job %s failed", job.job_id)
            with self._cond:
                self._finish(job, "failed", f"internal error: {type(err).__name__}: "
                                            f"{str(err).splitlines()[0][:200] if str(err) else ''}")
            return
        try:
            png = figure_png(outcome.result)
        except Exception:  # the run stands without its figure
            log.exception("job %s: figure failed", job.job_id)
            png = None
        with self._cond:
            job.run_id, job.summary, job.figure_png = outcome.run_id, outcome.summary, png
            job.headline = outcome.provenance.get("headline")
            job.done = max(job.done, job.total)
            self._finish(job, "done")
