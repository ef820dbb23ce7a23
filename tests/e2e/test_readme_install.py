"""The README's "Install on a cluster" steps, run as written, end with the example Ready.

The block after ``<!-- install -->`` is parsed as the README contract test parses the others
(``tests/unit/test_readme_contract.py``) and each command is run with the real helm and
kubectl against the local control plane. What a user fills in is filled in (the registry, the
token: the simulator's); the names the steps choose (release, namespaces) are made unique so
the test can share the cluster with the others; paths are the repository's. A bare apiserver
runs no Pods, so right after ``helm install`` the test starts the operator as the installed
Deployment's container would run (``ChartOperator``), with the chart's ServiceAccount token and
the simulator standing in for Astra. Everything else is the README's.
"""

from __future__ import annotations

import re
import subprocess
import threading
import uuid
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s

from tests.conftest import REPO, Cluster, Kubectl, ServiceAccountKubeconfig
from tests.e2e.conftest import CRD, Helm, Release, release_names
from tests.e2e.test_chart_install import ChartOperator, wait_for_rbac
from tests.integration.conftest import Databases, Sim, wait_for
from tests.unit.test_readme_contract import Command, commands

pytestmark = pytest.mark.integration

PLACEHOLDERS = {"<your registry>": "registry.test", "'AstraCS:...'": "'{token}'"}


def readme_install_block(text: str) -> str:
    [block] = re.findall(r"<!-- install -->\s*```(?:bash|sh)\n(.+?)\n```", text, re.S)
    return str(block)


def install_steps(token: str, names: dict[str, str]) -> list[Command]:
    """The README's install commands, with the placeholders filled in and ``names`` (the
    release and namespace names the README uses) replaced word for word."""
    script = readme_install_block((REPO / "README.md").read_text())
    for placeholder, value in PLACEHOLDERS.items():
        assert placeholder in script, f"the README's install steps no longer say {placeholder}"
        script = script.replace(placeholder, value.format(token=token))
    steps = []
    for command in commands(script):
        words = [names.get(w, w) for w in command]
        words = [str(REPO / w) if w.startswith(("./", "examples/")) else w for w in words]
        steps.append(tuple(words))
    return steps


def test_the_steps_are_the_ones_this_test_knows_how_to_run() -> None:
    steps = install_steps("AstraCS:x", {})
    assert [s[:2] for s in steps] == [
        ("helm", "install"),
        ("kubectl", "create"),
        ("kubectl", "-n"),
        ("kubectl", "-n"),
        ("kubectl", "-n"),
    ], steps
    assert steps[-1][-3:] == ("get", "adb", "-w"), "the README's steps end watching the database"


def _names_used(steps: list[Command]) -> tuple[str, str, str]:
    """(release, release namespace, app namespace) as the README writes them."""
    helm = steps[0]
    release = helm[2]
    operator_ns = helm[helm.index("-n") + 1]
    app_ns = steps[1][-1]
    return release, operator_ns, app_ns


def _watch_until_ready(
    kubectl: Kubectl, cluster: Cluster, command: Command, name: str, timeout: float = 90
) -> list[str]:
    """Run ``kubectl ... get adb -w`` as is until it shows ``name`` with READY True."""
    proc = subprocess.Popen(
        ["kubectl", f"--kubeconfig={cluster.kubeconfig}", *command[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        header: list[str] = []
        for line in proc.stdout:
            lines.append(line)
            columns = line.split()
            if columns[:1] == ["NAME"] and "READY" in columns:
                header = columns
            elif header and columns[:1] == [name] and columns[header.index("READY")] == "True":
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        ok = ready.wait(timeout)
    finally:
        proc.kill()
        proc.wait(10)
        reader.join(10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert ok, f"`{' '.join(command)}` never showed {name} READY True:\n{''.join(lines)}"
    return lines


def test_readme_install_steps_end_ready(
    helm_cluster: Helm,
    kubectl: Kubectl,
    cluster: Cluster,
    kube_api: k8s.ApiClient,
    service_account_kubeconfig: ServiceAccountKubeconfig,
    sim: Sim,
    tmp_path: Path,
) -> None:
    if not cluster.is_local:
        pytest.skip("the README installs an all-namespaces operator: not on a shared cluster")
    suffix = uuid.uuid4().hex[:6]
    release, operator_ns, app_ns = _names_used(install_steps(sim.admin_token, {}))
    names = {
        release: f"ao-readme-{suffix}",
        operator_ns: f"ao-readme-{suffix}",
        app_ns: f"team-{suffix}",
    }
    steps = install_steps(sim.admin_token, names)
    release, operator_ns, app_ns = _names_used(steps)
    [example] = [w for s in steps for w in s if w.endswith(".yaml")]
    name = yaml.safe_load(Path(example).read_text())["metadata"]["name"]

    helm_cluster(*steps[0][1:])  # helm install ...
    try:
        kubectl("wait", "--for=condition=Established", "--timeout=60s", CRD)
        manifest = helm_cluster("get", "manifest", release, "-n", operator_ns).stdout
        docs = [d for d in yaml.safe_load_all(manifest) if d]
        installed = Release(release, operator_ns, docs, "")
        kubeconfig = service_account_kubeconfig(operator_ns, installed.service_account)
        wait_for_rbac(kubectl, kubeconfig, "--all-namespaces")
        log = tmp_path / "operator.log"
        with ChartOperator(installed, kubeconfig, sim, log):  # the Deployment's Pod
            for step in steps[1:-1]:
                kubectl(*step[1:])
            _watch_until_ready(kubectl, cluster, steps[-1], name)
            databases = Databases(kube_api, app_ns)
            databases.wait_condition(name, "Ready", "True", "Available", timeout=60)
            reasons = {c["reason"] for c in (databases.get(name) or {})["status"]["conditions"]}
            assert "CredentialsUnavailable" not in reasons
            kubectl("delete", "adb", name, "-n", app_ns, "--wait=false")  # Retain: released
            wait_for(f"{name} to be released", lambda: databases.get(name) is None)
    finally:
        if release in release_names(helm_cluster, operator_ns):
            helm_cluster("uninstall", release, "-n", operator_ns)
