"""The shipped evidence tables: they load and validate, corrupt copies fail with file, row and
column named, every study_id resolves, and the `evidence` CLI lists and pools them."""

from __future__ import annotations

import json

import pytest
from evidence_files import copy_data, edit_cell  # tests/evidence_files.py
from typer.testing import CliRunner

from exerpain.errors import InputError
from exerpain.evidence import (
    load_findings,
    load_outcomes,
    load_studies,
    load_timecourses,
    pool_outcome,
)
from exerpain.interfaces.cli import app  # the real command, with its error boundary

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["evidence", *args])




def test_tables_load_and_validate():
    studies, outcomes, findings = load_studies(), load_outcomes(), load_findings()
    assert len(studies) >= 50 and len(outcomes) >= 40 and len(findings) >= 100
    assert studies["study_id"].is_unique and findings["finding_id"].is_unique
    assert outcomes["url_seen"].str.startswith("http").all()
    assert findings["url_seen"].str.startswith("http").all()
    assert {"abolished", "not_abolished", "up", "down", "none"} <= set(findings["direction"])


def test_anchor_values_kept_exactly():
    o = load_outcomes().set_index(["study_id", "outcome"])
    mech = o.loc[("matesanz2023", "rodent_hypersensitivity.mechanical")]
    assert (mech["effect"], mech["ci_low"], mech["ci_high"], mech["n"]) == (0.53, 0.31, 0.74, 364)
    f = load_findings().set_index("finding_id")
    assert f.loc["bobinski2018_il4_knockout", "direction"] == "abolished"
    assert f.loc["stagg2011_naloxone_methiodide_it", "direction"] == "not_abolished"


def test_referential_integrity():
    known = set(load_studies()["study_id"])
    assert set(load_outcomes()["study_id"]) <= known
    assert set(load_findings()["study_id"]) <= known
    assert set(load_timecourses()["study_id"]) <= known


def test_timecourses_hold_values_and_dated_statements():
    """Published courses: numbers where a source gave them, dated statements otherwise;
    every row says where it was seen and whether it came from text, a table or a figure."""
    tc = load_timecourses()
    values = tc[tc["readout"] != "course_statement"]
    statements = tc[tc["readout"] == "course_statement"]
    assert len(values) >= 5 and values["mean"].notna().all()
    assert len(statements) >= 20 and statements["notes"].str.len().gt(10).all()
    assert tc["url_seen"].str.startswith("http").all()
    assert set(tc["value_source"]) <= {"text", "table", "figure"}
    ncv = values.query("series_id == 'gholami2018_dpn_ex_ncv_sural'").set_index("day")["mean"]
    assert (ncv[0.0], ncv[84.0]) == (35.2, 37.3)


def test_blank_cell_is_unknown_not_zero():
    naugle = load_outcomes().query("study_id == 'naugle2012'")
    assert naugle["ci_low"].isna().all()


@pytest.mark.parametrize(("file", "row", "column", "value", "match"), [
    ("outcomes.csv", 3, "effect", "zero point five", "outcomes.csv: row 3, column 'effect'"),
    ("outcomes.csv", 4, "condition", "flu", "outcomes.csv: row 4, column 'condition'"),
    ("outcomes.csv", 2, "ci_high", "0.1",
     "outcomes.csv: row 2, column 'effect, ci_low, ci_high'.*outside"),
    ("findings.csv", 5, "direction", "sideways", "findings.csv: row 5, column 'direction'"),
    ("timecourses.csv", 2, "spread_kind", "stderr", "timecourses.csv: row 2, column "
     "'spread_kind'"),
    ("timecourses.csv", 2, "mean", "", "timecourses.csv: row 2.*mean is required"),
    ("studies.csv", 2, "url_seen", "", "studies.csv: row 2, column 'url_seen'"),
])
def test_corrupt_copy_names_file_row_and_column(tmp_path, file, row, column, value, match):
    data = copy_data(tmp_path)
    edit_cell(data / file, row, column, value)
    loader = {"outcomes.csv": load_outcomes, "findings.csv": load_findings,
              "studies.csv": load_studies, "timecourses.csv": load_timecourses}[file]
    with pytest.raises(InputError, match=match):
        loader(data)


def test_unknown_study_id_fails_referential_check(tmp_path):
    data = copy_data(tmp_path)
    edit_cell(data / "findings.csv", 7, "study_id", "nobody2099")
    with pytest.raises(InputError, match="findings.csv: row 7, column 'study_id'.*studies.csv"):
        load_findings(data)


def test_ragged_row_and_missing_column_fail(tmp_path):
    data = copy_data(tmp_path)
    path = data / "studies.csv"
    path.write_text(path.read_text(encoding="utf-8") + "extra,row\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"studies.csv: row \d+: expected 8 fields"):
        load_studies(data)
    lines = (data / "outcomes.csv").read_text(encoding="utf-8").splitlines()
    (data / "outcomes.csv").write_text("\n".join([lines[0].replace("effect,", "efect,"),
                                                  *lines[1:]]), encoding="utf-8")
    with pytest.raises(InputError, match="outcomes.csv: row 1 \\(header\\), column 'effect'"):
        load_outcomes(data)


def test_pool_outcome_harmonises_signs():
    result = pool_outcome(load_outcomes(), "cipn_symptoms", method="dl")
    assert result.k == 4 and result.scale == "positive = favours exercise"
    assert (result.rows["effect"] > 0).all()  # the Scand J Med Sci Sports -0.21 flipped
    assert 0.2 < result.overall.estimate < 0.5


def test_cli_list_filters_and_json():
    result = run("list", "--mechanism", "opioid", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["findings"] and {f["mechanism"] for f in payload["findings"]} == {"opioid"}
    assert all(f["citation"] for f in payload["findings"])
    text = run("list", "--condition", "cipn")
    assert text.exit_code == 0 and "cipn_symptoms" in text.stdout


def test_cli_meta_json_and_plot(tmp_path):
    plot = tmp_path / "forest.svg"
    result = run("meta", "--outcome", "eih_experimental_pain", "--by", "modality",
                 "--method", "dl", "--json", "--plot", str(plot))
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["k"] == 4 and payload["overall"]["tau2"] >= 0
    assert set(payload["subgroups"]["groups"]) == {"aerobic", "dynamic resistance", "isometric"}
    assert plot.read_text().lstrip().startswith("<?xml")
    png = tmp_path / "forest.png"
    assert run("meta", "--outcome", "rodent_hypersensitivity", "--plot", str(png)).exit_code == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_cli_meta_single_effect_says_k_below_two():
    result = run("meta", "--outcome", "cipn_pain")
    assert result.exit_code == 0
    assert "k=1" in result.stdout and "nothing pooled" in result.stdout


@pytest.mark.parametrize("args", [
    ("meta", "--outcome", "no_such_outcome"),
    ("meta", "--outcome", "cipn_symptoms", "--by", "colour"),
    ("meta", "--outcome", "cipn_symptoms", "--method", "bayes"),
    ("meta", "--outcome", "cipn_symptoms", "--plot", "forest.pdf"),
    ("list", "--mechanism", "magic"),
])
def test_cli_errors_exit_2_with_one_line(args):
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and result.stdout == ""
