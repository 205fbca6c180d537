"""The last validation of a model version on this machine: what ``exerpain validate`` found.

A validation report (:func:`exerpain.evidence.validation.validate`: ``passed``, ``total``,
``informative``, ``by_kind``, ``findings``, optionally ``trials``) is kept per exerpain
version and calibration, in the data directory (:mod:`exerpain.datadir`)::

    validation/{version}-{calibration_sha256[:12]}.json

so that a report of a run (:mod:`exerpain.interfaces.report`) can say whether the model that
produced it was validated, when, and with what result. A later validation of the same version
and calibration replaces the earlier one (the file is written atomically). The stored report
carries a ``record`` entry: ``exerpain_version``, ``calibration_sha256`` and ``validated_at``
(UTC, ISO 8601).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from exerpain.storage import atomic_write, to_json

FOLDER = "validation"
UNCALIBRATED = "uncalibrated"
"""The file-name tag of a validation with no calibration (an empty SHA-256)."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")
_HEX = re.compile(r"[0-9a-fA-F]*")


def _tag(version: str, calibration_sha256: str) -> str:
    if not isinstance(version, str) or not version.strip():
        raise ValueError(f"version: must be a non-empty string, got {version!r:.60}")
    if not isinstance(calibration_sha256, str) or not _HEX.fullmatch(calibration_sha256):
        raise ValueError("calibration_sha256: must be a hexadecimal SHA-256 (or empty for no "
                         f"calibration), got {calibration_sha256!r:.80}")
    safe_version = _UNSAFE.sub("_", version.strip())
    return f"{safe_version}-{calibration_sha256[:12].lower() or UNCALIBRATED}"


def path_for(version: str, calibration_sha256: str) -> Path:
    """Where the validation of ``version`` with the calibration ``calibration_sha256`` is
    kept (the folder is not created)."""
    from exerpain.datadir import data_dir

    return data_dir(create=False) / FOLDER / f"{_tag(version, calibration_sha256)}.json"


def save(report: dict, version: str, calibration_sha256: str) -> Path:
    """Keep ``report`` as the validation of exerpain ``version`` with the calibration whose
    file has SHA-256 ``calibration_sha256``; returns the file written."""
    if not isinstance(report, dict):
        raise ValueError(f"report: must be a validation report (a dict), got "
                         f"{type(report).__name__}")
    path = path_for(version, calibration_sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamped = {**report, "record": {
        "exerpain_version": version, "calibration_sha256": calibration_sha256,
        "validated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}}
    text = to_json(stamped) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    return path


def load(version: str, calibration_sha256: str) -> dict | None:
    """The kept validation of ``version`` with ``calibration_sha256`` (with its ``record``),
    or ``None`` if there is none or it cannot be read."""
    try:
        path = path_for(version, calibration_sha256)
    except ValueError:
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
