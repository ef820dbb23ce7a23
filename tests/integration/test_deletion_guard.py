"""The deletion guard (crds/policies/deletion-guard.yaml), enforced by a real kube-apiserver.

Real: kube-apiserver + etcd (or ASTRA_TEST_KUBECONFIG's cluster) and kubectl. No operator runs,
so the objects carry no finalizer: an accepted delete removes the object at once. The policy is
cluster-scoped and other tests delete protected objects in their own namespaces (expecting the
operator's finalizer to hold them), so each test applies the generated manifest with two
changes only: names unique to the test, and a binding that selects the namespaces this test
labels. The policy's spec (the rule and its message) is applied exactly as generated; the file
as shipped is checked with a server-side dry run, which stores nothing.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, Cluster, Kubectl

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("crds_installed")]

MANIFEST = REPO / "crds" / "policies" / "deletion-guard.yaml"
LABEL = "deletion-guard.test.astra.operator.dev/run"
SERVERLESS: dict[str, object] = {"cloudProvider": "GCP", "region": "us-east1"}


def message(namespace: str, name: str) -> str:
    """What a person reads when the guard refuses ``kubectl delete adb NAME``."""
    return (
        f"AstraDatabase {namespace}/{name} has spec.deletionProtection: true: set it to false "
        f"first (kubectl -n {namespace} patch adb {name} --type=merge -p "
        """'{"spec":{"deletionProtection":false}}'), or set spec.deletionPolicy: Retain to keep """
        "the Astra database"
    )


def database(name: str, **spec: object) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "astra.operator.dev/v1alpha1",
            "kind": "AstraDatabase",
            "metadata": {"name": name},
            "spec": {**SERVERLESS, **spec},
        }
    )


def exists(kubectl: Kubectl, namespace: str, resource: str) -> bool:
    got = kubectl("get", "-n", namespace, resource, "--ignore-not-found", "-o", "name")
    return bool(got.stdout.strip())


@dataclass
class Guard:
    """The policy and binding one test installed, and how to put namespaces under it."""

    name: str
    label: str
    kubectl: Kubectl

    def cover(self, namespace: str) -> None:
        self.kubectl("label", "namespace", namespace, f"{LABEL}={self.label}", "--overwrite")


def _scoped(name: str, label: str) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
    assert [d["kind"] for d in docs] == [
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    ]
    policy, binding = docs
    policy["metadata"]["name"] = binding["metadata"]["name"] = name
    assert binding["spec"] == {
        "policyName": "astra-operator-deletion-guard",
        "validationActions": ["Deny"],
    }, "the shipped binding denies, in every namespace"
    binding["spec"]["policyName"] = name
    binding["spec"]["matchResources"] = {"namespaceSelector": {"matchLabels": {LABEL: label}}}
    return docs


def _wait_enforced(kubectl: Kubectl, namespace: str) -> None:
    """A new policy takes a moment to reach the apiserver's admission chain: ask until a
    server-side dry-run delete of a protected canary is refused (dry runs pass admission)."""
    kubectl("apply", "-n", namespace, "-f", "-", input=database("canary", deletionProtection=True))
    deadline = time.monotonic() + 30
    while True:
        dry = kubectl("delete", "-n", namespace, "adb", "canary", "--dry-run=server", check=False)
        if dry.returncode != 0:
            assert message(namespace, "canary") in dry.stderr, dry.stderr
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the deletion guard never took effect:\n{dry.stdout}")
        time.sleep(0.3)


@pytest.fixture
def guard(kubectl: Kubectl, namespace: str) -> Iterator[Guard]:
    """The generated policy, installed for this test's namespace only (removed afterwards,
    before the namespace is)."""
    label = f"run-{uuid.uuid4().hex[:10]}"  # never all digits (or 1e5): YAML reads a number
    name = f"astra-operator-deletion-guard-test-{label}"
    docs = _scoped(name, label)
    found = Guard(name, label, kubectl)
    found.cover(namespace)
    text = yaml.safe_dump_all(docs)
    kubectl("apply", "-f", "-", input=text)
    try:
        _wait_enforced(kubectl, namespace)
        yield found
    finally:
        kubectl("delete", "--ignore-not-found", "-f", "-", input=text)


def refused(result: subprocess.CompletedProcess[str], namespace: str, name: str) -> None:
    assert result.returncode != 0, f"accepted:\n{result.stdout}"
    assert "(Forbidden)" in result.stderr, result.stderr
    assert message(namespace, name) in result.stderr, result.stderr


# --- as shipped ---------------------------------------------------------------------------


def test_the_manifest_as_shipped_is_accepted_by_the_apiserver(kubectl: Kubectl) -> None:
    # A server-side dry run validates everything (schema, CEL compiles) and stores nothing.
    out = kubectl("apply", "--dry-run=server", "-f", str(MANIFEST)).stdout
    assert "validatingadmissionpolicy.admissionregistration.k8s.io/astra-operator" in out
    assert "validatingadmissionpolicybinding.admissionregistration.k8s.io/astra-oper" in out


# --- DELETE -------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["Delete", None], ids=["delete", "operator-default"])
def test_deleting_a_protected_database_is_refused_with_how_to_lift_it(
    kubectl: Kubectl, namespace: str, guard: Guard, policy: str | None
) -> None:
    spec: dict[str, object] = {"deletionProtection": True}
    if policy:  # unset: the operator's default, which the apiserver cannot know
        spec["deletionPolicy"] = policy
    kubectl("apply", "-n", namespace, "-f", "-", input=database("precious", **spec))
    result = kubectl("delete", "-n", namespace, "adb", "precious", "--wait=false", check=False)
    refused(result, namespace, "precious")
    assert f"{guard.name}' denied request" in result.stderr
    assert exists(kubectl, namespace, "adb/precious")


def test_the_command_in_the_message_lifts_protection_then_delete_is_accepted(
    kubectl: Kubectl, namespace: str, guard: Guard
) -> None:
    spec = {"deletionPolicy": "Delete", "deletionProtection": True}
    kubectl("apply", "-n", namespace, "-f", "-", input=database("precious", **spec))
    result = kubectl("delete", "-n", namespace, "adb", "precious", check=False)
    refused(result, namespace, "precious")
    # Run what the message says, word for word (as a shell would split it).
    found = re.search(r"\((kubectl [^)]*)\)", result.stderr)
    assert found is not None, result.stderr
    command = shlex.split(found.group(1))
    kubectl(*command[1:])
    kubectl("delete", "-n", namespace, "adb", "precious")
    assert not exists(kubectl, namespace, "adb/precious")


def test_retain_lets_a_protected_database_go(
    kubectl: Kubectl, namespace: str, guard: Guard
) -> None:
    # Retain never terminates anything, and the operator's deletionProtection has no effect
    # with it either: the guard agrees. The message's second way out works too.
    kubectl(
        "apply", "-n", namespace, "-f", "-",
        input=database("kept", deletionPolicy="Retain", deletionProtection=True),
    )  # fmt: skip
    kubectl("delete", "-n", namespace, "adb", "kept")
    kubectl("apply", "-n", namespace, "-f", "-", input=database("later", deletionProtection=True))
    refused(kubectl("delete", "-n", namespace, "adb", "later", check=False), namespace, "later")
    kubectl(
        "patch", "-n", namespace, "adb", "later", "--type=merge",
        "-p", '{"spec":{"deletionPolicy":"Retain"}}',
    )  # fmt: skip
    kubectl("delete", "-n", namespace, "adb", "later")
    assert not exists(kubectl, namespace, "adb/kept")
    assert not exists(kubectl, namespace, "adb/later")


# --- UPDATE: lifting protection and choosing Delete in one edit is allowed -----------------


def test_one_apply_may_lift_protection_and_choose_delete_then_a_delete_is_needed(
    kubectl: Kubectl, namespace: str, guard: Guard
) -> None:
    # As a GitOps tool applies it: the whole spec at once. Lifting protection is one step,
    # the delete another; the guard refuses the delete while the stored object is protected.
    kept = database("orders", deletionPolicy="Retain", deletionProtection=True)
    kubectl("apply", "-n", namespace, "-f", "-", input=kept)
    doomed = database("orders", deletionPolicy="Delete", deletionProtection=False)
    kubectl("apply", "-n", namespace, "-f", "-", input=doomed)
    spec = json.loads(kubectl("get", "-n", namespace, "adb/orders", "-o", "json").stdout)["spec"]
    assert (spec["deletionPolicy"], spec["deletionProtection"]) == ("Delete", False)
    kubectl("delete", "-n", namespace, "adb", "orders")
    assert not exists(kubectl, namespace, "adb/orders")


def test_a_protected_database_can_still_be_changed_and_protected_again(
    kubectl: Kubectl, namespace: str, guard: Guard
) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=database("orders"))
    kubectl(
        "apply", "-n", namespace, "-f", "-",
        input=database("orders", deletionPolicy="Delete", deletionProtection=True),
    )  # fmt: skip
    kubectl(
        "apply", "-n", namespace, "-f", "-",
        input=database(
            "orders", deletionPolicy="Delete", deletionProtection=True, additionalKeyspaces=["a"]
        ),
    )  # fmt: skip
    kubectl("label", "-n", namespace, "adb", "orders", "team=a")
    refused(kubectl("delete", "-n", namespace, "adb", "orders", check=False), namespace, "orders")


# --- what the guard leaves alone ------------------------------------------------------------


def test_other_kinds_and_unprotected_databases_are_not_affected(
    kubectl: Kubectl, namespace: str, guard: Guard
) -> None:
    examples = [
        str(REPO / "examples" / f) for f in ("role-app-readers.yaml", "token-app-readers.yaml")
    ]
    kubectl("apply", "-n", namespace, *(a for p in examples for a in ("-f", p)))
    kubectl("apply", "-n", namespace, "-f", "-", input=database("plain"))
    kubectl(
        "apply", "-n", namespace, "-f", "-",
        input=database("unguarded", deletionPolicy="Delete", deletionProtection=False),
    )  # fmt: skip
    kubectl("delete", "-n", namespace, "astrarole/rag-readers", "astratoken/rag-app")
    kubectl("delete", "-n", namespace, "adb/plain", "adb/unguarded")
    for gone in ("astrarole/rag-readers", "astratoken/rag-app", "adb/plain", "adb/unguarded"):
        assert not exists(kubectl, namespace, gone)


def test_namespaces_the_binding_does_not_select_are_not_affected(
    kubectl: Kubectl, namespace: str, guard: Guard, kube_namespace: Callable[[], str]
) -> None:
    # The check on the test's own scoping: other tests' namespaces never see this policy.
    other = kube_namespace()
    kubectl("apply", "-n", other, "-f", "-", input=database("precious", deletionProtection=True))
    kubectl("delete", "-n", other, "adb", "precious")
    assert not exists(kubectl, other, "adb/precious")


# --- a namespace's deletion ------------------------------------------------------------------


def test_deleting_the_namespace_leaves_protected_databases_in_it(
    kubectl: Kubectl, cluster: Cluster, guard: Guard, kube_namespace: Callable[[], str]
) -> None:
    # Deleting a namespace is accepted (it is not an AstraDatabase); the namespace controller
    # then deletes its content through the API, as DELETE collection per resource, which
    # admission sees object by object. A bare apiserver runs no namespace controller, so here
    # the test makes the controller's call itself; on a real cluster the controller does.
    doomed = kube_namespace()
    guard.cover(doomed)
    _wait_enforced(kubectl, doomed)
    kubectl("apply", "-n", doomed, "-f", "-", input=database("precious", deletionProtection=True))
    kubectl("delete", "namespace", doomed, "--wait=false")
    if cluster.is_local:
        collection = f"/apis/astra.operator.dev/v1alpha1/namespaces/{doomed}/astradatabases"
        result = kubectl("delete", "--raw", collection, check=False)
        assert result.returncode != 0, result.stdout
        assert message(doomed, "canary") in result.stderr  # the first protected one, by name
    else:  # the controller reports it in the namespace's NamespaceDeletionContentFailure
        _wait_for_content_failure(kubectl, doomed)
    phase = kubectl("get", "namespace", doomed, "-o", "jsonpath={.status.phase}").stdout
    assert phase == "Terminating"
    assert exists(kubectl, doomed, "adb/precious")
    assert exists(kubectl, doomed, "adb/canary")


def _wait_for_content_failure(kubectl: Kubectl, namespace: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        got = json.loads(kubectl("get", "namespace", namespace, "-o", "json").stdout)
        for condition in got.get("status", {}).get("conditions", []):
            text = condition.get("message", "")
            if message(namespace, "canary") in " ".join(text.split()):
                return
        if time.monotonic() > deadline:
            pytest.fail(f"the namespace controller never reported the refusal: {got['status']}")
        time.sleep(1)


@pytest.fixture
def kube_namespace(kubectl: Kubectl, cluster: Cluster) -> Iterator[Callable[[], str]]:
    """Factory: more fresh namespaces for a test (on real clusters deleted afterwards; the
    namespace controller finishes once the guard, torn down next, lets their content go)."""
    made: list[str] = []

    def make() -> str:
        name = f"t-{uuid.uuid4().hex[:10]}"
        kubectl("create", "namespace", name)
        made.append(name)
        return name

    yield make
    if not cluster.is_local:
        for name in made:
            kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=false")
