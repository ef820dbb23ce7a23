"""AstraClient against the simulator where the real API surprised third-party clients (issue 12)."""

from __future__ import annotations

from astra_operator.astra import client as astra_client
from astra_operator.astra import errors, models
from tests.client import simtools


async def test_serverless_regions_filter_by_org_disabled_lists_every_region(
    astra: astra_client.AstraClient,
) -> None:
    for region_type in (None, "vector", "all"):
        unfiltered = await astra.list_serverless_regions(region_type=region_type)
        disabled = await astra.list_serverless_regions(
            region_type=region_type, filter_by_org="disabled"
        )
        assert unfiltered
        assert [(r.cloud_provider, r.name) for r in disabled] == [
            (r.cloud_provider, r.name) for r in unfiltered
        ]


async def test_datacenters_keep_their_order_until_a_fault_reshuffles_them(
    astra: astra_client.AstraClient, admin: simtools.Admin
) -> None:
    db_id = await simtools.active_database(astra)
    db = await astra.get_database(db_id)
    for region in await astra.list_serverless_regions():
        if region.cloud_provider == db.info.cloud_provider and region.name != db.info.region:
            assert region.cloud_provider is not None
            new = models.DatacenterCreate(cloud_provider=region.cloud_provider, region=region.name)
            await astra.add_datacenter(db_id, new)
            await simtools.wait_status(astra, db_id, {models.ACTIVE})
            break
    first = [dc.id for dc in (await astra.get_database(db_id)).info.datacenters]
    assert sorted(first) == [f"{db_id}-1", f"{db_id}-2"]
    assert first == [f"{db_id}-2", f"{db_id}-1"]  # not creation order, but always this one
    assert [dc.id for dc in (await astra.get_database(db_id)).info.datacenters] == first
    assert [dc.id for dc in await astra.list_datacenters(db_id)] == first
    await admin.fault(kind="shuffle_datacenters", method="GET", path="^/v2/databases/")
    shuffled = [dc.id for dc in (await astra.get_database(db_id)).info.datacenters]
    assert shuffled == first[::-1]


async def test_a_client_polling_every_15_seconds_sees_terminated_before_404() -> None:
    from astra_operator.simulator import Simulator

    now = [1000.0]
    async with Simulator(timing="fast") as sim:
        sim.world.clock = lambda: now[0]
        async with astra_client.AstraClient(sim.url, token=sim.admin_token) as astra:
            db_id = await astra.create_database(await simtools.serverless_spec(astra))
            now[0] += 15.0
            assert (await astra.get_database(db_id)).status == models.ACTIVE
            await astra.terminate_database(db_id)
            seen: list[str] = []
            for _ in range(60):  # 15 minutes, one read every 15 s
                now[0] += 15.0
                try:
                    status = (await astra.get_database(db_id)).status
                except errors.NotFound:
                    status = "GONE"
                if not seen or seen[-1] != status:
                    seen.append(status)
                if status == "GONE":
                    break
            assert seen == [models.TERMINATED, "GONE"]
