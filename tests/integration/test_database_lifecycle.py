"""AstraDatabase end to end: the operator process, a real kube-apiserver, the simulator."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import pytest
from kubernetes import client as k8s

from tests.integration.conftest import Databases, Operator, Sim, put_secret, wait_for

pytestmark = pytest.mark.integration

SERVERLESS = {"cloudProvider": "GCP", "region": "us-east1"}
CREATE = "POST /v2/databases"


def test_create_reaches_ready_with_status_endpoints_and_connection_secret(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
    kube_api: k8s.ApiClient,
    namespace: str,
) -> None:
    make_operator()
    databases.apply(
        "orders",
        {
            **SERVERLESS,
            "dbType": "vector",
            "keyspace": "shop",
            "connectionSecret": {"name": "orders-conn"},
        },
    )
    databases.wait_condition("orders", "Ready", "True", "Available")
    status = databases.get("orders")["status"]  # type: ignore[index]
    [created] = sim.databases("orders")
    assert status["databaseID"] == created["id"]
    assert status["phase"] == "ACTIVE"
    assert status["observedGeneration"] == 1
    assert status["keyspaces"] == ["shop"]
    assert status["endpoints"]["dataAPI"] == (
        f"https://{created['id']}-us-east1.apps.astra.datastax.com"
    )
    assert status["endpoints"]["cqlsh"].endswith("/cqlsh")
    assert "createPending" not in status
    assert databases.condition("orders", "Synced")["status"] == "True"
    secret = wait_for("connection secret", lambda: _secret(kube_api, namespace, "orders-conn"))
    assert secret["databaseID"] == created["id"]
    assert secret["keyspace"] == "shop"
    assert not any("AstraCS" in v for v in secret.values())
    reasons = [r for _, r, _ in databases.events("orders")]
    assert "Created" in reasons
    assert sim.count(CREATE) == 1


def _secret(api: k8s.ApiClient, namespace: str, name: str) -> dict[str, str] | None:
    try:
        found = k8s.CoreV1Api(api).read_namespaced_secret(name, namespace)
    except k8s.ApiException:
        return None
    return {k: base64.b64decode(v).decode() for k, v in (found.data or {}).items()}


def test_kill_9_between_create_call_and_status_write_leaves_one_database(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    # The simulator creates the database, then holds the response back: the operator is
    # killed while it waits, before it can record the id.
    sim.admin(
        "POST",
        "/_sim/faults",
        {
            "kind": "latency",
            "seconds": 30,
            "after": True,
            "method": "POST",
            "path": "^/v2/databases$",
        },
    )
    op = make_operator()
    databases.apply("crashy", SERVERLESS)
    wait_for("the create to reach Astra", lambda: sim.databases("crashy"))
    op.kill9()
    status = databases.get("crashy")["status"]  # type: ignore[index]
    assert "createPending" in status
    assert "databaseID" not in status
    make_operator()
    databases.wait_condition("crashy", "Ready", "True", "Available")
    [only] = sim.databases("crashy")
    assert databases.get("crashy")["status"]["databaseID"] == only["id"]  # type: ignore[index]
    assert sim.count(CREATE) == 1
    assert "CreateResolved" in [r for _, r, _ in databases.events("crashy")]


def test_dropped_create_response_leaves_one_database(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    sim.admin(
        "POST",
        "/_sim/faults",
        {"kind": "drop_response", "method": "POST", "path": "^/v2/databases$"},
    )
    make_operator()
    databases.apply("dropped", SERVERLESS)
    databases.wait_condition("dropped", "Ready", "True", "Available")
    assert len(sim.databases("dropped")) == 1
    assert sim.count(CREATE) == 1


def test_rate_limits_and_server_errors_converge_without_duplicates(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    sim.admin(
        "POST",
        "/_sim/faults",
        [
            {
                "kind": "status",
                "status": 429,
                "retryAfter": 1,
                "count": 3,
                "method": "POST",
                "path": "^/v2/databases$",
            },
            {
                "kind": "status",
                "status": 503,
                "count": 4,
                "method": "POST",
                "path": "^/v2/databases$",
            },
            {"kind": "status", "status": 502, "count": 10, "method": "GET"},
        ],
    )
    make_operator()
    names = [f"storm-{i}" for i in range(3)]
    for name in names:
        databases.apply(name, SERVERLESS)
    for name in names:
        databases.wait_condition(name, "Ready", "True", "Available", timeout=60)
        assert len(sim.databases(name)) == 1, f"{name} was created more than once"
    assert len(sim.databases()) == 3


def test_database_terminated_outside_is_reported_and_not_recreated(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    make_operator()
    databases.apply("victim", SERVERLESS)
    databases.wait_condition("victim", "Ready", "True")
    [victim] = sim.databases("victim")
    sim.admin("POST", f"/_sim/databases/{victim['id']}/external", {"action": "terminate"})
    ready = databases.wait_condition("victim", "Ready", "False", "Terminated")
    assert "terminated outside Kubernetes" in ready["message"]
    synced = databases.condition("victim", "Synced")
    assert (synced["status"], synced["reason"]) == ("False", "DatabaseNotFound")
    databases.wait_event("victim", "Warning", "DatabaseNotFound")
    sim.admin("POST", f"/_sim/databases/{victim['id']}/external", {"action": "delete"})
    wait_for("a few more polls", lambda: sim.count("GET /v2/databases/{databaseId}") > 8)
    assert sim.count(CREATE) == 1


def test_delete_policy_terminates_and_retries_while_astra_is_busy(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    make_operator()
    databases.apply("doomed", {**SERVERLESS, "deletionPolicy": "Delete"})
    databases.wait_condition("doomed", "Ready", "True")
    [doomed] = sim.databases("doomed")
    # A keyspace change puts the database in MAINTENANCE: Astra answers terminate with 409.
    sim.admin("POST", "/_sim/timing", {"timing": 10.0 / 60})
    added = sim.api("POST", f"/v2/databases/{doomed['id']}/keyspaces/extra")
    assert added.status_code == 201
    databases.delete("doomed")
    wait_for("the object to go", lambda: databases.get("doomed") is None, timeout=60)
    assert sim.databases("doomed")[0]["status"] in ("TERMINATING", "TERMINATED")
    assert sim.count("POST /v2/databases/{databaseId}/terminate") >= 1


def test_a_pass_or_deletion_that_outlives_the_deadline_is_abandoned_and_retried(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    # Astra holds one answer back for 20 s (within the client's own timeout): the pass waiting
    # for it is abandoned at ASTRA_PASS_DEADLINE and retried, for a deletion too.
    op = make_operator(ASTRA_PASS_DEADLINE="2", ASTRA_POLL_INTERVAL="3600")
    databases.apply("slowpoke", {**SERVERLESS, "deletionPolicy": "Delete"})
    databases.wait_condition("slowpoke", "Ready", "True")
    [made] = sim.databases("slowpoke")
    held = {"kind": "latency", "seconds": 20, "method": "GET", "path": f"{made['id']}$"}
    sim.admin("POST", "/_sim/faults", held)
    sim.admin("POST", f"/_sim/databases/{made['id']}/external", {"action": "hibernate"})
    requested = {"astra.operator.dev/reconcile-requested-at": "2026-12-02T12:00:00Z"}
    databases.patch("slowpoke", {"metadata": {"annotations": requested}})
    databases.wait_condition("slowpoke", "Ready", "False", timeout=15)  # the retry saw it
    assert f"[{op.namespace}/slowpoke] reconcile pass exceeded 2 s" in op.log.read_text()

    terminate = "POST /v2/databases/{databaseId}/terminate"
    held = {"kind": "latency", "seconds": 20, "method": "POST", "path": "/terminate$"}
    sim.admin("POST", "/_sim/faults", held)
    databases.delete("slowpoke")
    wait_for("the object to go", lambda: databases.get("slowpoke") is None, timeout=15)
    assert f"[{op.namespace}/slowpoke] deletion pass exceeded 2 s" in op.log.read_text()
    assert sim.count(terminate) >= 2, "the held terminate was not retried"
    assert sim.databases("slowpoke")[0]["status"] in ("TERMINATING", "TERMINATED")


def test_retain_releases_without_any_api_call(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    make_operator()
    databases.apply("kept", {**SERVERLESS, "deletionPolicy": "Retain"})
    databases.wait_condition("kept", "Ready", "True")
    sim.admin("POST", "/_sim/requests/reset")
    databases.delete("kept")
    wait_for("the object to go", lambda: databases.get("kept") is None)
    assert sim.admin("GET", "/_sim/requests")["total"] == 0
    assert sim.databases("kept")[0]["status"] == "ACTIVE"


def test_default_deletion_policy_comes_from_operator_config(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    make_operator(ASTRA_DEFAULT_DELETION_POLICY="Delete")
    databases.apply("by-default", SERVERLESS)
    databases.wait_condition("by-default", "Ready", "True")
    databases.delete("by-default")
    wait_for("the object to go", lambda: databases.get("by-default") is None)
    assert sim.databases("by-default")[0]["status"] in ("TERMINATING", "TERMINATED")


def test_deletion_protection_keeps_object_and_database_and_says_how(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    make_operator()
    databases.apply(
        "precious", {**SERVERLESS, "deletionPolicy": "Delete", "deletionProtection": True}
    )
    databases.wait_condition("precious", "Ready", "True")
    databases.delete("precious")
    synced = databases.wait_condition("precious", "Synced", "False", "DeletionProtected")
    assert "set spec.deletionProtection to false" in synced["message"]
    assert sim.databases("precious")[0]["status"] == "ACTIVE"
    assert sim.count("POST /v2/databases/{databaseId}/terminate") == 0
    databases.patch("precious", {"spec": {"deletionProtection": False}})
    wait_for("the object to go", lambda: databases.get("precious") is None, timeout=60)
    assert sim.databases("precious")[0]["status"] in ("TERMINATING", "TERMINATED")


def test_paused_object_makes_no_api_calls(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    make_operator()
    databases.apply("resting", SERVERLESS)
    databases.wait_condition("resting", "Ready", "True")
    databases.patch("resting", {"metadata": {"annotations": {"astra.operator.dev/paused": "true"}}})
    databases.wait_condition("resting", "Synced", "False", "ReconcilePaused")
    sim.admin("POST", "/_sim/requests/reset")
    databases.patch("resting", {"metadata": {"labels": {"touched": "yes"}}})
    time.sleep(6.5)  # let three poll intervals (2 s each) of the test operator pass
    assert sim.admin("GET", "/_sim/requests")["total"] == 0
    databases.patch("resting", {"metadata": {"annotations": {"astra.operator.dev/paused": None}}})
    databases.wait_condition("resting", "Synced", "True")


def test_adopts_an_existing_database_and_never_creates_for_a_missing_one(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    made = sim.api(
        "POST",
        "/v2/databases",
        json={
            "name": "legacy",
            "cloudProvider": "AWS",
            "region": "us-east-2",
            "tier": "serverless",
            "capacityUnits": 1,
        },
    )
    legacy_id = made.headers["Location"]
    make_operator()
    databases.apply(
        "legacy", {"cloudProvider": "AWS", "region": "us-east-2", "databaseID": legacy_id}
    )
    databases.wait_condition("legacy", "Ready", "True")
    missing = "00000000-0000-4000-8000-000000000000"
    databases.apply("ghost", {**SERVERLESS, "databaseID": missing})
    synced = databases.wait_condition("ghost", "Synced", "False", "DatabaseNotFound", timeout=90)
    assert missing in synced["message"]
    assert "never creates" in synced["message"]
    assert sim.count(CREATE) == 1  # only the test's own create


def test_credentials_problems_are_conditions_naming_the_fix(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
    kube_api: k8s.ApiClient,
    namespace: str,
) -> None:
    make_operator()
    ref = {"secretRef": {"name": "team-token", "key": "token"}}
    databases.apply("locked", {**SERVERLESS, "credentials": ref})
    synced = databases.wait_condition("locked", "Synced", "False", "CredentialsUnavailable")
    assert f"Secret {namespace}/team-token does not exist" in synced["message"]
    read_only = sim.token("RO User")
    put_secret(kube_api, namespace, "team-token", {"token": read_only})
    synced = databases.wait_condition("locked", "Synced", "False", "ReconcileError", timeout=60)
    assert "org-db-create" in synced["message"]
    obj = databases.get("locked")
    assert read_only not in str(obj)
    assert all(read_only not in message for _, _, message in databases.events("locked"))
    assert sim.databases("locked") == []


def test_transient_404_right_after_create_is_tolerated(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    sim.admin("POST", "/_sim/faults", {"kind": "not_found_after_create", "seconds": 3})
    make_operator()
    databases.apply("shy", SERVERLESS)
    databases.wait_condition("shy", "Ready", "True", "Available")
    assert sim.count(CREATE) == 1
    assert "DatabaseNotFound" not in [r for _, r, _ in databases.events("shy")]


def test_database_ending_in_error_is_reported_not_guessed_at(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    sim.admin("POST", "/_sim/faults", {"kind": "create_error"})
    make_operator()
    databases.apply("broken", SERVERLESS)
    ready = databases.wait_condition("broken", "Ready", "False", "Unavailable")
    assert "ERROR" in ready["message"]
    databases.wait_event("broken", "Warning", "Unavailable")
    assert sim.count(CREATE) == 1


def test_reconcile_requested_annotation_observes_an_outside_change_at_once(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    make_operator(ASTRA_POLL_INTERVAL="3600")  # no periodic poll would notice in time
    databases.apply("nudge", SERVERLESS)
    databases.wait_condition("nudge", "Ready", "True")
    [made] = sim.databases("nudge")
    sim.admin("POST", f"/_sim/databases/{made['id']}/external", {"action": "hibernate"})
    databases.patch(
        "nudge",
        {
            "metadata": {
                "annotations": {"astra.operator.dev/reconcile-requested-at": "2026-11-23T12:00:00Z"}
            }
        },
    )
    databases.wait_condition("nudge", "Ready", "False", timeout=10)


def test_refused_create_is_reported_and_leaves_no_pending_marker(
    make_operator: Callable[..., Operator],
    databases: Databases,
    sim: Sim,
) -> None:
    make_operator()
    databases.apply("nowhere", {"cloudProvider": "GCP", "region": "moon-1"})
    synced = databases.wait_condition("nowhere", "Synced", "False", "SpecRejected")
    assert "unsupported region" in synced["message"]
    wait_for(
        "the marker to be cleared",
        lambda: "createPending" not in databases.get("nowhere")["status"],
    )  # type: ignore[index]
    time.sleep(2)  # one poll interval: the refused create is not sent again right away
    assert sim.count(CREATE) == 1
    assert "createPending" not in databases.get("nowhere")["status"]  # type: ignore[index]
    assert sim.databases("nowhere") == []
