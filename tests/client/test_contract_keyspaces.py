"""add_keyspace for a keyspace that already exists: success whether the API says 201 or 422.

Astra documents adding an existing keyspace as a no-op answered 201; a 422 has been answered too.
The contract tests run both against the simulator (its ``existingKeyspace`` variant); the wire
tests pin down which 422s count as "already exists" (only when the database lists the keyspace).
"""

from __future__ import annotations

import httpx
import pytest

from astra_operator.astra import client as astra_client
from astra_operator.astra import errors, models
from tests.client import simtools
from tests.client.conftest import ClientFactory

ADD = "POST /v2/databases/{databaseId}/keyspaces/{keyspaceName}"
GET = "GET /v2/databases/{databaseId}"


@pytest.mark.parametrize("variant", [201, 422])
async def test_adding_an_existing_keyspace_succeeds(
    astra: astra_client.AstraClient, admin: simtools.Admin, variant: int
) -> None:
    assert (await admin.variants(existingKeyspace=variant)) == {"existingKeyspace": variant}
    db_id = await simtools.active_database(astra)
    await admin.reset_counts()
    await astra.add_keyspace(db_id, "default_keyspace")
    counts = await admin.counts()
    assert counts[ADD] == 1  # never repeated
    assert counts.get(GET, 0) == (1 if variant == 422 else 0)  # a 422 is checked by a read
    db = await astra.get_database(db_id)
    assert db.status == models.ACTIVE
    assert db.keyspaces == ["default_keyspace"]

    await astra.add_keyspace(db_id, "extra")  # a new keyspace is added as usual
    await simtools.wait_status(astra, db_id, {models.ACTIVE})
    await astra.add_keyspace(db_id, "extra")
    assert sorted((await astra.get_database(db_id)).keyspaces) == ["default_keyspace", "extra"]


@pytest.mark.parametrize("variant", [201, 422])
async def test_other_422s_are_still_errors(
    astra: astra_client.AstraClient, admin: simtools.Admin, variant: int
) -> None:
    await admin.variants(existingKeyspace=variant)
    db_id = await simtools.active_database(astra)
    with pytest.raises(errors.InvalidRequest) as refused:
        await astra.add_keyspace(db_id, "bad-name")
    assert refused.value.status == 422


# --- the same rules over a fake transport ---------------------------------------------------------


def _database(*keyspaces: str) -> dict[str, object]:
    return {"id": "db1", "status": "ACTIVE", "info": {"keyspace": "ks", "keyspaces": [*keyspaces]}}


def _fake(add_status: int, get: httpx.Response | None) -> tuple[list[str], object]:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        if request.method == "POST":
            body = {"errors": [{"ID": 2000422, "message": "refused"}]}
            return httpx.Response(add_status, json=body if add_status >= 400 else None)
        assert get is not None, "the client read the database when it need not"
        return get

    return calls, handler


async def test_422_with_the_keyspace_listed_is_success(make_client: ClientFactory) -> None:
    calls, handler = _fake(422, httpx.Response(200, json=_database("ks", "extra")))
    await make_client(handler).add_keyspace("db1", "extra")
    assert calls == ["POST /v2/databases/db1/keyspaces/extra", "GET /v2/databases/db1"]


async def test_422_without_the_keyspace_listed_is_raised(make_client: ClientFactory) -> None:
    calls, handler = _fake(422, httpx.Response(200, json=_database("ks")))
    with pytest.raises(errors.InvalidRequest) as refused:
        await make_client(handler).add_keyspace("db1", "extra")
    assert refused.value.status == 422
    assert len(calls) == 2


async def test_422_whose_check_fails_raises_the_422(make_client: ClientFactory) -> None:
    _, handler = _fake(422, httpx.Response(404, json={"errors": [{"ID": 1, "message": "gone"}]}))
    with pytest.raises(errors.InvalidRequest) as refused:
        await make_client(handler).add_keyspace("db1", "extra")
    assert refused.value.status == 422
    assert isinstance(refused.value.__cause__, errors.NotFound)


@pytest.mark.parametrize("status", [201, 202])
async def test_2xx_needs_no_check(make_client: ClientFactory, status: int) -> None:
    calls, handler = _fake(status, None)
    await make_client(handler).add_keyspace("db1", "extra")
    assert calls == ["POST /v2/databases/db1/keyspaces/extra"]


async def test_400_is_raised_without_a_check(make_client: ClientFactory) -> None:
    calls, handler = _fake(400, None)
    with pytest.raises(errors.InvalidRequest):
        await make_client(handler).add_keyspace("db1", "extra")
    assert len(calls) == 1
