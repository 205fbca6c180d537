"""The web app and HTTP API (``exerpain serve``).

- :mod:`~exerpain.interfaces.web.app`: the FastAPI application (:func:`create_app`) and
  its settings (:class:`ServerSettings`);
- :mod:`~exerpain.interfaces.web.jobs`: the job queue and its worker threads;
- :mod:`~exerpain.interfaces.web.security`: the token, the body-size cap, the per-request
  limits of a spec;
- ``page.html``: the page (static, no external resources).

Importing this package imports neither FastAPI nor JAX.
"""
