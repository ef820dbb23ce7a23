"""Fixtures for the chart tests: helm (isolated from the user's helm config) and the simulator.

The simulator fixtures are the integration tier's, imported so pytest registers them here too.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable

import pytest

from tests.conftest import REPO, Cluster, helm_binary
from tests.integration.conftest import sim, simulator  # noqa: F401 (fixtures)

CHART = REPO / "helm" / "astra-operator"
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
