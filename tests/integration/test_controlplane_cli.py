"""`astra-operator controlplane up / env / down` as a new user runs them by hand."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "astra_operator.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _pids(directory: Path) -> list[int]:
    import json

    state = json.loads((directory / "state.json").read_text())
    return list(state["pids"].values())


@pytest.mark.skipif(
    bool(os.environ.get("ASTRA_TEST_KUBECONFIG")), reason="uses the local control plane binaries"
)
def test_up_get_namespaces_down_leaves_nothing_behind(tmp_path: Path) -> None:
    directory = tmp_path / "plane"
    up = _cli("controlplane", "up", "--dir", str(directory))
    assert up.returncode == 0, up.stderr
    kubeconfig = Path(up.stdout.strip())
    assert kubeconfig.is_file()
    pids = _pids(directory)
    try:
        env = _cli("controlplane", "env", "--dir", str(directory))
        assert env.stdout.strip() == f"export KUBECONFIG={kubeconfig}"
        kubectl = shutil.which("kubectl")
        assert kubectl
        got = subprocess.run(
            [kubectl, "--kubeconfig", str(kubeconfig), "get", "ns"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert got.returncode == 0, got.stderr
        assert "kube-system" in got.stdout
    finally:
        down = _cli("controlplane", "down", "--dir", str(directory))
    assert down.returncode == 0, down.stderr
    for pid in pids:
        assert (
            not Path(f"/proc/{pid}").exists()
            or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
        )
    assert not (directory / "state.json").exists()
