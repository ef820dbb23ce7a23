"""The one door to the DevOps API: auth, timeouts, concurrency limit, retries, error mapping.

``Session.request`` is the only place in the project that sends an HTTP request to Astra. It
renders a path template, attaches the bearer token, holds a slot of the concurrency limit while a
request is in flight (not while backing off), maps every failure onto ``errors.AstraError``
chained from the httpx exception, and retries according to ``retry``. The token never appears in
a log line, repr or exception.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json as jsonlib
import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping

import httpx
from pydantic import JsonValue

import astra_operator
from astra_operator.astra import errors, retry

_log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
QueryParams = Mapping[str, str | int | bool]

USER_AGENT = f"astra-operator/{astra_operator.__version__}"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_IDEMPOTENT_METHODS = _SAFE_METHODS | {"PUT", "DELETE"}
# The connection was never established, so the request cannot have reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclasses.dataclass(frozen=True)
class Reply:
    """A successful (2xx) reply, detached from httpx, with the call it answers."""

    method: str
    path: str
    status: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> object:
        """The decoded JSON body (``None`` for an empty body)."""
        if not self.content.strip():
            return None
        return jsonlib.loads(self.content)


@dataclasses.dataclass(frozen=True)
class _Call:
    method: str
    template: str
    path: str
    params: QueryParams | None
    body: JsonValue
    token: str
    idempotent: bool

    @property
    def side_effects(self) -> bool:
        return self.method not in _SAFE_METHODS


def render_path(template: str, path_params: Mapping[str, str] | None) -> str:
    """Fill ``{name}`` placeholders with URL-quoted values; empty values are refused."""
    values = {}
    for name, value in (path_params or {}).items():
        if not value or not str(value).strip():
            raise ValueError(f"path parameter {name!r} must not be empty")
        values[name] = urllib.parse.quote(str(value), safe="")
    return template.format(**values)


class Session:
    """An ``httpx.AsyncClient`` for one base URL plus the rules every call obeys."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None,
        timeout: float,
        max_concurrency: int,
        policy: retry.RetryPolicy,
        transport: httpx.AsyncBaseTransport | None,
        sleep: Sleep,
        clock: Clock,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._policy = policy
        self._sleep = sleep
        self._clock = clock
        self._limit = asyncio.Semaphore(max_concurrency)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=max_concurrency),
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        token = "<set>" if self._token else "<none>"
        return f"Session(base_url={self.base_url!r}, token={token})"

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def request(
        self,
        method: str,
        template: str,
        *,
        path_params: Mapping[str, str] | None = None,
        params: QueryParams | None = None,
        body: JsonValue = None,
        token: str | None = None,
        idempotent: bool | None = None,
    ) -> Reply:
        """Send one API call, retrying per policy; return the 2xx reply or raise ``AstraError``.

        ``template`` is the spec's path (``/v2/databases/{databaseId}``), logged as is.
        ``idempotent`` defaults to true for GET, HEAD, OPTIONS, PUT and DELETE; pass it for a POST
        that may safely be repeated.
        """
        method = method.upper()
        call = _Call(
            method=method,
            template=template,
            path=render_path(template, path_params),
            params=params,
            body=body,
            token=self._pick_token(token),
            idempotent=method in _IDEMPOTENT_METHODS if idempotent is None else idempotent,
        )
        attempt = 1
        while True:
            try:
                return await self._attempt(call, attempt)
            except errors.AstraError as exc:
                delay = retry.delay_for(self._policy, exc, attempt, idempotent=call.idempotent)
                if delay is None:
                    raise
                _log.debug("retrying %s %s in %.3fs: %s", method, template, delay, exc)
            await self._sleep(delay)
            attempt += 1

    def _pick_token(self, token: str | None) -> str:
        chosen = (token if token is not None else self._token or "").strip()
        if not chosen:
            raise ValueError("no Astra token: pass token= to the client or to the call")
        if not (chosen.isascii() and chosen.isprintable()) or " " in chosen:
            raise ValueError("the Astra token has characters a header cannot carry")
        return chosen

    async def _attempt(self, call: _Call, attempt: int) -> Reply:
        started = time.monotonic()
        try:
            async with self._limit:
                response = await self._http.request(
                    call.method,
                    call.path,
                    params=dict(call.params) if call.params else None,
                    json=call.body,
                    headers={"Authorization": f"Bearer {call.token}"},
                )
        except httpx.TransportError as exc:
            self._log_attempt(call, attempt, type(exc).__name__, started)
            raise self._transport_error(call, exc) from exc
        self._log_attempt(call, attempt, response.status_code, started)
        if response.is_success:
            return Reply(
                call.method, call.path, response.status_code, response.headers, response.content
            )
        cause = httpx.HTTPStatusError(
            f"HTTP {response.status_code}", request=response.request, response=response
        )
        raise self._status_error(call, response) from cause

    def _log_attempt(self, call: _Call, attempt: int, outcome: object, started: float) -> None:
        _log.debug(
            "%s %s -> %s (attempt %d/%d, %.3fs)",
            call.method,
            call.template,
            outcome,
            attempt,
            self._policy.max_attempts,
            time.monotonic() - started,
        )

    def _transport_error(self, call: _Call, exc: httpx.TransportError) -> errors.TransportError:
        sent = not isinstance(exc, _NOT_SENT)
        detail = str(exc) or type(exc).__name__
        return errors.TransportError(
            errors.clean_message(f"{type(exc).__name__}: {detail}", (call.token,)),
            method=call.method,
            path=call.path,
            maybe_applied=sent and call.side_effects,
        )

    def _status_error(self, call: _Call, response: httpx.Response) -> errors.AstraError:
        status = response.status_code
        return errors.from_reply(
            status,
            response.content,
            content_type=response.headers.get("content-type", ""),
            reason=response.reason_phrase,
            method=call.method,
            path=call.path,
            retry_after=retry.parse_retry_after(response.headers.get("retry-after"), self._clock()),
            maybe_applied=status >= 500 and call.side_effects,
            secrets=(call.token,),
        )
