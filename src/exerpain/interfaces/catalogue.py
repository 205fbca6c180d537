"""What the model offers, for the ``info`` and ``params`` commands."""

from __future__ import annotations

from exerpain.model.conditions import CONDITIONS
from exerpain.model.interventions import INTERVENTIONS
from exerpain.model.parameters import provenance_counts
from exerpain.model.protocols import PRESETS
from exerpain.model.registry import Model


def parameter_rows(model: Model | None = None) -> list[dict]:
    model = model or Model.default()
    return [
        {"group": group, "name": p.name, "value": p.value, "unit": p.unit, "low": p.low,
         "high": p.high, "kind": p.kind, "provenance": p.provenance,
         "description": p.description}
        for group, p in model.parameter_table()
    ]


def catalogue(model: Model | None = None) -> dict:
    model = model or Model.default()
    return {
        "conditions": {c.name: f"{c.species}: {c.description}" for c in CONDITIONS.values()},
        "protocols": {
            p.name: (f"{p.modality}, intensity {p.intensity}, {p.minutes_per_session:g} min x "
                     f"{p.sessions_per_week:g}/wk from day {p.start_day:g} ({p.species})")
            for p in PRESETS.values()
        },
        "interventions": {i.name: f"{i.kind}: {i.description}" for i in INTERVENTIONS.values()},
        "mechanisms": {m.name: f"{m.summary}. Exercise: {m.exercise_action or 'via others'}"
                       for m in model.mechanisms},
        "provenance_counts": provenance_counts(model.parameter_table()),
    }
