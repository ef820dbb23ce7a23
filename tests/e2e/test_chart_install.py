"""The chart installed with helm, and the operator running with exactly the chart's permissions.

Real: helm, kube-apiserver + etcd (or ASTRA_TEST_KUBECONFIG's cluster), the ``astra-operator``
entry point (the image's ENTRYPOINT) and the simulator. A bare apiserver runs no Pods, so the
test starts the operator process itself, with the container's args and env taken from the
installed Deployment and a kubeconfig holding a token of the chart's ServiceAccount.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kubernetes import client as k8s

from astra_operator.controlplane import plane
from tests.conftest import REPO, Cluster, Kubectl, ServiceAccountKubeconfig
from tests.e2e.conftest import CHART, Helm, release_names
from tests.integration.conftest import FAST_ENV, Databases, Sim, put_secret, wait_for

pytestmark = pytest.mark.integration

CRD = "crd/astradatabases.astra.operator.dev"
EXAMPLE = REPO / "examples" / "database-serverless.yaml"
# What a permission failure looks like in kopf's and our logs (JSON or text).
DENIED = re.compile(
    r"forbidden|not enough permissions|not allowed|\(403\)|code\W{1,4}403", re.IGNORECASE
)


@dataclasses.dataclass
class Release:
    """One installed release of the chart."""

    name: str
    namespace: str
    manifest: list[dict[str, Any]]

    def find(self, kind: str) -> dict[str, Any]:
        [found] = [d for d in self.manifest if d["kind"] == kind]
        return found

    @property
    def container(self) -> dict[str, Any]:
        containers: list[dict[str, Any]] = self.find("Deployment")["spec"]["template"]["spec"][
            "containers"
        ]
        return containers[0]

    @property
    def service_account(self) -> str:
        return str(self.find("Deployment")["spec"]["template"]["spec"]["serviceAccountName"])


@pytest.fixture
def install(
    helm_cluster: Helm, kubectl: Kubectl, namespace: str
) -> Iterator[Callable[..., Release]]:
    """Factory: ``helm install`` the chart into this test's namespace (uninstalled afterwards)."""
    installed: list[str] = []

    def run(*values: str) -> Release:
        name = f"ao-{uuid.uuid4().hex[:6]}"  # ClusterRoles are cluster-wide: unique names
        # No --wait: a bare apiserver runs no Pods, so the Deployment never becomes available.
        helm_cluster("install", name, str(CHART), "--namespace", namespace, *values)
        installed.append(name)
        kubectl("wait", "--for=condition=Established", "--timeout=60s", CRD)
        text = helm_cluster("get", "manifest", name, "--namespace", namespace).stdout
        return Release(name, namespace, [d for d in yaml.safe_load_all(text) if d])

    yield run
    for name in installed:
        if name in release_names(helm_cluster, namespace):
            helm_cluster("uninstall", name, "--namespace", namespace)


@pytest.fixture
def app_namespace(kube_api: k8s.ApiClient) -> str:
    """A second fresh namespace, for the databases (the release has its own)."""
    name = f"app-{uuid.uuid4().hex[:8]}"
    k8s.CoreV1Api(kube_api).create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name)))
    return name


class ChartOperator:
    """``astra-operator run`` started as the chart's container would start it."""

    def __init__(self, release: Release, kubeconfig: Path, sim: Sim, log: Path) -> None:
        self.port = plane.free_port()
        self.log = log
        entrypoint = Path(sys.executable).with_name("astra-operator")  # the image's ENTRYPOINT
        args = [
            a.replace("0.0.0.0:8080", f"127.0.0.1:{self.port}") for a in release.container["args"]
        ]
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
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


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
    values = ["--set", f"watchNamespaces={{{app_namespace}}}"] if scope != "all-namespaces" else []
    release = install(*values)
    kubeconfig = service_account_kubeconfig(release.namespace, release.service_account)
    token = sim.admin_token
    # The example's own token Secret, and the operator's default one (used by "plain").
    put_secret(kube_api, app_namespace, "astra-credentials", {"token": token})
    put_secret(kube_api, release.namespace, "astra-credentials", {"token": token})
    log = tmp_path / "operator.log"
    databases = Databases(kube_api, app_namespace)

    with ChartOperator(release, kubeconfig, sim, log) as operator:
        kubectl("apply", "-n", app_namespace, "-f", str(EXAMPLE))
        databases.apply(
            "plain",
            {"cloudProvider": "AWS", "region": "us-east-2", "connectionSecret": {"name": "plain"}},
        )
        databases.wait_condition("rag-vectors", "Ready", "True", timeout=60)
        databases.wait_condition("plain", "Ready", "True", timeout=60)
        conn = wait_for(
            "connection secret",
            lambda: read_secret(kube_api, app_namespace, "rag-vectors-connection"),
        )
        assert conn["databaseID"] == databases.get("rag-vectors")["status"]["databaseID"]  # type: ignore[index]
        assert wait_for("plain's secret", lambda: read_secret(kube_api, app_namespace, "plain"))
        assert "Created" in [reason for _, reason, _ in databases.events("rag-vectors")]
        assert operator.healthy(), "kopf's liveness endpoint did not answer 200"
        for name in ("rag-vectors", "plain"):
            kubectl("delete", "astradatabase", name, "-n", app_namespace, "--wait=false")
        wait_for("the databases to be released", lambda: not databases.get("rag-vectors"))
        wait_for("plain to be released", lambda: not databases.get("plain"))

    text = log.read_text(errors="replace")
    denied = [line for line in text.splitlines() if DENIED.search(line)]
    assert not denied, "permission errors in the operator log:\n" + "\n".join(denied[:10])
    assert token not in text, "the Astra token appeared in the operator's log"
    assert len(sim.databases()) == 2, "Retain: deleting the objects left both databases in Astra"

    helm_cluster("uninstall", release.name, "--namespace", release.namespace)
    assert release.name not in release_names(helm_cluster, release.namespace)
    gone = kubectl("get", "clusterrole", release.name + "-astra-operator", check=False)
    assert "NotFound" in gone.stderr, gone
    # Helm never deletes crds/: the CRD (and so every user's objects) outlives the release.
    kubectl("get", CRD)
