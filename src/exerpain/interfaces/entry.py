"""The ``exerpain`` console script's entry point.

It installs the interrupt handling (:func:`exerpain.interfaces.boundary.install_interrupt_handler`)
before anything heavy is imported: JAX's import and the first compile take seconds, and a
Ctrl-C in that window must end the run as cleanly as one later.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    if _computes(sys.argv[1:]):
        # Equinox's run-time checks as NaN, not host callbacks: JAX never writes a program
        # with a host callback to its persistent cache, so every solve compiled again in
        # each process (4.7 s of the 12 s a CCI simulation took). The solver runs with
        # throw=False and reports a NaN as a failed run (non-finite values), so no failure
        # goes unseen. Set before equinox is imported; a value the user set is kept.
        os.environ.setdefault("EQX_ON_ERROR", "nan")
    if not _computes(sys.argv[1:]):
        # help in click's plain layout: Typer's rich layout imports rich's markdown and
        # rendering stack (about 0.3 s), which would double the time `--help` takes
        os.environ.setdefault("TYPER_USE_RICH", "0")
    from exerpain.interfaces.boundary import install_interrupt_handler

    install_interrupt_handler()
    from exerpain.interfaces.cli import app

    if _computes(sys.argv[1:]):
        from exerpain.compile_cache import enable_compile_cache
        from exerpain.precision import enable_globally

        enable_globally()  # this process is exerpain's: float64 throughout
        enable_compile_cache()  # a repeated command of the same shape does not compile again
    sys.exit(app())


def _computes(args: list[str]) -> bool:
    """Whether the command may compute (JAX is needed); ``--help`` and ``--version`` only
    print, and must not pay for importing JAX."""
    return bool(args) and not any(a in ("--help", "-h", "--version") for a in args)
