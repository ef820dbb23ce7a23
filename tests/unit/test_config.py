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


def test_kube_timeouts_default_and_override() -> None:
    defaults = config.OperatorConfig.from_env({})
    assert (defaults.kube_connect_timeout, defaults.kube_timeout) == (5.0, 15.0)
    cfg = config.OperatorConfig.from_env(
        {"ASTRA_KUBE_TIMEOUT": "7.5", "ASTRA_KUBE_CONNECT_TIMEOUT": "2"}
    )
    assert (cfg.kube_connect_timeout, cfg.kube_timeout) == (2.0, 7.5)


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_a_kube_timeout_must_be_a_positive_number(value: str) -> None:
    # No timeout at all is what let one dead connection stall the operator: not allowed.
    with pytest.raises(ValueError, match="ASTRA_KUBE_TIMEOUT must be a positive number"):
        config.OperatorConfig.from_env({"ASTRA_KUBE_TIMEOUT": value})


def test_kube_timeout_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from astra_operator.handlers import command

    monkeypatch.setenv("ASTRA_KUBE_TIMEOUT", "30")
    args = command._parser().parse_args(["--kube-timeout", "4", "--kube-connect-timeout", "1"])
    cfg = command.settings_from(args)
    assert (cfg.kube_connect_timeout, cfg.kube_timeout) == (1.0, 4.0)
    with pytest.raises(ValueError, match="--kube-timeout must be a positive number"):
        command.settings_from(command._parser().parse_args(["--kube-timeout", "0"]))


def test_api_rate_defaults_to_ten_and_is_read_from_the_environment() -> None:
    assert config.OperatorConfig.from_env({}).api_rate == 10.0
    assert config.OperatorConfig.from_env({"ASTRA_API_RATE": "2.5"}).api_rate == 2.5


@pytest.mark.parametrize("value", ["0", "-3", "", "nan", "inf", "fast"])
def test_an_api_rate_must_be_a_positive_number(value: str) -> None:
    # 0 must not silently mean "unlimited".
    with pytest.raises(ValueError, match="ASTRA_API_RATE must be a positive number of requests"):
        config.OperatorConfig.from_env({"ASTRA_API_RATE": value})


def test_the_api_rate_flag_overrides_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from astra_operator.handlers import command

    monkeypatch.setenv("ASTRA_API_RATE", "30")
    assert command.settings_from(command._parser().parse_args([])).api_rate == 30.0
    args = command._parser().parse_args(["--api-rate", "4"])
    assert command.settings_from(args).api_rate == 4.0
    with pytest.raises(ValueError, match="--api-rate must be a positive number"):
        command.settings_from(command._parser().parse_args(["--api-rate", "0"]))
