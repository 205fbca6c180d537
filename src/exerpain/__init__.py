"""exerpain: a mechanistic simulator of exercise-induced hypoalgesia in neuropathic pain.

The public Python API mirrors the command line::

    from exerpain import simulate_pair
    result = simulate_pair(condition="cci", protocol="treadmill-moderate", days=42)
    result.summary["benefit"]

Source review: Ghanbari A. Beneficial Effects of Exercise in Neuropathic Pain: An Overview of
the Mechanisms Involved. Pain Res Manag 2025;3432659. doi:10.1155/prm/3432659.

Importing exerpain changes no JAX setting: its entry points compute in float64 within a
thread-local context (:mod:`exerpain.precision`).
"""

from exerpain.simulate.pair import simulate_pair
from exerpain.simulate.scenario import Scenario
from exerpain.simulate.solve import solve

__all__ = ["Scenario", "simulate_pair", "solve"]
__version__ = "0.1.0"
