"""What a request to the HTTP API may do: the bearer token, the body-size cap and the
per-request limits of a run spec.

- :class:`BearerToken`: a FastAPI dependency; when the server has a token every ``/api``
  request must send ``Authorization: Bearer <token>`` (compared in constant time with
  :func:`secrets.compare_digest`), else 401 with a JSON body naming the header.
- :class:`BodySizeLimit`: ASGI middleware; a request body over the cap (by its
  ``Content-Length`` or, streamed, by the bytes received) is answered 413 with a JSON body
  before the application sees any of it.
- :func:`check_request_limits`: a spec that asks for more than one request may (a cohort's
  ``n``, its chunk memory, a trial's replicates) or names a file on the server (a protocol or
  design path: files are not read over HTTP) raises :class:`~exerpain.errors.InputError`
  naming the field, which the app answers 422.

Every error body has FastAPI's own shape: ``{"detail": [{"loc", "msg", "type"}]}``.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from exerpain.errors import InputError

FILE_SUFFIXES = (".yaml", ".yml", ".json")
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) reaches this machine only."""
    host = host.strip().strip("[]")
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def error_detail(loc: list, msg: str, kind: str) -> list[dict]:
    """One error in FastAPI's validation-error shape (the value of ``detail``)."""
    return [{"loc": list(loc), "msg": msg, "type": kind}]


def error_bytes(loc: list, msg: str, kind: str) -> bytes:
    return json.dumps({"detail": error_detail(loc, msg, kind)}).encode()


_bearer = HTTPBearer(auto_error=False, description="the server's token, when it has one")


class BearerToken:
    """Dependency: the request carries the server's token (no check when ``token`` is
    ``None``: a server bound to this machine only)."""

    def __init__(self, token: str | None):
        self._token = token.encode() if token else None

    def __call__(self, request: Request,
                 _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
        # HTTPBearer (``_``) puts the scheme in the OpenAPI document; the header is parsed
        # here so that a missing header, a wrong scheme and a wrong token each say so
        if self._token is None:
            return
        header = request.headers.get("authorization")
        if not header:
            raise _unauthorized("missing token: send 'Authorization: Bearer <token>'",
                                "missing_token")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise _unauthorized("malformed header: expected 'Bearer <token>'", "bad_scheme")
        if not secrets.compare_digest(given.strip().encode(), self._token):
            raise _unauthorized("wrong token", "wrong_token")


def _unauthorized(msg: str, kind: str) -> HTTPException:
    return HTTPException(401, detail=error_detail(["header", "authorization"], msg, kind),
                         headers={"WWW-Authenticate": "Bearer"})


class BodyTooLargeError(Exception):
    """A request body over the cap."""


async def send_error(send: Any, status: int, loc: list, msg: str, kind: str) -> None:
    """Answer an ASGI request with ``status`` and the JSON error shape, closing it."""
    body = error_bytes(loc, msg, kind)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """ASGI middleware: request bodies of at most ``max_bytes``; a larger one is answered
    413 (JSON) without reaching the application. A body is read whole before the
    application runs (it is small by construction), then replayed to it."""

    def __init__(self, app: Any, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await send_error(send, 400, ["header", "content-length"],
                                  "not a whole number", "bad_length")
                return
            if declared > self.max_bytes:
                await self._too_large(send)
                return
        try:
            messages = await self._read(receive)
        except BodyTooLargeError:
            await self._too_large(send)
            return
        pending = list(messages)

        async def replay() -> dict:
            return pending.pop(0) if pending else await receive()

        await self.app(scope, replay, send)

    async def _read(self, receive: Any) -> list[dict]:
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                raise BodyTooLargeError
            if not message.get("more_body", False):
                return messages

    async def _too_large(self, send: Any) -> None:
        await send_error(send, 413, ["body"], f"request body is larger than this server's "
                          f"limit of {self.max_bytes} bytes", "too_large")



class LocalHostOnly:
    """ASGI middleware: requests whose ``Host`` header names this machine only (a server
    without a token: a web page elsewhere must not reach it through DNS rebinding); any
    other host is answered 400 with the JSON error shape, naming the header."""

    def __init__(self, app: Any, allowed_hosts: list[str]):
        self.app = app
        self.allowed = set(allowed_hosts)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            raw = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
            host = raw.rsplit(":", 1)[0] if not raw.endswith("]") else raw
            if host not in self.allowed:
                await send_error(
                    send, 400, ["header", "host"], f"host {raw[:80]!r} is not this machine; "
                    "a server without a token answers only 127.0.0.1, localhost and ::1",
                    "invalid_host")
                return
        await self.app(scope, receive, send)


def _looks_like_file(value: Any) -> bool:
    """Whether the engine would read ``value`` as a file (as
    :func:`exerpain.model.protocols.resolve_protocol` decides)."""
    return isinstance(value, str) and PurePath(value).suffix.lower() in FILE_SUFFIXES


def _file_fields(data: Any, path: str) -> list[str]:
    """The fields under ``data`` (a spec fragment) whose value names a file."""
    if isinstance(data, dict):
        return [f for k, v in data.items() for f in _file_fields(v, f"{path}.{k}")]
    if isinstance(data, list | tuple):
        return [f for i, v in enumerate(data) for f in _file_fields(v, f"{path}.{i}")]
    return [path] if _looks_like_file(data) else []


def check_request_limits(spec: Any, max_cohort_n: int, max_memory_gb: float,
                         max_replicates: int) -> None:
    """Raise :class:`InputError` naming the field when ``spec`` asks for more than one HTTP
    request may, or names a file on the server."""
    if spec.kind in ("simulate", "cohort"):
        if isinstance(spec.protocol, str) and _looks_like_file(spec.protocol):
            raise InputError("protocol: files are not read over HTTP; give a preset name or "
                             "the protocol's fields inline")
    else:
        if isinstance(spec.design, str):
            raise InputError("design: files are not read over HTTP; give the design inline")
        named = _file_fields(spec.design, "design")
        if named:
            raise InputError(f"{named[0]}: files are not read over HTTP; give it inline")
    if spec.kind == "cohort":
        if spec.n > max_cohort_n:
            raise InputError(f"n: at most {max_cohort_n} subjects per request on this server, "
                             f"got {spec.n}")
        if spec.memory_gb > max_memory_gb:
            raise InputError(f"memory_gb: at most {max_memory_gb:g} per request on this "
                             f"server, got {spec.memory_gb:g}")
    if spec.kind == "trial":
        if spec.replicates > max_replicates:
            raise InputError(f"replicates: at most {max_replicates} per request on this "
                             f"server, got {spec.replicates}")
        if spec.n is not None and spec.n > max_cohort_n:
            raise InputError(f"n: at most {max_cohort_n} randomised per request on this "
                             f"server, got {spec.n}")
        n_design = spec.design.get("n_randomised") if isinstance(spec.design, dict) else None
        if spec.n is None and isinstance(n_design, int) and n_design > max_cohort_n:
            raise InputError(f"design.n_randomised: at most {max_cohort_n} per request on "
                             f"this server, got {n_design}")
