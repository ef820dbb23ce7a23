"""Retries, backoff, Retry-After, the no-blind-retry rule for creates, and the concurrency limit."""

from __future__ import annotations

import asyncio
import email.utils

import httpx
import pytest

from astra_operator.astra import errors, models, retry
from tests.client.conftest import ClientFactory, Handler

SPEC = models.DatabaseCreate(name="db", cloud_provider="GCP", region="us-east1")
NOW = 1_750_000_000.0


def _sequence(*responses: httpx.Response | type[Exception]) -> tuple[list[str], Handler]:
    """A handler answering ``responses`` in turn (an exception class is raised), logging calls."""
    calls: list[str] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, httpx.Response):
            return item
        raise item("boom", request=request)  # type: ignore[call-arg]

    return calls, handler


async def test_get_retries_5xx_then_succeeds(
    make_client: ClientFactory, sleeps: list[float]
) -> None:
    calls, handler = _sequence(
        httpx.Response(503), httpx.Response(502), httpx.Response(504),
        httpx.Response(200, json={"id": "db"}),
    )  # fmt: skip
    db = await make_client(handler).get_database("db")
    assert db.id == "db"
    assert len(calls) == 4
    assert sleeps == [0.01, 0.02, 0.04]  # exponential, jitter 0


async def test_get_gives_up_after_max_attempts(
    make_client: ClientFactory, sleeps: list[float]
) -> None:
    calls, handler = _sequence(httpx.Response(503))
    with pytest.raises(errors.ServerError):
        await make_client(handler).get_database("db")
    assert len(calls) == 4
    assert len(sleeps) == 3


@pytest.mark.parametrize("status", [500, 501, 400, 404, 409])
async def test_other_statuses_are_not_retried(make_client: ClientFactory, status: int) -> None:
    calls, handler = _sequence(httpx.Response(status))
    with pytest.raises(errors.AstraError):
        await make_client(handler).get_database("db")
    assert len(calls) == 1


async def test_retry_after_seconds_is_honoured(
    make_client: ClientFactory, sleeps: list[float]
) -> None:
    calls, handler = _sequence(
        httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json=[])
    )
    assert await make_client(handler).list_roles() == []
    assert sleeps == [3.0]
    assert len(calls) == 2


async def test_retry_after_http_date_is_honoured(
    make_client: ClientFactory, sleeps: list[float]
) -> None:
    when = email.utils.formatdate(NOW + 4, usegmt=True)
    calls, handler = _sequence(
        httpx.Response(503, headers={"Retry-After": when}), httpx.Response(200, json=[])
    )
    await make_client(handler, clock=lambda: NOW).list_roles()
    assert sleeps == [4.0]
    assert len(calls) == 2


async def test_retry_after_beyond_the_cap_is_raised_not_waited(
    make_client: ClientFactory, sleeps: list[float]
) -> None:
    calls, handler = _sequence(httpx.Response(429, headers={"Retry-After": "120"}))
    with pytest.raises(errors.RateLimited) as info:
        await make_client(handler).list_roles()
    assert info.value.retry_after == 120.0
    assert sleeps == []
    assert len(calls) == 1


async def test_rate_limited_after_exhausting_attempts_keeps_retry_after(
    make_client: ClientFactory, sleeps: list[float]
) -> None:
    calls, handler = _sequence(httpx.Response(429, headers={"Retry-After": "1"}))
    with pytest.raises(errors.RateLimited) as info:
        await make_client(handler).list_roles()
    assert info.value.retry_after == 1.0
    assert len(calls) == 4
    assert sleeps == [1.0, 1.0, 1.0]


async def test_get_retries_connection_errors(make_client: ClientFactory) -> None:
    calls, handler = _sequence(
        httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError,
        httpx.Response(200, json={"id": "o"}),
    )  # fmt: skip
    assert (await make_client(handler).current_organization()).id == "o"
    assert len(calls) == 4


@pytest.mark.parametrize(
    "exc", [httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError]
)
async def test_create_lost_response_is_not_retried(
    make_client: ClientFactory, sleeps: list[float], exc: type[Exception]
) -> None:
    calls, handler = _sequence(exc, httpx.Response(201, headers={"Location": "x"}))
    with pytest.raises(errors.TransportError) as info:
        await make_client(handler).create_database(SPEC)
    assert info.value.maybe_applied is True
    assert "may have been applied" in str(info.value)
    assert calls == ["POST /v2/databases"]
    assert sleeps == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_create_5xx_is_not_retried_and_may_be_applied(
    make_client: ClientFactory, status: int
) -> None:
    calls, handler = _sequence(httpx.Response(status))
    with pytest.raises(errors.ServerError) as info:
        await make_client(handler).create_database(SPEC)
    assert info.value.maybe_applied is True
    assert len(calls) == 1


async def test_create_is_retried_when_it_provably_was_not_sent(make_client: ClientFactory) -> None:
    calls, handler = _sequence(
        httpx.ConnectError, httpx.Response(429), httpx.Response(201, headers={"Location": "id1"})
    )
    assert await make_client(handler).create_database(SPEC) == "id1"
    assert len(calls) == 3


async def test_create_connect_failure_exhausted_is_not_maybe_applied(
    make_client: ClientFactory,
) -> None:
    calls, handler = _sequence(httpx.ConnectError)
    with pytest.raises(errors.TransportError) as info:
        await make_client(handler).create_database(SPEC)
    assert info.value.maybe_applied is False
    assert len(calls) == 4


@pytest.mark.parametrize(
    ("call", "retried"),
    [
        ("terminate_database", True),
        ("park_database", True),
        ("unpark_database", True),
        ("secure_bundle_urls", True),
        ("add_keyspace", False),
        ("resize_database", False),
    ],
)
async def test_which_posts_are_retried(
    make_client: ClientFactory, call: str, retried: bool
) -> None:
    calls, handler = _sequence(httpx.ReadTimeout, httpx.Response(202), httpx.Response(200, json=[]))
    c = make_client(handler)
    args: dict[str, tuple[object, ...]] = {"add_keyspace": ("ks",), "resize_database": (3,)}
    method = getattr(c, call)
    if retried:
        await method("db", *args.get(call, ()))
        assert len(calls) == 2
    else:
        with pytest.raises(errors.TransportError) as info:
            await method("db", *args.get(call, ()))
        assert info.value.maybe_applied
        assert len(calls) == 1


async def test_put_and_delete_are_retried(make_client: ClientFactory) -> None:
    calls, handler = _sequence(httpx.Response(503), httpx.Response(204))
    c = make_client(handler)
    await c.delete_access_list_address("db", "1.2.3.4/32")
    assert len(calls) == 2


async def test_concurrency_limit_is_respected(make_client: ClientFactory) -> None:
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, json={"id": "o"})

    c = make_client(handler, max_concurrency=3)
    results = await asyncio.gather(*(c.current_organization() for _ in range(12)))
    assert len(results) == 12
    assert peak == 3


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = retry.RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=0.5)
    assert [policy.backoff(n, rand=0.5) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    assert policy.backoff(1, rand=0.0) == 0.5
    assert policy.backoff(2, rand=0.999) == pytest.approx(2.998)
    assert policy.backoff(4, rand=0.999) == 5.0
    assert 0.5 <= policy.backoff(1) <= 1.5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        (email.utils.formatdate(NOW + 10, usegmt=True), 10.0),
        (email.utils.formatdate(NOW - 10, usegmt=True), 0.0),
        ("Sun, 15 Jun 2025 15:06:50 -0000", 10.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert retry.parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base_delay": -1.0}, {"jitter": 1.5}])
def test_retry_policy_validates(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        retry.RetryPolicy(**kwargs)  # type: ignore[arg-type]
