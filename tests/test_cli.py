"""The command line: outputs, and one clear error line (exit 2) for bad input, with nothing
written and existing output left intact."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from exerpain.interfaces.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def test_simulate_json_summary():
    result = run("simulate", "--condition", "cci", "--protocol", "treadmill-moderate",
                 "--days", "42", "--json")
    assert result.exit_code == 0, result.output
    s = json.loads(result.stdout)
    for key in ("condition", "species", "protocol", "interventions", "ablate", "days",
                "readout", "exercise_value", "sedentary_value", "healthy_value", "benefit",
                "benefit_fraction"):
        assert key in s
    assert s["species"] == "rat" and s["readout"] == "withdrawal_threshold_g"
    assert s["benefit"] > 0 and 0 < s["benefit_fraction"] < 1


def test_simulate_writes_trajectory_and_summary(tmp_path, model):
    out = tmp_path / "run"
    result = run("simulate", "--condition", "cci", "--protocol", "treadmill-moderate",
                 "--intervention", "naloxone", "--ablate", "oxidative", "--days", "42",
                 "--out", str(out))
    assert result.exit_code == 0, result.output
    table = pq.read_table(out / "trajectory.parquet").to_pandas()
    assert len(table) == 2 * 43
    assert set(table["run"]) == {"exercise", "sedentary"}
    assert table["day"].min() == 0 and table["day"].max() == 42
    for column in (*model.state_names, "withdrawal_threshold_g", "nociceptive_drive"):
        assert column in table.columns
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interventions"] == ["naloxone"] and summary["ablate"] == ["oxidative"]
    last = table[(table["run"] == "exercise") & (table["day"] == 42)]
    assert last["withdrawal_threshold_g"].item() == pytest.approx(summary["exercise_value"])


def test_schedule_override_and_protocol_file(tmp_path):
    spec = tmp_path / "proto.yaml"
    spec.write_text("modality: treadmill\nintensity: 0.6\nminutes_per_session: 60\n"
                    "sessions_per_week: 5\nstart_day: 3\nstop_day: null\n")
    from_file = json.loads(run("simulate", "--condition", "cci", "--protocol", str(spec),
                               "--days", "42", "--json").stdout)
    preset = json.loads(run("simulate", "--condition", "cci", "--protocol",
                            "treadmill-moderate", "--days", "42", "--json").stdout)
    assert from_file["benefit"] == pytest.approx(preset["benefit"], rel=1e-9)
    late = json.loads(run("simulate", "--condition", "cci", "--protocol",
                          "treadmill-moderate", "--start-day", "20", "--stop-day", "30",
                          "--days", "42", "--json").stdout)
    assert late["protocol_detail"]["start_day"] == 20
    assert 0 < late["benefit"] < preset["benefit"]


@pytest.mark.parametrize("args,needle", [
    (["--condition", "ccx", "--protocol", "treadmill-low"], "condition"),
    (["--condition", "cci", "--protocol", "marathon"], "protocol"),
    (["--condition", "cci", "--protocol", "treadmill-low", "--intervention", "aspirin"],
     "intervention"),
    (["--condition", "cci", "--protocol", "treadmill-low", "--ablate", "magic"], "ablate"),
    (["--condition", "cci", "--protocol", "treadmill-low", "--days", "0"], "days"),
    (["--condition", "cci", "--protocol", "treadmill-low", "--days", "-5"], "days"),
    (["--condition", "cci", "--protocol", "treadmill-low", "--days", "100000"], "days"),
    (["--condition", "cci", "--protocol", "treadmill-low", "--start-day", "10",
      "--stop-day", "5"], "stop_day"),
    (["--condition", "cci", "--protocol", "aerobic-moderate"], "protocol"),
])
def test_bad_input_gives_one_error_line_and_writes_nothing(tmp_path, args, needle):
    out = tmp_path / "out"
    result = run("simulate", *args, "--out", str(out))
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("content,needle", [
    ("modality: treadmill\nintensity: 3\nminutes_per_session: 30\nsessions_per_week: 5\n",
     "intensity"),
    ("modality: treadmill\nintensity: 0.5\nminutes_per_session: 2000\nsessions_per_week: 5\n",
     "minutes_per_session"),
    ("modality: [treadmill\n", "malformed"),
    ("modality: treadmill\n", "intensity"),
])
def test_bad_protocol_file_leaves_existing_output_intact(tmp_path, content, needle):
    out = tmp_path / "out"
    ok = run("simulate", "--condition", "cci", "--protocol", "treadmill-low", "--days", "42",
             "--out", str(out))
    assert ok.exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    spec = tmp_path / "bad.yaml"
    spec.write_text(content)
    result = run("simulate", "--condition", "cci", "--protocol", str(spec), "--out", str(out),
                 "--overwrite")  # even with --overwrite, a failed run replaces nothing
    assert result.exit_code == 2 and needle in result.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".exerpain")] == []


def test_info_and_params_list_the_catalogue():
    info = json.loads(run("info", "--json").stdout)
    assert {"cci", "sni", "pnsl", "stz", "paclitaxel", "sham", "dpn", "cipn"} <= set(
        info["conditions"])
    assert "vta-silencing" in info["interventions"]
    rows = json.loads(run("params", "--json").stdout)
    assert all(r["unit"] and r["provenance"] for r in rows)


def test_demo_writes_figures_and_summary(tmp_path):
    result = run("demo", "--out", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output
    names = {p.name for p in (tmp_path / "demo").iterdir()}
    assert {"summary.json", "cci_withdrawal_threshold.png", "dpn_nrs.png",
            "cci_mechanisms.png"} <= names
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    arms = {tuple(s["interventions"]): s for s in summary["scenarios"] if s["condition"] == "cci"}
    assert arms[("naloxone",)]["benefit"] < 0.5 * arms[()]["benefit"]
