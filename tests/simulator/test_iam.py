"""Tokens, roles and permissions: 401 vs 403, PascalCase roles, string error bodies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from astra_operator.simulator import Simulator
from tests.simulator.helpers import SERVERLESS, Clock, active, bearer, create, mint


def _policy(org_id: str, *actions: str, db: str = "*") -> dict[str, Any]:
    return {
        "description": "test",
        "effect": "allow",
        "resources": [f"drn:astra:org:{org_id}:db:{db}"],
        "actions": list(actions),
    }


async def _org(api: httpx.AsyncClient) -> str:
    return str((await api.get("/v2/currentOrg")).json()["id"])


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer nonsense",
        "Bearer AstraCS:unknown:00ff",
        "Basic AstraCS:a:00",
        "Bearer AstraCS:abc",
    ],
)
async def test_bad_tokens_get_401_invalid_token_format(sim: Simulator, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    async with httpx.AsyncClient(base_url=sim.url, headers=headers) as client:
        for path in ("/v2/databases", "/v2/organizations/roles", "/v2/currentOrg"):
            response = await client.get(path)
            assert response.status_code == 401
            assert response.json() == {
                "errors": [{"ID": 340012, "message": "invalid token format"}]
            }


async def test_missing_permission_on_database_endpoints_is_401_naming_it(
    sim: Simulator, api: httpx.AsyncClient, admin: httpx.AsyncClient, clock: Clock
) -> None:
    db_id = await active(api, clock)
    token = await mint(admin, "RO User")
    async with httpx.AsyncClient(base_url=sim.url, headers=bearer(token)) as ro:
        assert [d["id"] for d in (await ro.get("/v2/databases")).json()] == [db_id]
        cases = [
            ("POST", "/v2/databases", "org-db-create"),
            ("POST", f"/v2/databases/{db_id}/terminate", "org-db-terminate"),
            ("POST", f"/v2/databases/{db_id}/keyspaces/ks", "db-keyspace-create"),
            ("POST", f"/v2/databases/{db_id}/datacenters", "db-manage-region"),
        ]
        for method, path, permission in cases:
            response = await ro.request(method, path, json=SERVERLESS)
            assert response.status_code == 401, path
            assert permission in response.json()["errors"][0]["message"]
        regions = await ro.get("/v2/regions/serverless")
        assert regions.status_code == 401
        assert regions.content == b"null"


async def test_missing_permission_on_roles_and_tokens_is_403_with_a_string_body(
    sim: Simulator, admin: httpx.AsyncClient
) -> None:
    token = await mint(admin, "RO User")
    async with httpx.AsyncClient(base_url=sim.url, headers=bearer(token)) as ro:
        assert (await ro.get("/v2/organizations/roles")).status_code == 200
        for method, path in (
            ("POST", "/v2/organizations/roles"),
            ("POST", "/v2/tokens"),
            ("DELETE", "/v2/clientIdSecrets/whoever"),
        ):
            response = await ro.request(method, path, json={})
            assert response.status_code == 403
            assert isinstance(response.json(), str)


async def test_database_scoped_role_only_sees_its_database(
    sim: Simulator, api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    mine, other = await create(api, name="mine"), await create(api, name="other")
    org = await _org(api)
    role = await api.post(
        "/v2/organizations/roles",
        json={"name": "one-db", "policy": _policy(org, "org-db-view", db=mine)},
    )
    token = await mint(admin, role.json()["ID"])
    async with httpx.AsyncClient(base_url=sim.url, headers=bearer(token)) as scoped:
        assert [d["id"] for d in (await scoped.get("/v2/databases")).json()] == [mine]
        assert (await scoped.get(f"/v2/databases/{mine}")).status_code == 200
        assert (await scoped.get(f"/v2/databases/{other}")).status_code == 401


async def test_role_list_includes_built_in_roles_in_pascal_case(api: httpx.AsyncClient) -> None:
    listed = (await api.get("/v2/organizations/roles")).json()
    names = {r["Name"] for r in listed}
    expected = {"Organization Administrator", "Database Administrator", "RO User", "API R/W User"}
    assert expected <= names
    assert all(set(r) == {"ID", "Name", "Policy"} for r in listed)
    builtin = next(r for r in listed if r["Name"] == "RO User")
    refused = await api.delete(f"/v2/organizations/roles/{builtin['ID']}")
    assert refused.status_code == 400
    assert isinstance(refused.json(), str)


async def test_role_crud(api: httpx.AsyncClient) -> None:
    org = await _org(api)
    created = await api.post(
        "/v2/organizations/roles", json={"name": "ops", "policy": _policy(org, "org-db-view")}
    )
    assert created.status_code == 201
    role = created.json()
    assert {"ID", "Name", "Policy", "OrgID", "LastUpdateDateTime"} <= set(role)
    assert role["OrgID"] == org
    assert role["Policy"]["actions"] == ["org-db-view"]
    path = f"/v2/organizations/roles/{role['ID']}"
    fetched = (await api.get(path)).json()
    assert fetched == {"ID": role["ID"], "Name": "ops", "Policy": role["Policy"]}

    updated = await api.put(path, json={"name": "ops2", "policy": _policy(org, "db-cql")})
    assert updated.status_code == 200
    assert updated.content == b""
    assert (await api.get(path)).json()["Name"] == "ops2"

    assert (await api.delete(path)).status_code == 204
    missing = await api.get(path)
    assert missing.status_code == 404
    assert isinstance(missing.json(), str)


async def test_role_errors_are_json_strings(api: httpx.AsyncClient) -> None:
    org = await _org(api)
    body = {"name": "ops", "policy": _policy(org, "db-cql")}
    assert (await api.post("/v2/organizations/roles", json=body)).status_code == 201
    duplicate = await api.post("/v2/organizations/roles", json=body)
    assert duplicate.status_code == 409
    assert isinstance(duplicate.json(), str)
    bad_drn = _policy(org, "db-cql") | {"resources": ["org:everything"]}
    bad = await api.post("/v2/organizations/roles", json={"name": "x", "policy": bad_drn})
    assert bad.status_code == 400
    assert "drn:astra:org:" in bad.json()


async def test_role_changes_apply_to_bound_tokens_at_once(
    sim: Simulator, api: httpx.AsyncClient
) -> None:
    org = await _org(api)
    role = (
        await api.post(
            "/v2/organizations/roles", json={"name": "grow", "policy": _policy(org, "org-db-view")}
        )
    ).json()
    issued = (await api.post("/v2/tokens", json={"roles": [role["ID"]]})).json()
    async with httpx.AsyncClient(base_url=sim.url, headers=bearer(issued["token"])) as user:
        assert (await user.post("/v2/databases", json=SERVERLESS)).status_code == 401
        path = f"/v2/organizations/roles/{role['ID']}"
        grown = _policy(org, "org-db-view", "org-db-create")
        assert (await api.put(path, json={"name": "grow", "policy": grown})).status_code == 200
        assert (await user.post("/v2/databases", json=SERVERLESS)).status_code == 201
        assert (await api.delete(path)).status_code == 204
        assert (await user.get("/v2/databases")).status_code == 401


async def test_tokens_show_their_secret_once(sim: Simulator, api: httpx.AsyncClient) -> None:
    org = await _org(api)
    roles = (await api.get("/v2/organizations/roles")).json()
    ro = next(r["ID"] for r in roles if r["Name"] == "RO User")
    for path in ("/v2/tokens", "/v2/clientIdSecrets"):
        response = await api.post(path, json={"roles": [ro], "orgId": org})
        assert response.status_code == 200
        issued = response.json()
        assert {"clientId", "orgId", "secret", "token", "generatedOn", "roles"} <= set(issued)
        assert issued["token"].startswith(f"AstraCS:{issued['clientId']}:")
    clients = (await api.get("/v2/clientIdSecrets")).json()["clients"]
    mine = next(c for c in clients if c["clientId"] == issued["clientId"])
    assert mine["roles"] == [ro]
    assert "secret" not in mine
    assert "token" not in mine
    async with httpx.AsyncClient(base_url=sim.url, headers=bearer(issued["token"])) as user:
        assert (await user.get("/v2/databases")).status_code == 200
        assert (await api.delete(f"/v2/clientIdSecrets/{issued['clientId']}")).status_code == 200
        assert (await user.get("/v2/databases")).status_code == 401
    assert (await api.post("/v2/tokens", json={"roles": []})).status_code == 400


async def test_current_org_needs_only_a_valid_token(
    sim: Simulator, api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    org = (await api.get("/v2/currentOrg")).json()
    assert set(org) == {"id", "name"}
    assert org["id"] == (await admin.get("/_sim/state")).json()["orgId"]
    token = await mint(admin, "Billing Admin")
    async with httpx.AsyncClient(base_url=sim.url, headers=bearer(token)) as billing:
        assert (await billing.get("/v2/currentOrg")).json() == org


async def test_region_catalogues(api: httpx.AsyncClient) -> None:
    plain = (await api.get("/v2/regions/serverless")).json()
    vector = (await api.get("/v2/regions/serverless", params={"region-type": "vector"})).json()
    both = (await api.get("/v2/regions/serverless", params={"region-type": "all"})).json()
    assert {r["region_type"] for r in plain} == {"serverless"}
    assert {r["region_type"] for r in vector} == {"vector"}
    assert len(both) == len(plain) + len(vector)
    assert {r["cloudProvider"] for r in plain} == {"AWS", "GCP", "AZURE"}
    classic = (await api.get("/v2/availableRegions")).json()
    assert classic
    assert "serverless" not in {c["tier"] for c in classic}
