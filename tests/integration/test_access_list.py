"""spec.accessList end to end: the operator process, a real kube-apiserver, the simulator's
access-list endpoints (changed out of band through the same DevOps API a person would use)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client as k8s

from tests.integration.conftest import Databases, Operator, Sim, put_secret, wait_for

pytestmark = pytest.mark.integration

SERVERLESS = {"cloudProvider": "GCP", "region": "us-east1"}
OFFICE = {"address": "203.0.113.7", "description": "office"}
VPN = {"address": "198.51.100.0/24", "description": "vpn", "enabled": False}


def _held(sim: Sim, db_id: str) -> tuple[bool, dict[str, tuple[bool, str]]]:
    reply = sim.api("GET", f"/v2/databases/{db_id}/access-list")
    if reply.status_code == 404:
        return False, {}
    body: dict[str, Any] = reply.json()
    entries = {a["address"]: (a["enabled"], a["description"]) for a in body["addresses"]}
    return bool(body["configurations"]["accessListEnabled"]), entries


def _ready(databases: Databases, name: str) -> str:
    databases.wait_condition(name, "Ready", "True", "Available", timeout=60)
    db_id: str = databases.get(name)["status"]["databaseID"]  # type: ignore[index]
    return db_id


def test_the_access_list_converges_and_out_of_band_changes_are_set_back(
    make_operator: Callable[..., Operator], databases: Databases, sim: Sim
) -> None:
    make_operator()
    databases.apply("fenced", {**SERVERLESS, "accessList": {"addresses": [OFFICE, VPN]}})
    db_id = _ready(databases, "fenced")
    wanted = {"203.0.113.7/32": (True, "office"), "198.51.100.0/24": (False, "vpn")}
    wait_for("the access list in Astra", lambda: _held(sim, db_id) == (True, wanted))
    status = wait_for(
        "status.accessList",
        lambda: (databases.get("fenced") or {}).get("status", {}).get("accessList"),
    )
    assert status["enabled"] is True
    assert {a["address"] for a in status["addresses"]} == set(wanted)
    databases.wait_condition("fenced", "Synced", "True")
    # Someone adds an address and removes one in Astra: set back on the poll, with a Warning.
    added = [{"address": "6.6.6.6/32", "enabled": True, "description": "someone"}]
    assert sim.api("POST", f"/v2/databases/{db_id}/access-list", json=added).status_code == 204
    gone = sim.api(
        "DELETE", f"/v2/databases/{db_id}/access-list", params={"addresses": "203.0.113.7/32"}
    )
    assert gone.status_code == 204
    wait_for("the drift to be reverted", lambda: _held(sim, db_id) == (True, wanted), 20)
    databases.wait_event("fenced", "Warning", "DriftReverted")
    [message] = [m for _, r, m in databases.events("fenced") if r == "DriftReverted"]
    assert "remove 6.6.6.6/32" in message
    assert "add 203.0.113.7/32" in message
    # A spec edit: one address fewer, enforcement off.
    databases.patch("fenced", {"spec": {"accessList": {"enabled": False, "addresses": [OFFICE]}}})
    wait_for(
        "the edited list in Astra",
        lambda: _held(sim, db_id) == (False, {"203.0.113.7/32": (True, "office")}),
    )
    # Dropping spec.accessList stops managing it: Astra's list stays as it is.
    databases.patch("fenced", {"spec": {"accessList": None}})
    wait_for(
        "status.accessList to go",
        lambda: "accessList" not in (databases.get("fenced") or {}).get("status", {}),
    )
    assert _held(sim, db_id) == (False, {"203.0.113.7/32": (True, "office")})


def test_a_token_that_may_not_touch_access_lists_gets_a_condition_and_the_rest_converges(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
    kube_api: k8s.ApiClient,
    namespace: str,
) -> None:
    org = sim.api("GET", "/v2/currentOrg").json()["id"]
    actions = ["org-db-create", "org-db-view", "org-db-terminate", "db-keyspace-create"]
    policy = {
        "description": "databases, no access lists",
        "resources": [f"drn:astra:org:{org}", f"drn:astra:org:{org}:db:*"],
        "actions": actions,
        "effect": "allow",
    }
    made = sim.api("POST", "/v2/organizations/roles", json={"name": "no-acl", "policy": policy})
    assert made.status_code == 201
    put_secret(kube_api, namespace, "no-acl", {"token": sim.token(made.json()["ID"])})
    make_operator()
    creds = {"secretRef": {"name": "no-acl"}}
    spec = {**SERVERLESS, "credentials": creds, "accessList": {"addresses": [OFFICE]}}
    databases.apply("walled", spec)
    db_id = _ready(databases, "walled")
    synced = databases.wait_condition("walled", "Synced", "False", "AccessListNotAllowed")
    assert "accesslist-read" in synced["message"]
    databases.wait_event("walled", "Warning", "AccessListNotAllowed")
    # The rest of the spec still converges.
    databases.patch("walled", {"spec": {"additionalKeyspaces": ["extra"]}})
    wait_for(
        "the keyspace",
        lambda: (
            "extra" in next(d for d in sim.databases() if d["id"] == db_id)["info"]["keyspaces"]
        ),
        30,
    )
    assert _held(sim, db_id) == (False, {})
