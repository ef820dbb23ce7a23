"""managementPolicy Observe end to end: the operator reads and reports a plan, never writes to
Astra; switching to Full applies the plan."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Kubectl
from tests.integration.conftest import Databases, Operator, Roles, Sim, wait_for

pytestmark = pytest.mark.integration

WRITES = ("POST", "PUT", "PATCH", "DELETE")
CLASSIC = {"cloudProvider": "AWS", "region": "us-east-2", "tier": "C10"}


def _made_outside(sim: Sim, name: str, **extra: Any) -> str:
    reply = sim.api("POST", "/v2/databases", json={"name": name, **CLASSIC, **extra})
    assert reply.status_code == 201
    db_id = reply.headers["Location"]
    wait_for(
        "ACTIVE",
        lambda: next(d for d in sim.databases() if d["id"] == db_id)["status"] == "ACTIVE",
    )
    return db_id


def _writes(sim: Sim) -> dict[str, int]:
    counts: dict[str, int] = sim.admin("GET", "/_sim/requests")["counts"]
    return {k: v for k, v in counts.items() if k.split(" ")[0] in WRITES}


def test_observe_reports_a_planned_resize_and_writes_nothing_until_full(
    make_operator: Callable[..., Operator], databases: Databases, sim: Sim
) -> None:
    db_id = _made_outside(sim, "legacy", capacityUnits=1)
    sim.admin("POST", "/_sim/requests/reset")
    make_operator()
    spec = {
        **CLASSIC,
        "databaseID": db_id,
        "capacityUnits": 3,
        "additionalKeyspaces": ["audit"],
        "managementPolicy": "Observe",
        "deletionPolicy": "Delete",
    }
    databases.apply("legacy", spec)
    synced = databases.wait_condition("legacy", "Synced", "False", "DriftObserved")
    assert "resize from 1 to 3 capacity units" in synced["message"]
    assert "add keyspace audit" in synced["message"]
    assert databases.condition("legacy", "Ready")["status"] == "True"
    databases.wait_event("legacy", "Normal", "DriftObserved")
    wait_for("a few more passes", lambda: sim.count("GET /v2/databases") >= 2, 10)
    assert _writes(sim) == {}, "Observe wrote to Astra"
    # Full applies the plan.
    databases.patch("legacy", {"spec": {"managementPolicy": "Full"}})
    wait_for(
        "the plan applied",
        lambda: (
            (d := next(x for x in sim.databases() if x["id"] == db_id))["info"]["capacityUnits"]
            == 3
            and "audit" in d["info"]["keyspaces"]
        ),
        60,
    )
    databases.wait_condition("legacy", "Synced", "True", "ReconcileSuccess", timeout=30)


def test_deleting_an_observed_database_leaves_it_in_astra(
    make_operator: Callable[..., Operator], databases: Databases, sim: Sim
) -> None:
    db_id = _made_outside(sim, "watched", capacityUnits=1)
    make_operator()
    spec = {
        **CLASSIC,
        "databaseID": db_id,
        "managementPolicy": "Observe",
        "deletionPolicy": "Delete",
    }
    databases.apply("watched", spec)
    databases.wait_condition("watched", "Synced", "True", "Observing")
    databases.delete("watched")
    wait_for("the object to go", lambda: databases.get("watched") is None, 30)
    assert next(d for d in sim.databases() if d["id"] == db_id)["status"] == "ACTIVE"
    assert sim.count("POST /v2/databases/{databaseId}/terminate") == 0


def test_an_observed_role_reports_drift_and_is_not_updated(
    make_operator: Callable[..., Operator], roles: Roles, sim: Sim
) -> None:
    org = sim.api("GET", "/v2/currentOrg").json()["id"]
    policy = {
        "description": "by hand",
        "resources": [f"drn:astra:org:{org}"],
        "actions": ["org-db-view"],
        "effect": "allow",
    }
    made = sim.api("POST", "/v2/organizations/roles", json={"name": "by-hand", "policy": policy})
    role_id = made.json()["ID"]
    sim.admin("POST", "/_sim/requests/reset")
    make_operator()
    spec = {
        "roleID": role_id,
        "name": "by-hand",
        "description": "by hand",
        "permissions": ["org-db-view", "db-cql"],
        "resources": [{"organization": True}],
        "managementPolicy": "Observe",
    }
    roles.apply("by-hand", spec)
    synced = roles.wait_condition("by-hand", "Synced", "False", "DriftObserved")
    assert "db-cql" in synced["message"]
    assert _writes(sim) == {}


def test_observe_without_an_id_is_refused_at_apply(kubectl: Kubectl, namespace: str) -> None:
    manifest = (
        "apiVersion: astra.operator.dev/v1alpha1\nkind: AstraDatabase\nmetadata: {name: nothing}\n"
        "spec: {cloudProvider: GCP, region: us-east1, managementPolicy: Observe}\n"
    )
    result = kubectl("apply", "-n", namespace, "-f", "-", input=manifest, check=False)
    assert result.returncode != 0
    assert "managementPolicy Observe watches an existing database" in result.stderr
