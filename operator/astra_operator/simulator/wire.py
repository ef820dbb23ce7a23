"""HTTP answers in the real API's shapes: JSON, empty bodies, and its four error body styles."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

# Error IDs. 340012 and 20000{11,12,13,106} are seen on the real API; the rest are our own.
INVALID_TOKEN = 340012
UNSUPPORTED_TIER = 2000011
UNSUPPORTED_PROVIDER = 2000012
UNSUPPORTED_REGION = 2000013
DATACENTER_PROVIDER = 2000106
_OWN_CODES = 2000000  # + HTTP status, e.g. 2000409
MISSING_PERMISSION = 2000401
INVALID = 2000422


class Style(enum.Enum):
    """How an endpoint family writes error bodies."""

    ERRORS = "errors"  # {"errors":[{"ID":n,"message":"..."}]}: database endpoints
    STRING = "string"  # a bare JSON string: roles and tokens
    TEXT = "text"  # text/plain: access lists
    NULL = "null"  # the JSON literal null: region catalogues


class ApiError(Exception):
    """Raised by a handler to answer with an error; rendered in the endpoint's style."""

    def __init__(
        self,
        status: int,
        message: str,
        code: int | None = None,
        extra: list[tuple[int, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code if code is not None else _OWN_CODES + status
        self.extra = extra or []


def dumps(body: object) -> str:
    """Compact JSON."""
    return json.dumps(body, separators=(",", ":"))


def ok(body: object, status: int = 200) -> web.Response:
    """A JSON answer."""
    return web.Response(text=dumps(body), status=status, content_type="application/json")


def empty(status: int, headers: Mapping[str, str] | None = None) -> web.Response:
    """An answer with no body at all (Content-Length: 0)."""
    return web.Response(status=status, headers=headers)


def errors_body(errors: list[tuple[int, str]]) -> dict[str, Any]:
    """The DevOps ``Errors`` object."""
    return {"errors": [{"ID": code, "message": message} for code, message in errors]}


def render_error(style: Style, error: ApiError) -> web.Response:
    """An :class:`ApiError` written the way this endpoint family writes errors."""
    if style is Style.STRING:
        return ok(error.message, error.status)
    if style is Style.TEXT:
        return web.Response(text=error.message, status=error.status, content_type="text/plain")
    if style is Style.NULL:
        return ok(None, error.status)
    return ok(errors_body([(error.code, error.message), *error.extra]), error.status)


def fault_response(status: int, retry_after: float | None) -> web.Response:
    """An injected failure: DevOps ``Errors`` body, ``Retry-After`` when asked for."""
    message = "rate limit exceeded" if status == 429 else "simulated upstream failure"
    response = ok(errors_body([(_OWN_CODES + status, message)]), status)
    if retry_after is not None:
        response.headers["Retry-After"] = f"{retry_after:g}"
    return response


def unauthenticated() -> web.Response:
    """Missing, malformed or unknown token: the same on every endpoint."""
    return ok(errors_body([(INVALID_TOKEN, "invalid token format")]), 401)
