"""Progress bars on stderr for the commands that take more than a few seconds.

``with progress_bar("validate", total) as update:`` gives ``update(done, total=None,
step=None)``: the bar moves to ``done`` of ``total`` (``total`` may change as the work finds
out how much there is) and ``step`` names what is being done now beside the label. It fits
the library's progress callbacks: ``progress(done, total, label)`` (validation, demo) and
``progress(done, total)`` (cohort, trials). The bar goes to stderr, so ``--json`` output on
stdout stays clean, and only when stderr is a terminal; rich is imported only when a bar is
made (``exerpain --help`` stays light).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

ProgressCallback = Callable[..., None]
"""``(done, total=None, step=None) -> None``."""


@contextlib.contextmanager
def progress_bar(label: str, total: int | None = None, unit: str = "") -> Iterator[
        ProgressCallback]:
    """A rich progress bar on stderr for ``total`` units of work (``unit``: e.g.
    ``"subjects"``, shown after the count); yields the update callback (module docstring)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    count = "{task.completed}/{task.total}" + (f" {escape(unit)}" if unit else "")
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(),
               TextColumn(count), TimeRemainingColumn())
    console = Console(stderr=True)
    # a bar only where someone watches: in a log or a pipe it would be a stray line beside
    # the one `error:` line a failure prints
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task(escape(label), total=total)

        def update(done: int, total: int | None = None, step: str | None = None) -> None:
            changes: dict = {"completed": done}
            if total is not None:
                changes["total"] = total
            if step is not None:
                changes["description"] = escape(f"{label}: {step}" if step else label)
            bar.update(task, **changes)

        yield update
