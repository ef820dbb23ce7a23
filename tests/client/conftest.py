"""Fixtures for the client tests: fake transports (wire tests) and a live simulator (contract)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, Protocol

import httpx
import pytest

from astra_operator.astra import client as astra_client
from astra_operator.astra import retry
from tests.client import simtools

TOKEN = "AstraCS:clientid:0123456789abcdef"
FAST = retry.RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=5.0, jitter=0.0)

Handler = (
    Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
)


class ClientFactory(Protocol):
    def __call__(self, handler: Handler, **kwargs: Any) -> astra_client.AstraClient: ...


@pytest.fixture
def sleeps() -> list[float]:
    """Delays the client asked to sleep (the injected sleep records instead of sleeping)."""
    return []


@pytest.fixture
async def make_client(sleeps: list[float]) -> AsyncIterator[ClientFactory]:
    """Build clients over ``httpx.MockTransport(handler)``; closed after the test."""
    made: list[astra_client.AstraClient] = []

    async def fake_sleep(delay: float) -> None:
        sleeps.append(delay)
        await asyncio.sleep(0)

    def factory(handler: Handler, **kwargs: Any) -> astra_client.AstraClient:
        kwargs.setdefault("token", TOKEN)
        kwargs.setdefault("retry", FAST)
        kwargs.setdefault("sleep", fake_sleep)
        c = astra_client.AstraClient(
            "https://astra.test", transport=httpx.MockTransport(handler), **kwargs
        )
        made.append(c)
        return c

    yield factory
    for c in made:
        await c.aclose()


@pytest.fixture
async def sim() -> AsyncIterator[simtools.Sim]:
    """A live simulator on loopback with fast timing (contract tests)."""
    from astra_operator.simulator import Simulator

    async with Simulator(timing="fast") as running:
        yield running


@pytest.fixture
async def admin(sim: simtools.Sim) -> AsyncIterator[simtools.Admin]:
    """The simulator's ``/_sim`` admin API."""
    async with httpx.AsyncClient(base_url=sim.url, timeout=10.0) as http:
        yield simtools.Admin(http)


@pytest.fixture
async def astra(sim: simtools.Sim) -> AsyncIterator[astra_client.AstraClient]:
    """A real AstraClient (real sleeps) pointed at the simulator with the admin token; the
    request budget is out of the way (tests/client/test_rate_budget.py tests it)."""
    async with astra_client.AstraClient(
        sim.url, token=sim.admin_token, retry=FAST, rate=1000.0
    ) as c:
        yield c
