"""The one door to the DevOps API: auth, timeouts, request budget, concurrency, retries, errors.

``Session.request`` is the only place in the project that sends an HTTP request to Astra. It
renders a path template, attaches the bearer token, takes one request from that token's
``budget`` (a rate per credential) before every attempt, holds a slot of the concurrency limit
while a request is in flight (not while backing off or waiting for the budget), maps every
failure onto ``errors.AstraError`` chained from the httpx exception, and retries according to
``retry``. A 429 pauses the whole credential for its ``Retry-After`` (``budget.DEFAULT_PAUSE``
without one). The token never appears in a log line, repr or exception. Each attempt sent and
each retry is counted in ``metrics`` by its route template (never the rendered path).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json as jsonlib
import logging
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import httpx
from pydantic import JsonValue

import astra_operator
from astra_operator import metrics
from astra_operator.astra import budget, errors, retry

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
    token: str = dataclasses.field(repr=False)
    idempotent: bool
    key: str  # the token's budget key (budget.credential_key)

    @property
    def side_effects(self) -> bool:
        return self.method not in _SAFE_METHODS


def _transport_code(exc: httpx.TransportError) -> str:
    """The bounded word ``api_requests_total{code}`` carries when no reply came back."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"  # connect, read, write or pool
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    if isinstance(exc, httpx.ProtocolError):
        return "protocol"
    if isinstance(exc, httpx.NetworkError):
        return "network"
    return "transport"


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
        rate_budget: budget.Budget,
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
        self._budget = rate_budget
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
        chosen = self._pick_token(token)
        call = _Call(
            method=method,
            template=template,
            path=render_path(template, path_params),
            params=params,
            body=body,
            token=chosen,
            idempotent=method in _IDEMPOTENT_METHODS if idempotent is None else idempotent,
            key=budget.credential_key(chosen),
        )
        attempt = 1
        honoured: float | None = None  # the end of the credential pause this call waited out
        while True:
            try:
                return await self._attempt(call, attempt, honoured)
            except errors.AstraError as exc:
                paused = self._pause_on_429(call, exc)
                delay = retry.delay_for(self._policy, exc, attempt, idempotent=call.idempotent)
                if delay is None:
                    raise
                if paused is not None:  # this call waits its own pause out in its backoff
                    delay, honoured = max(delay, paused[0]), paused[1]
                _log.debug("retrying %s %s in %.3fs: %s", method, template, delay, exc)
                metrics.observe_retry(method, template)
            await self._sleep(delay)
            attempt += 1

    def _pick_token(self, token: str | None) -> str:
        chosen = (token if token is not None else self._token or "").strip()
        if not chosen:
            raise ValueError("no Astra token: pass token= to the client or to the call")
        if not (chosen.isascii() and chosen.isprintable()) or " " in chosen:
            raise ValueError("the Astra token has characters a header cannot carry")
        return chosen

    async def _attempt(self, call: _Call, attempt: int, honoured: float | None) -> Reply:
        started = time.monotonic()
        try:
            async with self._admitted(call, honoured):
                started = time.monotonic()
                response = await self._http.request(
                    call.method,
                    call.path,
                    params=dict(call.params) if call.params else None,
                    json=call.body,
                    headers={"Authorization": f"Bearer {call.token}"},
                )
        except httpx.TransportError as exc:
            self._log_attempt(call, attempt, type(exc).__name__, _transport_code(exc), started)
            raise self._transport_error(call, exc) from exc
        status = response.status_code
        self._log_attempt(call, attempt, status, str(status), started)
        if response.is_success:
            return Reply(
                call.method, call.path, response.status_code, response.headers, response.content
            )
        cause = httpx.HTTPStatusError(
            f"HTTP {response.status_code}", request=response.request, response=response
        )
        raise self._status_error(call, response) from cause

    @contextlib.asynccontextmanager
    async def _admitted(self, call: _Call, honoured: float | None) -> AsyncIterator[None]:
        """Hold a request from the credential's budget and then a concurrency slot.

        The budget is waited for without a slot, so a credential that is throttled or paused
        never keeps calls with other credentials out.
        """
        while True:
            await self._take_budget(call, honoured)
            async with self._limit:
                if self._budget.paused_for(call.key, honoured=honoured) <= 0:
                    yield
                    return
            # A 429 paused the credential while this call waited for a slot: wait for it.

    async def _take_budget(self, call: _Call, honoured: float | None) -> None:
        try:
            await self._budget.acquire(
                call.key, max_pause=self._policy.max_delay, honoured=honoured
            )
        except budget.PauseTooLong as exc:  # as a Retry-After over max_delay: not waited out
            raise errors.RateLimited(
                f"not sent: Astra rate-limited this credential (HTTP 429) and asked it to wait "
                f"{exc.remaining:.1f}s more",
                method=call.method,
                path=call.path,
                retry_after=exc.remaining,
            ) from exc

    def _pause_on_429(self, call: _Call, exc: errors.AstraError) -> tuple[float, float] | None:
        """On a 429 reply, pause the whole credential; return (seconds, pause end) if so."""
        if not isinstance(exc, errors.RateLimited) or exc.status != 429:
            return None
        seconds = exc.retry_after if exc.retry_after is not None else budget.DEFAULT_PAUSE
        until, fresh = self._budget.pause(call.key, seconds)
        if fresh:  # an expected wait, said once per pause; never the token
            _log.info(
                "Astra answered %s %s with 429 (rate limited): every request with this "
                "credential waits %.1fs",
                call.method,
                call.template,
                seconds,
            )
        return seconds, until

    def _log_attempt(
        self, call: _Call, attempt: int, outcome: object, code: str, started: float
    ) -> None:
        """Log an attempt sent and count it (``code``: the HTTP status, or a word)."""
        seconds = time.monotonic() - started
        metrics.observe_request(call.method, call.template, code, seconds)
        _log.debug(
            "%s %s -> %s (attempt %d/%d, %.3fs)",
            call.method,
            call.template,
            outcome,
            attempt,
            self._policy.max_attempts,
            seconds,
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
