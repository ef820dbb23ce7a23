"""AstraClient against the real simulator over HTTP: database lifecycle, pagination, operations.

The simulator is started per test (``sim`` fixture); its ``/_sim`` admin API queues faults and
counts requests. Error classes and retries are in ``test_contract_errors.py``.
"""

from __future__ import annotations

import asyncio

from astra_operator.astra import client as astra_client
from astra_operator.astra import errors, models
from tests.client import simtools

ACTIVE = {models.ACTIVE}


async def test_lifecycle_create_get_list_terminate(
    astra: astra_client.AstraClient, admin: simtools.Admin
) -> None:
    spec = await simtools.serverless_spec(astra, "lifecycle")
    db_id = await astra.create_database(spec)
    first = await astra.get_database(db_id)
    assert first.id == db_id
    assert first.info.name == "lifecycle"
    assert first.info.region == spec.region
    seen = await simtools.statuses_until(astra, db_id, ACTIVE)
    assert seen[-1] == models.ACTIVE
    assert set(seen) <= {"PENDING", "INITIALIZING", "ASSOCIATING", models.ACTIVE}
    active = await astra.get_database(db_id)
    assert active.info.keyspace == "default_keyspace"
    assert "terminate" in active.available_actions
    assert db_id in {d.id for d in await astra.list_databases()}

    await astra.terminate_database(db_id)
    gone = await simtools.statuses_until(astra, db_id, {models.TERMINATED})
    assert gone[0] in (models.TERMINATING, models.TERMINATED)
    assert db_id not in {d.id for d in await astra.list_databases()}
    if gone[-1] == models.TERMINATED:
        listed = {d.id: d.status for d in await astra.list_databases(include="all")}
        assert listed[db_id] == models.TERMINATED
    state = await admin.state()
    assert isinstance(state["databases"], list)


async def test_pagination_over_250_databases(
    astra: astra_client.AstraClient, admin: simtools.Admin
) -> None:
    spec = await simtools.serverless_spec(astra, "many")
    created = await asyncio.gather(*(astra.create_database(spec) for _ in range(250)))
    assert len(set(created)) == 250
    await admin.reset_counts()
    listed = await astra.list_databases(include="all")
    assert sorted(d.id for d in listed) == sorted(created)
    assert (await admin.counts())["GET /v2/databases"] == 3


async def test_provider_filter(astra: astra_client.AstraClient) -> None:
    regions = await astra.list_serverless_regions()
    providers = sorted({r.cloud_provider for r in regions if r.cloud_provider})
    assert len(providers) >= 2
    for provider in providers[:2]:
        await astra.create_database(await simtools.serverless_spec(astra, provider, provider))
    listed = await astra.list_databases(provider=providers[0])
    assert [d.info.name for d in listed] == [providers[0]]
    assert len(await astra.list_databases(provider="ALL")) == 2


async def test_keyspaces_add_and_drop(astra: astra_client.AstraClient) -> None:
    db_id = await simtools.active_database(astra)
    await astra.add_keyspace(db_id, "extra_ks")
    seen = await simtools.statuses_until(astra, db_id, ACTIVE)
    assert seen[-1] == models.ACTIVE
    db = await astra.get_database(db_id)
    assert "extra_ks" in db.keyspaces
    assert "extra_ks" in db.info.additional_keyspaces
    assert await astra.drop_keyspace(db_id, "extra_ks") is True
    await simtools.wait_status(astra, db_id, ACTIVE)
    assert "extra_ks" not in (await astra.get_database(db_id)).keyspaces
    assert await astra.drop_keyspace(db_id, "never_there") is False


async def test_datacenters_add_list_terminate_and_bundles(astra: astra_client.AstraClient) -> None:
    db_id = await simtools.active_database(astra)
    db = await astra.get_database(db_id)
    regions = await astra.list_serverless_regions()
    other = next(
        r
        for r in regions
        if r.cloud_provider == db.info.cloud_provider and r.name != db.info.region
    )
    assert other.cloud_provider is not None
    await astra.add_datacenter(
        db_id, models.DatacenterCreate(cloud_provider=other.cloud_provider, region=other.name)
    )
    await simtools.wait_status(astra, db_id, ACTIVE)
    dcs = await astra.list_datacenters(db_id)
    assert sorted(d.region for d in dcs if d.region) == sorted([db.info.region or "", other.name])
    assert {d.id for d in dcs} == {f"{db_id}-1", f"{db_id}-2"}
    bundles = await astra.secure_bundle_urls(db_id)
    assert {b.datacenter_id for b in bundles} == {f"{db_id}-1", f"{db_id}-2"}
    assert all(b.download_url for b in bundles)

    await astra.terminate_datacenter(db_id, f"{db_id}-2")
    await simtools.wait_status(astra, db_id, ACTIVE)
    assert {d.id for d in await astra.list_datacenters(db_id)} == {f"{db_id}-1"}
    all_dcs = await astra.list_datacenters(db_id, include_terminated=True)
    assert {d.id for d in all_dcs} == {f"{db_id}-1", f"{db_id}-2"}


async def test_classic_resize_park_unpark(astra: astra_client.AstraClient) -> None:
    db_id = await astra.create_database(await simtools.classic_spec(astra))
    db = await simtools.wait_status(astra, db_id, ACTIVE)
    assert db is not None
    units = db.info.capacity_units or 1
    await astra.resize_database(db_id, units + 1)
    seen = await simtools.statuses_until(astra, db_id, ACTIVE)
    assert seen[-1] == models.ACTIVE
    assert (await astra.get_database(db_id)).info.capacity_units == units + 1

    await astra.park_database(db_id)
    assert "PARKED" in await simtools.statuses_until(astra, db_id, {models.PARKED})
    await astra.unpark_database(db_id)
    await simtools.wait_status(astra, db_id, ACTIVE)


async def test_classic_only_operations_refused_on_serverless(
    astra: astra_client.AstraClient,
) -> None:
    db_id = await simtools.active_database(astra)
    for call in (astra.park_database(db_id), astra.resize_database(db_id, 2)):
        try:
            await call
        except (errors.Conflict, errors.InvalidRequest):
            continue
        raise AssertionError("a classic-only operation succeeded on a serverless database")
    assert (await astra.get_database(db_id)).status == models.ACTIVE


async def test_resize_more_than_three_units_is_invalid(astra: astra_client.AstraClient) -> None:
    db_id = await astra.create_database(await simtools.classic_spec(astra))
    db = await simtools.wait_status(astra, db_id, ACTIVE)
    assert db is not None
    units = db.info.capacity_units or 1
    for bad in (units + 4, units):
        try:
            await astra.resize_database(db_id, bad)
        except (errors.InvalidRequest, errors.Conflict):
            continue
        raise AssertionError(f"resize {units} -> {bad} was accepted")


async def test_regions_catalogues(astra: astra_client.AstraClient) -> None:
    plain = await astra.list_serverless_regions()
    vector = await astra.list_serverless_regions(region_type="vector")
    both = await astra.list_serverless_regions(region_type="all")
    assert plain
    assert vector
    assert len(both) >= max(len(plain), len(vector))
    assert all(r.name and r.cloud_provider for r in both)
    available = await astra.list_available_regions()
    assert available
    assert all(a.tier and a.region for a in available)
