"""When and how long the Astra client waits before repeating a failed call.

Idempotent calls (GET, PUT, DELETE, and the POSTs marked idempotent by the client) are retried on
429, 502, 503, 504 and on transport errors, with jittered exponential backoff that honours
``Retry-After``. Calls with side effects are retried only when the server provably did no work:
the connection was never established, or the server answered 429.
"""

from __future__ import annotations

import dataclasses
import datetime
import email.utils
import random

from astra_operator.astra import errors

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry.

    ``max_attempts`` counts the first try. The n-th retry waits ``base_delay * 2**(n-1)`` seconds,
    capped at ``max_delay``, spread by +/- ``jitter`` (a fraction). A ``Retry-After`` longer than
    ``max_delay`` is not waited out: the ``RateLimited``/``ServerError`` is raised with its
    ``retry_after`` so the caller can requeue instead of blocking.
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def backoff(self, retry: int, rand: float | None = None) -> float:
        """The wait before the ``retry``-th retry (1-based), jittered by ``rand`` in [0, 1)."""
        delay = min(self.max_delay, self.base_delay * 2.0 ** max(0, retry - 1))
        spread = (random.random() if rand is None else rand) * 2 - 1
        return max(0.0, min(self.max_delay, delay * (1 + self.jitter * spread)))


NO_RETRY = RetryPolicy(max_attempts=1)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), else ``None``."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with no zone information
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - now)


def delay_for(
    policy: RetryPolicy, error: errors.AstraError, attempt: int, *, idempotent: bool
) -> float | None:
    """Seconds to wait before repeating the call that failed with ``error``, or ``None`` to stop.

    ``attempt`` is the 1-based number of the attempt that just failed.
    """
    if attempt >= policy.max_attempts or not _may_retry(error, idempotent=idempotent):
        return None
    delay = policy.backoff(attempt)
    if error.retry_after is not None:
        if error.retry_after > policy.max_delay:
            return None
        delay = max(delay, error.retry_after)
    return delay


def _may_retry(error: errors.AstraError, *, idempotent: bool) -> bool:
    if isinstance(error, errors.TransportError):
        return idempotent or not error.maybe_applied
    if isinstance(error, errors.RateLimited):
        return True
    return idempotent and error.status in RETRYABLE_STATUSES
