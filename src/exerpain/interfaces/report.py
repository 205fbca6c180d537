"""The report of one run folder: a single self-contained HTML file.

``exerpain report RUN_DIR`` reads what a run wrote (``run.json``, the provenance of
:mod:`exerpain.interfaces.provenance`; ``summary.json``; the run's tables) and writes one HTML
file that opens offline: the figures are PNGs embedded as ``data:`` URIs, the stylesheet is
inline, nothing is fetched (a Content-Security-Policy forbids it, and scripts). It shows

* the run: kind, condition, protocol, run id, status, headline numbers;
* the specification (``run.json``'s ``spec``) and the provenance (version, calibration,
  parameter hash, solver, seed, device, command line, times);
* the parameters that deviate from the defaults of the calibration used;
* the validation status of the exerpain version and calibration used
  (:mod:`exerpain.interfaces.validation_record`) and the calibration's own fitted and
  held-out scores, when its file is at hand;
* the results: for a simulation, the primary read-out over days (exercise, sedentary,
  healthy) and the four site pain factors; for a cohort, the benefit distribution, responder
  rates, the priming-mechanism shares (entry and pathway views), endotypes and failures; for
  a virtual trial, power, the estimate over replicate trials, arms and the CONSORT flow.

Every string read from the folder is HTML-escaped. A key missing from ``run.json`` or
``summary.json`` is shown as "not recorded", never an error; a folder without ``run.json``
(or whose ``run.json`` is not exerpain's) is an :class:`~exerpain.errors.InputError` naming
``run_dir``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import io
import json
import math
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from exerpain.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.figure import Figure

RUN_FILE = "run.json"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"
SCHEMA_PREFIX = "exerpain.run/"
NOT_RECORDED = "not recorded"
KIND_FILES = {"simulate": "trajectory.parquet", "cohort": "subjects.parquet",
              "trial": "replicates.parquet"}
"""The table that tells a run's kind when ``run.json`` does not say."""
READOUT_LABELS = {"withdrawal_threshold_g": "von Frey withdrawal threshold (g)",
                  "withdrawal_latency_s": "Hargreaves withdrawal latency (s)",
                  "nrs": "average pain (NRS 0-10)"}
PAIN_SITES = ("peripheral", "spinal", "descending", "central")
"""The site pain factors of a trajectory (columns ``pain_{site}``, dimensionless)."""
CALIBRATION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
DPI = 96
COLORS = {"exercise": "#1f77b4", "sedentary": "#d62728", "healthy": "#2ca02c",
          "entry": "#1f77b4", "pathway": "#ff7f0e"}

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:60em;
margin:2em auto;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid #ccc;
margin-top:2em}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top;
overflow-wrap:break-word}th{background:#f3f3f3}td.num{text-align:right;
font-variant-numeric:tabular-nums}
table.kv th{width:14em;font-weight:normal;color:#555;background:#fafafa}
figure{margin:1em 0}figure img{max-width:100%;height:auto}
figcaption{font-size:.85em;color:#555}
.ok{color:#17692d;font-weight:bold}.bad{color:#a3201b;font-weight:bold}
.note{color:#666;font-style:italic}.warn{background:#fff4d6;padding:.4em .6em}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em}
pre{background:#f6f6f6;padding:.6em;overflow:auto;max-height:30em}
details{margin:.5em 0}
"""
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


# ---------------------------------------------------------------- reading the folder


@dataclass(frozen=True)
class RunFolder:
    """What a run folder holds, read once."""

    path: Path
    run: dict  # run.json
    summary: dict  # summary.json ({} if absent or unreadable; see summary_problem)
    summary_problem: str | None
    kind: str | None  # simulate / cohort / trial (None: unknown)


def _load_json(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))


def read_run_folder(run_dir: Path | str) -> RunFolder:
    """Read ``run_dir``'s ``run.json`` and ``summary.json``; :class:`InputError` naming
    ``run_dir`` if it is not an exerpain run folder."""
    if str(run_dir).strip() == "" or "\0" in str(run_dir):
        raise InputError("run_dir: give the folder a run wrote (exerpain simulate/cohort/trial "
                         "--out)")
    path = Path(run_dir).expanduser()
    if not path.exists():
        raise InputError(f"run_dir: {path} does not exist")
    if not path.is_dir():
        raise InputError(f"run_dir: {path} is not a folder; give the folder a run wrote")
    run_file = path / RUN_FILE
    if not run_file.is_file():
        raise InputError(f"run_dir: no {RUN_FILE} in {path}; not an exerpain run folder "
                         "(exerpain simulate/cohort/trial --out write one)")
    try:
        run = _load_json(run_file)
    except OSError as err:
        raise InputError(f"run_dir: cannot read {run_file} ({err.strerror})") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise InputError(f"run_dir: not an exerpain run folder ({RUN_FILE} is not valid JSON: "
                         f"{err})") from None
    if not isinstance(run, dict):
        raise InputError(f"run_dir: not an exerpain run folder ({RUN_FILE} holds a "
                         f"{type(run).__name__}, not a run record)")
    schema = run.get("schema", SCHEMA_PREFIX)
    if not isinstance(schema, str) or not schema.startswith(SCHEMA_PREFIX):
        raise InputError(f"run_dir: not an exerpain run folder ({RUN_FILE} has schema "
                         f"{str(schema)[:60]!r}, expected {SCHEMA_PREFIX}1)")
    summary, problem = {}, None
    summary_file = path / SUMMARY_FILE
    if not summary_file.is_file():
        problem = f"no {SUMMARY_FILE} in the folder"
    else:
        try:
            loaded = _load_json(summary_file)
        except (OSError, ValueError, UnicodeDecodeError) as err:
            problem = f"{SUMMARY_FILE} could not be read ({err})"
        else:
            if isinstance(loaded, dict):
                summary = loaded
            else:
                problem = f"{SUMMARY_FILE} is not a JSON object"
    return RunFolder(path, run, summary, problem, _kind(path, run))


def _kind(path: Path, run: dict) -> str | None:
    for candidate in (run.get("kind"), _dict(run.get("spec")).get("kind")):
        if isinstance(candidate, str) and candidate:
            return candidate
    for kind, name in KIND_FILES.items():
        if (path / name).is_file():
            return kind
    return None


def _read_table(folder: Path, name: str, columns: Iterable[str]
                ) -> tuple[pd.DataFrame | None, str | None]:
    """The ``columns`` of ``folder/name`` that exist (a frame), or ``None`` and why not."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / name
    if not path.is_file():
        return None, f"{name} is not in the folder"
    try:
        present = set(pq.read_schema(path).names)
        wanted = [c for c in dict.fromkeys(columns) if c in present]
        return pq.read_table(path, columns=wanted).to_pandas(), None
    except (OSError, ValueError, pa.ArrowException) as err:
        return None, f"{name} could not be read ({err})"


# ---------------------------------------------------------------- HTML pieces


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _e(value: object) -> str:
    """``value`` as escaped HTML text."""
    return html.escape(str(value), quote=True)


def fmt(value: object, digits: int = 4) -> str:
    """A value read from a file as plain text: numbers to ``digits`` significant digits,
    booleans as yes/no, ``None`` as "none", lists and objects spelled out."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}g}" if math.isfinite(value) else str(value)
    if isinstance(value, list | tuple):
        if any(isinstance(v, dict) for v in value):
            return json.dumps(value, default=str)
        return ", ".join(fmt(v, digits) for v in value) if value else "none"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {fmt(v, digits)}" for k, v in value.items()) if value \
            else "none"
    return str(value)


def _pct(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) \
            and math.isfinite(value):
        return f"{100 * value:.1f}%"
    return fmt(value)


def _short(sha: object) -> str:
    """The first 12 hexadecimal digits of a SHA-256 ("none" if there is none)."""
    return sha[:12] if isinstance(sha, str) and sha else fmt(sha or None)


def _get(data: dict, key: str, show: Callable[[object], str] = fmt) -> str:
    """``data[key]`` shown with ``show``, or "not recorded"."""
    return show(data[key]) if key in data else NOT_RECORDED


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cell(text: str, number: bool = False) -> str:
    return f'<td class="num">{_e(text)}</td>' if number else f"<td>{_e(text)}</td>"


def key_values(rows: Iterable[tuple[str, str]]) -> str:
    """A two-column table of (label, text); both escaped."""
    body = "".join(f"<tr><th>{_e(k)}</th>{_cell(v)}</tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


def grid(header: list[str], rows: Iterable[list[object]]) -> str:
    """A table with a header row; cells are formatted with :func:`fmt` and escaped; numbers
    are right-aligned."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(
        _cell(c if isinstance(c, str) else fmt(c), _is_number(c)) for c in row) + "</tr>"
        for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _note(text: str) -> str:
    return f'<p class="note">{_e(text)}</p>'


def _section(title: str, body: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>{body}</section>'


# ---------------------------------------------------------------- figures


def _new_figure(width: float, height: float, rows: int = 1, cols: int = 1,
                **kwargs) -> tuple[Figure, np.ndarray]:
    """A figure on an Agg canvas (no pyplot: no window, no global state) and its axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, cols, squeeze=False, **kwargs)


def _label(text: object) -> str:
    """Text from a file made safe for matplotlib (a ``$`` would start mathtext)."""
    return str(text).replace("$", r"\$")


def figure_html(fig: Figure, caption: str) -> str:
    """``fig`` as an embedded PNG (``data:image/png;base64``) with its caption."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_e(caption)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _float(value: object) -> float:
    return float(value) if _is_number(value) else math.nan


def _pair(value: object) -> tuple[object, object]:
    """``[low, high]`` as a pair; anything else as ``(None, None)``."""
    return (value[0], value[1]) if isinstance(value, list) and len(value) == 2 else (None, None)


def guarded(draw: Callable[..., str | list[str]], *args: object) -> str:
    """The HTML of ``draw(*args)``, or a note saying why the figure could not be drawn (data
    of an unexpected shape must not stop the report)."""
    try:
        out = draw(*args)
    except (KeyError, IndexError, TypeError, ValueError) as err:
        return _note(f"A figure could not be drawn: {type(err).__name__}: {err}")
    return out if isinstance(out, str) else "".join(out)


# ---------------------------------------------------------------- header, spec, provenance


def _title(folder: RunFolder) -> str:
    spec, summary = _dict(folder.run.get("spec")), folder.summary
    what = [str(x) for x in (spec.get("condition") or summary.get("condition"),
                             _protocol_name(spec.get("protocol")) or summary.get("protocol")
                             or summary.get("design")) if x]
    return f"exerpain {folder.kind or 'run'}" + (f": {' × '.join(what)}" if what else "")


def _protocol_name(protocol: object) -> str | None:
    if isinstance(protocol, dict):
        return str(protocol.get("name") or "inline protocol")
    return str(protocol) if protocol else None


def header_section(folder: RunFolder) -> str:
    run = folder.run
    status = run.get("status")
    css = "ok" if status == "ok" else "bad"
    status_html = (f'<span class="{css}">{_e(status)}</span>' if status is not None
                   else _e(NOT_RECORDED))
    error = f'<p class="warn">error: {_e(run["error"])}</p>' if run.get("error") else ""
    rows = [("kind", folder.kind or NOT_RECORDED), ("run id", _get(run, "run_id")),
            ("folder", str(folder.path)), ("started", _get(run, "started")),
            ("files", _get(run, "files"))]
    headline = _dict(run.get("headline"))
    head_table = ("<h3>Headline</h3>" + key_values((k, fmt(v)) for k, v in headline.items())
                  if headline else "")
    schema = run.get("schema")
    schema_note = (_note(f"run.json schema {schema}: this report reads {SCHEMA_PREFIX}1; "
                         "some entries may be missing") if isinstance(schema, str)
                   and schema != f"{SCHEMA_PREFIX}1" else "")
    return (f"<header><h1>{_e(_title(folder))}</h1><p>status: {status_html}</p>{error}"
            f"{schema_note}{key_values(rows)}{head_table}</header>")


def _flatten(data: dict, prefix: str = "") -> list[tuple[str, object]]:
    rows = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows.extend(_flatten(value, f"{name}."))
        else:
            rows.append((name, value))
    return rows


def spec_section(folder: RunFolder) -> str:
    spec = folder.run.get("spec")
    if not isinstance(spec, dict) or not spec:
        return _section("Specification", _note(f"{NOT_RECORDED}: run.json has no spec"),
                        "spec")
    body = key_values((k, fmt(v)) for k, v in _flatten(spec))
    note = _note("Repeat this run with: exerpain run --spec run.json")
    return _section("Specification", body + note, "spec")


def _command(value: object) -> str:
    if isinstance(value, list):
        return shlex.join(str(v) for v in value)
    return fmt(value)


def _runtime(value: object) -> str:
    return f"{value:.1f} s" if _is_number(value) and math.isfinite(value) else fmt(value)


def provenance_section(folder: RunFolder) -> str:
    run = folder.run
    calibration = _dict(run.get("calibration"))
    parameters = _dict(run.get("parameters"))

    def count(key: str) -> str:
        value = calibration.get(key)
        return f"{len(value)} findings" if isinstance(value, list) else _get(calibration, key)

    rows = [
        ("exerpain version", _get(run, "exerpain_version")),
        ("git commit", _get(run, "git_commit")),
        ("calibration", _get(calibration, "name")),
        ("calibration SHA-256", _get(calibration, "sha256", _short)),
        ("calibration created", _get(calibration, "created")),
        ("calibration fitted to", count("fitted_to")),
        ("calibration held out", count("held_out")),
        ("drug calibration SHA-256", _get(run, "drug_calibration_sha256", _short)),
        ("parameters SHA-256", _get(parameters, "sha256", _short)),
        ("solver", _get(run, "solver")),
        ("seed", _get(run, "seed")),
        ("device", _get(run, "device")),
        ("python", _get(run, "python")),
        ("jax", _get(run, "jax")),
        ("platform", _get(run, "platform")),
        ("command", _get(run, "command", _command)),
        ("started", _get(run, "started")),
        ("ended", _get(run, "ended")),
        ("runtime", _get(run, "runtime_s", _runtime)),
    ]
    return _section("Provenance", key_values(rows), "provenance")


def deviations_section(folder: RunFolder) -> str:
    run = folder.run
    parameters = _dict(run.get("parameters"))
    calibration = _dict(run.get("calibration")).get("name")
    of = f"calibration {calibration}" if calibration else "the calibration (not recorded)"
    deviations = parameters.get("deviations")
    if isinstance(deviations, list) and deviations:
        rows = []
        for d in deviations:
            d = _dict(d)
            rows.append([_get(d, "parameter"), d.get("value", NOT_RECORDED),
                         d.get("default", NOT_RECORDED), d.get("declared", NOT_RECORDED),
                         _get(d, "unit"),
                         f"{fmt(d['low'])} to {fmt(d['high'])}" if "low" in d and "high" in d
                         else NOT_RECORDED, _get(d, "provenance")])
        body = grid(["parameter", "value", f"default ({of})", "declared", "unit", "range",
                     "provenance of the default"], rows)
    elif isinstance(deviations, list):
        body = f"<p>none: the defaults of {_e(of)}.</p>"
    elif _dict(parameters.get("overrides")):
        rows = [[name, value] for name, value in _flatten(parameters["overrides"])]
        body = _note("The deviations were not recorded; the overrides the run gave:") + grid(
            ["parameter", "value"], rows)
    else:
        overrides = _dict(_dict(run.get("spec")).get("params"))
        body = (grid(["parameter", "value"], [list(r) for r in _flatten(overrides)])
                if overrides else _note(f"{NOT_RECORDED}: run.json does not list the "
                                        "parameter deviations"))
    return _section("Parameters that deviate from the defaults", body, "deviations")


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
    counts = _dict(counts)
    if "passed" in counts and "total" in counts:
        return f"{fmt(counts['passed'])}/{fmt(counts['total'])}"
    return NOT_RECORDED


def validation_summary(report: dict) -> str:
    """"validated on <date>: passed P/T findings, non-structural x/y, trials i/n"."""
    record = _dict(report.get("record"))
    when = record.get("validated_at")
    date = str(when)[:10] if when else "an unrecorded date"
    text = (f"validated on {date}: passed {_passed(report)} findings, non-structural "
            f"{_passed(report.get('informative'))}")
    trials = _dict(report.get("trials"))
    if "inside" in trials and "total" in trials:
        text += f", trials {fmt(trials['inside'])}/{fmt(trials['total'])}"
    else:
        text += ", trials not run"
    return text


def validation_section(folder: RunFolder) -> str:
    from exerpain.interfaces import validation_record

    run = folder.run
    calibration = _dict(run.get("calibration"))
    version, sha = run.get("exerpain_version"), calibration.get("sha256")
    parts = []
    if not isinstance(version, str) or not isinstance(sha, str):
        parts.append(f'<p class="warn">{NOT_RECORDED}: the run does not name its exerpain '
                     "version and calibration, so its validation cannot be looked up.</p>")
    else:
        report = validation_record.load(version, sha)
        if report is None:
            parts.append(f'<p class="warn">not validated on this machine for exerpain '
                         f"{_e(version)} with calibration {_e(_short(sha))}: run "
                         "<code>exerpain validate</code>.</p>")
        else:
            parts.append(f'<p class="ok">{_e(validation_summary(report))}</p>')
            by_kind = _dict(report.get("by_kind"))
            if by_kind:
                parts.append(grid(["kind", "passed"], [[k, _passed(v)]
                                                      for k, v in by_kind.items()]))
            failed = [f for f in report.get("findings") or [] if isinstance(f, dict)
                      and f.get("pass") is False]
            if failed:
                parts.append("<h3>Findings the model fails</h3>" + grid(
                    ["finding", "kind", "model", "expected", "source"],
                    [[_get(f, "id"), _get(f, "kind"), f.get("model_value", NOT_RECORDED),
                      _get(f, "expected"), _get(f, "citation")] for f in failed]))
    record = calibration_record(calibration)
    scores = _dict(record.get("scores")) if record else {}
    if scores:
        metrics = list(dict.fromkeys(m for v in scores.values() for m in _dict(v)))
        parts.append("<h3>Calibration scores (mean z², share within 95%)</h3>" + grid(
            ["set", *metrics], [[name, *(_dict(v).get(m, NOT_RECORDED) for m in metrics)]
                                for name, v in scores.items()]))
    elif record is None and isinstance(sha, str) and sha:
        parts.append(_note("The calibration's fitted and held-out scores are not shown: its "
                           "file (SHA-256 " + sha[:12] + ") is not the package's nor one in "
                           "this machine's data directory."))
    return _section("Validation of the model version used", "".join(parts), "validation")


# ---------------------------------------------------------------- results: simulate


def _readout_label(readout: object) -> str:
    return READOUT_LABELS.get(str(readout), str(readout))


def _programme_span(ax, summary: dict, last_day: float) -> None:
    detail = _dict(summary.get("protocol_detail"))
    start = detail.get("start_day")
    if not _is_number(start) or detail.get("name") == "sedentary":
        return
    stop = detail.get("stop_day")
    stop = stop if _is_number(stop) else last_day
    ax.axvspan(start, stop, color="#999", alpha=0.08, lw=0, label="exercise programme")


def simulate_figures(frame: pd.DataFrame, summary: dict) -> list[str]:
    out = []
    readout = summary.get("readout")
    last_day = float(frame["day"].max())
    if isinstance(readout, str) and readout in frame:
        fig, axes = _new_figure(7, 3.4)
        ax = axes[0, 0]
        for run in ("exercise", "sedentary"):
            part = frame[frame["run"] == run]
            ax.plot(part["day"], part[readout], color=COLORS[run], label=run)
        healthy = summary.get("healthy_value")
        if _is_number(healthy):
            ax.axhline(healthy, color=COLORS["healthy"], ls="--", lw=1, label="healthy")
        _programme_span(ax, summary, last_day)
        ax.set_xlabel("day")
        ax.set_ylabel(_label(_readout_label(readout)))
        ax.legend(frameon=False, fontsize=8)
        out.append(figure_html(fig, f"{_readout_label(readout)} over days: exercise, "
                                    "sedentary control and health."))
    sites = [s for s in PAIN_SITES if f"pain_{s}" in frame]
    if sites:
        fig, axes = _new_figure(7, 4.4, 2, 2, sharex=True)
        for ax, site in zip(axes.flat, sites, strict=False):
            for run in ("exercise", "sedentary"):
                part = frame[frame["run"] == run]
                ax.plot(part["day"], part[f"pain_{site}"], color=COLORS[run], label=run)
            ax.set_title(f"{site}", fontsize=9)
            ax.tick_params(labelsize=8)
        for ax in list(axes.flat)[len(sites):]:
            ax.set_visible(False)
        for ax in axes[-1]:
            ax.set_xlabel("day")
        axes[0, 0].legend(frameon=False, fontsize=8)
        out.append(figure_html(fig, "Site pain factors (dimensionless, 1 in health; their "
                                    "product is the nociceptive drive): exercise vs "
                                    "sedentary."))
    return out


def simulate_results(folder: RunFolder) -> str:
    s = folder.summary
    readout = s.get("readout", NOT_RECORDED)
    rows = [("read-out", _readout_label(readout)), ("day", _get(s, "days")),
            ("exercise", _get(s, "exercise_value")), ("sedentary", _get(s, "sedentary_value")),
            ("healthy", _get(s, "healthy_value")),
            ("benefit (exercise vs sedentary; positive = less pain)", _get(s, "benefit")),
            ("share of the deficit recovered", _get(s, "benefit_fraction", _pct)),
            ("responder (>=30%)", _get(s, "responder30")),
            ("responder (>=50%)", _get(s, "responder50")),
            ("solver status", _get(s, "status"))]
    parts = ["<h3>On the last day</h3>", key_values(rows)]
    functional = _dict(s.get("functional"))
    if functional:
        parts.append("<h3>Functional read-outs (last day)</h3>" + grid(
            ["read-out", "exercise", "sedentary", "healthy"],
            [[name, *(_dict(v).get(k, NOT_RECORDED) for k in ("exercise", "sedentary",
                                                               "healthy"))]
             for name, v in functional.items()]))
    columns = ["run", "day", str(readout), *(f"pain_{site}" for site in PAIN_SITES)]
    frame, problem = _read_table(folder.path, KIND_FILES["simulate"], columns)
    if frame is None:
        parts.append(_note(f"No trajectory figures: {problem}."))
    elif not {"run", "day"} <= set(frame.columns) or frame.empty:
        parts.append(_note("No trajectory figures: the trajectory has no run/day columns."))
    else:
        parts.append(guarded(simulate_figures, frame, s))
    return "".join(parts)


# ---------------------------------------------------------------- results: cohort


SHARE_VIEWS = {"entry": "priming_mechanism_share", "pathway": "pathway_priming_share"}


def benefit_figure(benefit: pd.Series, summary: dict) -> str:
    import numpy as np

    values = benefit.to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    fig, axes = _new_figure(7, 3.2)
    ax = axes[0, 0]
    ax.hist(values, bins=min(40, max(5, int(np.sqrt(len(values))) * 2)), color="#6a8fbf",
            edgecolor="white")
    ax.axvline(0, color="#444", lw=1)
    mean = summary.get("mean_benefit")
    if _is_number(mean) and math.isfinite(mean):
        ax.axvline(mean, color=COLORS["sedentary"], ls="--", lw=1, label=f"mean {mean:.3g}")
        ax.legend(frameon=False, fontsize=8)
    readout = summary.get("readout", "read-out")
    ax.set_xlabel(_label(f"benefit ({_readout_label(readout)}; positive = less pain)"))
    ax.set_ylabel("subjects")
    return figure_html(fig, f"Benefit of exercise over {len(values)} subjects with an outcome.")


def _share_rows(summary: dict) -> tuple[list[str], list[str], list[list[object]]]:
    views = [v for v, key in SHARE_VIEWS.items() if isinstance(summary.get(key), dict)]
    mechanisms: list[str] = []
    for view in views:
        mechanisms.extend(k for k in summary[SHARE_VIEWS[view]] if k not in mechanisms)
    rows = []
    for m in mechanisms:
        row: list[object] = [m]
        for view in views:
            key = SHARE_VIEWS[view]
            share = summary[key].get(m)
            interval = _dict(summary.get(f"{key}_interval")).get(m)
            text = _pct(share)
            if isinstance(interval, list) and len(interval) == 2:
                text += f" ({_pct(interval[0])} to {_pct(interval[1])})"
            row.append(text)
        rows.append(row)
    return views, mechanisms, rows


def priming_figure(summary: dict, views: list[str], mechanisms: list[str]) -> str:
    import numpy as np

    fig, axes = _new_figure(7, 0.35 * len(mechanisms) + 1.2)
    ax = axes[0, 0]
    y = np.arange(len(mechanisms))
    height = 0.8 / len(views)
    for i, view in enumerate(views):
        key = SHARE_VIEWS[view]
        share = np.array([_float(summary[key].get(m)) for m in mechanisms])
        intervals = _dict(summary.get(f"{key}_interval"))
        low = np.array([_float(_pair(intervals.get(m))[0]) for m in mechanisms])
        high = np.array([_float(_pair(intervals.get(m))[1]) for m in mechanisms])
        err = np.vstack([np.clip(share - low, 0, None), np.clip(high - share, 0, None)])
        err = np.where(np.isfinite(err), err, 0.0)
        ax.barh(y + (i - (len(views) - 1) / 2) * height, np.nan_to_num(share), height,
                xerr=err, color=COLORS.get(view), label=f"{view} view",
                error_kw={"lw": 0.8, "capsize": 2})
    ax.set_yticks(y, [_label(m) for m in mechanisms], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("share of subjects primed by the mechanism")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return figure_html(fig, "Priming-mechanism shares (bars: interval of the share).")


def _endotypes(summary: dict) -> str:
    endotypes = summary.get("endotypes")
    if not isinstance(endotypes, dict):
        return _note(f"Endotypes: {NOT_RECORDED} (the run had no attribution).")
    rows = [("groups (k)", _get(endotypes, "k")),
            ("mean silhouette", _get(endotypes, "silhouette")),
            ("method", _get(endotypes, "method"))]
    sizes, profiles = _dict(endotypes.get("sizes")), _dict(endotypes.get("profiles"))
    labels = list(dict.fromkeys([*sizes, *profiles]))
    mechanisms = list(dict.fromkeys(m for p in profiles.values() for m in _dict(p)))
    table = grid(["endotype", "subjects", *mechanisms],
                 [[str(e), sizes.get(e, NOT_RECORDED),
                   *(_round(_dict(profiles.get(e)).get(m)) for m in mechanisms)]
                  for e in labels]) if labels else ""
    return (key_values(rows) + table + _note("Profile: mean Shapley value per mechanism, "
                                             "normalised by the sum of |values| per subject."))


def _round(value: object) -> object:
    return round(value, 3) if _is_number(value) and math.isfinite(value) else value


def cohort_results(folder: RunFolder) -> str:
    s = folder.summary
    ci = s.get("benefit_ci95")
    mean = _get(s, "mean_benefit")
    if isinstance(ci, list) and len(ci) == 2:
        mean += f" (95% CI {fmt(ci[0])} to {fmt(ci[1])})"
    rows = [("read-out", _readout_label(s.get("readout", NOT_RECORDED))),
            ("day", _get(s, "days")), ("subjects", _get(s, "n")),
            ("completed", _get(s, "completed")), ("failed", _get(s, "failed")),
            ("sex", _get(s, "sex")), ("seed", _get(s, "seed")),
            ("mean benefit (positive = less pain)", mean),
            ("SD of benefit", _get(s, "benefit_sd")),
            ("responders (>=30%)", _get(s, "responder30_rate", _pct)),
            ("responders (>=50%)", _get(s, "responder50_rate", _pct)),
            ("responder status undefined", _get(s, "responder_undefined")),
            ("rates over", _get(s, "rates_over"))]
    parts = ["<h3>Outcome</h3>", key_values(rows)]
    frame, problem = _read_table(folder.path, KIND_FILES["cohort"], ["benefit", "status"])
    if frame is None or "benefit" not in frame:
        parts.append(_note(f"No benefit histogram: {problem or 'no benefit column'}."))
    else:
        parts.append(guarded(benefit_figure, frame["benefit"], s))
    functional = _dict(s.get("functional"))
    if functional:
        parts.append("<h3>Functional read-outs (cohort means, last day)</h3>" + grid(
            ["read-out", "exercise", "sedentary", "healthy"],
            [[name, *(_dict(v).get(k, NOT_RECORDED) for k in ("exercise", "sedentary",
                                                               "healthy"))]
             for name, v in functional.items()]))
    views, mechanisms, share_rows = _share_rows(s)
    parts.append("<h3>Priming mechanisms</h3>")
    if views:
        attribution = _dict(s.get("attribution"))
        interval = _dict(attribution.get("share_interval"))
        parts.append(grid(["mechanism", *(f"{v} view share (interval)" for v in views)],
                          share_rows))
        parts.append(_note(
            "A subject's priming mechanism is the one that carries most of its benefit "
            f"(attribution {fmt(attribution.get('method', NOT_RECORDED))}, scale "
            f"{fmt(attribution.get('scale', NOT_RECORDED))}); intervals: "
            f"{fmt(interval.get('method', NOT_RECORDED))}, level "
            f"{fmt(interval.get('level', NOT_RECORDED))}."))
        parts.append(guarded(priming_figure, s, views, mechanisms))
    else:
        parts.append(_note(f"{NOT_RECORDED}: the run had no attribution."))
    parts.append("<h3>Endotypes</h3>" + _endotypes(s))
    parts.append("<h3>Failures</h3>" + _failures(s.get("failure_reasons")))
    return "".join(parts)


def _failures(reasons: object) -> str:
    if not isinstance(reasons, dict):
        return _note(NOT_RECORDED)
    if not reasons:
        return "<p>none</p>"
    return grid(["reason", "subjects"], [[k, v] for k, v in reasons.items()])


# ---------------------------------------------------------------- results: trial


def _interval(value: object) -> str:
    d = _dict(value)
    ci = d.get("ci95")
    text = fmt(d.get("mean")) if "mean" in d else NOT_RECORDED
    if isinstance(ci, list) and len(ci) == 2:
        text += f" (95% of trials {fmt(ci[0])} to {fmt(ci[1])})"
    return text


def _dict_grid(first: str, data: dict) -> str:
    """A table of ``{column: {row: value}}`` (e.g. arms by their numbers): one column per key
    of ``data``, one row per entry, rows in first-seen order."""
    rows = list(dict.fromkeys(r for v in data.values() for r in _dict(v)))
    return grid([first, *data], [[row, *(_shown(_dict(v).get(row, NOT_RECORDED))
                                         for v in data.values())] for row in rows])


def _shown(value: object) -> object:
    if isinstance(value, dict) and "mean" in value:
        return _interval(value)
    return value


def trial_figure(frame: pd.DataFrame, summary: dict) -> str:
    import numpy as np

    fig, axes = _new_figure(7, 3.2)
    ax = axes[0, 0]
    arms = list(dict.fromkeys(frame["arm"].astype(str)))
    for arm in arms:
        values = frame.loc[frame["arm"].astype(str) == arm, "estimate"].to_numpy(float)
        values = values[np.isfinite(values)]
        ax.hist(values, bins=min(40, max(5, int(np.sqrt(len(values))) * 2)), alpha=0.6,
                label=_label(f"{arm} vs {summary.get('control', 'control')}"))
    ax.axvline(0, color="#444", lw=1)
    ax.set_xlabel("estimated difference at the endpoint (NRS points; negative = less pain)")
    ax.set_ylabel("replicate trials")
    ax.legend(frameon=False, fontsize=8)
    return figure_html(fig, f"The estimate over {len(frame)} replicate comparisons: the range "
                            "a single trial's result falls in.")


def trial_results(folder: RunFolder) -> str:
    s = folder.summary
    power = _get(s, "power", _pct)
    if _is_number(s.get("power_mc_se")):
        power += f" (Monte Carlo SE {_pct(s['power_mc_se'])})"
    rows = [("design", _get(s, "design")), ("condition", _get(s, "condition")),
            ("replicate trials", _get(s, "replicates")),
            ("randomised per trial", _get(s, "n_randomised")),
            ("endpoint day", _get(s, "endpoint_day")), ("alpha", _get(s, "alpha")),
            ("estimator", _get(s, "estimator")), ("missing data", _get(s, "missing_data")),
            ("null (arms identical)", _get(s, "null")),
            ("primary comparison", f"{fmt(s.get('primary_comparison', NOT_RECORDED))} vs "
                                   f"{fmt(s.get('control', NOT_RECORDED))}"),
            ("power", power), ("difference", _interval(s.get("difference"))),
            ("SMD", _interval(s.get("smd")))]
    parts = ["<h3>Primary comparison</h3>", key_values(rows)]
    if isinstance(s.get("n_per_arm"), dict):
        n = s["n_per_arm"]
        parts.append("<h3>Sample size</h3>" + key_values([
            ("target power", _get(s, "target_power", _pct)),
            ("n per arm", f"{fmt(n.get('estimate'))} (95% {fmt(n.get('ci95'))}; "
                          f"{fmt(n.get('method', NOT_RECORDED))})"),
            ("power by n per arm", fmt(s.get("power_search", NOT_RECORDED)))]))
    comparisons = _dict(s.get("comparisons"))
    if comparisons:
        parts.append("<h3>Comparisons with the control</h3>" + _dict_grid("", comparisons))
    arms = _dict(s.get("arms"))
    if arms:
        parts.append("<h3>Arms (means over replicate trials)</h3>" + _dict_grid("", arms))
    consort = _dict(s.get("consort"))
    parts.append("<h3>CONSORT flow (per trial, mean over replicates)</h3>")
    if consort:
        parts.append(key_values([("screened", _get(consort, "screened_per_trial")),
                                 ("randomised", _get(consort, "randomised_per_trial"))]))
        if _dict(consort.get("arms")):
            parts.append(_dict_grid("", consort["arms"]))
    else:
        parts.append(_note(NOT_RECORDED))
    frame, problem = _read_table(folder.path, KIND_FILES["trial"], ["arm", "estimate"])
    if frame is None or not {"arm", "estimate"} <= set(frame.columns) or frame.empty:
        parts.append(_note(f"No replicate figure: {problem or 'no estimates'}."))
    else:
        parts.append(guarded(trial_figure, frame, s))
    failed = s.get("failed_patients")
    parts.append(f"<h3>Failures</h3><p>patients whose simulation failed: {_e(fmt(failed))}"
                 "</p>" if failed is not None else "<h3>Failures</h3>")
    parts.append(_failures(s.get("failure_reasons")))
    return "".join(parts)


# ---------------------------------------------------------------- results, appendix, page


RESULTS: dict[str, Callable[[RunFolder], str]] = {
    "simulate": simulate_results, "cohort": cohort_results, "trial": trial_results}


def results_section(folder: RunFolder) -> str:
    if folder.summary_problem:
        body = _note(f"No results: {folder.summary_problem}.")
    elif folder.kind in RESULTS:
        body = RESULTS[folder.kind](folder)
    else:
        body = (_note(f"Run kind {folder.kind or NOT_RECORDED}: its summary as recorded.")
                + key_values((k, fmt(v)) for k, v in _flatten(folder.summary)))
    return _section("Results", body, "results")


def appendix_section(folder: RunFolder) -> str:
    parts = []
    for name, data in ((SUMMARY_FILE, folder.summary), (RUN_FILE, folder.run)):
        if data:
            text = json.dumps(data, indent=2, default=str)
            parts.append(f"<details><summary>{_e(name)}</summary><pre>{_e(text)}</pre>"
                         "</details>")
    return _section("Files as recorded", "".join(parts), "files") if parts else ""


def _page(title: str, body: str) -> str:
    made = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>{body}"
            f'<footer><p class="note">Report made {made} by exerpain report.</p></footer>'
            "</body></html>\n")


def build_report(run_dir: Path | str) -> str:
    """The HTML report of the run folder ``run_dir`` (one self-contained page)."""
    folder = read_run_folder(run_dir)
    body = "".join(section(folder) for section in (
        header_section, spec_section, provenance_section, deviations_section,
        validation_section, results_section, appendix_section))
    return _page(_title(folder), body)


def write_report(run_dir: Path | str, out: Path | str | None = None) -> Path:
    """Write the report of ``run_dir`` to ``out`` (default ``run_dir/report.html``),
    atomically; returns the path written."""
    from exerpain.storage import atomic_write, writable_file

    text = build_report(run_dir)
    target = writable_file(Path(run_dir).expanduser() / REPORT_FILE if out is None else out,
                           "out")
    atomic_write(target, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return target
