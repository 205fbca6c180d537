"""Every parameter carries units, a range containing its value, and provenance."""

from __future__ import annotations

import re

import pytest

from exerpain.model.conditions import CONDITIONS
from exerpain.model.parameters import Parameter, provenance_counts

CITATION = re.compile(r"(doi:|PMID|PMC\d|\b(19|20)\d\d\b|evidence/README)")


def test_every_parameter_is_documented(model):
    rows = model.parameter_table()
    assert len(rows) > 50
    for group, p in rows:
        where = f"{group}.{p.name}"
        assert p.unit, where
        assert p.low <= p.value <= p.high, where
        assert p.description, where
        if p.kind == "cited":
            assert CITATION.search(p.provenance), f"{where}: cited without a source"
        if p.kind == "calibrated":
            assert p.provenance.startswith("calibrated to"), where


def test_provenance_counts_add_up(model):
    counts = provenance_counts(model.parameter_table())
    assert sum(counts.values()) == len(model.parameter_table())
    assert counts["cited"] > 0 and counts["calibrated"] > 0


def test_parameter_rejects_value_outside_range():
    with pytest.raises(ValueError, match="outside its range"):
        Parameter("x", 2.0, "1/day", 0.0, 1.0, "assumed", "test")
    with pytest.raises(ValueError, match="provenance"):
        Parameter("x", 0.5, "1/day", 0.0, 1.0, "assumed", "")


def test_condition_overrides_name_real_parameters_within_range(model):
    table = {f"{g}.{p.name}": p for g, p in model.parameter_table()}
    for condition in CONDITIONS.values():
        assert condition.provenance
        for key, value in condition.overrides.items():
            assert key in table, f"{condition.name}: {key}"
            assert table[key].low <= value <= table[key].high, f"{condition.name}: {key}"
