"""Fixtures for the simulator tests: a live in-process simulator, HTTP clients, a manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from astra_operator.simulator import Simulator
from tests.simulator.helpers import Clock, bearer


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(timing="fast", seed=1234) as running:
        yield running


@pytest.fixture
def clock(sim: Simulator) -> Clock:
    """Put the simulator on a manual clock (before any database is created)."""
    manual = Clock()
    sim.world.clock = manual
    return manual


@pytest.fixture
async def api(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client carrying the admin token."""
    async with httpx.AsyncClient(
        base_url=sim.url, headers=bearer(sim.admin_token), timeout=10.0
    ) as client:
        yield client


@pytest.fixture
async def admin(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the /_sim admin API (no token)."""
    async with httpx.AsyncClient(base_url=sim.url, timeout=10.0) as client:
        yield client
