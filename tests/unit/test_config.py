"""Operator configuration comes from the environment, once, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from astra_operator import config


def test_defaults_are_safe() -> None:
    cfg = config.OperatorConfig.from_env({})
    assert cfg.api_url == "https://api.astra.datastax.com"
    assert cfg.default_deletion_policy == "Retain"
    assert cfg.namespaces == ()


def test_environment_overrides() -> None:
    cfg = config.OperatorConfig.from_env(
        {
            "ASTRA_API_URL": "http://127.0.0.1:9/",
            "ASTRA_NAMESPACES": "team-a, team-b",
            "ASTRA_DEFAULT_DELETION_POLICY": "Delete",
        }
    )
    assert cfg.api_url == "http://127.0.0.1:9"
    assert cfg.namespaces == ("team-a", "team-b")
    assert cfg.default_deletion_policy == "Delete"


def test_bad_deletion_policy_is_named() -> None:
    with pytest.raises(ValueError, match="ASTRA_DEFAULT_DELETION_POLICY must be Delete or Retain"):
        config.OperatorConfig.from_env({"ASTRA_DEFAULT_DELETION_POLICY": "Orphan"})


def test_tool_paths_honour_xdg_and_envtest() -> None:
    paths = config.ToolPaths.from_env(
        {
            "XDG_CACHE_HOME": "/c",
            "KUBEBUILDER_ASSETS": "/k",
            "ASTRA_TEST_KUBECONFIG": "/kc",
        }
    )
    assert paths.cache_dir == Path("/c/astra-operator")
    assert paths.kubebuilder_assets == Path("/k")
    assert paths.test_kubeconfig == Path("/kc")
