"""``astra-operator export`` end to end: databases and a role made outside Kubernetes (through
the DevOps API, as a user or Terraform would) are exported, applied with kubectl, and adopted by
the operator without a single write to Astra."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s

from tests.conftest import Cluster, Kubectl, ServiceAccountKubeconfig
from tests.integration.conftest import Databases, Operator, Roles, Sim, put_secret, wait_for

pytestmark = pytest.mark.integration

WRITES = ("POST", "PUT", "PATCH", "DELETE")
TOKEN_VAR = "EXPORT_TEST_TOKEN"


def _database(sim: Sim, body: dict[str, Any]) -> str:
    made = sim.api("POST", "/v2/databases", json={"capacityUnits": 1, **body})
    assert made.status_code == 201, made.text
    return str(made.headers["Location"])


def _astra(sim: Sim, db_id: str) -> dict[str, Any]:
    return next(d for d in sim.databases() if d["id"] == db_id)


def _wait_active(sim: Sim, db_id: str, datacenters: int = 1) -> None:
    def active() -> bool:
        found = _astra(sim, db_id)
        return found["status"] == "ACTIVE" and len(found["info"]["datacenters"]) == datacenters

    wait_for(f"database {db_id} ACTIVE", active)


def _export(sim: Sim, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "astra_operator.cli", "export", "--api-url", sim.url, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, TOKEN_VAR: sim.admin_token, **env},
    )


def _writes(sim: Sim) -> dict[str, int]:
    counts: dict[str, int] = sim.admin("GET", "/_sim/requests")["counts"]
    return {k: n for k, n in counts.items() if k.split(" ", 1)[0] in WRITES}


def _made_outside(sim: Sim) -> dict[str, str]:
    """Three databases (one with an extra keyspace, one with a second region, one classic),
    one whose name no spec can carry, and a custom role on a keyspace's tables."""
    ids = {
        "ledger": _database(
            sim,
            {
                "name": "Ledger",
                "cloudProvider": "GCP",
                "region": "us-east1",
                "tier": "serverless",
                "keyspace": "books",
            },
        ),
        "search": _database(
            sim,
            {
                "name": "search",
                "cloudProvider": "AWS",
                "region": "us-east-2",
                "tier": "serverless",
                "dbType": "vector",
            },
        ),
        "warehouse": _database(
            sim,
            {
                "name": "warehouse",
                "cloudProvider": "AWS",
                "region": "us-east-2",
                "tier": "C10",
                "capacityUnits": 2,
            },
        ),
        "odd": _database(
            sim,
            {
                "name": "odd name!",
                "cloudProvider": "GCP",
                "region": "us-east1",
                "tier": "serverless",
            },
        ),
    }
    for db_id in ids.values():
        _wait_active(sim, db_id)
    added = sim.api("POST", f"/v2/databases/{ids['ledger']}/keyspaces/audit")
    assert added.status_code == 201, added.text
    region = [{"tier": "serverless", "cloudProvider": "AWS", "region": "eu-west-1"}]
    added = sim.api("POST", f"/v2/databases/{ids['search']}/datacenters", json=region)
    assert added.status_code == 201, added.text
    _wait_active(sim, ids["ledger"])
    _wait_active(sim, ids["search"], datacenters=2)
    org = sim.admin("GET", "/_sim/state")["orgId"]
    ledger = f"drn:astra:org:{org}:db:{ids['ledger']}"
    policy = {
        "description": "read the audit tables",
        "effect": "allow",
        "actions": ["db-cql", "db-table-select"],
        "resources": [ledger, f"{ledger}:keyspace:audit", f"{ledger}:keyspace:audit:table:*"],
    }
    made = sim.api(
        "POST", "/v2/organizations/roles", json={"name": "Audit readers", "policy": policy}
    )
    assert made.status_code == 201, made.text
    ids["role"] = str(made.json()["ID"])
    ids["org"] = org
    return ids


def test_exported_manifests_are_adopted_with_no_write_to_astra(
    make_operator: Callable[..., Operator],
    databases: Databases,
    roles: Roles,
    kubectl: Kubectl,
    namespace: str,
    sim: Sim,
) -> None:
    ids = _made_outside(sim)
    exported = _export(sim, "--namespace", namespace, "--token-env", TOKEN_VAR)
    assert exported.returncode == 0, exported.stderr
    assert sim.admin_token not in exported.stdout + exported.stderr
    assert f"not exported: database 'odd name!' ({ids['odd']})" in exported.stderr
    assert "built-in role(s) not exported" in exported.stderr
    documents = [d for d in yaml.safe_load_all(exported.stdout) if d]
    by_name = {d["metadata"]["name"]: d for d in documents}
    assert sorted(by_name) == ["audit-readers", "ledger", "search", "warehouse"]
    assert by_name["ledger"]["spec"]["additionalKeyspaces"] == ["audit"]
    assert by_name["ledger"]["spec"]["keyspace"] == "books"
    assert by_name["search"]["spec"]["additionalRegions"] == ["eu-west-1"]
    assert by_name["warehouse"]["spec"]["capacityUnits"] == 2
    assert by_name["audit-readers"]["spec"]["resources"] == [
        {"databaseID": ids["ledger"], "keyspace": "audit", "table": "*"}
    ]

    sim.admin("POST", "/_sim/requests/reset")
    kubectl("apply", "-f", "-", input=exported.stdout)
    make_operator()
    for name in ("ledger", "search", "warehouse"):
        databases.wait_condition(name, "Ready", "True", timeout=60)
        databases.wait_condition(name, "Synced", "True", timeout=30)
    roles.wait_condition("audit-readers", "Ready", "True", timeout=60)
    roles.wait_condition("audit-readers", "Synced", "True", timeout=30)
    time.sleep(2.5)  # one more poll interval of the test operator (2 s): still nothing written

    assert _writes(sim) == {}
    for name in ("ledger", "search", "warehouse"):
        status = (databases.get(name) or {})["status"]
        assert status["databaseID"] == ids[name]
        assert status["adopted"] is True
    role_status = (roles.get("audit-readers") or {})["status"]
    assert role_status["roleID"] == ids["role"]
    ledger = f"drn:astra:org:{ids['org']}:db:{ids['ledger']}"
    assert role_status["drns"] == sorted(
        [ledger, f"{ledger}:keyspace:audit", f"{ledger}:keyspace:audit:table:*"]
    )
    assert sim.count("GET /v2/databases") + sim.count("GET /v2/databases/{databaseId}") > 0


def test_token_from_a_secret_and_observe_manifests_the_api_server_accepts(
    cluster: Cluster,
    service_account_kubeconfig: ServiceAccountKubeconfig,
    kube_api: k8s.ApiClient,
    crds_installed: list[str],
    kubectl: Kubectl,
    namespace: str,
    sim: Sim,
) -> None:
    db_id = _database(
        sim, {"name": "watched", "cloudProvider": "GCP", "region": "us-east1", "tier": "serverless"}
    )
    _wait_active(sim, db_id)
    put_secret(kube_api, namespace, "export-token", {"api": sim.admin_token})
    kube = {"KUBECONFIG": str(cluster.kubeconfig)}
    ref = f"{namespace}/export-token:api"
    exported = _export(
        sim,
        "--namespace",
        namespace,
        "--token-secret",
        ref,
        "--observe",
        "--kind",
        "databases",
        "--credentials-secret",
        "team-token",
        **kube,
    )
    assert exported.returncode == 0, exported.stderr
    assert sim.admin_token not in exported.stdout + exported.stderr
    (document,) = [d for d in yaml.safe_load_all(exported.stdout) if d]
    assert document["spec"]["managementPolicy"] == "Observe"
    assert document["spec"]["credentials"] == {"secretRef": {"name": "team-token"}}
    assert "managementPolicy: Observe" in exported.stdout.split("---")[0]
    kubectl("apply", "--dry-run=server", "-f", "-", input=exported.stdout)

    missing = _export(sim, "--token-secret", f"{namespace}/absent", **kube)
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert missing.stderr.count("\n") == 1
    assert f"Secret {namespace}/absent does not exist" in missing.stderr

    # A person whose kubeconfig may not read Secrets is told so, not sent to the chart's RBAC.
    nobody = {"KUBECONFIG": str(service_account_kubeconfig(namespace, "no-secrets"))}
    refused = _export(sim, "--token-secret", ref, **nobody)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1
    assert f"Your kubeconfig's user is not allowed to read Secret {ref.split(':')[0]}" in (
        refused.stderr
    )
    assert f"kubectl auth can-i get secrets -n {namespace}" in refused.stderr
    assert "Helm chart" not in refused.stderr
    assert sim.admin_token not in refused.stdout + refused.stderr
