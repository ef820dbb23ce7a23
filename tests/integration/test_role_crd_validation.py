"""The generated AstraRole CRD, enforced by a real kube-apiserver.

Real: kube-apiserver + etcd (or ASTRA_TEST_KUBECONFIG's cluster) and kubectl. No operator runs:
these tests check only what the apiserver itself does with crds/ (schema, CEL rules with the
messages a person reads, printer columns, short name, category) and that every role example in
examples/ is accepted. Status is written with ``kubectl patch --subresource=status``.
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
ROLE_ID = "0b5e2c39-6a8f-4d2e-9a51-1c3f5e7d9b20"
OTHER_ID = "11111111-2222-3333-4444-555555555555"
DB_ID = "8d770448-20c1-47f0-bb76-96d0d1a66b7f"
ORDERS: Spec = {"databaseRef": {"name": "orders"}, "keyspace": "shop", "table": "*"}
VALID: Spec = {
    "permissions": ["db-cql", "db-table-select"],
    "resources": [ORDERS, {"organization": True}],
}


def _manifest(name: str, spec: Spec) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "astra.operator.dev/v1alpha1",
            "kind": "AstraRole",
            "metadata": {"name": name},
            "spec": spec,
        }
    )


def _apply(
    kubectl: Kubectl, namespace: str, name: str, spec: Spec
) -> subprocess.CompletedProcess[str]:
    return kubectl("apply", "-n", namespace, "-f", "-", input=_manifest(name, spec), check=False)


def _refused(result: subprocess.CompletedProcess[str], *messages: str) -> None:
    assert result.returncode != 0, f"expected a refusal, got: {result.stdout}"
    for message in messages:
        assert message in result.stderr, result.stderr


def _patch_status(kubectl: Kubectl, namespace: str, name: str, status: Spec) -> None:
    kubectl(
        "patch", "arole", name, "-n", namespace, "--subresource=status", "--type=merge",
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


@pytest.mark.parametrize("path", sorted((REPO / "examples").glob("role-*.yaml")), ids=str)
def test_example_is_accepted(kubectl: Kubectl, namespace: str, path: Path) -> None:
    kubectl("apply", "-n", namespace, "-f", str(path))


def test_valid_role_is_stored_as_written(kubectl: Kubectl, namespace: str) -> None:
    spec: Spec = {
        **VALID,
        "name": "R/W readers (shop) - équipe",
        "description": "Orders service",
        "resources": [
            ORDERS,
            {"databaseID": DB_ID, "keyspace": "*"},
            {"databaseID": "*"},
            {"organization": True},
        ],
        "drns": [f"drn:astra:org:{OTHER_ID}:db:*:keyspace:system_schema"],
        "deletionPolicy": "Delete",
        "roleID": ROLE_ID,
    }
    kubectl("apply", "-n", namespace, "-f", "-", input=_manifest("readers", spec))
    stored = json.loads(kubectl("get", "arole", "readers", "-n", namespace, "-o", "json").stdout)
    assert stored["spec"] == {**spec, "managementPolicy": "Full"}  # the one default


def _bad(case_id: str, *messages: str, **change: object) -> Any:
    return pytest.param({**VALID, **change}, messages, id=case_id)


def _scope(case_id: str, scope: Spec, *messages: str) -> Any:
    return _bad(case_id, *messages, resources=[scope])


INVALID = [
    _bad(
        "unknown-permission",
        'spec.permissions[1]: Unsupported value: "db-everything": supported values:',
        '"db-cql"',
        '"org-db-view"',
        permissions=["db-cql", "db-everything"],
    ),
    _bad(
        "duplicate-permission",
        'spec.permissions[1]: Duplicate value: "db-cql"',
        permissions=["db-cql", "db-cql"],
    ),
    _bad(
        "empty-permissions", "spec.permissions: Invalid value", "at least 1 items", permissions=[]
    ),
    _bad("empty-resources", "spec.resources: Invalid value", "at least 1 items", resources=[]),
    _scope(
        "two-scopes",
        {"organization": True, "databaseRef": {"name": "orders"}},
        "spec.resources[0]",
        "can name only one of organization, databaseRef and databaseID",
    ),
    _scope(
        "ref-and-id",
        {"databaseRef": {"name": "orders"}, "databaseID": DB_ID},
        "can name only one of organization, databaseRef and databaseID",
    ),
    _scope(
        "no-scope",
        {"keyspace": "shop"},
        "needs one of organization: true, databaseRef or databaseID",
    ),
    _scope(
        "organization-false",
        {"organization": False},
        "spec.resources[0].organization",
        "organization: false scopes nothing",
    ),
    _scope(
        "table-without-keyspace",
        {"databaseRef": {"name": "orders"}, "table": "orders"},
        "spec.resources[0].table",
        "table needs a keyspace",
    ),
    _scope(
        "keyspace-on-organization",
        {"organization": True, "keyspace": "shop"},
        "spec.resources[0].keyspace",
        "keyspace narrows a database scope: it cannot be used with organization",
    ),
    _scope(
        "keyspace-pattern",
        {"databaseID": "*", "keyspace": "my-keyspace"},
        'spec.resources[0].keyspace: Invalid value: "my-keyspace": must be a keyspace or table',
    ),
    _scope("database-id-format", {"databaseID": "orders"}, "spec.resources[0].databaseID"),
    _bad(
        "drn-prefix",
        "spec.drns[0]",
        "each drns entry must start with drn:astra:org:",
        drns=["arn:aws:iam::123456789012:role/x"],
    ),
    _bad(
        "drn-placeholder",
        "drns entries cannot use __ORG_ID__",
        drns=["drn:astra:org:__ORG_ID__"],
    ),
    _bad("builtin-name", "this is the name of an Astra built-in role", name="RO User"),
    _bad("name-leading-space", "spec.name", "cannot start or end with a space", name=" readers"),
    _bad("name-trailing-space", "cannot start or end with a space", name="readers "),
    _bad("name-line-break", "cannot contain control characters", name="read\ners"),
    _bad("name-tab", "cannot contain control characters", name="read\ters"),
    _bad("name-length", "spec.name: Too long", name="n" * 101),
    _bad("role-id-format", "spec.roleID", roleID="not-a-uuid"),
    _bad("policy-enum", 'Unsupported value: "Orphan"', deletionPolicy="Orphan"),
]


@pytest.mark.parametrize(("spec", "messages"), INVALID)
def test_invalid_spec_is_refused(
    kubectl: Kubectl, namespace: str, spec: Spec, messages: tuple[str, ...]
) -> None:
    _refused(_apply(kubectl, namespace, "bad", spec), *messages)


def test_long_metadata_name_needs_spec_name(kubectl: Kubectl, namespace: str) -> None:
    name = "n" * 101
    _refused(_apply(kubectl, namespace, name, VALID), "too long for an Astra role name")
    kubectl("apply", "-n", namespace, "-f", "-", input=_manifest(name, {**VALID, "name": "short"}))


ADOPTED: Spec = {**VALID, "roleID": ROLE_ID}
REFUSED_UPDATES = [
    pytest.param({**ADOPTED, "roleID": OTHER_ID}, "roleID cannot be changed", id="id-changed"),
    pytest.param(VALID, "roleID cannot be changed or removed once set", id="id-removed"),
]


@pytest.mark.parametrize(("after", "message"), REFUSED_UPDATES)
def test_role_id_change_is_refused(
    kubectl: Kubectl, namespace: str, after: Spec, message: str
) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=_manifest("role", ADOPTED))
    _refused(_apply(kubectl, namespace, "role", after), message)


ACCEPTED_UPDATES = [
    pytest.param({**VALID, "name": "renamed", "description": "now named"}, id="rename"),
    pytest.param({**VALID, "name": "x"}, id="name-added"),
    pytest.param(
        {"permissions": ["db-table-modify"], "resources": [{"databaseID": "*"}]},
        id="permissions-and-resources-replaced",
    ),
    pytest.param(ADOPTED, id="role-id-added"),
]


@pytest.mark.parametrize("after", ACCEPTED_UPDATES)
def test_update_is_accepted(kubectl: Kubectl, namespace: str, after: Spec) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=_manifest("role", {**VALID, "name": "a"}))
    kubectl("apply", "-n", namespace, "-f", "-", input=_manifest("role", after))


def test_role_id_added_later_must_match_status(kubectl: Kubectl, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=_manifest("role", VALID))
    _patch_status(kubectl, namespace, "role", {"roleID": ROLE_ID})
    _refused(
        _apply(kubectl, namespace, "role", {**VALID, "roleID": OTHER_ID}),
        "spec.roleID can be added only with the ID in status.roleID",
    )
    kubectl("apply", "-n", namespace, "-f", "-", input=_manifest("role", ADOPTED))


def test_status_written_by_the_operator_is_kept(kubectl: Kubectl, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=_manifest("role", VALID))
    org = f"drn:astra:org:{OTHER_ID}"
    status = {
        "roleID": ROLE_ID,
        "roleName": "role",
        "orgID": OTHER_ID,
        "drns": [org, f"{org}:db:{DB_ID}"],
        "observedGeneration": 1,
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "Available", "message": "",
             "lastTransitionTime": "2026-11-23T10:00:00Z", "observedGeneration": 1},
            {"type": "Synced", "status": "False", "reason": "WaitingForDatabase",
             "message": "Waiting for AstraDatabase orders",
             "lastTransitionTime": "2026-11-23T10:00:00Z", "observedGeneration": 1},
        ],
        "lastObservedTime": "2026-11-23T10:00:05Z",
        "createPending": {"requestedAt": "2026-11-23T09:58:00Z", "name": "role"},
    }  # fmt: skip
    _patch_status(kubectl, namespace, "role", status)
    stored = json.loads(kubectl("get", "arole", "role", "-n", namespace, "-o", "json").stdout)
    assert stored["status"] == status


def test_printer_columns(kubectl: Kubectl, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=_manifest("role", VALID))
    _patch_status(
        kubectl, namespace, "role",
        {"roleID": ROLE_ID, "roleName": "App readers", "conditions": [
            {"type": "Ready", "status": "True", "reason": "Available",
             "lastTransitionTime": "2026-11-23T10:00:00Z"},
            {"type": "Synced", "status": "False", "reason": "WaitingForDatabase",
             "lastTransitionTime": "2026-11-23T10:00:00Z"},
        ]},
    )  # fmt: skip
    header, row = kubectl("get", "arole", "-n", namespace).stdout.splitlines()
    assert header.split() == ["NAME", "READY", "SYNCED", "ROLE", "AGE"]
    assert row.split()[:5] == ["role", "True", "False", "App", "readers"]
    wide = kubectl("get", "arole", "-n", namespace, "-o", "wide").stdout
    assert "ID" in wide.splitlines()[0].split()
    assert ROLE_ID in wide


def test_short_name_and_category(kubectl: Kubectl, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=_manifest("role", VALID))
    _eventually(kubectl, "get", "arole", "-n", namespace, "-o", "name", expect="astrarole")
    listed = _eventually(kubectl, "get", "astra", "-n", namespace, "-o", "name", expect="/role")
    assert listed.split() == ["astrarole.astra.operator.dev/role"]


def test_explain_shows_the_drn_compile_rule(kubectl: Kubectl) -> None:
    out = _eventually(kubectl, "explain", "astrarole.spec.resources", expect="compiles to")
    text = " ".join(out.split())
    assert "adding keyspace gives drn:astra:org:<orgID>:db:<databaseID>:keyspace:<keyspace>" in text
