"""What the model offers, for the ``info`` and ``params`` commands."""

from __future__ import annotations

from exerpain.design.reporting import reporting_parameters
from exerpain.model.conditions import CONDITIONS
from exerpain.model.interventions import INTERVENTIONS
from exerpain.model.parameters import provenance_counts
from exerpain.model.pharmacology import drug_parameters
from exerpain.model.protocols import PRESETS
from exerpain.model.registry import Model


def parameter_rows(model: Model | None = None) -> list[dict]:
    """The model's parameters, then the drugs' (``pharmacology``) and the virtual trials'
    reporting parameters (``reporting``: placebo response, diary fluctuation)."""
    model = model or Model.default()
    table = [*model.parameter_table(), *drug_parameters(), *reporting_parameters()]
    return [
        {"group": group, "name": p.name, "value": p.value, "unit": p.unit, "low": p.low,
         "high": p.high, "kind": p.kind, "provenance": p.provenance,
         "description": p.description}
        for group, p in table
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
