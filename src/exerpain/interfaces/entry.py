"""The ``exerpain`` console script's entry point.

It installs the interrupt handling (:func:`exerpain.interfaces.boundary.install_interrupt_handler`)
before anything heavy is imported: JAX's import and the first compile take seconds, and a
Ctrl-C in that window must end the run as cleanly as one later.
"""

from __future__ import annotations

import sys


def main() -> None:
    from exerpain.interfaces.boundary import install_interrupt_handler

    install_interrupt_handler()
    from exerpain.interfaces.cli import app
    from exerpain.precision import enable_globally

    enable_globally()  # this process is exerpain's: float64 throughout
    sys.exit(app())
