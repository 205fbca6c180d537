"""``exerpain export``: a scenario's composed model in other tools' formats (thin layer over
:mod:`exerpain.interfaces.sbml`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from exerpain.errors import InputError

export_app = typer.Typer(no_args_is_help=True, add_completion=False,
                         help="Export a scenario's composed model (SBML).")


def check_file_target(out: Path, overwrite: bool, field: str = "out") -> Path:
    """A file path that may receive the export: :class:`InputError` naming ``field`` if it
    is a folder, its folder is missing, or it exists and ``overwrite`` is not given."""
    if str(out).strip() == "":
        raise InputError(f"{field}: must be a file path")
    if out.is_dir():
        raise InputError(f"{field}: {out} is a folder; give a file path such as model.xml")
    if not out.parent.is_dir():
        raise InputError(f"{field}: folder {out.parent} does not exist")
    if out.exists() and not overwrite:
        raise InputError(f"{field}: {out} exists; use --overwrite to replace it")
    return out


@export_app.command("sbml")
def sbml(
    condition: Annotated[str, typer.Option(help="cci, sni, pnsl, stz, paclitaxel, sham, dpn, "
                                                "cipn")],
    out: Annotated[Path, typer.Option(help="the SBML file to write (e.g. model.xml)")],
    protocol: Annotated[str, typer.Option(
        help="preset name or a YAML/JSON protocol file")] = "sedentary",
    intervention: Annotated[list[str] | None, typer.Option(
        "--intervention", "--interventions", help="blockade or drug (repeatable)")] = None,
    ablate: Annotated[list[str] | None, typer.Option(
        help="remove exercise's action through a mechanism (repeatable)")] = None,
    start_day: Annotated[float | None, typer.Option(
        help="override the programme's start day")] = None,
    stop_day: Annotated[float | None, typer.Option(
        help="override the programme's stop day")] = None,
    days: Annotated[int | None, typer.Option(
        help="days to simulate after onset (1-3650)")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="change a parameter: GROUP.NAME=VALUE, within its declared range "
                      "(repeatable; `exerpain params` lists them)")] = None,
    calibration: Annotated[str | None, typer.Option(
        help="calibration by name (`exerpain calibration list`); default: the active one")]
    = None,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="replace --out if it exists")] = False,
) -> None:
    """Write one scenario's composed model as SBML Level 3 Version 2 (states, read-outs,
    parameters with units and provenance; time in days)."""
    import contextlib

    from exerpain.interfaces.sbml import export_scenario
    from exerpain.model.calibrated import using
    from exerpain.model.overrides import parse_overrides
    from exerpain.simulate.scenario import Scenario
    from exerpain.storage import atomic_write

    check_file_target(out, overwrite)
    params = parse_overrides(set_ or [], field="set") or None
    scenario = Scenario.create(condition=condition, protocol=protocol,
                               interventions=intervention or [], ablate=ablate or [],
                               days=days, start_day=start_day, stop_day=stop_day,
                               params=params)
    pinned = using(calibration) if calibration is not None else contextlib.nullcontext()
    with pinned:
        export = export_scenario(scenario)

    def write(path: str) -> None:
        Path(path).write_text(export.text, encoding="utf-8")

    atomic_write(out, write)
    typer.echo(f"wrote {out} (SBML L3V2: {len(export.state_ids)} states, read-outs "
               f"{', '.join(export.outputs)}; SBML time 0 is day {export.t0:g}, the run ends "
               f"at SBML time {export.sbml_time(export.days):g})")
