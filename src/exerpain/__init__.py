"""exerpain: a mechanistic simulator of exercise-induced hypoalgesia in neuropathic pain.

The public Python API mirrors the command line::

    from exerpain import simulate_pair
    result = simulate_pair(condition="cci", protocol="treadmill-moderate", days=42)
    result.summary["benefit"]

Source review: Ghanbari A. Beneficial Effects of Exercise in Neuropathic Pain: An Overview of
the Mechanisms Involved. Pain Res Manag 2025;3432659. doi:10.1155/prm/3432659.
"""

import jax

jax.config.update("jax_enable_x64", True)

from exerpain.simulate.pair import simulate_pair  # noqa: E402
from exerpain.simulate.scenario import Scenario  # noqa: E402
from exerpain.simulate.solve import solve  # noqa: E402

__all__ = ["Scenario", "simulate_pair", "solve"]
__version__ = "0.1.0"
