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

This module assembles the page; :mod:`~exerpain.interfaces.report.folder` reads the folder,
:mod:`~exerpain.interfaces.report.html` holds the HTML pieces,
:mod:`~exerpain.interfaces.report.sections` the sections about the run and
:mod:`~exerpain.interfaces.report.results` its results.
"""

from __future__ import annotations

import json
from pathlib import Path

from exerpain.interfaces.report.folder import RUN_FILE, SUMMARY_FILE, RunFolder, read_run_folder
from exerpain.interfaces.report.html import esc, figure_html, fmt, grid, key_values, page, section
from exerpain.interfaces.report.results import results_section
from exerpain.interfaces.report.sections import (
    deviations_section,
    header_section,
    provenance_section,
    run_title,
    spec_section,
    validation_section,
)

__all__ = ["REPORT_FILE", "RunFolder", "build_report", "figure_html", "fmt", "grid",
           "key_values", "read_run_folder", "write_report"]

REPORT_FILE = "report.html"


def appendix_section(folder: RunFolder) -> str:
    """``summary.json`` and ``run.json`` as recorded, folded away."""
    parts = []
    for name, data in ((SUMMARY_FILE, folder.summary), (RUN_FILE, folder.run)):
        if data:
            text = json.dumps(data, indent=2, default=str)
            parts.append(f"<details><summary>{esc(name)}</summary><pre>{esc(text)}</pre>"
                         "</details>")
    return section("Files as recorded", "".join(parts), "files") if parts else ""


def build_report(run_dir: Path | str) -> str:
    """The HTML report of the run folder ``run_dir`` (one self-contained page)."""
    folder = read_run_folder(run_dir)
    body = "".join(make(folder) for make in (
        header_section, spec_section, provenance_section, deviations_section,
        validation_section, results_section, appendix_section))
    return page(run_title(folder), body)


def write_report(run_dir: Path | str, out: Path | str | None = None) -> Path:
    """Write the report of ``run_dir`` to ``out`` (default ``run_dir/report.html``),
    atomically; returns the path written."""
    from exerpain.storage import atomic_write, writable_file

    text = build_report(run_dir)
    target = writable_file(Path(run_dir).expanduser() / REPORT_FILE if out is None else out,
                           "out")
    atomic_write(target, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return target
