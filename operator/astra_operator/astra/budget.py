"""The DevOps API request budget: a token bucket per credential, and the pause a 429 sets on it.

Every attempt ``session.Session`` sends (retries included) first takes one request from the
budget of the credential (bearer token) it is sent with, so all the calls made with one token
(observers' lists and per-object calls alike) share one rate: at most ``rate`` requests per
second on average, with bursts of up to ``burst = max(1, rate)`` requests (one second's worth)
after a quiet spell. Credentials do not share a budget.

A 429 reply pauses the whole credential (``pause``): every call with that token waits until the
pause is over, calls with other tokens do not. When a pause ends the bucket holds exactly one
request: requests resume one at a time at ``rate`` (no burst), so the first second after a 429
does not repeat the flood.

Buckets are keyed by ``credential_key(token)``, a short SHA-256 digest, never by the token
itself, so no dict, repr or log line here can carry a token. The module does no I/O; the clock
(monotonic seconds) and the sleep are injectable so tests run on fake time. Each request taken
is timed on that clock for ``metrics`` (``api_budget_wait_seconds``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import math
import time
from collections.abc import Awaitable, Callable

from astra_operator import metrics

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

DEFAULT_RATE = 10.0
"""Requests per second per credential. Astra documents no rate limit: this is our choice."""
DEFAULT_PAUSE = 1.0
"""Seconds a credential is paused after a 429 that carries no usable ``Retry-After``."""
_SWEEP_AT = 64  # buckets kept before idle ones (full, unpaused, unused) are dropped
_EPSILON = 1e-9  # a wait this short is rounding, not a wait (a fake clock may not move)


def credential_key(token: str) -> str:
    """The budget key of a bearer token: 16 hex digits of its SHA-256 (not reversible)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class PauseTooLong(Exception):  # noqa: N818 (it is an answer, not a failure of this module)
    """The credential is paused for longer than the caller agreed to wait; nothing was taken."""

    def __init__(self, remaining: float) -> None:
        self.remaining = remaining
        super().__init__(f"the credential is paused for {remaining:.1f}s more")


@dataclasses.dataclass
class _Bucket:
    tokens: float
    updated: float  # when ``tokens`` was last brought up to date (refill starts here)
    paused_until: float = -math.inf
    waiting: int = 0  # calls inside ``acquire`` (a bucket in use is never forgotten)
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)


class Budget:
    """Token buckets, one per credential, shared by every call a ``Session`` makes."""

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate < math.inf:
            raise ValueError(
                f"the API rate must be a positive number of requests per second, not {rate!r}"
            )
        self.rate = float(rate)
        self.burst = max(1.0, self.rate)
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[str, _Bucket] = {}

    def __repr__(self) -> str:
        known = len(self._buckets)
        return f"Budget(rate={self.rate:g}/s, burst={self.burst:g}, credentials={known})"

    async def acquire(
        self, key: str, *, max_pause: float = math.inf, honoured: float | None = None
    ) -> None:
        """Take one request from ``key``'s budget, waiting as long as the bucket or a pause says.

        Waiters are served in arrival order. A pause with more than ``max_pause`` seconds left
        raises ``PauseTooLong`` instead of waiting (the caller may requeue rather than block).
        ``honoured`` is the end of a pause (from ``pause``) the caller has already waited out
        itself, as the call that received the 429 does in its retry backoff: that pause is not
        waited for again, a later or longer one is.
        """
        started = self._clock()
        bucket = self._bucket(key)
        bucket.waiting += 1
        try:
            async with bucket.lock:
                await self._take(bucket, max_pause, honoured)
        finally:
            bucket.waiting -= 1
        metrics.observe_budget_wait(self._clock() - started)

    async def _take(self, bucket: _Bucket, max_pause: float, honoured: float | None) -> None:
        while True:
            now = self._clock()
            self._refill(bucket, now)
            paused = self._pause_left(bucket, now, honoured)
            if paused > max_pause:
                raise PauseTooLong(paused)
            wait = max(paused, (1.0 - bucket.tokens) / self.rate)
            if wait <= _EPSILON:
                bucket.tokens = max(0.0, bucket.tokens - 1.0)
                return
            await self._sleep(wait)

    def pause(self, key: str, seconds: float) -> tuple[float, bool]:
        """Hold every request with ``key`` back for ``seconds`` from now (a 429's Retry-After).

        Returns this pause's end (this clock; pass it to ``acquire`` as ``honoured`` once waited
        out) and whether it is a new pause (the credential was not paused already), so the
        caller logs a pause once. A pause only ever grows: a shorter one leaves a longer be.
        """
        bucket = self._bucket(key)
        now = self._clock()
        self._refill(bucket, now)
        fresh = bucket.paused_until <= now
        until = now + max(0.0, seconds)
        if until > bucket.paused_until:
            bucket.paused_until = until
            bucket.tokens = 1.0  # when the pause ends, one request may go, then ``rate``:
            bucket.updated = until  # no refill (no burst) while the pause lasts
        return until, fresh and until > now

    def paused_for(self, key: str, *, honoured: float | None = None) -> float:
        """Seconds ``key`` is still paused (0 when it is not), ignoring a ``honoured`` pause."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        return self._pause_left(bucket, self._clock(), honoured)

    @staticmethod
    def _pause_left(bucket: _Bucket, now: float, honoured: float | None) -> float:
        if honoured is not None and bucket.paused_until <= honoured:
            return 0.0
        return max(0.0, bucket.paused_until - now)

    def _refill(self, bucket: _Bucket, now: float) -> None:
        elapsed = now - bucket.updated
        if elapsed > 0:
            bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
            bucket.updated = now

    def _bucket(self, key: str) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _SWEEP_AT:
                self._sweep()
            bucket = self._buckets[key] = _Bucket(tokens=self.burst, updated=self._clock())
        return bucket

    def _sweep(self) -> None:
        """Forget buckets indistinguishable from a new one (rotated tokens would pile up)."""
        now = self._clock()
        for key, bucket in list(self._buckets.items()):
            self._refill(bucket, now)
            idle = bucket.waiting == 0 and bucket.paused_until <= now
            if idle and bucket.tokens >= self.burst:
                del self._buckets[key]
