"""The sections of a run's report that describe the run (:mod:`exerpain.interfaces.report`):
its header, specification, provenance, parameter deviations and the validation status of the
model version and calibration it used."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from importlib import resources

from exerpain.interfaces.report.folder import SCHEMA_PREFIX, RunFolder, as_dict
from exerpain.interfaces.report.html import (
    NOT_RECORDED,
    esc,
    flatten,
    fmt,
    grid,
    is_finite,
    key_values,
    note,
    recorded,
    section,
    short_sha,
)

CALIBRATION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


# ---------------------------------------------------------------- header, spec, provenance


def run_title(folder: RunFolder) -> str:
    """The page's title: the run's kind, condition and protocol (or design)."""
    spec, summary = as_dict(folder.run.get("spec")), folder.summary
    what = [str(x) for x in (spec.get("condition") or summary.get("condition"),
                             _protocol_name(spec.get("protocol")) or summary.get("protocol")
                             or summary.get("design")) if x]
    return f"exerpain {folder.kind or 'run'}" + (f": {' × '.join(what)}" if what else "")


def _protocol_name(protocol: object) -> str | None:
    if isinstance(protocol, dict):
        return str(protocol.get("name") or "inline protocol")
    return str(protocol) if protocol else None


def header_section(folder: RunFolder) -> str:
    """The run: title, status (and error), run id, folder, files and headline numbers."""
    run = folder.run
    status = run.get("status")
    css = "ok" if status == "ok" else "bad"
    status_html = (f'<span class="{css}">{esc(status)}</span>' if status is not None
                   else esc(NOT_RECORDED))
    error = f'<p class="warn">error: {esc(run["error"])}</p>' if run.get("error") else ""
    rows = [("kind", folder.kind or NOT_RECORDED), ("run id", recorded(run, "run_id")),
            ("folder", str(folder.path)), ("started", recorded(run, "started")),
            ("files", recorded(run, "files"))]
    headline = as_dict(run.get("headline"))
    head_table = ("<h3>Headline</h3>" + key_values((k, fmt(v)) for k, v in headline.items())
                  if headline else "")
    schema = run.get("schema")
    schema_note = (note(f"run.json schema {schema}: this report reads {SCHEMA_PREFIX}1; "
                        "some entries may be missing") if isinstance(schema, str)
                   and schema != f"{SCHEMA_PREFIX}1" else "")
    return (f"<header><h1>{esc(run_title(folder))}</h1><p>status: {status_html}</p>{error}"
            f"{schema_note}{key_values(rows)}{head_table}</header>")


def spec_section(folder: RunFolder) -> str:
    """The run's specification (``run.json``'s ``spec``), flattened."""
    spec = folder.run.get("spec")
    if not isinstance(spec, dict) or not spec:
        return section("Specification", note(f"{NOT_RECORDED}: run.json has no spec"),
                       "spec")
    body = key_values((k, fmt(v)) for k, v in flatten(spec))
    repeat = note("Repeat this run with: exerpain run --spec run.json")
    return section("Specification", body + repeat, "spec")


def _command(value: object) -> str:
    if isinstance(value, list):
        return shlex.join(str(v) for v in value)
    return fmt(value)


def _runtime(value: object) -> str:
    return f"{value:.1f} s" if is_finite(value) else fmt(value)


def provenance_section(folder: RunFolder) -> str:
    """Version, calibration, parameter hash, solver, seed, device, command line and times."""
    run = folder.run
    calibration = as_dict(run.get("calibration"))
    parameters = as_dict(run.get("parameters"))

    def count(key: str) -> str:
        value = calibration.get(key)
        return f"{len(value)} findings" if isinstance(value, list) else recorded(calibration, key)

    rows = [
        ("exerpain version", recorded(run, "exerpain_version")),
        ("git commit", recorded(run, "git_commit")),
        ("calibration", recorded(calibration, "name")),
        ("calibration SHA-256", recorded(calibration, "sha256", short_sha)),
        ("calibration created", recorded(calibration, "created")),
        ("calibration fitted to", count("fitted_to")),
        ("calibration held out", count("held_out")),
        ("drug calibration SHA-256", recorded(run, "drug_calibration_sha256", short_sha)),
        ("parameters SHA-256", recorded(parameters, "sha256", short_sha)),
        ("solver", recorded(run, "solver")),
        ("seed", recorded(run, "seed")),
        ("device", recorded(run, "device")),
        ("python", recorded(run, "python")),
        ("jax", recorded(run, "jax")),
        ("platform", recorded(run, "platform")),
        ("command", recorded(run, "command", _command)),
        ("started", recorded(run, "started")),
        ("ended", recorded(run, "ended")),
        ("runtime", recorded(run, "runtime_s", _runtime)),
    ]
    return section("Provenance", key_values(rows), "provenance")


def deviations_section(folder: RunFolder) -> str:
    """The parameters that deviate from the defaults of the calibration used."""
    run = folder.run
    parameters = as_dict(run.get("parameters"))
    calibration = as_dict(run.get("calibration")).get("name")
    of = f"calibration {calibration}" if calibration else "the calibration (not recorded)"
    deviations = parameters.get("deviations")
    if isinstance(deviations, list) and deviations:
        rows = []
        for d in deviations:
            d = as_dict(d)
            rows.append([recorded(d, "parameter"), d.get("value", NOT_RECORDED),
                         d.get("default", NOT_RECORDED), d.get("declared", NOT_RECORDED),
                         recorded(d, "unit"),
                         f"{fmt(d['low'])} to {fmt(d['high'])}" if "low" in d and "high" in d
                         else NOT_RECORDED, recorded(d, "provenance")])
        body = grid(["parameter", "value", f"default ({of})", "declared", "unit", "range",
                     "provenance of the default"], rows)
    elif isinstance(deviations, list):
        body = f"<p>none: the defaults of {esc(of)}.</p>"
    elif as_dict(parameters.get("overrides")):
        rows = [[name, value] for name, value in flatten(parameters["overrides"])]
        body = note("The deviations were not recorded; the overrides the run gave:") + grid(
            ["parameter", "value"], rows)
    else:
        overrides = as_dict(as_dict(run.get("spec")).get("params"))
        body = (grid(["parameter", "value"], [list(r) for r in flatten(overrides)])
                if overrides else note(f"{NOT_RECORDED}: run.json does not list the "
                                        "parameter deviations"))
    return section("Parameters that deviate from the defaults", body, "deviations")


# ---------------------------------------------------------------- validation


def package_calibration() -> tuple[dict, str] | None:
    """The calibration shipped inside the package and the SHA-256 of its file."""
    path = resources.files("exerpain.model") / "data" / "calibrated.json"
    if not path.is_file():
        return None
    data = path.read_bytes()
    return json.loads(data), hashlib.sha256(data).hexdigest()


def calibration_record(calibration: dict) -> dict | None:
    """The record of the run's calibration if its file is at hand and unchanged (SHA-256
    equal to the run's): the package's, or a named one in the data directory."""
    sha = calibration.get("sha256")
    if not isinstance(sha, str) or not sha:
        return None
    shipped = package_calibration()
    if shipped is not None and shipped[1] == sha:
        return shipped[0]
    name = calibration.get("name")
    if not isinstance(name, str) or not CALIBRATION_NAME.fullmatch(name):
        return None
    from exerpain.datadir import data_dir

    path = data_dir(create=False) / "calibrations" / f"{name}.json"
    try:
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha:
            return None
        record = json.loads(data)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _passed(counts: object) -> str:
    counts = as_dict(counts)
    if "passed" in counts and "total" in counts:
        return f"{fmt(counts['passed'])}/{fmt(counts['total'])}"
    return NOT_RECORDED


def validation_summary(report: dict) -> str:
    """"validated on <date>: passed P/T findings, non-structural x/y, trials i/n"."""
    record = as_dict(report.get("record"))
    when = record.get("validated_at")
    date = str(when)[:10] if when else "an unrecorded date"
    text = (f"validated on {date}: passed {_passed(report)} findings, non-structural "
            f"{_passed(report.get('informative'))}")
    trials = as_dict(report.get("trials"))
    if "inside" in trials and "total" in trials:
        text += f", trials {fmt(trials['inside'])}/{fmt(trials['total'])}"
    else:
        text += ", trials not run"
    return text


def validation_section(folder: RunFolder) -> str:
    """The validation status of the exerpain version and calibration the run used, and the
    calibration's fitted and held-out scores when its file is at hand."""
    from exerpain.interfaces import validation_record

    run = folder.run
    calibration = as_dict(run.get("calibration"))
    version, sha = run.get("exerpain_version"), calibration.get("sha256")
    parts = []
    if not isinstance(version, str) or not isinstance(sha, str):
        parts.append(f'<p class="warn">{NOT_RECORDED}: the run does not name its exerpain '
                     "version and calibration, so its validation cannot be looked up.</p>")
    else:
        report = validation_record.load(version, sha)
        if report is None:
            parts.append(f'<p class="warn">not validated on this machine for exerpain '
                         f"{esc(version)} with calibration {esc(short_sha(sha))}: run "
                         "<code>exerpain validate</code>.</p>")
        else:
            parts.append(f'<p class="ok">{esc(validation_summary(report))}</p>')
            by_kind = as_dict(report.get("by_kind"))
            if by_kind:
                parts.append(grid(["kind", "passed"], [[k, _passed(v)]
                                                      for k, v in by_kind.items()]))
            failed = [f for f in report.get("findings") or [] if isinstance(f, dict)
                      and f.get("pass") is False]
            if failed:
                parts.append("<h3>Findings the model fails</h3>" + grid(
                    ["finding", "kind", "model", "expected", "source"],
                    [[recorded(f, "id"), recorded(f, "kind"), f.get("model_value", NOT_RECORDED),
                      recorded(f, "expected"), recorded(f, "citation")] for f in failed]))
    record = calibration_record(calibration)
    scores = as_dict(record.get("scores")) if record else {}
    if scores:
        metrics = list(dict.fromkeys(m for v in scores.values() for m in as_dict(v)))
        parts.append("<h3>Calibration scores (mean z², share within 95%)</h3>" + grid(
            ["set", *metrics], [[name, *(as_dict(v).get(m, NOT_RECORDED) for m in metrics)]
                                for name, v in scores.items()]))
    elif record is None and isinstance(sha, str) and sha:
        parts.append(note("The calibration's fitted and held-out scores are not shown: its "
                           "file (SHA-256 " + sha[:12] + ") is not the package's nor one in "
                           "this machine's data directory."))
    return section("Validation of the model version used", "".join(parts), "validation")

