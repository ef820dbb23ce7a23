"""Shared fixtures: a real Kubernetes control plane (local, or the user's cluster) and helpers.

Set ``ASTRA_TEST_KUBECONFIG`` to run the integration tests against an existing cluster (kind,
k3d, ...) instead of the local kube-apiserver + etcd. ``KUBEBUILDER_ASSETS`` points at envtest
binaries if you have them; otherwise they are built once from Go modules and cached.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s

from astra_operator import config
from astra_operator.controlplane import binaries, kubeconfig, plane

REPO = Path(__file__).resolve().parents[1]
Kubectl = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclasses.dataclass
class Cluster:
    """The cluster the integration tests use."""

    kubeconfig: Path
    local: plane.ControlPlane | None

    @property
    def is_local(self) -> bool:
        return self.local is not None


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Build missing control-plane binaries before any test starts, so the first build (minutes
    on 2 cores) never counts against a test's timeout: the README's test command works on a
    fresh clone with nothing run before it."""
    if session.config.option.collectonly:
        return
    paths = config.ToolPaths.from_env()
    used = {n for item in session.items for n in getattr(item, "fixturenames", ())}
    tools = []
    if "cluster" in used and not paths.test_kubeconfig and not paths.kubebuilder_assets:
        tools += [binaries.ETCD, binaries.KUBE_APISERVER]
    if "helm" in used and not shutil.which("helm"):
        tools.append(binaries.HELM)
    missing = [t for t in tools if binaries.find(t, paths) is None]
    if not missing:
        return
    capture = session.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        for tool in missing:
            binaries.ensure(tool, paths)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    paths = config.ToolPaths.from_env()
    if paths.test_kubeconfig:
        yield Cluster(paths.test_kubeconfig, None)
        return
    cp = plane.start(paths=paths)
    try:
        yield Cluster(cp.kubeconfig, cp)
    finally:
        cp.stop()


@pytest.fixture(scope="session")
def kube_api(cluster: Cluster) -> Iterator[k8s.ApiClient]:
    with kubeconfig.api_client(cluster.kubeconfig) as api:
        yield api


def _kubectl_binary() -> str:
    found = shutil.which("kubectl")
    if not found:
        pytest.fail("kubectl is not on PATH; install it (any version >= 1.29)")
    return found


@pytest.fixture(scope="session")
def kubectl(cluster: Cluster) -> Kubectl:
    binary = _kubectl_binary()

    def run(
        *args: str,
        input: str | None = None,
        check: bool = True,
        kubeconfig_path: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        cfg = kubeconfig_path or cluster.kubeconfig
        result = subprocess.run(
            [binary, f"--kubeconfig={cfg}", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
            )
        return result

    return run


@pytest.fixture
def namespace(kube_api: k8s.ApiClient, cluster: Cluster) -> Iterator[str]:
    """A fresh namespace per test (deleted afterwards on real clusters)."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    core = k8s.CoreV1Api(kube_api)
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name)))
    yield name
    if not cluster.is_local:  # a bare apiserver has no namespace controller to finish deletion
        core.delete_namespace(name)


@pytest.fixture(scope="session")
def crds_installed(kubectl: Kubectl) -> list[str]:
    """Apply every CRD in crds/ (server-side) and wait until each is Established."""
    files = sorted((REPO / "crds").glob("*.yaml"))
    if not files:
        pytest.fail("crds/ is empty: run `astra-operator crds`")
    names = []
    for path in files:
        kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))
        names.append(kubectl("get", "-f", str(path), "-o", "name").stdout.strip())
    kubectl("wait", "--for=condition=Established", "--timeout=60s", *names)
    return names


ServiceAccountKubeconfig = Callable[[str, str], Path]


@pytest.fixture
def service_account_kubeconfig(cluster: Cluster, tmp_path: Path) -> ServiceAccountKubeconfig:
    """Factory: ``(namespace, serviceaccount) -> kubeconfig`` with a bound TokenRequest token."""

    def make(namespace: str, name: str) -> Path:
        return kubeconfig.service_account(
            cluster.kubeconfig, namespace, name, tmp_path / f"{namespace}-{name}.kubeconfig"
        )

    return make


def helm_binary() -> Path:
    """helm from PATH if present, else built from the wrapper module (cached)."""
    found = shutil.which("helm")
    if found and not os.environ.get("ASTRA_BUILD_HELM"):
        return Path(found)
    return binaries.ensure(binaries.HELM, config.ToolPaths.from_env())
