"""Fixtures for the chart tests: helm (isolated from the user's helm config), installed releases
of the chart, and the simulator (the integration tier's fixtures, imported so pytest registers
them here too).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s

from tests.conftest import REPO, Cluster, Kubectl, helm_binary
from tests.integration.conftest import sim, simulator  # noqa: F401 (fixtures)

CHART = REPO / "helm" / "astra-operator"
CRD = "crd/astradatabases.astra.operator.dev"
Helm = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """Run helm; its config, cache and data stay in a temp dir (not the user's)."""
    binary = helm_binary()
    home = tmp_path_factory.mktemp("helm-home")
    env = {
        **os.environ,
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_DATA_HOME": str(home / "data"),
        "KUBECONFIG": os.devnull,  # client-only unless a test passes --kubeconfig
    }

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(binary), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"helm {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
            )
        return result

    return run


@pytest.fixture(scope="session")
def helm_cluster(helm: Helm, cluster: Cluster) -> Helm:
    """helm against the test cluster, as its admin."""

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return helm(*args, f"--kubeconfig={cluster.kubeconfig}", check=check)

    return run


def release_names(helm: Helm, namespace: str) -> list[str]:
    listed = json.loads(helm("list", "-n", namespace, "-o", "json").stdout)
    return [str(item["name"]) for item in listed]


@dataclasses.dataclass
class Release:
    """One installed release of the chart and what it rendered."""

    name: str
    namespace: str
    manifest: list[dict[str, Any]]
    output: str  # what `helm install` printed (NOTES.txt)

    def find(self, kind: str) -> dict[str, Any]:
        [found] = [d for d in self.manifest if d["kind"] == kind]
        return found

    @property
    def pod_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.find("Deployment")["spec"]["template"]["spec"]
        return spec

    @property
    def container(self) -> dict[str, Any]:
        container: dict[str, Any] = self.pod_spec["containers"][0]
        return container

    @property
    def service_account(self) -> str:
        return str(self.pod_spec["serviceAccountName"])


@pytest.fixture
def install(
    helm_cluster: Helm, kubectl: Kubectl, namespace: str
) -> Iterator[Callable[..., Release]]:
    """Factory: ``helm install`` the chart into this test's namespace (uninstalled afterwards)."""
    installed: list[str] = []

    def run(*values: str) -> Release:
        name = f"ao-{uuid.uuid4().hex[:6]}"  # ClusterRoles are cluster-wide: unique names
        # No --wait: a bare apiserver runs no Pods, so the Deployment never becomes available.
        output = helm_cluster("install", name, str(CHART), "--namespace", namespace, *values)
        installed.append(name)
        kubectl("wait", "--for=condition=Established", "--timeout=60s", CRD)
        text = helm_cluster("get", "manifest", name, "--namespace", namespace).stdout
        manifest = [d for d in yaml.safe_load_all(text) if d]
        return Release(name, namespace, manifest, output.stdout + output.stderr)

    yield run
    for name in installed:
        if name in release_names(helm_cluster, namespace):
            helm_cluster("uninstall", name, "--namespace", namespace)


@pytest.fixture
def app_namespace(kube_api: k8s.ApiClient, cluster: Cluster) -> Iterator[str]:
    """A second fresh namespace, for the databases (the release has its own)."""
    name = f"app-{uuid.uuid4().hex[:8]}"
    core = k8s.CoreV1Api(kube_api)
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name)))
    yield name
    if not cluster.is_local:  # a bare apiserver has no namespace controller to finish deletion
        core.delete_namespace(name)


def can_i(kubectl: Kubectl, kubeconfig: Path, *args: str) -> bool:
    """``kubectl auth can-i ARGS`` as the kubeconfig's user; an error is an error, not a "no".

    ``kind/name`` asks about one object; a subresource needs ``--subresource=status``.
    """
    result = kubectl("auth", "can-i", *args, kubeconfig_path=kubeconfig, check=False)
    answer = result.stdout.strip()
    assert answer in ("yes", "no"), f"can-i {' '.join(args)}: {result.stderr}"
    return answer == "yes"
