"""The generated AstraDatabase CRD, enforced by a real kube-apiserver.

Real: kube-apiserver + etcd (or ASTRA_TEST_KUBECONFIG's cluster) and kubectl. No operator runs:
these tests check only what the apiserver itself does with crds/ (schema, CEL rules with their
messages, printer columns, short name, category, ``kubectl explain``) and that every example
in examples/ is accepted. Status is written with ``kubectl patch --subresource=status``.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("crds_installed")]

REPO = Path(__file__).resolve().parents[2]
Kubectl = Callable[..., "subprocess.CompletedProcess[str]"]
Spec = dict[str, object]
SERVERLESS: Spec = {"cloudProvider": "GCP", "region": "us-east1"}
CLASSIC: Spec = {"cloudProvider": "AWS", "region": "us-east-2", "tier": "C10", "capacityUnits": 2}
DB_ID = "8d770448-20c1-47f0-bb76-96d0d1a66b7f"
OTHER_ID = "11111111-2222-3333-4444-555555555555"


def _manifest(name: str, spec: Spec) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "astra.operator.dev/v1alpha1",
            "kind": "AstraDatabase",
            "metadata": {"name": name},
            "spec": spec,
        }
    )


def _apply(
    kubectl: Kubectl, namespace: str, name: str, spec: Spec
) -> subprocess.CompletedProcess[str]:
    return kubectl("apply", "-n", namespace, "-f", "-", input=_manifest(name, spec), check=False)


def _refused(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode != 0, f"expected a refusal, got: {result.stdout}"
    assert message in result.stderr, result.stderr
    assert "should match" not in result.stderr, f"a regex dump reached the user: {result.stderr}"


def _patch_status(kubectl: Kubectl, namespace: str, name: str, status: Spec) -> None:
    kubectl(
        "patch", "adb", name, "-n", namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": status}),
    )  # fmt: skip


def _eventually(kubectl: Kubectl, *args: str, expect: str, timeout: float = 30) -> str:
    """Run kubectl until its output contains ``expect`` (discovery and OpenAPI lag the CRD)."""
    deadline = time.monotonic() + timeout
    while True:
        result = kubectl(*args, check=False)
        if result.returncode == 0 and expect in result.stdout:
            return result.stdout
        if time.monotonic() > deadline:
            pytest.fail(f"kubectl {' '.join(args)} never showed {expect!r}:\n{result}")
        time.sleep(0.5)


@pytest.mark.parametrize("path", sorted((REPO / "examples").glob("database-*.yaml")), ids=str)
def test_example_is_accepted(kubectl: Kubectl, namespace: str, path: Path) -> None:
    kubectl("apply", "-n", namespace, "-f", str(path))


def test_schema_defaults_are_stored(kubectl: Kubectl, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=_manifest("plain", SERVERLESS))
    spec = json.loads(kubectl("get", "adb", "plain", "-n", namespace, "-o", "json").stdout)["spec"]
    assert spec == {
        **SERVERLESS,
        "tier": "serverless",
        "keyspace": "default_keyspace",
        "deletionProtection": False,
        "managementPolicy": "Full",
    }


def _bad(case_id: str, message: str, base: Spec = SERVERLESS, **change: object) -> Any:
    return pytest.param({**base, **change}, message, id=case_id)


INVALID = [
    _bad("serverless-capacity", "capacityUnits applies to classic tiers only", capacityUnits=2),
    _bad("serverless-parked", "parked applies to classic tiers only", parked=True),
    _bad("classic-dbtype", "dbType applies to serverless databases only", CLASSIC, dbType="vector"),
    _bad(
        "keyspace-pattern",
        'spec.keyspace: Invalid value: "my-keyspace": must be a keyspace name',
        keyspace="my-keyspace",
    ),
    _bad("keyspace-length", "spec.keyspace: Too long", keyspace="k" * 49),
    _bad("reserved-keyspace", "reserved by Cassandra", additionalKeyspaces=["system"]),
    _bad("provider-enum", 'spec.cloudProvider: Unsupported value: "aws"', cloudProvider="aws"),
    _bad("tier-enum", 'spec.tier: Unsupported value: "cloudnative"', tier="cloudnative"),
    _bad("region-empty", "spec.region", region=""),
    _bad("capacity-max", "less than or equal to 100", CLASSIC, capacityUnits=101),
    _bad("name-pattern", 'spec.name: Invalid value: "-bad": must be 1-50 characters', name="-bad"),
    _bad("databaseid-format", "spec.databaseID", databaseID="not-a-uuid"),
    _bad("region-repeated", "must not contain the primary region", additionalRegions=["us-east1"]),
    _bad("region-duplicate", "Duplicate value", additionalRegions=["us-west1", "us-west1"]),
    _bad(
        "keyspace-repeated",
        "must not contain the initial keyspace",
        additionalKeyspaces=["default_keyspace"],
    ),
    _bad("policy-enum", 'Unsupported value: "Orphan"', deletionPolicy="Orphan"),
    _bad(
        "access-cidr",
        'spec.accessList.addresses[0].address: Invalid value: "10.0.0.0/33": must be an IPv4',
        accessList={"addresses": [{"address": "10.0.0.0/33"}]},
    ),
    _bad(
        "access-octet",
        "must be an IPv4 address (a /32) or CIDR",
        accessList={"addresses": [{"address": "300.1.2.3"}]},
    ),
    _bad(
        "access-ipv6",
        "Astra access lists take IPv4 only",
        accessList={"addresses": [{"address": "2001:db8::/32"}]},
    ),
    _bad(
        "access-twice",
        "each address may be listed once (a bare address is the same as its /32)",
        accessList={"addresses": [{"address": "10.0.0.1"}, {"address": "10.0.0.1/32"}]},
    ),
    _bad(
        "secret-name",
        "spec.credentials.secretRef.name: Required value",
        credentials={"secretRef": {"key": "token"}},
    ),
]


@pytest.mark.parametrize(("spec", "message"), INVALID)
def test_invalid_spec_is_refused(
    kubectl: Kubectl, namespace: str, spec: Spec, message: str
) -> None:
    _refused(_apply(kubectl, namespace, "bad", spec), message)


def test_long_metadata_name_needs_spec_name(kubectl: Kubectl, namespace: str) -> None:
    name = "n" * 51
    _refused(_apply(kubectl, namespace, name, SERVERLESS), "too long for an Astra database name")
    kubectl(
        "apply", "-n", namespace, "-f", "-", input=_manifest(name, {**SERVERLESS, "name": "short"})
    )


def _without(spec: Spec, key: str) -> Spec:
    return {k: v for k, v in spec.items() if k != key}


NAMED = {**SERVERLESS, "name": "first"}
ADOPTED = {**SERVERLESS, "databaseID": DB_ID}
VECTOR = {**SERVERLESS, "dbType": "vector"}
REFUSED_UPDATES = [
    pytest.param(SERVERLESS, {**SERVERLESS, "region": "us-west1"}, "region is", id="region"),
    pytest.param(
        SERVERLESS, {**SERVERLESS, "cloudProvider": "AWS"}, "cloudProvider is", id="cloud"
    ),
    pytest.param(SERVERLESS, {**SERVERLESS, "keyspace": "other"}, "keyspace is", id="keyspace"),
    pytest.param(CLASSIC, {**CLASSIC, "tier": "C20"}, "tier is immutable", id="tier"),
    pytest.param(SERVERLESS, VECTOR, "dbType is immutable", id="dbtype-added"),
    pytest.param(VECTOR, SERVERLESS, "dbType is immutable", id="dbtype-removed"),
    pytest.param(NAMED, {**NAMED, "name": "second"}, "name is immutable", id="name-changed"),
    pytest.param(SERVERLESS, {**SERVERLESS, "name": "x"}, "name is immutable", id="name-added"),
    pytest.param(NAMED, SERVERLESS, "name is immutable", id="name-removed"),
    pytest.param(CLASSIC, {**CLASSIC, "capacityUnits": 1}, "cannot decrease", id="cu-decrease"),
    pytest.param(CLASSIC, _without(CLASSIC, "capacityUnits"), "cannot be removed", id="cu-removed"),
    pytest.param(
        ADOPTED, {**ADOPTED, "databaseID": OTHER_ID}, "databaseID cannot", id="id-changed"
    ),
    pytest.param(ADOPTED, SERVERLESS, "databaseID cannot be changed or removed", id="id-removed"),
]
ACCEPTED_UPDATES = [
    pytest.param(CLASSIC, {**CLASSIC, "capacityUnits": 5, "parked": True}, id="grow-and-park"),
    pytest.param(SERVERLESS, {**SERVERLESS, "name": "db"}, id="name-spelled-out"),
    pytest.param(SERVERLESS, ADOPTED, id="databaseid-added"),
    pytest.param(
        SERVERLESS,
        {**SERVERLESS, "additionalKeyspaces": ["b"], "additionalRegions": ["us-west1"]},
        id="keyspaces-and-regions",
    ),
    pytest.param(
        {**SERVERLESS, "deletionPolicy": "Delete"},
        {**SERVERLESS, "deletionPolicy": "Retain", "deletionProtection": True},
        id="deletion-fields",
    ),
]


@pytest.mark.parametrize(("before", "after", "message"), REFUSED_UPDATES)
def test_update_is_refused(
    kubectl: Kubectl, namespace: str, before: Spec, after: Spec, message: str
) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=_manifest("db", before))
    _refused(_apply(kubectl, namespace, "db", after), message)


@pytest.mark.parametrize(("before", "after"), ACCEPTED_UPDATES)
def test_update_is_accepted(kubectl: Kubectl, namespace: str, before: Spec, after: Spec) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=_manifest("db", before))
    kubectl("apply", "-n", namespace, "-f", "-", input=_manifest("db", after))


def test_database_id_added_later_must_match_status(kubectl: Kubectl, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=_manifest("db", SERVERLESS))
    _patch_status(kubectl, namespace, "db", {"databaseID": DB_ID})
    _refused(
        _apply(kubectl, namespace, "db", {**SERVERLESS, "databaseID": OTHER_ID}),
        "spec.databaseID can be added only with the ID in status.databaseID",
    )
    kubectl(
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        input=_manifest("db", {**SERVERLESS, "databaseID": DB_ID}),
    )


def test_status_written_by_the_operator_is_kept(kubectl: Kubectl, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=_manifest("db", SERVERLESS))
    status = {
        "databaseID": DB_ID,
        "orgID": OTHER_ID,
        "phase": "ACTIVE",
        "observedGeneration": 1,
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "Available", "message": "",
             "lastTransitionTime": "2026-11-23T10:00:00Z", "observedGeneration": 1},
            {"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "message": "",
             "lastTransitionTime": "2026-11-23T10:00:00Z", "observedGeneration": 1},
        ],
        "endpoints": {"dataAPI": f"https://{DB_ID}-us-east1.apps.astra.datastax.com"},
        "keyspaces": ["default_keyspace"],
        "regions": [{"region": "us-east1", "datacenterID": f"{DB_ID}-1", "status": ""}],
        "capacityUnits": 1,
        "lastObservedTime": "2026-11-23T10:00:05Z",
        "createPending": {"requestedAt": "2026-11-23T09:58:00Z", "name": "db",
                          "cloudProvider": "GCP", "region": "us-east1"},
    }  # fmt: skip
    _patch_status(kubectl, namespace, "db", status)
    stored = json.loads(kubectl("get", "adb", "db", "-n", namespace, "-o", "json").stdout)
    assert stored["status"] == status


def test_printer_columns(kubectl: Kubectl, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=_manifest("db", SERVERLESS))
    _patch_status(
        kubectl, namespace, "db",
        {"phase": "ACTIVE", "databaseID": DB_ID, "conditions": [
            {"type": "Ready", "status": "True", "reason": "Available",
             "lastTransitionTime": "2026-11-23T10:00:00Z"},
            {"type": "Synced", "status": "False", "reason": "ReconcileError",
             "lastTransitionTime": "2026-11-23T10:00:00Z"},
        ]},
    )  # fmt: skip
    header, row = kubectl("get", "adb", "-n", namespace).stdout.splitlines()
    assert header.split() == ["NAME", "PHASE", "READY", "SYNCED", "TIER", "REGION", "AGE"]
    assert row.split()[:6] == ["db", "ACTIVE", "True", "False", "serverless", "us-east1"]
    wide = kubectl("get", "adb", "-n", namespace, "-o", "wide").stdout
    assert "ID" in wide.splitlines()[0].split()
    assert DB_ID in wide


def test_short_name_and_category(kubectl: Kubectl, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=_manifest("db", SERVERLESS))
    _eventually(kubectl, "get", "adb", "-n", namespace, "-o", "name", expect="astradatabase")
    listed = _eventually(kubectl, "get", "astra", "-n", namespace, "-o", "name", expect="/db")
    assert listed.split() == ["astradatabase.astra.operator.dev/db"]


def test_explain_shows_field_descriptions(kubectl: Kubectl) -> None:
    out = _eventually(
        kubectl, "explain", "astradatabase.spec.deletionPolicy", expect="Retain leaves it running"
    )
    assert "ASTRA_DEFAULT_DELETION_POLICY" in " ".join(out.split())
    spec = _eventually(kubectl, "explain", "astradatabase.spec", expect="cloudProvider")
    assert "Desired state of an Astra database" in " ".join(spec.split())
