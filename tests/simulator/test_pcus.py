"""PCU groups (spec v2.3.0) and the other paths added with them, over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from astra_operator.simulator import Simulator
from tests.simulator.helpers import Clock, active, bearer, mint, status

GET = "/v2/pcus/actions/get"
GROUP: dict[str, Any] = {
    "title": "team capacity",
    "cloudProvider": "GCP",
    "region": "us-east1",
    "instanceType": "standard",
    "provisionType": "shared",
    "min": 1,
    "max": 4,
    "reserved": 0,
    "description": "for the tests",
}


async def _create(api: httpx.AsyncClient, clock: Clock, **changes: Any) -> dict[str, Any]:
    response = await api.post("/v2/pcus", json=[{**GROUP, **changes}])
    assert response.status_code == 201, response.text
    (group,) = response.json()
    clock.advance(1.0)
    return dict(group)


async def _groups(api: httpx.AsyncClient, *uuids: str) -> list[dict[str, Any]]:
    response = await api.post(GET, json={"pcuGroupUUIDs": list(uuids)})
    assert response.status_code == 200, response.text
    return list(response.json())


@pytest.mark.parametrize("body", [None, {}, {"pcuGroupUUIDs": []}])
async def test_no_pcu_groups_to_begin_with(api: httpx.AsyncClient, body: object) -> None:
    response = await api.post(GET, json=body) if body is not None else await api.post(GET)
    assert response.status_code == 200
    assert response.json() == []


async def test_create_get_and_update_a_group(api: httpx.AsyncClient, clock: Clock) -> None:
    response = await api.post("/v2/pcus", json=[GROUP])
    assert response.status_code == 201
    (created,) = response.json()
    assert created["status"] == "CREATED"
    assert created["orgId"] == (await api.get("/v2/currentOrg")).json()["id"]
    assert {k: created[k] for k in GROUP} == GROUP
    clock.advance(0.1)
    assert (await _groups(api, created["uuid"]))[0]["status"] == "INITIALIZING"
    clock.advance(1.0)
    (ready,) = await _groups(api, created["uuid"])
    assert ready["status"] == "ACTIVE"
    other = await _create(api, clock, title="other")
    assert [g["uuid"] for g in await _groups(api)] == [created["uuid"], other["uuid"]]
    assert await _groups(api, "no-such-group") == []

    change = {**GROUP, "pcuGroupUUID": created["uuid"], "title": "renamed", "max": 8}
    updated = await api.put("/v2/pcus", json=[change])
    assert updated.status_code == 200
    assert [(g["title"], g["max"]) for g in updated.json()] == [("renamed", 8)]
    assert (await _groups(api, created["uuid"]))[0]["title"] == "renamed"
    moved = await api.put("/v2/pcus", json=[{**change, "region": "us-central1"}])
    assert moved.status_code == 400
    unknown = await api.put("/v2/pcus", json=[{**change, "pcuGroupUUID": "nope"}])
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        GROUP,  # not an array
        [GROUP, GROUP],  # one group per call
        [{**GROUP, "provisionType": "sometimes"}],
        [{**GROUP, "min": 5, "max": 2}],
        [{**GROUP, "reserved": -1}],
        [{**GROUP, "region": "nowhere-1"}],
        [{**GROUP, "cloudProvider": "MARS"}],
        [{k: v for k, v in GROUP.items() if k != "title"}],
    ],
)
async def test_bad_create_bodies_are_400(api: httpx.AsyncClient, body: object) -> None:
    response = await api.post("/v2/pcus", json=body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"]
    assert await _groups(api) == []


async def test_associations_transfer_and_delete(api: httpx.AsyncClient, clock: Clock) -> None:
    first, second = await _create(api, clock), await _create(api, clock, title="second")
    elsewhere = await _create(api, clock, region="us-central1")
    db_id = await active(api, clock)  # GCP us-east1, like the first two groups
    dc = f"{db_id}-1"
    assoc = f"/v2/pcus/association/{first['uuid']}"
    assert (await api.get(assoc)).json() == []
    assert (await api.post(f"{assoc}/{dc}")).status_code == 201
    assert (await api.post(f"{assoc}/{dc}")).status_code == 201  # already there: harmless
    (listed,) = (await api.get(assoc)).json()
    assert listed["datacenterUUID"] == dc
    assert listed["pcuGroupUUID"] == first["uuid"]
    assert listed["provisioningStatus"] == "Accepted"
    assert (await api.post(f"/v2/pcus/association/{second['uuid']}/{dc}")).status_code == 400
    wrong_region = await api.post(f"/v2/pcus/association/{elsewhere['uuid']}/{dc}")
    assert wrong_region.status_code == 400
    assert (await api.post(f"{assoc}/{db_id}-9")).status_code == 404
    assert (await api.post(f"/v2/pcus/association/nope/{dc}")).status_code == 404
    assert (await api.delete(f"/v2/pcus/{first['uuid']}")).status_code == 400  # not empty

    move = {"fromPCUGroupUUID": first["uuid"], "toPCUGroupUUID": second["uuid"]}
    assert (await api.post("/v2/pcus/association/transfer", json=move)).status_code == 400
    moved = await api.post("/v2/pcus/association/transfer", json={**move, "datacenterUUID": dc})
    assert moved.status_code == 202
    assert (await api.get(assoc)).json() == []
    second_assoc = f"/v2/pcus/association/{second['uuid']}"
    assert [a["datacenterUUID"] for a in (await api.get(second_assoc)).json()] == [dc]

    assert (await api.delete(f"{second_assoc}/{dc}")).status_code == 200
    assert (await api.delete(f"{second_assoc}/{dc}")).status_code == 404
    assert (await api.delete(f"/v2/pcus/{first['uuid']}")).status_code == 200
    assert (await api.delete(f"/v2/pcus/{first['uuid']}")).status_code == 404
    assert [g["uuid"] for g in await _groups(api)] == [second["uuid"], elsewhere["uuid"]]


async def test_parking_a_group_hibernates_its_databases(
    api: httpx.AsyncClient, clock: Clock
) -> None:
    group = await _create(api, clock)
    response = await api.post("/v2/databases", json=_database(pcuGroupUUID=group["uuid"]))
    assert response.status_code == 201
    placed = response.headers["Location"]
    clock.advance(1.0)
    associations = (await api.get(f"/v2/pcus/association/{group['uuid']}")).json()
    assert [a["datacenterUUID"] for a in associations] == [f"{placed}-1"]
    outside = await active(api, clock)

    assert (await api.post(f"/v2/pcus/unpark/{group['uuid']}")).status_code == 400  # ACTIVE
    assert (await api.post(f"/v2/pcus/park/{group['uuid']}")).status_code == 200
    assert (await _groups(api, group["uuid"]))[0]["status"] == "PARKING"
    assert await status(api, placed) == "HIBERNATING"
    clock.advance(1.0)
    assert (await _groups(api, group["uuid"]))[0]["status"] == "PARKED"
    assert await status(api, placed) == "HIBERNATED"
    assert await status(api, outside) == "ACTIVE"
    assert (await api.post(f"/v2/pcus/park/{group['uuid']}")).status_code == 400  # PARKED

    assert (await api.post(f"/v2/pcus/unpark/{group['uuid']}")).status_code == 200
    assert (await _groups(api, group["uuid"]))[0]["status"] == "UNPARKING"
    assert await status(api, placed) == "RESUMING"
    clock.advance(1.0)
    assert (await _groups(api, group["uuid"]))[0]["status"] == "ACTIVE"
    assert await status(api, placed) == "ACTIVE"
    assert (await api.post("/v2/pcus/park/no-such-group")).status_code == 400


def _database(**changes: Any) -> dict[str, Any]:
    body = {
        "name": "placed",
        "cloudProvider": "GCP",
        "region": "us-east1",
        "tier": "serverless",
        "capacityUnits": 1,
    }
    return {**body, **changes}


async def test_creating_a_database_in_an_unknown_or_distant_group_is_422(
    api: httpx.AsyncClient, clock: Clock
) -> None:
    group = await _create(api, clock, region="us-central1")
    for uuid in ("no-such-group", group["uuid"]):
        response = await api.post("/v2/databases", json=_database(pcuGroupUUID=uuid))
        assert response.status_code == 422
    assert (await api.get("/v2/databases")).json() == []


async def test_terminated_databases_leave_their_group(api: httpx.AsyncClient, clock: Clock) -> None:
    group = await _create(api, clock)
    response = await api.post("/v2/databases", json=_database(pcuGroupUUID=group["uuid"]))
    db_id = response.headers["Location"]
    clock.advance(1.0)
    assert (await api.post(f"/v2/databases/{db_id}/terminate")).status_code == 202
    assert (await api.get(f"/v2/pcus/association/{group['uuid']}")).json() == []
    assert (await api.delete(f"/v2/pcus/{group['uuid']}")).status_code == 200


async def test_pcu_permissions_answer_403_with_errors(
    sim: Simulator, api: httpx.AsyncClient, admin: httpx.AsyncClient, clock: Clock
) -> None:
    group = await _create(api, clock)
    token = await mint(admin, "RO User")
    async with httpx.AsyncClient(base_url=sim.url, headers=bearer(token)) as reader:
        assert [g["uuid"] for g in (await reader.post(GET, json={})).json()] == [group["uuid"]]
        refused = await reader.post("/v2/pcus", json=[GROUP])
        assert refused.status_code == 403
        assert "org-db-create" in refused.json()["errors"][0]["message"]
        parked = await reader.post(f"/v2/pcus/park/{group['uuid']}")
        assert parked.status_code == 403
    state = (await admin.get("/_sim/state")).json()
    assert [g["uuid"] for g in state["pcuGroups"]] == [group["uuid"]]
    assert (await admin.post("/_sim/reset")).status_code == 200
    assert await _groups(api) == []
    assert (await admin.get("/_sim/state")).json()["pcuGroups"] == []


# --- resetPassword and the access-list helpers ----------------------------------------------------


async def test_reset_password_on_classic_databases_only(
    api: httpx.AsyncClient, clock: Clock
) -> None:
    classic = await active(api, clock, classic=True)
    reset = f"/v2/databases/{classic}/resetPassword"
    accepted = await api.post(reset, json={"username": "admin", "password": "s3cret!"})
    assert accepted.status_code == 202
    assert accepted.content == b""
    assert await status(api, classic) == "ACTIVE"
    for bad in ({"username": "admin", "password": "short"}, {"password": "long enough"}, []):
        assert (await api.post(reset, json=bad)).status_code == 400
    serverless = await active(api, clock)
    refused = await api.post(
        f"/v2/databases/{serverless}/resetPassword", json={"username": "a", "password": "secret"}
    )
    assert refused.status_code == 409


async def test_access_list_validate_and_template(api: httpx.AsyncClient) -> None:
    template = await api.post("/v2/access-list/template")
    assert template.status_code == 200
    example = template.json()
    assert example["addresses"]
    assert example["configurations"] == {"accessListEnabled": True}
    valid = await api.post("/v2/access-list/validate", json=example)
    assert valid.json() == {"valid": True, "validationFailures": []}
    bad = {
        "addresses": [
            {"address": "10.0.0.0/33", "enabled": True, "description": "too wide"},
            {"address": "10.0.0.1", "enabled": "yes", "description": "bad flag"},
        ],
        "configurations": {"accessListEnabled": "sometimes"},
    }
    invalid = (await api.post("/v2/access-list/validate", json=bad)).json()
    assert invalid["valid"] is False
    assert len(invalid["validationFailures"]) == 3
    bare = await api.post("/v2/access-list/validate", json=example["addresses"])
    assert bare.json()["valid"] is True
    garbage = await api.post("/v2/access-list/validate", content=b"{not json")
    assert garbage.status_code == 200
    assert garbage.json()["valid"] is False
