"""The HTML report of a run folder: its sections, embedded figures, escaping, missing entries,
bad folders, and the validation record it reads."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from importlib import resources
from pathlib import Path

import pytest

from exerpain.errors import InputError
from exerpain.interfaces import validation_record
from exerpain.interfaces.report import build_report, write_report
from exerpain.storage import write_results

HOSTILE = "<script>alert('x')</script>"
PNG = b"\x89PNG\r\n\x1a\n"
DATA_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def package_sha() -> str:
    path = resources.files("exerpain.model") / "data" / "calibrated.json"
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def run_record(kind: str, condition: str, protocol: str, **changes) -> dict:
    """A hand-written run.json (schema exerpain.run/1) with a hostile string in its spec."""
    record = {
        "schema": "exerpain.run/1", "run_id": "20261126T201500Z-3f9a2c", "kind": kind,
        "status": "ok",
        "spec": {"kind": kind, "condition": condition, "protocol": protocol,
                 "interventions": [], "ablate": [], "days": None, "seed": 1,
                 "params": {"opioid": {"k_opioid": 0.3}}, "label": HOSTILE},
        "exerpain_version": "0.1.0", "python": "3.11.7", "jax": "0.10.2",
        "platform": "Linux-test", "device": "cpu (1 device)",
        "command": ["exerpain", kind, "--condition", condition, "--protocol", protocol],
        "started": "2026-11-26T20:15:00Z", "ended": "2026-11-26T20:15:12Z", "runtime_s": 12.3,
        "seed": 1, "solver": {"method": "Tsit5", "rtol": 1e-8, "atol": 1e-10},
        "calibration": {"name": "package", "sha256": package_sha(),
                        "created": "2026-11-26T05:13:40Z", "fitted_to": ["a", "b"],
                        "held_out": ["c"]},
        "parameters": {"sha256": "ab" * 32, "overrides": {"opioid": {"k_opioid": 0.3}},
                       "deviations": [{"parameter": "opioid.k_opioid", "value": 0.3,
                                       "default": 0.5, "unit": "1/day", "low": 0.01,
                                       "high": 5.0, "provenance": "a test <b>value</b>"}]},
        "headline": {"benefit": 1.5}, "files": ["summary.json"],
    }
    record.update(changes)
    return record


def write_run(folder: Path, record: dict) -> Path:
    (folder / "run.json").write_text(json.dumps(record))
    return folder


@pytest.fixture(scope="module")
def simulate_files(simulate, tmp_path_factory) -> Path:
    """summary.json and trajectory.parquet of a CCI treadmill simulation (no run.json)."""
    pair = simulate("cci", "treadmill-moderate")
    folder = tmp_path_factory.mktemp("simulate")
    write_results(folder, {"trajectory": pair.to_frame()}, pair.summary)
    return folder


@pytest.fixture()
def simulate_dir(simulate_files, tmp_path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    for name in ("summary.json", "trajectory.parquet"):
        (folder / name).write_bytes((simulate_files / name).read_bytes())
    return write_run(folder, run_record("simulate", "cci", "treadmill-moderate"))


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory) -> Path:
    from exerpain.simulate.engine import CohortConfig, run_cohort

    folder = tmp_path_factory.mktemp("cohort") / "run"
    run_cohort(CohortConfig("cci", "treadmill-moderate", n=6, seed=1, attribution=True,
                            pathway=False, posterior_draws=0), out=folder)
    return write_run(folder, run_record("cohort", "cci", "treadmill-moderate", spec={
        "kind": "cohort", "condition": "cci", "protocol": HOSTILE, "n": 6, "seed": 1}))


def pngs(page: str) -> list[bytes]:
    return [base64.b64decode(data, validate=True) for data in DATA_URI.findall(page)]


def assert_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script|<link|src=\"(?!data:)|url\(|@import", page, re.I)
    assert "Content-Security-Policy" in page


def test_simulate_report_has_every_section_and_png_figures(simulate_dir):
    page = build_report(simulate_dir)
    assert_self_contained(page)
    for text in ("exerpain simulate: cci × treadmill-moderate", "20261126T201500Z-3f9a2c",
                 "Specification", "Provenance", "Parameters that deviate from the defaults",
                 "opioid.k_opioid", "1/day", "Validation of the model version used",
                 "Results", "von Frey withdrawal threshold (g)", "Site pain factors",
                 "share of the deficit recovered", "sciatic_functional_index",
                 "exerpain simulate --condition cci --protocol treadmill-moderate"):
        assert text in page, text
    summary = json.loads((simulate_dir / "summary.json").read_text())
    assert f"{summary['benefit']:.4g}" in page
    assert "not validated on this machine for exerpain 0.1.0" in page
    figures = pngs(page)
    assert len(figures) == 2 and all(f.startswith(PNG) for f in figures)


def test_cohort_report_shows_distribution_priming_and_endotypes(cohort_dir):
    page = build_report(cohort_dir)
    assert_self_contained(page)
    for text in ("exerpain cohort", "Outcome", "responders (&gt;=30%)", "Benefit of exercise",
                 "Priming mechanisms", "entry view share", "Endotypes", "mean silhouette",
                 "Failures"):
        assert text in page, text
    summary = json.loads((cohort_dir / "summary.json").read_text())
    top = max(summary["priming_mechanism_share"], key=summary["priming_mechanism_share"].get)
    assert f"<td>{top}</td>" in page
    figures = pngs(page)
    assert len(figures) == 2 and all(f.startswith(PNG) for f in figures)


def test_strings_from_the_folder_are_escaped(simulate_dir, cohort_dir):
    for folder in (simulate_dir, cohort_dir):
        page = build_report(folder)
        assert HOSTILE not in page and "<script" not in page.lower()
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "a test &lt;b&gt;value&lt;/b&gt;" in build_report(simulate_dir)


def test_missing_or_malformed_entries_show_not_recorded(simulate_dir):
    write_run(simulate_dir, {"schema": "exerpain.run/1"})
    page = build_report(simulate_dir)
    assert "not recorded" in page and "Site pain factors" in page
    assert "exerpain simulate" in page  # the kind is told by trajectory.parquet
    write_run(simulate_dir, {"kind": "simulate", "calibration": "package", "parameters": [1],
                             "spec": "cci", "command": 3, "headline": None,
                             "runtime_s": "soon"})
    assert "Results" in build_report(simulate_dir)
    (simulate_dir / "summary.json").unlink()
    (simulate_dir / "trajectory.parquet").write_bytes(b"not parquet")
    assert "No results: no summary.json" in build_report(simulate_dir)


def test_a_failed_run_shows_its_error(tmp_path):
    write_run(tmp_path, run_record("cohort", "dpn", "aerobic-moderate", status="failed",
                                   error="numerical failure <in> subject 3"))
    page = build_report(tmp_path)
    assert '<span class="bad">failed</span>' in page
    assert "numerical failure &lt;in&gt; subject 3" in page and "No results" in page


def test_bad_tables_do_not_stop_the_report(simulate_dir):
    (simulate_dir / "trajectory.parquet").write_bytes(b"not parquet")
    page = build_report(simulate_dir)
    assert "trajectory.parquet could not be read" in page and not pngs(page)


def test_a_folder_that_is_not_a_run_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"^run_dir: no run.json in"):
        build_report(tmp_path)
    with pytest.raises(InputError, match=r"^run_dir: .* does not exist"):
        build_report(tmp_path / "absent")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(InputError, match=r"^run_dir: .* is not a folder"):
        build_report(tmp_path / "file.txt")
    for text in ("{broken", "[1, 2]", json.dumps({"schema": "other/1"})):
        (tmp_path / "run.json").write_text(text)
        with pytest.raises(InputError, match=r"^run_dir: not an exerpain run folder"):
            build_report(tmp_path)


def test_write_report_writes_beside_the_results_or_where_asked(simulate_dir, tmp_path):
    path = write_report(simulate_dir)
    assert path == simulate_dir / "report.html"
    size = path.stat().st_size
    assert 20_000 < size < 1_000_000
    other = write_report(simulate_dir, tmp_path / "elsewhere.html")
    assert other.read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(InputError, match=r"^out: "):
        write_report(simulate_dir, tmp_path)  # a folder, not a file
    assert not list(tmp_path.glob(".elsewhere.html.*"))


def test_the_report_reads_the_validation_record(simulate_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("EXERPAIN_DATA_DIR", str(tmp_path / "data"))
    sha = package_sha()
    assert validation_record.load("0.1.0", sha) is None
    report = {"passed": 40, "total": 45, "informative": {"passed": 30, "total": 35},
              "by_kind": {"fitted": {"passed": 20, "total": 22}},
              "findings": [{"id": "finding-<1>", "kind": "fitted", "pass": False,
                            "model_value": 1.0, "expected": "> 2", "citation": "X 2020"}],
              "trials": {"inside": 5, "total": 7}}
    path = validation_record.save(report, "0.1.0", sha)
    assert path.parent == tmp_path / "data" / "validation"
    assert path.name == f"0.1.0-{sha[:12] or validation_record.UNCALIBRATED}.json"
    loaded = validation_record.load("0.1.0", sha)
    assert loaded["passed"] == 40 and loaded["record"]["calibration_sha256"] == sha
    page = build_report(simulate_dir)
    date = loaded["record"]["validated_at"][:10]
    assert (f"validated on {date}: passed 40/45 findings, non-structural 30/35, trials 5/7"
            in page)
    assert "finding-&lt;1&gt;" in page
    assert validation_record.load("0.2.0", sha) is None
    with pytest.raises(ValueError, match="calibration_sha256"):
        validation_record.save(report, "0.1.0", "../../etc")


def test_calibration_scores_only_for_the_calibration_used(simulate_dir):
    if not package_sha():
        pytest.skip("no calibration shipped")
    assert "Calibration scores" in build_report(simulate_dir)
    record = run_record("simulate", "cci", "treadmill-moderate")
    record["calibration"] = {"name": "mine", "sha256": "0" * 64}
    write_run(simulate_dir, record)
    page = build_report(simulate_dir)
    assert "Calibration scores" not in page and "000000000000" in page


def test_a_trial_folder_reports_power_arms_and_flow(tmp_path):
    arm = {"n_randomised": 20.0, "dropped_out": 1.5, "completed": 18.5, "n_analysed": 20.0,
           "responder30_rate": 0.14, "control": True}
    summary = {"design": "DPN <aerobic>", "condition": "dpn", "replicates": 10,
               "n_randomised": 40, "alpha": 0.05, "power": 0.8, "power_mc_se": 0.126,
               "primary_comparison": "exercise", "control": "usual care",
               "difference": {"mean": -1.54, "ci95": [-2.38, -0.45]},
               "arms": {"usual care": arm, "exercise": {**arm, "control": False}},
               "consort": {"screened_per_trial": 204.8, "randomised_per_trial": 40,
                           "arms": {"usual care": {"randomised": 20.0, "analysed": 20.0}}},
               "failed_patients": 0, "failure_reasons": {}}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    write_run(tmp_path, run_record("trial", "dpn", "x", spec={"kind": "trial",
                                                              "design": "trial.yaml"}))
    page = build_report(tmp_path)
    for text in ("exerpain trial: dpn × DPN &lt;aerobic&gt;", "80.0%", "CONSORT flow",
                 "204.8", "-1.54 (95% of trials -2.38 to -0.45)", "usual care",
                 "No replicate figure"):
        assert text in page, text
