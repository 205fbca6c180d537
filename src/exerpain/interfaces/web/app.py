"""The HTTP API and the web page (FastAPI): :func:`create_app`.

Routes (all of ``/api`` need the bearer token when the server has one):

- ``GET /``: the page (``page.html``: one static file, no external resources);
- ``GET /api/catalogue``: conditions, protocols, interventions, mechanisms, this server's
  limits;
- ``GET /api/spec-schema``: the JSON schema of a run spec (the body of ``POST /api/jobs``);
- ``POST /api/jobs``: queue a run spec; 202 ``{"job_id", "status"}``. The spec is checked
  before a job exists (422 naming the field; 503 when the queue is full);
- ``GET /api/jobs``, ``GET /api/jobs/{job_id}``: status, progress, run id, summary, error;
- ``POST /api/jobs/{job_id}/cancel``; ``GET /api/jobs/{job_id}/figure.png``;
- ``GET /api/runs``, ``GET /api/runs/{run_id}``: the run store
  (:mod:`exerpain.interfaces.runstore`); ``GET /api/runs/{run_id}/report``: a run's HTML
  report, when :mod:`exerpain.interfaces.report` is installed;
- ``GET /openapi.json``: the OpenAPI schema (``/docs`` and ``/redoc`` are off: they load
  scripts from a CDN).

Every error has FastAPI's validation shape ``{"detail": [{"loc", "msg", "type"}]}``: 422 for bad
input (``loc`` names the field, e.g. ``["body", "params", "opioid", "k_opioid"]``), 401 for a
missing or wrong token, 413 for an oversized body, 404 for an unknown job or run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from exerpain.errors import InputError
from exerpain.interfaces.runspec import KINDS, RunSpec, check_spec, schema
from exerpain.interfaces.web.jobs import JobQueue, QueueFullError, json_safe
from exerpain.interfaces.web.security import (
    BearerToken,
    BodySizeLimit,
    LocalHostOnly,
    check_request_limits,
    error_detail,
    is_loopback,
)

REPORT_MODULE = "exerpain.interfaces.report"
FIELD = re.compile(r"^[A-Za-z_][\w\-]*(\.[\w\-]+)*$")
FIELD_ALIASES = {"intervention": "interventions"}
"""Field names in engine messages that differ from the spec's."""
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; "
                               "style-src 'unsafe-inline'; img-src 'self' blob: data:; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class ServerSettings:
    """A server's address, token and limits (defaults: this machine only, no token)."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    max_body_kb: int = 64
    """request bodies above this many KiB: 413"""
    max_cohort_n: int = 2000
    """virtual subjects per cohort request (and randomised per trial request)"""
    max_memory_gb: float = 2.0
    """a cohort's chunk memory per request"""
    max_replicates: int = 1000
    """replicate trials per trial request"""
    job_time_limit_s: float = 900
    max_queued: int = 8
    workers: int = 1
    keep_jobs: int = 100
    """finished jobs (and their figures) kept in memory"""

    def __post_init__(self) -> None:
        if self.token is not None and not self.token.strip():
            raise InputError("token: empty; give a token or none")
        if self.token is None and not is_loopback(self.host):
            raise InputError(f"token: serving on {self.host!r} (reachable from other "
                             "machines) needs a token: --token or $EXERPAIN_TOKEN")
        for name in ("max_body_kb", "max_cohort_n", "max_replicates", "workers", "keep_jobs"):
            if getattr(self, name) < 1:
                raise InputError(f"{name}: must be at least 1, got {getattr(self, name)}")
        if self.max_queued < 0:
            raise InputError(f"max_queued: must be 0 or more, got {self.max_queued}")
        for name in ("max_memory_gb", "job_time_limit_s"):
            if not getattr(self, name) > 0:
                raise InputError(f"{name}: must be above 0, got {getattr(self, name)}")
        if not 0 <= self.port <= 65535:
            raise InputError(f"port: must be 0-65535, got {self.port}")

    @property
    def allowed_hosts(self) -> list[str]:
        """Host headers accepted without a token: this machine's names only, so that a web
        page elsewhere cannot reach the server through DNS rebinding."""
        return sorted({"127.0.0.1", "localhost", "::1", "[::1]", self.host})


class Progress(BaseModel):
    done: int
    total: int
    unit: str


class JobAccepted(BaseModel):
    job_id: str
    status: str


class JobView(BaseModel):
    job_id: str
    kind: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    progress: Progress
    queue_position: int | None
    cancel_requested: bool
    run_id: str | None
    summary: dict[str, Any] | None
    headline: dict[str, Any] | None
    error: str | None
    has_figure: bool
    created: float
    started: float | None
    ended: float | None


def _loc_of(field: str) -> list:
    parts = [FIELD_ALIASES.get(field, field)] if "." not in field else field.split(".")
    return ["body", *(int(p) if p.isdigit() else p for p in parts)]


def input_error_detail(err: InputError) -> list[dict]:
    """An :class:`InputError` (``"field.path: message"``) in FastAPI's error shape."""
    field, sep, msg = str(err).partition(": ")
    if sep and FIELD.match(field):
        return error_detail(_loc_of(field), msg, "value_error")
    return error_detail(["body"], str(err), "value_error")


def _validation_item(error: dict) -> dict:
    """One pydantic error with the discriminator's tag left out of ``loc``."""
    loc = [x for x in error.get("loc", ()) if x not in KINDS]
    msg = str(error.get("msg", "")).removeprefix("Value error, ")
    kind = str(error.get("type", "value_error"))
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        loc, msg = ["body", "kind"], f"must be one of {', '.join(KINDS)}"
    elif kind == "extra_forbidden":
        msg = "unknown field"
    elif loc and loc[-1] == "params":  # the overrides' own messages name group.name
        field, sep, rest = msg.partition(": ")
        if sep and FIELD.match(field):
            loc, msg = [*loc, *field.split(".")], rest
    return {"loc": loc, "msg": msg, "type": kind}


def _unprocessable(detail: list[dict]) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=422)


def _not_found(loc: list, msg: str) -> HTTPException:
    return HTTPException(404, detail=error_detail(loc, msg, "not_found"))


def page_html() -> str:
    return resources.files("exerpain.interfaces.web").joinpath("page.html").read_text()


def report_available() -> bool:
    return importlib.util.find_spec(REPORT_MODULE) is not None


def _job_routes(router: APIRouter, settings: ServerSettings, jobs: JobQueue) -> None:
    def job_or_404(job_id: str):
        job = jobs.get(job_id)
        if job is None:
            raise _not_found(["path", "job_id"], f"no job {job_id!r} (jobs are kept in "
                                                 "memory until the server stops)")
        return job

    @router.post("/jobs", status_code=202, response_model=JobAccepted,
                 summary="Queue a run (simulate, cohort or trial)")
    def submit(spec: Annotated[RunSpec, Body(description="a run spec (GET /api/spec-schema)")]
               ) -> dict:
        check_request_limits(spec, settings.max_cohort_n, settings.max_memory_gb,
                             settings.max_replicates)
        check_spec(spec)
        try:
            job = jobs.submit(spec)
        except QueueFullError as err:
            raise HTTPException(503, detail=error_detail(["body"], str(err), "queue_full"),
                                headers={"Retry-After": "30"}) from None
        return {"job_id": job.job_id, "status": job.status}

    @router.get("/jobs", response_model=list[JobView], summary="Jobs, newest first")
    def list_jobs() -> list[dict]:
        return [jobs.view(job) for job in jobs.jobs()]

    @router.get("/jobs/{job_id}", response_model=JobView, summary="A job's state")
    def get_job(job_id: str) -> dict:
        return jobs.view(job_or_404(job_id))

    @router.post("/jobs/{job_id}/cancel", response_model=JobView, summary="Cancel a job")
    def cancel_job(job_id: str) -> dict:
        job = job_or_404(job_id)
        if job.status in ("done", "failed"):
            raise HTTPException(409, detail=error_detail(
                ["path", "job_id"], f"job {job_id} is {job.status} already", "conflict"))
        return jobs.view(jobs.cancel(job_id))

    @router.get("/jobs/{job_id}/figure.png", response_class=Response,
                responses={200: {"content": {"image/png": {}}}}, summary="A job's figure")
    def job_figure(job_id: str) -> Response:
        job = job_or_404(job_id)
        if job.figure_png is None:
            why = f"job {job_id} is {job.status}" if job.status != "done" \
                else f"job {job_id} has no figure"
            raise HTTPException(409 if job.status != "done" else 404,
                                detail=error_detail(["path", "job_id"], why, "no_figure"))
        return Response(job.figure_png, media_type="image/png",
                        headers={"Cache-Control": "no-store"})


def _run_routes(router: APIRouter, report: bool) -> None:
    from exerpain.interfaces import runstore

    def run_or_404(run_id: str) -> dict:
        try:
            return runstore.get_run(run_id)
        except InputError as err:
            raise _not_found(["path", "run_id"], str(err).removeprefix("run_id: ")) from None

    @router.get("/runs", summary="The run store, newest first")
    def list_runs(limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  kind: Literal["simulate", "cohort", "trial"] | None = None) -> list[dict]:
        return json_safe(runstore.list_runs(limit, kind))

    @router.get("/runs/{run_id}", summary="One run, with its provenance")
    def get_run(run_id: str) -> dict:
        return json_safe(run_or_404(run_id))

    if report:
        @router.get("/runs/{run_id}/report", response_class=HTMLResponse,
                    summary="A run's HTML report")
        def run_report(run_id: str) -> HTMLResponse:
            from exerpain.interfaces.report import build_report

            folder = run_or_404(run_id).get("folder")
            if not folder or not Path(folder).is_dir():
                raise _not_found(["path", "run_id"], f"run {run_id}'s output folder is gone")
            return HTMLResponse(build_report(Path(folder)), headers=PAGE_HEADERS)


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The application: the page, the JSON API and its job queue (started now, stopped when
    the application shuts down)."""
    from exerpain import __version__

    settings = settings or ServerSettings()
    jobs = JobQueue(workers=settings.workers, max_queued=settings.max_queued,
                    time_limit_s=settings.job_time_limit_s, keep=settings.keep_jobs)
    report = report_available()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.close()

    app = FastAPI(title="exerpain", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json",
                  description="Simulate exercise-induced hypoalgesia in neuropathic pain: "
                              "queue runs, follow them, browse the run store.")
    app.state.settings, app.state.jobs = settings, jobs
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_kb * 1024)
    if settings.token is None:
        app.add_middleware(LocalHostOnly, allowed_hosts=settings.allowed_hosts)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, err: RequestValidationError) -> JSONResponse:
        return _unprocessable(json_safe([_validation_item(e) for e in err.errors()]))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, err: StarletteHTTPException) -> JSONResponse:
        detail = err.detail if isinstance(err.detail, list) else error_detail(
            ["body"] if err.status_code == 400 else [], str(err.detail), "http_error")
        return JSONResponse({"detail": detail}, status_code=err.status_code,
                            headers=getattr(err, "headers", None))

    @app.exception_handler(InputError)
    async def _input(_: Request, err: InputError) -> JSONResponse:
        return _unprocessable(input_error_detail(err))

    router = APIRouter(prefix="/api", dependencies=[Depends(BearerToken(settings.token))])
    catalogue_cache: dict = {}

    @router.get("/catalogue", summary="What can be chosen, and this server's limits")
    def catalogue() -> dict:
        if not catalogue_cache:
            from exerpain.interfaces.catalogue import catalogue as model_catalogue

            catalogue_cache.update(json_safe(model_catalogue()))
        return {**catalogue_cache, "kinds": list(KINDS), "report": report,
                "auth": settings.token is not None,
                "limits": {"max_body_kb": settings.max_body_kb,
                           "max_cohort_n": settings.max_cohort_n,
                           "max_memory_gb": settings.max_memory_gb,
                           "max_replicates": settings.max_replicates,
                           "job_time_limit_s": settings.job_time_limit_s,
                           "max_queued": settings.max_queued, "workers": settings.workers}}

    @router.get("/spec-schema", summary="The JSON schema of a run spec")
    def spec_schema() -> dict:
        return schema()

    _job_routes(router, settings, jobs)
    _run_routes(router, report)
    app.include_router(router)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(page_html(), headers=PAGE_HEADERS)

    return app
