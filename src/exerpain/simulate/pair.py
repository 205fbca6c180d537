"""Exercise vs sedentary: the comparison every simulation reports.

``simulate_pair`` solves the requested protocol and the sedentary control with the same
condition, interventions, ablations and duration, in one batched solve, and summarises the
primary read-out on the last day: benefit, responder status (null where the sedentary deficit
from health is too small for a relative reduction to mean anything, e.g. sham; see
:func:`exerpain.model.readouts.minimal_deficit`) and the functional read-outs
(:mod:`exerpain.model.function`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from exerpain.errors import InputError
from exerpain.model.function import functional_healthy_value, functional_names
from exerpain.model.protocols import PRESETS, Protocol
from exerpain.model.readouts import PRIMARY_READOUT, benefit, healthy_value, responder_status
from exerpain.model.registry import Model
from exerpain.precision import float64
from exerpain.simulate.scenario import Scenario
from exerpain.simulate.solve import Trajectory, solve

if TYPE_CHECKING:
    from matplotlib.figure import Figure

RUNS = ("exercise", "sedentary")


@dataclass(frozen=True)
class PairResult:
    scenario: Scenario
    trajectory: Trajectory
    summary: dict

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per run (exercise, sedentary) and day; a column per state and
        observable (:func:`trajectory_frame`)."""
        return trajectory_frame(self.trajectory, list(RUNS))

    def __repr__(self) -> str:
        s = self.summary
        fraction = s["benefit_fraction"]
        share = "" if fraction != fraction else f" ({100 * fraction:.0f}%)"  # NaN: undefined
        extra = " + " + "+".join(s["interventions"]) if s["interventions"] else ""
        if s["ablate"]:
            extra += ", ablate " + "+".join(s["ablate"])
        return (f"PairResult({s['condition']}, {s['protocol']}{extra}, {s['days']} days: "
                f"{s['readout']} exercise {s['exercise_value']:.3g} sedentary "
                f"{s['sedentary_value']:.3g}, benefit {s['benefit']:.3g}{share})")

    def plot(self, readout: str | None = None) -> Figure:
        """``readout`` (default: the primary read-out) over days, exercise vs sedentary, and
        the healthy value (:func:`exerpain.interfaces.figures.pair_figure`)."""
        from exerpain.interfaces.figures import pair_figure

        return pair_figure([("", self)], readout)


def trajectory_frame(trajectory: Trajectory, run_labels: list[str]) -> pd.DataFrame:
    """Long table: one row per run and day; a column per state and observable."""
    frames = []
    for i, label in enumerate(run_labels):
        data = {"run": label, "day": trajectory.days}
        for j, name in enumerate(trajectory.state_names):
            data[name] = trajectory.states[i, :, j]
        for name, values in trajectory.observables.items():
            data[name] = values[i]
        frames.append(pd.DataFrame(data))
    return pd.concat(frames, ignore_index=True)


def summarise(scenario: Scenario, trajectory: Trajectory, model: Model) -> dict:
    condition = scenario.resolved_condition()
    protocol = scenario.resolved_protocol()
    readout = PRIMARY_READOUT[condition.kind]
    values = trajectory.observables[readout][:, -1]
    exercise, sedentary = float(values[0]), float(values[1])
    params = scenario.resolved_params(model)
    healthy = healthy_value(readout, params["readout"])
    gain = float(benefit(readout, exercise, sedentary))
    deficit = float(benefit(readout, healthy, sedentary))
    r30, r50, defined = responder_status(readout, exercise, sedentary, healthy,
                                         params["readout"])
    return {
        "condition": condition.name,
        "species": condition.species,
        "protocol": protocol.name,
        "protocol_detail": protocol.model_dump(),
        "interventions": list(scenario.interventions),
        "ablate": list(scenario.ablate),
        "days": scenario.resolved_days(),
        "readout": readout,
        "exercise_value": exercise,
        "sedentary_value": sedentary,
        "healthy_value": healthy,
        "benefit": gain,
        # a share of the deficit, undefined (null) where the deficit is too small to mean
        # anything, as responder status: a recovered CCI rat on day 3650 gave 629%
        "benefit_fraction": gain / deficit if bool(defined) and deficit > 1e-9
        else float("nan"),
        "responder30": bool(r30) if defined else None,
        "responder50": bool(r50) if defined else None,
        "functional": functional_summary(condition.kind, trajectory, params["readout"]),
        "status": dict(zip(RUNS, trajectory.status, strict=True)),
    }


def functional_summary(kind: str, trajectory: Trajectory, readout_params: dict) -> dict:
    """``{name: {"exercise", "sedentary", "healthy"}}``: each functional read-out on the last
    day of both runs, and in health (units of the read-out)."""
    out = {}
    for name in functional_names(kind):
        values = trajectory.observables.get(name)
        if values is None:  # a model without the injury module
            continue
        out[name] = {"exercise": float(values[0, -1]), "sedentary": float(values[1, -1]),
                     "healthy": functional_healthy_value(name, readout_params)}
    return out


@float64  # an entry point: its arrays (built before the solve) must be float64 too
def simulate_pair(condition: str, protocol: str | Protocol = "sedentary",
                  interventions: str | Iterable[str] = (), ablate: str | Iterable[str] = (),
                  days: int | None = None, start_day: float | None = None,
                  stop_day: float | None = None, model: Model | None = None,
                  params: dict | None = None) -> PairResult:
    """Simulate ``protocol`` and the sedentary control; summarise the primary read-out.

    Arguments are validated by :meth:`Scenario.create` (one :class:`InputError` naming the
    argument): ``interventions`` and ``ablate`` take one name or several, each counted once
    (a repeat is dropped with a warning); ``days`` is a whole number from 1 to 3650, never a
    boolean. A run that ends before the programme starts warns that exercise cannot act.
    ``params`` changes parameters by name and keeps the rest: ``{"opioid": {"k_opioid":
    0.3}}``, ``{"opioid.k_opioid": 0.3}`` or ``["opioid.k_opioid=0.3"]``, each within the
    parameter's declared range (:mod:`exerpain.model.overrides`).
    """
    model = model or Model.default()
    scenario = Scenario.create(condition=condition, protocol=protocol,
                               interventions=interventions, ablate=ablate, days=days,
                               start_day=start_day, stop_day=stop_day, params=params)
    exercise = scenario.build(model)
    sedentary_protocol = PRESETS["sedentary"]
    control = scenario.model_copy(update={"protocol": sedentary_protocol, "start_day": None,
                                          "stop_day": None})
    # The control shares the time origin of the exercise run (t0 covers preconditioning).
    control_prepared = control.build(model)
    control_prepared = dataclasses.replace(control_prepared,
                                           t0=min(control_prepared.t0, exercise.t0))
    trajectory = solve([exercise, control_prepared], model)
    failed = [f"{r}: {s}" for r, s in zip(RUNS, trajectory.status, strict=True) if s != "ok"]
    if failed:
        raise InputError("numerical failure: " + "; ".join(failed))
    return PairResult(scenario, trajectory, summarise(scenario, trajectory, model))
