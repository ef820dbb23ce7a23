"""The /_sim admin API: state, out-of-band changes, tokens, roles, timing and reset."""

from __future__ import annotations

import collections
import time

import httpx
import pytest

from astra_operator.simulator import Simulator
from tests.simulator.helpers import SERVERLESS, Clock, active, bearer, create, mint, status


async def _external(admin: httpx.AsyncClient, db_id: str, **body: str) -> httpx.Response:
    return await admin.post(f"/_sim/databases/{db_id}/external", json=body)


@pytest.mark.parametrize(
    ("action", "during", "after"),
    [
        ("terminate", "TERMINATING", "TERMINATED"),
        ("hibernate", "HIBERNATING", "HIBERNATED"),
    ],
)
async def test_external_transitions(
    api: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    clock: Clock,
    action: str,
    during: str,
    after: str,
) -> None:
    db_id = await active(api, clock)
    response = await _external(admin, db_id, action=action)
    assert response.status_code == 200
    assert response.json()["status"] == during
    clock.advance(0.3)
    assert await status(api, db_id) == after


async def test_external_hibernate_then_resume(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, clock: Clock
) -> None:
    db_id = await active(api, clock)
    await _external(admin, db_id, action="hibernate")
    clock.advance(0.2)
    assert (await _external(admin, db_id, action="resume")).json()["status"] == "RESUMING"
    clock.advance(0.2)
    assert await status(api, db_id) == "ACTIVE"


async def test_external_park_only_for_classic(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, clock: Clock
) -> None:
    serverless = await active(api, clock)
    assert (await _external(admin, serverless, action="park")).status_code == 409
    classic = await active(api, clock, classic=True)
    assert (await _external(admin, classic, action="park")).json()["status"] == "PARKING"
    clock.advance(0.2)
    assert (await _external(admin, classic, action="unpark")).json()["status"] == "UNPARKING"


async def test_external_error_status_and_delete(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, clock: Clock
) -> None:
    db_id = await active(api, clock)
    assert (await _external(admin, db_id, action="error")).json()["status"] == "ERROR"
    forced = await _external(admin, db_id, status="suspended")
    assert forced.json()["status"] == "SUSPENDED"
    assert (await _external(admin, db_id, action="delete")).json() == {"deleted": db_id}
    assert (await api.get(f"/v2/databases/{db_id}")).status_code == 404
    assert (await _external(admin, db_id, action="park")).status_code == 404
    other = await create(api)
    assert (await _external(admin, other, action="dance")).status_code == 400


async def test_state_shows_everything(
    sim: Simulator, api: httpx.AsyncClient, admin: httpx.AsyncClient, clock: Clock
) -> None:
    db_id = await active(api, clock)
    await api.post(f"/v2/databases/{db_id}/terminate")
    clock.advance(0.3)
    state = (await admin.get("/_sim/state")).json()
    assert state["orgId"] == sim.world.org_id
    assert [d["status"] for d in state["databases"]] == ["TERMINATED"]
    assert any(r["Name"] == "Organization Administrator" for r in state["roles"])
    assert state["tokens"][0]["clientId"] in sim.admin_token
    assert "token" not in state["tokens"][0]


async def test_minted_tokens_and_out_of_band_role_changes(
    sim: Simulator, admin: httpx.AsyncClient
) -> None:
    token = await mint(admin, "RO User")
    assert (await admin.post("/_sim/tokens", json={"roles": ["No Such Role"]})).status_code == 400
    chosen = "AstraCS:chosen:" + "ab" * 32
    response = await admin.post("/_sim/tokens", json={"roles": ["RO User"], "token": chosen})
    assert response.json() == {"token": chosen, "clientId": "chosen"}
    roles = (await admin.get("/_sim/state")).json()["roles"]
    ro = next(r for r in roles if r["Name"] == "RO User")
    async with httpx.AsyncClient(base_url=sim.url, headers=bearer(token)) as user:
        assert (await user.post("/v2/databases", json=SERVERLESS)).status_code == 401
        policy = {**ro["Policy"], "actions": [*ro["Policy"]["actions"], "org-db-create"]}
        changed = await admin.put(
            f"/_sim/roles/{ro['ID']}", json={"name": "RO User", "policy": policy}
        )
        assert changed.status_code == 200
        assert (await user.post("/v2/databases", json=SERVERLESS)).status_code == 201
    assert (await admin.put("/_sim/roles/nope", json={})).status_code == 404


async def test_timing_can_change_at_run_time(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, clock: Clock
) -> None:
    assert (await admin.post("/_sim/timing", json={"timing": "realistic"})).json() == {
        "timing": "realistic"
    }
    db_id = await create(api)
    clock.advance(60.0)
    assert await status(api, db_id) == "INITIALIZING"  # ~2 minutes in realistic timing
    clock.advance(70.0)
    assert await status(api, db_id) == "ACTIVE"
    assert (await admin.post("/_sim/timing", json={"timing": 0.001})).json()["timing"] == "x0.001"
    assert (await admin.post("/_sim/timing", json={"timing": "slow"})).status_code == 400


async def test_reset_forgets_everything_but_the_admin_token(
    sim: Simulator, api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await create(api)
    token = await mint(admin, "RO User")
    await admin.post("/_sim/faults", json={"kind": "status", "status": 500, "path": "roles"})
    assert (await admin.post("/_sim/reset")).status_code == 200
    assert (await api.get("/v2/databases")).json() == []
    assert (await admin.get("/_sim/requests")).json()["total"] == 1
    assert (await api.get("/v2/organizations/roles")).status_code == 200  # fault gone
    async with httpx.AsyncClient(base_url=sim.url, headers=bearer(token)) as user:
        assert (await user.get("/v2/databases")).status_code == 401


async def test_extra_admin_tokens_and_seeded_ids() -> None:
    extra = "AstraCS:extra:" + "0f" * 32
    async with Simulator(tokens=[extra], seed=5) as one, Simulator(seed=5) as two:
        assert one.admin_token == two.admin_token
        assert one.world.org_id == two.world.org_id
        async with httpx.AsyncClient(base_url=one.url, headers=bearer(extra)) as client:
            assert (await client.get("/v2/databases")).status_code == 200
    with pytest.raises(ValueError, match="AstraCS"):
        Simulator(tokens=["not-a-token"])


async def test_request_log_since_and_reset(
    sim: Simulator, api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    db_id = await create(api)
    await api.get(f"/v2/databases/{db_id}")
    middle = sim.world.requests[-1].at
    await api.get("/v2/databases", params={"limit": 5})
    await api.get("/v2/nothing-here")
    logged = (await admin.get("/_sim/requests/log")).json()
    assert logged["dropped"] == 0
    assert [(r["method"], r["route"], r["path"], r["query"]) for r in logged["requests"]] == [
        ("POST", "/v2/databases", "/v2/databases", ""),
        ("GET", "/v2/databases/{databaseId}", f"/v2/databases/{db_id}", ""),
        ("GET", "/v2/databases", "/v2/databases", "limit=5"),
        ("GET", "/v2/nothing-here", "/v2/nothing-here", ""),
    ]
    times = [r["at"] for r in logged["requests"]]
    assert times == sorted(times)
    assert abs(times[0] - time.time()) < 60  # unix seconds
    since = (await admin.get("/_sim/requests/log", params={"since": middle})).json()["requests"]
    assert since[0]["path"] == f"/v2/databases/{db_id}"
    assert len(since) == 3
    assert (await admin.get("/_sim/requests/log", params={"since": "soon"})).status_code == 400
    await admin.post("/_sim/requests/reset")
    assert (await admin.get("/_sim/requests/log")).json() == {"requests": [], "dropped": 0}


async def test_request_log_is_bounded(
    sim: Simulator, api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    sim.world.requests = collections.deque(maxlen=2)
    for _ in range(3):
        await api.get("/v2/databases")
    logged = (await admin.get("/_sim/requests/log")).json()
    assert len(logged["requests"]) == 2
    assert logged["dropped"] == 1
    assert (await admin.get("/_sim/requests")).json()["total"] == 3
