"""Operations on a database: classic-only ops, resize rules, keyspaces, regions, bundles, 409s."""

from __future__ import annotations

import httpx
import pytest

from tests.simulator.helpers import Clock, active, create, status


async def test_classic_only_operations_are_refused_on_serverless(
    api: httpx.AsyncClient, clock: Clock
) -> None:
    db_id = await active(api, clock)
    actions = (await api.get(f"/v2/databases/{db_id}")).json()["availableActions"]
    assert not {"park", "unpark", "resize"} & set(actions)
    for op, body in (("park", None), ("unpark", None), ("resize", {"capacityUnits": 2})):
        response = await api.post(f"/v2/databases/{db_id}/{op}", json=body)
        assert response.status_code == 409, op
        assert "serverless" in response.json()["errors"][0]["message"]
    assert await status(api, db_id) == "ACTIVE"


async def test_park_and_unpark_a_classic_database(api: httpx.AsyncClient, clock: Clock) -> None:
    db_id = await active(api, clock, classic=True)
    assert (await api.post(f"/v2/databases/{db_id}/unpark")).status_code == 409  # not parked
    assert (await api.post(f"/v2/databases/{db_id}/park")).status_code == 202
    assert await status(api, db_id) == "PARKING"
    clock.advance(0.2)
    parked = (await api.get(f"/v2/databases/{db_id}")).json()
    assert parked["status"] == "PARKED"
    assert parked["availableActions"] == ["unpark", "terminate"]
    assert (await api.post(f"/v2/databases/{db_id}/unpark")).status_code == 202
    assert await status(api, db_id) == "UNPARKING"
    clock.advance(0.2)
    assert await status(api, db_id) == "ACTIVE"


@pytest.mark.parametrize(("units", "accepted"), [(3, True), (5, True), (6, False), (2, False)])
async def test_resize_grows_by_one_to_three_units(
    api: httpx.AsyncClient, clock: Clock, units: int, accepted: bool
) -> None:
    db_id = await active(api, clock, classic=True)  # starts with 2 units
    response = await api.post(f"/v2/databases/{db_id}/resize", json={"capacityUnits": units})
    if not accepted:
        assert response.status_code == 400
        assert response.json()["errors"][0]["message"]
        return
    assert response.status_code == 202
    assert await status(api, db_id) == "RESIZING"
    clock.advance(0.3)
    body = (await api.get(f"/v2/databases/{db_id}")).json()
    assert body["status"] == "ACTIVE"
    assert body["info"]["capacityUnits"] == units


async def test_keyspaces_go_through_maintenance_and_conflict(
    api: httpx.AsyncClient, clock: Clock
) -> None:
    db_id = await active(api, clock)
    ks = f"/v2/databases/{db_id}/keyspaces"
    added = await api.post(f"{ks}/extra")
    assert added.status_code == 201
    assert added.content == b""
    busy = (await api.get(f"/v2/databases/{db_id}")).json()
    assert busy["status"] == "MAINTENANCE"
    assert busy["availableActions"] == []
    for attempt in (api.post(f"{ks}/other"), api.post(f"/v2/databases/{db_id}/terminate")):
        response = await attempt
        assert response.status_code == 409
        assert "MAINTENANCE" in response.json()["errors"][0]["message"]
    clock.advance(0.25)
    info = (await api.get(f"/v2/databases/{db_id}")).json()["info"]
    assert sorted(info["keyspaces"]) == ["default_keyspace", "extra"]
    assert info["additionalKeyspaces"] == ["extra"]
    assert (await api.post(f"{ks}/extra")).status_code == 201  # already there: a no-op

    assert (await api.delete(f"{ks}/missing")).status_code == 204
    assert (await api.delete(f"{ks}/extra")).status_code == 202
    assert await status(api, db_id) == "MAINTENANCE"
    clock.advance(0.25)
    assert (await api.get(f"/v2/databases/{db_id}")).json()["info"]["keyspaces"] == [
        "default_keyspace"
    ]
    assert (await api.post(f"{ks}/bad-name")).status_code == 422


async def test_keyspace_change_needs_an_active_database(
    api: httpx.AsyncClient, clock: Clock
) -> None:
    db_id = await create(api)
    response = await api.post(f"/v2/databases/{db_id}/keyspaces/early")
    assert response.status_code == 409
    assert "PENDING" in response.json()["errors"][0]["message"]


async def test_datacenters_add_list_terminate(api: httpx.AsyncClient, clock: Clock) -> None:
    db_id = await active(api, clock)
    dcs = f"/v2/databases/{db_id}/datacenters"
    two = [
        {"tier": "serverless", "cloudProvider": "GCP", "region": "europe-west1"},
        {"tier": "serverless", "cloudProvider": "GCP", "region": "us-central1"},
    ]
    assert (await api.post(dcs, json=two)).status_code == 422  # one region per call
    assert (await api.post(dcs, json=two[:1])).status_code == 201
    assert await status(api, db_id) == "MAINTENANCE"
    assert (await api.post(dcs, json=two[1:])).status_code == 409
    clock.advance(0.25)
    listed = (await api.get(dcs)).json()
    assert sorted((d["id"], d["name"]) for d in listed) == [
        (f"{db_id}-1", "dc-1"),
        (f"{db_id}-2", "dc-2"),
    ]
    bundles = (await api.post(f"/v2/databases/{db_id}/secureBundleURL?all=true")).json()
    assert sorted(b["datacenterID"] for b in bundles) == [f"{db_id}-1", f"{db_id}-2"]
    assert all(b["datcenterID"] == b["datacenterID"] for b in bundles)

    assert (await api.post(f"{dcs}/{db_id}-1/terminate")).status_code == 400  # primary
    assert (await api.post(f"{dcs}/{db_id}-9/terminate")).status_code == 404
    assert (await api.post(f"{dcs}/{db_id}-2/terminate")).status_code == 202
    clock.advance(0.25)
    assert [d["id"] for d in (await api.get(dcs)).json()] == [f"{db_id}-1"]
    every = (await api.get(dcs, params={"all": "true"})).json()
    assert sorted(d["id"] for d in every) == [f"{db_id}-1", f"{db_id}-2"]


async def test_datacenter_body_problems_use_the_real_error_ids(
    api: httpx.AsyncClient, clock: Clock
) -> None:
    db_id = await active(api, clock)
    response = await api.post(f"/v2/databases/{db_id}/datacenters", json=[{"region": "x"}])
    assert response.status_code == 422
    assert [e["ID"] for e in response.json()["errors"]] == [2000011, 2000012, 2000013, 2000106]


async def test_datacenter_order_is_stable_per_database_but_not_creation_order(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, clock: Clock
) -> None:
    db_id = await active(api, clock)
    for region in ("europe-west1", "us-central1", "asia-south1"):
        body = [{"tier": "serverless", "cloudProvider": "GCP", "region": region}]
        assert (await api.post(f"/v2/databases/{db_id}/datacenters", json=body)).status_code == 201
        clock.advance(0.25)
    orders = set()
    for _ in range(20):
        info = (await api.get(f"/v2/databases/{db_id}")).json()["info"]
        orders.add(tuple(d["name"] for d in info["datacenters"]))
    assert len(orders) == 1
    (order,) = orders
    assert sorted(order) == ["dc-1", "dc-2", "dc-3", "dc-4"]
    assert order[0] != "dc-1"  # never creation order: the primary region is not first
    listed = (await api.get("/v2/databases")).json()[0]["info"]["datacenters"]
    assert tuple(d["name"] for d in listed) == order
    dcs = (await api.get(f"/v2/databases/{db_id}/datacenters")).json()
    assert tuple(d["name"] for d in dcs) == order
    state = (await admin.get("/_sim/state")).json()["databases"][0]["info"]["datacenters"]
    assert tuple(d["name"] for d in state) == order


async def test_two_datacenters_never_come_in_creation_order(
    api: httpx.AsyncClient, clock: Clock
) -> None:
    for _ in range(5):
        db_id = await active(api, clock)
        body = [{"tier": "serverless", "cloudProvider": "GCP", "region": "europe-west1"}]
        assert (await api.post(f"/v2/databases/{db_id}/datacenters", json=body)).status_code == 201
        clock.advance(0.25)
        info = (await api.get(f"/v2/databases/{db_id}")).json()["info"]
        assert [d["name"] for d in info["datacenters"]] == ["dc-2", "dc-1"]


async def test_secure_bundle_single_object_and_409_unless_active(
    api: httpx.AsyncClient, clock: Clock
) -> None:
    db_id = await create(api, name="bundled")
    assert (await api.post(f"/v2/databases/{db_id}/secureBundleURL")).status_code == 409
    clock.advance(1.0)
    bundle = (await api.post(f"/v2/databases/{db_id}/secureBundleURL")).json()
    assert isinstance(bundle, dict)
    assert bundle["datacenterID"] == f"{db_id}-1"
    assert "secure-connect-bundled.zip" in bundle["downloadURL"]
    assert "X-Amz-Expires=300" in bundle["downloadURL"]


async def test_terminate_is_allowed_while_initializing(
    api: httpx.AsyncClient, clock: Clock
) -> None:
    db_id = await create(api)
    clock.advance(0.1)
    assert await status(api, db_id) == "INITIALIZING"
    assert (await api.post(f"/v2/databases/{db_id}/terminate")).status_code == 202
    assert await status(api, db_id) == "TERMINATING"
