"""The request budget per credential: rate, burst, independence, 429 pauses, no slot held.

Everything runs on ``FakeTime``: sleeps wait for the test to move the fake clock, so nothing
really sleeps and the schedule is exact.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from collections.abc import Awaitable
from typing import Any

import httpx
import pytest

from astra_operator.astra import budget, errors, retry, session

A = budget.credential_key("AstraCS:alice:0123456789abcdef")
B = budget.credential_key("AstraCS:bob:fedcba9876543210")


class FakeTime:
    """A clock and a sleep; sleepers wake only when the test advances the clock past them."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, delay), next(self._order), future))
        await future

    @staticmethod
    async def settle() -> None:
        """Let every runnable task run until it blocks again."""
        for _ in range(200):
            await asyncio.sleep(0)

    def _wake_next(self) -> None:
        until, _, future = heapq.heappop(self._sleepers)
        self.now = max(self.now, until)
        if not future.done():
            future.set_result(None)

    async def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` on, waking each sleeper at its own time."""
        target = self.now + seconds
        await self.settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            self._wake_next()
            await self.settle()
        self.now = target
        await self.settle()

    async def run(self, *coros: Awaitable[Any]) -> list[Any]:
        """Run ``coros`` concurrently, moving the clock to each next wake-up until all are done."""
        tasks = [asyncio.ensure_future(c) for c in coros]
        await self.settle()
        while not all(t.done() for t in tasks):
            assert self._sleepers, "every task is blocked and nobody sleeps: a deadlock"
            self._wake_next()
            await self.settle()
        return [t.result() for t in tasks]


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def _budget(fake: FakeTime, rate: float = 5.0) -> budget.Budget:
    return budget.Budget(rate, clock=fake.clock, sleep=fake.sleep)


async def _stamped(fake: FakeTime, b: budget.Budget, key: str, times: list[float]) -> None:
    await b.acquire(key)
    times.append(fake.now)


async def test_the_rate_is_respected_over_a_window(fake: FakeTime) -> None:
    b = _budget(fake, rate=5.0)
    times: list[float] = []
    await fake.run(*(_stamped(fake, b, A, times) for _ in range(25)))
    # The burst (5) at once, then one every 1/rate seconds, in arrival order.
    expected = [0.0] * 5 + [0.2 * n for n in range(1, 21)]
    assert times == pytest.approx(expected)
    # In any window of W seconds no more than burst + rate * W requests start.
    for start in times:
        in_window = [t for t in times if start <= t < start + 2.0]
        assert len(in_window) <= 5 + 5 * 2.0


async def test_the_burst_refills_when_idle_but_never_beyond_the_cap(fake: FakeTime) -> None:
    b = _budget(fake, rate=5.0)
    await fake.run(*(b.acquire(A) for _ in range(5)))
    assert fake.now == 0.0  # a full bucket: the burst goes at once
    await fake.advance(100.0)  # a long idle spell refills to the burst, not to 500
    times: list[float] = []
    await fake.run(*(_stamped(fake, b, A, times) for _ in range(7)))
    assert times == pytest.approx([100.0] * 5 + [100.2, 100.4])


def test_the_burst_is_one_second_of_requests_and_at_least_one() -> None:
    assert budget.Budget(10.0).burst == 10.0
    assert budget.Budget(0.5).burst == 1.0


async def test_a_slow_rate_spaces_requests_by_its_period(fake: FakeTime) -> None:
    b = _budget(fake, rate=0.5)
    times: list[float] = []
    await fake.run(*(_stamped(fake, b, A, times) for _ in range(3)))
    assert times == pytest.approx([0.0, 2.0, 4.0])


async def test_credentials_have_budgets_of_their_own(fake: FakeTime) -> None:
    b = _budget(fake, rate=5.0)
    await fake.run(*(b.acquire(A) for _ in range(5)))  # A's burst is spent
    waiting_a = asyncio.ensure_future(b.acquire(A))
    times_b: list[float] = []
    await fake.run(*(_stamped(fake, b, B, times_b) for _ in range(5)))
    assert times_b == [0.0] * 5  # B is not slowed by A
    assert not waiting_a.done()
    await fake.advance(0.2)
    assert waiting_a.done()


async def test_a_pause_blocks_the_same_credential_and_not_another(fake: FakeTime) -> None:
    b = _budget(fake, rate=5.0)
    end, fresh = b.pause(A, 1.0)
    assert (end, fresh) == (1.0, True)
    assert b.paused_for(A) == 1.0
    assert b.paused_for(B) == 0.0
    waiting_a = asyncio.ensure_future(b.acquire(A))
    other_b = asyncio.ensure_future(b.acquire(B))
    await fake.settle()
    assert other_b.done()
    assert not waiting_a.done()
    await fake.advance(0.99)
    assert not waiting_a.done()
    await fake.advance(0.01)
    assert waiting_a.done()


async def test_requests_resume_one_at_a_time_after_a_pause(fake: FakeTime) -> None:
    b = _budget(fake, rate=5.0)  # a full bucket: without the pause all five would go at once
    b.pause(A, 1.0)
    times: list[float] = []
    await fake.run(*(_stamped(fake, b, A, times) for _ in range(3)))
    assert times == pytest.approx([1.0, 1.2, 1.4])


async def test_a_pause_only_grows_and_is_announced_once(fake: FakeTime) -> None:
    b = _budget(fake)
    assert b.pause(A, 2.0) == (2.0, True)
    assert b.pause(A, 1.0) == (1.0, False)  # a shorter one leaves the longer be
    assert b.paused_for(A) == 2.0
    assert b.pause(A, 3.0) == (3.0, False)  # longer: extended, but the same pause
    assert b.paused_for(A) == 3.0
    assert b.pause(B, 0.0) == (0.0, False)  # Retry-After: 0 is no pause
    assert b.paused_for(B) == 0.0


async def test_a_pause_longer_than_the_caller_waits_is_refused_at_once(fake: FakeTime) -> None:
    b = _budget(fake)
    b.pause(A, 60.0)
    with pytest.raises(budget.PauseTooLong) as info:
        await b.acquire(A, max_pause=30.0)
    assert info.value.remaining == 60.0
    assert fake.now == 0.0  # not waited


async def test_the_pause_a_caller_waited_out_itself_is_not_waited_again(fake: FakeTime) -> None:
    b = _budget(fake)
    end, _ = b.pause(A, 1.0)
    await fake.run(b.acquire(A, honoured=end))
    assert fake.now == 0.0
    b.pause(A, 5.0)  # a longer pause someone else caused is waited for
    await fake.run(b.acquire(A, honoured=end))
    assert fake.now == 5.0


def test_the_key_is_a_digest_and_the_token_is_nowhere(fake: FakeTime) -> None:
    token = "AstraCS:alice:0123456789abcdef"
    key = budget.credential_key(token)
    assert len(key) == 16
    assert int(key, 16) >= 0
    assert "alice" not in key
    b = _budget(fake)
    b.pause(key, 1.0)
    assert token not in repr(b)
    assert key not in repr(b)


@pytest.mark.parametrize("rate", [0, -1.0, math.inf, math.nan])
def test_a_rate_must_be_positive(rate: float) -> None:
    with pytest.raises(ValueError, match="positive number of requests per second"):
        budget.Budget(rate)


async def test_idle_buckets_of_old_tokens_are_forgotten(fake: FakeTime) -> None:
    b = _budget(fake)
    for n in range(70):
        await b.acquire(budget.credential_key(f"AstraCS:rotated:{n:016d}"))
    assert "credentials=70" in repr(b)
    await fake.advance(10.0)  # every bucket is full again: no different from a new one
    await b.acquire(A)
    assert "credentials=1)" in repr(b)


# --- through the Session: no concurrency slot held while waiting, 429 pauses ----------------

TOKEN_A = "AstraCS:alice:0123456789abcdef"
TOKEN_B = "AstraCS:bob:fedcba9876543210"


def _session(
    fake: FakeTime, handler: Any, *, rate: float = 5.0, max_concurrency: int = 1
) -> session.Session:
    return session.Session(
        "https://astra.test",
        token=None,
        timeout=5.0,
        max_concurrency=max_concurrency,
        rate_budget=_budget(fake, rate),
        policy=retry.RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=30.0, jitter=0.0),
        transport=httpx.MockTransport(handler),
        sleep=fake.sleep,
        clock=lambda: 1_750_000_000.0,
    )


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"id": "o"})


async def test_waiting_for_the_budget_does_not_hold_a_concurrency_slot(fake: FakeTime) -> None:
    s = _session(fake, _ok, rate=1.0, max_concurrency=1)
    try:
        await s.request("GET", "/v2/currentOrg", token=TOKEN_A)  # A's burst (1) is spent
        waiting_a = asyncio.ensure_future(s.request("GET", "/v2/currentOrg", token=TOKEN_A))
        await fake.settle()
        assert not waiting_a.done()
        # With one slot, B could not be sent if A's wait held it.
        other_b = asyncio.ensure_future(s.request("GET", "/v2/currentOrg", token=TOKEN_B))
        await fake.settle()
        assert other_b.done()
        assert fake.now == 0.0
        await fake.advance(1.0)
        assert waiting_a.done()
    finally:
        await s.aclose()


async def test_a_429_pauses_the_credential_for_retry_after(
    fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    sent: list[tuple[float, str]] = []
    limited = {"first": True}

    def handler(request: httpx.Request) -> httpx.Response:
        who = "A" if "alice" in request.headers["authorization"] else "B"
        sent.append((fake.now, f"{who} {request.url.path}"))
        if request.url.path == "/v2/databases" and limited.pop("first", False):
            return httpx.Response(429, headers={"Retry-After": "2"})
        return httpx.Response(200, json=[])

    s = _session(fake, handler, max_concurrency=4)
    caplog.set_level(logging.INFO, logger="astra_operator.astra.session")
    try:
        first = asyncio.ensure_future(s.request("GET", "/v2/databases", token=TOKEN_A))
        await fake.settle()  # its 429 has arrived: credential A is paused for 2 s
        same = asyncio.ensure_future(s.request("GET", "/v2/currentOrg", token=TOKEN_A))
        other = asyncio.ensure_future(s.request("GET", "/v2/currentOrg", token=TOKEN_B))
        await fake.settle()
        assert other.done()
        assert not same.done()
        await fake.run(first, same)
    finally:
        await s.aclose()
    assert (0.0, "B /v2/currentOrg") in sent
    after_pause = sorted(t for t, what in sent if what.startswith("A") and t > 0)
    # Both A calls waited the pause out; then one at a time (no burst after a pause).
    assert after_pause == pytest.approx([2.0, 2.2])
    pauses = [r for r in caplog.records if "429" in r.getMessage()]
    assert len(pauses) == 1
    assert pauses[0].levelno == logging.INFO
    message = pauses[0].getMessage()
    assert "GET /v2/databases" in message
    assert "2.0s" in message
    assert "alice" not in caplog.text
    assert TOKEN_A not in caplog.text


async def test_a_429_without_retry_after_pauses_briefly(fake: FakeTime) -> None:
    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(fake.now)
        return httpx.Response(429) if len(sent) == 1 else httpx.Response(200, json=[])

    s = _session(fake, handler)
    try:
        await fake.run(s.request("GET", "/v2/databases", token=TOKEN_A))
    finally:
        await s.aclose()
    assert sent == pytest.approx([0.0, budget.DEFAULT_PAUSE])


async def test_calls_during_a_long_pause_are_refused_not_blocked(fake: FakeTime) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(429, headers={"Retry-After": "120"})

    s = _session(fake, handler)
    try:
        with pytest.raises(errors.RateLimited):  # 120 s > max_delay: raised, not waited
            await s.request("GET", "/v2/databases", token=TOKEN_A)
        with pytest.raises(errors.RateLimited) as info:
            await s.request("GET", "/v2/currentOrg", token=TOKEN_A)
    finally:
        await s.aclose()
    assert calls == ["/v2/databases"]  # the second call was never sent
    assert info.value.retry_after == pytest.approx(120.0)
    assert info.value.status is None
    assert "alice" not in str(info.value)
    assert fake.now == 0.0


async def test_every_retry_takes_from_the_budget(fake: FakeTime) -> None:
    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(fake.now)
        return httpx.Response(503) if len(sent) < 3 else httpx.Response(200, json=[])

    s = _session(fake, handler, rate=1.0)  # burst 1; the backoff alone would be 0.01, 0.02
    try:
        await fake.run(s.request("GET", "/v2/databases", token=TOKEN_A))
    finally:
        await s.aclose()
    assert sent == pytest.approx([0.0, 1.0, 2.0])
