"""The Helm chart rendered and linted by the real helm binary (no cluster needed).

What is checked: ``helm lint --strict``; what the default values, ``watchNamespaces`` and
``defaultCredentialsNamespaces`` render (RBAC shape, the same rules for every kind in crds/, the
Deployment, its hardening and ASTRA_* settings, its probes, NOTES.txt, the deletion guard equal to
crds/policies/ and its switch, the metrics Service and ServiceMonitor, leader election: the
Lease's Role, and what replicaCount above 1 adds: RollingUpdate, a PodDisruptionBudget, POD_NAME);
values the chart refuses (unknown keys at every level it defines, too); that every value is
commented in values.yaml and in the schema; that what users copy (NOTES, README, values.yaml)
names its namespace and quotes `--set` lists for bash; that the Grafana dashboard queries only
series the operator defines; and that the chart's CRDs are byte-equal to crds/.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from astra_operator import metrics
from tests.conftest import REPO
from tests.e2e.conftest import CHART, Helm

pytestmark = pytest.mark.integration

Doc = dict[str, Any]


def render(helm: Helm, *values: str, namespace: str = "ops") -> list[Doc]:
    out = helm("template", "rel", str(CHART), "--namespace", namespace, *values).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def kinds(docs: list[Doc]) -> list[tuple[str, str | None]]:
    return sorted((d["kind"], d["metadata"].get("namespace")) for d in docs)


def one(docs: list[Doc], kind: str, namespace: str | None = None) -> Doc:
    found = [
        d
        for d in docs
        if d["kind"] == kind and (namespace is None or d["metadata"].get("namespace") == namespace)
    ]
    assert len(found) == 1, f"{kind} in {namespace}: {len(found)} found"
    return found[0]


def named(docs: list[Doc], kind: str, name: str) -> Doc:
    [found] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def env_of(container: Doc) -> dict[str, object]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def rules(role: Doc) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) triples, with resourceNames appended to the resource."""
    found = set()
    for rule in role["rules"]:
        names = ",".join(rule.get("resourceNames", []))
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    found.add((group, f"{resource}[{names}]" if names else resource, verb))
    return found


NAMESPACED_RULES = {
    ("astra.operator.dev", "astradatabases", "get"),
    ("astra.operator.dev", "astradatabases", "list"),
    ("astra.operator.dev", "astradatabases", "watch"),
    ("astra.operator.dev", "astradatabases", "patch"),
    ("astra.operator.dev", "astradatabases/status", "patch"),
    ("astra.operator.dev", "astradatabases/finalizers", "update"),
    ("astra.operator.dev", "astraroles", "get"),
    ("astra.operator.dev", "astraroles", "list"),
    ("astra.operator.dev", "astraroles", "watch"),
    ("astra.operator.dev", "astraroles", "patch"),
    ("astra.operator.dev", "astraroles/status", "patch"),
    ("astra.operator.dev", "astraroles/finalizers", "update"),
    ("astra.operator.dev", "astratokens", "get"),
    ("astra.operator.dev", "astratokens", "list"),
    ("astra.operator.dev", "astratokens", "watch"),
    ("astra.operator.dev", "astratokens", "patch"),
    ("astra.operator.dev", "astratokens/status", "patch"),
    ("astra.operator.dev", "astratokens/finalizers", "update"),
    ("", "events", "create"),
    ("", "secrets", "get"),
    ("", "secrets", "create"),
    ("", "secrets", "update"),
}
CRD_SCAN = {
    ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
    ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
}
NAMESPACE_SCAN = {("", "namespaces", "list"), ("", "namespaces", "watch")}
LEASE_RULES = {
    ("coordination.k8s.io", "leases", "create"),
    ("coordination.k8s.io", "leases[rel-astra-operator]", "get"),
    ("coordination.k8s.io", "leases[rel-astra-operator]", "update"),
}
LEADER_ELECTION = "rel-astra-operator-leader-election"


def test_lint_strict_passes(helm: Helm) -> None:
    result = helm("lint", "--strict", str(CHART))
    assert "0 chart(s) failed" in result.stdout


def test_chart_crds_are_byte_equal_to_crds_dir() -> None:
    generated = sorted(p.name for p in (REPO / "crds").glob("*.yaml"))
    charted = sorted(p.name for p in (CHART / "crds").glob("*.yaml"))
    assert charted == generated, "helm/astra-operator/crds/ and crds/ hold different files"
    for name in generated:
        assert (CHART / "crds" / name).read_bytes() == (REPO / "crds" / name).read_bytes(), (
            f"{name} differs: cp crds/{name} helm/astra-operator/crds/"
        )


def crds_dir() -> dict[str, Doc]:
    """The CRDs in crds/, by name."""
    found = [yaml.safe_load(p.read_text()) for p in sorted((REPO / "crds").glob("*.yaml"))]
    return {crd["metadata"]["name"]: crd for crd in found}


def test_argocd_style_render_includes_every_crd(helm: Helm) -> None:
    # ArgoCD renders charts with `helm template --include-crds` and applies crds/ every sync.
    out = helm("template", "rel", str(CHART), "--include-crds").stdout
    rendered = [d for d in yaml.safe_load_all(out) if d and d["kind"] == "CustomResourceDefinition"]
    by_name = {crd["metadata"]["name"]: crd for crd in rendered}
    assert len(by_name) == len(rendered), "a CRD is rendered twice"
    expected = crds_dir()
    assert sorted(by_name) == sorted(expected)
    assert {"astradatabases.astra.operator.dev", "astraroles.astra.operator.dev"} <= set(by_name)
    for name, crd in expected.items():
        assert by_name[name] == crd, f"{name} rendered differs from crds/"


def test_every_kind_in_crds_gets_the_rules_astradatabases_get(helm: Helm) -> None:
    # Every kind runs on the same engine: a kind added to crds/ without RBAC would be watched
    # with 403s. Each gets exactly the database rules, on its own plural.
    plurals = sorted(crd["spec"]["names"]["plural"] for crd in crds_dir().values())
    assert {"astradatabases", "astraroles"} <= set(plurals)
    granted = rules(one(render(helm), "ClusterRole"))
    database = {(g, r, v) for g, r, v in granted if r.split("/")[0] == "astradatabases"}
    assert len(database) == 6, database
    for plural in plurals:
        mine = {(g, r, v) for g, r, v in granted if r.split("/")[0] == plural}
        assert mine == {(g, r.replace("astradatabases", plural), v) for g, r, v in database}


def test_default_values_watch_all_namespaces_with_one_cluster_role(helm: Helm) -> None:
    docs = render(helm)
    assert kinds(docs) == [
        ("ClusterRole", None),
        ("ClusterRoleBinding", None),
        ("Deployment", "ops"),
        ("Role", "ops"),  # the Lease (leader election is on by default)
        ("RoleBinding", "ops"),
        ("Service", "ops"),
        ("ServiceAccount", "ops"),
        ("ValidatingAdmissionPolicy", None),
        ("ValidatingAdmissionPolicyBinding", None),
    ]
    # Watching all namespaces, kopf never lists namespaces: that rule is not granted.
    assert rules(one(docs, "ClusterRole")) == NAMESPACED_RULES | CRD_SCAN
    assert rules(named(docs, "Role", LEADER_ELECTION)) == LEASE_RULES
    binding = one(docs, "ClusterRoleBinding")
    sa = one(docs, "ServiceAccount")["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": "ops"}]
    env = env_of(one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0])
    assert env["ASTRA_NAMESPACES"] == ""


def test_deployment_is_one_hardened_replica_configured_by_env(helm: Helm) -> None:
    # One replica: Recreate (never two Pods at once) and no PodDisruptionBudget (it would
    # block every node drain); leader election on all the same, without POD_NAME.
    docs = render(helm)
    assert not [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    deployment = one(docs, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    [container] = pod["containers"]
    assert container["image"] == "astra-operator:0.1.0"
    hardening = container["securityContext"]
    assert hardening["readOnlyRootFilesystem"] is True
    assert hardening["allowPrivilegeEscalation"] is False
    assert hardening["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"]["limits"]["memory"] == "256Mi"
    assert container["args"] == ["--liveness=http://0.0.0.0:8080/healthz"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert env_of(container) == {
        "ASTRA_API_URL": "https://api.astra.datastax.com",
        "ASTRA_NAMESPACES": "",
        "ASTRA_OPERATOR_NAMESPACE": {"fieldRef": {"fieldPath": "metadata.namespace"}},
        "ASTRA_CREDENTIALS_SECRET": "astra-credentials",
        "ASTRA_CREDENTIALS_KEY": "token",
        "ASTRA_DEFAULT_DELETION_POLICY": "Retain",
        "ASTRA_POLL_INTERVAL": "60",
        "ASTRA_LOG_FORMAT": "json",
        "ASTRA_PASS_DEADLINE": "120",
        "ASTRA_LEADER_ELECTION": "on",
        "ASTRA_LEADER_LEASE_NAME": "rel-astra-operator",
        "ASTRA_LEADER_LEASE_SECONDS": "15",
        "ASTRA_METRICS_PORT": "8081",
    }
    # Unset: the operator's default token serves its own (the release) namespace only.
    assert "ASTRA_DEFAULT_CREDENTIALS_NAMESPACES" not in env_of(container)


def test_watch_namespaces_render_a_role_per_namespace(helm: Helm) -> None:
    watch = "watchNamespaces={team-a,team-b}"
    docs = render(helm, "--set", watch, "--set", "defaultCredentialsNamespaces={team-a}")
    assert kinds(docs) == [
        ("ClusterRole", None),
        ("ClusterRoleBinding", None),
        ("Deployment", "ops"),
        ("Role", "ops"),
        ("Role", "ops"),
        ("Role", "team-a"),
        ("Role", "team-b"),
        ("RoleBinding", "ops"),
        ("RoleBinding", "ops"),
        ("RoleBinding", "team-a"),
        ("RoleBinding", "team-b"),
        ("Service", "ops"),
        ("ServiceAccount", "ops"),
        ("ValidatingAdmissionPolicy", None),
        ("ValidatingAdmissionPolicyBinding", None),
    ]
    # Cluster-wide, only what kopf's discovery needs; namespaced rules per watched namespace.
    assert rules(one(docs, "ClusterRole")) == CRD_SCAN | NAMESPACE_SCAN
    assert rules(one(docs, "Role", "team-a")) == NAMESPACED_RULES
    assert rules(one(docs, "Role", "team-b")) == NAMESPACED_RULES
    # In its own (unwatched) namespace, the operator reads its default token Secret only,
    # and writes its Lease.
    credentials = named(docs, "Role", "rel-astra-operator-credentials")
    assert rules(credentials) == {("", "secrets[astra-credentials]", "get")}
    assert rules(named(docs, "Role", LEADER_ELECTION)) == LEASE_RULES
    env = env_of(one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0])
    assert env["ASTRA_NAMESPACES"] == "team-a,team-b"
    assert env["ASTRA_DEFAULT_CREDENTIALS_NAMESPACES"] == "team-a"


def test_no_default_token_read_when_no_watched_namespace_may_use_it(helm: Helm) -> None:
    # Unset, the default token serves only the release namespace; not watched, it serves
    # nothing, so the operator never reads that Secret and is not allowed to.
    docs = render(helm, "--set", "watchNamespaces={team-a}")
    for kind in ("Role", "RoleBinding"):
        found = [d["metadata"] for d in docs if d["kind"] == kind]
        assert [m["namespace"] for m in found if m["name"] != LEADER_ELECTION] == ["team-a"]
    env = env_of(one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0])
    assert "ASTRA_DEFAULT_CREDENTIALS_NAMESPACES" not in env


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], None),
        (["--set", "defaultCredentialsNamespaces={*}"], "*"),
        (["--set", "defaultCredentialsNamespaces={team-b,ops}"], "team-b,ops"),
        (
            [
                "--set",
                "watchNamespaces={team-a,team-b}",
                "--set",
                "defaultCredentialsNamespaces={*}",
            ],
            "*",
        ),
    ],
    ids=["unset", "all", "listed", "all-watched"],
)
def test_default_credentials_namespaces_reach_the_container(
    helm: Helm, values: list[str], expected: str | None
) -> None:
    container = one(render(helm, *values), "Deployment")["spec"]["template"]["spec"]
    env = env_of(container["containers"][0])
    assert env.get("ASTRA_DEFAULT_CREDENTIALS_NAMESPACES") == expected


def test_watching_the_release_namespace_needs_no_credentials_role(helm: Helm) -> None:
    docs = render(helm, "--set", "watchNamespaces={ops}")
    names = [d["metadata"]["name"] for d in docs if d["kind"] == "Role"]
    assert names == ["rel-astra-operator", LEADER_ELECTION]


def test_settings_reach_the_container(helm: Helm) -> None:
    docs = render(
        helm,
        "--set", "apiUrl=https://astra.example.test",
        "--set", "credentials.secretName=tok,credentials.key=t",
        "--set", "defaultDeletionPolicy=Delete,pollInterval=15,logFormat=text,verbose=true",
        "--set-string", "extraEnv[0].name=ASTRA_API_TIMEOUT,extraEnv[0].value=45",
        "--set", "image.repository=registry.test/astra-operator,image.tag=dev",
        "--set", "livenessProbe.port=9090",
        "--set", "passDeadline=300",
    )  # fmt: skip
    [container] = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.test/astra-operator:dev"
    assert container["args"] == ["--liveness=http://0.0.0.0:9090/healthz", "--verbose"]
    env = env_of(container)
    assert env["ASTRA_API_URL"] == "https://astra.example.test"
    assert (env["ASTRA_CREDENTIALS_SECRET"], env["ASTRA_CREDENTIALS_KEY"]) == ("tok", "t")
    assert env["ASTRA_DEFAULT_DELETION_POLICY"] == "Delete"
    assert (env["ASTRA_POLL_INTERVAL"], env["ASTRA_LOG_FORMAT"]) == ("15", "text")
    assert env["ASTRA_API_TIMEOUT"] == "45"
    assert env["ASTRA_PASS_DEADLINE"] == "300"


def notes(helm: Helm, tmp_path: Path, *values: str) -> str:
    """NOTES.txt rendered without a cluster (`helm template` never prints it): a copy of the
    chart wraps it in a named template that a manifest prints as a JSON string."""
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    body = (chart / "templates" / "NOTES.txt").read_text()
    (chart / "templates" / "NOTES.txt").unlink()
    wrapped = '{{- define "test.notes" -}}\n' + body + "{{- end }}\n"
    (chart / "templates" / "_test_notes.tpl").write_text(wrapped)
    (chart / "templates" / "test-notes.yaml").write_text(
        'notes: {{ include "test.notes" . | toJson }}\n'
    )
    out = helm(
        "template", "rel", str(chart), "--namespace", "ops",
        "--show-only", "templates/test-notes.yaml", *values,
    ).stdout  # fmt: skip
    text: str = yaml.safe_load(out)["notes"]
    return text


@pytest.mark.parametrize(
    ("values", "says"),
    [
        (
            [],
            [
                "AstraDatabase, AstraRole and AstraToken objects in all namespaces",
                "token in ops only",
            ],
        ),
        (
            ["--set", "watchNamespaces={team-a}"],
            ["objects in: team-a", "serves no watched namespace", "their own Astra token"],
        ),
        (
            ["--set", "watchNamespaces={team-a}", "--set", "defaultCredentialsNamespaces={team-a}"],
            ["default Astra token in: team-a;", "create secret generic astra-credentials"],
        ),
        (["--set", "defaultCredentialsNamespaces={*}"], ["token in every watched namespace"]),
    ],
    ids=["default", "watched-no-default-token", "watched-listed", "all"],
)
def test_notes_say_which_kinds_and_where_the_default_token_serves(
    helm: Helm, tmp_path: Path, values: list[str], says: list[str]
) -> None:
    text = " ".join(notes(helm, tmp_path, *values).split())
    assert "Trust model" in text
    for phrase in says:
        assert phrase in text, f"{phrase!r} not in NOTES:\n{text}"


# --- leader election and replicas ---------------------------------------------------------


def test_replicas_roll_one_at_a_time_under_a_disruption_budget(helm: Helm) -> None:
    docs = render(helm, "--set", "replicaCount=3", "--set", "leaderElection.leaseSeconds=20")
    deployment = one(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    # A new Pod (a standby, Ready) before an old one stops: never no replica at all.
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    budget = one(docs, "PodDisruptionBudget", "ops")
    assert budget["spec"] == {
        "minAvailable": 1,
        "selector": deployment["spec"]["selector"],
    }
    env = env_of(deployment["spec"]["template"]["spec"]["containers"][0])
    assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert (env["ASTRA_LEADER_ELECTION"], env["ASTRA_LEADER_LEASE_SECONDS"]) == ("on", "20")


def test_the_lease_the_operator_uses_is_the_one_its_role_names(helm: Helm) -> None:
    # The operator's Lease: ASTRA_LEADER_LEASE_NAME in its own namespace (the release's: no
    # ASTRA_LEADER_LEASE_NAMESPACE), exactly what the Role lets it read and write there.
    docs = render(helm, "--set", "fullnameOverride=ops-operator", "--set", "replicaCount=2")
    env = env_of(one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0])
    assert "ASTRA_LEADER_LEASE_NAMESPACE" not in env
    assert env["ASTRA_OPERATOR_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    role = named(docs, "Role", "ops-operator-leader-election")
    assert role["metadata"]["namespace"] == "ops"
    lease = env["ASTRA_LEADER_LEASE_NAME"]
    assert rules(role) == {
        ("coordination.k8s.io", "leases", "create"),
        ("coordination.k8s.io", f"leases[{lease}]", "get"),
        ("coordination.k8s.io", f"leases[{lease}]", "update"),
    }
    binding = named(docs, "RoleBinding", "ops-operator-leader-election")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    sa = one(docs, "ServiceAccount")["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": "ops"}]


def test_leader_election_off_leaves_one_standalone_replica(helm: Helm) -> None:
    docs = render(helm, "--set", "leaderElection.enabled=false")
    assert not [d for d in docs if d["kind"] in ("Role", "RoleBinding", "PodDisruptionBudget")]
    env = env_of(one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0])
    assert not [name for name in env if "LEADER" in name or name == "POD_NAME"]
    docs = render(helm, "--set", "rbac.create=false")  # the Lease's rules are then yours to grant
    assert not [d for d in docs if d["kind"] in ("Role", "RoleBinding")]


# --- the deletion guard -------------------------------------------------------------------

GUARD_KINDS = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")


def test_deletion_guard_renders_the_generated_policy_by_default(helm: Helm) -> None:
    # The template and crds/policies/ are both generated by `astra-operator crds`; rendered
    # for the release `astra-operator`, the chart's copy is the kubectl manifest plus labels.
    out = helm(
        "template", "astra-operator", str(CHART), "--namespace", "ops",
        "--show-only", "templates/deletion-guard.yaml",
    ).stdout  # fmt: skip
    rendered = [d for d in yaml.safe_load_all(out) if d]
    manifest = REPO / "crds" / "policies" / "deletion-guard.yaml"
    expected = [d for d in yaml.safe_load_all(manifest.read_text()) if d]
    assert [d["kind"] for d in rendered] == [d["kind"] for d in expected] == list(GUARD_KINDS)
    for got, want in zip(rendered, expected, strict=True):
        assert got["metadata"]["name"] == want["metadata"]["name"]
        assert got["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        assert {k: v for k, v in got.items() if k != "metadata"} == {
            k: v for k, v in want.items() if k != "metadata"
        }
    policy, binding = rendered
    assert binding["spec"] == {
        "policyName": policy["metadata"]["name"],
        "validationActions": ["Deny"],
    }
    # Another release gets its own (cluster-scoped) names.
    names = {d["metadata"]["name"] for d in render(helm) if d["kind"] in GUARD_KINDS}
    assert names == {"rel-astra-operator-deletion-guard"}


def test_deletion_guard_disappears_when_disabled(helm: Helm) -> None:
    docs = render(helm, "--set", "deletionGuard.enabled=false")
    assert not [d for d in docs if d["kind"] in GUARD_KINDS]
    assert kinds(docs) == kinds([d for d in render(helm) if d["kind"] not in GUARD_KINDS])


def test_the_notes_say_whether_the_deletion_guard_is_installed(helm: Helm, tmp_path: Path) -> None:
    on = " ".join(notes(helm, tmp_path / "on").split())
    assert "refuses to delete an AstraDatabase with spec.deletionProtection: true" in on
    assert "ValidatingAdmissionPolicy rel-astra-operator-deletion-guard" in on
    off = notes(helm, tmp_path / "off", "--set", "deletionGuard.enabled=false")
    assert "deletionProtection" not in off


def test_deletion_guard_is_refused_below_kubernetes_1_30(helm: Helm) -> None:
    old = ("template", "rel", str(CHART), "--kube-version", "1.29.4")
    result = helm(*old, check=False)
    assert result.returncode != 0
    assert "deletionGuard.enabled needs Kubernetes 1.30 or later" in result.stderr
    assert "set deletionGuard.enabled=false" in result.stderr
    docs = render(helm, "--kube-version", "1.29.4", "--set", "deletionGuard.enabled=false")
    assert not [d for d in docs if d["kind"] in GUARD_KINDS]


def test_credentials_secret_is_created_only_on_request(helm: Helm) -> None:
    assert not [d for d in render(helm) if d["kind"] == "Secret"]
    token = "AstraCS:not-a-real-token"
    docs = render(helm, "--set", f"credentials.create=true,credentials.token={token}")
    secret = one(docs, "Secret")
    assert secret["metadata"] == {**secret["metadata"], "name": "astra-credentials"}
    assert set(secret["data"]) == {"token"}


def test_clusters_older_than_1_29_are_refused(helm: Helm) -> None:
    result = helm("template", "rel", str(CHART), "--kube-version", "1.28.0", check=False)
    assert "requires kubeVersion: >=1.29.0-0" in result.stderr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["--set", "replicaCount=2,leaderElection.enabled=false"], "needs leaderElection"),
        (["--set", "replicaCount=0"], "replicaCount"),
        (["--set", "leaderElection.leaseSeconds=2"], "leaseSeconds"),
        (["--set", "watchNamespaces={team-*}"], "watchNamespaces"),
        (["--set", "credentials.create=true"], "credentials.token is required"),
        (["--set", "defaultDeletionPolicy=Orphan"], "defaultDeletionPolicy"),
        (["--set", "logFormat=yaml"], "logFormat"),
        (["--set", "extraEnv[0].name=X,extraEnv[0].value=1"], "extraEnv"),
        (["--set", "serviceAccount.create=false"], "serviceAccount.name is required"),
        (["--set", "defaultCredentialsNamespaces={team-*}"], "defaultCredentialsNamespaces"),
        (["--set", "defaultCredentialsNamespaces={*,team-a}"], "not both"),
        (
            ["--set", "watchNamespaces={team-a}", "--set", "defaultCredentialsNamespaces={team-b}"],
            "not in watchNamespaces",
        ),
        (["--set", "passDeadline=0"], "passDeadline"),
        (["--set", "metrics.port=8080"], "metrics.port must differ from livenessProbe.port"),
        (["--set", "metrics.port=80"], "metrics/port"),
        (
            ["--set", "metrics.port=0,metrics.serviceMonitor.enabled=true"],
            "metrics.serviceMonitor.enabled needs metrics.port",
        ),
    ],
    ids=[
        "two-replicas-without-leader-election",
        "no-replica",
        "lease-too-short",
        "glob",
        "create-without-token",
        "policy",
        "log-format",
        "env-not-string",
        "no-sa-name",
        "default-credentials-glob",
        "default-credentials-star-and-names",
        "default-credentials-unwatched",
        "pass-deadline-zero",
        "metrics-on-the-health-port",
        "metrics-privileged-port",
        "service-monitor-without-metrics",
    ],
)
def test_values_the_operator_cannot_honour_are_refused(
    helm: Helm, values: list[str], message: str
) -> None:
    result: subprocess.CompletedProcess[str] = helm(
        "template", "rel", str(CHART), *values, check=False
    )
    assert result.returncode != 0, result.stdout
    assert message in result.stderr


# --- values: every one documented, none unknown -------------------------------------------

SCHEMA = CHART / "values.schema.json"


def _schema() -> Doc:
    loaded: Doc = json.loads(SCHEMA.read_text())
    return loaded


def _closed_objects(node: Doc, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Doc]]:
    """Every object node of the schema that lists its properties, with its values path."""
    found = []
    if "properties" in node:
        found.append((path, node))
        for key, child in node["properties"].items():
            found += _closed_objects(child, (*path, key))
    if "items" in node:
        found += _closed_objects(node["items"], (*path, "0"))
    return found


def test_the_schema_refuses_unknown_keys_wherever_it_lists_the_known_ones() -> None:
    for path, node in _closed_objects(_schema()):
        assert node.get("additionalProperties") is False, f"{'.'.join(path) or 'top level'}"


def _set_path(path: tuple[str, ...], leaf: str) -> str:
    out = ""
    for part in (*path, leaf):
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


@pytest.mark.parametrize(
    "path", [p for p, _ in _closed_objects(_schema())], ids=lambda p: ".".join(p) or "top"
)
def test_an_unknown_value_is_refused(helm: Helm, path: tuple[str, ...]) -> None:
    values = ["--set-string", f"{_set_path(path, 'notAValue')}=1"]
    if path and path[-1] == "0":  # a list item: give it its required fields
        values += ["--set-string", f"{_set_path(path, 'name')}=X"]
    result = helm("template", "rel", str(CHART), *values, check=False)
    assert result.returncode != 0, result.stdout
    assert "additional properties 'notAValue' not allowed" in result.stderr


def test_a_parent_charts_globals_are_accepted(helm: Helm) -> None:
    render(helm, "--set", "global.imageRegistry=registry.test")


def _value_lines() -> list[tuple[tuple[str, ...], int]]:
    """(path, line index) of every key in values.yaml."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    found, stack = [], []  # stack: (indent, key)
    for index, line in enumerate(lines):
        match = re.match(r"^( *)([A-Za-z][\w-]*):", line)
        if not match:
            continue
        indent = len(match.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match.group(2)))
        found.append((tuple(k for _, k in stack), index))
    return found


def test_every_value_is_commented() -> None:
    """Every key the chart defines (the top level and the objects whose keys the schema
    lists) has a comment on the line above it or at its end. Kubernetes objects passed
    through (resources, securityContext, ...) are commented as a whole."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    closed = {p for p, _ in _closed_objects(_schema())}
    missing = []
    for path, index in _value_lines():
        if path[:-1] not in closed:
            continue
        above = lines[index - 1].strip() if index else ""
        if not above.startswith("#") and " # " not in lines[index]:
            missing.append(".".join(path))
    assert not missing, f"values.yaml: no comment for {missing}"


def test_values_yaml_and_the_schema_list_the_same_values() -> None:
    closed = {p: node for p, node in _closed_objects(_schema())}
    in_yaml = {path for path, _ in _value_lines() if path[:-1] in closed}
    in_schema = {(*p, key) for p, node in closed.items() for key in node["properties"]}
    in_schema = {p for p in in_schema if "0" not in p and p != ("global",)}
    assert in_yaml == in_schema


# --- probes ------------------------------------------------------------------------------


def test_readiness_probe_uses_the_endpoint_the_operator_serves(helm: Helm) -> None:
    [container] = one(render(helm), "Deployment")["spec"]["template"]["spec"]["containers"]
    ready, live = container["readinessProbe"], container["livenessProbe"]
    # kopf serves exactly one path, the one in --liveness, once the operator has started.
    [arg] = [a for a in container["args"] if a.startswith("--liveness=")]
    served = re.fullmatch(r"--liveness=http://0\.0\.0\.0:(\d+)(/\S*)", arg)
    assert served is not None, arg
    [port] = [p for p in container["ports"] if p["name"] == ready["httpGet"]["port"]]
    assert (str(port["containerPort"]), ready["httpGet"]["path"]) == served.groups()
    assert ready["httpGet"] == live["httpGet"]
    assert ready["periodSeconds"] < live["periodSeconds"]


def test_readiness_alone_still_serves_the_endpoint(helm: Helm) -> None:
    docs = render(helm, "--set", "livenessProbe.enabled=false")
    [container] = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert "livenessProbe" not in container
    assert container["readinessProbe"]["httpGet"]["port"] == "health"
    assert container["args"] == ["--liveness=http://0.0.0.0:8080/healthz"]
    docs = render(helm, "--set", "livenessProbe.enabled=false,readinessProbe.enabled=false")
    [container] = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert "readinessProbe" not in container
    assert [p["name"] for p in container["ports"]] == ["metrics"]  # /healthz is not served
    assert "args" not in container or not container["args"]


# --- metrics: the Service, the ServiceMonitor, the dashboard -------------------------------

DASHBOARD = CHART / "dashboards" / "astra-operator.json"


def test_metrics_are_served_on_a_named_port_behind_a_service(helm: Helm) -> None:
    docs = render(helm, "--set", "metrics.port=9102")
    [container] = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert env_of(container)["ASTRA_METRICS_PORT"] == "9102"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"health": 8080, "metrics": 9102}
    service = one(docs, "Service", "ops")
    assert service["metadata"]["name"] == "rel-astra-operator-metrics"
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 9102, "targetPort": "metrics", "protocol": "TCP"}
    ]
    pod_labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert not [d for d in docs if d["kind"] == "ServiceMonitor"], "off by default"


def test_metrics_off_render_no_port_no_service(helm: Helm) -> None:
    docs = render(helm, "--set", "metrics.port=0")
    [container] = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert env_of(container)["ASTRA_METRICS_PORT"] == "0"
    assert [p["name"] for p in container["ports"]] == ["health"]
    assert not [d for d in docs if d["kind"] in ("Service", "ServiceMonitor")]


def test_the_service_monitor_renders_only_when_enabled(helm: Helm) -> None:
    assert not [d for d in render(helm) if d["kind"] == "ServiceMonitor"]
    docs = render(
        helm,
        "--set", "metrics.serviceMonitor.enabled=true,metrics.serviceMonitor.interval=15s",
        "--set-string", "metrics.serviceMonitor.labels.release=prom",
    )  # fmt: skip
    monitor = one(docs, "ServiceMonitor", "ops")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "15s"}
    ]
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["ops"]}
    service = one(docs, "Service", "ops")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert service["spec"]["ports"][0]["name"] == "metrics"


def _dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for panel in board["panels"] for t in panel.get("targets", [])]
    for variable in board.get("templating", {}).get("list", []):
        query = variable.get("query")
        if isinstance(query, dict):
            queries.append(query.get("query", ""))
    return queries


def test_the_dashboard_queries_only_series_the_operator_defines() -> None:
    # The drift check between the dashboard and astra_operator/metrics.py: every series name a
    # query uses must be one the operator's registry exposes (a renamed or dropped series
    # fails here instead of leaving an empty panel).
    defined = metrics.series_names(metrics.REGISTRY)
    queries = _dashboard_queries()
    assert queries
    used = {n for q in queries for n in re.findall(r"\bastra_operator_[a-z0-9_]+", q)}
    unknown = sorted(used - defined)
    assert unknown == [], f"{DASHBOARD.name} queries series metrics.py does not define"
    for family in (
        "reconcile_total", "api_requests_total", "api_request_duration_seconds_bucket",
        "api_rate_limited_total", "objects", "databases",
        "generation_to_ready_seconds_bucket", "passes_running",
    ):  # fmt: skip
        assert f"astra_operator_{family}" in used, f"no panel shows astra_operator_{family}"


# --- what users copy: NOTES and --set lists ------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        ["--set", "watchNamespaces={team-a}"],
        [
            "--set",
            "watchNamespaces={team-a,team-b}",
            "--set",
            "defaultCredentialsNamespaces={team-a}",
        ],
        ["--set", "watchNamespaces={ops,team-a}"],
        [],
    ],
    ids=["watched", "watched-default-token", "watched-release-ns", "all-namespaces"],
)
def test_every_kubectl_line_in_the_notes_names_its_namespace(
    helm: Helm, tmp_path: Path, values: list[str]
) -> None:
    text = notes(helm, tmp_path, *values)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("kubectl")]
    assert lines
    for line in lines:
        if line.startswith(("kubectl create namespace", "kubectl apply --server-side -f crds/")):
            continue
        assert re.match(r"kubectl -n [a-z0-9-]+ ", line), f"no -n: {line!r}\n{text}"
    applied = [ln for ln in lines if " apply -f examples/" in ln]
    assert len(applied) == 1
    where = applied[0].split()[2]
    if values:  # the namespace the examples go to is watched
        assert where in values[1].split("=")[1].strip("{}").split(",")
    # ... and has the Secret the example reads (spec.credentials.secretRef: astra-credentials)
    secret = [ln for ln in lines if "create secret generic astra-credentials" in ln]
    assert any(ln.split()[2] == where for ln in secret), text


def _set_words(text: str) -> list[str]:
    """The value words of every `--set` with braces, as written (quotes included)."""
    return re.findall(
        r"--set(?:-string)? ('[^']*\{[^']*'|\"[^\"]*\{[^\"]*\"|[^\s`'\"]*\{\S*)", text
    )


def _bash_words(word: str) -> list[str]:
    out = subprocess.run(
        ["bash", "-c", f"printf '%s\\n' {word}"], capture_output=True, text=True, check=True
    )
    return out.stdout.splitlines()


def test_lists_given_with_set_are_quoted_where_users_copy_them(helm: Helm, tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text()
    install = readme[readme.index("## Install on a cluster") : readme.index("## What you get")]
    texts = {
        "README install section": install,
        "values.yaml": (CHART / "values.yaml").read_text(),
        "NOTES": notes(helm, tmp_path / "a", "--set", "watchNamespaces={team-a}"),
        "NOTES (default)": notes(helm, tmp_path / "b"),
    }
    seen = 0
    for where, text in texts.items():
        for word in _set_words(text):
            seen += 1
            assert len(_bash_words(word)) == 1, f"{where}: bash splits --set {word}"
    assert seen >= 3
    assert _bash_words("watchNamespaces={team-a,team-b}") == [
        "watchNamespaces=team-a",
        "watchNamespaces=team-b",
    ], "the check itself: unquoted, bash expands the braces"
