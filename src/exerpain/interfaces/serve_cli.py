"""``exerpain serve``: the web page and HTTP API (:mod:`exerpain.interfaces.web`) on
uvicorn.

The server binds to 127.0.0.1 (this machine only) by default. Binding to any other address
needs a token (``--token`` or ``$EXERPAIN_TOKEN``); without one it refuses to start, with an
:class:`~exerpain.errors.InputError` naming ``token`` (the command line's ``error:`` line,
exit code 2). With a token, open the page as ``http://HOST:PORT/#token=TOKEN``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from exerpain.errors import InputError

MIN_TOKEN_CHARS = 16


def server_settings(host: str = "127.0.0.1", port: int = 8000, token: str | None = None,
                    max_body_kb: int = 64, max_cohort_n: int = 2000,
                    job_time_limit_s: float = 900, max_queued: int = 8, workers: int = 1):
    """The :class:`~exerpain.interfaces.web.app.ServerSettings` of the command's options;
    :class:`InputError` naming the option when one is out of range or a token is needed."""
    from exerpain.interfaces.web.app import ServerSettings

    token = token.strip() if token else None
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise InputError(f"token: at least {MIN_TOKEN_CHARS} characters (try `python -c "
                         "'import secrets; print(secrets.token_urlsafe(24))'`)")
    return ServerSettings(host=host, port=port, token=token, max_body_kb=max_body_kb,
                          max_cohort_n=max_cohort_n, job_time_limit_s=job_time_limit_s,
                          max_queued=max_queued, workers=workers)


def serve(
    host: Annotated[str, typer.Option(
        help="address to bind; other than 127.0.0.1/localhost needs --token")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (0: any free one)")] = 8000,
    token: Annotated[str | None, typer.Option(
        envvar="EXERPAIN_TOKEN", show_default=False,
        help="bearer token every API request must send (at least 16 characters)")] = None,
    max_body_kb: Annotated[int, typer.Option(help="largest request body, KiB")] = 64,
    max_cohort_n: Annotated[int, typer.Option(help="most subjects in one cohort request")
                            ] = 2000,
    job_time_limit_s: Annotated[float, typer.Option(help="time limit of one job, s")] = 900,
    max_queued: Annotated[int, typer.Option(help="most jobs waiting; more are refused (503)")
                          ] = 8,
    workers: Annotated[int, typer.Option(help="jobs run at once")] = 1,
) -> None:
    """Serve the web page and the HTTP API (OpenAPI schema at /openapi.json)."""
    settings = server_settings(host, port, token, max_body_kb, max_cohort_n,
                               job_time_limit_s, max_queued, workers)
    import uvicorn

    from exerpain.compile_cache import enable_compile_cache
    from exerpain.interfaces.web.app import create_app
    from exerpain.precision import enable_globally

    enable_globally()  # this process is exerpain's: float64 throughout
    enable_compile_cache()
    app = create_app(settings)
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"exerpain: serving on http://{shown}:{port}/"
               + (" (open it as /#token=YOUR_TOKEN)" if settings.token else ""), err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False,
                limit_concurrency=64, timeout_keep_alive=5)
