"""The HTTP API (FastAPI's test client): a CCI simulation as a background job with its
figure, the run store, and every kind of bad input answered with a JSON error naming the
field (422/401/413/404/503), with no job, output folder or store row made by it."""

from __future__ import annotations

import threading
import time
import warnings

import pytest
import typer
from typer.testing import CliRunner

from exerpain.datadir import data_dir
from exerpain.errors import InputError
from exerpain.interfaces import runstore
from exerpain.interfaces.boundary import BoundaryGroup
from exerpain.interfaces.runspec import parse_spec
from exerpain.interfaces.serve_cli import serve, server_settings
from exerpain.interfaces.web.app import ServerSettings, create_app, report_available
from exerpain.interfaces.web.jobs import JobQueue, QueueFullError, figure_png

with warnings.catch_warnings():  # starlette's note on httpx, not ours to act on
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TOKEN = "test-token-0123456789abcdef"
CCI = {"kind": "simulate", "condition": "cci", "protocol": "treadmill-moderate"}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(ServerSettings()), base_url="http://127.0.0.1") as c:
        yield c


def wait_for(client: TestClient, job_id: str, timeout_s: float = 180) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout_s} s")


def only_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and len(detail) == 1
    return detail[0]


def test_cci_simulation_job_end_to_end(client):
    queued_before = len(runstore.list_runs(1000))
    accepted = client.post("/api/jobs", json=CCI)
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    # a second job waits behind the first (one worker) and is cancelled while queued
    second = client.post("/api/jobs", json={**CCI, "interventions": ["naloxone"]}).json()
    cancelled = client.post(f"/api/jobs/{second['job_id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"

    job = wait_for(client, job_id)
    assert job["status"] == "done", job
    assert job["progress"] == {"done": 1, "total": 1, "unit": "runs"}
    assert job["summary"]["benefit"] > 0 and job["headline"]["benefit"] > 0
    figure = client.get(f"/api/jobs/{job_id}/figure.png")
    assert figure.status_code == 200 and figure.headers["content-type"] == "image/png"
    assert figure.content.startswith(b"\x89PNG")

    # the run store lists the run; its output folder is whole; the cancelled job left none
    runs = client.get("/api/runs").json()
    assert len(runs) == queued_before + 1 and runs[0]["run_id"] == job["run_id"]
    assert runs[0]["condition"] == "cci" and runs[0]["headline"]["benefit"] > 0
    one = client.get(f"/api/runs/{job['run_id'][:-2]}").json()  # a prefix will do
    assert one["provenance"]["spec"]["protocol"] == "treadmill-moderate"
    assert (data_dir() / "runs" / job_id / "run.json").is_file()
    assert not (data_dir() / "runs" / second["job_id"]).exists()
    assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 409
    if report_available():
        report = client.get(f"/api/runs/{job['run_id']}/report")
        assert report.status_code == 200 and "<html" in report.text.lower()
    assert client.get("/api/jobs").json()[0]["job_id"] == second["job_id"]


@pytest.mark.parametrize(("spec", "loc", "words"), [
    ({**CCI, "params": {"opioid": {"nonsense": 1.0}}},
     ["body", "params", "opioid", "nonsense"], "unknown parameter"),
    ({**CCI, "params": ["opioid.k_opioid=1e9"]},
     ["body", "params", "opioid", "k_opioid"], "range"),
    ({**CCI, "params": {"opioid": {"k_opioid": "abc"}}},
     ["body", "params", "opioid", "k_opioid"], "number"),
    ({**CCI, "condition": "nope"}, ["body", "condition"], "unknown name"),
    ({**CCI, "interventions": ["nope"]}, ["body", "interventions"], "unknown name"),
    ({**CCI, "days": 0}, ["body", "days"], "greater than or equal"),
    ({**CCI, "colour": "red"}, ["body", "colour"], "unknown field"),
    ({"kind": "nope"}, ["body", "kind"], "simulate, cohort, trial"),
    ({"kind": "simulate"}, ["body", "condition"], "required"),
    ({**CCI, "protocol": "/etc/protocol.yaml"}, ["body", "protocol"], "not read over HTTP"),
    ({"kind": "trial", "design": "design.yaml"}, ["body", "design"], "not read over HTTP"),
    ({**CCI, "kind": "cohort", "n": 2001}, ["body", "n"], "at most 2000"),
    ({**CCI, "kind": "cohort", "n": 10, "memory_gb": 64}, ["body", "memory_gb"], "at most"),
])
def test_bad_spec_is_422_naming_the_field(client, spec, loc, words):
    jobs_before = len(client.get("/api/jobs").json())
    error = only_error(client.post("/api/jobs", json=spec), 422)
    assert error["loc"] == loc and words in error["msg"], error
    assert len(client.get("/api/jobs").json()) == jobs_before  # no job was made


def test_malformed_json_and_oversized_bodies(client):
    error = only_error(client.post("/api/jobs", content=b'{"kind": ',
                                   headers={"content-type": "application/json"}), 422)
    assert error["type"] == "json_invalid"
    nested = client.post("/api/jobs", content=b"[" * 30_000 + b"]" * 30_000,
                         headers={"content-type": "application/json"})
    assert only_error(nested, 400)["loc"] == ["body"]
    big = b'{"kind": "simulate", "condition": "cci", "protocol": "' + b"x" * 70_000 + b'"}'
    error = only_error(client.post("/api/jobs", content=big,
                                   headers={"content-type": "application/json"}), 413)
    assert error["loc"] == ["body"] and "65536 bytes" in error["msg"]
    # streamed without a Content-Length: counted as it arrives
    streamed = client.post("/api/jobs", content=iter([b"x" * 40_000] * 3),
                           headers={"content-type": "application/json"})
    assert only_error(streamed, 413)["type"] == "too_large"


def test_unknown_job_and_run_are_404(client):
    assert only_error(client.get("/api/jobs/nope"), 404)["loc"] == ["path", "job_id"]
    assert only_error(client.get("/api/runs/nope"), 404)["loc"] == ["path", "run_id"]
    assert only_error(client.get("/api/jobs/nope/figure.png"), 404)["loc"] == \
        ["path", "job_id"]


def test_token_required_when_set():
    app = create_app(ServerSettings(host="0.0.0.0", token=TOKEN))
    with TestClient(app) as c:
        for headers, kind in [({}, "missing_token"),
                              ({"Authorization": "Bearer wrong-token"}, "wrong_token"),
                              ({"Authorization": f"Basic {TOKEN}"}, "bad_scheme")]:
            for method, path in [("get", "/api/catalogue"), ("get", "/api/runs"),
                                 ("post", "/api/jobs")]:
                response = getattr(c, method)(path, headers=headers,
                                              **({"json": CCI} if method == "post" else {}))
                error = only_error(response, 401)
                assert error["loc"] == ["header", "authorization"] and error["type"] == kind
                assert response.headers["www-authenticate"] == "Bearer"
        assert c.get("/api/jobs").status_code == 401 and c.app.state.jobs.jobs() == []
        good = {"Authorization": f"Bearer {TOKEN}"}
        catalogue = c.get("/api/catalogue", headers=good).json()
        assert "cci" in catalogue["conditions"] and catalogue["auth"] is True
        assert c.get("/").status_code == 200  # the page holds no data; its API calls do


def test_without_token_only_local_host_names():
    with TestClient(create_app(ServerSettings())) as c:  # Host: testserver
        response = c.get("/api/catalogue")
        assert response.status_code == 400
        assert response.json()["detail"][0]["loc"] == ["header", "host"]
    with TestClient(create_app(ServerSettings()), base_url="http://127.0.0.1:8000") as c:
        assert c.get("/api/catalogue").status_code == 200
    with pytest.raises(InputError, match="^token: "):
        ServerSettings(host="0.0.0.0")


def test_full_queue_is_503_and_makes_no_job():
    with TestClient(create_app(ServerSettings(max_queued=0)),
                    base_url="http://127.0.0.1") as c:
        error = only_error(c.post("/api/jobs", json=CCI), 503)
        assert "queue is full" in error["msg"] and c.get("/api/jobs").json() == []


def test_time_limit_fails_the_job_and_writes_nothing(tmp_path):
    runs_before = len(runstore.list_runs(1000))
    jobs = JobQueue(time_limit_s=1e-9, runs_dir=lambda: tmp_path)
    try:
        job = jobs.submit(parse_spec(CCI))
        deadline = time.monotonic() + 60
        while job.status not in ("done", "failed", "cancelled") and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        assert job.status == "failed" and "time limit" in job.error
    finally:
        jobs.close()
    assert list(tmp_path.iterdir()) == []
    assert len(runstore.list_runs(1000)) == runs_before


class _HeldQueue(JobQueue):
    """Jobs that run until released (no engine)."""

    release = threading.Event()

    def _run(self, job) -> None:
        while not self.release.wait(0.01):
            if job.cancel.is_set():
                with self._cond:
                    self._finish(job, "cancelled", "cancelled")
                return
        with self._cond:
            self._finish(job, "done")


def test_queue_bounds_and_cancel():
    jobs = _HeldQueue(workers=1, max_queued=2)
    spec = parse_spec(CCI)
    try:
        running = jobs.submit(spec)
        while running.status != "running":
            time.sleep(0.01)
        waiting = [jobs.submit(spec), jobs.submit(spec)]
        with pytest.raises(QueueFullError):
            jobs.submit(spec)
        assert jobs.view(waiting[1])["queue_position"] == 1
        assert jobs.cancel(waiting[0].job_id).status == "cancelled"  # at once
        jobs.submit(spec)  # its place is free again
        jobs.cancel(running.job_id)
        deadline = time.monotonic() + 5
        while running.status == "running" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert running.status == "cancelled"
    finally:
        jobs.close()
    assert all(j.status in ("done", "cancelled") for j in jobs.jobs())


def test_openapi_page_and_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/catalogue", "/api/spec-schema", "/api/jobs", "/api/jobs/{job_id}",
                 "/api/jobs/{job_id}/cancel", "/api/jobs/{job_id}/figure.png", "/api/runs",
                 "/api/runs/{run_id}"):
        assert path in paths, path
    assert only_error(client.get("/docs"), 404)["type"] == "http_error"
    assert "discriminator" in str(client.get("/api/spec-schema").json())
    page = client.get("/")
    assert page.status_code == 200 and 'id="figure"' in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text  # nothing external


def test_serve_refuses_other_hosts_without_token():
    with pytest.raises(InputError, match="^token: "):
        server_settings(host="0.0.0.0")
    with pytest.raises(InputError, match="^token: at least 16"):
        server_settings(host="0.0.0.0", token="short")
    with pytest.raises(InputError, match="^max_cohort_n: "):
        server_settings(max_cohort_n=0)
    assert server_settings(host="0.0.0.0", token=TOKEN).token == TOKEN
    assert server_settings(host="::1").token is None
    cli = typer.Typer(cls=BoundaryGroup)
    cli.command("serve")(serve)
    cli.command("noop")(lambda: None)
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"],
                                env={"EXERPAIN_TOKEN": None})
    assert result.exit_code == 2 and "error: token: " in result.output


def test_a_result_without_a_plot_has_no_figure():
    assert figure_png(object()) is None
