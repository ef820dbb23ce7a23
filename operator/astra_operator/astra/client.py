"""``AstraClient``: the async DevOps API v2 client the operator builds once per base URL.

It owns one ``session.Session`` (one ``httpx.AsyncClient``, a concurrency limit, a request budget
per credential, a retry policy) and gathers the endpoint groups. Every call takes ``token=`` to
override the client's token, so one client serves every credential of an operator. The token
never appears in its repr.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from types import TracebackType

import httpx
from pydantic import JsonValue

from astra_operator.astra import access_lists, budget, databases, organization, session
from astra_operator.astra.retry import RetryPolicy

DEFAULT_BASE_URL = "https://api.astra.datastax.com"


class AstraClient(
    databases.DatabasesApi, organization.OrganizationApi, access_lists.AccessListsApi
):
    """Async client for the Astra DevOps API v2.

    ``rate`` is the request budget of each credential: at most that many requests per second
    (bursts of ``max(1, rate)``) with one token, whatever the calls; it must be positive.
    ``sleep`` and ``clock`` (wall-clock seconds, for ``Retry-After`` dates) exist for tests; the
    budget keeps its own monotonic clock.
    Use as ``async with AstraClient(...) as client`` or call ``aclose()``.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        max_concurrency: int = 16,
        rate: float = budget.DEFAULT_RATE,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: session.Sleep = asyncio.sleep,
        clock: session.Clock = time.time,
    ) -> None:
        self._session = session.Session(
            base_url,
            token=token,
            timeout=timeout,
            max_concurrency=max_concurrency,
            rate_budget=budget.Budget(rate),
            policy=retry if retry is not None else RetryPolicy(),
            transport=transport,
            sleep=sleep,
            clock=clock,
        )

    @property
    def base_url(self) -> str:
        """The API root this client talks to."""
        return self._session.base_url

    def __repr__(self) -> str:
        return f"AstraClient({self._session!r})"

    async def __aenter__(self) -> AstraClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool; the client is unusable afterwards."""
        await self._session.aclose()

    async def request(
        self,
        method: str,
        template: str,
        *,
        path_params: Mapping[str, str] | None = None,
        params: session.QueryParams | None = None,
        body: JsonValue = None,
        token: str | None = None,
        idempotent: bool | None = None,
    ) -> session.Reply:
        """Call an endpoint that has no method here, through the same door (``Session.request``)."""
        return await self._session.request(
            method,
            template,
            path_params=path_params,
            params=params,
            body=body,
            token=token,
            idempotent=idempotent,
        )
