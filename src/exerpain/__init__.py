"""exerpain: a mechanistic simulator of exercise-induced hypoalgesia in neuropathic pain.

The public Python API mirrors the command line::

    from exerpain import simulate_pair
    result = simulate_pair(condition="cci", protocol="treadmill-moderate", days=42)
    result.summary["benefit"]

    from exerpain import run        # any run from a spec, recorded with its provenance
    outcome = run("cohort", condition="dpn", protocol="aerobic-moderate", n=200,
                  params={"opioid.k_opioid": 0.3}, out="runs/dpn")

Source review: Ghanbari A. Beneficial Effects of Exercise in Neuropathic Pain: An Overview of
the Mechanisms Involved. Pain Res Manag 2025;3432659. doi:10.1155/prm/3432659.

Importing exerpain changes no JAX setting: its entry points compute in float64 within a
thread-local context (:mod:`exerpain.precision`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__all__ = ["Scenario", "run", "simulate_pair", "solve"]
__version__ = "0.1.0"

_API = {"simulate_pair": "exerpain.simulate.pair", "Scenario": "exerpain.simulate.scenario",
        "solve": "exerpain.simulate.solve", "run": "exerpain.interfaces.runner"}

if TYPE_CHECKING:
    from exerpain.interfaces.runner import run
    from exerpain.simulate.pair import simulate_pair
    from exerpain.simulate.scenario import Scenario
    from exerpain.simulate.solve import solve


def __getattr__(name: str):
    """The API is imported on first use (PEP 562): ``import exerpain`` stays light, so the
    command line installs its interrupt handling before JAX loads
    (:mod:`exerpain.interfaces.entry`)."""
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'exerpain' has no attribute {name!r}")
