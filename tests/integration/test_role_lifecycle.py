"""AstraRole end to end: the operator process, a real kube-apiserver, the simulator."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.conftest import Databases, Operator, Roles, Sim, put_secret, wait_for

pytestmark = pytest.mark.integration

SERVERLESS = {"cloudProvider": "GCP", "region": "us-east1"}
READERS = {
    "permissions": ["db-cql", "db-table-select"],
    "resources": [{"databaseRef": {"name": "shop"}, "keyspace": "sales"}],
}


def astra_roles(sim: Sim, name: str | None = None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = sim.admin("GET", "/_sim/state")["roles"]
    return [r for r in found if name is None or r["Name"] == name]


def role_by_id(sim: Sim, role_id: str) -> dict[str, Any]:
    [role] = [r for r in astra_roles(sim) if r["ID"] == role_id]
    return role


def test_role_waits_for_its_database_then_holds_exactly_the_compiled_resources(
    make_operator: Callable[..., Operator], databases: Databases, roles: Roles, sim: Sim
) -> None:
    make_operator()
    roles.apply("readers", READERS)
    waiting = roles.wait_condition("readers", "Synced", "False", "WaitingForDatabase")
    assert "shop" in waiting["message"]
    time.sleep(2)  # several passes: still nothing written to Astra
    assert astra_roles(sim, "readers") == []
    databases.apply("shop", SERVERLESS)
    roles.wait_condition("readers", "Ready", "True", "Available", timeout=30)
    status = roles.get("readers")["status"]  # type: ignore[index]
    db_id = databases.get("shop")["status"]["databaseID"]  # type: ignore[index]
    org = sim.admin("GET", "/_sim/state")["orgId"]
    expected = sorted(
        [f"drn:astra:org:{org}:db:{db_id}", f"drn:astra:org:{org}:db:{db_id}:keyspace:sales"]
    )
    assert status["drns"] == expected
    assert status["orgID"] == org
    role = role_by_id(sim, status["roleID"])
    assert role["Name"] == "readers"
    assert sorted(role["Policy"]["resources"]) == expected
    assert sorted(role["Policy"]["actions"]) == ["db-cql", "db-table-select"]
    assert sim.count("POST /v2/organizations/roles") == 1


def test_spec_edit_updates_the_same_role_and_drift_is_reverted_or_recreated(
    make_operator: Callable[..., Operator], roles: Roles, sim: Sim
) -> None:
    make_operator()
    roles.apply("ops", {"permissions": ["org-db-view"], "resources": [{"organization": True}]})
    roles.wait_condition("ops", "Ready", "True")
    role_id = roles.get("ops")["status"]["roleID"]  # type: ignore[index]
    roles.patch("ops", {"spec": {"permissions": ["org-db-view", "db-cql"], "name": "ops-2"}})
    wait_for(
        "the spec edit in Astra",
        lambda: (
            role_by_id(sim, role_id)["Name"] == "ops-2"
            and sorted(role_by_id(sim, role_id)["Policy"]["actions"]) == ["db-cql", "org-db-view"]
        ),
    )
    assert roles.get("ops")["status"]["roleID"] == role_id  # type: ignore[index]
    # An out-of-band edit through the DevOps API is set back, with an event naming it.
    policy = role_by_id(sim, role_id)["Policy"]
    edited = {**policy, "actions": ["org-db-view", "org-db-terminate"]}
    reply = sim.api(
        "PUT", f"/v2/organizations/roles/{role_id}", json={"name": "ops-2", "policy": edited}
    )
    assert reply.status_code == 200
    roles.patch(
        "ops", {"metadata": {"annotations": {"astra.operator.dev/reconcile-requested-at": "1"}}}
    )
    wait_for(
        "the drift to be reverted",
        lambda: "org-db-terminate" not in role_by_id(sim, role_id)["Policy"]["actions"],
    )
    reverted = [m for _, r, m in roles.events("ops") if r == "DriftReverted"]
    assert reverted
    assert "org-db-terminate" in reverted[0]
    # Deleted outside the cluster: created again, with the new ID in status.
    assert sim.api("DELETE", f"/v2/organizations/roles/{role_id}").status_code == 204
    roles.patch(
        "ops", {"metadata": {"annotations": {"astra.operator.dev/reconcile-requested-at": "2"}}}
    )
    new_id = wait_for(
        "a new role",
        lambda: (
            (roles.get("ops") or {}).get("status", {}).get("roleID") not in (None, role_id)
            and roles.get("ops")["status"]["roleID"]
        ),  # type: ignore[index]
    )
    assert [r["ID"] for r in astra_roles(sim, "ops-2")] == [new_id]
    roles.wait_event("ops", "Warning", "Recreating")


def test_a_second_object_for_one_role_is_already_managed(
    make_operator: Callable[..., Operator], roles: Roles, sim: Sim
) -> None:
    make_operator()
    roles.apply("first", {"permissions": ["org-db-view"], "resources": [{"organization": True}]})
    roles.wait_condition("first", "Ready", "True")
    role_id = roles.get("first")["status"]["roleID"]  # type: ignore[index]
    roles.apply(
        "second",
        {
            "roleID": role_id,
            "deletionPolicy": "Delete",
            "permissions": ["org-db-view"],
            "resources": [{"organization": True}],
        },
    )
    synced = roles.wait_condition("second", "Synced", "False", "AlreadyManaged")
    assert "first" in synced["message"]
    roles.delete("second")
    wait_for("second to go", lambda: roles.get("second") is None)
    assert [r["ID"] for r in astra_roles(sim, "first")] == [role_id]


@pytest.mark.parametrize(("policy", "kept"), [("Delete", False), ("Retain", True)])
def test_delete_removes_and_retain_keeps(
    make_operator: Callable[..., Operator], roles: Roles, sim: Sim, policy: str, kept: bool
) -> None:
    make_operator()
    spec = {"permissions": ["org-db-view"], "resources": [{"organization": True}]}
    roles.apply("gone", {**spec, "deletionPolicy": policy})
    roles.wait_condition("gone", "Ready", "True")
    roles.delete("gone")
    wait_for("the object to go", lambda: roles.get("gone") is None)
    assert bool(astra_roles(sim, "gone")) is kept


def test_token_without_role_write_gets_a_condition_naming_it(
    make_operator: Callable[..., Operator],
    roles: Roles,
    sim: Sim,
    kube_api: Any,
    namespace: str,
) -> None:
    put_secret(kube_api, namespace, "viewer", {"token": sim.token("RO User")})
    make_operator()
    roles.apply(
        "denied",
        {
            "permissions": ["org-db-view"],
            "resources": [{"organization": True}],
            "credentials": {"secretRef": {"name": "viewer"}},
        },
    )
    synced = roles.wait_condition("denied", "Synced", "False", "ReconcileError")
    assert "org-role-write" in synced["message"] or "org-role-read" in synced["message"]
    assert astra_roles(sim, "denied") == []


def test_kill_9_during_a_burst_of_role_creates_leaves_one_role_each(
    make_operator: Callable[..., Operator], roles: Roles, sim: Sim
) -> None:
    sim.admin(
        "POST",
        "/_sim/faults",
        {
            "kind": "latency",
            "seconds": 3,
            "after": True,
            "method": "POST",
            "path": "^/v2/organizations/roles$",
            "count": 3,
        },
    )
    op = make_operator()
    names = [f"burst-{i}" for i in range(8)]
    spec = {"permissions": ["org-db-view"], "resources": [{"organization": True}]}
    for name in names:
        roles.apply(name, spec)
    wait_for(
        "a create to reach Astra",
        lambda: (
            astra_roles(sim, "burst-0")
            or astra_roles(sim, "burst-1")
            or astra_roles(sim, "burst-2")
        ),
    )
    op.kill9()
    make_operator()
    for name in names:
        roles.wait_condition(name, "Ready", "True", timeout=60)
        assert len(astra_roles(sim, name)) == 1, f"{name} has a duplicate"
    ids = {roles.get(n)["status"]["roleID"] for n in names}  # type: ignore[index]
    assert len(ids) == len(names)


def test_a_refused_single_read_falls_back_to_the_list(
    make_operator: Callable[..., Operator], roles: Roles, sim: Sim
) -> None:
    sim.admin(
        "POST",
        "/_sim/faults",
        {
            "kind": "status",
            "status": 403,
            "count": 1000,
            "method": "GET",
            "path": "^/v2/organizations/roles/[^/]+$",
        },
    )
    make_operator()
    roles.apply("listed", {"permissions": ["org-db-view"], "resources": [{"organization": True}]})
    roles.wait_condition("listed", "Ready", "True")
    roles.patch("listed", {"spec": {"description": "seen through the list"}})
    role_id = roles.get("listed")["status"]["roleID"]  # type: ignore[index]
    wait_for(
        "the update",
        lambda: role_by_id(sim, role_id)["Policy"]["description"] == "seen through the list",
    )
    assert roles.condition("listed", "Synced")["status"] == "True"
    assert sim.count("GET /v2/organizations/roles") >= 1
