"""The command line's one error boundary, and its handling of interrupts.

Every command runs inside :class:`BoundaryGroup.invoke`:

- an :class:`exerpain.errors.InputError` (bad input: the message names the field and what
  is allowed) is one ``error:`` line on stderr, exit code 2;
- a usage error of the parser (unknown option, missing value) keeps Click's message, exit 2;
- anything else is an internal error: one line naming the exception and a file holding the
  traceback (:func:`save_traceback`), exit code 1; never a raw traceback on the terminal;
- a Python warning raised by exerpain is one ``warning:`` line on stderr.

Interrupts (:func:`install_interrupt_handler`, called by :func:`exerpain.interfaces.cli.main`
before any JAX work): SIGINT and SIGTERM are blocked in every thread and received by one
waiting thread, which removes this run's temporary output folders
(:func:`exerpain.storage.abandon_all`, after a swap in progress has finished) and ends the
process at once with ``os._exit`` (130, or 143 for SIGTERM). Letting ``KeyboardInterrupt``
unwind instead segfaulted (exit 139) when it arrived while XLA was compiling or solving: the
interpreter shut down around XLA's running threads. ``os._exit`` runs no interpreter
shutdown, so nothing races; an output folder holds the old results or the new, never a part.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import threading
import time
import traceback
import warnings
from pathlib import Path

import typer
from typer.core import TyperGroup

from exerpain.errors import InputError

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
CRASH_DIR_ENV = "EXERPAIN_CRASH_DIR"


def crash_dir() -> Path:
    """Where tracebacks of internal errors are saved: ``$EXERPAIN_CRASH_DIR`` or the
    system's temporary folder."""
    return Path(os.environ.get(CRASH_DIR_ENV) or tempfile.gettempdir())


def save_traceback(err: BaseException) -> Path | None:
    """Write ``err``'s traceback to a new file; ``None`` if even that fails."""
    text = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    try:
        folder = crash_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        fd, path = tempfile.mkstemp(prefix=f"exerpain-crash-{stamp}-", suffix=".txt",
                                    dir=folder)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"exerpain {' '.join(sys.argv[1:])}\n\n{text}")
        return Path(path)
    except OSError:
        return None


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    typer.echo(f"warning: {message}", err=True)


class BoundaryGroup(TyperGroup):
    """The Typer group of the ``exerpain`` command: maps every outcome of a command to one
    line and an exit code (module docstring)."""

    def invoke(self, ctx: typer.Context):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # libraries' deprecation chatter
            warnings.filterwarnings("always", category=UserWarning, module=r"exerpain(\.|$)")
            warnings.showwarning = _show_warning
            try:
                return super().invoke(ctx)
            except (typer.Exit, typer.Abort, typer.TyperException):  # usage errors: exit 2
                raise
            except InputError as err:
                typer.echo(f"error: {err}", err=True)
                raise typer.Exit(EXIT_INPUT) from None
            except KeyboardInterrupt:
                from exerpain.storage import abandon_all

                abandon_all()
                typer.echo("interrupted", err=True)
                raise typer.Exit(EXIT_INTERRUPTED) from None
            except Exception as err:  # the boundary: anything unexpected is one line
                path = save_traceback(err)
                where = f"traceback saved to {path}" if path else "traceback could not be saved"
                first = str(err).splitlines()[0][:200] if str(err) else ""
                typer.echo(f"internal error: {type(err).__name__}: {first} ({where}; please "
                           "report it)", err=True)
                raise typer.Exit(EXIT_INTERNAL) from None


_SIGNALS = {signal.SIGINT: EXIT_INTERRUPTED, signal.SIGTERM: 128 + signal.SIGTERM}


def _on_signal(signum: int) -> None:
    from exerpain.storage import abandon_all

    try:
        abandon_all()
        os.write(2, b"\ninterrupted\n")
    finally:
        os._exit(_SIGNALS.get(signum, EXIT_INTERRUPTED))


def install_interrupt_handler() -> None:
    """Block SIGINT/SIGTERM in this and every later thread and handle them in one waiting
    thread (module docstring). Call from the main thread before any JAX work."""
    signals = set(_SIGNALS)
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)

    def wait() -> None:
        _on_signal(signal.sigwait(signals))

    threading.Thread(target=wait, name="exerpain-interrupt", daemon=True).start()
    # a thread started before the mask (none of exerpain's) could still take the signal;
    # then Python runs this in the main thread
    for signum in signals:
        signal.signal(signum, lambda s, _frame: _on_signal(s))
