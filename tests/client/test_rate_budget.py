"""The request budget per credential against the real simulator, over real HTTP and real time.

Timings are asserted as lower bounds (what the budget guarantees); that another credential is
not held back is asserted by order (its call finishes while the paused one still waits).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import pytest

from astra_operator.astra import client as astra_client
from tests.client import simtools
from tests.client.conftest import FAST

LIST = r"^/v2/databases$"


class _PauseSeen(logging.Handler):
    """Notes when the session announces a credential pause (an INFO line naming the 429)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.event = asyncio.Event()
        self.at: float | None = None
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "429" in record.getMessage():
            self.messages.append(record.getMessage())
            self.at = time.monotonic()
            self.event.set()


@pytest.fixture
def pause_seen() -> Iterator[_PauseSeen]:
    log = logging.getLogger("astra_operator.astra.session")
    handler, level = _PauseSeen(), log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    yield handler
    log.removeHandler(handler)
    log.setLevel(level)


async def test_calls_beyond_the_burst_go_at_the_rate(
    sim: simtools.Sim, admin: simtools.Admin
) -> None:
    rate, calls = 20.0, 30  # burst = rate: 20 at once, then 10 more at 20/s
    async with astra_client.AstraClient(sim.url, token=sim.admin_token, rate=rate) as c:
        await admin.reset_counts()
        started = time.monotonic()
        orgs = await asyncio.gather(*(c.current_organization() for _ in range(calls)))
        elapsed = time.monotonic() - started
    assert len({o.id for o in orgs}) == 1
    assert (await admin.counts())["GET /v2/currentOrg"] == calls
    assert elapsed >= (calls - rate) / rate - 0.01


async def test_a_429_pauses_its_credential_and_no_other(
    sim: simtools.Sim, admin: simtools.Admin, pause_seen: _PauseSeen
) -> None:
    other_token = await admin.mint_token(["Organization Administrator"])
    await admin.fault(kind="status", status=429, retryAfter=1, method="GET", path=LIST)
    async with astra_client.AstraClient(sim.url, token=sim.admin_token, rate=50.0, retry=FAST) as c:
        limited = asyncio.ensure_future(c.list_databases())
        await asyncio.wait_for(pause_seen.event.wait(), timeout=10.0)
        assert pause_seen.at is not None
        same = asyncio.ensure_future(c.current_organization())
        other = asyncio.ensure_future(c.current_organization(token=other_token))
        done, _ = await asyncio.wait({same, other}, return_when=asyncio.FIRST_COMPLETED)
        assert other in done, "a call with another token waited for this token's pause"
        assert same not in done
        await same
        same_waited = time.monotonic() - pause_seen.at
        assert isinstance(await limited, list)  # retried once the pause was over
    assert same_waited >= 0.95
    assert (await admin.counts())["GET /v2/databases"] == 2
    assert len(pause_seen.messages) == 1
    assert "GET /v2/databases" in pause_seen.messages[0]
    assert "1.0s" in pause_seen.messages[0]
    assert sim.admin_token not in pause_seen.messages[0]
