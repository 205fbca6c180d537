"""What produced a result: the ``run.json`` every output folder holds and the run store keeps.

A run's provenance names everything needed to repeat it and to know, months later, whether
two results are comparable: the spec (which alone repeats the run: ``exerpain run --spec
run.json``), the full resolved parameters and their SHA-256, the deviations from the
defaults, the calibration (name, SHA-256 of its file) and the drug calibration, the package
version (and the git commit when run from a checkout), the solver and its tolerances, the
seed, the command line, start and end time, and the device.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import secrets
import subprocess
import sys
from importlib import metadata, resources
from pathlib import Path

SCHEMA = "exerpain.run/1"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_run_id(started: dt.datetime) -> str:
    """``20261126T201500Z-3f9a2c``: sortable by start time, unique across processes."""
    return f"{started.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def version() -> str:
    try:
        return metadata.version("exerpain")
    except metadata.PackageNotFoundError:  # run from a source tree without installing
        from exerpain import __version__

        return __version__


def git_commit() -> str | None:
    """The commit of the source checkout exerpain runs from (``+dirty`` with local changes);
    ``None`` for an installed wheel."""
    root = Path(__file__).resolve().parents[3]
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--",
                                "src"], check=True, capture_output=True, text=True,
                               timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def parameters_sha256(params: dict) -> str:
    """SHA-256 of the canonical JSON of ``{group: {name: value}}`` (sorted keys, floats as
    ``repr``): equal hashes, equal parameters."""
    canonical = json.dumps({g: {k: float(v) for k, v in sorted(values.items())}
                            for g, values in sorted(params.items())}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _file_sha256(package: str, name: str) -> str | None:
    path = resources.files(package) / "data" / name
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def solver_settings(kind: str) -> dict:
    """The integrator and tolerances a run of ``kind`` uses."""
    from exerpain.simulate import solve
    from exerpain.simulate.engine import ENGINE_ATOL, ENGINE_RTOL

    rtol, atol = {"simulate": (solve.RTOL, solve.ATOL)}.get(kind, (ENGINE_RTOL, ENGINE_ATOL))
    if kind == "trial":
        from exerpain.design.trial import ATOL, RTOL

        rtol, atol = RTOL, ATOL
    # cohorts (and what runs on the engine) solve to the last day with the fused Tsit5 step
    method = ("Tsit5" if kind in ("simulate", "trial")
              else "Tsit5, fused end-point step (exerpain.simulate.fused, diffrax's tableau)")
    return {"library": f"diffrax {metadata.version('diffrax')}", "method": method,
            "step_control": "PID", "rtol": rtol, "atol": atol, "max_steps": solve.MAX_STEPS,
            "dtmin_day": solve.DTMIN, "float": "float64",
            "retry": "Kvaerno5 (diffrax) for a run the first solve fails",
            **({} if kind in ("simulate", "trial") else {
                "exact_attribution": "every coalition of both views as one coalition-factored "
                                     "system per subject (exerpain.simulate.factored), steps "
                                     "accepted on the worst coalition's RMS error; the stiff "
                                     "retry solves each coalition on its own"})}


def device() -> str:
    import jax

    devices = jax.devices()
    first = devices[0]
    kind = getattr(first, "device_kind", "") or first.platform
    return f"{first.platform} ({kind}; {len(devices)} device{'s' * (len(devices) > 1)})"


def record(spec, run_id: str, started: dt.datetime, ended: dt.datetime, status: str,
           command: list[str] | None, model, resolved_params: dict, headline: dict,
           files: list[str], error: str | None = None) -> dict:
    """The ``run.json`` of a run."""
    import jax

    from exerpain.model.calibrated import identity
    from exerpain.model.overrides import deviations

    return {
        "schema": SCHEMA, "run_id": run_id, "kind": spec.kind, "status": status,
        **({"error": error} if error else {}),
        "spec": spec.model_dump(mode="json"),
        "exerpain_version": version(), "git_commit": git_commit(),
        "python": platform.python_version(), "jax": jax.__version__,
        "platform": platform.platform(), "device": device(),
        "command": list(command) if command is not None else [sys.argv[0], "(python api)"],
        "started": iso(started), "ended": iso(ended),
        "runtime_s": (ended - started).total_seconds(),
        "seed": getattr(spec, "seed", None),
        "solver": solver_settings(spec.kind),
        "calibration": identity(),
        "drug_calibration_sha256": _file_sha256("exerpain.model", "drugs.json"),
        "parameters": {"sha256": parameters_sha256(resolved_params),
                       "overrides": spec.params, "deviations": deviations(model, spec.params),
                       "values": resolved_params},
        "headline": headline, "files": files,
    }
