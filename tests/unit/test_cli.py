"""The command line a new user meets first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from astra_operator import cli


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "astra_operator.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_help_lists_every_subcommand() -> None:
    result = _run("--help")
    assert result.returncode == 0
    for name in ("run", "dev", "simulate", "crds", "controlplane"):
        assert name in result.stdout


def test_unknown_subcommand_is_a_clear_error() -> None:
    result = _run("frobnicate")
    assert result.returncode == 2
    assert "invalid choice: 'frobnicate'" in result.stderr


def test_controlplane_env_without_a_running_plane_says_how_to_start_one(tmp_path: Path) -> None:
    result = _run("controlplane", "env", "--dir", str(tmp_path))
    assert result.returncode == 1
    assert "astra-operator controlplane up" in result.stderr


def test_controlplane_down_with_nothing_running_is_harmless(tmp_path: Path) -> None:
    result = _run("controlplane", "down", "--dir", str(tmp_path))
    assert result.returncode == 0
    assert "no control plane is running" in result.stderr


def test_every_routed_module_exists() -> None:
    missing = [
        name
        for name, (module, _) in cli._COMMANDS.items()
        if not (Path(cli.__file__).parent.parent / (module.replace(".", "/") + ".py")).exists()
    ]
    assert missing == [], f"subcommands routed to modules that do not exist: {missing}"


@pytest.mark.parametrize("tool", ["kube-apiserver", "etcd", "helm"])
def test_wrapper_modules_pin_a_version(tool: str) -> None:
    from astra_operator.controlplane import binaries

    version = binaries.TOOLS[tool].version()
    assert version.startswith("v")
    assert version.count(".") == 2


def test_run_help_names_every_setting_the_operator_reads() -> None:
    import inspect
    import re

    from astra_operator import config as config_module
    from astra_operator.handlers import command

    read = set(re.findall(r'"(ASTRA_[A-Z_]+)"', inspect.getsource(config_module.OperatorConfig)))
    text = command._parser().format_help()
    missing = sorted(v for v in read if v not in text.replace("\n", " "))
    assert read, "no settings found: the test would pass vacuously"
    assert missing == [], f"run --help does not mention {missing}"
