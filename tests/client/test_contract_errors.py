"""Every error class and the retry rules, against the real simulator with injected faults."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from astra_operator.astra import client as astra_client
from astra_operator.astra import errors, models, retry
from tests.client import simtools

ONE_DB = r"^/v2/databases/[^/]+$"
LIST = r"^/v2/databases$"


def _client(sim: simtools.Sim, **kwargs: object) -> astra_client.AstraClient:
    kwargs.setdefault("token", sim.admin_token)
    kwargs.setdefault("retry", retry.RetryPolicy(max_attempts=4, base_delay=0.01, jitter=0.0))
    return astra_client.AstraClient(sim.url, **kwargs)  # type: ignore[arg-type]


async def read_only_token(astra: astra_client.AstraClient, admin: simtools.Admin) -> str:
    org = await astra.current_organization()
    policy = models.Policy(
        description="read only",
        resources=[f"drn:astra:org:{org.id}", f"drn:astra:org:{org.id}:db:*"],
        actions=["org-db-view"],
    )
    role = await astra.create_role(f"ro-{uuid.uuid4().hex[:6]}", policy)
    return await admin.mint_token([role.id])


async def test_not_found(astra: astra_client.AstraClient) -> None:
    with pytest.raises(errors.NotFound) as info:
        await astra.get_database(str(uuid.uuid4()))
    assert info.value.status == 404
    with pytest.raises(errors.NotFound):
        await astra.terminate_database(str(uuid.uuid4()))


async def test_conflict_while_in_maintenance(astra: astra_client.AstraClient) -> None:
    db_id = await simtools.active_database(astra)
    await astra.add_keyspace(db_id, "busy_ks")
    with pytest.raises(errors.Conflict) as info:
        await astra.terminate_database(db_id)
    assert info.value.status == 409
    await simtools.wait_status(astra, db_id, {models.ACTIVE})
    await astra.terminate_database(db_id)


async def test_unauthorized_bad_token(sim: simtools.Sim) -> None:
    bad = "AstraCS:nobody:0000000000000000"
    async with _client(sim, token=bad) as c:
        with pytest.raises(errors.Unauthorized) as info:
            await c.list_databases()
    assert info.value.status == 401
    assert bad not in str(info.value)


async def test_unauthorized_missing_permission(
    sim: simtools.Sim, astra: astra_client.AstraClient, admin: simtools.Admin
) -> None:
    db_id = await simtools.active_database(astra)
    ro = await read_only_token(astra, admin)
    async with _client(sim, token=ro) as c:
        assert db_id in {d.id for d in await c.list_databases()}
        assert (await c.get_database(db_id)).id == db_id
        with pytest.raises(errors.Unauthorized):
            await c.create_database(await simtools.serverless_spec(astra))
        with pytest.raises(errors.Unauthorized):
            await c.add_keyspace(db_id, "nope")
        with pytest.raises(errors.Unauthorized):
            await c.terminate_database(db_id)
    assert (await astra.get_database(db_id)).status == models.ACTIVE


async def test_forbidden_on_organization_endpoints(
    sim: simtools.Sim, astra: astra_client.AstraClient, admin: simtools.Admin
) -> None:
    ro = await read_only_token(astra, admin)
    async with _client(sim, token=ro) as c:
        with pytest.raises(errors.Forbidden) as info:
            await c.create_role("sneaky", models.Policy(description="x", actions=["org-write"]))
    assert info.value.status == 403


@pytest.mark.parametrize(
    "change",
    [
        {"tier": "bogus-tier"},
        {"region": "nowhere-1"},
        {"cloud_provider": "MARS"},
        {"capacity_units": 0},
    ],
)
async def test_invalid_create(astra: astra_client.AstraClient, change: dict[str, object]) -> None:
    spec = (await simtools.serverless_spec(astra)).model_copy(update=change)
    with pytest.raises(errors.InvalidRequest) as info:
        await astra.create_database(spec)
    assert info.value.status in (400, 422)
    assert await astra.list_databases() == []


async def test_invalid_create_body(astra: astra_client.AstraClient) -> None:
    with pytest.raises(errors.InvalidRequest):
        await astra.request("POST", "/v2/databases", body={"name": "no-region"})
    with pytest.raises(errors.InvalidRequest):
        await astra.request("POST", "/v2/databases", body=["not", "an", "object"])


async def test_rate_limited_retry_waits_retry_after(
    sim: simtools.Sim, astra: astra_client.AstraClient, admin: simtools.Admin
) -> None:
    db_id = await simtools.active_database(astra)
    await admin.reset_counts()
    await admin.fault(kind="status", status=429, retryAfter=1, method="GET", path=ONE_DB)
    started = time.monotonic()
    assert (await astra.get_database(db_id)).id == db_id
    assert time.monotonic() - started >= 1.0
    assert (await admin.counts())["GET /v2/databases/{databaseId}"] == 2


async def test_rate_limited_raised_when_it_persists(
    sim: simtools.Sim, admin: simtools.Admin
) -> None:
    await admin.fault(kind="status", status=429, retryAfter=60, method="GET", path=LIST, count=5)
    async with _client(sim) as c:
        with pytest.raises(errors.RateLimited) as info:
            await c.list_databases()
    assert info.value.retry_after == 60.0
    assert (await admin.counts())["GET /v2/databases"] == 1  # 60 s > max_delay: not waited


async def test_server_error_burst_is_retried(
    astra: astra_client.AstraClient, admin: simtools.Admin
) -> None:
    # One fault per path: the simulator consumes every matching queued fault on each request.
    await admin.fault(kind="status", status=503, method="GET", path=LIST, count=3)
    await admin.fault(kind="status", status=502, method="GET", path=r"^/v2/currentOrg$")
    await admin.fault(kind="status", status=504, method="GET", path=r"^/v2/organizations/roles$")
    assert await astra.list_databases() == []
    assert (await astra.current_organization()).id
    assert await astra.list_roles()
    counts = await admin.counts()
    assert counts["GET /v2/databases"] == 4
    assert counts["GET /v2/currentOrg"] == 2
    assert counts["GET /v2/organizations/roles"] == 2


async def test_server_error_raised(sim: simtools.Sim, admin: simtools.Admin) -> None:
    await admin.fault(kind="status", status=500, method="GET", path=LIST, count=3)
    await admin.fault(kind="status", status=503, method="GET", path=r"^/v2/currentOrg$", count=9)
    async with _client(sim, retry=retry.RetryPolicy(max_attempts=2, base_delay=0.01)) as c:
        with pytest.raises(errors.ServerError) as info:
            await c.list_databases()
        assert info.value.status == 500
        with pytest.raises(errors.ServerError):
            await c.current_organization()
    counts = await admin.counts()
    assert counts["GET /v2/databases"] == 1  # 500 is not retried
    assert counts["GET /v2/currentOrg"] == 2


async def test_dropped_create_response_is_maybe_applied_and_not_repeated(
    astra: astra_client.AstraClient, admin: simtools.Admin
) -> None:
    spec = await simtools.serverless_spec(astra, "dropped")
    await admin.reset_counts()
    await admin.fault(kind="drop_response", method="POST", path=LIST)
    with pytest.raises(errors.TransportError) as info:
        await astra.create_database(spec)
    assert info.value.maybe_applied is True
    assert (await admin.counts())["POST /v2/databases"] == 1
    databases = (await admin.state())["databases"]
    assert isinstance(databases, list)
    assert len(databases) == 1
    assert [d.info.name for d in await astra.list_databases()] == ["dropped"]


async def test_dropped_get_response_is_retried(
    astra: astra_client.AstraClient, admin: simtools.Admin
) -> None:
    await admin.fault(kind="drop_response", method="GET", path=r"^/v2/currentOrg$")
    org = await astra.current_organization()
    assert org.id
    assert (await admin.counts())["GET /v2/currentOrg"] == 2


async def test_timeout_is_a_transport_error_and_retried(
    sim: simtools.Sim, admin: simtools.Admin
) -> None:
    await admin.fault(kind="latency", seconds=1.0, method="GET", path=r"^/v2/currentOrg$")
    async with _client(sim, timeout=0.2) as c:
        assert (await c.current_organization()).id
    async with _client(sim, timeout=0.2, retry=retry.NO_RETRY) as c:
        await admin.fault(kind="latency", seconds=1.0, method="GET", path=r"^/v2/currentOrg$")
        with pytest.raises(errors.TransportError) as info:
            await c.current_organization()
    assert info.value.status is None
    assert not info.value.maybe_applied


async def test_not_found_right_after_create(
    astra: astra_client.AstraClient, admin: simtools.Admin
) -> None:
    await admin.fault(kind="not_found_after_create", seconds=0.5)
    db_id = await astra.create_database(await simtools.serverless_spec(astra))
    with pytest.raises(errors.NotFound):
        await astra.get_database(db_id)
    await asyncio.sleep(0.6)
    await simtools.wait_status(astra, db_id, {models.ACTIVE})


async def test_create_error_ends_in_error_status(
    astra: astra_client.AstraClient, admin: simtools.Admin
) -> None:
    await admin.fault(kind="create_error")
    db_id = await astra.create_database(await simtools.serverless_spec(astra))
    seen = await simtools.statuses_until(astra, db_id, {models.ERROR, models.ACTIVE})
    assert seen[-1] == models.ERROR
