"""What a new user reads: adoption that never removes, Secrets noticed at once, events and
logs that name what happened. The operator process, a real kube-apiserver, the simulator."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from tests.integration.conftest import Databases, Operator, Sim, put_secret, wait_for

pytestmark = pytest.mark.integration

SERVERLESS = {"cloudProvider": "GCP", "region": "us-east1"}


def _made_with_two_regions(sim: Sim) -> str:
    made = sim.api(
        "POST",
        "/v2/databases",
        json={
            "name": "legacy",
            "cloudProvider": "GCP",
            "region": "us-east1",
            "tier": "serverless",
            "capacityUnits": 1,
        },
    )
    db_id = made.headers["Location"]
    status = lambda: sim.api("GET", f"/v2/databases/{db_id}").json()["status"]  # noqa: E731
    wait_for("the database to be ACTIVE", lambda: status() == "ACTIVE")
    added = sim.api(
        "POST",
        f"/v2/databases/{db_id}/datacenters",
        json=[{"tier": "serverless", "cloudProvider": "GCP", "region": "europe-west1"}],
    )
    assert added.status_code == 201
    wait_for("the second region", lambda: status() == "ACTIVE")
    return db_id


def _regions(sim: Sim, db_id: str) -> set[str]:
    info = sim.api("GET", f"/v2/databases/{db_id}").json()["info"]
    return {dc["region"] for dc in info["datacenters"]}


def test_adoption_with_an_incomplete_spec_removes_nothing_until_confirmed(
    make_operator: Callable[..., Operator], databases: Databases, sim: Sim
) -> None:
    db_id = _made_with_two_regions(sim)
    make_operator()
    databases.apply("legacy", {**SERVERLESS, "databaseID": db_id})
    synced = databases.wait_condition("legacy", "Synced", "False", "AdoptionPending")
    assert "region europe-west1" in synced["message"]
    assert "astra.operator.dev/confirm-removals" in synced["message"]
    time.sleep(3)  # several passes
    assert _regions(sim, db_id) == {"us-east1", "europe-west1"}
    assert sim.count("POST /v2/databases/{databaseId}/datacenters/{datacenterId}/terminate") == 0
    assert "Adopted" in [r for _, r, _ in databases.events("legacy")]
    databases.patch(
        "legacy", {"metadata": {"annotations": {"astra.operator.dev/confirm-removals": "true"}}}
    )
    wait_for("the region to go", lambda: _regions(sim, db_id) == {"us-east1"}, timeout=60)


def test_a_created_secret_is_noticed_within_seconds(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
    kube_api: k8s.ApiClient,
    namespace: str,
) -> None:
    make_operator()
    ref = {"secretRef": {"name": "late-token"}}
    databases.apply("late", {**SERVERLESS, "credentials": ref})
    ready = databases.wait_condition("late", "Ready", "False", "CredentialsUnavailable")
    assert "late-token" in ready["message"]
    time.sleep(4)  # let any backoff grow as it would
    put_secret(kube_api, namespace, "late-token", {"token": sim.admin_token})
    started = time.monotonic()
    wait_for("the create", lambda: sim.databases("late"), timeout=5)
    assert time.monotonic() - started < 5


def test_events_and_logs_tell_what_happened(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
    namespace: str,
    tmp_path: Path,
) -> None:
    sim.admin(
        "POST",
        "/_sim/faults",
        {"kind": "status", "status": 503, "count": 2, "method": "POST", "path": "^/v2/databases$"},
    )
    make_operator()
    databases.apply("told", {**SERVERLESS, "additionalKeyspaces": ["audit"]})
    databases.wait_condition("told", "Ready", "True", "Available", timeout=30)
    wait_for("the keyspace", lambda: "audit" in (sim.databases("told")[0]["info"]["keyspaces"]))
    databases.wait_condition("told", "Ready", "True", "Available", timeout=30)
    events = databases.events("told")
    assert [t for t, r, _ in events if r == "ReconcileError"] == ["Warning"]  # one, not none
    assert [r for _, r, _ in events].count("Ready") == 1  # on the transition only
    [made] = sim.databases("told")
    log = (tmp_path / "operator.log").read_text()
    lines = [line for line in log.splitlines() if f"{namespace}/told" in line]
    assert any("Created" in line and made["id"] in line for line in lines)
    assert any("KeyspaceAdded" in line and made["id"] in line for line in lines)
    assert any("failed" in line and "WARNING" in line for line in lines)
    assert not re.search(r"ERROR.*told", log)


def test_a_paused_object_does_not_claim_its_generation(
    make_operator: Callable[..., Operator], databases: Databases
) -> None:
    make_operator()
    databases.apply("held", SERVERLESS)
    databases.wait_condition("held", "Ready", "True")
    databases.patch(
        "held",
        {
            "metadata": {"annotations": {"astra.operator.dev/paused": "true"}},
            "spec": {"additionalKeyspaces": ["later"]},
        },
    )
    databases.wait_condition("held", "Synced", "False", "ReconcilePaused")
    obj: dict[str, Any] = databases.get("held") or {}
    assert obj["status"]["observedGeneration"] < obj["metadata"]["generation"]
