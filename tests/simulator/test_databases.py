"""Databases as a client sees them: create, the status clock, termination, lists and filters."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest

from astra_operator.simulator import Simulator
from tests.simulator.helpers import CLASSIC, SERVERLESS, Clock, active, create, status


async def _statuses_until(api: httpx.AsyncClient, db_id: str, final: str) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        response = await api.get(f"/v2/databases/{db_id}")
        current = response.json()["status"] if response.status_code == 200 else "404"
        if not seen or seen[-1] != current:
            seen.append(current)
        if current == final:
            return seen
        await asyncio.sleep(0.01)
    raise AssertionError(f"never reached {final}; saw {seen}")


async def test_create_answers_201_with_bare_id_location_and_empty_body(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post("/v2/databases", json=SERVERLESS)
    assert response.status_code == 201
    assert response.content == b""
    db_id = response.headers["Location"]
    assert str(uuid.UUID(db_id)) == db_id  # a bare UUID, not a URL
    body = (await api.get(f"/v2/databases/{db_id}")).json()
    assert body["id"] == db_id
    assert body["status"] == "PENDING"
    assert body["terminationTime"] == "0001-01-01T00:00:00Z"
    assert body["info"]["keyspace"] == "default_keyspace"
    assert body["info"]["datacenters"][0]["id"] == f"{db_id}-1"
    assert body["dataEndpointUrl"] == f"https://{db_id}-us-east1.apps.astra.datastax.com/api/rest"


async def test_fast_timing_walks_pending_initializing_active(api: httpx.AsyncClient) -> None:
    db_id = await create(api)
    seen = await _statuses_until(api, db_id, "ACTIVE")
    assert seen[0] == "PENDING"
    assert seen[-1] == "ACTIVE"
    assert set(seen) <= {"PENDING", "INITIALIZING", "ACTIVE"}


async def test_names_are_not_unique_and_provider_case_is_ignored(api: httpx.AsyncClient) -> None:
    first = await create(api, cloudProvider="gcp")
    second = await create(api)
    assert first != second
    listed = (await api.get("/v2/databases")).json()
    assert [d["info"]["cloudProvider"] for d in listed] == ["GCP", "GCP"]


async def test_terminated_is_readable_for_a_while_then_404(
    api: httpx.AsyncClient, clock: Clock
) -> None:
    db_id = await active(api, clock)
    assert (await api.post(f"/v2/databases/{db_id}/terminate")).status_code == 202
    assert await status(api, db_id) == "TERMINATING"
    assert (await api.post(f"/v2/databases/{db_id}/terminate")).status_code == 202  # harmless
    clock.advance(0.3)
    body = (await api.get(f"/v2/databases/{db_id}")).json()
    assert body["status"] == "TERMINATED"
    assert body["terminationTime"] != "0001-01-01T00:00:00Z"
    assert db_id not in {d["id"] for d in (await api.get("/v2/databases")).json()}
    everything = (await api.get("/v2/databases", params={"include": "ALL"})).json()
    assert [d["status"] for d in everything] == ["TERMINATED"]
    clock.advance(600.0)  # as long as on Astra, even under fast timing
    assert (await api.get(f"/v2/databases/{db_id}")).status_code == 404
    assert (await api.get("/v2/databases", params={"include": "all"})).json() == []


async def test_unknown_database_is_404_with_errors_body(api: httpx.AsyncClient) -> None:
    response = await api.get(f"/v2/databases/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["errors"][0]["ID"] > 0


async def test_pagination_of_250_databases(api: httpx.AsyncClient) -> None:
    created = [await create(api, name=f"db{i}") for i in range(250)]
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 1000}  # silently capped at 100
        if cursor:
            params["starting_after"] = cursor
        page = [d["id"] for d in (await api.get("/v2/databases", params=params)).json()]
        pages.append(page)
        if len(page) < 100:
            break
        cursor = page[-1]
    assert [len(p) for p in pages] == [100, 100, 50]
    assert [i for page in pages for i in page] == created  # stable creation order
    default = (await api.get("/v2/databases")).json()
    assert len(default) == 25


async def test_include_and_provider_filters(api: httpx.AsyncClient, clock: Clock) -> None:
    await active(api, clock, name="aws", cloudProvider="aws", region="us-east-2")
    await create(api, name="azure", cloudProvider="Azure", region="westus2")

    async def names(**params: str) -> list[str]:
        response = await api.get("/v2/databases", params=params)
        assert response.status_code == 200, response.text
        return [d["info"]["name"] for d in response.json()]

    assert await names(provider="AZURE") == ["azure"]
    assert await names(provider="azure") == ["azure"]
    assert await names(provider="All") == ["aws", "azure"]
    assert await names(include="active") == ["aws"]
    assert await names(include="PENDING") == ["azure"]
    assert await names(include="active", provider="GCP") == []
    bad = await api.get("/v2/databases", params={"provider": "MARS"})
    assert bad.status_code == 400
    assert "errors" in bad.json()
    assert (await api.get("/v2/databases", params={"include": "sleepy"})).status_code == 400


@pytest.mark.parametrize(
    ("change", "expected_status", "expected_id"),
    [
        ({"tier": "bogus"}, 422, 2000011),
        ({"cloudProvider": "MARS"}, 422, 2000012),
        ({"region": "nowhere-1"}, 422, 2000013),
        ({"capacityUnits": 0}, 422, None),
        ({"capacityUnits": 2}, 422, None),  # serverless is always 1
        ({"keyspace": "bad-name!"}, 422, None),
        ({"region": None}, 400, None),
        ({"capacityUnits": "one"}, 400, None),
    ],
)
async def test_create_validation(
    api: httpx.AsyncClient, change: dict[str, object], expected_status: int, expected_id: int | None
) -> None:
    body = {k: v for k, v in {**SERVERLESS, **change}.items() if v is not None}
    response = await api.post("/v2/databases", json=body)
    assert response.status_code == expected_status, response.text
    errors = response.json()["errors"]
    assert errors
    assert all(set(e) == {"ID", "message"} for e in errors)
    if expected_id is not None:
        assert errors[0]["ID"] == expected_id
    assert (await api.get("/v2/databases")).json() == []


async def test_several_problems_are_all_reported(api: httpx.AsyncClient) -> None:
    body = {**SERVERLESS, "tier": "nope", "cloudProvider": "MARS"}
    response = await api.post("/v2/databases", json=body)
    assert [e["ID"] for e in response.json()["errors"]] == [2000011, 2000012]


async def test_non_json_bodies_are_400(api: httpx.AsyncClient) -> None:
    assert (await api.post("/v2/databases", content=b"{not json")).status_code == 400
    assert (await api.post("/v2/databases", json=["a", "list"])).status_code == 400


async def test_classic_database_shape(api: httpx.AsyncClient, clock: Clock) -> None:
    db_id = await active(api, clock, classic=True)
    body = (await api.get(f"/v2/databases/{db_id}")).json()
    assert body["info"]["tier"] == CLASSIC["tier"]
    assert body["storage"]["nodeCount"] == 3 * CLASSIC["capacityUnits"]
    assert {"park", "resize", "terminate"} <= set(body["availableActions"])
    assert body["info"]["datacenters"][0]["status"] == "ACTIVE"


async def test_lists_stay_fast_with_thousands_of_databases(sim: Simulator) -> None:
    world = sim.world
    for i in range(3000):
        world.new_database(
            owner="x",
            name=f"n{i}",
            provider="AWS",
            region="us-east-2",
            tier="serverless",
            units=1,
            db_type=None,
            keyspace="default_keyspace",
        )
    async with httpx.AsyncClient(
        base_url=sim.url, headers={"Authorization": f"Bearer {sim.admin_token}"}
    ) as api:
        started = time.monotonic()
        last = (await api.get("/v2/databases", params={"limit": 100, "provider": "GCP"})).json()
        assert last == []
        assert time.monotonic() - started < 1.0
