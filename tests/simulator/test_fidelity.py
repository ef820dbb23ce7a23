"""Where third-party DevOps API clients tripped over the simulator (issue 12), over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from astra_operator.simulator import Simulator
from tests.simulator.helpers import Clock, active, bearer, create, status

POLL = 15.0  # the Python client's termination poll interval


# --- a TERMINATED record stays readable as long as on Astra, whatever the timing -----------------


@pytest.mark.parametrize("timing", ["fast", 0.01, "realistic"])
async def test_terminated_stays_readable_for_slow_pollers(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, clock: Clock, timing: str | float
) -> None:
    assert (await admin.post("/_sim/timing", json={"timing": timing})).status_code == 200
    db_id = await create(api)
    clock.advance(3600.0)  # long enough for any profile
    assert await status(api, db_id) == "ACTIVE"
    assert (await api.post(f"/v2/databases/{db_id}/terminate")).status_code == 202
    seen: list[str] = []
    for _ in range(80):  # 20 minutes of polling every 15 s
        clock.advance(POLL)
        response = await api.get(f"/v2/databases/{db_id}")
        current = response.json()["status"] if response.status_code == 200 else "404"
        if not seen or seen[-1] != current:
            seen.append(current)
        if current == "404":
            break
    assert seen[-2:] == ["TERMINATED", "404"], seen
    assert seen[0] in ("TERMINATING", "TERMINATED")


async def test_terminated_record_is_readable_for_ten_minutes_under_fast_timing(
    api: httpx.AsyncClient, clock: Clock
) -> None:
    db_id = await active(api, clock)
    await api.post(f"/v2/databases/{db_id}/terminate")
    clock.advance(0.2)  # TERMINATING lasts 0.2 s under fast timing
    assert await status(api, db_id) == "TERMINATED"
    clock.advance(599.0)
    assert await status(api, db_id) == "TERMINATED"
    listed = (await api.get("/v2/databases", params={"include": "all"})).json()
    assert [d["status"] for d in listed] == ["TERMINATED"]
    clock.advance(1.0)
    assert (await api.get(f"/v2/databases/{db_id}")).status_code == 404


# --- filter-by-org=disabled means "all regions", not "none" --------------------------------------


@pytest.mark.parametrize("region_type", [None, "vector", "all"])
async def test_serverless_regions_filter_by_org_disabled_serves_every_region(
    api: httpx.AsyncClient, region_type: str | None
) -> None:
    base = {"region-type": region_type} if region_type else {}
    unfiltered = (await api.get("/v2/regions/serverless", params=base)).json()
    assert unfiltered
    for value in ("disabled", "DISABLED", "enabled"):
        params = {**base, "filter-by-org": value}
        response = await api.get("/v2/regions/serverless", params=params)
        assert response.status_code == 200
        assert response.json() == unfiltered, value  # every region is enabled for the org


async def test_available_regions_filter_by_org_disabled_serves_every_combination(
    api: httpx.AsyncClient,
) -> None:
    unfiltered = (await api.get("/v2/availableRegions")).json()
    assert unfiltered
    disabled = await api.get("/v2/availableRegions", params={"filter-by-org": "disabled"})
    assert disabled.status_code == 200
    assert disabled.json() == unfiltered


# --- info.datacenters: a fixed order per database, reshuffled only by a fault ---------------------


async def _names(api: httpx.AsyncClient, db_id: str) -> list[str]:
    info = (await api.get(f"/v2/databases/{db_id}")).json()["info"]
    return [d["name"] for d in info["datacenters"]]


async def _regions(api: httpx.AsyncClient, clock: Clock, db_id: str, *regions: str) -> None:
    for region in regions:
        body = [{"tier": "serverless", "cloudProvider": "GCP", "region": region}]
        assert (await api.post(f"/v2/databases/{db_id}/datacenters", json=body)).status_code == 201
        clock.advance(0.25)


async def test_shuffle_datacenters_fault_reshuffles_on_demand(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, clock: Clock
) -> None:
    db_id = await active(api, clock)
    await _regions(api, clock, db_id, "europe-west1", "us-central1")
    stable = await _names(api, db_id)
    fault = {"kind": "shuffle_datacenters", "method": "GET", "path": "^/v2/databases", "count": 3}
    assert (await admin.post("/_sim/faults", json=fault)).status_code == 200
    shown = (await admin.get("/_sim/faults")).json()["faults"]
    assert shown == [{**fault, "count": 3}]
    assert await _names(api, db_id) != stable
    listed = (await api.get("/v2/databases")).json()[0]["info"]["datacenters"]
    assert [d["name"] for d in listed] != stable
    dcs = (await api.get(f"/v2/databases/{db_id}/datacenters")).json()
    assert [d["name"] for d in dcs] != stable
    assert sorted(d["name"] for d in dcs) == sorted(stable)
    assert (await admin.get("/_sim/faults")).json()["faults"] == []
    assert await _names(api, db_id) == stable  # back to the fixed order


async def test_datacenter_order_is_reproducible_with_a_seed() -> None:
    seen = []
    for _ in range(2):
        async with Simulator(timing="fast", seed=99) as sim:
            manual = Clock()
            sim.world.clock = manual
            async with httpx.AsyncClient(
                base_url=sim.url, headers=bearer(sim.admin_token)
            ) as other:
                db_id = await active(other, manual)
                await _regions(other, manual, db_id, "europe-west1", "us-central1", "asia-south1")
                seen.append(await _names(other, db_id))
    assert seen[0] == seen[1]


# --- adding a keyspace that exists: 201 and nothing changes (or 422, as a variant) ----------------


async def test_adding_an_existing_keyspace_answers_201_and_changes_nothing(
    api: httpx.AsyncClient, clock: Clock
) -> None:
    db_id = await active(api, clock)
    ks = f"/v2/databases/{db_id}/keyspaces"
    assert (await api.post(f"{ks}/extra")).status_code == 201
    clock.advance(0.25)
    before = (await api.get(f"/v2/databases/{db_id}")).json()
    for name in ("extra", "default_keyspace"):
        again = await api.post(f"{ks}/{name}")
        assert again.status_code == 201
        assert again.content == b""
        after = (await api.get(f"/v2/databases/{db_id}")).json()
        assert after["status"] == "ACTIVE"  # no MAINTENANCE: nothing to do
        assert after["info"]["keyspaces"] == before["info"]["keyspaces"]
        assert after["info"]["additionalKeyspaces"] == ["extra"]


async def test_existing_keyspace_variant_answers_422(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, clock: Clock
) -> None:
    assert (await admin.get("/_sim/variants")).json() == {"existingKeyspace": 201}
    chosen = await admin.post("/_sim/variants", json={"existingKeyspace": 422})
    assert chosen.json() == {"existingKeyspace": 422}
    db_id = await active(api, clock)
    ks = f"/v2/databases/{db_id}/keyspaces"
    refused = await api.post(f"{ks}/default_keyspace")
    assert refused.status_code == 422
    assert "already exists" in refused.json()["errors"][0]["message"]
    assert await status(api, db_id) == "ACTIVE"
    assert (await api.post(f"{ks}/fresh")).status_code == 201  # a new keyspace is still added
    assert (await admin.post("/_sim/reset")).status_code == 200
    assert (await admin.get("/_sim/variants")).json() == {"existingKeyspace": 201}


@pytest.mark.parametrize(
    "body", [{"existingKeyspace": 409}, {"existingKeyspace": True}, {"nope": 1}, [1]]
)
async def test_bad_variants_are_refused(admin: httpx.AsyncClient, body: object) -> None:
    response = await admin.post("/_sim/variants", json=body)
    assert response.status_code == 400
    assert "error" in response.json()
    assert (await admin.get("/_sim/variants")).json() == {"existingKeyspace": 201}
