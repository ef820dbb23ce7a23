"""`astra-operator controlplane up / env / down` as a new user runs them by hand."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _cli(*args: str, runtime: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, with ``runtime`` as XDG_RUNTIME_DIR (None: unset); help
    is printed on one line per option (no wrapping inside paths)."""
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env["COLUMNS"] = "1000"
    if runtime is not None:
        env["XDG_RUNTIME_DIR"] = str(runtime)
    return subprocess.run(
        [sys.executable, "-m", "astra_operator.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )


def _pids(directory: Path) -> list[int]:
    import json

    state = json.loads((directory / "state.json").read_text())
    return list(state["pids"].values())


def _gone(pids: list[int]) -> bool:
    return all(
        not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
        for pid in pids
    )


local_binaries = pytest.mark.skipif(
    bool(os.environ.get("ASTRA_TEST_KUBECONFIG")), reason="uses the local control plane binaries"
)


@local_binaries
def test_up_get_namespaces_down_leaves_nothing_behind(tmp_path: Path) -> None:
    directory = tmp_path / "plane"
    up = _cli("controlplane", "up", "--dir", str(directory), runtime=tmp_path / "xdg")
    assert up.returncode == 0, up.stderr
    kubeconfig = Path(up.stdout.strip())
    assert kubeconfig.is_file()
    pids = _pids(directory)
    try:
        env = _cli("controlplane", "env", "--dir", str(directory), runtime=tmp_path / "xdg")
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
        down = _cli("controlplane", "down", "--dir", str(directory), runtime=tmp_path / "xdg")
    assert down.returncode == 0, down.stderr
    assert _gone(pids)
    # `up` made the directory: `down` removes it, with its keys, etcd data and logs.
    assert not directory.exists(), sorted(p.name for p in directory.iterdir())


@local_binaries
def test_down_in_a_directory_of_yours_removes_only_the_planes_files(tmp_path: Path) -> None:
    directory = tmp_path / "mine"
    directory.mkdir()
    (directory / "notes.txt").write_text("not the plane's")
    up = _cli("controlplane", "up", "--dir", str(directory), runtime=tmp_path / "xdg")
    assert up.returncode == 0, up.stderr
    pids = _pids(directory)
    down = _cli("controlplane", "down", "--dir", str(directory), runtime=tmp_path / "xdg")
    assert down.returncode == 0, down.stderr
    assert _gone(pids)
    assert sorted(p.name for p in directory.iterdir()) == ["notes.txt"]


@local_binaries
def test_env_and_down_without_dir_find_the_plane_started_with_one(tmp_path: Path) -> None:
    runtime, directory = tmp_path / "xdg", tmp_path / "elsewhere"
    up = _cli("controlplane", "up", "--dir", str(directory), runtime=runtime)
    assert up.returncode == 0, up.stderr
    pids = _pids(directory)
    try:
        env = _cli("controlplane", "env", runtime=runtime)
        assert env.returncode == 0, env.stderr
        assert env.stdout.strip() == f"export KUBECONFIG={up.stdout.strip()}"
    finally:
        down = _cli("controlplane", "down", runtime=runtime)
    assert down.returncode == 0, down.stderr
    assert _gone(pids)
    assert not directory.exists()
    after = _cli("controlplane", "env", runtime=runtime)
    assert after.returncode == 1
    assert "no control plane is running" in after.stderr


@pytest.mark.parametrize("runtime_set", [True, False], ids=["XDG_RUNTIME_DIR", "unset"])
def test_help_names_the_default_directory(tmp_path: Path, runtime_set: bool) -> None:
    runtime = tmp_path if runtime_set else None
    if runtime_set:
        default = tmp_path / "astra-operator" / "controlplane"
    else:
        default = Path(f"/tmp/astra-operator-{os.getuid()}/controlplane")
    for action in ("up", "env", "down"):
        shown = _cli("controlplane", action, "--help", runtime=runtime).stdout
        assert f"{default}," in shown or f"{default})" in shown, shown


@local_binaries
def test_up_without_dir_uses_the_directory_its_help_names(tmp_path: Path) -> None:
    runtime = tmp_path / "xdg"
    shown = _cli("controlplane", "up", "--help", runtime=runtime).stdout
    expected = runtime / "astra-operator" / "controlplane"
    assert f"(default: {expected}," in shown, shown
    up = _cli("controlplane", "up", runtime=runtime)
    assert up.returncode == 0, up.stderr
    try:
        assert Path(up.stdout.strip()) == expected / "admin.kubeconfig"
        assert (expected / "state.json").is_file()
        pids = _pids(expected)
    finally:
        down = _cli("controlplane", "down", runtime=runtime)
    assert down.returncode == 0, down.stderr
    assert _gone(pids)
    assert not expected.exists()
