"""Parameter declarations: every number in the model carries units, a range and provenance.

Provenance kinds
----------------
``cited``
    the value (or a value it is derived from by stated arithmetic) was published; the
    provenance string gives the DOI/PMID.
``calibrated``
    the value was fitted to a stated target ("calibrated to <target>").
``assumed``
    a modelling choice with a stated rationale; not a published number.

Declared values are the prior centres of ``exerpain calibrate``; the shipped calibration
(:mod:`exerpain.model.calibrated`) replaces them by default with the fitted (MAP) values and
marks those the evidence constrains as ``calibrated``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

ProvenanceKind = Literal["cited", "calibrated", "assumed"]


@dataclass(frozen=True)
class Parameter:
    """One model parameter.

    Attributes:
        name: short name, unique within its mechanism.
        value: nominal value, in ``unit``.
        unit: physical unit (``1/day``, ``day``, ``dimensionless``, ``g``, ...).
        low, high: plausible range (used as a uniform prior and for validation).
        kind: provenance kind (``cited``, ``calibrated`` or ``assumed``).
        provenance: citation (DOI/PMID), "calibrated to <target>", or the assumption's rationale.
        description: what the parameter means biologically.
    """

    name: str
    value: float
    unit: str
    low: float
    high: float
    kind: ProvenanceKind
    provenance: str
    description: str = ""

    def __post_init__(self) -> None:
        if not self.low <= self.value <= self.high:
            raise ValueError(
                f"parameter {self.name!r}: nominal {self.value} outside its range "
                f"[{self.low}, {self.high}]"
            )
        if self.kind not in ("cited", "calibrated", "assumed"):
            raise ValueError(f"parameter {self.name!r}: unknown provenance kind {self.kind!r}")
        if not self.provenance:
            raise ValueError(f"parameter {self.name!r}: provenance is required")


@dataclass(frozen=True)
class StateSpec:
    """One state variable of a mechanism.

    Mediators are dimensionless fold changes over their healthy steady state (healthy = 1);
    fractions (damage, M2 share) are in [0, 1].
    """

    name: str
    healthy: float
    lower: float
    upper: float
    unit: str
    description: str


def provenance_counts(parameters: list[tuple[str, Parameter]]) -> dict[str, int]:
    """Count parameters by provenance kind (``cited``/``calibrated``/``assumed``)."""
    counts = Counter(p.kind for _, p in parameters)
    return {kind: counts.get(kind, 0) for kind in ("cited", "calibrated", "assumed")}
