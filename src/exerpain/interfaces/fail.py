"""The one way a command reports bad input: one ``error:`` line on stderr, exit code 2."""

import typer


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)
