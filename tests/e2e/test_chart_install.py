"""The chart installed with helm, and the operator running with exactly the chart's permissions.

Real: helm, kube-apiserver + etcd (or ASTRA_TEST_KUBECONFIG's cluster), the ``astra-operator``
entry point (the image's ENTRYPOINT) and the simulator. A bare apiserver runs no Pods, so the
test starts the operator process itself, with the container's args and env taken from the
installed Deployment and a kubeconfig holding a token of the chart's ServiceAccount.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client as k8s

from astra_operator.controlplane import plane
from tests.conftest import REPO, Cluster, Kubectl, ServiceAccountKubeconfig
from tests.e2e.conftest import CHART, CRD, Helm, Release, can_i, release_names
from tests.integration.conftest import FAST_ENV, Databases, Sim, put_secret, wait_for

pytestmark = pytest.mark.integration

EXAMPLE = REPO / "examples" / "database-serverless.yaml"
# What a permission failure looks like in kopf's and our logs (JSON or text).
DENIED = re.compile(
    r"forbidden|not enough permissions|not allowed|\(403\)|code\W{1,4}403", re.IGNORECASE
)


class ChartOperator:
    """``astra-operator run`` started as the chart's container would start it."""

    def __init__(self, release: Release, kubeconfig: Path, sim: Sim, log: Path) -> None:
        self.port = plane.free_port()
        self.log = log
        entrypoint = Path(sys.executable).with_name("astra-operator")  # the image's ENTRYPOINT
        local = f"127.0.0.1:{self.port}"
        self.container = release.container
        self.release_args: list[str] = release.container["args"]
        args = [a.replace("0.0.0.0:8080", local) for a in self.release_args]
        self.argv = [str(entrypoint), "run", *args]
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("ASTRA_", "KUBE"))}
        self.env = {
            **inherited,
            **container_env(release.container, release.namespace),
            "ASTRA_API_URL": sim.url,  # the one setting changed: Astra is the simulator
            **FAST_ENV,
            "KUBECONFIG": str(kubeconfig),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ChartOperator:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, env=self.env
            )
        return self

    def __exit__(self, *_: object) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def healthy(self) -> bool:
        return self.probe("livenessProbe") == 200

    def probe(self, kind: str) -> int | None:
        """What the kubelet's ``kind`` (livenessProbe, readinessProbe) of the Deployment gets:
        the HTTP status, None when nothing answers."""
        get = self.container[kind]["httpGet"]
        [port] = [p for p in self.container["ports"] if p["name"] == get["port"]]
        assert f"0.0.0.0:{port['containerPort']}{get['path']}" in " ".join(self.release_args), (
            "the probe's port and path are not what the operator serves"
        )
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}{get['path']}", timeout=2).status_code
        except httpx.HTTPError:
            return None


def container_env(container: dict[str, Any], namespace: str) -> dict[str, str]:
    """The container's env as the kubelet would resolve it (only the downward API is used)."""
    env = {}
    for var in container["env"]:
        if "value" in var:
            env[var["name"]] = str(var["value"])
        elif var["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}:
            env[var["name"]] = namespace
        else:
            pytest.fail(f"the test cannot resolve env {var}")
    return env


def read_secret(api: k8s.ApiClient, namespace: str, name: str) -> dict[str, str] | None:
    try:
        found = k8s.CoreV1Api(api).read_namespaced_secret(name, namespace)
    except k8s.ApiException:
        return None
    return {k: base64.b64decode(v).decode() for k, v in (found.data or {}).items()}


def about_others(line: str, namespaces: set[str]) -> bool:
    """Whether a log line is about an object outside ``namespaces`` (another test's leftover,
    which an all-namespaces operator reconciles too; its outcome is not this test's business)."""
    try:
        record = json.loads(line)
    except ValueError:
        return False
    about = record.get("object") if isinstance(record, dict) else None
    where = about.get("namespace") if isinstance(about, dict) else None
    return where is not None and where not in namespaces


def wait_for_rbac(kubectl: Kubectl, kubeconfig: Path, *where: str) -> None:
    """The apiserver's RBAC authorizer learns new bindings from a watch, a moment after the
    install: start the operator only once its first requests are sure to be allowed."""
    wait_for(
        "the chart's RBAC to take effect",
        lambda: (
            can_i(kubectl, kubeconfig, "watch", "astradatabases.astra.operator.dev", *where)
            and can_i(
                kubectl, kubeconfig, "watch", "customresourcedefinitions.apiextensions.k8s.io"
            )
        ),
    )


def reconcile_and_release(
    kubectl: Kubectl, kube_api: k8s.ApiClient, namespace: str, operator: ChartOperator
) -> list[str]:
    """Apply the example and a database on the default token; both Ready; then delete both.

    Returns their database IDs. An all-namespaces operator also reconciles whatever other tests
    left in other namespaces, so callers look at these databases only, never at totals."""
    databases = Databases(kube_api, namespace)
    kubectl("apply", "-n", namespace, "-f", str(EXAMPLE))
    plain = {"cloudProvider": "AWS", "region": "us-east-2", "connectionSecret": {"name": "plain"}}
    databases.apply("plain", plain)  # no spec.credentials: the release namespace's Secret
    databases.wait_condition("rag-vectors", "Ready", "True", timeout=60)
    databases.wait_condition("plain", "Ready", "True", timeout=60)
    conn = wait_for(
        "the example's connection Secret",
        lambda: read_secret(kube_api, namespace, "rag-vectors-connection"),
    )
    status = (databases.get("rag-vectors") or {})["status"]
    assert conn["databaseID"] == status["databaseID"]
    assert wait_for("plain's Secret", lambda: read_secret(kube_api, namespace, "plain"))
    assert "Created" in [reason for _, reason, _ in databases.events("rag-vectors")]
    assert operator.healthy(), "kopf's liveness endpoint did not answer 200"
    assert operator.probe("readinessProbe") == 200, "the readiness probe would fail"
    ids = []
    for name in ("rag-vectors", "plain"):
        ids.append(str((databases.get(name) or {})["status"]["databaseID"]))
        kubectl("delete", "astradatabase", name, "-n", namespace, "--wait=false")
        wait_for(f"{name} to be released", lambda n=name: databases.get(n) is None)
    return ids


@pytest.mark.parametrize("scope", ["all-namespaces", "watch-namespaces"])
def test_operator_with_the_charts_permissions_reconciles_the_example(
    scope: str,
    install: Callable[..., Release],
    helm_cluster: Helm,
    kubectl: Kubectl,
    cluster: Cluster,
    app_namespace: str,
    service_account_kubeconfig: ServiceAccountKubeconfig,
    sim: Sim,
    kube_api: k8s.ApiClient,
    tmp_path: Path,
) -> None:
    if scope == "all-namespaces" and not cluster.is_local:
        pytest.skip("an all-namespaces operator would touch every AstraDatabase of a real cluster")
    token = sim.admin_token
    put_secret(kube_api, app_namespace, "astra-credentials", {"token": token})  # the example's
    if scope == "all-namespaces":
        release = install("--set", f"defaultCredentialsNamespaces={{{app_namespace}}}")
        put_secret(kube_api, release.namespace, "astra-credentials", {"token": token})
        where = ["--all-namespaces"]
    else:  # and the chart creates the default token Secret from a value
        watch = f"watchNamespaces={{{app_namespace}}}"
        creds = ["--set", "credentials.create=true", "--set-string", f"credentials.token={token}"]
        scoped = f"defaultCredentialsNamespaces={{{app_namespace}}}"
        release = install("--set", watch, "--set", scoped, *creds)
        where = ["-n", app_namespace]
    assert token not in release.output, "helm install printed the token"
    kubeconfig = service_account_kubeconfig(release.namespace, release.service_account)
    wait_for_rbac(kubectl, kubeconfig, *where)
    log = tmp_path / "operator.log"

    with ChartOperator(release, kubeconfig, sim, log) as operator:
        ids = reconcile_and_release(kubectl, kube_api, app_namespace, operator)

    text = log.read_text(errors="replace")
    ours = {app_namespace, release.namespace}
    denied = [ln for ln in text.splitlines() if DENIED.search(ln) and not about_others(ln, ours)]
    assert not denied, "permission errors in the operator log:\n" + "\n".join(denied[:10])
    assert token not in text, "the Astra token appeared in the operator's log"
    # Only this test's two databases: an all-namespaces operator may have created others.
    kept = {d["id"]: d["status"] for d in sim.databases() if d["id"] in ids}
    assert sorted(kept) == sorted(ids), f"Retain: both databases stay in Astra; found {kept}"
    assert not {"TERMINATING", "TERMINATED"} & set(kept.values()), f"Retain: {kept}"

    helm_cluster("uninstall", release.name, "--namespace", release.namespace)
    assert release.name not in release_names(helm_cluster, release.namespace)
    gone = kubectl(
        "get", "clusterrole", release.find("ClusterRole")["metadata"]["name"], check=False
    )
    assert "NotFound" in gone.stderr, gone
    # Helm never deletes crds/: the CRD (and so every user's objects) outlives the release.
    kubectl("get", CRD)


def test_watch_namespaces_that_do_not_exist_are_refused_before_anything_is_applied(
    helm_cluster: Helm, kubectl: Kubectl, namespace: str
) -> None:
    name, missing = f"ao-{uuid.uuid4().hex[:6]}", f"nowhere-{uuid.uuid4().hex[:6]}"
    watch = f"watchNamespaces={{{namespace},{missing}}}"
    result = helm_cluster("install", name, str(CHART), "-n", namespace, "--set", watch, check=False)
    assert result.returncode != 0, result.stdout
    assert f"namespace {missing} does not exist" in result.stderr
    assert f"kubectl create namespace {missing}" in result.stderr
    assert name not in release_names(helm_cluster, namespace)
    gone = kubectl("get", "clusterrole", f"{name}-astra-operator", check=False)
    assert "NotFound" in gone.stderr, "something was applied"


def test_the_release_namespace_may_be_watched_and_created_by_helm(
    helm_cluster: Helm, kubectl: Kubectl, app_namespace: str, cluster: Cluster
) -> None:
    """--create-namespace makes the release namespace after the chart is rendered: it is not
    refused as missing."""
    name, fresh = f"ao-{uuid.uuid4().hex[:6]}", f"ops-{uuid.uuid4().hex[:6]}"
    watch = f"watchNamespaces={{{fresh},{app_namespace}}}"
    helm_cluster("install", name, str(CHART), "-n", fresh, "--create-namespace", "--set", watch)
    try:
        assert kubectl("get", "role", "-n", app_namespace, "-o", "name").stdout.strip()
    finally:
        helm_cluster("uninstall", name, "-n", fresh)
        if not cluster.is_local:
            kubectl("delete", "namespace", fresh, "--wait=false")
